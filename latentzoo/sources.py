"""The user's own data as a data set: a folder of image files, an IDX folder, a .npy or .npz array.

`load_source(path, ...)` returns the same `Splits` as MNIST (latentzoo.data), images uint8
(N, C, H, W) with C = 1 (grey) or 3 (colour):
- a folder of image files that Pillow reads (.png, .jpg, .jpeg, .bmp, .gif, .tif, .tiff, .webp):
  with subfolders, each subfolder is a class and its sorted name gives the label (torchvision's
  ImageFolder convention); without, the images are unlabelled;
- a folder of IDX files in MNIST's layout (`*train-images*idx3-ubyte*`, `*train-labels*idx1-ubyte*`,
  and the `t10k-`/`test-` pair for the test split): Fashion-MNIST, KMNIST and EMNIST ship so;
- a `.npy` array (N, H, W) or (N, H, W, C), uint8 or float in [0, 1], unlabelled; or a `.npz` with
  `images` (or `x`, or `x_train` and `x_test`) and optional `labels` (or `y`, `y_train`, `y_test`).

Images of other sizes or colour modes are an error unless `image_size` ('HxW') resizes them
(bilinear, antialiased) or `colour` ('grey' or 'rgb') converts them (grey = ITU-R 601 luma, as
Pillow's 'L'). A source without a test split gets one carved from it (`test_fraction`), and the
validation images are carved from the training images (`val_fraction`), both by a permutation
drawn from `split_seed`. `Splits.fingerprint` is a SHA-256 of the images and labels as loaded, so a
run can tell whether its data changed."""

from __future__ import annotations

import hashlib
import math
import os
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

from .data import ImageSet, Splits, parse_idx, read_bytes
from .errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
ARRAY_SUFFIXES = (".npy", ".npz")
MODES = {1: "grey", 3: "rgb"}
Image.MAX_IMAGE_PIXELS = 4096 * 4096  # a decompression bomb is an error, not an allocation


# ----------------------------------------------------------------------------- one image, one array


def read_image(path: Path) -> np.ndarray:
    """An image file -> uint8 (C, H, W), C = 1 for grey modes, 3 for colour (alpha dropped)."""
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in ("I;16", "I;16B", "I;16L", "I"):
                arr = np.asarray(img, dtype=np.float64) / (
                    65535 if "16" in img.mode else max(1, np.asarray(img).max())
                )
                return (arr.clip(0, 1) * 255).round().astype(np.uint8)[None]
            grey = img.mode in ("1", "L", "LA", "F") or (img.mode == "P" and _grey_palette(img))
            arr = np.array(img.convert("L" if grey else "RGB"), dtype=np.uint8)  # a copy: writable
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombError,
    ) as e:
        raise DataError(
            f"{path}: not an image Pillow can read "
            f"({str(e).splitlines()[0] if str(e) else type(e).__name__})"
        ) from None
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)  # (C, H, W)


def _grey_palette(img: Image.Image) -> bool:
    pal = np.asarray(img.getpalette() or [], dtype=np.int64).reshape(-1, 3)
    return len(pal) > 0 and bool((pal[:, 0] == pal[:, 1]).all() and (pal[:, 1] == pal[:, 2]).all())


def array_to_images(arr: np.ndarray, name: str) -> np.ndarray:
    """An array (N, H, W) or (N, H, W, C), uint8 or float in [0, 1] -> uint8 (N, C, H, W)."""
    if (
        arr.dtype == object
        or arr.dtype.kind not in "uf"
        or (arr.dtype.kind == "u" and arr.dtype != np.uint8)
    ):
        raise DataError(
            f"{name}: images of dtype {arr.dtype}; expected uint8 (0-255) or float in [0, 1]"
        )
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4 or arr.shape[-1] not in (1, 3) or arr.shape[0] == 0 or 0 in arr.shape:
        raise DataError(
            f"{name}: an array of shape {tuple(arr.shape)}; expected "
            "images (N, H, W) or (N, H, W, C) "
            f"with C 1 or 3 and N at least 1 (signals (N, C, T): --kind signal)"
        )
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise DataError(f"{name}: the images hold NaN or infinite values")
        lo, hi = float(arr.min()), float(arr.max())
        if lo < 0 or hi > 1:
            raise DataError(f"{name}: float images must lie in [0, 1], these span [{lo:g}, {hi:g}]")
        arr = (arr.astype(np.float64) * 255).round().astype(np.uint8)
    return arr.transpose(0, 3, 1, 2).copy()  # (N, C, H, W), writable


def conform(
    images: torch.Tensor, size: tuple[int, int] | None, channels: int | None
) -> torch.Tensor:
    """uint8 (N, C, H, W) resized to `size` (H, W) and converted to `channels` (1 or 3) where
    asked."""
    if channels is not None and images.shape[1] != channels:
        if channels == 3:
            images = images.expand(-1, 3, -1, -1)  # (N, 3, H, W)
        else:  # ITU-R 601-2 luma, Pillow's "L"
            w = torch.tensor([299, 587, 114], dtype=torch.int64).view(1, 3, 1, 1)
            images = (
                ((images.long() * w).sum(1, keepdim=True) + 500)
                .div(1000, rounding_mode="floor")
                .to(torch.uint8)
            )
    if size is not None and tuple(images.shape[2:]) != tuple(size):
        x = F.interpolate(
            images.float(), size=size, mode="bilinear", antialias=True, align_corners=False
        )
        images = x.round().clamp(0, 255).to(torch.uint8)
    return images.contiguous()


def describe(shape) -> str:
    """(C, H, W) -> '28x28 grey' / '32x32 rgb'."""
    c, h, w = shape
    return f"{h}x{w} {MODES.get(c, f'{c}-channel')}"


# ----------------------------------------------------------------------------- sources


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def read_folder(
    folder: Path,
) -> tuple[list[np.ndarray], list[Path], np.ndarray, tuple[str, ...] | None]:
    """An image folder -> (images (C, H, W) each, their paths, labels, class names or None)."""
    paths, labels, names = folder_layout(folder)
    return [read_image(p) for p in paths], paths, labels, names


def folder_layout(folder: Path) -> tuple[list[Path], np.ndarray, tuple[str, ...] | None]:
    """An image folder's files, their labels (a class per subfolder, else -1) and class names."""
    subdirs = sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))
    classes = [d for d in subdirs if image_files(d)]
    loose = image_files(folder)
    if classes and loose:
        raise DataError(
            f"{folder}: holds both image files and class subfolders "
            "of images; keep one layout (a class "
            f"per subfolder, or all files unlabelled in one folder)"
        )
    if classes:
        paths, labels = [], []
        for i, d in enumerate(classes):
            files = image_files(d)
            paths += files
            labels += [i] * len(files)
        names = tuple(d.name for d in classes)
    else:
        paths, labels, names = loose, [-1] * len(loose), None
    if not paths:
        raise DataError(
            f"{folder}: no image files ({', '.join(IMAGE_SUFFIXES)}) in it or in its subfolders"
        )
    return paths, np.asarray(labels, dtype=np.int64), names


def stack(images: list[np.ndarray], paths: list[Path], size, channels) -> torch.Tensor:
    """Images of one folder -> uint8 (N, C, H, W); mixed sizes or modes need `size` or
    `channels`."""
    if size is None and len({im.shape[1:] for im in images}) > 1:
        first = next(i for i, im in enumerate(images) if im.shape[1:] != images[0].shape[1:])
        raise DataError(
            f"{paths[first]} is {describe(images[first].shape)} but {paths[0]} is "
            f"{describe(images[0].shape)}: images of different sizes; "
            "pass --image-size HxW to resize them, or --kind photo to train on patches of them"
        )
    if channels is None and len({im.shape[0] for im in images}) > 1:
        first = next(i for i, im in enumerate(images) if im.shape[0] != images[0].shape[0])
        raise DataError(
            f"{paths[first]} is {MODES[images[first].shape[0]]} but {paths[0]} is "
            f"{MODES[images[0].shape[0]]}: mixed colour modes; pass --colour grey or --colour rgb"
        )
    return torch.cat([conform(torch.from_numpy(im)[None], size, channels) for im in images])


def labels_for(arr: np.ndarray | None, n: int, name: str) -> np.ndarray:
    if arr is None:
        return np.full(n, -1, dtype=np.int64)
    if arr.dtype.kind not in "iu" or arr.ndim != 1:
        raise DataError(
            f"{name}: labels must be whole numbers, one per image, got dtype {arr.dtype} shape "
            f"{tuple(arr.shape)}"
        )
    if len(arr) != n:
        raise DataError(f"{name}: {n} images but {len(arr)} labels")
    if len(arr) and arr.min() < 0:
        raise DataError(f"{name}: labels must be 0 or more, found {int(arr.min())}")
    return arr.astype(np.int64)


def find_idx(folder: Path, split: tuple[str, ...], kind: str) -> Path | None:
    """The IDX file of a split ('train' or 't10k'/'test') and kind ('images' or 'labels') in
    `folder`."""
    for p in sorted(folder.iterdir()):
        n = p.name.lower()
        if p.is_file() and "ubyte" in n and kind in n and any(s in n for s in split):
            return p
    return None


def read_idx_folder(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray | None, str]]:
    out = {}
    for split, words in (("train", ("train",)), ("test", ("t10k", "test"))):
        img = find_idx(folder, words, "images")
        if img is None:
            continue
        arr = parse_idx(read_bytes(img), str(img))
        lab_path = find_idx(folder, words, "labels")
        labels = parse_idx(read_bytes(lab_path), str(lab_path)) if lab_path else None
        if labels is not None and len(labels) != len(arr):
            raise DataError(
                f"{img} holds {len(arr)} images but {lab_path} holds {len(labels)} labels"
            )
        out[split] = (arr, labels, str(img))
    return out


def npz_keys(path: Path, names: list[str]) -> dict[str, tuple[str, str]]:
    """{split: (images key, labels key)} of a .npz holding the arrays `names`: `x_train` and
    `x_test` (with `y_train`, `y_test`), else `images` (with `labels`), else `x` (with `y`). The one
    rule for a .npz's keys, for data sets and the jobs' input files alike."""
    split = {s: (f"x_{s}", f"y_{s}") for s in ("train", "test") if f"x_{s}" in names}
    if split:
        return split
    for x, y in (("images", "labels"), ("x", "y")):
        if x in names:
            return {"train": (x, y)}
    raise DataError(
        f"{path}: no images in it (expected an array named images, x, or x_train and x_test; "
        f"found {', '.join(names) or 'none'})"
    )


def read_npz(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray | None, str]]:
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(f"{path}: not a readable .npz without pickled objects ({e})") from None
    return {
        split: (arrays[x], arrays.get(y), f"{path}[{x}]")
        for split, (x, y) in npz_keys(path, list(arrays)).items()
    }


def read_arrays(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray | None, str]]:
    """{split: (images array, labels or None, name)} of an array file or an IDX folder."""
    if path.suffix.lower() == ".npz":
        return read_npz(path)
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise DataError(f"{path}: not a readable .npy without pickled objects ({e})") from None
    if not isinstance(arr, np.ndarray):
        raise DataError(f"{path}: not a .npy array")
    return {"train": (arr, None, str(path))}


def load_raw(path: Path, size, channels) -> tuple[dict[str, ImageSet], tuple[str, ...] | None]:
    """{'train': ImageSet[, 'test': ImageSet]} and the class names of a source."""
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir() and not any(
        find_idx(path, w, "images") for w in (("train",), ("t10k", "test"))
    ):
        images, paths, labels, names = read_folder(path)
        return {
            "train": ImageSet(stack(images, paths, size, channels), torch.from_numpy(labels))
        }, names
    raw = (
        read_idx_folder(path)
        if path.is_dir()
        else read_arrays(path)
        if path.suffix.lower() in ARRAY_SUFFIXES
        else None
    )
    if raw is None:
        raise DataError(
            f"{path}: not a data source (give a folder of images, a folder of IDX files, a "
            ".npy/.npz, a table of series or audio files: see docs/own-data.md)"
        )
    if "train" not in raw:
        raise DataError(f"{path}: no training images (an IDX folder needs a *train-images* file)")
    sets = {}
    for split, (arr, split_labels, name) in raw.items():
        x = torch.from_numpy(array_to_images(np.asarray(arr), name))
        sets[split] = ImageSet(
            conform(x, size, channels), torch.from_numpy(labels_for(split_labels, len(x), name))
        )
    if "test" in sets and sets["test"].shape != sets["train"].shape:
        raise DataError(
            f"{path}: test images are {describe(sets['test'].shape)}, training images "
            f"{describe(sets['train'].shape)}"
        )
    if any(s.labelled for s in sets.values()) and not all(s.labelled for s in sets.values()):
        raise DataError(
            f"{path}: the training images have labels and the test "
            "images not, or the other way round"
        )
    n = max(int(s.labels.max()) + 1 for s in sets.values()) if sets["train"].labelled else 0
    return sets, (tuple(str(i) for i in range(n)) if n else None)


def fingerprint(sets: dict) -> str:
    """SHA-256 of every split's shape, images and labels, read a chunk at a time (in memory or
    lazily, the same digest)."""
    h = hashlib.sha256()
    for split in sorted(sets):
        s = sets[split]
        h.update(f"{split}:{(len(s), *s.shape)};".encode())
        for chunk in s.byte_chunks():
            h.update(chunk.tobytes())
        h.update(s.labels.numpy().tobytes())
    return h.hexdigest()


def carve(n: int, fraction: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(kept, carved) indices: a seeded random `fraction` of n (at least 1) carved off."""
    k = min(n - 1, max(1, math.ceil(n * fraction)))
    perm = torch.randperm(n, generator=generator)
    return perm[k:].sort().values, perm[:k].sort().values


def load_source(
    source: str | os.PathLike,
    *,
    image_size: tuple[int, int] | None = None,
    colour: str | None = None,
    split_seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
) -> Splits:
    """The user's data as train/val/test splits (see the module docstring)."""
    path = Path(source)
    channels = {"grey": 1, "rgb": 3, None: None}[colour]
    sets, classes = load_raw(path, image_size, channels)
    return splits_of(
        path, sets, classes, split_seed, val_fraction, test_fraction, fingerprint(sets)
    )


def splits_of(
    path: Path, sets: dict, classes, split_seed: int, val_fraction: float, test_fraction: float, fp
) -> Splits:
    """Train, validation and test splits of a source's sets (in memory or lazy alike): a test
    split carved off when the source has none, then a validation split, seeded by `split_seed`."""
    shape = sets["train"].shape
    if shape[0] not in (1, 3):
        raise DataError(
            f"{path}: images with {shape[0]} channels; latentzoo takes grey (1) or colour (3)"
        )
    total = sum(len(s) for s in sets.values())
    if len(sets["train"]) < (2 if "test" in sets else 3):
        raise DataError(
            f"{path}: {total} images are too few to carve training, validation and test images from"
        )
    gen = torch.Generator().manual_seed(split_seed)
    train = sets["train"]
    if "test" in sets:
        test = sets["test"]
    else:
        keep, held = carve(len(train), test_fraction, gen)
        train, test = train.subset(keep), train.subset(held)
    keep, held = carve(len(train), val_fraction, gen)
    return Splits(
        path.name or str(path),
        train.subset(keep),
        train.subset(held),
        test,
        classes=classes or (),
        fingerprint=fp,
    )


__all__ = ["load_source", "read_image", "array_to_images", "conform", "describe", "IMAGE_SUFFIXES"]
