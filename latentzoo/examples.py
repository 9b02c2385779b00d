"""Example data in the layouts `--data` reads, made from what scikit-learn ships (no download).

- `write_digit_folder(dir)`: scikit-learn's 8x8 digits (UCI optdigits) upscaled to 28x28 grey PNG
  files, one subfolder per class (`0/` ... `9/`): the ImageFolder layout.
- `write_photo_tiles(path)`: 32x32 colour tiles of scikit-learn's two sample photographs (a temple
in
  China, a flower) as a uint8 .npy array (N, 32, 32, 3), unlabelled.
- `write_idx_folder(dir)`: the same digits as IDX files in MNIST's layout (train and t10k).

    python -m latentzoo.examples DIR     writes DIR/digits/, DIR/photos.npy and DIR/idx/
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from . import data
from .files import atomic_write
from .inputs import idx_bytes, png_bytes, write_array


def digits_28(n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (N, 28, 28) digits, 20x20 in a 28x28 frame like MNIST (latentzoo.data.digits_28), and
    their labels (N,)."""
    images, labels = data.digits_28()
    n = n or len(images)
    return images[:n, 0].numpy(), labels[:n].numpy()


def write_digit_folder(folder: str | Path, n: int | None = None) -> Path:
    """One PNG per digit in `folder/<label>/<index>.png`."""
    folder = Path(folder)
    images, labels = digits_28(n)
    for i, (im, y) in enumerate(zip(images, labels)):
        atomic_write(folder / str(y) / f"{i:04d}.png", png_bytes(im[None]))
    return folder


def photo_tiles(size: int = 32) -> np.ndarray:
    """uint8 (N, size, size, 3): every whole size x size tile of scikit-learn's sample
    photographs."""
    from sklearn.datasets import load_sample_images

    tiles = []
    for img in load_sample_images().images:  # (427, 640, 3) each
        h, w = img.shape[0] // size * size, img.shape[1] // size * size
        t = img[:h, :w].reshape(h // size, size, w // size, size, 3).transpose(0, 2, 1, 3, 4)
        tiles.append(t.reshape(-1, size, size, 3))
    return np.ascontiguousarray(np.concatenate(tiles))


def write_photo_tiles(path: str | Path, size: int = 32, n: int | None = None) -> Path:
    return write_array(path, photo_tiles(size)[:n])


def write_idx_folder(folder: str | Path, n_train: int = 1500, n_test: int | None = None) -> Path:
    """train-/t10k- image and label IDX files of the 28x28 digits."""
    folder = Path(folder)
    images, labels = digits_28()
    test_end = None if n_test is None else n_train + n_test
    parts = {"train": slice(0, n_train), "t10k": slice(n_train, test_end)}
    for split, sl in parts.items():
        atomic_write(
            folder / f"{split}-images-idx3-ubyte", idx_bytes(np.ascontiguousarray(images[sl]))
        )
        atomic_write(folder / f"{split}-labels-idx1-ubyte", idx_bytes(labels[sl].astype(np.uint8)))
    return folder


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m latentzoo.examples DIR", file=sys.stderr)
        return 2
    root = Path(args[0])
    write_digit_folder(root / "digits")
    write_photo_tiles(root / "photos.npy")
    write_idx_folder(root / "idx")
    print(
        f"wrote {root / 'digits'} (1797 PNG files in 10 class folders), {root / 'photos.npy'} "
        f"({len(photo_tiles())} colour tiles, 32x32) and {root / 'idx'} (IDX files)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
