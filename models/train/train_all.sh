#!/usr/bin/env bash
# Recreates every model in the zoo: venv (models/.venv, gitignored) -> seeded synthetic data -> training ->
# ONNX export -> held-out metrics -> manifest with sha256. Safe to rerun; outputs overwrite models/<name>/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
models="$(dirname "$here")"
venv="$models/.venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet -r "$models/requirements.txt"
cd "$here"
PYTHONHASHSEED=0 OMP_NUM_THREADS=1 "$venv/bin/python" train_all.py
