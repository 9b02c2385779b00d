"""Pictures: image grids written as PNG (atomically).

`save_rows` lays out rows of images (e.g. clean / noisy / denoised); `save_reconstructions`
puts each row of inputs above the row of their reconstructions.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .runs import atomic_write

PAD = 2


def grid(images: torch.Tensor, nrow: int, pad: int = PAD) -> np.ndarray:
    """Images (N, 1, H, W) in [0, 1] -> uint8 picture with `nrow` images per row, white gaps."""
    x = images.detach().float().cpu().clamp(0, 1)[:, 0]  # (N, H, W)
    n, h, w = x.shape
    rows = (n + nrow - 1) // nrow
    canvas = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad), 255, dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, nrow)
        canvas[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = \
            (x[i].numpy() * 255).round().astype(np.uint8)
    return canvas


def save_png(path: str | os.PathLike, picture: np.ndarray, scale: int = 2) -> Path:
    img = Image.fromarray(picture)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return atomic_write(path, buf.getvalue())


def save_grid(path: str | os.PathLike, images: torch.Tensor, nrow: int = 8) -> Path:
    return save_png(path, grid(images, nrow))


def save_rows(path: str | os.PathLike, rows: list[torch.Tensor]) -> Path:
    """Each tensor (n, 1, 28, 28) becomes one row; all rows have the same n."""
    return save_png(path, grid(torch.cat(rows), nrow=rows[0].shape[0]))


def save_reconstructions(path: str | os.PathLike, x: torch.Tensor, x_hat: torch.Tensor, per_row: int = 8) -> Path:
    """Rows of inputs, each followed by the row of their reconstructions."""
    rows = []
    for i in range(0, x.shape[0], per_row):
        rows += [x[i:i + per_row], x_hat[i:i + per_row]]
    return save_png(path, grid(torch.cat(rows), nrow=per_row))
