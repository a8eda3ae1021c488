#!/usr/bin/env bash
# Issue 19: the paper's protocol (up to 30,000 iterations, stopped when solved or after 30 checks
# without a new best) on the best settings, with the gradient-conditioning probe on. Resumable,
# like run-all.sh, which calls it last; FASTLRA, OUT and DRY as there.
#   FASTLRA=path/to/fastlra WORKERS=2 docs/results/protocol.sh
set -euo pipefail
here=$(dirname "$0")
# shellcheck source=lib.sh
source "$here/lib.sh"
fastlra_command
results_dir docs/results
cd "$here/../.."
W=${WORKERS:-2}
R=docs/results
G=$R/grids
mkdir -p "$O/grids"
# sweep NAME GRID: the sweep of GRID (a file) into $O/NAME, with the conditioning probe.
sweep() { "${F[@]}" sweep --grid "$(grid "$2")" --out "$O/$1" --workers "$W" --conditioning; }

# 5. T = 20: each variant's best setting of the grid (the seeded grids' settings), 5 seeds.
sweep protocol-t20 $G/protocol-t20.json

# 6. The one local-semantics variant with a seed still going at 30,000 (random permutation,
#    unregularised), to 100,000: the same runs with a larger budget (patience stops the others
#    where they stopped before).
sweep protocol-t20-extend $G/protocol-t20-extend.json

# 7. What makes the gradient ill-conditioned: one setting, one part changed at a time.
sweep conditioning $G/conditioning.json

# 8. The guarded Omega (--omega-guard 1e-4; 1e-2 for the reference semantics, whose target
#    signals are larger, see step 10) on the regularised settings whose gradient was
#    ill-conditioned (random permutation, both semantics) and on the reference semantics' temporal
#    order, which it solved: is it better conditioned, and does it keep the regulariser's benefit?
sweep protocol-t20-guarded $G/protocol-t20-guarded.json

# 9. T = 50, the local semantics with and without the regulariser: a small search of beta and
#    alpha on seed 1 (4,000 iterations), then the best of each on 5 seeds at 30,000.
sweep protocol-t50-search $G/protocol-t50-search.json
for task in temporal-order temporal-order-3bit random-permutation; do
  $R/best-grid.sh "$O/protocol-t50-search/summary.csv" $task "[50]" "[1,2,3,4,5]" 30000 local-0 local-alpha
done | tr -d '\n' | sed 's/\]\[/, /g' > "$O/grids/protocol-t50.json"
sweep protocol-t50 "$O/grids/protocol-t50.json"

# 10. The guard at T = 50, on the one regularised setting there that helps (and runs wholly in
#     the rounding regime), and small searches of the guard at T = 20 (seed 1), for each semantics.
sweep protocol-t50-guarded $G/protocol-t50-guarded.json
sweep guard-search $G/guard-search.json
sweep guard-search-reference $G/guard-search-reference.json

for d in protocol-t20 protocol-t20-extend protocol-t20-guarded protocol-t50-search protocol-t50 protocol-t50-guarded guard-search guard-search-reference; do
  "${F[@]}" report "$O/$d" --out "$O/$d/report"
done
"${F[@]}" report "$O/conditioning" --out "$O/conditioning/report" --max-series 16
