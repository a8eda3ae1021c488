#!/usr/bin/env bash
# Every experiment of docs/results.md, in the order it was run, and the reports. Resumable: run
# it again after an interruption and finished runs are skipped, unfinished ones continue.
#   FASTLRA=path/to/fastlra WORKERS=2 docs/results/run-all.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
F=${FASTLRA:-fastlra}
W=${WORKERS:-2}
R=docs/results
G=$R/grids
seeds="[1,2,3,4,5]"

# 1. The paper's grid at T = 20 on seed 1, 2000 iterations per run (297 runs).
"$F" sweep --grid $G/grid-t20.json --out $R/grid-t20 --workers "$W"

# 2. The best setting of each variant family for each task (best-grid.sh ranks the grid's
#    runs) on 5 seeds, 4000 iterations per run: T = 20, 50, 100 for BPTT and the local
#    semantics, T = 20 for the reference semantics (its O(T^2) cost; see docs/results.md),
#    and T = 50 too on temporal order.
for task in temporal-order-3bit random-permutation; do
  $R/best-grid.sh $R/grid-t20/summary.csv $task "[20,50,100]" "$seeds" 4000 \
    bptt local-0 local-alpha reference-0:[20] reference-alpha:[20] > $G/seeds-$task.json
done
$R/best-grid.sh $R/grid-t20/summary.csv temporal-order "[20,50,100]" "$seeds" 4000 \
  bptt local-0 local-alpha reference-0:[20,50] reference-alpha:[20,50] > $G/seeds-temporal-order.json
"$F" sweep --grid $G/seeds-temporal-order.json --out $R/seeds-temporal-order --workers "$W"

# 3. Ablations at T = 20 on temporal-order, from the best regularised settings of both
#    semantics: clipping off (c = 0) and always-normalise, and the mse local loss. The
#    baseline runs are those of step 2 (same configuration, same id), copied rather than rerun.
mkdir -p $R/ablations
for id in $("$F" sweep --grid $G/ablations.json --out $R/ablations --dry-run | cut -f1); do
  # A finished run is its line of runs.jsonl; copy the baseline's unless the ablations have it.
  if ! grep -qs "^{\"id\":\"$id\"" $R/ablations/runs.jsonl; then
    grep -s "^{\"id\":\"$id\"" $R/seeds-temporal-order/runs.jsonl >> $R/ablations/runs.jsonl || true
  fi
done
"$F" sweep --grid $G/ablations.json --out $R/ablations --workers "$W"

"$F" sweep --grid $G/seeds-temporal-order-3bit.json --out $R/seeds-temporal-order-3bit --workers "$W"
"$F" sweep --grid $G/seeds-random-permutation.json --out $R/seeds-random-permutation --workers "$W"

# 4. Adding (the extra task), with temporal order's best settings at T = 20 (no grid of its own).
sed 's/"task": "temporal-order"/"task": "adding"/; s/"length": \[20,50,100\]/"length": [20]/; s/"length": \[20,50\]/"length": [20]/' \
  $G/seeds-temporal-order.json > $G/seeds-adding.json
"$F" sweep --grid $G/seeds-adding.json --out $R/seeds-adding --workers "$W"

# Reports.
for d in grid-t20 seeds-temporal-order seeds-temporal-order-3bit seeds-random-permutation seeds-adding ablations; do
  "$F" report $R/$d --out $R/$d/report
done

# Issue 19: the paper's protocol on the final code (its steps and reports).
FASTLRA="$F" WORKERS="$W" $R/protocol.sh
