#!/usr/bin/env bash
# The search behind docs/online.md's settings: the drifting pendulum replayed from the models
# docs/online/run.sh trains (docs/online/pendulum*.safetensors) with every learner setting tried,
# one table row each, written to docs/online/search.md (OUT=dir: dir/search.md).
#   docs/online/search.sh [FASTLRA...]     (the fastlra command as in run.sh)
# BPTT (tanh and GRU) and LRA (alpha 0): SGD at lr 0.01 and 0.05, Adam at 0.001 and 0.005, windows
# of 4 and 16 ticks; LRA also beta 0.1, 1 and 10 and K 3 and 10. An update every tick. The committed
# table was made as docs/online.md's numbers were, by 256-bit kernels before the fixed order of
# summation (the code of f7890aa, DOTNET_PreferredVectorBitWidth=256 on a machine with AVX-512).
set -euo pipefail
here=$(dirname "$0")
# shellcheck source=../results/lib.sh
source "$here/../results/lib.sh"
fastlra_command "$@"
results_dir docs/online
cd "$here/../.."
table=$(mktemp)
cleanup+=("$table")
row() { # learner, model, window, then the learner's options
  local learner=$1 model=$2 window=$3; shift 3
  "${F[@]}" replay --data docs/data/pendulum.csv --input-columns u,theta --target-columns theta --model "$model" \
    --window "$window" --quiet --json "$@" |
    sed -E 's/.*"rmse":([^,]*),"rmse_frozen":([^,]*),.*"rmse_last_quarter":([^,]*),"rmse_frozen_last_quarter":([^,]*),.*/\1 \3 \4/' |
    { read -r all last frozen; printf '| %s | %s | %s | %.4f | %.4f | %s |\n' "$learner" "$*" "$window" "$all" "$last" \
        "$(awk -v a="$last" -v b="$frozen" 'BEGIN { print (a < b ? "yes" : "no") }')"; } >> "$table"
}
for optimizer in "sgd 0.01" "sgd 0.05" "adam 0.001" "adam 0.005"; do
  read -r name lr <<< "$optimizer"
  for window in 4 16; do
    row BPTT docs/online/pendulum.safetensors "$window" --algo bptt --optimizer "$name" --lr "$lr"
    row "GRU, BPTT" docs/online/pendulum-gru.safetensors "$window" --algo bptt --optimizer "$name" --lr "$lr"
    for beta in 0.1 1 10; do
      for k in 3 10; do
        row "LRA, α = 0" docs/online/pendulum.safetensors "$window" --algo lra --alpha 0 --optimizer "$name" --lr "$lr" --beta "$beta" --k "$k"
      done
    done
  done
done
{
  echo "# The online learner's settings on the drifting pendulum"
  echo
  echo "Made by \`docs/online/search.sh\` ($("${F[@]}" info | grep '^kernels:')); RMSE of the one-step-ahead"
  echo "prediction over all 3,999 ticks and over the last quarter (after the plant changed at tick 2,000)."
  frozen() { sed -E 's/.*"rmse_frozen":([^,]*),.*"rmse_frozen_last_quarter":([^,]*),.*/\1 \2/' "$1" | { read -r all last; printf '%.4f (last quarter %.4f)' "$all" "$last"; }; }
  echo "The frozen models: tanh $(frozen docs/online/bptt.json), GRU $(frozen docs/online/gru.json)."
  echo
  echo "| learner | options | window | RMSE, all ticks | RMSE, last quarter | better than frozen (last quarter) |"
  echo "| --- | --- | --- | --- | --- | --- |"
  sort -t '|' -k2,2 -s "$table"
} > "$O/search.md.tmp"
mv "$O/search.md.tmp" "$O/search.md"
cat "$O/search.md"
