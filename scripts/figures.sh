#!/usr/bin/env bash
# Set up .venv (if needed), then regenerate every lecture figure into figures/ (or --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh "digits"
MPLBACKEND=Agg .venv/bin/python -m demos "$@"
