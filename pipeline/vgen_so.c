/* vgen_so.c - the translation unit of libvgen.so; the library's code comes from the static layer libraries. */
#include "vgen.h"
