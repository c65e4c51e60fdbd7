#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment in .venv and install otgan with its extras.
# The CPU build of torch is installed first: a bare 'torch' requirement would pull a multi-GB
# CUDA build. Usage: bash scripts/setup.sh [extras]   (e.g. "test,docs")
# Each step says what it installs and about how long it takes; a second run finds everything
# installed and takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python="${PYTHON:-python3}"
t0=$SECONDS
say() { echo "[setup $((SECONDS - t0))s] $*"; }
if [ ! -x .venv/bin/python ]; then
  say "creating the virtual environment .venv with $("$python" --version 2>&1) (a few seconds)"
  "$python" -m venv .venv
fi
say "updating pip in .venv (a few seconds)"
.venv/bin/python -m pip install -q --upgrade pip
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  say "installing torch 2.13 (CPU build, about 200 MB: 1 to 3 minutes the first time)"
  .venv/bin/python -m pip install -q "torch==2.13.0" \
    || .venv/bin/python -m pip install -q "torch>=2.1,<2.15" --index-url https://download.pytorch.org/whl/cpu
else
  say "torch is already installed"
fi
target="."
[ -n "$extras" ] && target=".[$extras]"
say "installing otgan (editable) with numpy, scipy, POT, matplotlib, shapely, numba, cvxopt${extras:+ and the extras [$extras]} (about 1 minute the first time, seconds after)"
# PYTHONWARNINGS: setuptools' notice about editable installs is not the user's concern
PYTHONWARNINGS=ignore .venv/bin/python -m pip install -q -e "$target"
say "done: .venv is ready"
