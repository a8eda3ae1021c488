#!/usr/bin/python3
"""Converts the data sets of docs/data.md from Debian packages into files fastlra reads.

  sudo apt-get install python3-numpy python3-statsmodels dataset-fashion-mnist   (no sudo as root)
  /usr/bin/python3 docs/data/convert.py sunspots docs/data/sunspots.csv
  /usr/bin/python3 docs/data/convert.py fashion-mnist DIR     # DIR/fashion-{train,test,fit,valid}.npz

sunspots: statsmodels' yearly sunspot numbers 1700-2008 (YEAR, SUNACTIVITY), as CSV.
fashion-mnist: sequential Fashion-MNIST: each 28 x 28 image is 28 steps of 28 pixels (rows, top
to bottom), scaled to [0, 1], float32 x (N x 28 x 28) and uint8 labels y (N), 10 classes.
The 60,000 training images are also split once, explicitly, into fashion-fit.npz (54,000) and
fashion-valid.npz (6,000; a permutation drawn by numpy's default_rng(2024)), so that FastLra
(--data fit --valid-data valid) and docs/data/peers_cells.py train and validate on the same images.

The output folder is created if missing. The .npz files are np.savez's layout (stored .npy
members) written with fixed bytes: no time stamps, one header form whatever numpy's version, so
every conversion gives the same files, whose SHA-256 (what a sweep knows a data file by, docs/data.md)
matches the committed results'.
"""
import gzip
import os
import struct
import sys
import zipfile


def install_hint(package):
    return f"install it with: {'' if os.geteuid() == 0 else 'sudo '}apt-get install {package}"


try:
    import numpy as np
except ImportError:
    sys.exit(f"convert.py: numpy is missing; {install_hint('python3-numpy')}")

FASHION = "/usr/share/datasets/fashion-mnist"


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def npy(a):
    """A .npy file (format 1.0) of a C-ordered array, its header padded to 64 bytes as numpy does."""
    a = np.ascontiguousarray(a)
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %r, }" % (a.dtype.str, tuple(a.shape))
    header += " " * (-(10 + len(header) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1") + a.tobytes()


def save_npz(path, **arrays):
    """np.savez(path, **arrays) with fixed bytes, written to a temporary file and renamed."""
    temporary = path + ".tmp"
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_STORED) as z:
        for name, a in arrays.items():
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = 0o644 << 16
            z.writestr(info, npy(a))
    os.replace(temporary, path)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    what, out = sys.argv[1], sys.argv[2]
    if what == "sunspots":
        try:
            import statsmodels.api as sm
        except ImportError:
            sys.exit(f"convert.py: statsmodels is missing; {install_hint('python3-statsmodels')}")
        os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
        d = sm.datasets.sunspots.load_pandas().data
        d["YEAR"] = d["YEAR"].astype(int)
        d.to_csv(out, index=False)
    elif what == "fashion-mnist":
        if not os.path.exists(f"{FASHION}/train-images-idx3-ubyte.gz"):
            sys.exit(f"convert.py: {FASHION} has no Fashion-MNIST; {install_hint('dataset-fashion-mnist')}")
        os.makedirs(out, exist_ok=True)
        for split, prefix in (("train", "train"), ("test", "t10k")):
            x = idx(f"{FASHION}/{prefix}-images-idx3-ubyte.gz").astype(np.float32) / 255.0
            y = idx(f"{FASHION}/{prefix}-labels-idx1-ubyte.gz")
            save_npz(f"{out}/fashion-{split}.npz", x=x, y=y)
            if split == "train":
                order = np.random.default_rng(2024).permutation(len(y))
                fit, valid = np.sort(order[:54000]), np.sort(order[54000:])
                save_npz(f"{out}/fashion-fit.npz", x=x[fit], y=y[fit])
                save_npz(f"{out}/fashion-valid.npz", x=x[valid], y=y[valid])
    else:
        sys.exit(f"unknown data set {what} (sunspots or fashion-mnist)")


main()
