"""Which device a job runs on (CUDA when torch sees a GPU, else the CPU; `--device` overrides), and
the precision its training steps compute in (fp32, or bf16 autocast: Micikevicius et al. 2018 for
mixed precision; bf16 keeps fp32's exponent range, so no loss scaling is needed)."""

from __future__ import annotations

import contextlib

import torch

from .errors import ConfigError


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_device(device: str | torch.device | None) -> torch.device:
    if device is None or device == "auto":
        return default_device()
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ConfigError(f"unknown device '{device}' (choose cpu or cuda)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda asked for, but torch sees no CUDA device")
    return dev


PRECISIONS = ("fp32", "bf16")


def autocast(device: torch.device, precision: str):
    """The context a training step runs in: nothing for fp32, bf16 autocast for bf16 (matrix
    products and convolutions in bf16, reductions and losses in fp32 where torch's autocast lists
    say so)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def full_precision(x: torch.Tensor):
    """A context that turns autocast off on x's device, for the parts that must stay fp32 under bf16
    (codebook distances and EMA updates, losses)."""
    return torch.autocast(device_type=x.device.type, enabled=False)
