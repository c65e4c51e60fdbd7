#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment in .venv and install otgan with its extras.
# The CPU build of torch is installed first: a bare 'torch' requirement would pull a multi-GB
# CUDA build. Usage: bash scripts/setup.sh [extras]   (e.g. "test,docs")
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  .venv/bin/python -m pip install -q "torch==2.13.0" \
    || .venv/bin/python -m pip install -q "torch>=2.1,<2.15" --index-url https://download.pytorch.org/whl/cpu
fi
if [ -n "$extras" ]; then
  .venv/bin/python -m pip install -q -e ".[$extras]"
else
  .venv/bin/python -m pip install -q -e .
fi
