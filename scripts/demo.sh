#!/usr/bin/env bash
# The main job on the default avatar (README "Quick start"): render a small dataset, check it, train
# PSGAN briefly at low resolution, write samples, an animation and an evaluation. Re-running resumes
# what is already done. Sizes can be changed through the environment (DEMO_FRAMES, DEMO_COSTUMES, ...).
set -euo pipefail
VENV=${1:-.venv}; OUT=${2:-out/demo}
export PATH="$VENV/bin:$PATH"
FRAMES=${DEMO_FRAMES:-64}                       # poses over the 8 clips
COSTUMES=${DEMO_COSTUMES:-schoolgirl_1,casual_2,sporty_3,summer_4,idol_5,street_1,mage_2,knight_3}
SIZE=${DEMO_SIZE:-64}
MAX_RES=${DEMO_MAX_RES:-64}
KIMG=${DEMO_KIMG:-2}                            # thousands of images per fade-in / stabilisation phase
mkdir -p "$OUT"

step() { printf '\n== %s\n' "$*"; }

step "render $FRAMES poses x 8 costumes at ${SIZE}x${SIZE} from the default avatar"
if [ ! -f "$OUT/data.h5" ]; then
  datagen render --frames "$FRAMES" --costumes "$COSTUMES" --size "$SIZE" -o "$OUT/data.h5" --resume
fi
datagen validate "$OUT/data.h5"
datagen info "$OUT/data.h5" | head -8
datagen preview "$OUT/data.h5" -o "$OUT/preview.png" --n 8 --size 128

step "train PSGAN 4x4 -> ${MAX_RES}x${MAX_RES} (${KIMG}k images per phase, reduced widths for the CPU)"
# --resume continues a killed demo, starts a new run when there is no checkpoint yet, and says
# "complete" when the run is finished. Widths: 32 maps up to 32x32, 16 at 64x64 (--fmap-base 512).
psgan train "$OUT/data.h5" --max-res "$MAX_RES" --kimg-per-phase "$KIMG" --fmap-max 32 --fmap-base 512 \
  --latent 64 --threads 1 --sample-kimg 4 --ckpt-kimg 2 --snap 6 -o "$OUT/run" --resume

step "generate"
CKPT="$OUT/run/checkpoints/latest.pt"
psgan generate "$CKPT" --poses "$OUT/data.h5" --rows 0:64:8 --grid 4 --with-pose -o "$OUT/samples.png"
psgan generate "$CKPT" --poses "$OUT/data.h5" --rows 0:256:8 -o "$OUT/walk.gif"

step "evaluate: pose consistency against a detector trained on the real images, and diversity"
[ -f "$OUT/posenet.pt" ] || psgan posenet train "$OUT/data.h5" -o "$OUT/posenet.pt" --res "$MAX_RES" --steps 300
psgan eval "$CKPT" --data "$OUT/data.h5" --posenet "$OUT/posenet.pt" --poses 64 --fid-images 0 -o "$OUT/eval.json"
# The verdict (docs/evaluation.md): the model against its floor (the farthest held-out poses). A dozen
# minutes of CPU training reaches "partly follows" in some runs and stays at its floor in others
# (docs/benchmarks.md), so the demo reports it rather than failing on it.
python -c "import json,sys; v=json.load(open(sys.argv[1]))['models'][0]['verdict']; print('verdict:', v['text'])" "$OUT/eval.json"

step "done: $OUT"
ls -la "$OUT"
