"""The trainer's model in PyTorch operations (layer_norm, gelu, softmax, topk, autograd): the
reference of reference_check.py and the model perf/trainer/torch_ddp.py trains with DDP.
Parameters are a dict keyed by the trainer's tensor names ("block0.attn.qkv", ...), weights
stored [in x out] as the trainer stores them; any dtype.
"""
import math

import torch
import torch.nn.functional as F


def vec(p):
    return p.reshape(-1)


def attention(x, p, prefix, sequences, seq, heads):
    dim = x.shape[1]
    hd = dim // heads
    qkv = x @ p[prefix + "attn.qkv"] + vec(p[prefix + "attn.qkv_bias"])
    q, k, v = qkv.split(dim, dim=1)

    def split_heads(t):
        return t.reshape(sequences, seq, heads, hd).transpose(1, 2)

    q, k, v = split_heads(q), split_heads(k), split_heads(v)
    scores = q @ k.transpose(-1, -2) / math.sqrt(hd)
    causal = torch.triu(torch.ones(seq, seq, dtype=torch.bool), diagonal=1)
    scores = scores.masked_fill(causal, float("-inf"))
    out = torch.softmax(scores, dim=-1) @ v
    out = out.transpose(1, 2).reshape(sequences * seq, dim)
    return out @ p[prefix + "attn.out"] + vec(p[prefix + "attn.out_bias"])


def moe(x, p, prefix, experts, topk, aux_weight):
    probs = torch.softmax(x @ p[prefix + "router"], dim=-1)
    top_p, top_i = torch.topk(probs, topk, dim=-1)
    weights = top_p / top_p.sum(dim=-1, keepdim=True)
    out = torch.zeros_like(x)
    tokens = x.shape[0]
    counts = torch.zeros(experts, dtype=x.dtype)
    for e in range(experts):
        rows, slots = (top_i == e).nonzero(as_tuple=True)
        counts[e] = rows.numel()
        if rows.numel() == 0:
            continue
        q = f"{prefix}expert{e}."
        h = F.gelu(x[rows] @ p[q + "w1"] + vec(p[q + "b1"]), approximate="tanh")
        y = h @ p[q + "w2"] + vec(p[q + "b2"])
        out = out.index_add(0, rows, weights[rows, slots].unsqueeze(1) * y)
    share = (counts / (tokens * topk)).detach()  # f_i: a constant for the gradient
    mean_prob = probs.mean(dim=0)                # P_i
    aux = aux_weight * experts * (share * mean_prob).sum()
    return out, aux


def forward(shape, p, inputs, targets):
    seq, dim, heads = int(shape["seq"]), int(shape["dim"]), int(shape["heads"])
    blocks, experts, topk = int(shape["blocks"]), int(shape["experts"]), int(shape["topk"])
    sequences = int(shape["sequences"])
    positions = torch.arange(inputs.numel()) % seq
    x = p["embed.tokens"][inputs] + p["embed.positions"][positions]
    aux_total = torch.zeros((), dtype=x.dtype)
    for b in range(blocks):
        q = f"block{b}."
        x = F.layer_norm(x + attention(x, p, q, sequences, seq, heads), (dim,), vec(p[q + "ln1.gamma"]),
                         vec(p[q + "ln1.beta"]), eps=1e-5)
        mlp = F.gelu(x @ p[q + "mlp.w1"] + vec(p[q + "mlp.b1"]), approximate="tanh") @ p[q + "mlp.w2"] + vec(p[q + "mlp.b2"])
        experts_out, aux = moe(x, p, q, experts, topk, shape["aux_weight"])
        aux_total = aux_total + aux
        x = F.layer_norm(x + mlp + experts_out, (dim,), vec(p[q + "ln2.gamma"]), vec(p[q + "ln2.beta"]), eps=1e-5)
    logits = x @ p["head.w"] + vec(p["head.b"])
    cross_entropy = F.cross_entropy(logits, targets)
    return cross_entropy, aux_total
