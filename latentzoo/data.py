"""Data: the IDX reader, finding or downloading MNIST, the offline `digits` set, in-memory splits.

MNIST (LeCun, Cortes & Burges, 1998) comes as four IDX files. IDX: two zero bytes, a type byte
(0x08 = unsigned byte), a dimension count, that many big-endian uint32 sizes, then the payload.

MNIST is looked for in this order:
  1. an explicit `data_dir` argument (`--data-dir`),
  2. the environment variable `LATENTZOO_DATA`,
  3. the cache folder (`$LATENTZOO_CACHE`, else `$XDG_CACHE_HOME/latentzoo`, else
  `~/.cache/latentzoo`),
  4. a download from the canonical mirrors into the cache, verified against the SHA-256 of the
     decompressed contents before it is used.
A folder "holds MNIST" when the four files (gzip or plain) are in it or in its `mnist/` subfolder.

`digits` is scikit-learn's bundled 8x8 handwritten digits (UCI optdigits, 1797 images), upscaled
to 20x20 and framed to 28x28 like MNIST; it needs no download and keeps the demo working offline.

Whole data sets live in memory as uint8 (N, C, H, W); batches are converted to float in [0, 1] on
the fly. A set without labels has label -1 everywhere. The user's own files (image folders, arrays,
other IDX folders) are read by latentzoo.sources into the same `ImageSet` and `Splits`.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import sys
import urllib.request
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from .errors import DataError
from .sets import BATCH_VALUES, ImageSet, Splits, batch_for  # noqa: F401 (re-exported)

# name -> (file name, SHA-256 of the decompressed bytes, expected shape)
MNIST_FILES = {
    "train_images": (
        "train-images-idx3-ubyte.gz",
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        (60000, 28, 28),
    ),
    "train_labels": (
        "train-labels-idx1-ubyte.gz",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        (60000,),
    ),
    "test_images": (
        "t10k-images-idx3-ubyte.gz",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        (10000, 28, 28),
    ),
    "test_labels": (
        "t10k-labels-idx1-ubyte.gz",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        (10000,),
    ),
}
# The mirrors torchvision uses, in its order. LATENTZOO_MNIST_MIRRORS (comma-separated) overrides.
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
DATASETS = ("mnist", "digits")
VAL_SIZE = 5000  # MNIST validation split: the last 5,000 training images, fixed
HOW_TO_GET = (
    "pass --data-dir DIR or set LATENTZOO_DATA to a folder holding the four MNIST IDX files, "
    "or use --dataset digits (bundled, no download)"
)


# ----------------------------------------------------------------------------- IDX format


def read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"{path}: corrupted gzip stream ({e})") from None
    return raw


def parse_idx(raw: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse IDX bytes (already decompressed) into a uint8 array; `name` appears in errors."""
    if len(raw) < 4:
        raise DataError(f"{name}: not an IDX file (only {len(raw)} bytes)")
    if raw[0] != 0 or raw[1] != 0:
        raise DataError(
            f"{name}: not an IDX file (magic number {raw[:4].hex()} does not start with 0000)"
        )
    dtype, ndim = raw[2], raw[3]
    if dtype != 0x08:
        raise DataError(
            f"{name}: IDX data type 0x{dtype:02x} is not supported "
            "(MNIST uses unsigned bytes, 0x08)"
        )
    if not 1 <= ndim <= 4:
        raise DataError(f"{name}: IDX file claims {ndim} dimensions (expected 1 to 4)")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{name}: truncated IDX header ({len(raw)} of {header} bytes)")
    dims = struct.unpack(">" + "I" * ndim, raw[4:header])
    expected = int(np.prod(dims))
    found = len(raw) - header
    if found < expected:
        raise DataError(
            f"{name}: truncated IDX file: shape {dims} needs "
            f"{expected} bytes of data, found {found}"
        )
    if found > expected:
        raise DataError(
            f"{name}: IDX file has {found - expected} unexpected "
            f"bytes after the data of shape {dims}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header, count=expected).reshape(dims)


def read_idx(path: str | os.PathLike, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Read an IDX file (gzip or plain). If `shape` is given, the file must have that shape
    (a 0 in `shape` accepts any size on that axis)."""
    path = Path(path)
    arr = parse_idx(read_bytes(path), str(path))
    if shape is not None:
        kind = "an image file (N x 28 x 28)" if len(shape) == 3 else "a label file (N)"
        if arr.ndim != len(shape) or any(s and s != a for s, a in zip(shape, arr.shape)):
            raise DataError(
                f"{path}: expected {kind} of shape {shape}, found shape {tuple(arr.shape)}"
            )
    return arr


# ----------------------------------------------------------------------------- finding MNIST


def cache_dir() -> Path:
    if os.environ.get("LATENTZOO_CACHE"):
        return Path(os.environ["LATENTZOO_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "latentzoo"


def _mnist_paths(folder: Path) -> dict[str, Path] | None:
    """The four MNIST files in `folder` or `folder/mnist`, gzip or plain; None if incomplete."""
    for base in (folder, folder / "mnist"):
        found = {}
        for key, (fname, _, _) in MNIST_FILES.items():
            for candidate in (base / fname, base / fname[:-3]):
                if candidate.is_file():
                    found[key] = candidate
                    break
        if len(found) == len(MNIST_FILES):
            return found
    return None


def find_mnist(data_dir: str | os.PathLike | None = None, download: bool = True) -> dict[str, Path]:
    """Locate the four MNIST files (see the module docstring for the order); download if needed."""
    if data_dir is not None:
        paths = _mnist_paths(Path(data_dir))
        if paths is None:
            raise DataError(
                f"no MNIST files in {data_dir} (looked for train-images-idx3-ubyte.gz and the "
                f"other three there and in its mnist/ subfolder)"
            )
        return paths
    env = os.environ.get("LATENTZOO_DATA")
    if env:
        paths = _mnist_paths(Path(env))
        if paths is None:
            raise DataError(
                f"LATENTZOO_DATA={env} holds no MNIST files (looked "
                "there and in its mnist/ subfolder)"
            )
        return paths
    cached = cache_dir() / "mnist"
    paths = _mnist_paths(cached)
    if paths is not None:
        return paths
    if not download:
        raise DataError(f"MNIST not found: {HOW_TO_GET}")
    return download_mnist(cached)


def mirrors() -> list[str]:
    env = os.environ.get("LATENTZOO_MNIST_MIRRORS")
    urls = [u.strip() for u in env.split(",") if u.strip()] if env else list(MNIST_MIRRORS)
    return [u if u.endswith("/") else u + "/" for u in urls]


def download_mnist(
    dest: str | os.PathLike,
    urls: list[str] | None = None,
    timeout: float = 30.0,
    quiet: bool = False,
) -> dict[str, Path]:
    """Download the four files into `dest`, verifying the SHA-256 of each decompressed payload.

    A file is written (to a temporary name, then renamed) only after its hash matched. A mirror
    that serves wrong bytes is skipped; if no mirror serves the right bytes, DataError."""
    dest = Path(dest)
    urls = urls or mirrors()
    out = {}
    for key, (fname, sha, _) in MNIST_FILES.items():
        target = dest / fname
        if target.is_file():
            out[key] = target
            continue
        problems = []
        for base in urls:
            url = base + fname
            try:
                if not quiet:
                    print(f"latentzoo: downloading {url}", file=sys.stderr)
                with urllib.request.urlopen(url, timeout=timeout) as resp:
                    blob = resp.read()
            # network errors come in many types; all mean "try the next mirror"
            except Exception as e:
                problems.append(f"{url}: {getattr(e, 'reason', e)}")
                continue
            try:
                payload = gzip.decompress(blob)
            except (OSError, EOFError, zlib.error):
                problems.append(f"{url}: not a valid gzip file")
                continue
            digest = hashlib.sha256(payload).hexdigest()
            if digest != sha:
                problems.append(
                    f"{url}: checksum mismatch (SHA-256 {digest[:12]}..., expected {sha[:12]}...)"
                )
                continue
            dest.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
            tmp.write_bytes(blob)
            os.replace(tmp, target)
            out[key] = target
            break
        else:
            raise DataError(
                f"could not download MNIST {fname}: {'; '.join(problems)}; {HOW_TO_GET}"
            )
    return out


@lru_cache(maxsize=4)
def _load_mnist_arrays(paths_key: tuple[tuple[str, str], ...]) -> dict[str, np.ndarray]:
    paths = dict(paths_key)
    return {key: read_idx(paths[key], MNIST_FILES[key][2]) for key in MNIST_FILES}


def load_mnist(data_dir=None, download: bool = True) -> tuple[ImageSet, ImageSet]:
    """(train, test) MNIST image sets."""
    paths = find_mnist(data_dir, download=download)
    arrs = _load_mnist_arrays(tuple(sorted((k, str(v)) for k, v in paths.items())))
    # (60000, 1, 28, 28)
    train = ImageSet(
        torch.from_numpy(arrs["train_images"].copy()).unsqueeze(1),
        torch.from_numpy(arrs["train_labels"].astype(np.int64)),
    )
    test = ImageSet(
        torch.from_numpy(arrs["test_images"].copy()).unsqueeze(1),  # (10000, 1, 28, 28)
        torch.from_numpy(arrs["test_labels"].astype(np.int64)),
    )
    return train, test


def digits_28() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 1,797 8x8 digits as MNIST draws them: upscaled to 20x20 and framed to 28x28,
    uint8 (1797, 1, 28, 28), with their labels (1797,), in scikit-learn's order. The one place
    that makes them: the `digits` data set, the example files and the foreign image sets use it."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.from_numpy(d.images.astype(np.float32) / 16.0).unsqueeze(1)  # (1797, 1, 8, 8)
    # (1797, 1, 20, 20)
    x = torch.nn.functional.interpolate(x, size=(20, 20), mode="bilinear", align_corners=False)
    # (1797, 1, 28, 28), digit framed like MNIST's 20x20 box
    x = torch.nn.functional.pad(x, (4, 4, 4, 4))
    images = (x.clamp(0, 1) * 255).round().to(torch.uint8)  # (1797, 1, 28, 28)
    return images, torch.from_numpy(d.target.astype(np.int64))


def load_digits_28() -> tuple[ImageSet, ImageSet, ImageSet]:
    """`digits_28` in a fixed order, split into (train, val, test)."""
    images, labels = digits_28()
    order = torch.from_numpy(np.random.RandomState(0).permutation(len(labels)))  # fixed split
    images, labels = images[order], labels[order]
    full = ImageSet(images, labels)
    return (
        full.subset(slice(0, 1350)),
        full.subset(slice(1350, 1500)),
        full.subset(slice(1500, None)),
    )


def load_dataset(name: str = "mnist", data_dir=None, download: bool = True) -> Splits:
    """Train/val/test splits. MNIST: validation is the last 5,000 training images (fixed), training
    the other 55,000 (a run's `limit` keeps the first N of them:
    latentzoo.training.training_splits)."""
    if name == "mnist":
        train, test = load_mnist(data_dir, download=download)
        val = train.subset(slice(len(train) - VAL_SIZE, None))
        train = train.subset(slice(0, len(train) - VAL_SIZE))
    elif name == "digits":
        train, val, test = load_digits_28()
    elif name == "files":
        raise DataError(
            "the dataset 'files' is the images of --data: load them "
            "with latentzoo.sources.load_source"
        )
    else:
        raise DataError(f"unknown dataset '{name}' (choose {', '.join(DATASETS)})")
    return Splits(name, train, val, test)
