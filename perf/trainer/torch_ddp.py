#!/usr/bin/python3
"""The trainer's model (tests/trainer/torch_model.py) trained data-parallel the way a CPU user
would without Strata: PyTorch DistributedDataParallel over Gloo, one process per rank, one thread
each. Prints one line: ranks, median step time, tokens/s, and the communication time per step,
measured as the median DDP step minus the median step of the same model under ddp.no_sync()
(which skips the gradient all-reduce): the time communication adds to a step.

  torch_ddp.py --ranks N [--steps S] [--batch B] [--seq T] [--dim D] [--heads H] [--blocks L]
               [--mlp-hidden F] [--experts E] [--topk K] [--expert-hidden G]
Needs Debian's python3-torch (run with /usr/bin/python3).
"""
import argparse
import os
import socket
import statistics
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "trainer"))
from torch_model import forward  # noqa: E402


def tensor_shapes(a):
    shapes = {"head.w": (a.dim, 256), "head.b": (1, 256), "embed.positions": (a.seq, a.dim), "embed.tokens": (256, a.dim)}
    for b in range(a.blocks):
        q = f"block{b}."
        shapes.update({q + "attn.qkv": (a.dim, 3 * a.dim), q + "attn.qkv_bias": (1, 3 * a.dim),
                       q + "attn.out": (a.dim, a.dim), q + "attn.out_bias": (1, a.dim),
                       q + "ln1.gamma": (1, a.dim), q + "ln1.beta": (1, a.dim),
                       q + "ln2.gamma": (1, a.dim), q + "ln2.beta": (1, a.dim),
                       q + "mlp.w1": (a.dim, a.mlp_hidden), q + "mlp.b1": (1, a.mlp_hidden),
                       q + "mlp.w2": (a.mlp_hidden, a.dim), q + "mlp.b2": (1, a.dim),
                       q + "router": (a.dim, a.experts)})
        for e in range(a.experts):
            x = f"{q}expert{e}."
            shapes.update({x + "w1": (a.dim, a.expert_hidden), x + "b1": (1, a.expert_hidden),
                           x + "w2": (a.expert_hidden, a.dim), x + "b2": (1, a.dim)})
    return shapes


class MoeLanguageModel(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        self.a = a
        self.names = {}
        params = {}
        for name, shape in tensor_shapes(a).items():
            key = name.replace(".", "/")  # ParameterDict keys may not hold dots
            self.names[name] = key
            init = torch.ones(shape) if "gamma" in name else torch.randn(shape) * 0.02
            if name.endswith(("b", "bias", "beta", "b1", "b2")):
                init = torch.zeros(shape)
            params[key] = torch.nn.Parameter(init)
        self.params = torch.nn.ParameterDict(params)

    def forward(self, inputs, targets):
        a = self.a
        shape = {"seq": a.seq, "dim": a.dim, "heads": a.heads, "blocks": a.blocks, "experts": a.experts,
                 "topk": a.topk, "sequences": inputs.numel() // a.seq, "aux_weight": 0.01}
        p = {name: self.params[key] for name, key in self.names.items()}
        cross_entropy, aux = forward(shape, p, inputs, targets)
        return cross_entropy + aux


def worker(rank, a, port):
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=a.ranks)
    torch.manual_seed(a.seed)
    # An expert that no token of a rank chose gets no gradient there: DDP must be told to look for
    # such parameters, or its buckets never fill and the ranks wait on each other for ever.
    model = torch.nn.parallel.DistributedDataParallel(MoeLanguageModel(a), bucket_cap_mb=1,
                                                      find_unused_parameters=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.95), weight_decay=0.1)
    generator = torch.Generator().manual_seed(a.seed + rank)
    per_rank = a.batch // a.ranks
    synced, local = [], []
    for step in range(a.steps):
        data = torch.randint(0, 256, (per_rank * a.seq + 1,), generator=generator)
        inputs, targets = data[:-1], data[1:]
        dist.barrier()
        start = time.perf_counter()
        if step % 2 == 0:
            loss = model(inputs, targets)
            loss.backward()
        else:
            with model.no_sync():
                loss = model(inputs, targets)
                loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        elapsed = time.perf_counter() - start
        if step >= 4:  # warm-up steps are left out
            (synced if step % 2 == 0 else local).append(elapsed)
    if rank == 0:
        step_time = statistics.median(synced)
        comm = max(0.0, step_time - statistics.median(local))
        print(f"torch_ddp ranks {a.ranks} step_ms {1e3 * step_time:.2f} tokens_per_s {a.batch * a.seq / step_time:.0f} "
              f"comm_ms {1e3 * comm:.2f}", flush=True)
    dist.destroy_process_group()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ranks", type=int, required=True)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seq", type=int, default=64)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--blocks", type=int, default=2)
    p.add_argument("--mlp-hidden", type=int, default=128)
    p.add_argument("--experts", type=int, default=8)
    p.add_argument("--topk", type=int, default=2)
    p.add_argument("--expert-hidden", type=int, default=64)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    if a.batch % a.ranks:
        p.error("--batch must be divisible by --ranks")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(worker, args=(a, port), nprocs=a.ranks, join=True)


if __name__ == "__main__":
    main()
