#!/usr/bin/python3
"""The trainer's loss and gradients against an independent PyTorch model.

Usage: reference_check.py DUMP_DIR
DUMP_DIR is what `moe_trainer --dump DIR` wrote on one rank: the model's shape, its initial
weights, one batch, and the loss and every gradient the trainer computed. This script builds the
same model from PyTorch operations (layer_norm, gelu, softmax, topk, autograd) in float64, runs
the batch, and compares: the loss within 1e-4 relative, and each parameter's gradient with
max|diff| / max|reference| <= 1e-4. Exits 1 naming every tensor that differs.
Needs Debian's python3-torch (run with /usr/bin/python3).
"""
import sys

import numpy as np
import torch

from torch_model import forward

TOLERANCE = 1e-4


def read_manifest(path):
    shape, tensors = {}, []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if parts[0] == "tensor":
                name, region, offset, rows, cols = parts[1], parts[2], int(parts[3]), int(parts[4]), int(parts[5])
                tensors.append((name, region, offset, rows, cols))
            else:
                shape[parts[0]] = float(parts[1])
    return shape, tensors


def load(directory):
    shape, tensors = read_manifest(directory + "/manifest.txt")
    flat = {r: np.fromfile(f"{directory}/{r}.bin", dtype=np.float32) for r in ("dense", "expert")}
    grads = {r: np.fromfile(f"{directory}/{r}_grad.bin", dtype=np.float32) for r in ("dense", "expert")}
    params, trainer_grads = {}, {}
    for name, region, offset, rows, cols in tensors:
        count = rows * cols
        values = flat[region][offset:offset + count].reshape(rows, cols)
        params[name] = torch.tensor(values, dtype=torch.float64, requires_grad=True)
        trainer_grads[name] = grads[region][offset:offset + count].reshape(rows, cols).astype(np.float64)
    inputs = np.fromfile(directory + "/inputs.bin", dtype=np.uint8).astype(np.int64)
    targets = np.fromfile(directory + "/targets.bin", dtype=np.uint8).astype(np.int64)
    return shape, params, trainer_grads, torch.tensor(inputs), torch.tensor(targets)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    shape, params, trainer_grads, inputs, targets = load(sys.argv[1])
    cross_entropy, aux = forward(shape, params, inputs, targets)
    (cross_entropy + aux).backward()
    failures = []

    def compare_scalar(what, ours, reference):
        diff = abs(ours - reference) / max(abs(reference), 1e-12)
        print(f"{what}: trainer {ours:.8f} reference {reference:.8f} relative difference {diff:.2e}")
        if diff > TOLERANCE:
            failures.append(what)

    compare_scalar("cross-entropy", shape["cross_entropy"], cross_entropy.item())
    compare_scalar("aux loss", shape["aux"], aux.item())
    worst = 0.0
    for name, p in params.items():
        reference = p.grad.numpy() if p.grad is not None else np.zeros(p.shape)
        scale = np.abs(reference).max()
        diff = np.abs(trainer_grads[name] - reference).max() / (scale if scale > 0 else 1.0)
        worst = max(worst, diff)
        if diff > TOLERANCE or not np.isfinite(diff):
            failures.append(f"gradient of {name} (max|diff|/max|ref| = {diff:.2e})")
    print(f"gradients: {len(params)} tensors, worst max|diff|/max|ref| = {worst:.2e}")
    if failures:
        print("MISMATCH: " + "; ".join(failures))
        return 1
    print("trainer matches the PyTorch reference")
    return 0


if __name__ == "__main__":
    sys.exit(main())
