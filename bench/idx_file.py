"""Reads the gzipped IDX files of Fashion-MNIST for the Python peers (bench/*_peer.py)."""
import gzip

import numpy as np
import torch


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def train_images(data):
    """The training images of the IDX folder `data` as floats in [0, 1], (N, H, W)."""
    return torch.from_numpy(read_idx(f"{data}/train-images-idx3-ubyte.gz").copy()).float().div_(255)


def train_labels(data):
    """Their labels, int64 (N)."""
    return torch.from_numpy(read_idx(f"{data}/train-labels-idx1-ubyte.gz").astype(np.int64))
