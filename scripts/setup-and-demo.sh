#!/usr/bin/env bash
# Set up .venv (CPU torch 2.13.0 unless a torch is already installed there), install latentzoo with
# its test tools, then run the demo: a short VAE run that writes pictures to runs/demo.
# MNIST comes from $LATENTZOO_DATA, else ../shared/data when it exists, else the cache or a download;
# with none of these the demo uses the bundled 8x8 digits.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  .venv/bin/python -m pip install -q torch==2.13.0
fi
.venv/bin/python -m pip install -q -e ".[test]"
if [ -z "${LATENTZOO_DATA:-}" ] && [ -d ../shared/data/mnist ]; then
  export LATENTZOO_DATA="$(cd ../shared/data && pwd)"
fi
.venv/bin/latentzoo demo --out runs/demo "$@"
