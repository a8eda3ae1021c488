#!/usr/bin/env bash
# Reproduces docs/data.md's "Gated and stacked cells against PyTorch": FastLra's tanh, GRU and LSTM
# cells, one and two layers, by BPTT on three seeds (sweeps and reports; five more seeds of the
# one-layer LSTM on Fashion-MNIST; the first 60 iterations of seed 1 checked every 2), PyTorch's nn.RNN, nn.GRU and nn.LSTM trained the same way
# (docs/data/peers_cells.py), their twins (PyTorch from FastLra's initial parameters and batch
# order), then the doc's tables.
# Every job runs alone, niced, on one thread: FastLra with DOTNET_PROCESSOR_COUNT=1 (its validation
# would otherwise use every core), PyTorch with torch.set_num_threads(1) over OpenBLAS's serial build
# (Debian's python3-torch calls the system BLAS, by default the reference one, some 30x slower).
# usage: docs/results/data/cells.sh DIR [FASTLRA...]   (DIR: where convert.py wrote fashion-*.npz;
#   FASTLRA: the fastlra command as in run.sh; OUT=dir writes everything there instead)
# needs: sudo apt-get install python3-torch python3-numpy libopenblas0-serial dataset-fashion-mnist (no sudo as root)
set -euo pipefail
here=$(dirname "$0")
# shellcheck source=../lib.sh
source "$here/../lib.sh"
[ $# -ge 1 ] && [ -d "$1" ] || { echo "usage: $0 DIR [FASTLRA...] (DIR: where docs/data/convert.py wrote fashion-*.npz)" >&2; exit 2; }
fashion=$(realpath "$1"); shift
fastlra_command "$@"
results_dir docs/results/data
cd "$here/../../.."
out=$O
export DOTNET_PROCESSOR_COUNT=1 FASHION_DIR=$fashion
for name in cells-sunspots cells-fashion cells-fashion-lstm cells-fashion-start; do
  nice -n 10 "${F[@]}" sweep --grid "$(grid "docs/results/data/$name.json")" --out "$out/$name" --workers 1
  "${F[@]}" report "$out/$name" --out "$out/$name/report"
done
mkdir -p "$out/cells-pytorch"
peers() { LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-serial nice -n 10 /usr/bin/python3 docs/data/peers_cells.py "$@"; }
peers sunspots "$out/cells-pytorch/sunspots.jsonl"
peers fashion "$fashion" "$out/cells-pytorch/fashion.jsonl"
peers fashion "$fashion" "$out/cells-pytorch/fashion-lstm.jsonl" --cells lstm --layers 1 --seeds 4,5,6,7,8
peers sunspots "$out/cells-pytorch/sunspots-twin.jsonl" --twin
peers fashion "$fashion" "$out/cells-pytorch/fashion-twin.jsonl" --twin
# Where Fashion-MNIST's twins part: a check every 2 iterations for the first 60.
peers fashion "$fashion" "$out/cells-pytorch/fashion-start-twin.jsonl" --twin --cells tanh,gru,lstm --layers 1 --seeds 1 --max-iter 60 --check-every 2 --patience 1000
{
  for name in sunspots fashion; do
    echo "$name"; echo
    /usr/bin/python3 docs/data/peers_cells.py table "$out/cells-$name" "$out/cells-pytorch/$name.jsonl"; echo
  done
  echo "fashion, LSTM, 1 layer, seeds 4-8"; echo
  /usr/bin/python3 docs/data/peers_cells.py table "$out/cells-fashion-lstm" "$out/cells-pytorch/fashion-lstm.jsonl"; echo
  echo "fashion, LSTM, 1 layer, seeds 1-8"; echo
  /usr/bin/python3 docs/data/peers_cells.py table "$out/cells-fashion,$out/cells-fashion-lstm" "$out/cells-pytorch/fashion.jsonl,$out/cells-pytorch/fashion-lstm.jsonl" | grep -E "^\| (model|---|LSTM, 1 layer \|)"; echo
  for name in sunspots fashion; do
    echo "$name, twins"; echo
    /usr/bin/python3 docs/data/peers_cells.py twins "$out/cells-$name" "$out/cells-pytorch/$name-twin.jsonl"; echo
    /usr/bin/python3 docs/data/peers_cells.py table "$out/cells-$name" "$out/cells-pytorch/$name-twin.jsonl"; echo
  done
  echo "fashion, twins, the first 60 iterations"; echo
  /usr/bin/python3 docs/data/peers_cells.py twins "$out/cells-fashion-start" "$out/cells-pytorch/fashion-start-twin.jsonl"
  /usr/bin/python3 docs/data/peers_cells.py start "$out/cells-fashion-start" "$out/cells-pytorch/fashion-start-twin.jsonl"
} | tee "$out/cells-pytorch/tables.md"
