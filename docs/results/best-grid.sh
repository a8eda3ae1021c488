#!/usr/bin/env bash
# Prints a grid (a JSON array of grid objects) that runs the best setting of each named variant
# family, as ranked in a grid sweep's summary.csv, at the given lengths and seeds.
#
#   best-grid.sh SUMMARY_CSV TASK LENGTHS SEEDS MAX_ITER FAMILY...
#   LENGTHS and SEEDS are JSON lists, e.g. "[20, 50]" "[1, 2, 3, 4, 5]".
#   FAMILY: bptt, local-0, local-alpha, reference-0, reference-alpha (alpha = 0 or the best alpha > 0),
#   optionally with its own lengths: reference-alpha:[20].
#
# Ranking within a family: solved before unsolved, then fewer iterations to solve, then the
# higher best validation accuracy; ties go to the row listed first.
set -euo pipefail
summary=$1 task=$2 lengths=$3 seeds=$4 maxiter=$5
shift 5
awk -F, -v task="$task" -v lengths="$lengths" -v seeds="$seeds" -v maxiter="$maxiter" -v families="$*" '
NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
$col["status"] == "done" && $col["task"] == task {
  family = $col["algo"] == "bptt" ? "bptt" : $col["semantics"] "-" ($col["alpha"] + 0 == 0 ? "0" : "alpha")
  solved = $col["solved"] == "true"
  score = solved * 1e12 + (solved ? 1e9 - $col["iterations"] : 0) + $col["best_valid_accuracy"] * 1e6
  if (!(family in best) || score > best[family]) {
    best[family] = score
    line = "{\"task\": \"" task "\", \"length\": LENGTHS, \"seed\": " seeds ", \"max-iter\": " maxiter ", \"algo\": \"" $col["algo"] "\", \"lr\": " $col["lr"]
    if ($col["algo"] == "lra")
      line = line ", \"semantics\": \"" $col["semantics"] "\", \"beta\": " $col["beta"] ", \"alpha\": " $col["alpha"]
    grid[family] = line "}"
  }
}
END {
  n = split(families, wanted, " ")
  printf "["
  for (i = 1; i <= n; i++) {
    family = wanted[i]; own = lengths
    if (index(family, ":") > 0) { own = substr(family, index(family, ":") + 1); family = substr(family, 1, index(family, ":") - 1) }
    if (!(family in grid)) { print "best-grid.sh: no finished runs of " family " for " task > "/dev/stderr"; exit 1 }
    line = grid[family]; sub(/LENGTHS/, own, line)
    printf "%s%s", (i > 1 ? ",\n " : ""), line
  }
  print "]"
}' "$summary"
