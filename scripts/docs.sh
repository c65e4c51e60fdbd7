#!/usr/bin/env bash
# Set up .venv (if needed) with the docs extra, then build the documentation site into site/.
# Run scripts/figures.sh first to include the figures in the gallery.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh "docs,digits"
.venv/bin/mkdocs build --strict "$@"
