#!/usr/bin/env bash
# Issue 19: the paper's protocol (up to 30,000 iterations, stopped when solved or after 30 checks
# without a new best) on the best settings, with the gradient-conditioning probe on. Resumable,
# like run-all.sh, which calls it last.
#   FASTLRA=path/to/fastlra WORKERS=2 docs/results/protocol.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
F=${FASTLRA:-fastlra}
W=${WORKERS:-2}
R=docs/results
G=$R/grids

# 5. T = 20: each variant's best setting of the grid (the seeded grids' settings), 5 seeds.
"$F" sweep --grid $G/protocol-t20.json --out $R/protocol-t20 --workers "$W" --conditioning

# 6. The one local-semantics variant with a seed still going at 30,000 (random permutation,
#    unregularised), to 100,000: the same runs with a larger budget (patience stops the others
#    where they stopped before).
"$F" sweep --grid $G/protocol-t20-extend.json --out $R/protocol-t20-extend --workers "$W" --conditioning

# 7. What makes the gradient ill-conditioned: one setting, one part changed at a time.
"$F" sweep --grid $G/conditioning.json --out $R/conditioning --workers "$W" --conditioning

# 8. The guarded Omega (--omega-guard 1e-4; 1e-2 for the reference semantics, whose target
#    signals are larger, see step 10) on the regularised settings whose gradient was
#    ill-conditioned (random permutation, both semantics) and on the reference semantics' temporal
#    order, which it solved: is it better conditioned, and does it keep the regulariser's benefit?
"$F" sweep --grid $G/protocol-t20-guarded.json --out $R/protocol-t20-guarded --workers "$W" --conditioning

# 9. T = 50, the local semantics with and without the regulariser: a small search of beta and
#    alpha on seed 1 (4,000 iterations), then the best of each on 5 seeds at 30,000.
"$F" sweep --grid $G/protocol-t50-search.json --out $R/protocol-t50-search --workers "$W" --conditioning
for task in temporal-order temporal-order-3bit random-permutation; do
  $R/best-grid.sh $R/protocol-t50-search/summary.csv $task "[50]" "[1,2,3,4,5]" 30000 local-0 local-alpha
done | tr -d '\n' | sed 's/\]\[/, /g' > $G/protocol-t50.json
"$F" sweep --grid $G/protocol-t50.json --out $R/protocol-t50 --workers "$W" --conditioning

# 10. The guard at T = 50, on the one regularised setting there that helps (and runs wholly in
#     the rounding regime), and small searches of the guard at T = 20 (seed 1), for each semantics.
"$F" sweep --grid $G/protocol-t50-guarded.json --out $R/protocol-t50-guarded --workers "$W" --conditioning
"$F" sweep --grid $G/guard-search.json --out $R/guard-search --workers "$W" --conditioning
"$F" sweep --grid $G/guard-search-reference.json --out $R/guard-search-reference --workers "$W" --conditioning

for d in protocol-t20 protocol-t20-extend protocol-t20-guarded protocol-t50-search protocol-t50 protocol-t50-guarded guard-search guard-search-reference; do
  "$F" report $R/$d --out $R/$d/report
done
"$F" report $R/conditioning --out $R/conditioning/report --max-series 16
