#!/usr/bin/env bash
# The paper's comparison, measured (issue 7; results in docs/results.md, metrics in docs/evaluation.md):
# PSGAN against the same network without structural conditions (--no-pose, plain Progressive GAN),
# trained with the same budget at 64x64 on data rendered from the default avatar, then scored with
# `psgan eval --compare` (pose consistency, FID/KID, diversity) and shown as sample grids.
#
# Usage:   bash tests/bench/paper_comparison.sh [OUT]          (default OUT: out/paper_comparison)
# Budget:  the defaults are the full run, about an hour of training per model on a 2-core CPU. Every
#          setting is an environment variable; a reduced run, e.g.
#            FRAMES=40 COSTUMES=schoolgirl_1,sporty_1,idol_1,office_1,hero_1,tennis_1,winter_1,sailor_boy_1 \
#            SIZE=64 KIMG=0.1 FMAP_MAX=32 POSENET_STEPS=600 POSES=200 FID_IMAGES=100 \
#            bash tests/bench/paper_comparison.sh out/reduced
#          The script prints every command it runs; docs/results.md quotes them.
# Not named bench_*.py: `make bench` does not run it (it takes hours).
set -euo pipefail

OUT=${1:-out/paper_comparison}
VENV=${VENV:-.venv}
FRAMES=${FRAMES:-100}          # poses rendered, each in every costume of COSTUMES
COSTUMES=${COSTUMES-schoolgirl_1,sporty_1,idol_1,office_1,hero_1,tennis_1,winter_1,sailor_boy_1}  # empty: all 80
SIZE=${SIZE:-64}               # rendered side (>= RES; a larger one is box-averaged down to RES)
RES=${RES:-64}                 # training and evaluation resolution
# The budget: with 32 feature maps, 10 kimg per phase took 53 min (PSGAN) and 43 min (--no-pose) of
# training on one core each (measured 2026-11-21, docs/results.md); timing.json records each run.
KIMG=${KIMG:-10}               # thousands of images per fade-in and per stabilisation phase (9 phases to 64)
BATCH=${BATCH:-16}             # the paper's minibatch up to 128x128
FMAP_MAX=${FMAP_MAX:-32}       # feature maps capped (paper: 512) so that an hour of CPU sees enough images
LATENT=${LATENT:-128}          # latent size (paper: 512), reduced with the feature maps
THREADS=${THREADS:-1}          # torch CPU threads for training (0: all cores)
POSENET_STEPS=${POSENET_STEPS:-1000}
POSES=${POSES:-400}            # held-out target poses scored
FID_IMAGES=${FID_IMAGES:-300}  # images per side for FID/KID (needs the [eval] extra; else reported n/a)
SEED=${SEED:-0}

export PATH="$VENV/bin:$PATH"
mkdir -p "$OUT"
run() { echo "+ $*" | tee -a "$OUT/commands.txt"; "$@"; }
: > "$OUT/commands.txt"
start=$(date +%s)

if [ ! -f "$OUT/data.h5" ]; then
  run datagen render --frames "$FRAMES" --size "$SIZE" --seed "$SEED" ${COSTUMES:+--costumes "$COSTUMES"} \
      -o "$OUT/data.h5" --quiet
fi
run datagen info "$OUT/data.h5"

common=(--max-res "$RES" --kimg-per-phase "$KIMG" --batch "$BATCH" --fmap-max "$FMAP_MAX" --latent "$LATENT"
        --seed "$SEED" --threads "$THREADS" --sample-kimg "$KIMG" --ckpt-kimg "$KIMG")
t0=$(date +%s)
run psgan train "$OUT/data.h5" -o "$OUT/psgan" "${common[@]}"
t1=$(date +%s)
run psgan train "$OUT/data.h5" -o "$OUT/nopose" --no-pose "${common[@]}"
t2=$(date +%s)
run psgan posenet train "$OUT/data.h5" -o "$OUT/posenet.pt" --res "$RES" --steps "$POSENET_STEPS" --seed "$SEED"
t3=$(date +%s)
run psgan eval "$OUT/psgan/checkpoints/latest.pt" --data "$OUT/data.h5" \
    --compare "$OUT/nopose/checkpoints/latest.pt" --posenet "$OUT/posenet.pt" \
    --poses "$POSES" --fid-images "$FID_IMAGES" --seed "$SEED" -o "$OUT/eval.json" | tee "$OUT/eval.txt"
t4=$(date +%s)
# Sample grids: 4 latents x 8 poses spread over the file (rows are pose-major: all costumes of a pose).
step=$("$VENV/bin/python" -c "from datagen.format import open_dataset as o; print(max(1, len(o('$OUT/data.h5')) // 8))")
for m in psgan nopose; do
  run psgan generate "$OUT/$m/checkpoints/latest.pt" --poses "$OUT/data.h5" --rows "0::$step" \
      --grid 4 --with-pose -o "$OUT/$m-grid.png"
done
cat > "$OUT/timing.json" <<EOF
{"train_psgan_s": $((t1 - t0)), "train_nopose_s": $((t2 - t1)), "posenet_s": $((t3 - t2)),
 "eval_s": $((t4 - t3)), "total_s": $(( $(date +%s) - start ))}
EOF
echo "done: $OUT/eval.txt, $OUT/eval.json, $OUT/psgan-grid.png, $OUT/nopose-grid.png, $OUT/timing.json"
