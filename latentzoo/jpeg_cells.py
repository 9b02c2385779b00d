"""What a decoded JPEG still tells about the photo it was made from: the quality it was saved at,
and the quantisation cells its clean version lies in.

A JPEG stores each 8x8 block's DCT coefficients of the luma (Y) rounded to multiples of a step per
frequency; libjpeg's standard table scaled by the quality (Pillow and most software) sets the steps.
So the coefficients of a decoded photo lie near those multiples, which is how a decoded JPEG is
told from a photo that never was one and its quality estimated (Fan and de Queiroz 2003, for the
estimate from the decoded pixels), and the clean photo's coefficients lie within half a step of
them (up to the decoder's rounding): projecting a restoration's luma onto those cells (the
quantisation constraint set of Zakhor 1992 and Yang et al. 1993) moves it no further from the clean
photo's luma, since the DCT keeps distances.

- `jpeg_quality(x, highest)`: a photo (C, H, W) in [0, 1] -> the quality (at most `highest`) of
  the standard table its luma was quantised with, None when it does not look like a decoded JPEG
  of that quality or lower with the grid at its top left;
- `into_cells(out, noisy, quality)`: a restoration of `noisy` (C, H, W) with its luma moved into
  `noisy`'s cells (a change of luma, the same in each channel, leaves the chroma as it is).
"""

from __future__ import annotations

import math

import torch

BLOCK = 8  # a JPEG block's side
# libjpeg's luma table at quality 50 (ITU-T T.81, Annex K), row by row
STANDARD_LUMA = (
    (16, 11, 10, 16, 24, 40, 51, 61),
    (12, 12, 14, 19, 26, 58, 60, 55),
    (14, 13, 16, 24, 40, 57, 69, 56),
    (14, 17, 22, 29, 51, 87, 80, 62),
    (18, 22, 37, 56, 68, 109, 103, 77),
    (24, 35, 55, 64, 81, 104, 113, 92),
    (49, 64, 78, 87, 103, 121, 120, 101),
    (72, 92, 95, 98, 112, 100, 103, 99),
)
# a coefficient sits on its step's lattice when within this of a multiple (the decoded pixels are
# rounded, and the luma of rounded colour channels drifts, most in the block's mean, the DC term)
AC_TOLERANCE, DC_TOLERANCE = 1.5, 4.0
CONSISTENT = 0.8  # share of the nonzero coefficients on the lattice that marks a decoded JPEG
MIN_NONZERO = 64  # nonzero coefficients needed before a table is judged


def standard_table(quality: int) -> torch.Tensor:
    """libjpeg's luma steps at `quality` (1 to 100), (8, 8)."""
    scale = 5000 / quality if quality < 50 else 200 - 2 * quality
    return ((torch.tensor(STANDARD_LUMA, dtype=torch.float32) * scale + 50) // 100).clamp(1, 255)


def dct_matrix() -> torch.Tensor:
    """The orthonormal 8-point DCT-II (8, 8), whose 2-D form is JPEG's block transform."""
    n = torch.arange(BLOCK, dtype=torch.float32)
    d = torch.cos(math.pi * (2 * n[None] + 1) * n[:, None] / (2 * BLOCK)) * math.sqrt(2 / BLOCK)
    d[0] /= math.sqrt(2)
    return d


def luma(x: torch.Tensor) -> torch.Tensor:
    """A photo (C, H, W) in [0, 1] -> its JPEG luma (H, W) in 0 to 255 (JFIF's weights)."""
    x = x.float() * 255
    return x[0] if x.shape[0] == 1 else 0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2]


def to_blocks(y: torch.Tensor) -> torch.Tensor:
    """Luma (H, W) -> the DCT coefficients of its whole blocks (h/8, w/8, 8, 8), level shifted."""
    d = dct_matrix()
    h, w = y.shape[0] // BLOCK * BLOCK, y.shape[1] // BLOCK * BLOCK
    b = y[:h, :w].reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).transpose(1, 2)
    return d @ (b - 128) @ d.T


def from_blocks(c: torch.Tensor) -> torch.Tensor:
    """`to_blocks` undone: coefficients (h/8, w/8, 8, 8) -> luma (h, w)."""
    d = dct_matrix()
    b = d.T @ c @ d + 128
    return b.transpose(1, 2).reshape(c.shape[0] * BLOCK, c.shape[1] * BLOCK)


def on_lattice(c: torch.Tensor, table: torch.Tensor) -> tuple[int, int]:
    """(nonzero coefficients near a multiple of their step, nonzero coefficients) of blocks' DCT
    coefficients (N, 8, 8) under a table of steps (8, 8)."""
    k = (c / table).round()
    cap = torch.full_like(table, AC_TOLERANCE)
    cap[0, 0] = DC_TOLERANCE
    near = (c - k * table).abs() < torch.minimum(table / 4, cap)
    nonzero = k != 0
    return int((near & nonzero).sum()), int(nonzero.sum())


def jpeg_quality(x: torch.Tensor, highest: int = 100) -> int | None:
    """The lowest quality up to `highest` (the coarsest standard table) whose lattice most of the
    photo's nonzero luma coefficients lie on; None when none does, or too few coefficients are
    nonzero to tell. Blocks with a clipped pixel are left out (clipping moves a block off its
    lattice)."""
    clipped = ((x <= 0) | (x >= 1)).any(0)  # (H, W)
    h, w = clipped.shape[0] // BLOCK * BLOCK, clipped.shape[1] // BLOCK * BLOCK
    clipped = clipped[:h, :w].reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).any(3).any(1)
    c = to_blocks(luma(x))[~clipped]  # (N, 8, 8)
    for quality in range(1, highest + 1):
        table = standard_table(quality)
        if table.max() <= 2:  # steps this fine fit any photo's rounded pixels
            return None
        near, nonzero = on_lattice(c, table)
        if nonzero >= MIN_NONZERO and near >= CONSISTENT * nonzero:
            return quality
    return None


def into_cells(out: torch.Tensor, noisy: torch.Tensor, quality: int) -> torch.Tensor:
    """`out` (C, H, W) with its luma's coefficients clipped to within half a step of `noisy`'s
    multiples of the standard table at `quality` (whole blocks only); the change of luma is added
    to every channel, which keeps the chroma."""
    table = standard_table(quality)
    y_out = luma(out)
    c_out = to_blocks(y_out)  # (h/8, w/8, 8, 8)
    cell = (to_blocks(luma(noisy)) / table).round() * table
    c_in = torch.maximum(torch.minimum(c_out, cell + table / 2), cell - table / 2)
    change = torch.zeros_like(y_out)  # (H, W)
    h, w = c_out.shape[0] * BLOCK, c_out.shape[1] * BLOCK
    change[:h, :w] = from_blocks(c_in) - from_blocks(c_out)
    return out + change.to(out.dtype)[None] / 255
