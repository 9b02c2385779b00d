"""Examples in memory: `ImageSet` (uint8 images and their labels, in batches as floats), `SignalSet`
(normalised float signals and their labels), both `Examples`; `Splits`
(train, validation and test sets of one source), and how many examples one batch of evaluation
takes (`batch_for`)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np
import torch

from .errors import DataError

# the values one batch of evaluation holds at most (16 MB as float32), whatever the example size
BATCH_VALUES = 2**22


def batch_for(shape: tuple[int, ...], most: int) -> int:
    """Examples per batch of evaluation: `most`, or fewer where `most` examples of `shape` would
    pass BATCH_VALUES (large photographs), so memory does not grow with the example size."""
    return max(1, min(most, BATCH_VALUES // math.prod(shape)))


# ----------------------------------------------------------------------------- in-memory sets


class Examples:
    """What every in-memory set of examples shares: `values` (N, ...) on the CPU and labels (N,)
    int64 (-1: unlabelled); subsets, joins, bytes for fingerprints and float batches."""

    labels: torch.Tensor
    rank: ClassVar[int]  # axes of `values`: 4 for images (N, C, H, W), 3 for signals (N, C, T)

    @property
    def values(self) -> torch.Tensor:
        raise NotImplementedError

    def check(self) -> None:
        if self.values.dim() != self.rank or self.labels.shape != self.values.shape[:1]:
            raise DataError(
                f"a {type(self).__name__} needs {self.rank}-d examples and one label each, got "
                f"{tuple(self.values.shape)} and {tuple(self.labels.shape)}"
            )

    def __len__(self) -> int:
        return self.values.shape[0]

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of one example: (C, H, W) for an image, (C, T) for a signal."""
        return tuple(self.values.shape[1:])

    @property
    def labelled(self) -> bool:
        return len(self) > 0 and bool((self.labels >= 0).all())

    def like(self, values: torch.Tensor, labels: torch.Tensor) -> Self:
        """A set of this class holding `values` and `labels`."""
        return type(self)(values, labels)  # type: ignore[call-arg]  # each subclass's two fields

    def subset(self, index: torch.Tensor | slice) -> Self:
        return self.like(self.values[index], self.labels[index])

    def joined(self, other: Self) -> Self:
        """This set's examples, then `other`'s."""
        return self.like(
            torch.cat([self.values, other.values]), torch.cat([self.labels, other.labels])
        )

    def as_float(self, values: torch.Tensor) -> torch.Tensor:
        """Stored values -> the float examples the models take."""
        return values.float()

    def tensors(
        self, index=slice(None), device: str | torch.device = "cpu"
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Float examples (B, *shape) and labels (B,), on `device`."""
        return self.as_float(self.values[index].to(device)), self.labels[index].to(device)

    def byte_chunks(self, rows: int = 1024) -> Iterator[np.ndarray]:
        """The stored values as arrays in order, `rows` examples at a time (for fingerprints)."""
        for s in range(0, len(self), rows):
            yield self.values[s : s + rows].numpy()

    def batches(
        self,
        batch_size: int,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        device: str | torch.device = "cpu",
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        for start in range(0, n, batch_size):
            yield self.tensors(order[start : start + batch_size], device)


@dataclass
class ImageSet(Examples):
    """Images as uint8 (N, C, H, W), as floats in [0, 1] in batches."""

    images: torch.Tensor
    labels: torch.Tensor
    rank: ClassVar[int] = 4

    def __post_init__(self):
        self.check()

    @property
    def values(self) -> torch.Tensor:
        return self.images

    def as_float(self, values: torch.Tensor) -> torch.Tensor:
        return values.float().div_(255.0)  # (B, C, H, W)


@dataclass
class SignalSet(Examples):
    """Signals as float32 (N, C, T), normalised per channel (latentzoo.series)."""

    series: torch.Tensor
    labels: torch.Tensor
    rank: ClassVar[int] = 3

    def __post_init__(self):
        self.check()

    @property
    def values(self) -> torch.Tensor:
        return self.series


@dataclass
class Splits:
    name: str
    train: ImageSet
    val: ImageSet
    test: ImageSet
    classes: tuple[str, ...] = tuple(str(d) for d in range(10))  # label i means classes[i]
    fingerprint: str | None = None  # SHA-256 of the images and labels (the user's own data)
    # data settings the data itself decided (a signal's normalisation), recorded in config.json
    found: dict[str, Any] = field(default_factory=dict)
