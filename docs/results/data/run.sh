#!/usr/bin/env bash
# Reproduces docs/data.md's results: the small searches that chose each variant's settings (one
# seed), then each variant on several seeds, their reports, and the test-set accuracy of seed 1's
# models on Fashion-MNIST.
# usage: docs/results/data/run.sh path/to/fastlra DIR   (DIR: where convert.py wrote fashion-*.npz)
set -euo pipefail
fastlra=$1; fashion=$2
cd "$(dirname "$0")/../../.."
out=docs/results/data
grid() { sed "s#FASHION#$fashion#g" "$out/$1.json" > "$out/.$1.json"; echo "$out/.$1.json"; }
# $fastlra is split into words on purpose: it may be "dotnet path/fastlra.dll".
# shellcheck disable=SC2086
for name in sunspots-search sunspots fashion-search fashion; do
  $fastlra sweep --grid "$(grid "$name")" --out "$out/$name"
  $fastlra report "$out/$name" --out "$out/$name/report"
  rm -f "$out/.$name.json"
done
# Test accuracy (the 10,000 images never seen in training or validation) of each Fashion-MNIST variant, seed 1.
for run in "$out"/fashion/*_seed1_*.json; do
  command=$(sed -n 's/.*"command":"\([^"]*\)".*/\1/p' "$run" | sed "s#^fastlra ##")
  model=$(mktemp --suffix .safetensors)
  # shellcheck disable=SC2086
  $fastlra $command --quiet --save "$model"
  echo "$(basename "$run" .json): $($fastlra eval --model "$model" --data "$fashion/fashion-test.npz")"
  rm -f "$model"
done | tee "$out/fashion/test.txt"
