"""Image sets read lazily, for data larger than memory: a memory-mapped .npy array, or a folder of
image files decoded batch by batch by a torch DataLoader with worker processes.

A `LazyImageSet` is an `ImageSet` in all but storage: `len`, `shape`, `labels`, `labelled`,
`subset`, `tensors`, `batches` and `byte_chunks` behave the same, and for a given generator
`batches` draws the same images in the same order, so a run trains on the same batches either way.
Only the positions of a set's images are kept in memory; their pixels are read when a batch asks
for them. `load_lazily` reads a source so (the same splits and fingerprint as
`latentzoo.sources.load_source`, the fingerprint computed in a stream); `decoded_bytes` says how
large a source is once decoded, which `auto` compares with the machine's memory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from .data import Splits
from .errors import DataError
from .sources import (
    ARRAY_SUFFIXES,
    conform,
    fingerprint,
    folder_layout,
    read_image,
    splits_of,
)

# `auto` reads a source lazily once its decoded images would take this share of the memory
LAZY_ABOVE = 0.25


class NpyStore:
    """A .npy of uint8 images (N, H, W) or (N, H, W, C), memory-mapped: rows are read on demand."""

    def __init__(self, path: Path):
        try:
            self.array = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError) as e:
            raise DataError(f"{path}: not a readable .npy ({e})") from None
        a = self.array
        if (
            a.dtype != np.uint8
            or a.ndim not in (3, 4)
            or (a.ndim == 4 and a.shape[3] not in (1, 3))
        ):
            raise DataError(
                f"{path}: read lazily, a .npy must hold uint8 images (N, H, W) or (N, H, W, C), "
                f"got {a.dtype} {a.shape}"
            )
        c = a.shape[3] if a.ndim == 4 else 1
        self.shape = (c, a.shape[1], a.shape[2])

    def __len__(self) -> int:
        return self.array.shape[0]

    def read(self, rows: np.ndarray) -> torch.Tensor:
        block = np.asarray(self.array[rows])  # (B, H, W[, C]) read from disk
        block = block[..., None] if block.ndim == 3 else block
        return torch.from_numpy(np.ascontiguousarray(block.transpose(0, 3, 1, 2)))  # (B, C, H, W)


class FileStore:
    """Image files, each decoded (and fitted to `size` and `channels`) when it is read."""

    def __init__(self, paths: list[Path], size, channels):
        self.paths, self.size, self.channels = paths, size, channels
        first = self.decode(paths[0], None)
        self.shape = tuple(first.shape)

    def __len__(self) -> int:
        return len(self.paths)

    def decode(self, path: Path, shape) -> torch.Tensor:
        x = conform(torch.from_numpy(read_image(path))[None], self.size, self.channels)[0]
        if shape is not None and tuple(x.shape) != shape:
            raise DataError(
                f"{path} is {tuple(x.shape)} and the first image {shape}: images of different "
                "sizes or modes; pass --image-size HxW and --colour grey|rgb"
            )
        return x  # (C, H, W)

    def read(self, rows: np.ndarray) -> torch.Tensor:
        return torch.stack([self.decode(self.paths[i], self.shape) for i in rows])


class _Batches(Dataset):
    """The batches of an epoch as a Dataset: item i is batch i's images, read from the store."""

    def __init__(self, store, batches: list[np.ndarray]):
        self.store, self.batches = store, batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.store.read(self.batches[i])


class LazyImageSet:
    """An ImageSet whose images stay in their store: `index` (N,) positions in it, `labels` (N,)."""

    def __init__(self, store, index: torch.Tensor, labels: torch.Tensor, workers: int = 0):
        self.store, self.index, self.labels, self.workers = store, index, labels, workers

    def __len__(self) -> int:
        return len(self.index)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.store.shape)

    @property
    def labelled(self) -> bool:
        return len(self) > 0 and bool((self.labels >= 0).all())

    def subset(self, index: torch.Tensor | slice) -> LazyImageSet:
        return LazyImageSet(self.store, self.index[index], self.labels[index], self.workers)

    def joined(self, other: LazyImageSet) -> LazyImageSet:
        """This set's images, then `other`'s (of the same store)."""
        index, labels = torch.cat([self.index, other.index]), torch.cat([self.labels, other.labels])
        return LazyImageSet(self.store, index, labels, self.workers)

    def tensors(
        self, index=slice(None), device: str | torch.device = "cpu"
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Float images in [0, 1], (B, C, H, W), and labels (B,), on `device`."""
        rows = self.index[index].reshape(-1).numpy()
        x = self.store.read(rows).to(device).float().div_(255.0)  # (B, C, H, W)
        return x, self.labels[index].reshape(-1).to(device)

    def batches(
        self,
        batch_size: int,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        device: str | torch.device = "cpu",
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """As ImageSet.batches: the same order for the same generator; the store is read by
        `workers` processes ahead of the loop."""
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        picks = [order[s : s + batch_size] for s in range(0, n, batch_size)]
        rows = [self.index[p].numpy() for p in picks]
        loader = DataLoader(
            _Batches(self.store, rows), batch_size=None, num_workers=self.workers, shuffle=False
        )
        for images, pick in zip(loader, picks):
            yield images.to(device).float().div_(255.0), self.labels[pick].to(device)

    def byte_chunks(self, rows: int = 1024) -> Iterator[np.ndarray]:
        """The set's images as uint8 bytes in order, `rows` images at a time (for fingerprints)."""
        for s in range(0, len(self), rows):
            yield self.store.read(self.index[s : s + rows].numpy()).numpy()


def open_store(path: Path, size, channels):
    """(store, labels, class names) of a source that can be read lazily: a folder of image files
    or a .npy; anything else is a DataError."""
    if path.is_dir():
        paths, labels, classes = folder_layout(path)
        return FileStore(paths, size, channels), torch.from_numpy(labels), classes
    if path.suffix.lower() == ".npy":
        store = NpyStore(path)
        if size is not None or channels is not None:
            raise DataError(f"{path}: read lazily, a .npy is taken as it is (no --image-size)")
        return store, torch.full((len(store),), -1, dtype=torch.int64), None
    suffixes = " or ".join(s for s in ARRAY_SUFFIXES if s != ".npy")
    raise DataError(
        f"{path}: only a folder of image files or a .npy is read lazily, not {suffixes}"
    )


def decoded_bytes(path: Path) -> int:
    """How many bytes a source's images take once decoded, estimated from its first image."""
    store, _, _ = open_store(path, None, None)
    return len(store) * int(np.prod(store.shape))


def memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def too_large(path: Path) -> bool:
    """Whether `auto` reads `path` lazily: a folder or .npy whose decoded images would take more
    than LAZY_ABOVE of the memory."""
    if not (path.is_dir() or path.suffix.lower() == ".npy"):
        return False
    try:
        return decoded_bytes(path) > LAZY_ABOVE * memory_bytes()
    except DataError:
        return False  # not a lazy layout (e.g. an IDX folder): the in-memory reader says why


def load_lazily(
    source: str | os.PathLike,
    *,
    image_size: tuple[int, int] | None = None,
    colour: str | None = None,
    split_seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    workers: int = 2,
) -> Splits:
    """`load_source`'s splits and fingerprint, with the images left in their files."""
    path = Path(source)
    channels = {"grey": 1, "rgb": 3, None: None}[colour]
    store, labels, classes = open_store(path, image_size, channels)
    train = LazyImageSet(store, torch.arange(len(store)), labels, workers)
    return splits_of(
        path,
        {"train": train},
        classes,
        split_seed,
        val_fraction,
        test_fraction,
        fingerprint({"train": train}),
    )
