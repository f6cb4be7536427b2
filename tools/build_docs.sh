#!/usr/bin/env bash
# Build the documentation site with warnings as errors, then run its examples and the
# notebooks as tests. Needs the extras: python -m pip install -e ".[docs,plot,notebooks]"
set -euo pipefail
cd "$(dirname "$0")/.."

python -m sphinx -W --keep-going -b html docs docs/_build/html
python -m pytest -q tests/test_docs.py tests/test_notebooks.py tests/test_plot.py
echo "site: docs/_build/html/index.html"
