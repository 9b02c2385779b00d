"""Data-parallel training with torch.distributed, launched by torchrun; one process without it.

    torchrun --standalone --nproc_per_node 2 -m latentzoo train vqvae --out runs/vq

`setup()` joins the process group that torchrun describes in the environment (gloo on the CPU, nccl
on CUDA, one GPU per local rank). Every rank draws the same global batches and keeps its own rows of
each (`local_rows`), so `--batch-size` stays the global batch; gradients are averaged by
DistributedDataParallel. State that a model changes outside its gradients (a VQ codebook's EMA
statistics, k-means initialisation, dead-code restarts) is made the same on every rank with
`all_sum` and `gather_rows`, as one process would compute it on the whole batch. Rank 0 alone
writes files and logs; `same_on_every_rank` checks that no rank drifted.

Without torchrun (no WORLD_SIZE in the environment) every function here is the single-process
identity, so the rest of latentzoo calls them unconditionally."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel


def active() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    return dist.get_rank() if active() else 0


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def is_main() -> bool:
    return rank() == 0


def setup(device: torch.device) -> torch.device:
    """Join torchrun's process group once (if launched by it); returns this rank's device."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not active():
        cuda = device.type == "cuda"
        if cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if cuda else "gloo")
    if device.type == "cuda" and active():
        return torch.device("cuda", torch.cuda.current_device())
    return device


def local_rows(n: int) -> slice:
    """This rank's contiguous share of n rows (all of them in one process)."""
    r, w = rank(), world_size()
    return slice(r * n // w, (r + 1) * n // w)


def all_sum(t: torch.Tensor) -> torch.Tensor:
    """The sum of `t` over every rank, in place (t itself in one process)."""
    if active():
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def gather_rows(x: torch.Tensor) -> torch.Tensor:
    """Every rank's rows of x (N_r, ...) concatenated in rank order: the whole batch, on every
    rank."""
    if not active():
        return x
    sizes = [torch.zeros(1, dtype=torch.long, device=x.device) for _ in range(world_size())]
    dist.all_gather(sizes, torch.tensor([x.shape[0]], device=x.device))
    most = int(max(s.item() for s in sizes))
    padded = torch.zeros(most, *x.shape[1:], dtype=x.dtype, device=x.device)
    padded[: x.shape[0]] = x
    parts = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(parts, padded)
    return torch.cat([p[: int(s.item())] for p, s in zip(parts, sizes)])


def barrier() -> None:
    if active():
        dist.barrier()


def wrap(model: torch.nn.Module) -> torch.nn.Module:
    """The module whose forward averages gradients over the ranks (the model itself in one
    process)."""
    if not active():
        return model
    device_ids = [model_device(model).index] if model_device(model).type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids, broadcast_buffers=False)


def model_device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def same_on_every_rank(model: torch.nn.Module) -> bool:
    """Whether every rank holds the same weights and buffers (a float64 checksum compared
    exactly)."""
    if not active():
        return True
    total = torch.zeros(2, dtype=torch.float64, device=model_device(model))
    for i, t in enumerate(model.state_dict().values()):
        if t.is_floating_point():
            total[0] += t.double().sum() * (1 + i % 7)
            total[1] += t.double().abs().sum()
    parts = [torch.empty_like(total) for _ in range(world_size())]
    dist.all_gather(parts, total)
    return all(torch.equal(p, parts[0]) for p in parts)


__all__ = [
    "setup",
    "active",
    "rank",
    "world_size",
    "is_main",
    "local_rows",
    "all_sum",
    "gather_rows",
    "barrier",
    "wrap",
    "same_on_every_rank",
]
