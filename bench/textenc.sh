#!/bin/sh
# bench/textenc.sh - the text-encoder benchmark of docs/textenc.md: one 512-token prompt through UMT5-XXL with random
# weights, per weight format, each configuration in its own process so that each peak RSS is its own.
#
#   bench/textenc.sh [BUILD_DIR] [WORK_DIR]        (defaults: build-t5, /tmp)
#
# Writes each checkpoint with `bench_textenc gen` into WORK_DIR (bf16: 11.4 GB, int8 and fp8: 5.7 GB; one at a time)
# and deletes it after its runs. Configurations: the bf16 file as stored (its output is the reference the others are
# compared with), with f32 attention scores, and quantized to int8_row while loading; the int8_row file; the ComfyUI-
# style fp8 scaled file. Environment: TEXTENC_LAYERS (default 24; fewer layers for a quick look), TEXTENC_REPS
# (default 2: the first encode pages the weights in, the second is the steady-state time).
set -eu
build=${1:-build-t5}
work=${2:-/tmp}
layers=${TEXTENC_LAYERS:-24}
reps=${TEXTENC_REPS:-2}
bench="$build/bench/bench_textenc"
ref="$work/textenc_ref.$$.f32"
model="$work/textenc_umt5.$$.safetensors"
trap 'rm -f "$model" "$ref"' EXIT
trap 'exit 1' INT TERM

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; $layers layers, $reps encodes per run"
gen() {
  /usr/bin/env time -f "gen $1: %e s, peak RSS %M KiB" "$bench" gen "$model" --weights "$1" --layers "$layers" >&2
}
"$bench" header

gen bf16
"$bench" run "$model" --reps "$reps" --label "bf16 file" --save "$ref"
"$bench" run "$model" --reps "$reps" --label "bf16 file, f32 scores" --f32-scores --compare "$ref"
"$bench" run "$model" --reps "$reps" --label "bf16 file -> int8_row on load" --format int8_row --compare "$ref"
rm -f "$model"

gen int8
"$bench" run "$model" --reps "$reps" --label "int8_row file" --compare "$ref"
rm -f "$model"

gen fp8
"$bench" run "$model" --reps "$reps" --label "fp8 scaled file (ComfyUI)" --compare "$ref"
rm -f "$model"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
