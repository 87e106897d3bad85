#!/usr/bin/env bash
# Regenerate every reference fixture under tests/fixtures/ from scratch.
#
#   tools/reference/make_fixtures.sh            # create/refresh the venv, then generate
#   VGEN_REF_VENV=/path/to/venv tools/reference/make_fixtures.sh
#   VGEN_REF_SKIP_INSTALL=1 tools/reference/make_fixtures.sh   # reuse the venv as it is
#
# The virtualenv lives outside the source tree (default ~/.cache/vgen-reference-venv). Output is deterministic:
# seeded, one thread, deterministic torch algorithms, no timestamps; running it twice gives identical bytes.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${VGEN_REF_VENV:-$HOME/.cache/vgen-reference-venv}"
PYTHON_BIN="${PYTHON:-python3}"

case "$VENV" in
  "$ROOT"|"$ROOT"/*) echo "make_fixtures: VGEN_REF_VENV must be outside the source tree ($ROOT)" >&2; exit 2 ;;
esac

if [ ! -x "$VENV/bin/python" ]; then
  echo "make_fixtures: creating virtualenv $VENV"
  "$PYTHON_BIN" -m venv "$VENV"
fi
if [ "${VGEN_REF_SKIP_INSTALL:-0}" != "1" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
fi

# determinism: one thread everywhere, fixed hash seed, no user site, quiet libraries
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 PYTHONHASHSEED=0 PYTHONNOUSERSITE=1
export CUBLAS_WORKSPACE_CONFIG=:4096:8 CUDA_VISIBLE_DEVICES=""
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
export TRANSFORMERS_VERBOSITY=error DIFFUSERS_VERBOSITY=error PYTHONWARNINGS=ignore
export PYTHONDONTWRITEBYTECODE=1
VGEN_REF_TMP="$(mktemp -d "${TMPDIR:-/tmp}/vgen-ref.XXXXXX")"
export VGEN_REF_TMP
trap 'rm -rf "$VGEN_REF_TMP"' EXIT

mkdir -p "$ROOT/tests/fixtures"
cd "$HERE"
# order matters: umt5 needs the tokenizer; the pipeline loads tokenizer, umt5, dit, vae and scheduler fixtures
for gen in tokenizer umt5 dit vae schedulers noise numerics pipeline manifest; do
  echo "== gen_$gen"
  "$VENV/bin/python" "gen_$gen.py"
done
echo "fixtures written to $ROOT/tests/fixtures ($(du -sh "$ROOT/tests/fixtures" | cut -f1))"
