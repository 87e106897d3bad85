#!/bin/sh
# tools/gpu_check.sh - the first run on a machine with an NVIDIA GPU (none has run vgen yet; docs/cuda.md).
#
#   tools/gpu_check.sh [BUILD_DIR]        (default build-gpu)
#
# Builds with -DVGEN_CUDA=ON for this machine's GPU, then:
#   1. the CUDA tests (ctest -L cuda): every op and weight format against the CPU backend with per-op budgets,
#      guard bytes, NaN/Inf and leak checks (test_backend_parity), and the device services (test_cuda_device);
#   2. test_pipeline_gpu: a whole tiny generation with the text encoder, the streamed DiT and the VAE on the GPU,
#      frames compared with the CPU run's (within 8 levels of 8 bits);
#   3. bench_cuda --quick: TFLOP/s of each GEMM path and attention (CSV in BUILD_DIR/bench_cuda.csv).
# Stops at the first failure; the output is what to report.
set -eu
BUILD=${1:-build-gpu}
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,compute_cap,memory.total --format=csv
cmake -S . -B "$BUILD" -DVGEN_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=native -DVGEN_BENCH=ON -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD" -j "$(nproc)"
ctest --test-dir "$BUILD" -L cuda --output-on-failure
ctest --test-dir "$BUILD" -R '^test_pipeline_gpu$' --output-on-failure
"$BUILD/bench/bench_cuda" --quick --csv "$BUILD/bench_cuda.csv"
