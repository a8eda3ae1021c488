#!/usr/bin/env python3
"""Which runs of two sweeps follow the same trajectory: for every run (task, semantics, beta,
alpha, seed) at T = 20 in both, whether its validation accuracy at iterations 100, 1000 and 2000
is the same to the last digit, and how each run ended.

    python3 docs/results/same-trajectory.py docs/results/seeds-*/runs.jsonl -- docs/results/protocol-t20/runs.jsonl
"""
import json
import sys


def load(paths):
    runs = {}
    for path in paths:
        for line in open(path):
            d = json.loads(line)
            r = d["run"]
            if r["length"] != 20 or r["algo"] != "lra":
                continue
            key = (r["task"], r["semantics"], r["beta"], r["alpha"], r["seed"])
            accuracy = {m["iteration"]: m["valid_accuracy"] for m in d["metrics"]}
            runs[key] = (r, accuracy)
    return runs


split = sys.argv.index("--")
before, after = load(sys.argv[1:split]), load(sys.argv[split + 1:])
print("task semantics beta alpha seed | same to 2000 | before: solved iterations best | after: solved iterations best stop")
for key in sorted(set(before) & set(after)):
    (r0, a0), (r1, a1) = before[key], after[key]
    checks = [it for it in (100, 1000, 2000) if it in a0 and it in a1]
    same = all(a0[it] == a1[it] for it in checks)
    print(*key, "|", "same" if same else "differs", "|", r0["solved"], r0["iterations"], f'{r0["best_valid_accuracy"]:.4f}',
          "|", r1["solved"], r1["iterations"], f'{r1["best_valid_accuracy"]:.4f}', r1["stop_reason"])
