#!/usr/bin/env bash
# Set up .venv (if needed) with the test and docs extras, then run the whole test-suite: tests/
# and the docstring examples of otgan/ (pyproject's testpaths and --doctest-modules).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh "test,docs,digits"
HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}" MPLBACKEND=Agg .venv/bin/python -m pytest -q "$@"
