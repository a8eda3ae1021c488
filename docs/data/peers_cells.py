#!/usr/bin/python3
"""PyTorch's nn.RNN, nn.GRU and nn.LSTM (+ nn.Linear) trained as FastLra trains them on the data of
docs/data.md, for its section "Gated and stacked cells against PyTorch". Needs Debian's
python3-torch and python3-numpy; FastLra's tests and CI never run it.

  /usr/bin/python3 docs/data/peers_cells.py sunspots OUT.jsonl [options]
  /usr/bin/python3 docs/data/peers_cells.py fashion DIR OUT.jsonl [options]   # DIR: convert.py's fashion-{fit,valid}.npz
  /usr/bin/python3 docs/data/peers_cells.py table FASTLRA_SWEEP_DIR[,DIR...] PYTORCH.jsonl[,FILE...]
  /usr/bin/python3 docs/data/peers_cells.py twins FASTLRA_SWEEP_DIR TWIN.jsonl     # runs made with --twin
  /usr/bin/python3 docs/data/peers_cells.py start FASTLRA_SWEEP_DIR TWIN.jsonl      # the same, check by check

options: --cells tanh,gru,lstm --layers 1,2 --seeds 1,2,3, and --max-iter, --check-every and
         --patience N (default: the doc's settings)
         --twin: start from FastLra's own initial parameters for the seed and draw its batches in
         FastLra's order (numpy's legacy RandomState is FastLra's generator), so that the two runs
         differ only in float rounding (and the runs record every check's validation loss)

Each run appends one JSON line to OUT (a run already there, same data, cell, layers, seed and
budget, is skipped, so an interrupted protocol resumes). What is the same as FastLra's run:

- data and split: sunspots: windows of 20 years, stride 1, the target of step t the next year,
  outputs from step 10 (--washout 10), the last round(0.2 N) = 58 of the 289 windows validate
  (FastLra's time-series split, DataFiles.Split); Fashion-MNIST: the explicit fashion-fit.npz /
  fashion-valid.npz split that FastLra reads with --data / --valid-data;
- standardisation: every input feature (and the sunspots target) by the training set's mean and
  population deviation over all its sequences and steps (over the windows, as FastLra's
  Normalization.Fit does), applied to training and validation data;
- the network: the cell of every layer, num_layers L, hidden H, then nn.Linear(H, O) on the top
  layer's state, time-major; the loss: MSE at every step from the washout (mean over steps,
  sequences and outputs, in standardised units) or cross-entropy on the last step;
- initialisation: PyTorch's defaults (uniform in +-1/sqrt(H)), which FastLra draws too for gated
  cells and stacks; for the one-layer tanh cell FastLra keeps the paper's: orthogonal weight_ih,
  weight_hh and fc.weight with zero biases and ONE bias (bias_hh is held at zero here, so the
  cell has FastLra's parameters and Adam sees the same ones);
- training: batches drawn from an order shuffled anew each epoch (a batch may span two),
  torch.optim.Adam(lr), clip_grad_norm_(all parameters, 1.0) (FastLra's --clip default), one
  thread; every check_every iterations (and after the last) the whole validation set is
  evaluated, the best check is the one of lowest validation loss, and the run stops after
  `patience` checks without a lower one (30 for sunspots, 10 for Fashion, as the doc's tanh rows);
- what is reported: the best check's validation loss, accuracy (Fashion), RMSE, MAE (original
  units) and R2 (sunspots); wall time of the training loop with its checks.

What differs: the random draws (initial weights, batch order) come from torch's and numpy's
generators, not FastLra's, so the runs agree in distribution, not bit for bit.
"""
import json
import math
import sys
import time

import numpy as np
import torch
from torch import nn

SETTINGS = {
    "sunspots": dict(window=20, washout=10, hidden=32, batch=16, lr=0.003, max_iter=3000, check_every=50, patience=30),
    # Fashion: 2,000 iterations, not the doc's 6,000 for the tanh rows: PyTorch's gated, stacked cells at
    # 6,000 iterations would not fit the time the protocol had (docs/data.md).
    "fashion": dict(hidden=100, batch=50, lr=0.002, max_iter=2000, check_every=500, patience=10),
}


def sunspots(settings):
    """The windows of docs/data/sunspots.csv, split as FastLra splits a CSV series: (x, y) train and validation, T x N x 1 each."""
    path = "docs/data/sunspots.csv"
    with open(path) as f:
        header = f.readline().strip().split(",")
    values = np.loadtxt(path, delimiter=",", skiprows=1, usecols=header.index("SUNACTIVITY")).astype(np.float32)
    steps, washout, horizon = settings["window"], settings["washout"], 1
    windows = len(values) - horizon - steps + 1
    x = np.stack([values[k:k + steps] for k in range(windows)])[:, :, None]
    y = np.stack([values[k + washout + horizon:k + steps + horizon] for k in range(windows)])[:, :, None]
    valid = round(0.2 * windows)  # C#'s Math.Round and Python's round both round half to even
    return (x[:-valid], y[:-valid]), (x[-valid:], y[-valid:])


def fashion(folder):
    sets = []
    for name in ("fit", "valid"):
        d = np.load(f"{folder}/fashion-{name}.npz")
        sets.append((d["x"].astype(np.float32), d["y"].astype(np.int64)))
    return sets[0], sets[1]


def moments(a):
    """Per-feature (last axis) mean and population deviation in double, kept as float32 (Normalization.Fit)."""
    flat = a.reshape(-1, a.shape[-1]).astype(np.float64)
    mean = flat.mean(axis=0)
    std = np.sqrt(((flat - mean) ** 2).mean(axis=0))
    return mean.astype(np.float32), std.astype(np.float32)


class Net(nn.Module):
    def __init__(self, cell, inputs, hidden, outputs, layers):
        super().__init__()
        kind = {"tanh": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[cell]
        self.rnn = kind(inputs, hidden, num_layers=layers)
        self.fc = nn.Linear(hidden, outputs)
        if cell == "tanh":
            # FastLra's tanh layers have one bias each: bias_hh is held at zero, so the biases start
            # as FastLra's do (one uniform draw, not the sum of two) and Adam moves them as FastLra's.
            for layer in range(layers):
                bias = getattr(self.rnn, f"bias_hh_l{layer}")
                nn.init.zeros_(bias)
                bias.requires_grad_(False)
        if cell == "tanh" and layers == 1:
            for w in (self.rnn.weight_ih_l0, self.rnn.weight_hh_l0, self.fc.weight):
                nn.init.orthogonal_(w)
            for b in (self.rnn.bias_ih_l0, self.fc.bias):
                nn.init.zeros_(b)

    def forward(self, x, washout):
        """x: T x B x I; the outputs of steps washout .. T-1, R x B x O."""
        z, _ = self.rnn(x)
        return self.fc(z[washout:])

    def load_fastlra(self, flat, cell, layers):
        """Sets the parameters from FastLra's flat layout (RnnShape): per layer Wx (I_l x GH), Wh (H x GH), bx (GH, gated), bh (GH); then Why (H x O), by."""
        at = 0

        def take(*shape):
            nonlocal at
            count = int(np.prod(shape))
            block = torch.from_numpy(flat[at:at + count].reshape(shape).copy())
            at += count
            return block

        with torch.no_grad():
            for layer in range(layers):
                get = lambda name: getattr(self.rnn, f"{name}_l{layer}")
                get("weight_ih").copy_(take(get("weight_ih").shape[1], get("weight_ih").shape[0]).T)
                get("weight_hh").copy_(take(get("weight_hh").shape[1], get("weight_hh").shape[0]).T)
                get("bias_ih").copy_(take(get("bias_ih").shape[0]))  # bx, or a tanh layer's one bias bh
                if cell != "tanh":
                    get("bias_hh").copy_(take(get("bias_hh").shape[0]))
            self.fc.weight.copy_(take(self.fc.weight.shape[1], self.fc.weight.shape[0]).T)
            self.fc.bias.copy_(take(self.fc.bias.shape[0]))
        assert at == len(flat)


def fastlra_initial(net, cell, layers, seed):
    """
    FastLra's initial parameters for seed (Initialization.Default), flat, from numpy's legacy
    RandomState, which FastLra's RandomState reproduces: every parameter uniform in +-1/sqrt(H) in
    layout order; for the one tanh layer Wxh, Whh, Why orthogonal (Q of the QR of standard normal
    draws, diag(R) > 0) and zero biases.
    """
    count = sum(p.numel() for p in net.parameters() if p.requires_grad)
    hidden = net.rnn.hidden_size
    rs = np.random.RandomState(seed)
    if cell == "tanh" and layers == 1:
        inputs, outputs = net.rnn.input_size, net.fc.out_features
        parts = []
        for rows, cols in ((inputs, hidden), (hidden, hidden), (hidden, outputs)):
            draws = rs.standard_normal(rows * cols).reshape(rows, cols)
            q, r = np.linalg.qr(draws if rows >= cols else draws.T)
            q = q * np.sign(np.diag(r))
            parts.append((q if rows >= cols else q.T).reshape(-1))
        wx, wh, wy = parts
        return np.concatenate([wx, wh, np.zeros(hidden), wy, np.zeros(outputs)]).astype(np.float32)
    return ((2 * rs.random_sample(count) - 1) / math.sqrt(hidden)).astype(np.float32)


def run(what, data, cell, layers, seed, settings, twin=False):
    """One run; with twin, from FastLra's own initial parameters and batch order for the seed."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    shuffler = np.random.RandomState(seed)  # twin: FastLra's DataSetBatches, Fisher-Yates on RandomState(seed)
    (tx, ty), (vx, vy) = data
    regression = what == "sunspots"
    mean, std = moments(tx)
    tx, vx = (tx - mean) / std, (vx - mean) / std
    if regression:
        ymean, ystd = moments(ty)
        ty, vy = (ty - ymean) / ystd, (vy - ymean) / ystd
        washout = settings["washout"]
    else:
        washout = tx.shape[1] - 1
    # Time-major tensors: T x N x I; targets R x N x O (regression) or N labels.
    tx_t = torch.from_numpy(np.ascontiguousarray(tx.transpose(1, 0, 2)))
    vx_t = torch.from_numpy(np.ascontiguousarray(vx.transpose(1, 0, 2)))
    ty_t = torch.from_numpy(np.ascontiguousarray(ty.transpose(1, 0, 2))) if regression else torch.from_numpy(ty)
    vy_t = torch.from_numpy(np.ascontiguousarray(vy.transpose(1, 0, 2))) if regression else torch.from_numpy(vy)
    outputs = ty.shape[-1] if regression else int(ty.max()) + 1
    net = Net(cell, tx.shape[-1], settings["hidden"], outputs, layers)
    if twin:
        net.load_fastlra(fastlra_initial(net, cell, layers, seed), cell, layers)
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=settings["lr"])

    def loss_of(o, y):
        return nn.functional.mse_loss(o, y) if regression else nn.functional.cross_entropy(o[-1], y)

    n, batch = tx.shape[0], settings["batch"]
    def shuffled(order):
        if not twin:
            return rng.permutation(n)
        shuffler.shuffle(order)  # in place, the current order, as FastLra does
        return order

    order, cursor = shuffled(np.arange(n)), 0
    best = dict(valid_loss=math.inf, best_iteration=0)
    checks = []
    without_best, iteration, stop = 0, 0, "max-iter"
    start = time.perf_counter()
    while iteration < settings["max_iter"]:
        idx = np.empty(batch, dtype=np.int64)
        for k in range(batch):
            idx[k] = order[cursor]
            cursor += 1
            if cursor == n:
                cursor, order = 0, shuffled(order)
        index = torch.from_numpy(idx)
        x = tx_t[:, index]
        y = ty_t[:, index] if regression else ty_t[index]
        opt.zero_grad()
        loss = loss_of(net(x, washout), y)
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        iteration += 1
        if not math.isfinite(loss.item()):
            stop = "diverged"
            break
        if iteration % settings["check_every"] and iteration != settings["max_iter"]:
            continue
        with torch.no_grad():
            o = net(vx_t, washout)
            valid_loss = loss_of(o, vy_t).item()
            checks.append([iteration, valid_loss])
            if valid_loss < best["valid_loss"]:
                best = dict(valid_loss=valid_loss, best_iteration=iteration)
                if regression:
                    # Original units: errors times the targets' deviation; R2 is the same in either.
                    d = (o - vy_t).double() * float(ystd[0])
                    total = ((vy_t.double() - vy_t.double().mean()) * float(ystd[0])).pow(2).sum().item()
                    best.update(valid_rmse=d.pow(2).mean().sqrt().item(), valid_mae=d.abs().mean().item(),
                                valid_r2=1 - d.pow(2).sum().item() / total)
                else:
                    best["valid_accuracy"] = (o[-1].argmax(dim=1) == vy_t).double().mean().item()
                without_best = 0
            else:
                without_best += 1
        if without_best >= settings["patience"]:
            stop = "patience"
            break
    wall = time.perf_counter() - start
    return dict(data=what, cell=cell, layers=layers, seed=seed, **{k: settings[k] for k in ("hidden", "batch", "lr", "max_iter", "check_every", "patience")},
                iterations=iteration, stop_reason=stop, wall_seconds=wall, seconds_per_iteration=wall / iteration,
                torch=torch.__version__, threads=torch.get_num_threads(), twin=twin, **best, checks=checks)


def protocol(argv):
    what = argv[0]
    folder, out = (None, argv[1]) if what == "sunspots" else (argv[1], argv[2])
    rest = argv[2:] if what == "sunspots" else argv[3:]
    twin = "--twin" in rest
    rest = [a for a in rest if a != "--twin"]
    options = dict(cells="tanh,gru,lstm", layers="1,2", seeds="1,2,3", **{"max-iter": None, "check-every": None, "patience": None})
    for name, value in zip(rest[::2], rest[1::2]):
        if not name.startswith("--") or name[2:] not in options:
            sys.exit(f"unknown option {name} (choose {', '.join('--' + o for o in options)} or --twin)")
        options[name[2:]] = value
    settings = dict(SETTINGS[what])
    for name in ("max-iter", "check-every", "patience"):
        if options[name]:
            settings[name.replace("-", "_")] = int(options[name])
    data = sunspots(settings) if what == "sunspots" else fashion(folder)
    done = set()
    try:
        with open(out) as f:
            for line in f:
                r = json.loads(line)
                done.add((r["cell"], r["layers"], r["seed"], r["max_iter"]))
    except FileNotFoundError:
        pass
    # Seeds outermost: an interrupted protocol has every model on its first seeds.
    for seed in map(int, options["seeds"].split(",")):
        for cell in options["cells"].split(","):
            for layers in map(int, options["layers"].split(",")):
                if (cell, layers, seed, settings["max_iter"]) in done:
                    continue
                r = run(what, data, cell, layers, seed, settings, twin)
                with open(out, "a") as f:
                    f.write(json.dumps(r) + "\n")
                shown = f"R2 {r['valid_r2']:.4f}" if what == "sunspots" else f"acc {100 * r['valid_accuracy']:.2f} %"
                print(f"{cell} L={layers} seed {seed}: {shown} at {r['best_iteration']}, {r['wall_seconds']:.1f} s", flush=True)


def table(sweep, peers):
    """
    The doc's table: per model, FastLra's and PyTorch's mean +- sd (sample) over seeds, their
    difference with its standard error sqrt(sd_F^2/n_F + sd_P^2/n_P) (within noise: under 2 of them),
    the best checks, and the mean wall time per run.
    """
    fastlra, torch_runs = {}, {}
    for folder in sweep.split(","):
        with open(f"{folder}/runs.jsonl") as f:
            for line in f:
                r = json.loads(line)["run"]
                fastlra.setdefault((r.get("cell", "tanh"), int(r.get("layers", 1))), []).append(r)
    for path in peers.split(","):
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                torch_runs.setdefault((r["cell"], r["layers"]), []).append(r)
    regression = next(iter(torch_runs.values()))[0]["data"] == "sunspots"
    # FastLra reports the best check's accuracy as final_valid_accuracy (best_valid_accuracy is the highest of any check).
    keys, scale, digits, unit = (("valid_r2", "valid_r2"), 1, 4, "") if regression else (("final_valid_accuracy", "valid_accuracy"), 100, 2, " %")
    print(f"| model | FastLra: validation {'R²' if regression else 'accuracy'} | PyTorch | difference (its standard error) "
          "| best check at (FastLra; PyTorch) | wall time per run (FastLra; PyTorch) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for cell in ("tanh", "gru", "lstm"):
        for layers in (1, 2):
            f, p = fastlra.get((cell, layers), []), torch_runs.get((cell, layers), [])
            if not f or not p:
                continue
            a, b = (np.array([r[key] for r in runs]) * scale for key, runs in zip(keys, (f, p)))
            sd = lambda v: v.std(ddof=1) if len(v) > 1 else float("nan")
            se = math.sqrt(sd(a) ** 2 / len(a) + sd(b) ** 2 / len(b))
            checks = lambda runs: ", ".join(f"{r['best_iteration']:,}" for r in runs)
            wall = lambda runs: np.mean([r["wall_seconds"] for r in runs])
            name = {"tanh": "tanh", "gru": "GRU", "lstm": "LSTM"}[cell]
            print(f"| {name}, {layers} layer{'s' if layers > 1 else ''} | {a.mean():.{digits}f}{unit} ± {sd(a):.{digits}f} | {b.mean():.{digits}f}{unit} ± {sd(b):.{digits}f}"
                  f" | {a.mean() - b.mean():+.{digits}f} ({se:.{digits}f}) | {checks(f)}; {checks(p)} | {wall(f):.1f} s; {wall(p):.1f} s |")


def twins(sweep, peers):
    """
    Each twin run against FastLra's run of the same model and seed: their figures at the best check,
    where that check was, and the largest relative difference of the validation loss over the checks
    both made, up to the 500th iteration and over the whole run.
    """
    fastlra = {}
    with open(f"{sweep}/runs.jsonl") as f:
        for line in f:
            j = json.loads(line)
            r = j["run"]
            fastlra[(r.get("cell", "tanh"), int(r.get("layers", 1)), r["seed"])] = (r, {m["iteration"]: m["valid_loss"] for m in j["metrics"]})
    print("| model | seed | FastLra | PyTorch twin | best check at (FastLra; twin) | largest relative difference of the validation loss: to iteration 500; over the run |")
    print("| --- | --- | --- | --- | --- | --- |")
    with open(peers) as f:
        for line in f:
            p = json.loads(line)
            r, losses = fastlra[(p["cell"], p["layers"], p["seed"])]
            regression = p["data"] == "sunspots"
            a, b = (r["valid_r2"], p["valid_r2"]) if regression else (100 * r["final_valid_accuracy"], 100 * p["valid_accuracy"])
            shown = (lambda v: f"{v:.4f}") if regression else (lambda v: f"{v:.2f} %")
            gaps = [(i, abs(v - losses[i]) / losses[i]) for i, v in p["checks"] if i in losses]
            early = max((g for i, g in gaps if i <= 500), default=float("nan"))
            name = {"tanh": "tanh", "gru": "GRU", "lstm": "LSTM"}[p["cell"]]
            print(f"| {name}, {p['layers']} layer{'s' if p['layers'] > 1 else ''} | {p['seed']} | {shown(a)} | {shown(b)} | {r['best_iteration']:,}; {p['best_iteration']:,} "
                  f"| {early:.1e}; {max(g for _, g in gaps):.1e} |")


def start(sweep, peers):
    """Each twin's relative difference of the validation loss from FastLra's run, check by check."""
    fastlra = {}
    with open(f"{sweep}/runs.jsonl") as f:
        for line in f:
            j = json.loads(line)
            r = j["run"]
            fastlra[(r.get("cell", "tanh"), int(r.get("layers", 1)), r["seed"])] = {m["iteration"]: m["valid_loss"] for m in j["metrics"]}
    print()
    with open(peers) as f:
        for line in f:
            p = json.loads(line)
            losses = fastlra[(p["cell"], p["layers"], p["seed"])]
            gaps = " ".join(f"{i}:{abs(v - losses[i]) / losses[i]:.0e}" for i, v in p["checks"] if i in losses)
            print(f"- {p['cell']}, {p['layers']} layer{'s' if p['layers'] > 1 else ''}, seed {p['seed']} (iteration:difference): {gaps}")


def main():
    commands = {"table": table, "twins": twins, "start": start}
    if len(sys.argv) < 3 or sys.argv[1] not in ("sunspots", "fashion", *commands):
        sys.exit(__doc__)
    if sys.argv[1] in commands:
        commands[sys.argv[1]](sys.argv[2], sys.argv[3])
    else:
        protocol(sys.argv[1:])


main()
