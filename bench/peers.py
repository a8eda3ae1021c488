"""Times one training iteration of a peer, for bench/peers.sh: the paper's published code (its
SRNN, imported from a clone of nmanchev/lra-rnn; GPL-3.0, run, not copied) or PyTorch BPTT
(nn.RNN, nn.GRU or nn.LSTM + nn.Linear written here). Temporal order, T = 20, B = 20, H = 100,
K = 10, alpha = 0.1, SGD, one thread. Prints the median seconds per iteration of the timed
iterations; torch-step instead times one streaming step (B = 1, no gradient) of the cell.

usage: python3 peers.py published REPO ITERATIONS
       python3 peers.py torch-bptt [rnn|gru|lstm] ITERATIONS
       python3 peers.py torch-step rnn|gru|lstm ITERATIONS
"""
import statistics
import sys
import time

import numpy as np
import torch

torch.set_num_threads(1)
T, B, H, K, ALPHA, LR = 20, 20, 100, 10, 0.1, 0.1


def published(repo):
    sys.path.insert(0, repo)
    from lra2_reg import SRNN
    from tempOrder import TempOrderTask
    torch.manual_seed(1234)
    task = TempOrderTask(np.random.RandomState(1234), "float32")
    model = SRNN(task, T, torch.nn.init.orthogonal_, H, B, task.classifType, 10.0, K, ALPHA, 1.0, "LOG-PENALTY")
    opt = torch.optim.SGD(model.parameters(), lr=LR)

    def step():
        # The body of SRNN.train's loop, without its validation checks.
        x, y = task.generate(B, T)
        x, y = torch.from_numpy(x), torch.from_numpy(y)
        opt.zero_grad()
        h, z, out = model.forward(x, model.h0)
        _, _, dWxh, dWhy, dby, dWhh, dbh = model.calc_grads(x, y, h, z, out)
        model.Whh.grad, model.Wxh.grad, model.bh.grad = dWhh.sum(0), dWxh.sum(0), dbh.sum(0)
        model.Why.grad, model.by.grad = dWhy, dby
        opt.step()
    return step


CELLS = {"rnn": lambda: torch.nn.RNN(6, H, nonlinearity="tanh"), "gru": lambda: torch.nn.GRU(6, H), "lstm": lambda: torch.nn.LSTM(6, H)}


def torch_bptt(cell):
    torch.manual_seed(1234)
    rng = np.random.RandomState(1234)
    rnn, fc = CELLS[cell](), torch.nn.Linear(H, 4)
    opt = torch.optim.SGD(list(rnn.parameters()) + list(fc.parameters()), lr=0.01)
    loss = torch.nn.CrossEntropyLoss()

    def step():
        # A temporal-order-shaped batch (T x B x 6, one class of 4 per sequence).
        x = torch.from_numpy(rng.randint(0, 2, (T, B, 6)).astype(np.float32))
        y = torch.from_numpy(rng.randint(0, 4, B))
        opt.zero_grad()
        out, _ = rnn(x)
        loss(fc(out[-1]), y).backward()
        torch.nn.utils.clip_grad_norm_(list(rnn.parameters()) + list(fc.parameters()), 1.0)
        opt.step()
    return step


def torch_step(cell):
    # One tick of a deployed model: one input (1 x 1 x 6), the state carried, the readout.
    torch.manual_seed(1234)
    rnn, fc = CELLS[cell](), torch.nn.Linear(H, 4)
    x = torch.rand(1, 1, 6)
    state = [None]

    def step():
        with torch.no_grad():
            out, state[0] = rnn(x, state[0])
            fc(out[-1])
    return step


def main():
    kind = sys.argv[1]
    if kind == "published":
        step = published(sys.argv[2])
    elif kind == "torch-step":
        step = torch_step(sys.argv[2])
    else:
        step = torch_bptt(sys.argv[2] if len(sys.argv) > 3 else "rnn")
    iterations = int(sys.argv[-1])
    for _ in range(3):
        step()  # warm-up
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    print(statistics.median(times))


main()
