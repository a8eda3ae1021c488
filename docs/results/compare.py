#!/usr/bin/env python3
"""Compares recomputed sweeps with the committed ones, run by run.

  python3 docs/results/compare.py FRESH [COMMITTED]      (COMMITTED: default docs/results)

FRESH is what OUT=FRESH docs/results/run-all.sh (or protocol.sh, or data/run.sh) wrote: every
runs.jsonl under it is compared with the one at the same place under COMMITTED (or FRESH and
COMMITTED are two sweep directories). Runs are matched by id, which is their whole configuration
and the SHA-256 of their data files. A run is identical when every number it recorded but the
times is equal: its outcome and every check's metrics (losses, accuracies, gradient norms and
cosines, per-step profiles). A run whose outcome and every check's losses, accuracies and
gradient norm agree but whose diagnostics (the per-step norms, local losses and Omega values, the
gradient cosine) do not took the same path: the diagnostics are sums of many terms, which a
change of summation order moves in the last digits. Any other run differs: its line names its
outcome in both and the first check that differs. Prints one line per sweep and one per run that
differs; exits 0 when every run in both is identical or took the same path, 1 otherwise.
Standard library only.
"""
import json
import os
import sys

TIMES = {"wall_seconds", "seconds_per_iteration", "elapsed_seconds", "iterations_per_second"}
DIAGNOSTICS = {"dWhh_step_norms", "dWxh_step_norms", "local_losses", "omega_values", "output_omega", "gradient_cosine"}


def runs(path):
    """The runs of a runs.jsonl by id (the last line of an id counts, as for fastlra)."""
    found = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            found[r["id"]] = r
    return found


def untimed(values, leave=frozenset()):
    return {k: v for k, v in values.items() if k not in TIMES and k not in leave}


def outcome(r):
    run = r["run"]
    score = f"R² {run['valid_r2']:.4f}" if "valid_r2" in run else f"best accuracy {100 * run['best_valid_accuracy']:.2f} %"
    return f"{'solved' if run['solved'] else run['stop_reason']} at {run['iterations']}, {score}"


def first_difference(a, b, leave=frozenset()):
    """The iteration of the first check whose metrics (but those in leave) differ, or where one run has no check."""
    for x, y in zip(a["metrics"], b["metrics"]):
        if untimed(x, leave) != untimed(y, leave):
            return x.get("iteration")
    if len(a["metrics"]) != len(b["metrics"]):
        shorter = min(a["metrics"], b["metrics"], key=len)
        return shorter[-1]["iteration"] if shorter else 0
    return None


def compare(name, fresh, committed):
    """Prints the sweep's line and its differing runs; returns whether every common run is identical and none is missing."""
    a, b = runs(fresh), runs(committed) if os.path.exists(committed) else {}
    common = [i for i in a if i in b]
    differ, path = [], 0
    for i in common:
        x, y = a[i], b[i]
        if untimed(x["run"]) == untimed(y["run"]) and first_difference(x, y, DIAGNOSTICS) is None:
            path += first_difference(x, y) is not None
            continue
        check = first_difference(x, y, DIAGNOSTICS)
        differ.append(f"  {i}: recomputed {outcome(x)}; committed {outcome(y)}"
                      + (f"; checks differ from iteration {check}" if check is not None else "; the checks agree, the outcome does not"))
    print(f"{name}: {len(common)} runs in both, {len(common) - len(differ) - path} identical, {path} the same path (diagnostics differ), "
          f"{len(differ)} differ; {len(a) - len(common)} only recomputed, {len(b) - len(common)} only committed")
    for line in differ:
        print(line)
    return not differ and len(a) == len(common) == len(b)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    fresh = sys.argv[1]
    committed = sys.argv[2] if len(sys.argv) == 3 else os.path.join(os.path.dirname(os.path.abspath(__file__)))
    if os.path.exists(os.path.join(fresh, "runs.jsonl")):
        pairs = [(os.path.basename(os.path.normpath(fresh)), "runs.jsonl")]
        fresh, committed = os.path.dirname(os.path.join(fresh, "runs.jsonl")), os.path.dirname(os.path.join(committed, "runs.jsonl"))
    else:
        pairs = []
        for root, _, files in os.walk(fresh):
            if "runs.jsonl" in files:
                relative = os.path.relpath(os.path.join(root, "runs.jsonl"), fresh)
                pairs.append((os.path.dirname(relative), relative))
        pairs.sort()
    if not pairs:
        sys.exit(f"compare.py: no runs.jsonl in {fresh}")
    same = True
    for name, relative in pairs:
        same &= compare(name, os.path.join(fresh, relative), os.path.join(committed, relative))
    sys.exit(0 if same else 1)


main()
