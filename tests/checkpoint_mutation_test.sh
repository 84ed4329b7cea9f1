#!/usr/bin/env bash
# Byte-mutated checkpoints never load silently: COUNT copies of CHECKPOINT (a dncnn run's, e.g.
# tests/fixtures/checkpoint-v1-dncnn.pt), each with one random byte changed, are given to
# `deepgen denoise`. Each must either be refused (non-zero exit, one line on stderr, no signal) or
# denoise exactly as the original does: with the CRC-32 check that happens only when the changed byte
# lies outside every entry's data (LibTorch pads entries to 64 bytes with an extra field no checksum
# covers). A copy that runs and gives another picture (wrong weights, silently) or a crash fails the
# test. (Without the check, changed optimizer state or low mantissa bits can also give the same picture:
# "same output" alone does not prove the weights were right, which is why the count is reported.)
# Usage: checkpoint_mutation_test.sh DEEPGEN CHECKPOINT [COUNT=60] [SEED=26]
set -u
DEEPGEN=$1 CHECKPOINT=$2 COUNT=${3:-60} SEED=${4:-26}
WORK=$(mktemp -d /tmp/deepgen-mutation-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
RANDOM=$SEED

# A 32x32 gray PGM (stb reads PNM), a diagonal gradient.
{
  printf 'P5\n32 32\n255\n'
  for ((y = 0; y < 32; ++y)); do for ((x = 0; x < 32; ++x)); do printf "\\x$(printf %02x $(((x + y) * 4)))"; done; done
} >"$WORK/input.pgm"

if ! "$DEEPGEN" --threads 1 denoise "$CHECKPOINT" "$WORK/input.pgm" "$WORK/reference.png" >/dev/null 2>"$WORK/err"; then
  echo "the unchanged checkpoint does not denoise:"; cat "$WORK/err"; exit 1
fi

size=$(stat -c %s "$CHECKPOINT")
refused=0 harmless=0 wrong=0 crashed=0 noisy=0
for ((i = 1; i <= COUNT; ++i)); do
  cp "$CHECKPOINT" "$WORK/mutated.pt"
  position=$(((RANDOM * 32768 + RANDOM) % size))
  old=$(od -An -tu1 -j "$position" -N1 "$CHECKPOINT" | tr -d ' ')
  new=$((old ^ (1 + RANDOM % 255)))
  printf "\\x$(printf %02x "$new")" | dd of="$WORK/mutated.pt" bs=1 seek="$position" conv=notrunc status=none
  rm -f "$WORK/out.png"
  "$DEEPGEN" --threads 1 denoise "$WORK/mutated.pt" "$WORK/input.pgm" "$WORK/out.png" >/dev/null 2>"$WORK/err"
  rc=$?
  if [ $rc -ge 128 ]; then
    crashed=$((crashed + 1)); echo "copy $i (byte $position: $old -> $new): killed by signal ($rc)"
  elif [ $rc -ne 0 ]; then
    refused=$((refused + 1))
    if [ "$(grep -c . "$WORK/err")" -ne 1 ]; then
      noisy=$((noisy + 1)); echo "copy $i (byte $position): refused with more than one line:"; cat "$WORK/err"
    fi
  elif cmp -s "$WORK/out.png" "$WORK/reference.png"; then
    harmless=$((harmless + 1))
  else
    wrong=$((wrong + 1)); echo "copy $i (byte $position: $old -> $new): loaded and denoised differently, silently"
  fi
done
echo "$COUNT mutated copies of $(basename "$CHECKPOINT"): $refused refused, $harmless ran with the original's" \
     "output, $wrong ran with another output (wrong weights), $crashed crashed, $noisy refused with more than one line"
[ $wrong -eq 0 ] && [ $crashed -eq 0 ] && [ $noisy -eq 0 ]
