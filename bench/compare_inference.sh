#!/usr/bin/env bash
# deepgen's inference commands against PyTorch doing the same tiles: `deepgen denoise RUN IN OUT` on a
# 12-megapixel colour photo and `deepgen upscale RUN IN OUT` from 3 to 12 megapixels (x2), on both
# engines, against bench/restore_peer.py on PyPI's PyTorch 2.15, eager, with torch.compile, and compiled with
# Inductor's freezing (weights as constants: BN folded, weights prepacked; PyTorch's advice for CPU inference) (and on
# Debian's 1.13 with WITH_113=1; WITH_DEBIAN=0 leaves out deepgen on 1.13). Every program is one whole
# command as a user runs it (start, load, read the PNG, the network over 256-pixel tiles with the
# receptive radius as margin, write the PNG): its wall-clock
# seconds and peak resident memory (/usr/bin/time), median of REPEATS runs, the programs in turn; the
# peers' network seconds are printed beside. The table gives each output's largest difference from
# deepgen 2.15's, in 8-bit levels.
# The models: the default blind colour DnCNN (depth 20, width 64, batch norm) and the default x2
# super-resolution net (depth 20, width 64), each trained for one short epoch here (the speed does not
# depend on the weights). The photo: data/natural/train/coffee.png resized bicubically to 4242 x 2828
# (12.0 Mpixel), with Gaussian noise of sigma 25 for denoise; its half size for upscale.
#   bench/compare_inference.sh [THREADS] [REPEATS]      (THREADS ATen x 1 OpenBLAS threads; default all cores)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
THREADS=${1:-$(nproc)}
REPEATS=${2:-3}
DEEPGEN_DEBIAN=${DEEPGEN_DEBIAN:-build/deepgen}
DEEPGEN_PIP=${DEEPGEN_PIP:-build-pip/deepgen}
VENV_PYTHON=${TORCH_VENV:-build-venv}/bin/python
for program in "$DEEPGEN_DEBIAN" "$DEEPGEN_PIP" "$VENV_PYTHON" /usr/bin/time; do
  [ -x "$program" ] || { echo "compare_inference: needs $program (make build, make build TORCH=pip; apt-get install time)" >&2; exit 1; }
done
[ -d data/natural/train ] || { echo "compare_inference: needs data/natural/train: run make images" >&2; exit 1; }
"$VENV_PYTHON" -c 'import PIL, numpy' 2>/dev/null || { echo "compare_inference: needs pillow and numpy in ${TORCH_VENV:-build-venv}" >&2; exit 1; }
# The reference is deepgen 2.15, on the same LibTorch as the PyTorch 2.15 peers. Each 12-Mpixel run takes
# minutes on 2 cores, so deepgen on Debian's 1.13 can be left out (WITH_DEBIAN=0), and PyTorch 1.13 (the same
# LibTorch as deepgen 1.13: a 1.2-Mpixel trial gave 49.9 against 48.9 s and identical output) is left out
# unless WITH_113=1.
names=("deepgen 2.15")
[ "${WITH_DEBIAN:-1}" = 0 ] || names+=("deepgen 1.13")
[ "${WITH_113:-0}" != 1 ] || names+=("pytorch 1.13")
names+=("pytorch 2.15" "compiled 2.15" "frozen 2.15")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=1
TORCH_PRELOAD=$(wheel_libtorch_cpu "$VENV_PYTHON")  # vectorized compiled kernels: see bench/lib.sh
quiet=(--epochs 1 --test-patches 8 --progress none --no-pictures --no-report)
"$DEEPGEN_DEBIAN" train dncnn --sigma-range 5 50 --channels 3 --patches 64 "${quiet[@]}" --out "$work/dncnn" >/dev/null
"$DEEPGEN_DEBIAN" train sr --scale 2 --channels 3 --patches 64 "${quiet[@]}" --out "$work/sr" >/dev/null
# SIZE=WxH (even sides) makes a smaller photo, for trying the script out.
width=${SIZE:-4242x2828}; height=${width#*x}; width=${width%x*}
"$VENV_PYTHON" - "$work" "$width" "$height" <<'PY'
import sys
import numpy as np
from PIL import Image
w, h = int(sys.argv[2]), int(sys.argv[3])
photo = Image.open("data/natural/train/coffee.png").convert("RGB").resize((w, h), Image.BICUBIC)
noisy = np.asarray(photo).astype(np.float64) + np.random.default_rng(1).normal(0, 25, (h, w, 3))
Image.fromarray(noisy.clip(0, 255).round().astype(np.uint8)).save(sys.argv[1] + "/noisy.png")
photo.resize((w // 2, h // 2), Image.BICUBIC).save(sys.argv[1] + "/small.png")
PY
# run TASK NAME R: one run of program NAME; appends "seconds peak_kib [network_seconds]" to $work/TASK-NAME.txt
run() {
  local task=$1 name=$2 r=$3 run_dir input out="$work/$1-${2// /_}-$3.png"
  run_dir=$work/dncnn input=$work/noisy.png
  [ "$task" = denoise ] || { run_dir=$work/sr; input=$work/small.png; }
  local command=()
  case "$name" in
    "deepgen 1.13") command=("$DEEPGEN_DEBIAN" --threads "$THREADS" "$task" "$run_dir" "$input" "$out") ;;
    "deepgen 2.15") command=("$DEEPGEN_PIP" --threads "$THREADS" "$task" "$run_dir" "$input" "$out") ;;
    pytorch*|compiled*|frozen*)
      local python=(env "LD_PRELOAD=$TORCH_PRELOAD" "$VENV_PYTHON") extra=()
      [ "$name" != "pytorch 1.13" ] || python=("$PYTHON")
      [ "$name" != "compiled 2.15" ] || extra=(--compile)
      [ "$name" != "frozen 2.15" ] || extra=(--compile --freeze)
      command=("${python[@]}" -W ignore bench/restore_peer.py --task "$task" --run "$run_dir" --input "$input" --output "$out"
               --threads "$THREADS" "${extra[@]}") ;;
  esac
  /usr/bin/time -f '%e %M' -o "$work/time" "${command[@]}" >"$work/stdout" 2>"$work/stderr" ||
    { echo "compare_inference: $name $task failed:" >&2; cat "$work/stderr" >&2; exit 1; }
  local network=""
  [ "${name%% *}" = deepgen ] || network=$(sed 's/.*"network_seconds": \([0-9.e-]*\).*/\1/' "$work/stdout")
  echo "$(cat "$work/time") $network" >>"$work/$task-${name// /_}.txt"
}
# agree A.png B.png: the largest difference of two 8-bit images, in levels
agree() { "$VENV_PYTHON" -c 'import sys, numpy as np; from PIL import Image
a, b = (np.asarray(Image.open(p)).astype(int) for p in sys.argv[1:3]); print(np.abs(a - b).max())' "$1" "$2"; }
for task in denoise upscale; do
  for r in $(seq "$REPEATS"); do
    for name in "${names[@]}"; do run "$task" "$name" "$r"; done
  done
done
echo "machine: $(nproc --all) cores, $(cpu_model); $(date -u +%Y-%m-%d); $THREADS ATen x 1 OpenBLAS threads; median of $REPEATS runs"
column_median() { awk -v c="$2" '{print $c}' "$1" >"$work/column"; median "$work/column"; }
for task in denoise upscale; do
  case $task in
    denoise) echo "denoise: blind colour DnCNN-20 (width 64) on a $width x $height photo, 256-pixel tiles" ;;
    upscale) echo "upscale x2: 20-layer SR net (width 64), $((width / 2)) x $((height / 2)) -> $width x $height, 256-pixel tiles" ;;
  esac
  d=$(column_median "$work/$task-deepgen_2.15.txt" 1)
  printf '| program | seconds | / deepgen 2.15 | network seconds | peak memory (MB) | max diff vs deepgen 2.15 (levels) |\n'
  printf '| --- | --- | --- | --- | --- | --- |\n'
  for name in "${names[@]}"; do
    f="$work/$task-${name// /_}.txt"
    s=$(column_median "$f" 1)
    network=-
    [ "${name%% *}" = deepgen ] || network=$(printf '%.2f' "$(column_median "$f" 3)")
    printf '| %s | %.2f | %.2fx | %s | %.0f | %s |\n' "$name" "$s" "$(echo "$s / $d" | bc -l)" "$network" \
      "$(echo "$(column_median "$f" 2) / 1024" | bc -l)" \
      "$(agree "$work/$task-deepgen_2.15-1.png" "$work/$task-${name// /_}-1.png")"
  done
done
