# Made the PyTorch fixtures in this folder; the tests read them and never run Python.
#   /usr/bin/python3 tests/torch/make_torch_models.py      (Debian 12: apt-get install python3-torch python3-numpy;
#                                                           torch 1.13, numpy 1.24)
# For each model (nn.RNN, nn.GRU or nn.LSTM with num_layers, then nn.Linear on every step's state),
# seeded: NAME.safetensors, the module's state_dict as written by hand (the safetensors package is not
# needed), and NAME.json: the sizes, the key prefixes, fixed inputs x (T x I, one sequence) and the
# readout after every step, y (T x O) as PyTorch computes it in float32, and y_f64 from the same
# weights in float64 (how far float32 rounding alone moves PyTorch's own outputs). gru-L2.npz holds
# the GRU's state_dict again, as numpy.savez writes it.
import json
import os
import struct

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
I, H, O, T = 3, 5, 2, 6


class Net(torch.nn.Module):
    def __init__(self, cell, layers, rnn_name, fc_name):
        super().__init__()
        kind = {"tanh": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell]
        self.rnn_name, self.fc_name = rnn_name, fc_name
        setattr(self, rnn_name, kind(I, H, num_layers=layers, batch_first=True))
        setattr(self, fc_name, torch.nn.Linear(H, O))

    def forward(self, x):
        states, _ = getattr(self, self.rnn_name)(x)
        return getattr(self, self.fc_name)(states)


def write_safetensors(path, tensors):
    # The format: an 8-byte little-endian header length, the JSON header, then the raw data.
    header, blobs, offset = {}, [], 0
    for name, value in tensors.items():
        data = np.ascontiguousarray(value, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(value.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def array(value):
    return {"shape": list(value.shape), "data": [float(v) for v in value.reshape(-1)]}


def make(name, cell, layers, rnn_name, fc_name, seed):
    torch.manual_seed(seed)
    net = Net(cell, layers, rnn_name, fc_name)
    x = torch.randn(1, T, I)
    with torch.no_grad():
        y = net(x)[0]
        y64 = net.double()(x.double())[0]
    net.float()
    state = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    write_safetensors(os.path.join(HERE, name + ".safetensors"), state)
    if name == "gru-L2":
        np.savez(os.path.join(HERE, name + ".npz"), **state)
    fixture = {
        "module": type(getattr(net, rnn_name)).__name__, "cell": cell, "layers": layers,
        "inputs": I, "hidden": H, "outputs": O, "steps": T,
        "rnn_prefix": rnn_name + ".", "fc_prefix": fc_name + ".",
        "x": array(x[0].numpy()), "y": array(y.numpy()), "y_f64": array(y64.numpy()),
    }
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")


make("rnn-L1", "tanh", 1, "rnn", "fc", 1)
make("gru-L2", "gru", 2, "rnn", "fc", 2)
make("lstm-L2", "lstm", 2, "lstm", "head", 3)
