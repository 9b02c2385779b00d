"""The jobs' signal files: read as a run's examples, written back in the input's units and format.

`read_signal_inputs(paths, data, shape)` reads each file (a folder: its signal files, sorted) the
way the run read its source (latentzoo.series): series per row or array entry, or, for a run
trained on windows of a recording, one recording per file, cut into windows of the run's length
every `hop` samples, the last ending at the recording's end, so that every sample is covered. The
values are normalised by the run's recorded statistics. Series of another length than the run's
are an error unless `resize` resamples them.

`write_signals(inputs, results, out_dir, data)` writes one file per input file under its name:
series in the input's layout ((N, T) or (N, C, T) arrays, a table's rows with their label column
kept), and a recording put back together from its windows (weighted overlap-add) at the input's
length, (T,) or (T, C), a table keeping its header row (`write_recordings`: a compressed file's).
`score_recordings` and `map_recordings` stream a recording in chunks (latentzoo.recordings).
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .errors import ConfigError, DataError
from .files import atomic_write, staged
from .inputs import Inputs
from .recordings import (
    Blend,
    Cover,
    Envelope,
    Flagged,
    Recording,
    RecordingWriter,
    batch_windows,
    open_recording,
    step_lines,
    window_batches,
)
from .series import (
    SIGNAL_SUFFIXES,
    TABLE_SUFFIXES,
    TS_SUFFIX,
    as_series,
    check_finite,
    fit_length,
    numeric,
    read_array,
    read_table,
    read_ts,
    scaled,
    table_series,
)
from .windows import overlap_add, starts

LINES = 1 << 14  # per-sample rows formatted at a time


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
    hop: int = 0  # a recording's samples between windows


def listed(arg: Path, suffixes, one: str, many: str, deep: bool = False) -> list[Path]:
    """A file, or a folder's files with one of `suffixes` (`deep`: subfolders' too), sorted."""
    if arg.is_dir():
        every = arg.rglob("*") if deep else arg.iterdir()
        found = sorted(p for p in every if p.suffix.lower() in suffixes and p.is_file())
        if not found:
            raise DataError(f"{arg}: no {many} ({', '.join(suffixes)}) in it")
        return found
    if not arg.is_file():
        raise DataError(f"{arg}: no such file or folder")
    if arg.suffix.lower() not in suffixes:
        raise DataError(f"{arg}: not {one} ({', '.join(suffixes)})")
    return [arg]


def signal_files(arg: Path) -> list[Path]:
    """The files of an input argument: a file, or a folder's signal files."""
    return listed(arg, SIGNAL_SUFFIXES, "a signal file", "signal files")


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
    rec = checked_recording(path, shape)
    batches = list(window_batches(rec.chunks(), shape[1], hop, batch_windows(*shape)))
    parts = np.concatenate([b[1] for b in batches])  # (N, C, window)
    f = SignalFile(path, path.name, 0, len(parts), rec.axes, batches[-1][2], rec.header, hop=hop)
    return parts, f


def checked_recording(path: Path, shape) -> Recording:
    """A recording file opened for reading in chunks, with the run's channels."""
    rec = open_recording(path)
    if rec.channels != shape[0]:
        raise DataError(
            f"{path}: a recording of {rec.channels} channel(s); the run takes {shape[0]}"
        )
    return rec


def window_hop(data, hop: int | None) -> int:
    """Samples between a recording's windows: `hop` when given (1 to the run's window), else the
    run's; 0 for a run on series."""
    if hop is None:
        return data.window_hop if data.window else 0
    if not data.window:
        raise ConfigError("--hop applies to a run trained on windows of a recording (--window)")
    if not 1 <= hop <= data.shape[1]:
        raise ConfigError(f"--hop {hop}: give 1 to the run's window, {data.shape[1]}")
    return hop


def named_files(paths, listing=signal_files) -> list[Path]:
    """The files of the input arguments (`listing`: an argument's files); two that would be
    written under one name are an error."""
    seen: dict[str, Path] = {}
    for arg in paths:
        for path in listing(Path(arg)):
            if path.name in seen:
                raise DataError(
                    f"{path} and {seen[path.name]} would both be written as {path.name}"
                )
            seen[path.name] = path
    if not seen:
        raise DataError("no input files given")
    return list(seen.values())


def read_signal_inputs(
    paths: list[str | os.PathLike], data, shape: tuple[int, ...], *, resize: bool = False, hop=None
) -> Inputs:
    """Every example of `paths` for a run with data settings `data` and example `shape` (C, T)."""
    parts: list[np.ndarray] = []
    names: list[str] = []
    files: list[SignalFile] = []
    hop = window_hop(data, hop)
    for path in named_files(paths):
        if data.window:
            x, f = read_recording(path, data, shape, hop)
            names += [f"{path.name}[window {i}]" for i in range(len(x))]
        else:
            x, f = read_series(path, data, shape, resize)
            names += [f"{path.name}[{i}]" for i in range(len(x))]
        f.start = sum(len(p) for p in parts)
        parts.append(x)
        files.append(f)
    examples = torch.from_numpy(np.concatenate(parts).astype(np.float32))
    return Inputs(scaled(examples, data.channel_mean, data.channel_std), names, list(files))


def write_signals(inputs: Inputs, results: torch.Tensor, out_dir, data) -> list[Path]:
    """Write `results` (N, C, T), normalised, one file per input file (module docstring)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"--out {out_dir} is a file; the results go into a folder")
    planned = []
    for f in inputs.files:
        part = results[f.start : f.start + f.count].detach().cpu()
        part = scaled(part, data.channel_mean, data.channel_std, undo=True)  # (n, C, T) in units
        if data.window:
            rec = overlap_add(part, f.hop, f.length).numpy()  # (C, T)
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


def score_recordings(paths, data, score, threshold: float, out: Path, hop=None) -> dict:
    """Score the recordings of `paths` in chunks of windows (latentzoo.recordings): `out`, a CSV
    with a row per sample (its score the highest of the windows covering it, the threshold and its
    flag; with a sample rate its time), and OUT.intervals.csv, the runs of flagged samples (start,
    end exclusive, with a sample rate their times, and their peak score). `score` maps normalised
    windows (n, C, T) to scores (n,). Returns the counts of samples, flagged samples and
    intervals, and per file its name and the envelopes of its first channel and its scores
    (`traces`, for drawing)."""
    size, hop = data.shape[1], window_hop(data, hop)
    found_at = out.with_name(out.stem + ".intervals.csv")
    times = ["seconds"] if data.rate else []
    counts: dict = {"samples": 0, "flagged": 0, "intervals": 0, "traces": []}
    found = io.StringIO()
    intervals_csv = csv.writer(found, lineterminator="\n")
    intervals_csv.writerow(
        ["name", "start", "end", *[f"{k}_{t}" for k in ("start", "end") for t in times], "peak"]
    )
    with staged() as temp, open(temp(out), "w", encoding="utf-8") as rows:
        rows.write(",".join(["name", "sample", *times, "score", "threshold", "flag"]) + "\n")
        for path in named_files(paths):
            rec, cover, runs = checked_recording(path, data.shape), Cover(size), Flagged()
            name, first = csv_cell(path.name), 0
            wave, trace = Envelope(), Envelope()
            counts["traces"].append((path.name, wave, trace))
            for starts, parts, ready in window_batches(
                watched(rec.chunks(), wave), size, hop, batch_windows(*data.shape)
            ):
                x = scaled(torch.from_numpy(parts), data.channel_mean, data.channel_std)
                cover.add(starts, score(x).double().numpy())
                values = cover.take(ready)  # (n,) final per-sample scores
                flags = values > threshold
                for j in range(0, len(values), LINES):  # the text of a few lines at a time
                    part = slice(j, j + LINES)
                    rows.write(
                        step_lines(name, first + j, values[part], flags[part], threshold, data.rate)
                    )
                trace.add(values)
                runs.add(first, values, flags)
                first = ready
                counts["flagged"] += int(flags.sum())
            if runs.start is not None:
                runs.close(first, np.zeros(0))
            for start, end, peak in runs.found:
                clock = [round(t / data.rate, 6) for t in (start, end)] if data.rate else []
                intervals_csv.writerow([path.name, start, end, *clock, round(peak, 6)])
            counts["samples"] += first
            counts["intervals"] += len(runs.found)
        temp(found_at).write_text(found.getvalue(), encoding="utf-8")
    return counts


def watched(chunks, wave: Envelope):
    """The chunks, their first channel summarised in `wave` on the way."""
    for chunk in chunks:
        wave.add(chunk[0])
        yield chunk


def csv_cell(text: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([text])
    return buf.getvalue()


def map_recordings(paths, data, fn, out_dir, hop=None, corrupt=None) -> list[Path]:
    """Run `fn` (normalised windows (n, C, T) -> outputs (n, C, T)) over the recordings of `paths`
    in chunks of windows and write each put back together (weighted overlap-add) at its input's
    length, in its format and under its name in `out_dir`. `corrupt` ((1, C, n) -> (1, C, n),
    normalised) is applied to each recording once, a chunk at a time, before it is cut."""
    size, hop = data.shape[1], window_hop(data, hop)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"--out {out_dir} is a file; the results go into a folder")
    written = []
    with staged() as temp:
        for path in named_files(paths):
            target = out_dir / path.name
            if target.resolve() == path.resolve():
                raise DataError(f"{target} would overwrite its input; choose another --out")
            rec = checked_recording(path, data.shape)
            writer, blend = RecordingWriter(rec, target, temp(target)), Blend(rec.channels, size)
            chunks = corrupted(rec.chunks(), data, corrupt) if corrupt else rec.chunks()
            for starts, parts, ready in window_batches(
                chunks, size, hop, batch_windows(*data.shape)
            ):
                x = scaled(torch.from_numpy(parts), data.channel_mean, data.channel_std)
                blend.add(starts, fn(x).double().numpy())
                chunk = torch.from_numpy(blend.take(ready))[None]  # (1, C, n) normalised
                writer.write(
                    scaled(chunk, data.channel_mean, data.channel_std, undo=True)[0].numpy()
                )
            writer.close()
            written.append(target)
    return written


def corrupted(chunks, data, corrupt):
    """The chunks (C, n), each corrupted by `corrupt` in normalised units."""
    for chunk in chunks:
        x = scaled(torch.from_numpy(chunk)[None], data.channel_mean, data.channel_std)
        yield scaled(corrupt(x), data.channel_mean, data.channel_std, undo=True)[0].double().numpy()


def write_recordings(out_dir, examples: torch.Tensor, cut, data) -> list[Path]:
    """Windows (N, C, window), normalised, of the recordings `cut` (latentzoo.windows.CutInput),
    in order: each put back together (weighted overlap-add) at its length and written under its
    name in `out_dir`, in the format its name's suffix says (a table with its header row)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"--out {out_dir} is a file; the recordings go into a folder")
    size, at, written = data.shape[1], 0, []
    with staged() as temp:
        for c in cut:
            if Path(c.name).suffix.lower() not in (".npy", ".npz", *TABLE_SUFFIXES):
                raise DataError(f"a recording named {c.name!r}: not a name latentzoo writes")
            n = len(starts(c.length, size, c.hop))
            rec = overlap_add(examples[at : at + n].cpu(), c.hop, c.length)  # (C, T)
            at += n
            values = scaled(rec[None], data.channel_mean, data.channel_std, undo=True)[0].numpy()
            target = out_dir / c.name
            header = list(c.header) or None
            layout = Recording(target, values.shape[0], c.axes, header, c.length, lambda: iter(()))
            writer = RecordingWriter(layout, target, temp(target))
            writer.write(values)
            writer.close()
            written.append(target)
    return written
