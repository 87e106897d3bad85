#!/bin/sh
# bench/dit.sh - the DiT benchmark of docs/dit.md: one forward of the Wan2.1-T2V-1.3B shape with random weights, per
# weight format and latent size, each configuration in its own process so that each peak RSS is its own.
#
#   bench/dit.sh [BUILD_DIR] [MODEL]        (defaults: build-dit, /tmp/dit13b.safetensors)
#
# Generates MODEL with vgen_gen_random_dit (2.8 GB of bf16, diffusers names) when it does not exist. Environment:
# DIT_FORMATS (default "bf16 int8 fp8 int4"), DIT_LARGE_FORMATS (the formats also run at 33 frames 480x272,
# default the same four; empty to skip), DIT_CSV (default BUILD_DIR/bench_dit.csv). About 7 minutes on 2 cores.
set -eu
build=${1:-build-dit}
model=${2:-/tmp/dit13b.safetensors}
formats=${DIT_FORMATS:-"bf16 int8 fp8 int4"}
large=${DIT_LARGE_FORMATS-"bf16 int8 fp8 int4"}
csv=${DIT_CSV:-$build/bench_dit.csv}

if [ ! -f "$model" ]; then
  "$build/tools/vgen_gen_random_dit" "$model" --config 1.3b
fi
echo "format,block_format,F,H,W,tokens,load_s,forward_s,gflop,gflops,onednn_bf16_gflops,peak_rss_mib,session_bytes,owned_bytes,mapped_bytes" > "$csv"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| weights | latent | tokens | load s | forward s | GFLOP | GFLOP/s | oneDNN bf16 GFLOP/s | peak RSS MiB | session MiB |"
echo "|---|---|---|---|---|---|---|---|---|---|"
# 17 frames 320x192 -> latent [16, 5, 24, 40], 1200 tokens
for f in $formats; do
  "$build/bench/bench_dit" "$model" --format "$f" --latent 5x24x40 --csv "$csv"
done
# 33 frames 480x272 -> latent [16, 9, 34, 60], 4590 tokens
for f in $large; do
  "$build/bench/bench_dit" "$model" --format "$f" --latent 9x34x60 --csv "$csv"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
