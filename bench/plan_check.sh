#!/bin/sh
# bench/plan_check.sh - the memory planner's CPU figures against the loaders' and allocators' measurements on the
# Wan2.1-T2V-1.3B configuration with random weights (bench/plan_check.c; docs/plan.md, "Checked").
#
#   bench/plan_check.sh [BUILD_DIR] [MODEL_DIR] [bench_plan_check options...]
#
# Defaults: build-lead, /tmp/vgen_plan13b.
#
# Writes MODEL_DIR when a part is missing: the configurations of samples/configs/wan2.1-t2v-1.3b, a random f32 DiT
# (vgen_gen_random_dit --config 1.3b --dtype f32: 5.7 GB, as diffusers' release stores it), a random f32 VAE
# (bench_vae --make-ckpt: 280 MiB) and a random bf16 UMT5-XXL (bench_textenc gen --weights bf16: 11.4 GB, the 24
# layers). About 17.4 GB of disk; delete MODEL_DIR afterwards. Then runs bench_plan_check under presets/cpu.json
# and prints its table; the exit status is bench_plan_check's (1 when a ratio is outside [0.9, 1.1]).
# OMP_WAIT_POLICY=passive: oneDNN's OpenMP threads otherwise spin while vgen's pool runs (bench/vae.sh).
set -eu
build=${1:-build-lead}
model=${2:-/tmp/vgen_plan13b}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] && shift
root=$(cd "$(dirname "$0")/.." && pwd)
cfg="$root/samples/configs/wan2.1-t2v-1.3b"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"

for b in bench/bench_plan_check bench/bench_vae bench/bench_textenc tools/vgen_gen_random_dit; do
  [ -x "$build/$b" ] || { echo "build $b first: cmake --build $build --target $(basename "$b")" >&2; exit 1; }
done
for part in transformer text_encoder vae; do
  mkdir -p "$model/$part"
  cp "$cfg/$part/config.json" "$model/$part/config.json"
done
dit="$model/transformer/diffusion_pytorch_model.safetensors"
vae="$model/vae/diffusion_pytorch_model.safetensors"
te="$model/text_encoder/model.safetensors"
[ -f "$dit" ] || "$build/tools/vgen_gen_random_dit" "$dit" --config 1.3b --dtype f32
[ -f "$vae" ] || "$build/bench/bench_vae" --make-ckpt "$vae"
[ -f "$te" ] || "$build/bench/bench_textenc" gen "$te" --weights bf16

mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores, $mem; load average $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
/usr/bin/env time -f "bench_plan_check: %e s, peak RSS %M KiB" "$build/bench/bench_plan_check" "$model" \
  "$root/presets/cpu.json" "$@" || status=$?
exit $status
