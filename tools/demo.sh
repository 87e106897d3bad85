#!/usr/bin/env bash
# The main job: installs dependencies, builds vgen and runs it.
#   bash tools/demo.sh                 on the bundled tiny Wan2.1 model (tests/fixtures)
#   bash tools/demo.sh MODEL_DIR       on a real checkpoint (a diffusers folder or a .safetensors file)
# Today vgen inspects and quantizes checkpoints; video generation lands with the pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target vgen_cli
model="${1:-tests/fixtures/dit/tiny_a/diffusers}"
out="${OUT_DIR:-out}"
mkdir -p "$out"
set -x
./build/cli/vgen info "$model"
if [ -d "$model/transformer" ]; then model="$model/transformer"; fi
./build/cli/vgen quantize "$model" "$out/dit-int8.safetensors" --format int8
./build/cli/vgen quantize "$model" "$out/dit-int4.safetensors" --format int4-g64
./build/cli/vgen info --summary "$out/dit-int4.safetensors"
