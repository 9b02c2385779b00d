"""Sliding windows over inputs longer than a model's example, and overlap-add back to their length:
1-D windows over a recording (C, T) (signals, sound) and 2-D tiles over a large image (C, H, W)
(photographs), each with blended seams.

A model processes each window; `overlap_add` (or `blend_tiles`) puts the outputs back, each value
the weighted mean of the windows that cover it, weighted by a window that falls towards the edges
(a Hann window lifted off zero, so a value that only one window covers keeps its weight). The last
window ends at the input's end (an input shorter than a window is zero-padded, and the padding
dropped again), so the output has the input's length (or size). With outputs equal to the
windows, the input comes back exactly (up to float rounding). `worst_cover` gives each position the
highest score of the windows covering it, and `intervals` the runs of flagged positions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .errors import ConfigError


@dataclass(frozen=True)
class CutInput:
    """A whole input that was cut into windows: its file name, its array's rank ((T,) 1, (T, C)
    2), its length, the hop between its windows (`starts(length, size, hop)`), a table's header
    row, and a sound file's own sample rate in Hz and length at that rate (0: the run's, or
    none)."""

    name: str
    axes: int
    length: int
    hop: int
    header: tuple[str, ...] = ()
    rate: int = 0
    frames: int = 0


def starts(length: int, size: int, hop: int) -> list[int]:
    """Start of every window of `size` every `hop` along `length`: the first at 0, the last ending
    at the end (so every position is covered without padding; a length under `size` gives one
    window, zero-padded)."""
    if size < 1 or not 1 <= hop <= size:
        raise ConfigError(f"windows need size >= 1 and 1 <= hop <= size, got {size} and {hop}")
    if length <= size:
        return [0]
    out = list(range(0, length - size, hop))
    return out + [length - size]


def seam_weight(size: int, floor: float = 1e-3) -> torch.Tensor:
    """(size,) a Hann window lifted by `floor`: blends overlapping windows smoothly."""
    return torch.hann_window(size + 2, periodic=False)[1:-1] + floor


def windows(x: torch.Tensor, size: int, hop: int) -> torch.Tensor:
    """(C, T) -> (N, C, size): the windows of `starts(T, size, hop)`, zero-padded past the end."""
    c, t = x.shape
    first = starts(t, size, hop)
    padded = torch.zeros(c, first[-1] + size, dtype=x.dtype, device=x.device)
    padded[:, :t] = x
    return torch.stack([padded[:, s : s + size] for s in first])  # (N, C, size)


def overlap_add(parts: torch.Tensor, hop: int, length: int) -> torch.Tensor:
    """(N, C, size) windows taken every `hop` -> (C, length): the weighted overlap-add."""
    n, c, size = parts.shape
    first = starts(length, size, hop)
    if len(first) != n:
        raise ConfigError(f"{n} windows do not cover {length} values at hop {hop}")
    w = seam_weight(size).to(parts)
    total = torch.zeros(c, first[-1] + size, dtype=parts.dtype, device=parts.device)
    weight = torch.zeros(first[-1] + size, dtype=parts.dtype, device=parts.device)
    for part, s in zip(parts, first):
        total[:, s : s + size] += part * w
        weight[s : s + size] += w
    return (total / weight)[:, :length]  # (C, length)


def tiles(x: torch.Tensor, size: int, hop: int) -> torch.Tensor:
    """(C, H, W) -> (N, C, size, size): square tiles every `hop` down and across, row by row,
    zero-padded past the edges."""
    c, h, w = x.shape
    rows, cols = starts(h, size, hop), starts(w, size, hop)
    padded = torch.zeros(c, rows[-1] + size, cols[-1] + size, dtype=x.dtype, device=x.device)
    padded[:, :h, :w] = x
    return torch.stack([padded[:, r : r + size, q : q + size] for r in rows for q in cols])


def blend_tiles(parts: torch.Tensor, hop: int, height: int, width: int) -> torch.Tensor:
    """(N, C, size, size) tiles from `tiles` -> (C, height, width), the seams blended by the
    separable seam weight."""
    n, c, size, _ = parts.shape
    rows, cols = starts(height, size, hop), starts(width, size, hop)
    if len(rows) * len(cols) != n:
        raise ConfigError(f"{n} tiles do not cover {height}x{width} at hop {hop}")
    w1 = seam_weight(size).to(parts)
    w = w1[:, None] * w1[None, :]  # (size, size)
    shape = (rows[-1] + size, cols[-1] + size)
    total = torch.zeros(c, *shape, dtype=parts.dtype, device=parts.device)
    weight = torch.zeros(shape, dtype=parts.dtype, device=parts.device)
    corners = [(r, q) for r in rows for q in cols]
    for part, (r, q) in zip(parts, corners):
        total[:, r : r + size, q : q + size] += part * w
        weight[r : r + size, q : q + size] += w
    return (total / weight)[:, :height, :width]  # (C, height, width)


def worst_cover(scores: torch.Tensor, size: int, hop: int, length: int) -> torch.Tensor:
    """Window scores (N,) from `starts(length, size, hop)` -> (length,): each position's score is
    the highest of the windows that cover it."""
    first = starts(length, size, hop)
    if len(first) != len(scores):
        raise ConfigError(f"{len(scores)} scores do not match {len(first)} windows")
    out = torch.full((first[-1] + size,), -math.inf, dtype=torch.float64)
    for score, s in zip(scores.double(), first):
        out[s : s + size] = torch.maximum(out[s : s + size], score)
    return out[:length]


def intervals(flags: torch.Tensor) -> list[tuple[int, int]]:
    """(start, end) of each run of True in `flags` (T,), end exclusive."""
    f = torch.cat(
        [torch.zeros(1, dtype=torch.int8), flags.to(torch.int8), torch.zeros(1, dtype=torch.int8)]
    )
    edges = torch.nonzero(f[1:] - f[:-1]).flatten().tolist()  # rises and falls alternate
    return list(zip(edges[0::2], edges[1::2]))
