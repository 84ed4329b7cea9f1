#!/usr/bin/env bash
# The CLI end to end on tiny runs: train, resume, sample, reconstruct, eval, and every kind of bad input
# (each must give a one-line error naming the culprit and a non-zero exit, never a crash).
set -u
# shellcheck source=script_lib.sh
source "$(dirname "$0")/script_lib.sh"

expect_file() { if [ -s "$1" ]; then pass; else fail "missing file $1"; fi; }
test_loss() { grep "\"split\":\"test\"" "$1" | grep "\"epoch\":$2," | sed 's/.*"loss":\([^,}]*\).*/\1/'; }

TINY=(--train-limit 256 --test-limit 64 --batch-size 32 --progress lines --threads 1)

# Train, then resume: the resumed run must end where the uninterrupted one does.
expect_ok "train vae" "$DEEPGEN" train vae "${TINY[@]}" --epochs 2 --hidden 64 --out "$WORK/straight"
expect_ok "train vae 1 epoch" "$DEEPGEN" train vae "${TINY[@]}" --epochs 1 --hidden 64 --out "$WORK/split"
cp -r "$WORK/split" "$WORK/split-copy"
expect_ok "resume" "$DEEPGEN" train vae --resume --epochs 2 --out "$WORK/split" --threads 1 --progress lines
expect_ok "resume a copied run" "$DEEPGEN" train vae --resume --epochs 2 --out "$WORK/split-copy" --threads 1 --progress lines
grep -q '"out_dir": "'"$WORK"'/split-copy"' "$WORK/split-copy/config.json" && pass || fail "a resumed copy records its own out_dir"
a=$(test_loss "$WORK/straight/metrics.jsonl" 2)
b=$(test_loss "$WORK/split/metrics.jsonl" 2)
if [ -n "$a" ] && [ "$a" = "$b" ]; then pass; else fail "resume: test loss '$b' != uninterrupted '$a'"; fi
c=$(test_loss "$WORK/split-copy/metrics.jsonl" 2)
if [ -n "$a" ] && [ "$a" = "$c" ]; then pass; else fail "resumed copy: test loss '$c' != uninterrupted '$a'"; fi
[ "$(wc -l <"$WORK/split/metrics.jsonl")" -eq 4 ] && pass || fail "resumed metrics.jsonl should have 4 lines"
grep -q 'train.epochs=1' "$WORK/split/config.toml" && ! grep -q resume "$WORK/split/config.toml" && pass \
  || fail "config.toml must keep the flags that started the run"
for f in config.json config.toml metrics.jsonl checkpoint.pt images/epoch_002_samples.png images/epoch_002_reconstructions.png; do
  expect_file "$WORK/straight/$f"
done
grep -q '"split":"train"' "$WORK/straight/metrics.jsonl" && pass || fail "metrics.jsonl has no train lines"

expect_ok "sample" "$DEEPGEN" sample "$WORK/straight" --n 16 --out "$WORK/s.png"
expect_file "$WORK/s.png"
expect_ok "sample default path" "$DEEPGEN" sample "$WORK/straight/checkpoint.pt"
expect_file "$WORK/straight/samples.png"
expect_error "sample to an SVG name" "--out: expected a file name ending in .png" "$DEEPGEN" sample "$WORK/straight" --out "$WORK/s.svg"
expect_ok "reconstruct" "$DEEPGEN" reconstruct "$WORK/straight"
expect_file "$WORK/straight/reconstructions.png"
# --threads 1 as the run had: with more threads the reductions (sums, matrix products) split their work
# and round differently in the last digits (PyPI's LibTorch gives a dense model ATen's threads:
# 504.24593579769135 against 504.2459360361099 at 2 threads).
expect_ok "eval json" "$DEEPGEN" eval "$WORK/straight" --json --threads 1
grep -q '"loss"' "$WORK/out" && grep -q '"kind": "vae"' "$WORK/out" && pass || { fail "eval --json output"; cat "$WORK/out"; }
# eval reproduces the run's last test line: the same data, the same seeded evaluation noise, the same threads.
evaluated=$(sed -n 's/^ *"loss": \([^,]*\),*$/\1/p' "$WORK/out")
[ -n "$evaluated" ] && [ "$evaluated" = "$(test_loss "$WORK/straight/metrics.jsonl" 2)" ] && pass \
  || fail "eval loss '$evaluated' != the last test line's '$(test_loss "$WORK/straight/metrics.jsonl" 2)'"
expect_ok "eval table" "$DEEPGEN" eval "$WORK/straight"
grep -q '^loss ' "$WORK/out" && pass || { fail "eval table output"; cat "$WORK/out"; }

# A DCGAN through the same loop, and the config file round trip.
expect_ok "train gan" "$DEEPGEN" train gan "${TINY[@]}" --epochs 1 --g-features 8 --d-features 8 --out "$WORK/gan"
grep -q '"loss_g"' "$WORK/gan/metrics.jsonl" && grep -q '"d_g_z"' "$WORK/gan/metrics.jsonl" && pass || fail "gan metrics"
expect_file "$WORK/gan/images/epoch_001_samples.png"
expect_ok "sample gan" "$DEEPGEN" sample "$WORK/gan"
sed "s|$WORK/gan|$WORK/gan2|" "$WORK/gan/config.toml" >"$WORK/gan.toml"
expect_ok "train from --config" "$DEEPGEN" --config "$WORK/gan.toml" train gan
# The critics that came after: WGAN-GP (its estimate and penalty logged), spectral norm with R1.
expect_ok "train wgan-gp" "$DEEPGEN" train gan "${TINY[@]}" --epochs 1 --loss wgan-gp --d-steps 5 --lr 1e-4 --beta1 0 --beta2 0.9 --g-features 8 --d-features 8 --out "$WORK/wgan"
grep '"split":"train"' "$WORK/wgan/metrics.jsonl" | grep -q '"gradient_penalty"' && grep -q '"wasserstein"' "$WORK/wgan/metrics.jsonl" && pass || fail "wgan-gp: metrics lack the penalty or the estimate"
expect_ok "train sngan with r1" "$DEEPGEN" train gan "${TINY[@]}" --epochs 1 --spectral-norm --r1 1 --g-features 8 --d-features 8 --out "$WORK/sngan"
grep -q '"r1"' "$WORK/sngan/metrics.jsonl" && pass || fail "r1: not logged"
expect_ok "sample sngan" "$DEEPGEN" sample "$WORK/sngan" --n 4 --out "$WORK/sngan.png"
expect_ok "train stylegan" "$DEEPGEN" train gan --arch stylegan --image-size 16 "${TINY[@]}" --epochs 1 --g-features 4 --d-features 4 --latent-dim 8 --mapping-layers 2 --out "$WORK/style"
for f in samples style_mixing truncation noise; do expect_file "$WORK/style/images/epoch_001_$f.png"; done
expect_ok "sample with truncation" "$DEEPGEN" sample "$WORK/style" --truncation 0.5 --n 4 --out "$WORK/style-trunc.png"
expect_file "$WORK/style-trunc.png"
expect_error "truncation of a vae" "sample --truncation: $WORK/straight/checkpoint.pt holds a 'vae' model, which has no truncation (models with it: gan)" "$DEEPGEN" sample "$WORK/straight" --truncation 0.5
expect_error "stylegan at 28 px" "power of two from 8 to 256, found 28" "$DEEPGEN" train gan --arch stylegan "${TINY[@]}" --out "$WORK/x"
expect_error "mapping layers of a dcgan" "train gan --mapping-layers: only used with --arch stylegan" "$DEEPGEN" train gan --mapping-layers 4 --out "$WORK/x"
expect_error "gp weight without wgan-gp" "train gan --gp-weight: only used with --loss wgan-gp" "$DEEPGEN" train gan --gp-weight 5 --out "$WORK/x"
expect_error "beta2 for sgd" "--beta2: the optimizer is sgd" "$DEEPGEN" train vae --optimizer sgd --beta2 0.9 --out "$WORK/x"
grep -q '"g_features": 8' "$WORK/gan2/config.json" && pass || fail "--config did not apply g-features"

# The autoencoder family, PCA and the latent-space toolkit.
expect_ok "train ae sparse tied" "$DEEPGEN" train ae --variant sparse --tied --code-size 16 "${TINY[@]}" --epochs 1 --out "$WORK/ae"
grep -q '"near_zero"' "$WORK/ae/metrics.jsonl" && grep -q '"tied": true' "$WORK/ae/config.json" && pass || fail "ae metrics/config"
expect_ok "train ae denoising" "$DEEPGEN" train ae --variant denoising --noise salt-pepper --noise-level 0.2 --code-size 16 "${TINY[@]}" --epochs 1 --out "$WORK/dae"
grep -q '"psnr_denoised"' "$WORK/dae/metrics.jsonl" && pass || fail "denoising metrics"
expect_file "$WORK/dae/images/epoch_001_denoising.png"
expect_ok "train ae contractive" "$DEEPGEN" train ae --variant contractive --code-size 8 "${TINY[@]}" --epochs 1 --out "$WORK/cae"
grep -q '"jacobian_sq"' "$WORK/cae/metrics.jsonl" && pass || fail "contractive metrics"
expect_ok "train pca" "$DEEPGEN" train pca --code-size 2 "${TINY[@]}" --epochs 1 --out "$WORK/pca"
expect_file "$WORK/pca/images/epoch_001_components.png"
expect_ok "latent" "$DEEPGEN" latent "$WORK/ae" --threads 1
expect_file "$WORK/ae/latent.svg"
grep -q '"cluster_purity"' "$WORK/ae/latent.json" && pass || fail "latent.json"
grep -q 'purity' "$WORK/out" && pass || fail "latent prints the purity"
expect_ok "manifold (pca, 2-D)" "$DEEPGEN" manifold "$WORK/pca" --n 5
expect_file "$WORK/pca/manifold.png"
expect_ok "interpolate ae" "$DEEPGEN" interpolate "$WORK/ae" --pairs 2 --steps 4
expect_file "$WORK/ae/interpolation.png"
expect_ok "interpolate generator" "$DEEPGEN" interpolate "$WORK/gan" --pairs 2 --steps 4
expect_ok "traverse vae" "$DEEPGEN" traverse "$WORK/straight" --dims 3 --steps 5
expect_file "$WORK/straight/traversal.png"
expect_ok "interpolate one chosen pair" "$DEEPGEN" interpolate "$WORK/ae" --from 3 --to 5 --steps 4 --out "$WORK/pair.png"
expect_file "$WORK/pair.png"
expect_error "denoise --seed without --add-noise" "--seed requires --add-noise" "$DEEPGEN" denoise "$WORK/straight" "$WORK/s.png" "$WORK/o.png" --seed 3
expect_error "cells has no --data" "--data" "$DEEPGEN" cells "$WORK/straight" --data "$WORK"
expect_error "interpolate --from without --to" "give --from and --to together" "$DEEPGEN" interpolate "$WORK/ae" --from 3
expect_error "interpolate --pairs and --from" "give one or the other" "$DEEPGEN" interpolate "$WORK/ae" --pairs 2 --from 1 --to 2
expect_error "interpolate a generator from test images" "has no encoder" "$DEEPGEN" interpolate "$WORK/gan" --from 1 --to 2
expect_error "traverse a generator from a test image" "drop --image" "$DEEPGEN" traverse "$WORK/gan" --image 2
expect_ok "denoise-ae" "$DEEPGEN" denoise-ae "$WORK/dae" --json
grep -q '"psnr_denoised"' "$WORK/out" && pass || fail "denoise-ae --json"
expect_ok "compare-codes" "$DEEPGEN" compare-codes --sizes 2,5 --epochs 1 --train-limit 256 --test-limit 64 --progress none --out "$WORK/cc" --threads 1
for f in compare.md compare.json compare.svg latent_2d_vs_5d.png pca-2/checkpoint.pt vae-5/checkpoint.pt; do expect_file "$WORK/cc/$f"; done
expect_error "manifold needs 2-D" "needs a 2-D latent space" "$DEEPGEN" manifold "$WORK/ae"
expect_error "latent needs an encoder" "without an encoder" "$DEEPGEN" latent "$WORK/gan"
expect_error "sample an ae" "no prior" "$DEEPGEN" sample "$WORK/ae"
expect_error "bad variant" "--variant" "$DEEPGEN" train ae --variant fancy
expect_error "lr for pca" "closed form" "$DEEPGEN" train pca --lr 0.1 "${TINY[@]}" --out "$WORK/x"
expect_error "bad sizes" "--sizes" "$DEEPGEN" compare-codes --sizes 2,x --out "$WORK/x"

# Classifiers, the training toolkit, attacks, ensembles and the layer table.
expect_ok "train classifier" "$DEEPGEN" train classifier --arch mlp --width 32 --optimizer nesterov --lr 0.05 --weight-decay 1e-4 \
  --schedule sgdr --sgdr-period 1 --clip-grad 5 "${TINY[@]}" --epochs 2 --out "$WORK/mlp"
grep -q '"accuracy"' "$WORK/mlp/metrics.jsonl" && grep -q '"top5"' "$WORK/mlp/metrics.jsonl" && grep -q '"lr"' "$WORK/mlp/metrics.jsonl" \
  && pass || fail "classifier metrics"
grep -q '"name": "nesterov"' "$WORK/mlp/config.json" && grep -q '"name": "sgdr"' "$WORK/mlp/config.json" && pass || fail "optimizer/schedule config"
expect_ok "train adversarially" "$DEEPGEN" train classifier --arch lenet5 --adversarial-training 0.5 --adversarial-eps 0.1 "${TINY[@]}" --epochs 1 --out "$WORK/lenet"
grep -q '"adversarial_loss"' "$WORK/lenet/metrics.jsonl" && pass || fail "adversarial training metrics"
expect_ok "resume keeps the schedule" "$DEEPGEN" train classifier --resume --epochs 3 --out "$WORK/mlp" --threads 1 --progress lines
expect_ok "attack" "$DEEPGEN" attack "$WORK/mlp" --eps 0.05,0.2 --json
grep -q '"attacked_accuracy"' "$WORK/out" && pass || fail "attack --json"
expect_file "$WORK/mlp/attack.svg"
expect_ok "ensemble" "$DEEPGEN" eval --ensemble "$WORK/mlp" "$WORK/lenet"
grep -q 'ensemble (mean probabilities)' "$WORK/out" && pass || fail "ensemble output"
expect_ok "layers" "$DEEPGEN" layers lenet5
grep -q 'total parameters 61706' "$WORK/out" && grep -q '(28 + 2\*2 - 5)/1 + 1 = 28' "$WORK/out" && pass || { fail "layers table"; cat "$WORK/out"; }
expect_ok "layers dcgan" "$DEEPGEN" layers dcgan-generator
grep -q '(7 - 1)\*2 - 2\*1 + 4 = 14' "$WORK/out" && pass || { fail "transposed conv arithmetic"; cat "$WORK/out"; }
expect_error "layers: depth of LeNet-5" "lenet5 has no such setting" "$DEEPGEN" layers lenet5 --depth 3
expect_error "layers: activation of a DCGAN" "it is for the classifiers" "$DEEPGEN" layers dcgan-generator --activation elu
expect_error "attack needs a classifier" "needs a classifier run" "$DEEPGEN" attack "$WORK/straight"
expect_error "bad eps" "--eps" "$DEEPGEN" attack "$WORK/mlp" --eps 0.1,big
expect_error "bad optimizer" "--optimizer" "$DEEPGEN" train classifier --optimizer rmsprop
expect_error "lenet5 size" "lenet5" "$DEEPGEN" train classifier --arch lenet5 --image-size 64 "${TINY[@]}" --out "$WORK/x"

# GANs: the dense conditional least-squares GAN with k = 2, sampling a class, scoring, arithmetic, inpainting.
expect_ok "train conditional mlp gan" "$DEEPGEN" train gan --arch mlp --loss lsgan --d-steps 2 --conditional --hidden 16 \
  --label-smoothing 0.1 --ema 0.99 "${TINY[@]}" --epochs 1 --out "$WORK/cgan"
grep '"split":"train"' "$WORK/cgan/metrics.jsonl" | grep -q '"g_update":0.5' && pass || fail "--d-steps 2: half the steps update G"
grep -q '"conditional": true' "$WORK/cgan/config.json" && grep -q '"loss": "lsgan"' "$WORK/cgan/config.json" && pass || fail "gan config"
expect_ok "sample a class" "$DEEPGEN" sample "$WORK/cgan" --class 3 --n 8 --out "$WORK/class3.png"
expect_file "$WORK/class3.png"
expect_error "class out of range" "--class: expected 0 to 9" "$DEEPGEN" sample "$WORK/cgan" --class 10
expect_error "class of an unconditional gan" "not class-conditional" "$DEEPGEN" sample "$WORK/gan" --class 1
expect_ok "eval gan with a classifier" "$DEEPGEN" eval "$WORK/gan" --classifier "$WORK/lenet" --samples 200 --json
grep -q '"frechet_distance"' "$WORK/out" && grep -q '"classes_covered"' "$WORK/out" && grep -q 'not Inception-FID' "$WORK/out" \
  && pass || { fail "eval --classifier output"; cat "$WORK/out"; }
expect_error "eval with a non-classifier" "expected a classifier run" "$DEEPGEN" eval "$WORK/gan" --classifier "$WORK/straight" --samples 50
expect_error "score a classifier" "cannot sample" "$DEEPGEN" eval "$WORK/lenet" --classifier "$WORK/lenet"
expect_ok "arithmetic" "$DEEPGEN" arithmetic "$WORK/gan" --a 0,1,2 --b 3 --c 4,5 --n 16
expect_file "$WORK/gan/arithmetic.png"
expect_error "arithmetic index" "--b index 40 is outside the 16 samples" "$DEEPGEN" arithmetic "$WORK/gan" --a 0 --b 40 --c 1 --n 16
expect_error "arithmetic of a conditional gan" "--class" "$DEEPGEN" arithmetic "$WORK/cgan" --a 0 --b 1 --c 2
expect_ok "interpolate a class" "$DEEPGEN" interpolate "$WORK/cgan" --class 2 --pairs 2 --steps 4
expect_ok "inpaint" "$DEEPGEN" inpaint "$WORK/gan" --count 2 --steps 5 --restarts 2 --blend poisson
expect_file "$WORK/gan/inpainting.png"
grep -q '"hole_psnr_db"' "$WORK/gan/inpainting.json" && pass || fail "inpainting.json"
expect_ok "inpaint a file with a PNG mask" "$DEEPGEN" inpaint "$WORK/cgan" --image "$WORK/s.png" --mask "$WORK/class3.png" \
  --steps 2 --restarts 10 --out "$WORK/inpainted.png"
expect_file "$WORK/inpainted.json"
expect_error "inpaint needs a gan" "needs a gan run" "$DEEPGEN" inpaint "$WORK/straight" --steps 1
expect_error "unknown mask" "--mask: expected a PNG file or one of center" "$DEEPGEN" inpaint "$WORK/gan" --mask circle --steps 1
expect_error "inpaint --image with --count" "--image excludes --count" "$DEEPGEN" inpaint "$WORK/gan" --image "$WORK/s.png" --count 2

# A folder of the user's own pictures (RGB, two classes), resized to 32x32 for both families.
mkdir -p "$WORK/own/shirts" "$WORK/own/shoes"
for i in 1 2 3 4 5 6; do cp "$WORK/s.png" "$WORK/own/shirts/$i.png"; cp "$WORK/gan/images/epoch_001_samples.png" "$WORK/own/shoes/$i.png"; done
expect_ok "dcgan on an image folder" "$DEEPGEN" train gan --data "$WORK/own" --image-size 32 --channels 3 --epochs 1 \
  --batch-size 4 --g-features 8 --d-features 8 --progress lines --threads 1 --out "$WORK/own-gan"
grep -q '"channels": 3' "$WORK/own-gan/config.json" && grep -q '"image_size": 32' "$WORK/own-gan/config.json" && pass || fail "image-folder dcgan config"
expect_ok "conv vae on an image folder" "$DEEPGEN" train vae --arch conv --data "$WORK/own" --image-size 32 --epochs 1 \
  --batch-size 4 --progress lines --threads 1 --out "$WORK/own-vae"
grep -q '11 train / 1 test' "$WORK/err" && pass || { fail "image-folder split (every 10th image is a test image: expected 11 train / 1 test)"; cat "$WORK/err"; }
expect_ok "reconstruct on an image folder" "$DEEPGEN" reconstruct "$WORK/own-vae"

# Bad input.
expect_error "unknown model" "valid models: vae, ae, pca, gan, classifier" "$DEEPGEN" train transformer
expect_error "non-numeric option" "--epochs: expected a number > 0, found 'many'" "$DEEPGEN" train vae --epochs many
expect_error "zero epochs" "--epochs: expected a number > 0, found 0" "$DEEPGEN" train vae --epochs 0
expect_error "negative threads" "--threads: expected a number >= 0, found -1" "$DEEPGEN" --threads -1 train vae
expect_error "negative sigma" "--sigma: expected a number > 0, found -3" "$DEEPGEN" train dncnn --sigma -3
expect_error "missing data folder" "/nonexistent/data" "$DEEPGEN" train vae --data /nonexistent/data --out "$WORK/x"
mkdir -p "$WORK/bad-idx"
printf 'not an idx file at all' | gzip >"$WORK/bad-idx/train-images-idx3-ubyte.gz"
for f in train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do cp /dev/null "$WORK/bad-idx/$f"; done
expect_error "wrong-magic IDX" "train-images-idx3-ubyte.gz: expected magic" "$DEEPGEN" train vae --data "$WORK/bad-idx" --out "$WORK/x"
# A character-level language model on a small text: train, resume exactly, eval, generate, curves.
for k in $(seq 1 40); do echo "the cat sat on the mat $k times"; done >"$WORK/text.txt"
LM=(--text "$WORK/text.txt" --hidden 24 --seq-len 16 --batch-size 8 --progress lines --threads 1)
expect_ok "train charlm" "$DEEPGEN" train charlm "${LM[@]}" --epochs 2 --cell gru --out "$WORK/lm"
grep -q '"bits_per_char"' "$WORK/lm/metrics.jsonl" && grep -q '"grad_norm"' "$WORK/lm/metrics.jsonl" && pass || fail "charlm metrics"
grep -q "char/s" "$WORK/err" && pass || fail "charlm progress counts characters"
expect_ok "train charlm 1 epoch" "$DEEPGEN" train charlm "${LM[@]}" --epochs 1 --cell gru --out "$WORK/lm-split"
expect_ok "resume charlm" "$DEEPGEN" train charlm --resume --epochs 2 --out "$WORK/lm-split" --threads 1 --progress lines
a=$(test_loss "$WORK/lm/metrics.jsonl" 2)
b=$(test_loss "$WORK/lm-split/metrics.jsonl" 2)
[ -n "$a" ] && [ "$a" = "$b" ] && pass || fail "resumed charlm ends at $b, uninterrupted at $a"
expect_ok "eval charlm" "$DEEPGEN" eval "$WORK/lm" --json
grep -q '"bits_per_char"' "$WORK/out" && pass || fail "eval charlm prints bits_per_char"
expect_ok "generate" "$DEEPGEN" generate "$WORK/lm" --prime "the " --length 40 --temperature 0.5 --top-k 5
grep -q "^the " "$WORK/out" && [ "$(head -c 200 "$WORK/out" | wc -c)" -ge 44 ] && pass || fail "generate output: $(cat "$WORK/out")"
expect_ok "generate to file" "$DEEPGEN" generate "$WORK/lm" --length 20 --temperature 0 --out "$WORK/gen.txt"
expect_file "$WORK/gen.txt"
expect_ok "curves" "$DEEPGEN" curves "$WORK/lm" "$WORK/lm-split" --metric bits_per_char --labels a,b --out "$WORK/curves.svg"
grep -q "<svg" "$WORK/curves.svg" && pass || fail "curves.svg"
expect_ok "cells" "$DEEPGEN" cells "$WORK/lm" --top 2 --unit 0,3
grep -q "position_in_line" "$WORK/out" && grep -q "<pre>" "$WORK/lm/cells.html" && grep -q '"correlation"' "$WORK/lm/cells.json" && pass || fail "cells output"
expect_error "cells bad unit" "--unit 999 does not exist" "$DEEPGEN" cells "$WORK/lm" --unit 999
expect_error "cells on a gan" "needs a charlm run" "$DEEPGEN" cells "$WORK/gan"
expect_error "curves unknown metric" "has no 'nope'" "$DEEPGEN" curves "$WORK/lm" --metric nope --out "$WORK/c.svg"
expect_error "generate unknown character" "not in the model's vocabulary" "$DEEPGEN" generate "$WORK/lm" --prime "QQ"
expect_error "generate on a gan" "needs a charlm run" "$DEEPGEN" generate "$WORK/gan"
expect_error "sample a charlm" "writes text" "$DEEPGEN" sample "$WORK/lm"
# Sequence classification on two fortune-style files, and its bag-of-characters baseline.
mkdir -p "$WORK/fort"
for k in $(seq 1 30); do printf 'the cat sat %d\n%%\n' "$k"; done >"$WORK/fort/cats"
for k in $(seq 1 30); do printf 'a dog ran far %d\n%%\n' "$k"; done >"$WORK/fort/dogs"
expect_ok "train seqclass" "$DEEPGEN" train seqclass --text "$WORK/fort" --cell gru --hidden 16 --epochs 2 --batch-size 8 --progress lines --threads 1 --out "$WORK/sc"
grep -q '"accuracy"' "$WORK/sc/metrics.jsonl" && grep -q "text/s" "$WORK/err" && pass || fail "seqclass metrics"
expect_ok "train seqclass 1 epoch" "$DEEPGEN" train seqclass --text "$WORK/fort" --cell gru --hidden 16 --epochs 1 --batch-size 8 --progress none --threads 1 --out "$WORK/sc-split"
expect_ok "resume seqclass" "$DEEPGEN" train seqclass --resume --epochs 2 --progress none --threads 1 --out "$WORK/sc-split"
a=$(test_loss "$WORK/sc/metrics.jsonl" 2)
b=$(test_loss "$WORK/sc-split/metrics.jsonl" 2)
[ -n "$a" ] && [ "$a" = "$b" ] && pass || fail "resumed seqclass ends at $b, uninterrupted at $a"
expect_ok "train seqclass bow" "$DEEPGEN" train seqclass --text "$WORK/fort" --arch bow --epochs 1 --progress none --threads 1 --out "$WORK/sc-bow"
expect_ok "eval seqclass" "$DEEPGEN" eval "$WORK/sc" --json
grep -q '"accuracy"' "$WORK/out" && pass || fail "eval seqclass prints accuracy"
expect_error "seqclass without documents" "holds no fortune files" "$DEEPGEN" train seqclass --text "$WORK/lm" --out "$WORK/x"
printf 'ab\xffcd\n' >"$WORK/latin1.txt"
expect_error "text not UTF-8" "$WORK/latin1.txt: not UTF-8" "$DEEPGEN" train charlm --text "$WORK/latin1.txt" --out "$WORK/x"
expect_error "missing text" "does not exist" "$DEEPGEN" train charlm --text "$WORK/none.txt" --out "$WORK/x"
expect_error "bad cell" "--cell" "$DEEPGEN" train charlm --text "$WORK/text.txt" --cell lstmx --out "$WORK/x"

# Restoration: natural-image folders of different sizes (VAE sample grids), DnCNN fixed and blind,
# denoise / upscale / inpaint-ae on whole images, eval --images tables, and their bad inputs.
mkdir -p "$WORK/nat/train" "$WORK/nat/test"
for n in 12 16 20; do "$DEEPGEN" sample "$WORK/straight" --n $n --seed $n --out "$WORK/nat/train/s$n.png" >/dev/null; done
for n in 6 9; do "$DEEPGEN" sample "$WORK/straight" --n $n --seed $n --out "$WORK/nat/test/s$n.png" >/dev/null; done
RTINY=(--data "$WORK/nat" --patches 64 --test-patches 8 --epochs 1 --batch-size 16 --progress lines --threads 1)
expect_ok "train dncnn" "$DEEPGEN" train dncnn --sigma 25 --depth 3 --width 4 --patch-size 24 "${RTINY[@]}" --out "$WORK/dn"
grep -q "patch/s" "$WORK/err" && grep -q '"psnr_noisy"' "$WORK/dn/metrics.jsonl" && pass || fail "dncnn progress and metrics"
expect_file "$WORK/dn/images/epoch_001_denoised.png"
expect_ok "denoise --add-noise" "$DEEPGEN" denoise "$WORK/dn" "$WORK/nat/test/s9.png" "$WORK/dn-out/d.png" --add-noise 25 --threads 1
expect_file "$WORK/dn-out/d.png"
expect_file "$WORK/dn-out/d.noisy.png"
grep -q "^PSNR .* -> " "$WORK/out" && pass || { fail "denoise prints PSNR before -> after"; cat "$WORK/out"; }
expect_ok "denoise tiled" "$DEEPGEN" denoise "$WORK/dn" "$WORK/dn-out/d.noisy.png" "$WORK/dn-out/t.png" --sigma 30 --tile 32 --threads 1
expect_file "$WORK/dn-out/t.png"
expect_error "denoise to a non-PNG name" "denoise OUTPUT: expected a file name ending in .png (the format written), found '$WORK/dn-out/t.jpg'" \
  "$DEEPGEN" denoise "$WORK/dn" "$WORK/dn-out/d.noisy.png" "$WORK/dn-out/t.jpg"
[ ! -e "$WORK/dn-out/t.jpg" ] && pass || fail "denoise wrote a PNG under a .jpg name"
expect_ok "eval dncnn --images" "$DEEPGEN" eval "$WORK/dn" --images "$WORK/nat/test" --sigma 15 25 --json --pictures "$WORK/dn-pics" --threads 1
grep -q '"denoise sigma 15"' "$WORK/out" && grep -q '"nlm"' "$WORK/out" && grep -q '"gaussian"' "$WORK/out" && pass \
  || { fail "eval dncnn tables"; cat "$WORK/out"; }
expect_file "$WORK/dn-pics/s9-sigma25.png"
expect_ok "train blind dncnn (bf16)" "$DEEPGEN" train dncnn --sigma-range 5 50 --depth 3 --width 4 --patch-size 24 --precision bf16 "${RTINY[@]}" --out "$WORK/dnb"
grep -q '"psnr_s50"' "$WORK/dnb/metrics.jsonl" && pass || fail "blind dncnn reports each sigma"
grep -q '"precision": "bf16"' "$WORK/dnb/config.json" && pass || fail "config.json records --precision"
grep -q '"sigma_sampling": "uniform"' "$WORK/dnb/config.json" && pass || fail "config.json records --sigma-sampling"
# --sigma-range is recorded as sigma_min and sigma_max: repeating it on --resume is the same run.
expect_ok "resume repeating --sigma-range" "$DEEPGEN" train dncnn --resume --sigma-range 5 50 --epochs 2 --out "$WORK/dnb" --threads 1
expect_error "resume with another --sigma-range" "--resume: --sigma-range cannot change a run" \
  "$DEEPGEN" train dncnn --resume --sigma-range 5 40 --epochs 3 --out "$WORK/dnb"
expect_ok "train dncnn --init dirac" "$DEEPGEN" train dncnn --sigma-range 5 50 --init dirac --depth 4 --width 4 --patch-size 24 "${RTINY[@]}" --out "$WORK/dnd"
grep -q '"init": "dirac"' "$WORK/dnd/config.json" && grep -q '"init": "kaiming"' "$WORK/dnb/config.json" && pass \
  || fail "config.json records --init (kaiming by default)"
expect_error "init unknown" "--init: expected kaiming or dirac, found 'orthogonal'" "$DEEPGEN" train dncnn --init orthogonal "${RTINY[@]}" --out "$WORK/x"
expect_error "precision fp16" "--precision: expected fp32 or bf16, found 'fp16'" "$DEEPGEN" train dncnn --precision fp16 "${RTINY[@]}" --out "$WORK/x"
expect_ok "eval blind (default table)" "$DEEPGEN" eval "$WORK/dnb" --threads 1
[ "$(grep -c '^denoise sigma' "$WORK/out")" -eq 3 ] && pass || { fail "blind eval: 3 sigma tables"; cat "$WORK/out"; }
expect_error "denoise --sigma with a blind model" "needs no noise level" "$DEEPGEN" denoise "$WORK/dnb" "$WORK/nat/test/s9.png" "$WORK/o.png" --sigma 25
expect_ok "train sr" "$DEEPGEN" train sr --scale 3 --depth 3 --width 4 --patch-size 24 --precision bf16 "${RTINY[@]}" --out "$WORK/sr"
expect_ok "upscale" "$DEEPGEN" upscale "$WORK/sr" "$WORK/nat/test/s6.png" "$WORK/up/u.png" --downscale-first --threads 1
for f in u.png u.bicubic.png u.low.png; do expect_file "$WORK/up/$f"; done
grep -q "bicubic PSNR" "$WORK/out" && pass || fail "upscale --downscale-first compares with bicubic"
expect_ok "eval sr" "$DEEPGEN" eval "$WORK/sr" --threads 1
grep -q "^upscale x3" "$WORK/out" && grep -q "bicubic" "$WORK/out" && pass || { fail "eval sr table"; cat "$WORK/out"; }
expect_ok "train inpaint-ae" "$DEEPGEN" train inpaint-ae --width 4 --patch-size 32 --mask mixed "${RTINY[@]}" --out "$WORK/ip"
expect_ok "inpaint-ae" "$DEEPGEN" inpaint-ae "$WORK/ip" --image "$WORK/nat/test/s9.png" --mask center --threads 1
expect_file "$WORK/ip/inpainted.png"
expect_file "$WORK/ip/inpainted.masked.png"
grep -q "mean fill" "$WORK/out" && pass || fail "inpaint-ae compares with mean fill"
expect_ok "eval inpaint-ae" "$DEEPGEN" eval "$WORK/ip" --mask random --crops 4 --json --threads 1
grep -q '"mean-fill"' "$WORK/out" && pass || { fail "eval inpaint-ae table"; cat "$WORK/out"; }
expect_error "inpaint-ae mask size" "must have the image's size" "$DEEPGEN" inpaint-ae "$WORK/ip" --image "$WORK/nat/test/s9.png" --mask "$WORK/nat/test/s6.png"
expect_error "denoise with a vae" "expected a 'dncnn' run" "$DEEPGEN" denoise "$WORK/straight" "$WORK/nat/test/s9.png" "$WORK/x.png"
expect_error "upscale with a dncnn" "expected a 'sr' run" "$DEEPGEN" upscale "$WORK/dn" "$WORK/nat/test/s9.png" "$WORK/x.png"
expect_error "denoise missing image" "no such image" "$DEEPGEN" denoise "$WORK/dn" "$WORK/none.png" "$WORK/x.png"
expect_error "eval --images on a vae" "restoration runs" "$DEEPGEN" eval "$WORK/straight" --images "$WORK/nat/test"
expect_error "dncnn data missing" "is not a folder" "$DEEPGEN" train dncnn --data "$WORK/none" --out "$WORK/x"
expect_ok "train dncnn RGB" "$DEEPGEN" train dncnn --channels 3 --depth 2 --width 2 --patch-size 16 "${RTINY[@]}" --out "$WORK/dn-rgb"
expect_ok "denoise RGB" "$DEEPGEN" denoise "$WORK/dn-rgb" "$WORK/nat/test/s9.png" "$WORK/dn-out/rgb.png" --threads 1
expect_file "$WORK/dn-out/rgb.png"
# A colour image through gray models stays in colour (PNG colour type 2 = RGB, 0 = gray).
png_colour_type() { python3 -c "import sys; print(open(sys.argv[1], 'rb').read()[25])" "$1"; }
[ "$(png_colour_type "$WORK/dn-out/rgb.png")" = 2 ] && pass || fail "the RGB model writes RGB"
expect_ok "denoise colour with a gray model" "$DEEPGEN" denoise "$WORK/dn" "$WORK/dn-out/rgb.png" "$WORK/dn-out/c.png" --threads 1
grep -q "colour, each channel by the gray model" "$WORK/out" && [ "$(png_colour_type "$WORK/dn-out/c.png")" = 2 ] && pass \
  || { fail "gray denoiser on a colour image"; cat "$WORK/out"; }
expect_ok "upscale colour with a gray model" "$DEEPGEN" upscale "$WORK/sr" "$WORK/dn-out/rgb.png" "$WORK/up/c.png" --threads 1
grep -q "colour: the luminance by the gray model" "$WORK/out" && [ "$(png_colour_type "$WORK/up/c.png")" = 2 ] && pass \
  || { fail "gray upscaler on a colour image"; cat "$WORK/out"; }
expect_error "sigma and sigma range" "give one" "$DEEPGEN" train dncnn --sigma 15 --sigma-range 5 50 "${RTINY[@]}" --out "$WORK/x"
expect_error "eval --sigma on sr" "--sigma is for dncnn" "$DEEPGEN" eval "$WORK/sr" --sigma 25
expect_error "eval --mask on dncnn" "--mask is for inpaint-ae runs" "$DEEPGEN" eval "$WORK/dn" --mask center
expect_ok "eval dncnn --centre-crop" "$DEEPGEN" eval "$WORK/dn" --images "$WORK/nat/test" --centre-crop 20 --sigma 25 --json --threads 1
grep -q '"centre_crop": 20' "$WORK/out" && pass || { fail "eval --centre-crop recorded"; cat "$WORK/out"; }
expect_error "eval --centre-crop on inpaint-ae" "--centre-crop is for dncnn and sr runs" "$DEEPGEN" eval "$WORK/ip" --centre-crop 64
expect_error "eval --pictures on a vae" "holds a 'vae' model. Drop --pictures" "$DEEPGEN" eval "$WORK/straight" --pictures "$WORK/x"
expect_error "eval --samples without --classifier" "--samples is for scoring" "$DEEPGEN" eval "$WORK/straight" --samples 50
expect_error "eval --ensemble with --sigma" "--ensemble evaluates classifier runs" "$DEEPGEN" eval --ensemble "$WORK/mlp" "$WORK/lenet" --sigma 15
expect_error "eval --images and --data" "not both" "$DEEPGEN" eval "$WORK/dn" --images "$WORK/nat/test" --data "$WORK/nat"
expect_error "sigma range reversed" "--sigma-range" "$DEEPGEN" train dncnn --sigma-range 50 5 "${RTINY[@]}" --out "$WORK/x"
expect_error "sampling without a range" "--sigma-sampling is for a blind model" "$DEEPGEN" train dncnn --sigma 15 --sigma-sampling log-uniform "${RTINY[@]}" --out "$WORK/x"
expect_error "log-uniform from 0" "needs a positive --sigma-range MIN" "$DEEPGEN" train dncnn --sigma-range 0 50 --sigma-sampling log-uniform "${RTINY[@]}" --out "$WORK/x"
expect_error "sr patch not a multiple" "must be a multiple of the scale" "$DEEPGEN" train sr --scale 3 --patch-size 25 --depth 2 --width 2 "${RTINY[@]}" --out "$WORK/x"
expect_error "patch larger than images" "smaller than the" "$DEEPGEN" train dncnn --patch-size 500 "${RTINY[@]}" --out "$WORK/x"

mkdir -p "$WORK/trunc"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  zcat "/usr/share/datasets/fashion-mnist/$f.gz" 2>/dev/null | head -c 20000 >"$WORK/trunc/$f"
done
expect_error "truncated IDX" "is truncated" "$DEEPGEN" train vae --data "$WORK/trunc" --out "$WORK/x"
mkdir -p "$WORK/pics"
printf 'garbage' >"$WORK/pics/a.png"; cp "$WORK/s.png" "$WORK/pics/b.png"
expect_error "unreadable image" "$WORK/pics/a.png" "$DEEPGEN" train gan --data "$WORK/pics" --out "$WORK/x"
printf 'garbage' >"$WORK/garbage.pt"
expect_error "garbage checkpoint" "is not a deepgen checkpoint" "$DEEPGEN" sample "$WORK/garbage.pt"
expect_error "missing checkpoint" "does not exist" "$DEEPGEN" eval "$WORK/nothing-here"
expect_error "wrong-kind checkpoint" "needs an autoencoder" "$DEEPGEN" reconstruct "$WORK/gan"
expect_error "resume wrong kind" "holds a 'vae' model" "$DEEPGEN" train gan --resume --epochs 3 --out "$WORK/straight"
expect_error "overwrite a run" "already holds a checkpoint" "$DEEPGEN" train vae --out "$WORK/straight"
expect_error "resume finished run" "already completed 2 epochs" "$DEEPGEN" train vae --resume --epochs 2 --out "$WORK/straight"
expect_error "ae option of another variant" "drop --sparsity" "$DEEPGEN" train ae --sparsity 0.1 --out "$WORK/ignored"
expect_error "depth of the fixed LeNet-5" "only used with --arch mlp, vgg or resnet" "$DEEPGEN" train classifier --arch lenet5 --depth 3 --out "$WORK/ignored"
expect_error "dropout on one recurrent layer" "acts between stacked layers" "$DEEPGEN" train charlm --layers 1 --dropout 0.3 --out "$WORK/ignored"
expect_error "image augmentation for text" "train charlm --augment: not used by charlm" "$DEEPGEN" train charlm --augment flip --out "$WORK/ignored"
expect_error "image size of a patch model" "drop --image-size" "$DEEPGEN" train dncnn --image-size 32 --out "$WORK/ignored"
expect_error "momentum for Adam" "--momentum: the optimizer is adam" "$DEEPGEN" train vae --momentum 0.5 --out "$WORK/ignored"
expect_error "checkpoint cadence" "--checkpoint-every: expected a step count (500) or a duration (30s, 10m, 2h), found '10x'" "$DEEPGEN" train vae --checkpoint-every 10x --out "$WORK/ignored"
expect_error "step decay without the step schedule" "add --schedule step or drop --gamma" "$DEEPGEN" train vae --gamma 0.5 --out "$WORK/ignored"
expect_error "gan option of the other arch" "train gan --g-features" "$DEEPGEN" train gan --arch mlp --g-features 8 --out "$WORK/ignored"
[ ! -e "$WORK/ignored" ] && pass || fail "a rejected train command left $WORK/ignored behind"
expect_error "resume with a new learning rate" "--resume: --lr cannot change a run" "$DEEPGEN" train vae --resume --epochs 3 --lr 0.01 --out "$WORK/straight"
expect_error "resume with a new model option" "drop --beta" "$DEEPGEN" train vae --resume --epochs 3 --beta 4 --out "$WORK/straight"
command -v nvidia-smi >/dev/null || expect_error "cuda without a GPU" "--device" "$DEEPGEN" --device cuda train vae --out "$WORK/x" "${TINY[@]}"
# Names: a misspelled command, model or option gets a suggestion, and another model's option names the
# model that has it; re-running the command that started a run, with --resume added, is accepted.
expect_error "misspelled command" "did you mean 'train'" "$DEEPGEN" trian vae
expect_error "misspelled model" "did you mean 'vae'" "$DEEPGEN" train vea
expect_error "misspelled option" "did you mean --latent-dim" "$DEEPGEN" train vae --latent-dimm 3 --out "$WORK/ignored"
expect_error "another model's option" "not an option of vae; it is one of ae" "$DEEPGEN" train vae --sparsity 0.1 --out "$WORK/ignored"
cp -r "$WORK/split" "$WORK/again"
expect_ok "resume with the run's own options" "$DEEPGEN" train vae "${TINY[@]}" --epochs 3 --hidden 64 --resume --log-every 1 --out "$WORK/again"
[ "$(grep -c '"split":"test"' "$WORK/again/metrics.jsonl")" -eq 3 ] && pass || fail "resume with its own options: 3 test lines"
expect_error "resume with another batch size" "--resume: --batch-size cannot change" "$DEEPGEN" train vae --resume --epochs 4 --batch-size 16 --out "$WORK/again"
[ ! -e "$WORK/ignored" ] && pass || fail "a rejected train command left $WORK/ignored behind"
echo "bogus = 1" >"$WORK/bad.toml"
expect_error "unknown config key" "bogus" "$DEEPGEN" --config "$WORK/bad.toml" train vae

# Image-to-image translation: pix2pix on Fashion-MNIST edge maps, translate any size, sample, bad layouts.
P2P=(--train-limit 64 --test-limit 16 --batch-size 16 --progress lines --threads 1 --g-features 4 --d-features 4)
expect_ok "train pix2pix" "$DEEPGEN" train pix2pix "${P2P[@]}" --epochs 1 --out "$WORK/p2p"
expect_file "$WORK/p2p/images/epoch_001_translations.png"
expect_ok "translate a 122-pixel grid" "$DEEPGEN" translate "$WORK/p2p" "$WORK/s.png" "$WORK/t.png"
expect_file "$WORK/t.png"
expect_ok "sample a translation run" "$DEEPGEN" sample "$WORK/p2p" --n 8 --out "$WORK/p2p-sample.png"
expect_file "$WORK/p2p-sample.png"
expect_error "pix2pix translates one way" "--direction b2a: a pix2pix run translates one way" "$DEEPGEN" translate "$WORK/p2p" "$WORK/s.png" "$WORK/t2.png" --direction b2a
expect_error "translate with a vae" "holds a 'vae' model; expected a 'colorize, pix2pix or cyclegan' run" "$DEEPGEN" translate "$WORK/straight" "$WORK/s.png" "$WORK/t2.png"
expect_error "gan loss of the L1-only ablation" "train pix2pix --gan-loss: only used with the GAN" "$DEEPGEN" train pix2pix --no-gan --gan-loss lsgan --out "$WORK/x"
expect_error "pix2pix at 48 px" "power-of-two side from 32 to 256, found 48" "$DEEPGEN" train pix2pix "${P2P[@]}" --image-size 48 --out "$WORK/x"
expect_error "colorize on gray pictures" "has no colour image in its train split" "$DEEPGEN" train colorize --data "$WORK/nat" --out "$WORK/x"
mkdir -p "$WORK/sbs/train" "$WORK/sbs/test"
{ printf 'P5\n64 32\n255\n'; head -c 2048 /dev/zero; } >"$WORK/sbs/train/a.pgm"
{ printf 'P5\n65 32\n255\n'; head -c 2080 /dev/zero; } >"$WORK/sbs/train/odd.pgm"
cp "$WORK/sbs/train/a.pgm" "$WORK/sbs/test/a.pgm"
expect_error "paired file of odd width" "paired image $WORK/sbs/train/odd.pgm: A and B side by side need an even width, found 65x32" "$DEEPGEN" train pix2pix --pairs side-by-side --data "$WORK/sbs" --out "$WORK/x"
rm -r "$WORK/sbs/test"
expect_error "paired layout without test/" "$WORK/sbs/test (or val/) does not exist" "$DEEPGEN" train pix2pix --pairs side-by-side --data "$WORK/sbs" --out "$WORK/x"

# CycleGAN: sneakers <-> ankle boots, both directions, sample, eval --classifier, the unpaired layout's errors.
CYC=(--train-limit 32 --test-limit 16 --batch-size 8 --progress lines --threads 1 --g-features 4 --d-features 4 --blocks 1 --d-layers 2)
expect_ok "train cyclegan" "$DEEPGEN" train cyclegan "${CYC[@]}" --epochs 2 --schedule linear --out "$WORK/cyc"
expect_file "$WORK/cyc/images/epoch_002_translations.png"
grep -q '"cycle_psnr_a"' "$WORK/cyc/metrics.jsonl" && pass || fail "cyclegan logs no cycle_psnr_a"
expect_ok "translate b2a" "$DEEPGEN" translate "$WORK/cyc" "$WORK/s.png" "$WORK/t-b2a.png" --direction b2a
expect_file "$WORK/t-b2a.png"
expect_ok "sample a cyclegan run" "$DEEPGEN" sample "$WORK/cyc" --out "$WORK/cyc-sample.png"
"$DEEPGEN" eval "$WORK/cyc" --classifier "$WORK/lenet" --json --threads 1 >"$WORK/cyc-eval.json" 2>"$WORK/cyc-eval.err" &&
  python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["translation"]; assert t["a2b"]["images"] == 16 and 0 <= t["b2a"]["target_share"] <= 1, t' "$WORK/cyc-eval.json" &&
  pass || fail "eval cyclegan --classifier: $(cat "$WORK/cyc-eval.err")"
expect_error "decay start past the end" "--decay-start: the linear decay starts after 5 epochs" "$DEEPGEN" train cyclegan "${CYC[@]}" --epochs 2 --schedule linear --decay-start 5 --out "$WORK/x"
expect_error "decay start without linear" "--decay-start: a setting of --schedule linear" "$DEEPGEN" train cyclegan "${CYC[@]}" --decay-start 5 --out "$WORK/x"
expect_error "class of the folders layout" "train cyclegan --class-a: only used with --domains classes" "$DEEPGEN" train cyclegan --domains folders --class-a 3 --data "$WORK/x" --out "$WORK/x"
expect_error "cyclegan class out of range" "--class-b: expected a class of .* from 0 to 9, found 12" "$DEEPGEN" train cyclegan "${CYC[@]}" --class-b 12 --out "$WORK/x"
mkdir -p "$WORK/unpaired/trainA" "$WORK/unpaired/trainB" "$WORK/unpaired/testA"
for d in trainA trainB testA; do cp "$WORK/s.png" "$WORK/unpaired/$d/x.png"; done
expect_error "unpaired layout without testB" "$WORK/unpaired/testB does not exist; expected CycleGAN's layout" "$DEEPGEN" train cyclegan --domains folders --data "$WORK/unpaired" --out "$WORK/x"
[ ! -e "$WORK/x" ] && pass || fail "a rejected train command left $WORK/x behind"

echo "cli: $passes passed, $failures failed"
[ $failures -eq 0 ]
