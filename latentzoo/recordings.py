"""Long recordings in chunks, so that memory does not grow with a recording's length.

`open_recording` reads a recording's samples a chunk at a time (a `.npy` mapped from disk, a table
line by line; a `.npz` is read whole, as zip members cannot be mapped). `window_batches` cuts the
chunks into the windows of `latentzoo.windows.starts` as they arrive, and says with each batch how
many samples no later window covers. Two sinks put the model's outputs back sample by sample once
they are final: `Cover` (each sample's highest window score) and `Blend` (the weighted overlap-add
of latentzoo.windows). `Flagged` collects the runs of flagged samples across chunks, and
`RecordingWriter` writes a recording in its input's format as its chunks come, and `step_lines`
formats the per-sample lines of a score's CSV.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError
from .series import (
    DELIMITERS,
    TABLE_SUFFIXES,
    as_recording,
    check_finite,
    is_number,
    numeric,
    read_array,
)
from .windows import seam_weight

CHUNK_SAMPLES = 1 << 16  # samples read from a file at a time
BATCH_VALUES = 1 << 20  # values (windows x channels x samples) handed to a model at a time


@dataclass
class Recording:
    path: Path
    channels: int
    axes: int  # the file's array axes: (T,) 1 or (T, C) 2
    header: list[str] | None  # a table's header row
    length: int | None  # samples, where known before reading (arrays)
    read: Callable[[], Iterator[np.ndarray]]  # its chunks (C, n) float64, finite, in order

    def chunks(self) -> Iterator[np.ndarray]:
        seen = 0
        for chunk in self.read():
            seen += chunk.shape[1]
            yield check_finite(chunk, str(self.path))
        if seen < 2:
            raise DataError(f"{self.path}: a recording of {seen} sample; it needs at least 2")


def open_recording(path: Path) -> Recording:
    """A recording file, read lazily: a table with a column per channel (and an optional header
    row), or an array (T,) or (T, C)."""
    if path.suffix.lower() in TABLE_SUFFIXES:
        return table_recording(path)
    values = None
    if path.suffix.lower() == ".npy":
        try:
            values = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError, EOFError):
            values = None  # read_array says what is wrong with it
    if values is None:
        values = read_array(path)["train"][0]
    if values.dtype.kind not in "biuf":
        numeric(values, str(path))  # the usual one-line error
    rec = as_recording(values, str(path))  # (C, T), a view of the mapped file
    c, t = rec.shape
    mapped = isinstance(values, np.memmap) and values.flags.c_contiguous
    offset = values.offset if isinstance(values, np.memmap) else 0

    def read() -> Iterator[np.ndarray]:
        if not mapped:
            for a in range(0, t, CHUNK_SAMPLES):
                yield np.asarray(rec[:, a : a + CHUNK_SAMPLES], dtype=np.float64)
            return
        # read rather than map: mapped pages would stay resident as the file is read
        with open(path, "rb") as f:
            f.seek(offset)
            for a in range(0, t, CHUNK_SAMPLES):
                n = min(CHUNK_SAMPLES, t - a)
                rows = np.fromfile(f, values.dtype, n * c).reshape(n, c)  # (n, C)
                yield rows.T.astype(np.float64)

    return Recording(path, c, values.ndim, None, t, read)


def table_lines(path: Path) -> Generator[tuple[int, list[str]], None, None]:
    """(line number, cells) of a table's non-empty lines."""
    delimiter = DELIMITERS[path.suffix.lower()]
    try:
        with open(path, encoding="utf-8") as f:
            for i, line in enumerate(f, start=1):
                if line.strip():
                    yield i, [c.strip() for c in line.split(delimiter)]
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text table (it is not UTF-8)") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None


def table_recording(path: Path) -> Recording:
    """A table read in chunks of lines; its first row is a header when it is not all numbers."""
    lines = table_lines(path)
    first = next(lines, None)
    if first is None:
        raise DataError(f"{path}: an empty file")
    header = first[1] if any(not is_number(c) for c in first[1]) else None
    row = next(lines, None) if header else first
    lines.close()
    if row is None:
        raise DataError(f"{path}: line 1, column 1: a header row and no samples")
    channels = len(row[1])

    def read() -> Iterator[np.ndarray]:
        rows = table_lines(path)
        if header:
            next(rows)
        chunk: list[tuple[int, list[str]]] = []
        for item in rows:
            chunk.append(item)
            if len(chunk) == CHUNK_SAMPLES:
                yield parse_rows(chunk, channels, path)
                chunk = []
        if chunk:
            yield parse_rows(chunk, channels, path)

    return Recording(path, channels, 2, header, None, read)


def parse_rows(rows: list[tuple[int, list[str]]], channels: int, path: Path) -> np.ndarray:
    """Numbered rows of cells -> (C, n) float64; an empty cell is NaN; a row of another width or a
    cell that is not a number is a DataError naming its line."""
    try:
        values = np.array([cells for _, cells in rows], dtype=np.float64)
        if values.ndim == 2 and values.shape[1] == channels:
            return values.T
    except ValueError:
        pass
    for i, cells in rows:
        if len(cells) != channels:
            raise DataError(
                f"{path}: line {i}: {len(cells)} values; a recording's rows must each have one "
                f"value per channel ({channels})"
            )
        for j, c in enumerate(cells):
            if not is_number(c):
                raise DataError(f"{path}: line {i}, column {j + 1}: '{c[:20]}' is not a number")
    return np.array([[float(c) if c else np.nan for c in cells] for _, cells in rows]).T


def window_batches(
    chunks: Iterator[np.ndarray], size: int, hop: int, batch: int
) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
    """(starts (n,), windows (n, C, size) float32, ready) in order, at most `batch` windows at a
    time: the windows of `starts(T, size, hop)` (the last ending at the recording's end, a
    recording shorter than `size` zero-padded), and `ready`, the number of samples that no later
    window covers (T with the last batch)."""
    buf = np.zeros((0, 0))
    buf0 = seen = nxt = 0  # the buffer's first sample, samples read, the next regular start
    starts: list[int] = []
    parts: list[np.ndarray] = []
    for chunk in chunks:
        buf = chunk if not buf.size else np.concatenate([buf, chunk], 1)
        seen += chunk.shape[1]
        while nxt + size < seen:  # a regular start ends before the end: the end is further on
            starts.append(nxt)
            parts.append(buf[:, nxt - buf0 : nxt - buf0 + size])
            nxt += hop
            if len(parts) == batch:
                yield (
                    np.array(starts),
                    np.stack(parts).astype(np.float32),
                    max(0, min(nxt, seen - size)),
                )
                starts, parts = [], []
        keep = max(buf0, min(nxt, seen - size))  # what later windows can still need
        buf, buf0 = buf[:, keep - buf0 :], keep
    if seen <= size:  # one window, zero-padded
        last = np.zeros((buf.shape[0], size))
        last[:, : buf.shape[1]] = buf
    else:
        last = buf[:, seen - size - buf0 :]
    starts.append(max(0, seen - size))
    parts.append(last)
    yield np.array(starts), np.stack(parts).astype(np.float32), seen


def batch_windows(channels: int, size: int) -> int:
    return max(1, BATCH_VALUES // (channels * size))


class Cover:
    """Each sample's highest score among the windows that cover it."""

    def __init__(self, size: int):
        self.size, self.base, self.values = size, 0, np.zeros(0)

    def add(self, starts: np.ndarray, scores: np.ndarray) -> None:
        grow = int(starts[-1]) + self.size - self.base - len(self.values)
        self.values = np.concatenate([self.values, np.full(max(grow, 0), -np.inf)])
        for s, v in zip((starts - self.base).tolist(), scores.tolist()):
            seg = self.values[s : s + self.size]
            np.maximum(seg, v, out=seg)

    def take(self, ready: int) -> np.ndarray:
        """The final values of the samples before `ready` not yet taken."""
        k = ready - self.base
        out, self.values, self.base = self.values[:k], self.values[k:], ready
        return out


class Blend:
    """The weighted overlap-add of windows' outputs (latentzoo.windows.overlap_add), in pieces."""

    def __init__(self, channels: int, size: int):
        self.size, self.base = size, 0
        self.weight = seam_weight(size).double().numpy()
        self.total, self.sum = np.zeros((channels, 0)), np.zeros(0)

    def add(self, starts: np.ndarray, parts: np.ndarray) -> None:
        grow = int(starts[-1]) + self.size - self.base - len(self.sum)
        if grow > 0:
            self.total = np.concatenate([self.total, np.zeros((len(self.total), grow))], 1)
            self.sum = np.concatenate([self.sum, np.zeros(grow)])
        for s, part in zip((starts - self.base).tolist(), parts):
            self.total[:, s : s + self.size] += part * self.weight
            self.sum[s : s + self.size] += self.weight

    def take(self, ready: int) -> np.ndarray:
        """(C, n) the blended samples before `ready` not yet taken."""
        k = ready - self.base
        out = self.total[:, :k] / self.sum[:k]
        self.total, self.sum, self.base = self.total[:, k:], self.sum[k:], ready
        return out


class Flagged:
    """The runs of flagged samples (start, end exclusive, peak score), across chunks."""

    def __init__(self):
        self.start: int | None = None
        self.peak = -np.inf
        self.found: list[tuple[int, int, float]] = []

    def add(self, first: int, scores: np.ndarray, flags: np.ndarray) -> None:
        was = [1 if self.start is not None else 0]
        bounds = np.flatnonzero(np.diff(np.concatenate([was, flags.astype(np.int8)])))
        begin = 0
        for b in bounds.tolist():  # rises and falls alternate
            if self.start is None:
                self.start, self.peak, begin = first + b, -np.inf, b
            else:
                self.close(first + b, scores[begin:b])
        if self.start is not None:
            self.peak = max(self.peak, float(scores[begin:].max()))

    def close(self, end: int, scores: np.ndarray) -> None:
        assert self.start is not None
        peak = max(self.peak, float(scores.max())) if len(scores) else self.peak
        self.found.append((self.start, end, peak))
        self.start = None


class RecordingWriter:
    """A recording written as its chunks come, in its input's format: a `.npy` (T,) or (T, C)
    float32 (its length known from the input), a table with the input's header, or a
    `.npz` written at the end."""

    def __init__(self, rec: Recording, target: Path, temp: Path):
        self.rec, self.temp, self.at = rec, temp, 0
        self.suffix = target.suffix.lower()
        self.parts: list[np.ndarray] = []
        self.file: Any = None  # binary for a .npy, text for a table
        if self.suffix == ".npy":  # written, not mapped: mapped pages would stay resident
            t, c = rec.length, rec.channels
            self.file = open(temp, "wb")
            header = {
                "descr": np.lib.format.dtype_to_descr(np.dtype("<f4")),
                "fortran_order": False,
                "shape": (t,) if rec.axes == 1 else (t, c),
            }
            np.lib.format.write_array_header_2_0(self.file, header)
        elif self.suffix in TABLE_SUFFIXES:
            self.file = open(temp, "w", encoding="utf-8")
            self.sep = DELIMITERS[self.suffix] or " "
            if rec.header:
                self.file.write(self.sep.join(rec.header) + "\n")

    def write(self, values: np.ndarray) -> None:
        """The next samples (C, n) in units."""
        rows = values.T.astype(np.float32)  # (n, C)
        if self.suffix == ".npy":
            self.file.write(rows.astype("<f4").tobytes())
        elif self.suffix in TABLE_SUFFIXES:
            sep = self.sep
            self.file.write("".join(sep.join(f"{v:.7g}" for v in r) + "\n" for r in rows.tolist()))
        else:
            self.parts.append(rows)
        self.at += len(rows)

    def close(self) -> None:
        if self.suffix in (".npy", *TABLE_SUFFIXES):
            self.file.close()
        else:
            rows = np.concatenate(self.parts)
            buf = io.BytesIO()
            np.savez(buf, x=rows[:, 0] if self.rec.axes == 1 else rows)
            self.temp.write_bytes(buf.getvalue())


class Envelope:
    """A long series summarised for drawing in at most 2 * `bins` bins of equal width, each
    holding its lowest and highest value; the width doubles as the series grows, so the memory
    does not."""

    def __init__(self, bins: int = 1024):
        self.bins, self.width = bins, 1
        self.lo, self.hi = np.zeros(0), np.zeros(0)
        self.part: tuple[float, float, int] | None = None  # the last bin, not yet full

    def add(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float64)
        if self.part is not None:
            lo, hi, n = self.part
            k = min(self.width - n, len(values))
            head, values = values[:k], values[k:]
            if len(head):
                lo, hi, n = min(lo, head.min()), max(hi, head.max()), n + k
            self.part = (lo, hi, n)
            if n == self.width:
                self.lo, self.hi = np.append(self.lo, lo), np.append(self.hi, hi)
                self.part = None
        full = len(values) // self.width * self.width
        bins = values[:full].reshape(-1, self.width)
        self.lo = np.concatenate([self.lo, bins.min(1)])
        self.hi = np.concatenate([self.hi, bins.max(1)])
        rest = values[full:]
        if len(rest):
            self.part = (rest.min(), rest.max(), len(rest))
        while len(self.lo) > 2 * self.bins:
            self.halve()

    def halve(self) -> None:
        """Merge neighbouring bins in pairs; an odd last one joins the unfinished bin."""
        if len(self.lo) % 2:
            lo, hi = self.lo[-1], self.hi[-1]
            if self.part is not None:
                lo, hi = min(lo, self.part[0]), max(hi, self.part[1])
            self.part = (lo, hi, self.width + (self.part[2] if self.part else 0))
            self.lo, self.hi = self.lo[:-1], self.hi[:-1]
        self.lo = self.lo.reshape(-1, 2).min(1)
        self.hi = self.hi.reshape(-1, 2).max(1)
        self.width *= 2

    def bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(first sample of each bin, lows, highs), the unfinished bin included."""
        lo, hi = self.lo, self.hi
        if self.part is not None:
            lo, hi = np.append(lo, self.part[0]), np.append(hi, self.part[1])
        return np.arange(len(lo)) * self.width, lo, hi


def step_lines(name: str, first: int, values, flags, threshold: float, rate) -> str:
    """The CSV lines of samples `first`, ...: a window run's scores are constant over stretches,
    so each stretch's cells are formatted once and joined between its samples' indices."""
    begins = np.flatnonzero(np.diff(values, prepend=np.nan)).tolist()  # each stretch's first
    ends = [*begins[1:], len(values)]
    limit, index = round(threshold, 6), range(first, first + len(values))
    if rate:  # index and seconds
        index = [f"{i},{round(i / rate, 6)}" for i in index]  # type: ignore[assignment]
    lines = []
    for b, e in zip(begins, ends):
        tail = f",{round(float(values[b]), 6)},{limit},{int(flags[b])}\n"
        lines.append(f"{name}," + f"{tail}{name},".join(map(str, index[b:e])) + tail)
    return "".join(lines)
