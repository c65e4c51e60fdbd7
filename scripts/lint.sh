#!/usr/bin/env bash
# Lint with ruff (the rule set is in pyproject.toml [tool.ruff.lint]); installs ruff into .venv
# when missing. Usage: bash scripts/lint.sh   (after scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! .venv/bin/python -m ruff --version >/dev/null 2>&1; then
  .venv/bin/python -m pip install -q "ruff>=0.6"
fi
.venv/bin/python -m ruff check otgan tests benchmarks demos
