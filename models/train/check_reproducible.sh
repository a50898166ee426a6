#!/usr/bin/env bash
# Proves the zoo is reproducible: retrains every model into a scratch directory (same seeds, pinned
# package versions from requirements.txt) and compares each model.onnx sha256 with the committed file.
# Exit 1 when any model differs. Slow (trains everything); not part of the unit tests.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
models="$(dirname "$here")"
venv="$models/.venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet -r "$models/requirements.txt"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cd "$here"
DESTRA_MODELS_OUT="$out" PYTHONHASHSEED=0 OMP_NUM_THREADS=1 "$venv/bin/python" train_all.py >/dev/null
status=0
for manifest in "$models"/*/manifest.json; do
  name="$(basename "$(dirname "$manifest")")"
  want="$(sha256sum "$models/$name/model.onnx" | cut -d' ' -f1)"
  if [ ! -f "$out/$name/model.onnx" ]; then
    echo "MISSING  $name (train_all.py no longer produces it)"; status=1; continue
  fi
  got="$(sha256sum "$out/$name/model.onnx" | cut -d' ' -f1)"
  if [ "$want" = "$got" ]; then echo "same     $name $got"; else echo "DIFFERS  $name committed $want retrained $got"; status=1; fi
done
exit $status
