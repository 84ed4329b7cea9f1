#!/usr/bin/env bash
# CycleGAN's evidence for docs/results.md: unpaired translation between two Fashion-MNIST classes
# (A = 7 sneakers, B = 9 ankle boots; the pairing of the training examples carries no information), the
# full objective against its two ablations, at one CPU budget:
#   full         LSGAN + 10 cycle + 0.5 * 10 identity (the paper's weights)
#   no-identity  --lambda-identity 0
#   no-cycle     --lambda-cycle 0 --lambda-identity 0 (GAN terms only: nothing ties the output to the input)
# then `deepgen eval RUN --classifier C`: per direction, the share of translated test images the
# classifier puts in the target domain's class (the issue's goal: >= 80% both ways), the Frechet distance
# to the target domain's real test images in the classifier's features, and the cycle reconstruction
# PSNR; and a picture of each run (rows: A, A -> B, back to A, B, B -> A, back to B).
# C is the zoo's LeNet-5 (28x28 Fashion-MNIST) when the zoo has it, else one trained here.
# Resumable: an interrupted run resumes where its checkpoint is; finished runs are kept.
# Usage: [EPOCHS=2] [THREADS=1] [RUNS="full no-identity no-cycle"] scripts/cyclegan_evidence.sh [OUT]
set -euo pipefail
OUT=${1:-runs/cyclegan-evidence}
BIN=${BIN:-build/deepgen}
EPOCHS=${EPOCHS:-2}
THREADS=${THREADS:-1}
RUNS=${RUNS:-full no-identity no-cycle}
mkdir -p "$OUT"
if "$BIN" zoo check lenet5 >/dev/null 2>&1; then
  CLASSIFIER=zoo/lenet5
else
  CLASSIFIER=$OUT/classifier
  [ -f "$CLASSIFIER/checkpoint.pt" ] || "$BIN" --threads "$THREADS" train classifier --arch lenet5 --epochs 5 \
    --progress lines --out "$CLASSIFIER" >"$OUT/classifier.log" 2>&1
fi
COMMON=(--g-features 32 --d-features 64 --d-layers 2 --batch-size 8 --schedule linear --seed 1)
declare -A ABLATION=([full]="" [no-identity]="--lambda-identity 0" [no-cycle]="--lambda-cycle 0 --lambda-identity 0")
for name in $RUNS; do
  run=$OUT/$name
  if [ -f "$run/checkpoint.pt" ]; then  # resume (says so and exits 1 when it has finished already)
    "$BIN" --threads "$THREADS" train cyclegan --resume --epochs "$EPOCHS" --out "$run" --progress lines \
      >>"$run.log" 2>&1 || grep -q "has already completed" "$run.log"
  else
    # shellcheck disable=SC2086
    /usr/bin/time -f "$name: %e s wall, %U s user" "$BIN" --threads "$THREADS" train cyclegan "${COMMON[@]}" \
      ${ABLATION[$name]} --epochs "$EPOCHS" --out "$run" --progress lines >"$run.log" 2>&1
  fi
  "$BIN" --threads "$THREADS" eval "$run" --classifier "$CLASSIFIER" --json >"$run.eval.json"
  "$BIN" --threads "$THREADS" sample "$run" --out "$OUT/$name.png" >/dev/null
done
python3 - "$OUT" $RUNS <<'PY'
import json, os, sys
out, runs = sys.argv[1], sys.argv[2:]
rows = ["| run | A -> B in B's class | (real B, untranslated A) | FD to real B | B -> A in A's class | (real A, untranslated B) | FD to real A | cycle PSNR A / B (dB) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |"]
for name in runs:
    path = os.path.join(out, name + ".eval.json")
    if not os.path.exists(path):
        continue
    e = json.load(open(path))
    t, m = e["translation"], e["metrics"]
    ab, ba = t["a2b"], t["b2a"]
    rows.append("| %s | %.1f%% | (%.1f%%, %.1f%%) | %.2f | %.1f%% | (%.1f%%, %.1f%%) | %.2f | %.2f / %.2f |" % (
        name, 100 * ab["target_share"], 100 * ab["real_share"], 100 * ab["source_share"], ab["frechet_distance"],
        100 * ba["target_share"], 100 * ba["real_share"], 100 * ba["source_share"], ba["frechet_distance"],
        m["cycle_psnr_a"], m["cycle_psnr_b"]))
open(os.path.join(out, "table.md"), "w").write("\n".join(rows) + "\n")
print("\n".join(rows))
PY
