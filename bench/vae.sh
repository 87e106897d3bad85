#!/bin/sh
# bench/vae.sh - the Wan2.1 VAE decoder benchmark (bench/vae.c): one process per configuration, so every peak RSS is
# that configuration's own, then a markdown table (docs/vae.md).
#
#   bench/vae.sh [BUILD_DIR] [CONFIGS...]      CONFIGS: WxHxLATENT_FRAMES[:extra bench_vae flags joined by ',']
#
# Defaults: build-vae, and 320x192 and 480x272 at 5 and 21 latent frames (about 8 minutes on 2 cores, 480x272x21
# alone about 4.5). OMP_WAIT_POLICY=passive: oneDNN's OpenMP threads otherwise spin
# while vgen's pool runs the im2col, which costs ~25% on 2 cores.
set -eu
BUILD=${1:-build-vae}
[ $# -gt 0 ] && shift
CONFIGS=${*:-"320x192x5 320x192x21 480x272x5 480x272x21"}
CKPT=${VGEN_BENCH_VAE_CKPT:-/tmp/vgen_bench_vae.safetensors}
BIN=$BUILD/bench/bench_vae
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

[ -x "$BIN" ] || { echo "build bench_vae first: cmake --build $BUILD --target bench_vae" >&2; exit 1; }
[ -f "$CKPT" ] || "$BIN" --make-ckpt "$CKPT"

echo "| size | latent frames | frames out | tiles | s / frame | CPU s / frame | decode s | peak RSS (process) MiB | peak RSS (decode) MiB | plan + weights MiB |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for cfg in $CONFIGS; do
    dims=${cfg%%:*}
    extra=$(printf '%s' "${cfg#"$dims"}" | sed 's/^://; s/,/ /g')
    w=${dims%%x*}; rest=${dims#*x}; h=${rest%%x*}; f=${rest#*x}
    # shellcheck disable=SC2086
    line=$("$BIN" "$CKPT" "$w" "$h" "$f" --threads 2 $extra | grep '^RESULT') || { echo "| $cfg | failed |"; continue; }
    set -- $line
    echo "| ${2}x${3} | $4 | $5 | ${12}x${13} | $8 | ${14} | $7 | $9 | ${10} | ${11} |"
done
