#!/usr/bin/python3
"""Converts the data sets of docs/data.md from Debian packages into files fastlra reads.

  apt-get install python3-numpy python3-statsmodels dataset-fashion-mnist
  /usr/bin/python3 docs/data/convert.py sunspots docs/data/sunspots.csv
  /usr/bin/python3 docs/data/convert.py fashion-mnist DIR     # DIR/fashion-{train,test,fit,valid}.npz

sunspots: statsmodels' yearly sunspot numbers 1700-2008 (YEAR, SUNACTIVITY), as CSV.
fashion-mnist: sequential Fashion-MNIST: each 28 x 28 image is 28 steps of 28 pixels (rows, top
to bottom), scaled to [0, 1], float32 x (N x 28 x 28) and uint8 labels y (N), 10 classes.
The 60,000 training images are also split once, explicitly, into fashion-fit.npz (54,000) and
fashion-valid.npz (6,000; a permutation drawn by numpy's default_rng(2024)), so that FastLra
(--data fit --valid-data valid) and docs/data/peers_cells.py train and validate on the same images.
"""
import gzip
import sys

import numpy as np


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    what, out = sys.argv[1], sys.argv[2]
    if what == "sunspots":
        import statsmodels.api as sm
        d = sm.datasets.sunspots.load_pandas().data
        d["YEAR"] = d["YEAR"].astype(int)
        d.to_csv(out, index=False)
    elif what == "fashion-mnist":
        root = "/usr/share/datasets/fashion-mnist"
        for split, prefix in (("train", "train"), ("test", "t10k")):
            x = idx(f"{root}/{prefix}-images-idx3-ubyte.gz").astype(np.float32) / 255.0
            y = idx(f"{root}/{prefix}-labels-idx1-ubyte.gz")
            np.savez(f"{out}/fashion-{split}.npz", x=x, y=y)
            if split == "train":
                order = np.random.default_rng(2024).permutation(len(y))
                fit, valid = np.sort(order[:54000]), np.sort(order[54000:])
                np.savez(f"{out}/fashion-fit.npz", x=x[fit], y=y[fit])
                np.savez(f"{out}/fashion-valid.npz", x=x[valid], y=y[valid])
    else:
        sys.exit(f"unknown data set {what} (sunspots or fashion-mnist)")


main()
