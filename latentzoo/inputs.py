"""The files the jobs read and write: image files, .npy/.npz arrays and IDX files, and folders of
images.

`read_inputs(paths, shape)` reads every image of the given files and folders (a folder: its image
files, subfolders included, in sorted order) as float (N, C, H, W) in [0, 1], with a name per
image: an image file's path relative to the folder it was found in, without its suffix; an array's
images `file.npy[i]`. An image of another size or colour mode than the model takes is an error
naming both shapes, unless `resize` (bilinear, antialiased) or `convert` (grey <-> rgb, as
latentzoo.sources) is asked for.

`write_like_inputs(inputs, images, out_dir)` writes results under the input names: an image file
becomes `out_dir/<name>.png`; an array file becomes an array file of the same name and layout
(.npy with its dtype, uint8 or float32; IDX as uint8). `write_array` writes one .npy atomically.
"""

from __future__ import annotations

import gzip
import io
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from .data import parse_idx, read_bytes
from .errors import DataError
from .files import atomic_write
from .sources import IMAGE_SUFFIXES, array_to_images, conform, describe, npz_keys, read_image


@dataclass
class InputFile:
    path: Path
    kind: str  # "image", "npy" or "idx"
    # output name: relative path without suffix (image) or the file name (array)
    name: str
    start: int  # its first example in Inputs.examples
    count: int
    layout: tuple = ()  # arrays: (had a channel axis, dtype name)


@dataclass
class Inputs:
    examples: torch.Tensor  # (N, C, H, W) images in [0, 1]; (N, C, T) normalised signals
    names: list[str]  # one per example
    files: list[Any] = field(default_factory=list)  # the kind's record per file: InputFile, ...

    def __len__(self) -> int:
        return self.examples.shape[0]


def is_idx(path: Path) -> bool:
    n = path.name.lower()
    return "ubyte" in n or n.endswith((".idx", ".idx.gz"))


def read_array_file(path: Path) -> tuple[np.ndarray, tuple]:
    """An array file -> (uint8 images (N, C, H, W), (had a channel axis, dtype name))."""
    if is_idx(path):
        arr = parse_idx(read_bytes(path), str(path))
        return array_to_images(arr, str(path)), (arr.ndim == 4, "uint8")
    try:
        arr = np.load(path, allow_pickle=False)
        if isinstance(arr, np.lib.npyio.NpzFile):
            with arr:
                keys = npz_keys(path, list(arr.files))  # a data set's file: its test images
                arr = arr[keys.get("test", keys["train"])[0]]
    except (ValueError, OSError, EOFError) as e:
        raise DataError(f"{path}: not a readable array without pickled objects ({e})") from None
    return array_to_images(arr, str(path)), (
        arr.ndim == 4,
        "float32" if arr.dtype.kind == "f" else "uint8",
    )


def fit_to(
    images: torch.Tensor, shape: tuple[int, ...], where: str, resize: bool, convert: bool
) -> torch.Tensor:
    """uint8 (N, C, H, W) -> the model's (C, H, W), or a DataError that says what to pass."""
    c, h, w = images.shape[1:]
    channels, height, width = shape
    if c != shape[0] and not convert:
        raise DataError(
            f"{where} is {describe((c, h, w))}; the run takes {describe(shape)} images "
            f"({shape[0]}x{shape[1]}x{shape[2]}): pass --convert to convert it"
        )
    if (h, w) != shape[1:] and not resize:
        raise DataError(
            f"{where} is {describe((c, h, w))}; the run takes {describe(shape)} images "
            f"({shape[0]}x{shape[1]}x{shape[2]}): pass --resize to resize it"
        )
    return conform(images, (height, width), channels)


def expand(path: Path) -> list[tuple[Path, str]]:
    """(file, output name) of an input argument: a file, or a folder's image files."""
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
        if not files:
            raise DataError(f"{path}: no image files ({', '.join(IMAGE_SUFFIXES)}) in this folder")
        return [(p, p.relative_to(path).with_suffix("").as_posix()) for p in files]
    if not path.is_file():
        raise DataError(f"{path}: no such file or folder")
    return [(path, path.stem if path.suffix.lower() in IMAGE_SUFFIXES else path.name)]


def read_inputs(
    paths: list[str | os.PathLike],
    shape: tuple[int, ...],
    *,
    resize: bool = False,
    convert: bool = False,
) -> Inputs:
    """Every image of `paths` fitted to `shape` (C, H, W) (see the module docstring)."""
    parts: list[torch.Tensor] = []
    names: list[str] = []
    files: list[InputFile] = []
    seen: dict[str, Path] = {}
    for arg in paths:
        for path, name in expand(Path(arg)):
            if name in seen:
                raise DataError(
                    f"{path} and {seen[name]} would both be written as {name}: give them separately"
                )
            seen[name] = path
            suffix = path.suffix.lower()
            if suffix in IMAGE_SUFFIXES:
                x, kind, layout = torch.from_numpy(read_image(path))[None], "image", ()
            elif suffix in (".npy", ".npz") or is_idx(path):
                arr, layout = read_array_file(path)
                x, kind = torch.from_numpy(arr), "idx" if is_idx(path) else "npy"
            else:
                raise DataError(f"{path}: not an image file, a .npy/.npz array or an IDX file")
            x = fit_to(x, shape, str(path), resize, convert)
            files.append(InputFile(path, kind, name, sum(len(p) for p in parts), len(x), layout))
            names += [name] if kind == "image" else [f"{name}[{i}]" for i in range(len(x))]
            parts.append(x)
    if not parts:
        raise DataError("no input images given")
    return Inputs(torch.cat(parts).float().div_(255.0), names, files)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    return (images.detach().float().cpu().clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def png_bytes(image: np.ndarray) -> bytes:
    """uint8 (C, H, W) -> PNG bytes (grey or RGB)."""
    pic = Image.fromarray(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0))
    buf = io.BytesIO()
    pic.save(buf, format="PNG")
    return buf.getvalue()


def npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def idx_bytes(arr: np.ndarray) -> bytes:
    """uint8 array -> IDX bytes (type 0x08, big-endian sizes)."""
    return (
        bytes([0, 0, 8, arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape) + arr.tobytes()
    )


def write_array(path: str | os.PathLike, arr: np.ndarray) -> Path:
    return atomic_write(path, npy_bytes(arr))


def write_png(path: str | os.PathLike, image: torch.Tensor) -> Path:
    """One image (C, H, W) in [0, 1] as a PNG file."""
    return atomic_write(path, png_bytes(to_uint8(image[None])[0]))


def channels_last(arr: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> (N, H, W) for grey, (N, H, W, C) for colour: the layout of image arrays on
    disk."""
    return arr[:, 0] if arr.shape[1] == 1 else arr.transpose(0, 2, 3, 1)


def write_images(out: str | os.PathLike, images: torch.Tensor, stem: str) -> Path:
    """Images (N, C, H, W) in [0, 1] as one uint8 `.npy` (when `out` ends so) or as
    `out/<stem>-00000.png`, ..."""
    out = Path(out)
    if out.suffix.lower() == ".npy":
        return write_array(out, channels_last(to_uint8(images)))
    for i, im in enumerate(images):
        write_png(out / f"{stem}-{i:05d}.png", im)
    return out


def write_like_inputs(
    inputs: Inputs, images: torch.Tensor, out_dir: str | os.PathLike
) -> list[Path]:
    """Write `images` (N, C, H, W) in [0, 1], one result per input image, under the inputs'
    names."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(
            f"--out {out_dir} is a file; the results go into a folder (one file per input file)"
        )
    planned = []
    for f in inputs.files:
        part = images[f.start : f.start + f.count]
        if f.kind == "image":
            target = out_dir / f"{f.name}.png"
            data = png_bytes(to_uint8(part)[0])
        else:
            channel_axis, dtype = f.layout
            arr = part.detach().float().cpu().numpy() if dtype == "float32" else to_uint8(part)
            # back to (N, H, W[, C])
            arr = arr.transpose(0, 2, 3, 1) if channel_axis else channels_last(arr)
            target = out_dir / f.name
            data = npy_bytes(arr) if f.kind == "npy" else idx_bytes(np.ascontiguousarray(arr))
            if f.kind == "idx" and f.name.lower().endswith(".gz"):
                data = gzip.compress(data, mtime=0)
        if target.resolve() == f.path.resolve():
            raise DataError(f"{target} would overwrite its input; choose another --out")
        planned.append((target, data))
    return [atomic_write(target, data) for target, data in planned]


__all__ = [
    "Inputs",
    "InputFile",
    "read_inputs",
    "write_like_inputs",
    "write_array",
    "write_png",
    "write_images",
    "to_uint8",
]
