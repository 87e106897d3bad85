#!/usr/bin/env bash
# Installs the Debian packages vgen needs to build and test. Safe to run again; skips apt when all are present.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libdnnl-dev                                  # oneDNN: the CPU matmul library (bf16, int8)
  libcjson-dev                                 # presets, JSON records, safetensors headers
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev  # mp4 output
  libpng-dev                                   # PNG frames
  clang libclang-rt-14-dev                     # libFuzzer targets
  time                                         # peak-RSS figures in bench/ (GNU time -v)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install_deps: run as root or install sudo" >&2; exit 1; }
  sudo="sudo"
fi
echo "install_deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
