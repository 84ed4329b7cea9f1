#!/usr/bin/env bash
# deepgen against PyTorch on one CUDA GPU (run by scripts/gpu_check.sh's bench stage; needs a deepgen built
# against a CUDA LibTorch and a python3 with that PyTorch): training images per second, the same work in
# every program, the programs in turn, median of REPEATS runs of EPOCHS epochs (the first epoch of each run
# left out: cuDNN's autotuning, compilation, CUDA-graph capture). PyTorch in its configurations:
#   eager           fp32, as a user writes it
#   bf16+cl         bf16 autocast with channels_last model and input (conv models)
#   compiled        torch.compile (default mode)
#   cuda-graphs     torch.compile(mode="reduce-overhead"): the step captured as CUDA graphs
# Models and work per epoch (batch 128 unless said; all data held on the GPU by the peers):
#   vae      dense 784-400-20 VAE, 60000 images
#   dcgan    DCGAN at 64x64 (Fashion-MNIST resized; the issue's "DCGAN-64"), 60000 images
#   dncnn    DnCNN-17 width 64, 12800 patches of 40x40 (deepgen --precision bf16 against each)
# Environment: DEEPGEN (default build-gpu/deepgen), PYTHON_GPU (default python3).
#   bench/compare_gpu.sh [REPEATS] [EPOCHS]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
REPEATS=${1:-3}
EPOCHS=${2:-3}
DEEPGEN=${DEEPGEN:-build-gpu/deepgen}
PY=${PYTHON_GPU:-python3}
need_deepgen
"$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' ||
  { echo "compare_gpu: $PY's torch sees no CUDA device" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# images_per_second SECONDS_FILE IMAGES: the median epoch's images per second
images_per_second() { echo "$2 / $(median "$1")" | bc -l; }
# bench MODEL IMAGES DEEPGEN_FLAGS -- PEER [PEER_FLAGS] -- CONFIG...: each config is NAME=PEER_EXTRA_FLAGS
bench() {
  local model=$1 images=$2; shift 2
  local dflags=() peer=() configs=()
  while [ "$1" != -- ]; do dflags+=("$1"); shift; done; shift
  while [ "$1" != -- ]; do peer+=("$1"); shift; done; shift
  configs=("$@")
  for r in $(seq "$REPEATS"); do
    rm -rf "$work/run"
    "$DEEPGEN" --device cuda train "${dflags[@]}" --epochs "$EPOCHS" --progress none --no-pictures --no-report \
      --out "$work/run" >"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
    epoch_seconds "$work/run" | tail -n +2 >>"$work/$model-deepgen.txt"
    for c in "${configs[@]}"; do
      local name=${c%%=*} extra=()
      read -r -a extra <<<"${c#*=}"
      "$PY" -W ignore "${peer[@]}" --device cuda --epochs "$EPOCHS" "${extra[@]}" | peer_seconds | tail -n +2 \
        >>"$work/$model-$name.txt"
    done
  done
  local d
  d=$(images_per_second "$work/$model-deepgen.txt" "$images")
  printf '| %s | deepgen (%s) | %.0f | 1.00x |\n' "$model" "${dflags[*]}" "$d"
  for c in "${configs[@]}"; do
    local name=${c%%=*} p
    p=$(images_per_second "$work/$model-$name.txt" "$images")
    printf '| %s | PyTorch %s | %.0f | %.2fx |\n' "$model" "$name" "$p" "$(echo "$d / $p" | bc -l)"
  done
}
echo "GPU: $("$PY" -c 'import torch; print(torch.cuda.get_device_name(0), "torch", torch.__version__)'); $(date -u +%Y-%m-%d)"
echo "$REPEATS runs x $EPOCHS epochs, median images/s of epochs 2-$EPOCHS; ratio = deepgen's images/s over PyTorch's"
printf '| model | program | images/s | deepgen / it |\n| --- | --- | --- | --- |\n'
bench vae 60000 vae -- bench/vae_peer.py -- eager= compiled=--compile cuda-graphs="--compile reduce-overhead"
bench dcgan 60000 gan --arch dcgan --image-size 64 -- bench/dcgan_peer.py --image-size 64 -- eager= "bf16+cl=--precision bf16" \
  compiled=--compile "bf16+cl-compiled=--precision bf16 --compile" "cuda-graphs=--compile reduce-overhead"
bench dncnn 12800 dncnn --sigma-range 5 50 --depth 17 --width 64 --patches 12800 --batch-size 128 --precision bf16 -- \
  bench/dncnn_peer.py --depth 17 --width 64 --patches 12800 --batch-size 128 -- eager=--precision\ fp32 \
  "bf16+cl=--precision bf16" "bf16+cl-compiled=--precision bf16 --compile"
