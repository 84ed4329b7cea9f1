#!/usr/bin/env bash
# The model zoo end to end, on a scratch zoo ($DEEPGEN_ZOO): `zoo add` writes a weights-only entry and
# its manifest (sizes, SHA-256, headline metric); `zoo` lists it; `zoo check` reproduces the metric; every
# command takes the entry as a run (zoo/NAME) and writes its outputs outside the zoo; a changed or
# truncated file is one line naming it; a zoo entry cannot be resumed; `--init-from` fine-tunes from it
# and refuses another model or other architecture options; `denoise IN OUT` takes the zoo's default.
source "$(dirname "$0")/script_lib.sh"

json_value() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

TINY=(--train-limit 256 --test-limit 64 --batch-size 32 --progress none --no-report --threads 1)
export DEEPGEN_ZOO="$WORK/zoo"

expect_ok "train ae" "$DEEPGEN" train ae "${TINY[@]}" --epochs 2 --out "$WORK/ae"
expect_ok "zoo add" "$DEEPGEN" zoo add "$WORK/ae" tiny-ae --description "A tiny autoencoder" --test-examples 32
for f in checkpoint.pt config.json config.toml metrics.jsonl reconstructions.png; do
  [ -s "$WORK/zoo/tiny-ae/$f" ] && pass || fail "zoo entry lacks $f"
done
# Weights only: the entry's checkpoint is smaller than the run's (Adam keeps two moments per weight).
run_bytes=$(stat -c %s "$WORK/ae/checkpoint.pt")
entry_bytes=$(stat -c %s "$WORK/zoo/tiny-ae/checkpoint.pt")
[ "$entry_bytes" -lt $((run_bytes / 2)) ] && pass || fail "weights-only checkpoint $entry_bytes bytes, run's $run_bytes"
[ "$(json_value "$WORK/zoo/zoo.json" "d['entries'][0]['files']['checkpoint.pt']['sha256']")" = \
  "$(sha256sum "$WORK/zoo/tiny-ae/checkpoint.pt" | cut -d' ' -f1)" ] && pass || fail "manifest sha256"
[ "$(json_value "$WORK/zoo/zoo.json" "d['entries'][0]['headline']['test_examples']")" = 32 ] && pass || fail "headline subset"

expect_ok "zoo list" "$DEEPGEN" zoo
grep -q "tiny-ae *ae *loss [0-9.]* *A tiny autoencoder" "$WORK/out" && pass || { fail "zoo list line"; cat "$WORK/out"; }
expect_ok "zoo check" "$DEEPGEN" zoo check
grep -q "1 of 1 entries reproduce" "$WORK/out" && pass || { fail "zoo check output"; cat "$WORK/out"; }

# The entry as a run, by its zoo name from another folder; outputs go to the current folder.
mkdir -p "$WORK/elsewhere"
(cd "$WORK/elsewhere" && "$DEEPGEN" reconstruct zoo/tiny-ae --threads 1 >"$WORK/out" 2>"$WORK/err") && pass \
  || { fail "reconstruct zoo/tiny-ae"; cat "$WORK/err"; }
[ -s "$WORK/elsewhere/tiny-ae-reconstructions.png" ] && pass || fail "default output beside the command"
(cd "$WORK/elsewhere" && "$DEEPGEN" eval zoo/tiny-ae --threads 1 >"$WORK/out" 2>"$WORK/err") && pass \
  || { fail "eval zoo/tiny-ae"; cat "$WORK/err"; }
[ ! -e "$WORK/zoo/tiny-ae/eval.json" ] && [ ! -e "$WORK/zoo/tiny-ae/samples.png" ] && pass || fail "eval wrote into the zoo"
expect_ok "zoo check after use" "$DEEPGEN" zoo check tiny-ae

# Damage: one changed byte, then a truncated file.
cp -r "$WORK/zoo" "$WORK/zoo-good"
python3 - "$WORK/zoo/tiny-ae/checkpoint.pt" <<'EOF'
import sys
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
data[len(data) // 2] ^= 0x01
open(path, "wb").write(bytes(data))
EOF
expect_error "changed byte" "checkpoint.pt has SHA-256" "$DEEPGEN" eval zoo/tiny-ae
grep -q "scripts/zoo.sh tiny-ae" "$WORK/err" && pass || fail "the error says how to restore"
expect_error "zoo check of a damaged entry" "zoo check: 1 entries do not reproduce" "$DEEPGEN" zoo check
rm -rf "$WORK/zoo" && cp -r "$WORK/zoo-good" "$WORK/zoo"
truncate -s 1000 "$WORK/zoo/tiny-ae/config.json"
expect_error "truncated file" "config.json holds 1000 bytes" "$DEEPGEN" reconstruct zoo/tiny-ae
rm -rf "$WORK/zoo" && mv "$WORK/zoo-good" "$WORK/zoo"
echo '{"format": "deepgen-zoo", "entries": [' >"$WORK/bad.json"
DEEPGEN_ZOO="$WORK/badzoo" expect_ok "a missing zoo lists nothing" "$DEEPGEN" zoo
mkdir -p "$WORK/badzoo" && cp "$WORK/bad.json" "$WORK/badzoo/zoo.json"
DEEPGEN_ZOO="$WORK/badzoo" expect_error "broken manifest" "zoo.json is not valid JSON" "$DEEPGEN" zoo

# Resume and fine-tuning.
expect_error "resume a zoo entry" "holds weights only" "$DEEPGEN" train ae --resume --out "$WORK/zoo/tiny-ae" --epochs 5
expect_ok "init-from" "$DEEPGEN" train ae "${TINY[@]}" --epochs 1 --init-from zoo/tiny-ae --out "$WORK/tuned"
[ "$(json_value "$WORK/tuned/config.json" "d['init_from']['epochs']")" = 2 ] && pass || fail "config.json records init_from"
expect_error "init-from another model" "holds a ae model" "$DEEPGEN" train vae "${TINY[@]}" --init-from zoo/tiny-ae --out "$WORK/x1"
expect_error "init-from other shapes" "code_size 32 there, 16 here" "$DEEPGEN" train ae "${TINY[@]}" --code-size 16 \
  --init-from zoo/tiny-ae --out "$WORK/x2"
expect_error "init-from nothing" "does not exist" "$DEEPGEN" train ae "${TINY[@]}" --init-from "$WORK/none" --out "$WORK/x3"
expect_error "init-from with resume" "excludes" "$DEEPGEN" train ae --resume --init-from zoo/tiny-ae --out "$WORK/tuned"

# A fine-tuned entry keeps every stage's recipe, even when it replaces the entry it started from, and
# scripts/zoo.sh retrains the chain stage by stage (skipping finished stages when run again).
cp "$WORK/zoo/tiny-ae/config.toml" "$WORK/stage1.toml"
expect_ok "zoo add a fine-tuned run over its parent" "$DEEPGEN" zoo add "$WORK/tuned" tiny-ae --description "A tiny autoencoder" \
  --test-examples 32
cmp -s "$WORK/stage1.toml" "$WORK/zoo/tiny-ae/stage1.toml" && pass || fail "stage1.toml is the parent's recipe"
[ "$(json_value "$WORK/zoo/zoo.json" "[e for e in d['entries'] if e['name'] == 'tiny-ae'][0]['stages'][0]['epochs']")" = 2 ] \
  && pass || fail "stages record the parent's epochs"
json_value "$WORK/zoo/zoo.json" "[e for e in d['entries'] if e['name'] == 'tiny-ae'][0]['command']" >"$WORK/command"
grep -q "stage1.toml --out runs/zoo/tiny-ae.stage1 && deepgen train ae --config zoo/tiny-ae/config.toml --init-from runs/zoo/tiny-ae.stage1" \
  "$WORK/command" && pass || { fail "chained command"; cat "$WORK/command"; }
# Added again, the run's chain would pass through the entry it has just replaced: refused, entry intact.
expect_error "zoo add over a changed parent" "whose checkpoint has changed since" "$DEEPGEN" zoo add "$WORK/tuned" tiny-ae \
  --description "A tiny autoencoder" --test-examples 32
cmp -s "$WORK/stage1.toml" "$WORK/zoo/tiny-ae/stage1.toml" && [ ! -e "$WORK/zoo/tiny-ae/stage2.toml" ] && pass \
  || fail "a refused zoo add leaves the entry as it was"
expect_ok "fine-tune the fine-tuned entry" "$DEEPGEN" train ae "${TINY[@]}" --epochs 1 --init-from zoo/tiny-ae --out "$WORK/tuned2"
expect_ok "zoo add a third stage" "$DEEPGEN" zoo add "$WORK/tuned2" tiny-ae3 --description "A tiny autoencoder, 3 stages" \
  --test-examples 32
[ -s "$WORK/zoo/tiny-ae3/stage2.toml" ] && [ ! -e "$WORK/zoo/tiny-ae3/stage3.toml" ] && pass || fail "three stages"
expect_ok "zoo check of staged entries" "$DEEPGEN" zoo check tiny-ae tiny-ae3
cp -r "$WORK/ae" "$WORK/base"
expect_ok "fine-tune a run" "$DEEPGEN" train ae "${TINY[@]}" --epochs 1 --init-from "$WORK/base" --out "$WORK/orphan"
rm -rf "$WORK/base"
expect_error "a stage that is gone" "fine-tuned from $WORK/base (--init-from), which no longer exists" "$DEEPGEN" zoo add \
  "$WORK/orphan" tiny-x --description x --test-examples 32
[ ! -e "$WORK/zoo/tiny-x" ] && pass || fail "a refused zoo add leaves no folder"
ZOO_SH="$(cd "$(dirname "$0")/.." && pwd)/scripts/zoo.sh"
DEEPGEN="$DEEPGEN" DEEPGEN_RUNS="$WORK/zruns" THREADS=1 expect_ok "zoo.sh retrains a staged entry" bash "$ZOO_SH" tiny-ae3
for k in 1 2; do [ -s "$WORK/zruns/tiny-ae3.stage$k/checkpoint.pt" ] && pass || fail "zoo.sh stage $k"; done
[ "$(json_value "$WORK/zruns/tiny-ae3/config.json" "d['init_from']['run']")" = "$WORK/zruns/tiny-ae3.stage2" ] && pass \
  || fail "the last stage starts from stage 2"
[ "$(json_value "$WORK/zruns/tiny-ae3.stage2/config.json" "d['trainer']['epochs']")" = 1 ] && pass || fail "stage 2 epochs"
# The retrained stage 1 records the same recipe (only where it went and how often it saved differ).
recipe() { grep -v -e '^train.out=' -e '^train.checkpoint-every=' -e '^threads=' "$1"; }
[ "$(recipe "$WORK/stage1.toml")" = "$(recipe "$WORK/zoo/tiny-ae3/stage1.toml")" ] && pass \
  || { fail "retrained entry keeps stage 1's recipe"; diff "$WORK/stage1.toml" "$WORK/zoo/tiny-ae3/stage1.toml"; }
DEEPGEN="$DEEPGEN" DEEPGEN_RUNS="$WORK/zruns" THREADS=1 expect_ok "zoo.sh again: nothing left to train" bash "$ZOO_SH" tiny-ae3
[ "$(grep -c "has its" "$WORK/out")" = 3 ] && pass || { fail "finished stages skipped"; cat "$WORK/out"; }

# A generator's headline is a sample-quality measure scored by a zoo classifier, reproduced by zoo check.
expect_ok "train gan" "$DEEPGEN" train gan --arch mlp --hidden 32 "${TINY[@]}" --epochs 1 --out "$WORK/gan"
expect_ok "train classifier" "$DEEPGEN" train classifier --arch mlp "${TINY[@]}" --epochs 1 --out "$WORK/clf"
expect_ok "zoo add classifier" "$DEEPGEN" zoo add "$WORK/clf" tiny-clf --description "A tiny classifier" --metric accuracy \
  --higher-is-better
expect_ok "zoo add gan --classifier" "$DEEPGEN" zoo add "$WORK/gan" tiny-gan --description "A tiny GAN" \
  --classifier zoo/tiny-clf --samples 200 --metric frechet_distance
grep -q "frechet_distance [0-9.]* on 200 samples scored by zoo/tiny-clf" "$WORK/out" && pass || { fail "zoo add gan output"; cat "$WORK/out"; }
[ "$(json_value "$WORK/zoo/zoo.json" "[e for e in d['entries'] if e['name'] == 'tiny-gan'][0]['headline']['samples']")" = 200 ] \
  && pass || fail "headline records the samples"
# The same measure as `deepgen eval --classifier --samples 200` (seed 0).
expect_ok "eval gan --classifier" "$DEEPGEN" eval zoo/tiny-gan --classifier zoo/tiny-clf --samples 200 --json --threads 1
python3 - "$WORK/zoo/zoo.json" "$WORK/out" <<'EOF' && pass || fail "zoo headline = eval's Frechet distance"
import json, sys
entry = [e for e in json.load(open(sys.argv[1]))["entries"] if e["name"] == "tiny-gan"][0]
text = open(sys.argv[2]).read()
evaluated = json.loads(text[text.index("{"):])["generator"]["frechet_distance"]
assert abs(entry["headline"]["value"] - evaluated) <= 1e-6 * max(1, evaluated), (entry["headline"], evaluated)
EOF
expect_ok "zoo check gan" "$DEEPGEN" zoo check tiny-gan
grep -q "tiny-gan .*frechet_distance recorded .* on 200 samples scored by zoo/tiny-clf: ok" "$WORK/out" && pass \
  || { fail "zoo check gan output"; cat "$WORK/out"; }
expect_error "zoo add --classifier not a classifier" "holds a 'gan' model; expected a" "$DEEPGEN" zoo add "$WORK/gan" \
  tiny-gan2 --description "x" --classifier "$WORK/gan" --samples 50 --metric frechet_distance
expect_error "zoo add --classifier, unknown metric" "has no test metric 'fid'" "$DEEPGEN" zoo add "$WORK/gan" tiny-gan2 \
  --description "x" --classifier zoo/tiny-clf --samples 50 --metric fid
# A changed headline is caught.
python3 - "$WORK/zoo/zoo.json" <<'EOF'
import json, sys
manifest = json.load(open(sys.argv[1]))
for e in manifest["entries"]:
    if e["name"] == "tiny-gan":
        e["headline"]["value"] += 1.0
json.dump(manifest, open(sys.argv[1], "w"), indent=2)
EOF
expect_error "zoo check, wrong generator headline" "1 entries do not reproduce" "$DEEPGEN" zoo check tiny-gan
grep -q "tiny-gan .*DIFFERS" "$WORK/out" && pass || { fail "DIFFERS line"; cat "$WORK/out"; }

# denoise IN OUT: the zoo's default denoiser, gray or colour by the input.
mkdir -p "$WORK/nat/train" "$WORK/nat/test"
for n in 12 16 20; do "$DEEPGEN" reconstruct "$WORK/ae" --out "$WORK/nat/train/s$n.png" >/dev/null 2>&1; done
for n in 6 9; do "$DEEPGEN" reconstruct "$WORK/ae" --out "$WORK/nat/test/s$n.png" >/dev/null 2>&1; done
expect_error "no default denoiser" "has no default model for denoise" "$DEEPGEN" denoise "$WORK/nat/test/s9.png" "$WORK/d.png"
expect_ok "train dncnn" "$DEEPGEN" train dncnn --sigma-range 5 50 --depth 3 --width 4 --patch-size 24 --data "$WORK/nat" \
  --patches 64 --test-patches 8 --epochs 1 --batch-size 16 --progress none --no-report --threads 1 --out "$WORK/dn"
expect_ok "zoo add dncnn" "$DEEPGEN" zoo add "$WORK/dn" tiny-dncnn --description "A tiny blind DnCNN" --default denoise-gray
expect_ok "denoise IN OUT" "$DEEPGEN" denoise "$WORK/nat/test/s9.png" "$WORK/d.png" --threads 1
grep -q "model zoo/tiny-dncnn" "$WORK/out" && [ -s "$WORK/d.png" ] && pass || { fail "denoise used the zoo's model"; cat "$WORK/out"; }
# A colour model for denoise-rgb: a colour photo goes to it, a gray one still to the gray model.
expect_ok "train colour dncnn" "$DEEPGEN" train dncnn --sigma-range 5 50 --depth 3 --width 4 --patch-size 24 --data "$WORK/nat" \
  --channels 3 --patches 64 --test-patches 8 --epochs 1 --batch-size 16 --progress none --no-report --threads 1 --out "$WORK/dn-rgb"
expect_ok "a colour picture" "$DEEPGEN" denoise "$WORK/dn-rgb" "$WORK/nat/test/s9.png" "$WORK/colour.png" --threads 1
expect_ok "zoo add colour dncnn" "$DEEPGEN" zoo add "$WORK/dn-rgb" tiny-dncnn-rgb --description "A tiny colour DnCNN" --default denoise-rgb
expect_ok "denoise IN OUT, colour" "$DEEPGEN" denoise "$WORK/colour.png" "$WORK/dc.png" --threads 1
grep -q "model zoo/tiny-dncnn-rgb" "$WORK/out" && [ -s "$WORK/dc.png" ] && pass || { fail "denoise used the colour model"; cat "$WORK/out"; }
expect_ok "denoise IN OUT, gray again" "$DEEPGEN" denoise "$WORK/nat/test/s9.png" "$WORK/d.png" --threads 1
grep -q "model zoo/tiny-dncnn (" "$WORK/out" && pass || { fail "a gray image went to the colour model"; cat "$WORK/out"; }
# Its data folder lies beside the zoo (as data/natural lies beside the sources' zoo/): recorded relative, so
# the entry evaluates from any folder and in any clone; one elsewhere is refused as --eval-data.
[ "$(json_value "$WORK/zoo/tiny-dncnn/config.json" "d['data']['dir']")" = nat ] && pass || fail "relative data folder"
(cd "$WORK/elsewhere" && "$DEEPGEN" eval zoo/tiny-dncnn --sigma 25 --threads 1 >"$WORK/out" 2>"$WORK/err") && pass \
  || { fail "eval zoo/tiny-dncnn from elsewhere"; cat "$WORK/err"; }
grep -q "s6.png" "$WORK/out" && pass || { fail "evaluated the test split beside the zoo"; cat "$WORK/out"; }
cp -r "$WORK/nat" "$WORK/nat2"
expect_ok "zoo add --eval-data" "$DEEPGEN" zoo add "$WORK/dn" tiny-dncnn --description "A tiny blind DnCNN" --default denoise-gray \
  --eval-data nat2
[ "$(json_value "$WORK/zoo/tiny-dncnn/config.json" "d['data']['dir']")" = nat2 ] && pass || fail "--eval-data recorded"
expect_ok "zoo check --eval-data" "$DEEPGEN" zoo check tiny-dncnn
expect_error "zoo add --eval-data missing" "--eval-data: $WORK/none is not a folder" "$DEEPGEN" zoo add "$WORK/dn" tiny-dncnn \
  --description "x" --eval-data none
[ -s "$WORK/zoo/tiny-dncnn/checkpoint.pt" ] && pass || fail "a refused zoo add keeps the entry"
expect_error "denoise with four arguments" "At Most 3 required but received 4" "$DEEPGEN" denoise a b c d
expect_error "upscale without an sr default" "has no default model for upscale-x3" "$DEEPGEN" upscale "$WORK/nat/test/s9.png" "$WORK/u.png" --scale 3

echo "zoo_test: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
