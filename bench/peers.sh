#!/usr/bin/env bash
# FastLra against its peers on this machine, interleaved (A B A B ...) so the machine's drift
# hits both alike: the paper's published code (LRA, its own semantics) against FastLra's LRA in
# the local and the reference semantics, and PyTorch BPTT against FastLra's BPTT. Temporal order,
# T = 20, B = 20, H = 100, K = 10, alpha = 0.1, one thread each. Prints each run's median seconds
# per iteration and the ratio of the medians over the rounds.
#
# Needs Debian's python3-torch (apt-get install python3-torch python3-matplotlib) and a clone of
# the published code (git clone https://github.com/nmanchev/lra-rnn). Not run by CI.
# Usage: bench/peers.sh PUBLISHED_REPO [ROUNDS] [FASTLRA]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=${1:?usage: bench/peers.sh PUBLISHED_REPO [ROUNDS] [FASTLRA]}
rounds=${2:-5}
fastlra=${3:-src/FastLra.Cli/bin/Release/net10.0/fastlra}
py=/usr/bin/python3
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
bench() { "$fastlra" bench "$@" --json | sed -E 's/.*"median_seconds_per_iteration":([^,]*).*/\1/'; }
tmp=$(mktemp -d)
for round in $(seq "$rounds"); do
  OMP_NUM_THREADS=1 "$py" bench/peers.py published "$repo" 20 2>/dev/null >> "$tmp/published"
  bench --algo lra --alpha 0.1 --iters 100 >> "$tmp/local"
  bench --algo lra --semantics reference --alpha 0.1 --iters 40 >> "$tmp/reference"
  OMP_NUM_THREADS=1 "$py" bench/peers.py torch-bptt 200 >> "$tmp/torch"
  bench --algo bptt --iters 500 >> "$tmp/bptt"
  echo "round $round: published $(tail -1 "$tmp/published") s, local $(tail -1 "$tmp/local") s, reference $(tail -1 "$tmp/reference") s, torch BPTT $(tail -1 "$tmp/torch") s, BPTT $(tail -1 "$tmp/bptt") s"
done
for f in published local reference torch bptt; do eval "m_$f=$(median < "$tmp/$f")"; done
awk -v p="$m_published" -v l="$m_local" -v r="$m_reference" -v t="$m_torch" -v b="$m_bptt" 'BEGIN {
  printf "medians: published %.1f ms, LRA local %.3f ms, LRA reference %.3f ms, PyTorch BPTT %.3f ms, BPTT %.3f ms\n", p*1e3, l*1e3, r*1e3, t*1e3, b*1e3
  printf "ratios: LRA local %.0fx the published code, LRA reference %.0fx, BPTT %.0fx PyTorch BPTT\n", p/l, p/r, t/b }'
rm -rf "$tmp"
