#!/usr/bin/env bash
# deepgen on both LibTorch engines against PyTorch on both, eager and compiled: seconds per training epoch
# of one MODEL, the same work in every program (the peers are bench/*_peer.py). The programs:
#   deepgen 1.13      build/deepgen (make build; DEEPGEN_DEBIAN=... for another), Debian's LibTorch 1.13.1
#   deepgen 2.15      build-pip/deepgen (make build TORCH=pip; DEEPGEN_PIP=...), PyPI's LibTorch
#   pytorch 1.13      the peer on Debian's python3-torch (skipped when it is not installed)
#   pytorch 2.15      the peer in build-venv (TORCH_VENV=...), eager
#   compiled 2.15     the same with --compile (torch.compile, default mode: Inductor's C++/OpenMP kernels)
#   max-autotune 2.15 the same with --compile max-autotune, when MAX_AUTOTUNE=1
# MODEL and its work per epoch (kept to seconds per epoch on one core):
#   vae         dense 784-400-20 VAE, all 60000 Fashion-MNIST images, batch 128
#   lenet5      LeNet-5, all 60000 images, batch 128
#   resnet20    ResNet-20 (width 16, 3 stages x 3 basic blocks, batch norm), the first 2000 images
#   dcgan       DCGAN (deepgen's defaults: 28x28, G and D 64 features, batch 128), the first 2048 images
#   dncnn       blind DnCNN depth 20 width 64, 384 patches of 40x40, batch 64, fp32
#   dncnn-bf16  the same in bf16 (autocast, channels-last; deepgen --precision bf16)
#   charlm      2-layer LSTM char-LM of 128 units on the fortunes' cookie file (27 steps of 128 x 64)
# Every program runs REPEATS times, in turn, EPOCHS epochs each (EPOCHS >= 2), on THREADS ATen threads and
# 1 OpenBLAS thread. The first epoch of every run is left out of the median (it holds torch.compile's
# compilation and the allocators' warm-up); the extra seconds of the compiled programs' first epochs are
# printed apart. Prints one Markdown table: median seconds per epoch and the ratio to each deepgen
# (>1: deepgen is faster).
#   bench/compare_engines.sh MODEL [THREADS] [REPEATS] [EPOCHS]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
MODEL=${1:?usage: bench/compare_engines.sh MODEL [THREADS] [REPEATS] [EPOCHS]; MODEL: vae lenet5 resnet20 dcgan dncnn dncnn-bf16 charlm}
THREADS=${2:-1}
REPEATS=${3:-3}
EPOCHS=${4:-3}
DEEPGEN_DEBIAN=${DEEPGEN_DEBIAN:-build/deepgen}
DEEPGEN_PIP=${DEEPGEN_PIP:-build-pip/deepgen}
VENV_PYTHON=${TORCH_VENV:-build-venv}/bin/python
TEXT=/usr/share/games/fortunes/cookie
[ "$EPOCHS" -ge 2 ] || { echo "compare_engines: EPOCHS must be at least 2 (the first is left out), found $EPOCHS" >&2; exit 2; }
# train: deepgen's command; peer: the peer and its flags (both the same work); what: the table's caption.
case "$MODEL" in
  vae) train=(vae); peer=(bench/vae_peer.py); what="dense VAE 784-400-20, 60000 images" ;;
  lenet5) train=(classifier --arch lenet5 --test-limit 1000); peer=(bench/classifier_peer.py --arch lenet5)
    what="LeNet-5, 60000 images" ;;
  resnet20) train=(classifier --arch resnet --train-limit 2000 --test-limit 500)
    peer=(bench/classifier_peer.py --arch resnet --train-limit 2000); what="ResNet-20, 2000 images" ;;
  dcgan) train=(gan --arch dcgan --train-limit 2048 --test-limit 256)
    peer=(bench/dcgan_peer.py --train-limit 2048); what="DCGAN at 28x28, batch 128 (the defaults), 2048 images" ;;
  dncnn|dncnn-bf16)
    precision=fp32
    [ "$MODEL" = dncnn ] || precision=bf16
    [ -d data/natural/train ] || { echo "compare_engines: needs data/natural/train: run make images" >&2; exit 1; }
    train=(dncnn --sigma-range 5 50 --width 64 --patches 384 --test-patches 64 --batch-size 64 --precision $precision)
    peer=(bench/dncnn_peer.py --width 64 --patches 384 --precision $precision)
    what="blind DnCNN depth 20 width 64, 384 patches, $precision" ;;
  charlm)
    [ -r "$TEXT" ] || { echo "compare_engines: needs $TEXT: apt-get install fortunes" >&2; exit 1; }
    train=(charlm --text "$TEXT"); peer=(bench/charlm_peer.py --text "$TEXT"); what="LSTM char-LM, cookie" ;;
  *) echo "compare_engines: MODEL must be vae, lenet5, resnet20, dcgan, dncnn, dncnn-bf16 or charlm, found '$MODEL'" >&2
    exit 2 ;;
esac
for program in "$DEEPGEN_DEBIAN" "$DEEPGEN_PIP" "$VENV_PYTHON"; do
  [ -x "$program" ] || { echo "compare_engines: needs $program: run make build and make build TORCH=pip" >&2; exit 1; }
done
names=("deepgen 1.13" "deepgen 2.15")
"$PYTHON" -c 'import torch' 2>/dev/null && names+=("pytorch 1.13")
names+=("pytorch 2.15" "compiled 2.15")
[ "${MAX_AUTOTUNE:-0}" != 1 ] || names+=("max-autotune 2.15")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=1
TORCH_PRELOAD=$(wheel_libtorch_cpu "$VENV_PYTHON")  # vectorized compiled kernels: see bench/lib.sh
# run NAME RUN: appends the seconds of each epoch of one run of program NAME, one line per run, to $work/NAME.txt
run() {
  local file="$work/${1// /_}.txt" out="$work/run$2" seconds
  case "$1" in
    deepgen*)
      local binary=$DEEPGEN_DEBIAN
      [ "$1" = "deepgen 1.13" ] || binary=$DEEPGEN_PIP
      rm -rf "$out"
      "$binary" --threads "$THREADS" train "${train[@]}" --epochs "$EPOCHS" --progress none --no-pictures --no-report \
        --out "$out" >"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
      seconds=$(epoch_seconds "$out") ;;
    "pytorch 1.13") seconds=$("$PYTHON" "${peer[@]}" --epochs "$EPOCHS" --threads "$THREADS" | peer_seconds) ;;
    "pytorch 2.15") seconds=$(LD_PRELOAD=$TORCH_PRELOAD "$VENV_PYTHON" -W ignore "${peer[@]}" --epochs "$EPOCHS" --threads "$THREADS" | peer_seconds) ;;
    "compiled 2.15") seconds=$(LD_PRELOAD=$TORCH_PRELOAD "$VENV_PYTHON" -W ignore "${peer[@]}" --epochs "$EPOCHS" --threads "$THREADS" --compile | peer_seconds) ;;
    "max-autotune 2.15")
      seconds=$(LD_PRELOAD=$TORCH_PRELOAD "$VENV_PYTHON" -W ignore "${peer[@]}" --epochs "$EPOCHS" --threads "$THREADS" --compile max-autotune | peer_seconds) ;;
  esac
  [ "$(echo "$seconds" | wc -l)" -eq "$EPOCHS" ] || { echo "compare_engines: $1 did not report $EPOCHS epochs" >&2; exit 1; }
  echo "$seconds" | head -1 >>"$work/${1// /_}.first"
  echo "$seconds" | tail -n +2 >>"$file"
}
for r in $(seq "$REPEATS"); do
  for name in "${names[@]}"; do run "$name" "$r"; done
done
echo "$MODEL ($what): $(nproc --all) cores, $(cpu_model); $(date -u +%Y-%m-%d)"
echo "$THREADS ATen x 1 OpenBLAS threads; $REPEATS runs x $EPOCHS epochs each; median seconds per epoch of epochs 2-$EPOCHS"
d113=$(median "$work/deepgen_1.13.txt")
d215=$(median "$work/deepgen_2.15.txt")
printf '| program | s/epoch | / deepgen 1.13 | / deepgen 2.15 | first epoch |\n| --- | --- | --- | --- | --- |\n'
for name in "${names[@]}"; do
  m=$(median "$work/${name// /_}.txt")
  printf '| %s | %.2f | %.2fx | %.2fx | %.2f |\n' "$name" "$m" "$(echo "$m / $d113" | bc -l)" "$(echo "$m / $d215" | bc -l)" \
    "$(median "$work/${name// /_}.first")"
done
