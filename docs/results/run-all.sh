#!/usr/bin/env bash
# Every experiment of docs/results.md, in the order it was run, and the reports. Resumable: run
# it again after an interruption and finished runs are skipped, unfinished ones continue.
#   FASTLRA=path/to/fastlra WORKERS=2 docs/results/run-all.sh
# FASTLRA may be words ("dotnet path/to/fastlra.dll"). By default the sweeps, the grids made from
# them and the reports go to docs/results, where every run is already done: the script then only
# writes the reports again. OUT=dir recomputes everything into dir (a fresh one reruns every run),
# to compare with the committed results: python3 docs/results/compare.py dir docs/results.
# DRY=1 runs every step with a few iterations of a small network, into a temporary directory (or
# OUT): for CI.
set -euo pipefail
here=$(dirname "$0")
# shellcheck source=lib.sh
source "$here/lib.sh"
fastlra_command
results_dir docs/results
cd "$here/../.."
W=${WORKERS:-2}
# R: the committed grids (inputs); O: where the sweeps, the grids made from them and the reports go.
R=docs/results
G=$R/grids
mkdir -p "$O/grids"
seeds="[1,2,3,4,5]"

# 1. The paper's grid at T = 20 on seed 1, 2000 iterations per run (297 runs).
"${F[@]}" sweep --grid "$(grid $G/grid-t20.json)" --out "$O/grid-t20" --workers "$W"

# 2. The best setting of each variant family for each task (best-grid.sh ranks the grid's
#    runs) on 5 seeds, 4000 iterations per run: T = 20, 50, 100 for BPTT and the local
#    semantics, T = 20 for the reference semantics (its O(T^2) cost; see docs/results.md),
#    and T = 50 too on temporal order.
for task in temporal-order-3bit random-permutation; do
  $R/best-grid.sh "$O/grid-t20/summary.csv" $task "[20,50,100]" "$seeds" 4000 \
    bptt local-0 local-alpha reference-0:[20] reference-alpha:[20] > "$O/grids/seeds-$task.json"
done
$R/best-grid.sh "$O/grid-t20/summary.csv" temporal-order "[20,50,100]" "$seeds" 4000 \
  bptt local-0 local-alpha reference-0:[20,50] reference-alpha:[20,50] > "$O/grids/seeds-temporal-order.json"
"${F[@]}" sweep --grid "$(grid "$O/grids/seeds-temporal-order.json")" --out "$O/seeds-temporal-order" --workers "$W"

# 3. Ablations at T = 20 on temporal-order, from the best regularised settings of both
#    semantics: clipping off (c = 0) and always-normalise, and the mse local loss. The
#    baseline runs are those of step 2 (same configuration, same id), copied rather than rerun.
mkdir -p "$O/ablations"
for id in $("${F[@]}" sweep --grid "$(grid $G/ablations.json)" --out "$O/ablations" --dry-run | cut -f1); do
  # A finished run is its line of runs.jsonl; copy the baseline's unless the ablations have it.
  line="{\"format_version\":1,\"id\":\"$id\","
  if ! grep -qsF "$line" "$O/ablations/runs.jsonl"; then
    grep -sF "$line" "$O/seeds-temporal-order/runs.jsonl" >> "$O/ablations/runs.jsonl" || true
  fi
done
"${F[@]}" sweep --grid "$(grid $G/ablations.json)" --out "$O/ablations" --workers "$W"

"${F[@]}" sweep --grid "$(grid "$O/grids/seeds-temporal-order-3bit.json")" --out "$O/seeds-temporal-order-3bit" --workers "$W"
"${F[@]}" sweep --grid "$(grid "$O/grids/seeds-random-permutation.json")" --out "$O/seeds-random-permutation" --workers "$W"

# 4. Adding (the extra task), with temporal order's best settings at T = 20 (no grid of its own).
sed 's/"task": "temporal-order"/"task": "adding"/; s/"length": \[20,50,100\]/"length": [20]/; s/"length": \[20,50\]/"length": [20]/' \
  "$O/grids/seeds-temporal-order.json" > "$O/grids/seeds-adding.json"
"${F[@]}" sweep --grid "$(grid "$O/grids/seeds-adding.json")" --out "$O/seeds-adding" --workers "$W"

# Reports.
for d in grid-t20 seeds-temporal-order seeds-temporal-order-3bit seeds-random-permutation seeds-adding ablations; do
  "${F[@]}" report "$O/$d" --out "$O/$d/report"
done

# Issue 19: the paper's protocol on the final code (its steps and reports), into the same place.
FASTLRA="${F[*]}" WORKERS="$W" OUT="$([ "$O" = $R ] || echo "$O")" $R/protocol.sh
