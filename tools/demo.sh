#!/usr/bin/env bash
# The main job: installs dependencies, builds vgen and runs it.
#   bash tools/demo.sh                 on the bundled tiny Wan2.1 model (samples/tiny-wan, random weights: the video
#                                      is noise-like; it proves the pipeline, not the picture)
#   bash tools/demo.sh MODEL_DIR       on a real Wan2.1 T2V checkpoint folder (diffusers layout, model_index.json)
# It shows the model (vgen info), quantizes its transformer (vgen quantize), and generates a video (vgen --model).
# Environment: OUT_DIR (default out), PROMPT, SIZE, FRAMES, STEPS, SEED, PRESET (real models only; default cpu).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target vgen_cli
model="${1:-samples/tiny-wan}"
out="${OUT_DIR:-out}"
prompt="${PROMPT:-a red fox in snow}"
if [ "$model" = "samples/tiny-wan" ]; then
  size="${SIZE:-48x32}" frames="${FRAMES:-5}" steps="${STEPS:-3}"
else
  # a short, small clip: a real model on the CPU takes minutes even so (832x480, 81 frames, 50 steps: hours)
  size="${SIZE:-416x240}" frames="${FRAMES:-17}" steps="${STEPS:-20}"
fi
mkdir -p "$out"
set -x
./build/cli/vgen info --summary "$model"
if [ "$model" = "samples/tiny-wan" ]; then
  # quantized copies of the transformer (on a real model these are 8-15 GB files: run them yourself if wanted)
  ./build/cli/vgen quantize "$model/transformer" "$out/dit-int8.safetensors" --format int8
  ./build/cli/vgen info --summary "$out/dit-int8.safetensors"
fi
./build/cli/vgen --model "$model" --prompt "$prompt" --size "$size" --frames "$frames" --steps "$steps" \
  --seed "${SEED:-42}" --preset "${PRESET:-cpu}" -o "$out/fox.mp4" --json "$out/fox.json"
