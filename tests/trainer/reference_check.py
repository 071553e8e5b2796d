#!/usr/bin/python3
"""The trainer's step against PyTorch: loss, gradients and the optimizer's update.

Usage: reference_check.py DUMP_DIR
DUMP_DIR is what `moe_trainer --dump DIR` wrote on one rank: the model's shape, its weights and
AdamW moments before a step, the step's batch, its loss and every gradient, the learning rate and
clipping factor the trainer used, and its weights after the update. This script
- rebuilds the model from PyTorch operations (torch_model.py: layer_norm, gelu, softmax, topk,
  autograd) in float64, runs the batch and compares the loss (within 1e-4 relative) and each
  parameter's gradient (max|diff| / max|reference| <= 1e-4);
- recomputes the learning rate of that step (linear warm-up, cosine decay to a tenth) and the
  clipping factor from the trainer's gradients (norm over all of them, as clip_grad_norm_), and
  runs torch.optim.AdamW from the dumped moments on the clipped gradients (weight decay on the
  tensors the trainer decays): each tensor's update (after - before) must match the trainer's
  within max|diff| / max|reference| <= 1e-4.
Exits 1 naming every quantity that differs. Needs Debian's python3-torch (/usr/bin/python3).
"""
import math
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
                name, region, offset, rows, cols, decay = parts[1], parts[2], *map(int, parts[3:7])
                tensors.append((name, region, offset, rows, cols, bool(decay)))
            else:
                shape[parts[0]] = float(parts[1])
    return shape, tensors


def load(directory):
    shape, tensors = read_manifest(directory + "/manifest.txt")

    def arrays(suffix):
        return {r: np.fromfile(f"{directory}/{r}{suffix}.bin", dtype=np.float32) for r in ("dense", "expert")}

    flat = {key: arrays(suffix) for key, suffix in
            (("before", ""), ("grad", "_grad"), ("m", "_m"), ("v", "_v"), ("after", "_after"))}
    tensors_by_name = {}
    for name, region, offset, rows, cols, decay in tensors:
        count = rows * cols
        tensors_by_name[name] = {key: flat[key][region][offset:offset + count].reshape(rows, cols).astype(np.float64)
                                 for key in flat}
        tensors_by_name[name]["decay"] = decay
    inputs = np.fromfile(directory + "/inputs.bin", dtype=np.uint8).astype(np.int64)
    targets = np.fromfile(directory + "/targets.bin", dtype=np.uint8).astype(np.int64)
    return shape, tensors_by_name, torch.tensor(inputs), torch.tensor(targets)


def relative(ours, reference):
    scale = np.abs(reference).max()
    return np.abs(ours - reference).max() / (scale if scale > 0 else 1.0)


def check_gradients(shape, tensors, inputs, targets, failures):
    params = {name: torch.tensor(t["before"], requires_grad=True) for name, t in tensors.items()}
    cross_entropy, aux = forward(shape, params, inputs, targets)
    (cross_entropy + aux).backward()

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
        diff = relative(tensors[name]["grad"], reference)
        worst = max(worst, diff)
        if diff > TOLERANCE or not np.isfinite(diff):
            failures.append(f"gradient of {name} (max|diff|/max|ref| = {diff:.2e})")
    print(f"gradients: {len(params)} tensors, worst max|diff|/max|ref| = {worst:.2e}")


def check_update(shape, tensors, failures):
    step, base_lr, warmup, total = int(shape["step"]), shape["base_lr"], int(shape["warmup"]), int(shape["total_steps"])
    if step < warmup:
        lr = base_lr * (step + 1) / warmup
    else:
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        lr = 0.1 * base_lr + 0.9 * base_lr * 0.5 * (1 + math.cos(math.pi * progress))
    lr_diff = abs(shape["lr"] - lr) / lr
    norm = math.sqrt(sum(float((t["grad"] ** 2).sum()) for t in tensors.values()))
    clip = shape["clip"]
    scale = min(1.0, clip / (norm + 1e-6)) if clip > 0 else 1.0
    scale_diff = abs(shape["clip_scale"] - scale) / scale
    print(f"step {step}: learning rate trainer {shape['lr']:.6e} reference {lr:.6e}; gradient norm {norm:.4f}, "
          f"clipping factor trainer {shape['clip_scale']:.6f} reference {scale:.6f}")
    if lr_diff > 1e-6:
        failures.append(f"learning rate (relative difference {lr_diff:.2e})")
    if scale_diff > 1e-5:
        failures.append(f"clipping factor (relative difference {scale_diff:.2e})")

    params, groups = {}, {True: [], False: []}
    for name, t in tensors.items():
        p = torch.nn.Parameter(torch.tensor(t["before"]))
        p.grad = torch.tensor(t["grad"] * scale)
        params[name] = p
        groups[t["decay"]].append(p)
    optimizer = torch.optim.AdamW(
        [{"params": groups[True], "weight_decay": shape["weight_decay"]}, {"params": groups[False], "weight_decay": 0.0}],
        lr=lr, betas=(shape["beta1"], shape["beta2"]), eps=shape["eps"])
    for name, p in params.items():
        optimizer.state[p] = {"step": torch.tensor(shape["updates"] - 1.0),
                              "exp_avg": torch.tensor(tensors[name]["m"]),
                              "exp_avg_sq": torch.tensor(tensors[name]["v"])}
    optimizer.step()
    worst = 0.0
    for name, p in params.items():
        t = tensors[name]
        diff = relative(t["after"] - t["before"], p.detach().numpy() - t["before"])
        worst = max(worst, diff)
        if diff > TOLERANCE or not np.isfinite(diff):
            failures.append(f"AdamW update of {name} (max|diff|/max|ref| = {diff:.2e})")
    print(f"AdamW updates: {len(params)} tensors, worst max|diff|/max|ref| = {worst:.2e}")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    shape, tensors, inputs, targets = load(sys.argv[1])
    failures = []
    check_gradients(shape, tensors, inputs, targets, failures)
    check_update(shape, tensors, failures)
    if failures:
        print("MISMATCH: " + "; ".join(failures))
        return 1
    print("trainer matches the PyTorch reference")
    return 0


if __name__ == "__main__":
    sys.exit(main())
