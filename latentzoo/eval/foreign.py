"""Foreign image sets: 28 x 28 grey images that are not MNIST digits, for out-of-distribution
scoring.

`foreign_sets(n)` makes n images of each of five sets, from a fixed seed and from what the installed
packages ship (no download): grey tiles of scikit-learn's two sample photographs, synthetic pen
strokes (one to three polylines), scikit-learn's 8 x 8 digits scaled up to MNIST's 20 x 20 box
(other handwriting, and smooth), capital letters in Pillow's default font, and uniform noise.
Reconstruction error alone is known to rank simple, smooth inputs as normal (Nalisnick et al. 2019
report the same of likelihoods); these sets test that a score does not. `FOREIGN` is the size of
each half: the first half is for choosing a score (against validation digits), the second for
reporting it."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ..data import digits_28

FOREIGN = 800  # images of each set per half (choice, report)
LETTERS = "ABEFGHKLMNPRSTWXYZ"  # capitals that no digit resembles closely


def photo_crops(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 28, 28) uint8: random 84 x 84 crops of the sample photographs, greyed and shrunk."""
    from sklearn.datasets import load_sample_images

    greys = [np.asarray(Image.fromarray(im).convert("L")) for im in load_sample_images().images]
    out = []
    for i in range(n):
        g = greys[i % len(greys)]
        r, c = rng.integers(0, g.shape[0] - 84), rng.integers(0, g.shape[1] - 84)
        out.append(
            np.asarray(Image.fromarray(g[r : r + 84, c : c + 84]).resize((28, 28), Image.BILINEAR))
        )
    return np.stack(out)


def strokes(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 28, 28) uint8: one to three white polylines of 2 to 4 points, 2 or 3 pixels wide."""
    out = []
    for _ in range(n):
        im = Image.new("L", (28, 28))
        d = ImageDraw.Draw(im)
        for _ in range(rng.integers(1, 4)):
            pts = [tuple(rng.integers(4, 24, 2).tolist()) for _ in range(rng.integers(2, 5))]
            d.line(pts, fill=255, width=int(rng.integers(2, 4)))
        out.append(np.asarray(im))
    return np.stack(out)


def small_digits(n: int) -> np.ndarray:
    """(n, 28, 28) uint8: the first n of scikit-learn's 1,797 8 x 8 digits, scaled to 20 x 20,
    padded by 4 (latentzoo.data.digits_28)."""
    return digits_28()[0][:n, 0].numpy()


def letters(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 28, 28) uint8: the capitals of LETTERS in turn, Pillow's default font at size 22,
    jittered."""
    font = ImageFont.load_default(size=22)
    out = []
    for i in range(n):
        im = Image.new("L", (28, 28))
        ImageDraw.Draw(im).text(
            (int(rng.integers(4, 9)), int(rng.integers(0, 4))),
            LETTERS[i % len(LETTERS)],
            fill=255,
            font=font,
        )
        out.append(np.asarray(im))
    return np.stack(out)


def foreign_sets(n: int = 2 * FOREIGN) -> dict[str, torch.Tensor]:
    """n images of each set (n <= 1,797, scikit-learn's digit count), (n, 1, 28, 28) float in [0,
    1], seed 0."""
    rng = np.random.default_rng(0)  # one generator, drawn in this order, so the sets never change
    sets = {
        "photo tiles": photo_crops(n, rng),
        "pen strokes": strokes(n, rng),
        "scikit-learn digits, scaled up": small_digits(n),
        "letters": letters(n, rng),
        "uniform noise": rng.integers(0, 256, (n, 28, 28)).astype(np.uint8),
    }
    return {
        k: torch.from_numpy(v.astype(np.uint8)).float().div(255)[:, None] for k, v in sets.items()
    }


__all__ = ["FOREIGN", "foreign_sets"]
