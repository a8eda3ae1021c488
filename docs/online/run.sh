#!/usr/bin/env bash
# The drifting-pendulum demo of docs/online.md: simulate, train offline on the plant as it first
# is, then replay the live stream (whose plant changes at tick 2000) through the online learner
# with BPTT and LRA, and draw the figure.
#   docs/online/run.sh [FASTLRA...]
# FASTLRA: the fastlra command, default $FASTLRA or fastlra; docs/online.md's timings are the
# Native AOT binary's (dotnet publish src/FastLra.Cli -c Release -r linux-x64 -o artifacts/aot,
# then docs/online/run.sh artifacts/aot/fastlra). It rewrites docs/data/pendulum*.csv and
# docs/online's files; OUT=dir writes all of them into dir instead (as CI does).
set -euo pipefail
here=$(dirname "$0")
# shellcheck source=../results/lib.sh
source "$here/../results/lib.sh"
fastlra_command "$@"
results_dir docs/online
cd "$here/../.."
out=$O
series=$([ "$out" = docs/online ] && echo docs/data || echo "$out")
dotnet run -c Release --project docs/examples/Plant -- simulate "$series"
"${F[@]}" train --data "$series/pendulum-train.csv" --input-columns u,theta --target-columns theta --window 200 --hidden 32 \
  --max-iter 3000 --lr 0.02 --optimizer adam --quiet --save "$out/pendulum.safetensors"
replay() { # name, model, then the learner's options
  local name=$1 model=$2; shift 2
  "${F[@]}" replay --data "$series/pendulum.csv" --input-columns u,theta --target-columns theta --model "$model" \
    --window 16 --report-every 200 --metrics "$out/$name.jsonl" --json --quiet "$@" > "$out/$name.json"
}
replay bptt "$out/pendulum.safetensors" --algo bptt --lr 0.05
replay lra "$out/pendulum.safetensors" --algo lra --alpha 0 --k 10 --beta 1 --lr 0.05
replay lra-k3 "$out/pendulum.safetensors" --algo lra --alpha 0 --k 3 --beta 1 --lr 0.05
replay lra-omega "$out/pendulum.safetensors" --algo lra --alpha 0.1 --k 10 --beta 1 --lr 0.05
# A GRU of the same width, trained and replayed the same way (BPTT: LRA is stated for the tanh cell).
"${F[@]}" train --data "$series/pendulum-train.csv" --input-columns u,theta --target-columns theta --window 200 --hidden 32 --cell gru \
  --max-iter 3000 --lr 0.02 --optimizer adam --quiet --save "$out/pendulum-gru.safetensors"
replay gru "$out/pendulum-gru.safetensors" --algo bptt --lr 0.05
dotnet run -c Release --project docs/examples/Plant -- figure "$out/pendulum.svg" \
  "BPTT online=$out/bptt.jsonl" "LRA online, α=0=$out/lra.jsonl" "LRA online, α=0.1=$out/lra-omega.jsonl"
for name in bptt lra lra-k3 lra-omega gru; do echo "$name: $(cat "$out/$name.json")"; done
