#!/usr/bin/env bash
# Set up .venv (if needed), then regenerate every lecture figure into figures/ (or --out DIR).
# The set-up prints each step; the demos then print one line as each starts and ends (about
# three minutes in all on a 2-core CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "figures: setting up .venv (first time: a few minutes, mostly downloading torch), then running the demos"
bash scripts/setup.sh "digits"
MPLBACKEND=Agg PYTHONWARNINGS=ignore::DeprecationWarning,ignore::FutureWarning \
  .venv/bin/python -u -m demos "$@"
