#!/usr/bin/env bash
# The main job on the default avatar (README "Quick start"): render -> validate -> preview -> train -> samples.
set -euo pipefail
VENV=${1:-.venv}; OUT=${2:-out/demo}
export PATH="$VENV/bin:$PATH"
mkdir -p "$OUT"
echo "demo: datagen $(datagen --version)"
