#!/usr/bin/env bash
# The test command: installs dependencies, builds vgen (release, warnings as errors) and runs the test suite.
#   bash tools/test.sh            build in build/ and run ctest
#   BUILD_DIR=... CMAKE_ARGS=...  to build elsewhere or with other options (e.g. -DVGEN_SANITIZE=ON)
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh
build="${BUILD_DIR:-build}"
# shellcheck disable=SC2086
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DVGEN_WERROR=ON ${CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build" && ctest --output-on-failure -j"$(nproc)"
