#!/usr/bin/env bash
# The drifting-pendulum demo of docs/online.md: simulate, train offline on the plant as it first
# is, then replay the live stream (whose plant changes at tick 2000) through the online learner
# with BPTT and LRA, and draw the figure. Usage: docs/online/run.sh [fastlra]   (default: artifacts/aot/fastlra)
set -euo pipefail
cd "$(dirname "$0")/../.."
fastlra=${1:-artifacts/aot/fastlra}
out=docs/online
dotnet run -c Release --project docs/examples/Plant -- simulate docs/data
"$fastlra" train --data docs/data/pendulum-train.csv --input-columns u,theta --target-columns theta --window 200 --hidden 32 \
  --max-iter 3000 --lr 0.02 --optimizer adam --quiet --save "$out/pendulum.safetensors"
replay() { # name, then the learner's options
  local name=$1; shift
  "$fastlra" replay --data docs/data/pendulum.csv --input-columns u,theta --target-columns theta --model "$out/pendulum.safetensors" \
    --window 16 --report-every 200 --metrics "$out/$name.jsonl" --json --quiet "$@" > "$out/$name.json"
}
replay bptt --algo bptt --lr 0.05
replay lra --algo lra --alpha 0 --k 10 --beta 1 --lr 0.05
replay lra-k3 --algo lra --alpha 0 --k 3 --beta 1 --lr 0.05
replay lra-omega --algo lra --alpha 0.1 --k 10 --beta 1 --lr 0.05
# A GRU of the same width, trained and replayed the same way (BPTT: LRA is stated for the tanh cell).
"$fastlra" train --data docs/data/pendulum-train.csv --input-columns u,theta --target-columns theta --window 200 --hidden 32 --cell gru \
  --max-iter 3000 --lr 0.02 --optimizer adam --quiet --save "$out/pendulum-gru.safetensors"
"$fastlra" replay --data docs/data/pendulum.csv --input-columns u,theta --target-columns theta --model "$out/pendulum-gru.safetensors" \
  --window 16 --report-every 200 --metrics "$out/gru.jsonl" --json --quiet --algo bptt --lr 0.05 > "$out/gru.json"
dotnet run -c Release --project docs/examples/Plant -- figure "$out/pendulum.svg" \
  "BPTT online=$out/bptt.jsonl" "LRA online, α=0=$out/lra.jsonl" "LRA online, α=0.1=$out/lra-omega.jsonl"
for name in bptt lra lra-k3 lra-omega gru; do echo "$name: $(cat "$out/$name.json")"; done
