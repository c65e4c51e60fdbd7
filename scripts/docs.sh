#!/usr/bin/env bash
# Set up .venv (if needed) with the docs extra, then build the documentation site into site/.
# The site works offline (MathJax is bundled from the django-static-mathjax package); open
# site/index.html in a browser. Run scripts/figures.sh first to include the figures in the
# gallery.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh "docs,digits"
echo "docs: building the site into site/ (about 10 seconds)"
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict "$@"
echo "docs: open site/index.html"
