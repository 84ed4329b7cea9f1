#!/usr/bin/env bash
# Retrains a model-zoo entry from scratch with its recorded command: scripts/zoo.sh NAME
# Trains into runs/zoo/NAME with a checkpoint every 10 minutes; run it again after an interruption (or
# Ctrl-C) and it continues from there. When the run has all its epochs, it replaces zoo/NAME (deepgen zoo
# add with the entry's description, defaults and headline metric) and prints the old and new headline.
# A fine-tuned entry is retrained stage by stage (its stages.json: stage1.toml, ..., then config.toml),
# each stage in runs/zoo/NAME.stageK and started from the one before (--init-from).
# Environment: DEEPGEN (default build/deepgen), DEEPGEN_ZOO (default zoo), DEEPGEN_RUNS (where the runs go,
# default runs/zoo), THREADS (default all cores).
set -euo pipefail
name=${1:?usage: scripts/zoo.sh NAME   (the names: deepgen zoo)}
cd "$(dirname "$0")/.."
deepgen=${DEEPGEN:-build/deepgen}
zoo=${DEEPGEN_ZOO:-zoo}
[ -x "$deepgen" ] || { echo "zoo.sh: $deepgen not found; build it first (make cli)"; exit 2; }
field() {  # field EXPRESSION: a field of the entry's manifest object, "" when absent
  python3 - "$zoo/zoo.json" "$name" "$1" <<'PY'
import json, sys
entries = [e for e in json.load(open(sys.argv[1]))["entries"] if e["name"] == sys.argv[2]]
if not entries:
    sys.exit("zoo.sh: no entry '%s' in %s" % (sys.argv[2], sys.argv[1]))
value = eval(sys.argv[3], {}, {"e": entries[0]})
print(" ".join(value) if isinstance(value, list) else value)
PY
}
kind=$(field 'e["kind"]')
epochs=$(field 'e["epochs"]')
runs=${DEEPGEN_RUNS:-runs/zoo}
out=$runs/$name
mkdir -p "$runs"
# The recorded flags (config.toml, stage*.toml) are copied out of the zoo first: zoo add replaces the
# entry's folder.
cp "$zoo/$name/config.toml" "$runs/$name.toml"
stages=()  # earlier stages: "TOML EPOCHS"
if [ -e "$zoo/$name/stages.json" ]; then
  while read -r file stage_epochs; do
    cp "$zoo/$name/$file" "$runs/$name.$file"
    stages+=("$runs/$name.$file $stage_epochs")
  done < <(python3 -c 'import json, sys
for s in json.load(open(sys.argv[1])): print(s["config"], s["epochs"])' "$zoo/$name/stages.json")
fi
# The natural-image folders the restoration entries train on are made from Debian packages by make.
case "$(cat "$runs/$name.toml" "$runs/$name".stage*.toml 2>/dev/null | grep -o '^train.data="[^"]*"' || true)" in
  *'"data/natural-plus"'*) make images-plus >/dev/null ;;
  *'"data/natural"'*) make images >/dev/null ;;
esac
threads=(--threads "${THREADS:-0}")
epochs_done() {  # the epochs a run has completed (metrics.jsonl), 0 when none
  python3 -c 'import json, sys
done = 0
try:
    for line in open(sys.argv[1]):
        done = max(done, json.loads(line).get("epoch", 0))
except FileNotFoundError:
    pass
print(done)' "$1/metrics.jsonl"
}
train_stage() {  # train_stage TOML OUT EPOCHS [--init-from RUN]: trains, continues or skips a finished run
  local toml=$1 dir=$2 want=$3
  shift 3
  if [ -e "$dir/checkpoint.pt" ] && [ "$(epochs_done "$dir")" -ge "$want" ]; then
    echo "zoo.sh: $dir has its $want epochs"
  elif [ -e "$dir/checkpoint.pt" ]; then
    echo "zoo.sh: continuing $dir"
    "$deepgen" "${threads[@]}" train "$kind" --resume --out "$dir" --epochs "$want" --checkpoint-every 10m
  else
    echo "zoo.sh: $deepgen train $kind --config $toml $* --out $dir"
    "$deepgen" "${threads[@]}" train "$kind" --config "$toml" "$@" --out "$dir" --checkpoint-every 10m
  fi
}
init=()
for k in "${!stages[@]}"; do
  read -r toml stage_epochs <<<"${stages[$k]}"
  train_stage "$toml" "$out.stage$((k + 1))" "$stage_epochs" "${init[@]}"
  init=(--init-from "$out.stage$((k + 1))")
done
train_stage "$runs/$name.toml" "$out" "$epochs" "${init[@]}"
args=(--description "$(field 'e["description"]')" --metric "$(field 'e["headline"]["metric"]')")
scored_by=$(field 'e["headline"].get("scored_by", "")')  # a generator's headline: samples scored by a classifier
if [ -n "$scored_by" ]; then
  args+=(--classifier "$scored_by" --samples "$(field 'e["headline"]["samples"]')")
else
  args+=(--test-examples "$(field 'e["headline"].get("test_examples", 0)')")
fi
# The folder the entry evaluates on, when it is one of the tree's (recorded relative by zoo add).
eval_data=$(python3 -c 'import json, os, sys
d = json.load(open(sys.argv[1])).get("data", {}).get("dir", "")
print(d if d and not os.path.isabs(d) else "")' "$zoo/$name/config.json")
[ -n "$eval_data" ] && args+=(--eval-data "$eval_data")
[ "$(field 'e["headline"].get("higher_is_better", False)')" = True ] && args+=(--higher-is-better)
for use in $(field 'e.get("defaults", [])'); do args+=(--default "$use"); done
data=$(field 'e.get("data", "")')
[ -n "$data" ] && args+=(--data "$data")
old=$(field 'e["headline"]["value"]')
DEEPGEN_ZOO=$zoo "$deepgen" "${threads[@]}" zoo add "$out" "$name" "${args[@]}"
echo "zoo.sh: $name headline $(field 'e["headline"]["metric"]') was $old, now $(field 'e["headline"]["value"]')"
