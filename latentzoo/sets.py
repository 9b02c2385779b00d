"""Examples in memory: `ImageSet` (uint8 images and their labels, in batches as floats), `Splits`
(train, validation and test sets of one source), and how many examples one batch of evaluation
takes (`batch_for`)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

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


@dataclass
class ImageSet:
    """Images as uint8 (N, C, H, W) and labels as int64 (N,) (-1: unlabelled), both on the CPU."""

    images: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self):
        if self.images.dim() != 4 or self.labels.shape != self.images.shape[:1]:
            raise DataError(
                "an image set needs images (N, C, H, W) and N labels, "
                f"got {tuple(self.images.shape)} and "
                f"{tuple(self.labels.shape)}"
            )

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def shape(self) -> tuple[int, ...]:
        """(C, H, W) of every image."""
        return tuple(self.images.shape[1:])

    @property
    def labelled(self) -> bool:
        return len(self) > 0 and bool((self.labels >= 0).all())

    def subset(self, index: torch.Tensor | slice) -> ImageSet:
        return ImageSet(self.images[index], self.labels[index])

    def joined(self, other: ImageSet) -> ImageSet:
        """This set's images, then `other`'s."""
        return ImageSet(
            torch.cat([self.images, other.images]), torch.cat([self.labels, other.labels])
        )

    def tensors(
        self, index=slice(None), device: str | torch.device = "cpu"
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Float images in [0, 1], (B, C, H, W), and labels (B,), on `device`."""
        x = self.images[index].to(device).float().div_(255.0)  # (B, C, H, W)
        return x, self.labels[index].to(device)

    def uint8_chunks(self, rows: int = 1024) -> Iterator[np.ndarray]:
        """The images as uint8 arrays in order, `rows` images at a time (for fingerprints)."""
        for s in range(0, len(self), rows):
            yield self.images[s : s + rows].numpy()

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
class Splits:
    name: str
    train: ImageSet
    val: ImageSet
    test: ImageSet
    classes: tuple[str, ...] = tuple(str(d) for d in range(10))  # label i means classes[i]
    fingerprint: str | None = None  # SHA-256 of the images and labels (the user's own data)
