#!/usr/bin/env python3
"""Compares the tensors of two deepgen checkpoints: weights, buffers, the RNG state and the optimizer
state (Adam's moments and step, SGD's momentum buffers).
usage: compare_checkpoints.py A.pt B.pt   exit 0 when every tensor is bit-identical, 1 otherwise.
Used to check that a refactoring leaves training exactly as it was (DEVELOPERS.md). Needs PyTorch
(Debian's python3-torch reads the archives LibTorch writes)."""
import sys
import torch

OPTIMIZER_STATE = ["step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq", "momentum_buffer"]


def tensors(path):
    module = torch.jit.load(path, map_location="cpu")
    out = dict(module.state_dict())
    # An optimizer's per-parameter state sits in submodules named by a pointer, which differs from run to
    # run: compare the sorted contents of each optimizer's states instead of their names.
    states = {}
    for name, sub in module.named_modules():
        parent, _, leaf = name.rpartition(".")
        if not parent.endswith(".state") or not leaf.startswith("0x"):
            continue
        values = [sub._c.getattr(a) for a in OPTIMIZER_STATE if sub._c.hasattr(a)]
        as_bytes = [v.contiguous().numpy().tobytes() if torch.is_tensor(v) else repr(v).encode() for v in values]
        states.setdefault(parent, []).append(b"|".join(as_bytes))
    return out, {k: sorted(v) for k, v in states.items()}


(a, a_states), (b, b_states) = tensors(sys.argv[1]), tensors(sys.argv[2])
bad = 0
if a.keys() != b.keys():
    print(f"different tensors: only in A {sorted(a.keys() - b.keys())}, only in B {sorted(b.keys() - a.keys())}")
    bad += 1
for name in sorted(a.keys() & b.keys()):
    x, y = a[name], b[name]
    if x.shape != y.shape or x.dtype != y.dtype or not torch.equal(x, y):
        diff = (x.double() - y.double()).abs().max().item() if x.shape == y.shape else float("nan")
        print(f"{name}: differs (max |a-b| {diff:g})")
        bad += 1
for name in sorted(a_states.keys() | b_states.keys()):
    if a_states.get(name) != b_states.get(name):
        print(f"{name}: optimizer state differs")
        bad += 1
states = sum(len(v) for v in a_states.values())
print(f"{len(a.keys() & b.keys())} tensors and {states} optimizer states compared, {bad} differ")
sys.exit(1 if bad else 0)
