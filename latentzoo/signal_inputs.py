"""The jobs' signal files: read as a run's examples, written back in the input's units and format.

`read_signal_inputs(paths, data, shape)` reads each file (a folder: its signal files, sorted) the
way the run read its source (latentzoo.series): series per row or array entry, or, for a run
trained on windows of a recording, one recording per file, cut into windows of the run's length
every `hop` samples, the last ending at the recording's end, so that every sample is covered. The
values are normalised by the run's recorded statistics. Series of another length than the run's
are an error unless `resize` resamples them. `step_scores` turns a recording's window scores into
a score per sample and the flagged intervals.

`write_signals(inputs, results, out_dir, data)` writes one file per input file under its name:
series in the input's layout ((N, T) or (N, C, T) arrays, a table's rows with their label column
kept), and a recording put back together from its windows (weighted overlap-add) at the input's
length, (T,) or (T, C), a table keeping its header row.
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .errors import DataError
from .files import atomic_write
from .inputs import Inputs
from .series import (
    SIGNAL_SUFFIXES,
    TABLE_SUFFIXES,
    TS_SUFFIX,
    as_recording,
    as_series,
    check_finite,
    fit_length,
    numeric,
    read_array,
    read_table,
    read_ts,
    recording_values,
    scaled,
    table_series,
)
from .windows import intervals, overlap_add, windows, worst_cover


@dataclass
class SignalFile:
    path: Path
    name: str  # the output's file name
    start: int  # its first example in Inputs.examples
    count: int
    axes: int  # the input's array axes: (T,) 1 or (T, C) 2; series (N, T) 2 or (N, C, T) 3
    length: int = 0  # a recording's samples
    header: list[str] | None = None  # a table's header row
    labels: np.ndarray | None = None  # a table's label column, per row
    label_column: int | None = None


def signal_files(arg: Path) -> list[Path]:
    """The files of an input argument: a file, or a folder's signal files."""
    if arg.is_dir():
        found = sorted(p for p in arg.iterdir() if p.suffix.lower() in SIGNAL_SUFFIXES)
        if not found:
            raise DataError(f"{arg}: no signal files ({', '.join(SIGNAL_SUFFIXES)}) in it")
        return found
    if not arg.is_file():
        raise DataError(f"{arg}: no such file or folder")
    if arg.suffix.lower() not in SIGNAL_SUFFIXES:
        raise DataError(f"{arg}: not a signal file ({', '.join(SIGNAL_SUFFIXES)})")
    return [arg]


def read_series(path: Path, data, shape, resize: bool) -> tuple[np.ndarray, SignalFile]:
    """(series (N, C, T) in units, their file) of a file of series."""
    name, length = str(path), shape[1] if resize else None
    f = SignalFile(path, path.name, 0, 0, 2)
    if path.suffix.lower() in TABLE_SUFFIXES:
        table = read_table(path)
        rows, f.labels = table_series(table, data.label_column, name)
        f.header, f.label_column = table.header, data.label_column
    elif path.suffix.lower() == TS_SUFFIX:
        rows, f.labels = read_ts(path)
        f.axes = 3
    else:
        values, _ = read_array(path)["train"]
        f.axes, rows = values.ndim, list(as_series(numeric(values, name), name))
    x = check_finite(fit_length(rows, length, name), name)  # (N, C, T)
    if x.shape[1:] != tuple(shape):
        hint = ": pass --resize to resample them" if x.shape[1] == shape[0] else ""
        raise DataError(
            f"{path}: series of {x.shape[1]} channel(s) x {x.shape[2]} samples; the run takes "
            f"{shape[0]} x {shape[1]}{hint}"
        )
    f.count = len(x)
    return x, f


def read_recording(path: Path, data, shape, hop: int) -> tuple[np.ndarray, SignalFile]:
    """(windows (N, C, window) in units, their file) of one recording."""
    values, header = recording_values(path)  # the file read once
    rec = check_finite(as_recording(values, str(path)), str(path))  # (C, T)
    if rec.shape[0] != shape[0]:
        raise DataError(
            f"{path}: a recording of {rec.shape[0]} channel(s); the run takes {shape[0]}"
        )
    parts = windows(torch.from_numpy(rec), shape[1], hop).numpy()  # (N, C, window)
    return parts, SignalFile(path, path.name, 0, len(parts), values.ndim, rec.shape[1], header)


def read_signal_inputs(
    paths: list[str | os.PathLike], data, shape: tuple[int, ...], *, resize: bool = False, hop=None
) -> Inputs:
    """Every example of `paths` for a run with data settings `data` and example `shape` (C, T)."""
    parts, names, files, seen = [], [], [], {}
    for arg in paths:
        for path in signal_files(Path(arg)):
            if path.name in seen:
                raise DataError(
                    f"{path} and {seen[path.name]} would both be written as {path.name}"
                )
            seen[path.name] = path
            if data.window:
                x, f = read_recording(path, data, shape, hop or data.window_hop)
                names += [f"{path.name}[window {i}]" for i in range(len(x))]
            else:
                x, f = read_series(path, data, shape, resize)
                names += [f"{path.name}[{i}]" for i in range(len(x))]
            f.start = sum(len(p) for p in parts)
            parts.append(x)
            files.append(f)
    if not parts:
        raise DataError("no input files given")
    x = torch.from_numpy(np.concatenate(parts).astype(np.float32))
    return Inputs(scaled(x, data.channel_mean, data.channel_std), names, files)


def write_signals(inputs: Inputs, results: torch.Tensor, out_dir, data, hop=None) -> list[Path]:
    """Write `results` (N, C, T), normalised, one file per input file (module docstring)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"--out {out_dir} is a file; the results go into a folder")
    planned = []
    for f in inputs.files:
        part = results[f.start : f.start + f.count].detach().cpu()
        part = scaled(part, data.channel_mean, data.channel_std, undo=True)  # (n, C, T) in units
        if data.window:
            rec = overlap_add(part, hop or data.window_hop, f.length).numpy()  # (C, T)
            values = rec[0] if f.axes == 1 else rec.T  # (T,) or (T, C)
        else:
            values = part.numpy()[:, 0] if f.axes == 2 else part.numpy()  # (N, T) or (N, C, T)
        target = out_dir / f.name
        if target.resolve() == f.path.resolve():
            raise DataError(f"{target} would overwrite its input; choose another --out")
        planned.append((target, file_bytes(f, values.astype(np.float32))))
    return [atomic_write(target, data_) for target, data_ in planned]


def ts_bytes(f: SignalFile, values: np.ndarray) -> bytes:
    """Series (N, C, T) as a .ts file (sktime's writer), with the input's class labels."""
    from sktime.datasets import write_ndarray_to_tsfile

    labels = None if f.labels is None else np.asarray([str(v) for v in f.labels])
    with tempfile.TemporaryDirectory() as tmp:
        write_ndarray_to_tsfile(
            values,
            tmp,
            problem_name=f.path.stem,
            class_label=None if labels is None else sorted(set(labels.tolist())),
            class_value_list=labels,
            equal_length=True,
            series_length=values.shape[-1],
        )
        return next(Path(tmp).rglob("*.ts")).read_bytes()


def file_bytes(f: SignalFile, values: np.ndarray) -> bytes:
    """The bytes of an output file in its input's format."""
    suffix = f.path.suffix.lower()
    buf = io.BytesIO()
    if suffix == ".npy":
        np.save(buf, values, allow_pickle=False)
        return buf.getvalue()
    if suffix == ".npz":
        np.savez(buf, x=values)
        return buf.getvalue()
    if suffix == TS_SUFFIX:
        return ts_bytes(f, values)
    sep = {".csv": ",", ".tsv": "\t"}.get(suffix, " ")
    rows = values.reshape(len(values), -1) if values.ndim > 1 else values[:, None]
    lines = [sep.join(f.header)] if f.header else []
    for i, row in enumerate(rows):
        cells = [f"{v:.7g}" for v in row]
        if f.labels is not None and f.label_column is not None:
            cells.insert(f.label_column, f"{f.labels[i]:g}")
        lines.append(sep.join(cells))
    return ("\n".join(lines) + "\n").encode()


def step_scores(inputs: Inputs, scores: torch.Tensor, threshold: float, data):
    """(rows, intervals) of a window run's scores on recordings: a row per sample (its score the
    worst of the windows covering it, and its flag) and a row per flagged interval (its first
    sample, the sample after its last, its peak score); with a sample rate also their times."""
    rows, found = [], []
    for f in inputs.files:
        part = scores[f.start : f.start + f.count]
        per_step = worst_cover(part, data.shape[1], data.window_hop, f.length)  # (T,)
        flags = per_step > threshold
        for i, (v, flag) in enumerate(zip(per_step.tolist(), flags.tolist())):
            rows.append(
                {
                    "name": f.name,
                    "sample": i,
                    **seconds(i, data),
                    "score": round(v, 6),
                    "threshold": round(threshold, 6),
                    "flag": int(flag),
                }
            )
        for start, end in intervals(flags):
            found.append(
                {
                    "name": f.name,
                    "start": start,
                    "end": end,
                    **seconds(start, data, "start_seconds"),
                    **seconds(end, data, "end_seconds"),
                    "peak": round(float(per_step[start:end].max()), 6),
                }
            )
    times = ["start_seconds", "end_seconds"] if data.rate else []
    return rows, (["name", "start", "end", *times, "peak"], found)


def seconds(sample: int, data, key: str = "seconds") -> dict:
    """{key: the sample's time in seconds} when the run has a sample rate, else {}."""
    return {key: round(sample / data.rate, 6)} if data.rate else {}


def write_series(out, series: torch.Tensor, stem: str, data) -> Path:
    """Signals (N, C, T), normalised, in the data's units: one `.npy` (N, C, T) float32 when `out`
    ends so, else `out/<stem>-00000.csv`, ... (a row per sample, a column per channel)."""
    out = Path(out)
    x = scaled(series.detach().cpu(), data.channel_mean, data.channel_std, undo=True).numpy()
    if out.suffix.lower() == ".npy":
        buf = io.BytesIO()
        np.save(buf, x.astype(np.float32), allow_pickle=False)
        atomic_write(out, buf.getvalue())
        return out
    for i, s in enumerate(x):
        rows = "".join(",".join(f"{v:.7g}" for v in step) + "\n" for step in s.T)
        atomic_write(out / f"{stem}-{i:05d}.csv", rows)
    return out
