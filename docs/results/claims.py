#!/usr/bin/env python3
"""The numbers docs/results.md, docs/data.md and docs/online.md state in their text, recomputed.

  python3 docs/results/claims.py [RESULTS [ONLINE]]   (default docs/results and docs/online)

Each line names a claim and gives its number from the runs.jsonl files (and data/fashion/test.txt),
and for the online demo from search.md (docs/online/search.sh), so a rerun of the sweeps
(OUT=... docs/results/run-all.sh) is checked against the text by running this on its directory.
The tables are the reports' (fastlra report); this covers what the prose says about them.
Standard library only.
"""
import json
import math
import os
import re
import statistics
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
ONLINE = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "online")


def load(sweep):
    with open(os.path.join(ROOT, sweep, "runs.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def variant(r):
    """(task, algorithm, semantics, beta, alpha, guard) of a run."""
    x = r["run"]
    return (x["task"], x["algo"], x.get("semantics"), x.get("beta"), x.get("alpha"), x.get("omega_guard", 0))


def regularised(r):
    return (r["run"].get("alpha") or 0) > 0


def cosines(runs):
    return [m["gradient_cosine"] for r in runs for m in r["metrics"] if "gradient_cosine" in m]


def conditioning(runs):
    c = cosines(runs)
    below = sum(v < 0.99 for v in c)
    return f"median {statistics.median(c):.6f}, lowest {min(c):.6f}, {below} of {len(c)} checks below 0.99 ({below / len(c):.0%})"


def pct(v):
    return f"{100 * v:.2f} %"


def spread(values, f=pct):
    return f"{f(min(values))}-{f(max(values))}"


def mean_sd(values, f=pct):
    sd = statistics.stdev(values) if len(values) > 1 else 0
    return f"{f(statistics.mean(values))} ± {f(sd).replace(' %', '')}"


def say(claim, value):
    print(f"- {claim}: {value}")


def protocol():
    print("## results.md, at the paper's protocol (protocol-t20, protocol-t20-extend, protocol-t50)")
    runs = load("protocol-t20")
    bptt = {}
    for r in runs:
        if r["run"]["algo"] == "bptt":
            bptt.setdefault(r["run"]["task"], []).append(r["run"]["iterations"])
    for task, its in sorted(bptt.items()):
        say(f"BPTT on {task}: iterations to solve (every seed solves: {len(its)} of {len(its)})", f"{sorted(its)}, median {statistics.median(its):g}")
    solved = {}
    for r in runs:
        if r["run"]["algo"] == "lra" and r["run"]["solved"]:
            solved.setdefault(variant(r), []).append(r["run"]["iterations"])
    for v, its in sorted(solved.items(), key=str):
        m = statistics.median(its)
        b = statistics.median(bptt[v[0]])
        say(f"LRA {v[2]} β {v[3]} α {v[4]} on {v[0]}: runs that solve, at", f"{sorted(its)}, median {m:g}: {m / b:.1f} times BPTT's median {b:g}"
            + ("" if min(its) >= min(bptt[v[0]]) else f"; {sum(i < min(bptt[v[0]]) for i in its)} faster than every BPTT run"))

    local = [r for r in runs if r["run"].get("semantics") == "local"]
    stopped = [r for r in local if r["run"]["stop_reason"] in ("solved", "patience")]
    going = [r for r in local if r["run"]["stop_reason"] == "max-iter"]
    say("local-semantics runs", f"{len(local)}; {len(stopped)} solved or stopped by patience before 30,000, "
        + ", ".join(f"{r['run']['task']} β {r['run']['beta']} α {r['run']['alpha']} seed {r['run']['seed']} at 30,000 with {pct(r['run']['best_valid_accuracy'])}" for r in going))
    for r in load("protocol-t20-extend"):
        if r["run"]["stop_reason"] != "patience" or r["run"]["iterations"] > 30000:
            say(f"continued to 100,000: seed {r['run']['seed']}", f"{r['run']['stop_reason']} at {r['run']['iterations']:,} with {pct(r['run']['best_valid_accuracy'])}")

    reference_flat = [r for r in runs if r["run"].get("semantics") == "reference" and not regularised(r) and r["run"]["task"] != "random-permutation"]
    at_budget = [r for r in reference_flat if r["run"]["stop_reason"] == "max-iter"]
    rises = []
    for r in at_budget:
        by = {m["iteration"]: m["best_valid_accuracy"] for m in r["metrics"]}
        rises.append(100 * (by[30000] - by[27000]))
    say("unregularised reference semantics on the temporal-order tasks at 30,000",
        f"{len(at_budget)} of {len(reference_flat)} runs; best accuracy rose by {min(rises):.2f}-{max(rises):.2f} points over the last 3,000 iterations")

    flat_rp = [r["run"]["best_valid_accuracy"] for r in runs if r["run"]["task"] == "random-permutation" and r["run"]["algo"] == "lra" and not regularised(r)]
    say("random permutation without the regulariser, both semantics: best accuracy", spread(flat_rp))

    print()
    print("## results.md, the gradient's conditioning (protocol-t20)")
    for label, pick in (("BPTT", lambda r: r["run"]["algo"] == "bptt"), ("unregularised LRA, both semantics", lambda r: r["run"]["algo"] == "lra" and not regularised(r))):
        c = cosines([r for r in runs if pick(r)])
        say(f"{label}: lowest cosine", f"{min(c):.6f} over {len(c)} checks")
    groups = {}
    for r in runs:
        if regularised(r):
            groups.setdefault((r["run"]["task"], r["run"]["semantics"], r["run"]["beta"], r["run"]["alpha"]), []).append(r)
    for (task, semantics, beta, alpha), g in sorted(groups.items()):
        say(f"regularised {semantics}, β {beta}, α {alpha}, {task}", conditioning(g))

    print()
    print("## results.md, the regularised reference semantics on random permutation over two builds (seeds-random-permutation T = 20, protocol-t20)")
    both = [r for r in load("seeds-random-permutation") + runs
            if r["run"]["task"] == "random-permutation" and r["run"]["length"] == 20 and r["run"].get("semantics") == "reference"]
    reg = [r["run"] for r in both if regularised(r)]
    flat = [r["run"]["best_valid_accuracy"] for r in both if not regularised(r)]
    say("regularised runs", f"{sum(x['solved'] for x in reg)} of {len(reg)} solved; best accuracy {spread([x['best_valid_accuracy'] for x in reg])}")
    say("unregularised runs: best accuracy", spread(flat))

    print()
    print("## results.md, T = 50 (protocol-t50)")
    chance = {"temporal-order": "25 % (4 classes)", "temporal-order-3bit": "12.5 % (8 classes)", "random-permutation": "50 % (one of 2 symbols)"}
    groups = {}
    for r in load("protocol-t50"):
        groups.setdefault((r["run"]["task"], r["run"]["beta"], r["run"]["alpha"]), []).append(r)
    for (task, beta, alpha), g in sorted(groups.items()):
        best = [r["run"]["best_valid_accuracy"] for r in g]
        say(f"{task}, β {beta}, α {alpha}", f"{sum(r['run']['solved'] for r in g)}/{len(g)} solved, {mean_sd(best)} ({spread(best)}), chance {chance[task]}; {conditioning(g)}")


def data():
    print()
    print("## data.md, sunspots (data/sunspots, data/sunspots-search)")
    groups = {}
    for r in load("data/sunspots"):
        groups.setdefault((r["run"]["algo"], r["run"].get("beta"), r["run"].get("alpha"), r["run"]["lr"]), []).append(r["run"])
    for (algo, beta, alpha, lr), g in sorted(groups.items(), key=str):
        f4 = lambda v: f"{v:.4f}"
        f2 = lambda v: f"{v:.2f}"
        say(f"{algo} lr {lr} β {beta} α {alpha} ({len(g)} seeds)",
            f"R² {mean_sd([x['valid_r2'] for x in g], f4)}, RMSE {mean_sd([x['valid_rmse'] for x in g], f2)}, MAE {mean_sd([x['valid_mae'] for x in g], f2)}, "
            f"best check at {min(x['best_iteration'] for x in g):,}-{max(x['best_iteration'] for x in g):,}, {statistics.mean(x['wall_seconds'] for x in g):.1f} s per run; "
            f"baselines: mean {g[0]['baseline_r2_mean']:.4f}, persistence {g[0]['baseline_r2_persistence']:.4f}")
    search = [r["run"] for r in load("data/sunspots-search") if r["run"]["algo"] == "lra"]
    best_reg = max((x for x in search if x["alpha"] > 0), key=lambda x: x["valid_r2"])
    twin = next(x for x in search if x["alpha"] == 0 and x["lr"] == best_reg["lr"] and x["beta"] == best_reg["beta"])
    say("search: best α > 0", f"R² {best_reg['valid_r2']:.4f} (α {best_reg['alpha']}, β {best_reg['beta']}, lr {best_reg['lr']}); α = 0 at that lr and β {twin['valid_r2']:.4f}")
    say("search: the three best α = 0", ", ".join(f"{x['valid_r2']:.4f} (β {x['beta']}, lr {x['lr']})" for x in sorted((x for x in search if x["alpha"] == 0), key=lambda x: -x["valid_r2"])[:3]))

    print()
    print("## data.md, Fashion-MNIST (data/fashion, data/fashion-search, data/fashion/test.txt)")
    test = {}
    with open(os.path.join(ROOT, "data", "fashion", "test.txt"), encoding="utf-8") as f:
        for line in f:
            test[line.split(":")[0]] = re.search(r"accuracy ([0-9.]+ %)", line).group(1)
    runs = load("data/fashion")
    groups = {}
    for r in runs:
        groups.setdefault((r["run"]["algo"], r["run"]["lr"], r["run"].get("beta"), r["run"].get("alpha")), []).append(r)
    for (algo, lr, beta, alpha), g in sorted(groups.items(), key=str):
        seed1 = next((r["id"] for r in g if r["run"]["seed"] == 1), None)
        say(f"{algo} lr {lr} β {beta} α {alpha} ({len(g)} seeds)",
            f"validation accuracy at the best check by loss {mean_sd([r['run']['valid_accuracy'] for r in g])}, "
            f"highest of any check {mean_sd([r['run']['best_valid_accuracy'] for r in g])}, test (seed 1) {test.get(seed1, '-')}, "
            f"{statistics.mean(r['run']['wall_seconds'] for r in g):.1f} s and {1e3 * statistics.mean(r['run']['seconds_per_iteration'] for r in g):.2f} ms/iteration per run")
    last = [r for r in runs if r["run"]["best_iteration"] == r["run"]["iterations"]]
    say("runs whose best check (by loss) is the last", f"{len(last)} of {len(runs)}; the others: "
        + ", ".join(f"{r['run']['algo']} lr {r['run']['lr']} α {r['run'].get('alpha', '-')} seed {r['run']['seed']} at {r['run']['best_iteration']:,}" for r in runs if r not in last))
    at = [m["valid_accuracy"] for r in runs if r["run"]["algo"] == "bptt" and r["run"]["lr"] == 0.002 for m in r["metrics"] if m["iteration"] == 2000]
    say("bptt lr 0.002 at iteration 2,000: mean validation accuracy", pct(statistics.mean(at)))
    search = [r["run"] for r in load("data/fashion-search")]
    lra = [x for x in search if x["algo"] == "lra"]
    wins = sum(max((x for x in lra if x["lr"] == y["lr"] and x["beta"] == y["beta"]), key=lambda x: x["valid_accuracy"])["alpha"] == 0
               for y in lra if y["alpha"] == 0)
    say("search, LRA: α = 0 best of its (lr, β)", f"{wins} of {sum(x['alpha'] == 0 for x in lra)} settings")
    say("search, BPTT (2,000 iterations, seed 1): accuracy at the best check by lr",
        ", ".join(f"{x['lr']}: {pct(x['valid_accuracy'])}" for x in sorted((x for x in search if x["algo"] == "bptt"), key=lambda x: x["lr"])))


def online():
    print()
    print("## online.md, the learner's settings (online/search.md)")
    rows = []
    with open(os.path.join(ONLINE, "search.md"), encoding="utf-8") as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) == 6 and cells[2].isdigit():
                options = dict(re.findall(r"--([a-z]+) (\S+)", cells[1]))
                rows.append({"learner": cells[0], "window": int(cells[2]), "all": float(cells[3]), "last": float(cells[4]), "better": cells[5] == "yes", **options})
    for learner in dict.fromkeys(r["learner"] for r in rows):
        mine = [r for r in rows if r["learner"] == learner]
        best = min(mine, key=lambda r: r["last"])
        say(f"{learner}: best of {len(mine)} settings by the last quarter's RMSE",
            f"{best['optimizer']} lr {best['lr']}, W {best['window']}" + (f", β {best['beta']}, K {best['k']}" if "beta" in best else "")
            + f": {best['all']:.4f}, last quarter {best['last']:.4f}")
        for window in (4, 16):
            at = [r for r in mine if r["window"] == window and r["optimizer"] == "sgd" and r["lr"] == "0.05" and r.get("beta", "1") == "1" and r.get("k", "10") == "10"]
            if at:
                say(f"{learner}: SGD lr 0.05, W {window}" + (", β 1, K 10" if "beta" in at[0] else ""), f"{at[0]['all']:.4f}, last quarter {at[0]['last']:.4f}")
        if learner.startswith("GRU"):
            at = next(r for r in mine if r["window"] == 16 and r["optimizer"] == "sgd" and r["lr"] == "0.01")
            say("GRU, BPTT: SGD lr 0.01, W 16", f"{at['all']:.4f}, last quarter {at['last']:.4f}")
    for beta in ("0.1", "1", "10"):
        at = [r for r in rows if r.get("beta") == beta]
        sgd = [r for r in at if r["optimizer"] == "sgd"]
        say(f"LRA, β {beta}: settings worse than the frozen model in the last quarter",
            f"{sum(not r['better'] for r in sgd)} of {len(sgd)} with SGD, {sum(not r['better'] for r in at)} of {len(at)} in all"
            + "".join(f"; better: {r['optimizer']} lr {r['lr']}, W {r['window']}, K {r['k']} ({r['last']:.4f})" for r in at if r["better"] and beta == "10"))


protocol()
data()
online()
