#!/usr/bin/env bash
# The GAN comparison of issue 30 on Fashion-MNIST at 32x32: DCGAN (non-saturating), DCGAN with spectral
# norm, WGAN-GP (the paper's n_critic 5, Adam 1e-4, betas 0 / 0.9) and the StyleGAN-style generator
# (non-saturating + R1 10, Adam 2e-3, betas 0 / 0.99, as StyleGAN2), each trained for the same wall-clock
# budget (BUDGET seconds from its start, ended with SIGINT: the trainer stops after the step and keeps a
# checkpoint there), then scored by `deepgen eval --classifier` with a LeNet-5 trained at 32x32: Frechet
# distance in its penultimate-layer features and class coverage of 10000 samples (EMA generators).
# Runs already scored are skipped. Writes OUT/table.md.
# Usage: [BUDGET=600] [SEEDS="1"] [THREADS=1] scripts/gan_evidence.sh [OUT]
set -euo pipefail
OUT=${1:-runs/gan-evidence}
BIN=${BIN:-build/deepgen}
BUDGET=${BUDGET:-600}
SEEDS=${SEEDS:-1}
THREADS=${THREADS:-1}
mkdir -p "$OUT"
COMMON=(--image-size 32 --batch-size 64 --epochs 1000 --progress lines --threads "$THREADS")
[ -f "$OUT/classifier/checkpoint.pt" ] || "$BIN" train classifier --arch lenet5 --image-size 32 --epochs 10 \
  --progress lines --threads "$THREADS" --out "$OUT/classifier" >"$OUT/classifier.log" 2>&1
declare -A GAME=(
  [dcgan]="--arch dcgan"
  [sngan]="--arch dcgan --spectral-norm"
  [wgan-gp]="--arch dcgan --loss wgan-gp --d-steps 5 --lr 1e-4 --beta1 0 --beta2 0.9"
  [stylegan]="--arch stylegan --g-features 32 --latent-dim 128 --lr 2e-3 --beta1 0 --beta2 0.99"
)
for seed in $SEEDS; do
  for name in dcgan sngan wgan-gp stylegan; do
    run="$OUT/$name-seed$seed"
    [ -s "$run.eval.json" ] && continue
    rm -rf "$run"
    # shellcheck disable=SC2086
    "$BIN" train gan ${GAME[$name]} "${COMMON[@]}" --seed "$seed" --out "$run" >"$run.log" 2>&1 &
    pid=$!
    sleep "$BUDGET"
    kill -INT $pid
    wait $pid || true  # 130: stopped as asked
    "$BIN" eval "$run" --classifier "$OUT/classifier" --samples 10000 --json >"$run.eval.json" --threads "$THREADS"
    "$BIN" sample "$run" --n 64 --out "$OUT/$name-seed$seed.png" >/dev/null
  done
done
python3 - "$OUT" "$BUDGET" <<'PY'
import json, sys, glob, os, re
out, budget = sys.argv[1], sys.argv[2]
rows = ["| game | seed | trained in %s s | Frechet distance | real train vs test | classes covered | mean confidence |" % budget,
        "| --- | --- | --- | --- | --- | --- | --- |"]
for path in sorted(glob.glob(os.path.join(out, "*-seed*.eval.json"))):
    name, seed = re.match(r"(.*)-seed(\d+)\.eval\.json", os.path.basename(path)).groups()
    e = json.load(open(path))
    g = e["generator"]
    log = open(path.replace(".eval.json", ".log")).read()
    where = re.search(r"stopped by SIGINT (at epoch \d+, step \d+ of \d+|after epoch \d+)", log)
    rows.append("| %s | %s | %s | %.2f | %.2f | %d of %d | %.3f |" % (
        name, seed, where.group(1) if where else "?", g["frechet_distance"], g["reference_frechet_distance"],
        g["classes_covered"], len(g["class_fractions"]), g["mean_confidence"]))
open(os.path.join(out, "table.md"), "w").write("\n".join(rows) + "\n")
print("\n".join(rows))
PY
