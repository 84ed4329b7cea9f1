#!/usr/bin/env bash
# Trains the image-to-image translation runs whose numbers docs/results.md reports, at CPU budgets, and
# writes their evaluations and pictures:
#   1. a LeNet-5 classifier on 32x32 Fashion-MNIST (the feature space of the Frechet distance and the
#      judge of class consistency);
#   2. pix2pix on edges -> Fashion-MNIST (edge maps: Sobel + hysteresis, data/paired_images.h), the
#      L1-only ablation (--no-gan) against the full model, the same budget;
#   3. gray -> colour on crops of the natural photographs: the colorize autoencoder (chroma from
#      luminance, L1) against pix2pix (--pairs gray), then both on the four whole test photographs.
# Small budgets (docs/results.md): on the shared 2-core VM the two edges runs took about 20 and 25
# minutes per 2-3 epochs, colorize 20 minutes. Run again after an interruption: runs with a checkpoint
# are skipped (so an interrupted one is taken as it is: delete it to train it again).
# Usage: scripts/translation_evidence.sh [OUT]     (BIN=build/deepgen by default)
set -euo pipefail
OUT=${1:-runs/translation}
BIN=${BIN:-build/deepgen}
[ -d data/natural/test ] || make images >/dev/null
mkdir -p "$OUT"
train() {  # name, then the train arguments; skipped when the run has its checkpoint
  local name=$1
  shift
  [ -f "$OUT/$name/checkpoint.pt" ] && return 0
  /usr/bin/time -f "$name: %e s wall, %U s user" "$BIN" train "$@" --out "$OUT/$name" --progress lines 2>&1 \
    | grep -E "^(epoch|run|deepgen|.*wall)" | tee "$OUT/$name.log"
}
train classifier classifier --arch lenet5 --image-size 32 --epochs 3 --train-limit 20000
EDGES=(--train-limit "${EDGE_TRAIN:-2000}" --test-limit 1000 --epochs "${EDGE_EPOCHS:-3}" --batch-size 32
       --g-features 32 --d-features 32)
train edges-l1 pix2pix "${EDGES[@]}" --no-gan
train edges-pix2pix pix2pix "${EDGES[@]}"
for run in edges-l1 edges-pix2pix; do
  "$BIN" eval "$OUT/$run" --classifier "$OUT/classifier" --json >"$OUT/$run.eval.json"
  "$BIN" sample "$OUT/$run" --n 16 --out "$OUT/$run.png" >/dev/null
done
PHOTOS=(--data data/natural --epochs "${PHOTO_EPOCHS:-2}" --batch-size 32 --g-features 32)
train colorize colorize "${PHOTOS[@]}" --patch-size 64 --patches "${PHOTO_PATCHES:-1500}" --test-patches 256
train gray-pix2pix pix2pix "${PHOTOS[@]}" --pairs gray --image-size 64 --train-limit "${PHOTO_PATCHES:-1500}" \
  --test-limit 256 --d-features 32
for run in colorize gray-pix2pix; do
  "$BIN" eval "$OUT/$run" --json >"$OUT/$run.eval.json"
  "$BIN" sample "$OUT/$run" --n 16 --out "$OUT/$run.png" >/dev/null
  mkdir -p "$OUT/$run-photos"
  for photo in data/natural/test/astronaut.png data/natural/test/chelsea.png; do  # the colour ones
    name=$(basename "${photo%.*}")
    "$BIN" translate "$OUT/$run" "$photo" "$OUT/$run-photos/$name.png" --reference "$photo"
  done | tee "$OUT/$run-photos.txt"
done
