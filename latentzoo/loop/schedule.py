"""The loop's seeding and learning-rate schedules: one seed fixes a model's initialisation
(`init_seed`), and each epoch re-seeds from (seed, epoch) (`epoch_seed`)."""

from __future__ import annotations

import math

import torch


def init_seed(seed: int) -> None:
    """Seed the global generator before a model is built: this fixes its initialisation."""
    torch.manual_seed(seed)


def epoch_seed(seed: int, epoch: int) -> int:
    return seed * 1_000_003 + epoch + 1


def cosine_lr(base: float, step: int, total: int) -> float:
    """Cosine decay from `base` to 0 over `total` steps (Loshchilov & Hutter 2017)."""
    return base * 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total))


def warmup_cosine_lr(base: float, step: int, total: int, warmup: float = 0.1) -> float:
    """A linear warm-up to `base` over the first `warmup` fraction of the steps, then cosine decay
    to 0."""
    w = max(1, int(warmup * total))
    return base * (step + 1) / w if step < w else cosine_lr(base, step - w, total - w)
