#!/usr/bin/env bash
# FastLra against its peers on this machine, interleaved (A B A B ...) so the machine's drift
# hits both alike: the paper's published code (LRA, its own semantics) against FastLra's LRA in
# the local and the reference semantics; PyTorch BPTT against FastLra's BPTT for nn.RNN, nn.GRU
# and nn.LSTM (the tanh, GRU and LSTM cells); and a streaming step of each cell (B = 1) against
# PyTorch's. Temporal order, T = 20, B = 20, H = 100, K = 10, alpha = 0.1, one thread each.
# Prints each round's median seconds per iteration and the ratios of the medians over the rounds.
#
# PyTorch's speed on the CPU depends on the BLAS that libblas.so.3 resolves to: Debian's
# python3-torch pulls the reference BLAS (plain loops, /usr/lib/<triplet>/blas), and installing
# libopenblas0-serial switches the system to OpenBLAS, 4-6x faster here. So every PyTorch figure
# is timed with both, named by the folder put first on LD_LIBRARY_PATH (reference, openblas).
#
# Needs Debian's python3-torch and libopenblas0-serial (apt-get install python3-torch
# libopenblas0-serial) and, for the
# published code, a clone of it (git clone https://github.com/nmanchev/lra-rnn); give - instead
# of its folder to leave it out. Not run by CI. The streaming step of FastLra is timed by
# BenchmarkDotNet (CellStepBenchmark), which the ratios read from STEP_TANH/STEP_GRU/STEP_LSTM
# (seconds) when set.
# Usage: bench/peers.sh PUBLISHED_REPO|- [ROUNDS] [FASTLRA]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=${1:?usage: bench/peers.sh PUBLISHED_REPO|- [ROUNDS] [FASTLRA]}
rounds=${2:-5}
fastlra=${3:-src/FastLra.Cli/bin/Release/net10.0/fastlra}
py=/usr/bin/python3
libs=/usr/lib/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)
for blas in blas openblas-serial; do
  [ -e "$libs/$blas/libblas.so.3" ] || { echo "peers: $libs/$blas/libblas.so.3 is missing (apt-get install libblas3 libopenblas0-serial)" >&2; exit 2; }
done
# torch KIND ARGS...: PyTorch with the reference BLAS, then with OpenBLAS, one thread each.
torch_both() {
  local name=$1; shift
  LD_LIBRARY_PATH="$libs/blas" OMP_NUM_THREADS=1 "$py" bench/peers.py "$@" >> "$tmp/$name-reference"
  LD_LIBRARY_PATH="$libs/openblas-serial" OMP_NUM_THREADS=1 "$py" bench/peers.py "$@" >> "$tmp/$name-openblas"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
bench() { "$fastlra" bench "$@" --json | sed -E 's/.*"median_seconds_per_iteration":([^,]*).*/\1/'; }
tmp=$(mktemp -d)
for round in $(seq "$rounds"); do
  line="round $round:"
  if [ "$repo" != - ]; then
    OMP_NUM_THREADS=1 "$py" bench/peers.py published "$repo" 20 2>/dev/null >> "$tmp/published"
    bench --algo lra --alpha 0.1 --iters 100 >> "$tmp/local"
    bench --algo lra --semantics reference --alpha 0.1 --iters 40 >> "$tmp/reference"
    line="$line published $(tail -1 "$tmp/published") s, local $(tail -1 "$tmp/local") s, reference $(tail -1 "$tmp/reference") s,"
  fi
  for cell in rnn gru lstm; do
    ours=$cell; [ $cell = rnn ] && ours=tanh
    torch_both torch-$cell torch-bptt $cell 100
    bench --algo bptt --cell $ours --iters 500 >> "$tmp/bptt-$cell"
    torch_both torchstep-$cell torch-step $cell 2000
    line="$line torch $cell $(tail -1 "$tmp/torch-$cell-reference") / $(tail -1 "$tmp/torch-$cell-openblas") s, BPTT $ours $(tail -1 "$tmp/bptt-$cell") s,"
  done
  echo "$line"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0fx", a / b }'; }
if [ "$repo" != - ]; then
  for f in published local reference; do eval "m_$f=$(median < "$tmp/$f")"; done
  echo "LRA: published $(awk -v v="$m_published" 'BEGIN{printf "%.1f", v*1e3}') ms; LRA local $(ratio "$m_published" "$m_local") faster, LRA reference $(ratio "$m_published" "$m_reference")"
fi
ms() { awk -v v="$1" 'BEGIN{printf "%.2f", v*1e3}'; }
us() { awk -v v="$1" 'BEGIN{printf "%.1f", v*1e6}'; }
for cell in rnn gru lstm; do
  ours=$cell; [ $cell = rnn ] && ours=tanh
  b=$(median < "$tmp/bptt-$cell")
  var=STEP_${ours^^}
  line="BPTT $ours: FastLra $(awk -v v="$b" 'BEGIN{printf "%.3f", v*1e3}') ms;"
  for blas in reference openblas; do
    t=$(median < "$tmp/torch-$cell-$blas"); s=$(median < "$tmp/torchstep-$cell-$blas")
    line="$line PyTorch ($blas BLAS) $(ms "$t") ms: $(ratio "$t" "$b") faster, step $(us "$s") us"
    [ -n "${!var:-}" ] && line="$line: $(ratio "$s" "${!var}")"
    line="$line;"
  done
  [ -n "${!var:-}" ] && line="$line FastLra step $(awk -v v="${!var}" 'BEGIN{printf "%.2f", v*1e6}') us"
  echo "$line"
done
rm -rf "$tmp"
