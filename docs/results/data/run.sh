#!/usr/bin/env bash
# Reproduces docs/data.md's results: the small searches that chose each variant's settings (one
# seed), then each variant on several seeds, their reports, and the test-set accuracy of seed 1's
# models on Fashion-MNIST.
#
#   docs/results/data/run.sh DIR [FASTLRA...]     DIR: where docs/data/convert.py wrote fashion-*.npz
#   docs/results/data/run.sh --test DIR [FASTLRA...]   only the test accuracies (fashion/test.txt)
#   docs/results/data/run.sh --dry [FASTLRA...]   every step on tiny data, into a temporary directory
#
# FASTLRA: the fastlra command, default $FASTLRA or fastlra: src/FastLra.Cli/bin/Release/net10.0/fastlra
# after dotnet build -c Release, or "dotnet path/to/fastlra.dll" (one argument or several words).
# The sweeps resume: a run whose id is in runs.jsonl is done (ids know the data files by their
# SHA-256, so convert.py's files match the committed runs and nothing is rerun). OUT=dir writes
# the sweeps, reports and test accuracies there instead, recomputing every run; compare them with
# the committed ones by python3 docs/results/compare.py dir docs/results/data.
# --dry makes a few hundred sequences of a synthetic task as fashion-*.npz (fastlra data), gives
# every run 20 iterations, and writes into a temporary directory (or OUT): for CI.
set -euo pipefail
here=$(dirname "$0")
# shellcheck source=../lib.sh
source "$here/../lib.sh"
mode=all
case "${1:-}" in
  --dry) mode=dry; export DRY=1; shift ;;
  --test) mode=test; shift ;;
esac
if [ "$mode" != dry ]; then
  [ $# -ge 1 ] && [ -d "$1" ] || { echo "usage: $0 [--test] DIR [FASTLRA...] (DIR: where docs/data/convert.py wrote fashion-*.npz), or $0 --dry [FASTLRA...]" >&2; exit 2; }
  FASHION_DIR=$(realpath "$1"); shift
fi
fastlra_command "$@"
results_dir docs/results/data
cd "$here/../../.."

if [ "$mode" = dry ]; then
  FASHION_DIR=$(mktemp -d)
  cleanup+=("$FASHION_DIR")
  "${F[@]}" data --task temporal-order --length 28 --batch 100 --count 2 --seed 1 --out "$FASHION_DIR/fashion-train.npz"
  "${F[@]}" data --task temporal-order --length 28 --batch 50 --seed 2 --out "$FASHION_DIR/fashion-test.npz"
fi
case "$FASHION_DIR" in *[[:space:]]*) echo "$0: DIR must not contain spaces (the runs' commands are split into words)" >&2; exit 2 ;; esac
export FASHION_DIR

if [ "$mode" != test ]; then
  for name in sunspots-search sunspots fashion-search fashion; do
    "${F[@]}" sweep --grid "$(grid "docs/results/data/$name.json")" --out "$O/$name"
    "${F[@]}" report "$O/$name" --out "$O/$name/report"
  done
fi

# Test accuracy (the 10,000 images never seen in training or validation) of each Fashion-MNIST
# variant's seed-1 run in runs.jsonl: trained again by its command (the grid's, on DIR's files),
# evaluated on fashion-test.npz. test.txt is replaced only when every model was made and evaluated.
store="$O/fashion/runs.jsonl"
[ -f "$store" ] || { echo "$0: no $store: run the sweeps first (without --test)" >&2; exit 1; }
test_txt="$O/fashion/test.txt"
partial=$(mktemp "$O/fashion/.test.txt.XXXXXX")
model=$(mktemp --suffix .safetensors)
cleanup+=("$partial" "$model")
found=0
while IFS=$'\t' read -r id command; do
  [[ $command == *" --seed 1" || $command == *" --seed 1 "* ]] || continue
  line=$(grep -F "{\"format_version\":1,\"id\":\"$id\"," "$store" | tail -n 1) || { echo "$0: $id (seed 1) has no line in $store" >&2; exit 1; }
  read -ra words <<< "${command#fastlra }"
  trained=$("${F[@]}" "${words[@]}" --quiet --json --save "$model")
  # The retrained model's best check, against the recorded one: the same unless the CPU's vector
  # width (or the code) changed the arithmetic since (docs/results.md, "Reproduce").
  recorded=$(sed -n 's/.*"valid_accuracy":\([^,}]*\)},"metrics".*/\1/p' <<< "$line")
  now=$(sed -n 's/.*"valid_accuracy":\([^,}]*\)}.*/\1/p' <<< "$trained")
  [ "$recorded" = "$now" ] || echo "$0: note: $id retrained reaches validation accuracy $now, recorded $recorded" >&2
  result=$("${F[@]}" eval --model "$model" --data "$FASHION_DIR/fashion-test.npz")
  echo "$id: ${result//"$FASHION_DIR/"/FASHION/}" >> "$partial"
  found=$((found + 1))
done < <("${F[@]}" sweep --grid "$(grid docs/results/data/fashion.json)" --out "$O/fashion" --dry-run)
[ "$found" -gt 0 ] || { echo "$0: found no seed-1 run in the Fashion-MNIST grid" >&2; exit 1; }
chmod 644 "$partial"
mv "$partial" "$test_txt"
cat "$test_txt"

if [ "$mode" = dry ]; then
  for name in sunspots-search sunspots fashion-search fashion; do
    [ -s "$O/$name/report/report.md" ] || { echo "$0: dry run: no report of $name" >&2; exit 1; }
  done
  echo "$0: dry run: every step ran (4 sweeps and their reports, $found test accuracies) in $O"
fi
