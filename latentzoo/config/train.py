"""The settings of training itself: epochs, batches and the flips and turns they are drawn in, the
optimizer and its schedule, precision and the seed. A model kind that trains differently by
default says so in its `train_defaults` (latentzoo.config.model)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..device import PRECISIONS
from .settings import Settings, setting


@dataclass(kw_only=True)
class TrainSettings(Settings):
    section: ClassVar[str] = "train"

    epochs: int = setting("passes over the training set", default=10, low=1, high=100_000)
    batch_size: int = setting("images per step", default=128, low=1, high=1_000_000)
    lr: float = setting("learning rate", default=1e-3, low=0, open_low=True, open_high=True)
    lr_schedule: str = setting(
        "cosine: decay to 0 over the run; constant",
        default="cosine",
        choices=("cosine", "constant"),
    )
    adam_beta2: float = setting(
        "Adam's second-moment decay", default=0.999, low=0, high=1, open_high=True
    )
    precision: str = setting(
        "fp32, or bf16: training steps autocast convolutions and matrix products to bfloat16 "
        "(fast on GPUs and on CPUs with AVX512-BF16 or AMX); codebooks and losses stay fp32",
        default="fp32",
        choices=PRECISIONS,
    )
    views: int = setting(
        "each training batch flipped and turned by one of the first N of the data kind's views, "
        "drawn at random (1: as they are; photos have 8, a photo DAE's default)",
        default=1,
        low=1,
        high=8,
    )
    seed: int = setting(
        "fixes initialisation, data order, noise and sampling", default=0, low=0, high=2**32 - 1
    )
