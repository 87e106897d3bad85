#!/usr/bin/env bash
# Peak resident memory of `vgen quantize` on a ~2 GB checkpoint (Wan2.1-1.3B shapes, 22 blocks, random bf16
# weights), per format, measured with GNU time. Prints a markdown table.
#   bash bench/quantize_rss.sh [BUILD_DIR]     (needs /usr/bin/time: apt-get install time)
set -euo pipefail
build="${1:-build}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/tools/vgen_gen_random_dit" "$work/in.safetensors" --config 1.3b --layers 22 >/dev/null
in_bytes=$(stat -c %s "$work/in.safetensors")
echo "| format | input | output | peak RSS | wall time |"
echo "|---|---|---|---|---|"
for fmt in int8 fp8 int4 int4-g64 int4-g128-zp; do
  /usr/bin/time -v "$build/cli/vgen" quantize "$work/in.safetensors" "$work/out.safetensors" --format "$fmt" -q \
    2> "$work/time.txt"
  rss_kb=$(awk -F: '/Maximum resident/ {gsub(/ /, "", $2); print $2}' "$work/time.txt")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")
  out_bytes=$(stat -c %s "$work/out.safetensors")
  awk -v f="$fmt" -v i="$in_bytes" -v o="$out_bytes" -v r="$rss_kb" -v w="$wall" \
    'BEGIN { printf "| %s | %.2f GB | %.2f GB | %.0f MB | %s |\n", f, i / 1e9, o / 1e9, r / 1024, w }'
  rm -f "$work/out.safetensors"
done
