#!/usr/bin/env bash
# Reproduces docs/data.md's "Gated and stacked cells against PyTorch": FastLra's tanh, GRU and LSTM
# cells, one and two layers, by BPTT on three seeds (sweeps and reports), then PyTorch's nn.RNN,
# nn.GRU and nn.LSTM trained the same way (docs/data/peers_cells.py), then the doc's two tables.
# Every job runs alone, niced, on one thread: FastLra with DOTNET_PROCESSOR_COUNT=1 (its validation
# would otherwise use every core), PyTorch with torch.set_num_threads(1) over OpenBLAS's serial build
# (Debian's python3-torch calls the system BLAS, by default the reference one, some 30x slower).
# usage: docs/results/data/cells.sh "path/to/fastlra" DIR   (DIR: where convert.py wrote fashion-*.npz)
# needs: apt-get install python3-torch python3-numpy libopenblas0-serial dataset-fashion-mnist
set -euo pipefail
fastlra=$1; fashion=$2
cd "$(dirname "$0")/../../.."
out=docs/results/data
export DOTNET_PROCESSOR_COUNT=1
for name in cells-sunspots cells-fashion; do
  sed "s#FASHION#$fashion#g" "$out/$name.json" > "$out/.$name.json"
  # shellcheck disable=SC2086 # $fastlra may be "dotnet path/fastlra.dll"
  nice -n 10 $fastlra sweep --grid "$out/.$name.json" --out "$out/$name" --workers 1
  # shellcheck disable=SC2086
  $fastlra report "$out/$name" --out "$out/$name/report"
  rm -f "$out/.$name.json"
done
mkdir -p "$out/cells-pytorch"
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-serial
nice -n 10 /usr/bin/python3 docs/data/peers_cells.py sunspots "$out/cells-pytorch/sunspots.jsonl"
nice -n 10 /usr/bin/python3 docs/data/peers_cells.py fashion "$fashion" "$out/cells-pytorch/fashion.jsonl"
for name in sunspots fashion; do
  /usr/bin/python3 docs/data/peers_cells.py table "$out/cells-$name" "$out/cells-pytorch/$name.jsonl"
done | tee "$out/cells-pytorch/tables.md"
