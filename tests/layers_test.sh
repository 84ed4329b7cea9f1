#!/usr/bin/env bash
# The library's folders depend one way: each includes only folders before it in the order below (so no
# include cycle is possible), and no file outside a model's own files spells a registered model's name
# as a string (the registry is the one place that knows the models).
set -u
ROOT=$(cd "${1:?usage: layers_test.sh path/to/repo}" && pwd)
cd "$ROOT/src/deepgen" || exit 1
ORDER=(core distributed data report nn models training evaluation run apps)
failures=0
passes=0
for i in "${!ORDER[@]}"; do
  folder=${ORDER[$i]}
  allowed=" ${ORDER[*]:0:$((i + 1))} "
  for used in $(grep -ho '#include "deepgen/[a-z_]*/' "$folder"/* 2>/dev/null | sed 's|#include "deepgen/||; s|/||' | sort -u); do
    if [[ $allowed == *" $used "* ]]; then
      passes=$((passes + 1))
    else
      echo "FAIL: src/deepgen/$folder includes deepgen/$used/, a later layer ($(grep -l "#include \"deepgen/$used/" "$folder"/* | tr '\n' ' '))"
      failures=$((failures + 1))
    fi
  done
done
for folder in *; do
  [[ " ${ORDER[*]} " == *" $folder "* ]] || { echo "FAIL: src/deepgen/$folder is in no layer of layers_test.sh"; failures=$((failures + 1)); }
done
# Model names: taken from `kind() const override { return "NAME"; }`; each may be spelled only in the
# files of the model that returns it, never in src/cli or elsewhere. Two strings are the same text for
# another reason and are allowed: the `inpaint-ae` command (it runs an inpainter) and the "classifier"
# key of `eval --classifier`'s JSON.
ALLOWED="cli/restore.cpp:inpaint-ae cli/main.cpp:classifier"
cd "$ROOT/src" || exit 1
for header in deepgen/models/*.h; do
  for kind in $(grep -ho 'kind() const override { return "[^"]*"' "$header" | sed 's/.*return "//; s/"//'); do
    stem=${header%.h}
    others=$(grep -rl --include='*.h' --include='*.cpp' "\"$kind\"" . | sed 's|^\./||' | grep -v "^$stem\.\(h\|cpp\)$" |
             while read -r file; do [[ " $ALLOWED " == *" $file:$kind "* ]] || echo "$file"; done)
    if [ -n "$others" ]; then
      echo "FAIL: model '$kind' is spelled outside $stem.h/.cpp: $(echo $others)"
      failures=$((failures + 1))
    else
      passes=$((passes + 1))
    fi
  done
done
echo "layers: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
