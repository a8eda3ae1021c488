#!/usr/bin/env bash
# What training on a data set costs against the synthetic generator, and what outputs at every
# step cost BPTT against one output, at the paper's sizes (T = 20, B = 20, H = 100): interleaved
# best-of-N runs of `fastlra bench` (docs/performance.md, "Data sets and per-step outputs").
# usage: bench/data-overhead.sh path/to/fastlra [N]
set -euo pipefail
fastlra=$1; n=${2:-5}
here=$(dirname "$0"); work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# The temporal-order task's own sequences as a data set, and a CSV series of six one-hot inputs
# with a 4-class label per row, cut into windows of 20 (stride 20: 10,000 windows).
"$fastlra" data --task temporal-order --length 20 --batch 10000 --out "$work/to.npz" 2>/dev/null
awk 'BEGIN { srand(7); print "a,b,c,d,e,f,label"; for (r = 0; r < 200021; r++) { k = int(rand() * 6); line = "";
  for (i = 0; i < 6; i++) line = line (i ? "," : "") (i == k ? 1 : 0); print line "," int(rand() * 4) } }' > "$work/steps.csv"
csv=(--data "$work/steps.csv" --input-columns a,b,c,d,e,f --target-columns label --classes 4 --window 20 --stride 20 --horizon 0)
for round in 1 2; do
  for algo in "bptt" "lra --alpha 0.1"; do
    # shellcheck disable=SC2086
    echo "synthetic   $("$here/best-of.sh" "$n" "$fastlra" --algo $algo)"
    # shellcheck disable=SC2086
    echo "data set    $("$here/best-of.sh" "$n" "$fastlra" --algo $algo --data "$work/to.npz")"
  done
  echo "one output  $("$here/best-of.sh" "$n" "$fastlra" --algo bptt "${csv[@]}" --outputs last)"
  echo "every step  $("$here/best-of.sh" "$n" "$fastlra" --algo bptt "${csv[@]}")"
done
