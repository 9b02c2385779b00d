"""Signals from the user's files, as train/validation/test splits, and the readers the jobs share.

Sources (`load_signals`), each a `SignalSet` of float32 (N, C, T):
- series in an array: a `.npy` (N, T) or (N, C, T), or a `.npz` with `x` (or `x_train` and
  `x_test`, or `images`) and optional integer labels (`y`, `y_train`, `y_test`, `labels`);
- series in a table: a `.csv` (commas), `.tsv` (tabs) or `.txt` (spaces) file with one series per
  row; `label_column` names the column that holds integer labels (UCR's files: 0). A row's trailing
  empty or NaN cells are padding (UCR's series of unequal length);
- a UCR/UEA `.ts` file, read by sktime (an optional extra); a `NAME_TRAIN.ts` beside its
  `NAME_TEST.ts` gives the test split; class values that are not numbers are class names;
- one long recording: a `.npy` (T,) or (T, C), or a table with one column per channel and an
  optional header row, cut into windows of `window` samples every `hop`.
The one rule for a file that could be read two ways: with `window` it is one recording (rows are
time, columns are channels); without, each row is a series. Series of unequal length are an error
unless `length` resamples every series to that many samples (linear interpolation).

Values are normalised per channel by the mean and standard deviation of the training split (or by
those a run recorded; `scaled` applies and undoes it), and latentzoo.signal_inputs puts every
output back in the input's units, format and layout. `source_kind` tells a signal source from an
image source.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .errors import DataError
from .sets import SignalSet, Splits
from .sources import carve, fingerprint, npz_keys

TABLE_SUFFIXES = (".csv", ".tsv", ".txt")
ARRAY_SUFFIXES = (".npy", ".npz")
TS_SUFFIX = ".ts"  # UCR/UEA's format, read by sktime (the optional extra `ts`)
DELIMITERS = {".csv": ",", ".tsv": "\t", ".txt": None}  # None: any run of spaces
SIGNAL_SUFFIXES = (*ARRAY_SUFFIXES, *TABLE_SUFFIXES, TS_SUFFIX)
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")  # sound, read by soundfile (latentzoo.audio)


def is_audio_source(path: Path) -> bool:
    """An audio file, or a folder with an audio file in it or in a subfolder."""
    if path.is_dir():
        return any(p.suffix.lower() in AUDIO_SUFFIXES for p in path.rglob("*"))
    return path.suffix.lower() in AUDIO_SUFFIXES


def source_kind(source: str | os.PathLike, window: bool = False) -> str:
    """'sound' for audio files (`is_audio_source`), 'signal' for a table, a recording (`window`) or
    an array of at most 2 axes; else 'image' (a 3-d array is (N, H, W) images unless the kind is
    given)."""
    path = Path(source)
    suffix = path.suffix.lower()
    if is_audio_source(path):
        return "sound"
    if window or suffix in (*TABLE_SUFFIXES, TS_SUFFIX):
        return "signal"
    try:
        if suffix == ".npy" and path.is_file():
            return (
                "signal" if np.load(path, mmap_mode="r", allow_pickle=False).ndim <= 2 else "image"
            )
        if suffix == ".npz" and path.is_file():
            with np.load(path, allow_pickle=False) as z:
                key = npz_keys(path, list(z.files))["train"][0]
                return "signal" if z[key].ndim <= 2 else "image"
    except (ValueError, OSError, EOFError, DataError):
        pass  # the reader names what is wrong with the file
    return "image"


# ----------------------------------------------------------------------------- reading


@dataclass
class Table:
    rows: list[list[float]]  # numbers per row (NaN for empty cells)
    header: list[str] | None
    delimiter: str | None


def read_table(path: Path) -> Table:
    """A text table of numbers, its first row a header when it is not all numbers."""
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text table (it is not UTF-8)") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    delimiter = DELIMITERS[path.suffix.lower()]
    cells = [
        [c.strip() for c in line.split(delimiter)] for line in text.splitlines() if line.strip()
    ]
    if not cells:
        raise DataError(f"{path}: an empty file")
    header = None
    if any(not is_number(c) for c in cells[0]) and len(cells) > 1:
        header, cells = cells[0], cells[1:]
    rows = []
    for i, row in enumerate(cells, start=2 if header else 1):
        for j, c in enumerate(row):
            if not is_number(c):
                raise DataError(f"{path}: line {i}, column {j + 1}: '{c[:20]}' is not a number")
        rows.append([float(c) if c else math.nan for c in row])
    return Table(rows, header, delimiter)


def is_number(cell: str) -> bool:
    if not cell:
        return True
    try:
        float(cell)
    except ValueError:
        return False
    return True


def read_array(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """{split: (values, labels or None)} of a .npy or .npz (no pickled objects)."""
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                arrays = {k: loaded[k] for k in loaded.files}
            return {
                s: (arrays[x], arrays.get(y)) for s, (x, y) in npz_keys(path, list(arrays)).items()
            }
    except (ValueError, OSError, EOFError) as e:
        raise DataError(f"{path}: not a readable array without pickled objects ({e})") from None
    return {"train": (loaded, None)}


def read_ts(path: Path) -> tuple[list[np.ndarray], np.ndarray | None]:
    """(series (C, T_i) each, labels or None) of a UCR/UEA .ts file, read by sktime."""
    try:
        from sktime.datasets import load_from_tsfile
    except ImportError:
        raise DataError(f"{path}: .ts files are read by sktime: pip install -e '.[ts]'") from None
    try:
        loaded = load_from_tsfile(str(path), return_data_type="df-list")
    except (OSError, ValueError, TypeError, KeyError, IndexError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"{path}: not a readable .ts file ({first[:120]})") from None
    frames, labels = loaded if isinstance(loaded, tuple) else (loaded, None)
    series = [np.asarray(f, dtype=np.float64).T for f in frames]  # (C, T) each
    return series, (np.asarray(labels) if labels is not None and len(labels) else None)


def ts_pair(path: Path) -> dict[str, Path]:
    """{'train': path[, 'test': its _TEST.ts]} for a .ts file named *_TRAIN.ts beside its pair."""
    stem = path.name[: -len(TS_SUFFIX)]
    test = path.with_name(stem[: -len("_TRAIN")] + "_TEST" + TS_SUFFIX)
    has_pair = stem.upper().endswith("_TRAIN") and test.is_file()
    return {"train": path, "test": test} if has_pair else {"train": path}


def numeric(arr: np.ndarray, name: str) -> np.ndarray:
    """An array of numbers as float64, or a DataError."""
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{name}: an array of {arr.dtype}; signals are numbers")
    return arr.astype(np.float64)


def as_recording(values: np.ndarray, name: str) -> np.ndarray:
    """A recording (T,) or (T, C) -> (C, T)."""
    if values.ndim not in (1, 2):
        raise DataError(f"{name}: an array of shape {values.shape}; a recording is (T,) or (T, C)")
    rec = values[None] if values.ndim == 1 else values.T  # (C, T)
    if rec.shape[1] < 2:
        raise DataError(f"{name}: a recording of {rec.shape[1]} sample; it needs at least 2")
    return rec


def as_series(values: np.ndarray, name: str) -> np.ndarray:
    """Series (N, T) or (N, C, T) -> (N, C, T)."""
    if values.ndim == 1:
        raise DataError(f"{name}: a 1-d array is one recording: pass --window N to cut it")
    if values.ndim not in (2, 3) or 0 in values.shape:
        raise DataError(
            f"{name}: an array of shape {values.shape}; signals are series (N, T) or (N, C, T), "
            "or one recording (T,) or (T, C) with --window"
        )
    return values[:, None] if values.ndim == 2 else values


def fit_length(series: list[np.ndarray], length: int | None, name: str) -> np.ndarray:
    """Series (C, T_i) of one channel count -> (N, C, T), resampled to `length` when given."""
    if len({s.shape[0] for s in series}) > 1:
        raise DataError(f"{name}: series with different numbers of channels")
    if length is not None:
        return np.stack([resample(s, length) for s in series])
    lengths = sorted({s.shape[1] for s in series})
    if len(lengths) > 1:
        raise DataError(
            f"{name}: series of unequal length ({lengths[0]} to {lengths[-1]} samples): pass "
            "--length N to resample each to N samples"
        )
    return np.stack(series)


def resample(x: np.ndarray, length: int) -> np.ndarray:
    """(C, T) -> (C, length) by linear interpolation, the ends kept."""
    if x.shape[1] == length:
        return x
    if x.shape[1] < 2:
        return np.repeat(x, length, axis=1)
    t = torch.from_numpy(np.ascontiguousarray(x))[None]
    return F.interpolate(t, size=length, mode="linear", align_corners=True)[0].numpy()


def table_series(table: Table, label_column: int | None, name: str):
    """(series (C=1, T_i) each, labels or None) of a table with one series per row."""
    series, labels = [], []
    for i, row in enumerate(table.rows):
        if label_column is not None:
            if label_column >= len(row):
                raise DataError(f"{name}: row {i + 1} has no column {label_column}")
            labels.append(row[label_column])
            row = row[:label_column] + row[label_column + 1 :]
        values = np.asarray(row)
        while values.size and np.isnan(values[-1]):
            values = values[:-1]  # padding after a shorter series
        series.append(values[None])
    return series, (np.asarray(labels) if label_column is not None else None)


def class_labels(values: np.ndarray | None, n: int, name: str):
    """(labels int64 (n,), class names) of raw label values: each distinct value a class, in
    sorted order (whole numbers, or names where a .ts file gives words); no labels: all -1 and no
    classes."""
    if values is None:
        return np.full(n, -1, dtype=np.int64), ()
    values = np.asarray(values)
    if values.shape != (n,):
        raise DataError(f"{name}: {n} series and labels of shape {values.shape}")
    if values.dtype.kind in "US":  # a .ts file's class values: numbers, or names
        try:
            values = values.astype(np.float64)
        except ValueError:
            names, labels = np.unique(values, return_inverse=True)
            return labels.astype(np.int64), tuple(str(c) for c in names)
    if values.dtype.kind not in "biuf":
        raise DataError(f"{name}: labels of {values.dtype}; expected whole numbers")
    whole = np.isfinite(values) & (values % 1 == 0)
    if not whole.all():
        raise DataError(
            f"{name}: the labels must be whole numbers, and one is {values[~whole][0]:g}"
        )
    classes, labels = np.unique(values.astype(np.int64), return_inverse=True)
    return labels.astype(np.int64), tuple(str(c) for c in classes)


def raw_sets(path: Path, window: int | None, hop: int, label_column: int | None, length):
    """{split: (series float64 (N, C, T), raw labels or None)} of a signal source."""
    if not path.is_file():
        raise DataError(
            f"{path}: no such file" + (" (signals come from a file)" if path.is_dir() else "")
        )
    suffix = path.suffix.lower()
    if suffix not in SIGNAL_SUFFIXES:
        raise DataError(f"{path}: not a signal file (give a {', '.join(SIGNAL_SUFFIXES)})")
    if window is not None:
        rec = as_recording(recording_values(path)[0], str(path))
        return {"train": (cut(check_finite(rec, str(path)), window, hop, str(path)), None)}
    if suffix in TABLE_SUFFIXES:
        series, labels = table_series(read_table(path), label_column, str(path))
        return {"train": (fit_length(series, length, str(path)), labels)}
    if label_column is not None:
        raise DataError("--label-column applies to a table of series (.csv, .tsv, .txt)")
    if suffix == TS_SUFFIX:
        out = {}
        for split, p in ts_pair(path).items():
            series, labels = read_ts(p)
            out[split] = (fit_length(series, length, str(p)), labels)
        return out
    out = {}
    for split, (values, labels) in read_array(path).items():
        x = as_series(numeric(values, str(path)), str(path))
        out[split] = (fit_length(list(x), length, str(path)), labels)
    return out


def recording_values(path: Path) -> tuple[np.ndarray, list[str] | None]:
    """A recording's values (T,) or (T, C) and its header row: a table with a column per channel
    (and an optional header), or an array (no header)."""
    if path.suffix.lower() not in TABLE_SUFFIXES:
        return numeric(read_array(path)["train"][0], str(path)), None
    table = read_table(path)
    if len({len(r) for r in table.rows}) > 1:
        raise DataError(f"{path}: a recording's rows must each have one value per channel")
    return np.asarray(table.rows, dtype=np.float64), table.header


def check_finite(x: np.ndarray, name: str) -> np.ndarray:
    if not np.isfinite(x).all():
        raise DataError(f"{name}: the signals hold NaN or infinite values")
    return x


def cut(rec: np.ndarray, window: int, hop: int, name: str) -> np.ndarray:
    """A recording (C, T) -> its full windows (N, C, window), one every `hop` samples."""
    c, t = rec.shape
    if t < window:
        raise DataError(f"{name}: a recording of {t} samples is shorter than --window {window}")
    return np.stack([rec[:, s : s + window] for s in range(0, t - window + 1, hop)])


def normalisation(train: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Each channel's mean and standard deviation over the training series (N, C, T); a constant
    channel's deviation is 1."""
    x = train.double().transpose(0, 1).flatten(1)  # (C, N * T)
    std = x.std(1, correction=0)
    std = torch.where(std > 0, std, torch.ones_like(std))
    return tuple(map(float, x.mean(1))), tuple(map(float, std))


def scaled(x: torch.Tensor, mean, std, undo: bool = False) -> torch.Tensor:
    """(N, C, T) normalised by the per-channel `mean` and `std`, or put back in units (`undo`)."""
    m = torch.tensor(mean, dtype=torch.float64).view(1, -1, 1)
    s = torch.tensor(std, dtype=torch.float64).view(1, -1, 1)
    x = x.double()
    return (x * s + m if undo else (x - m) / s).float()


def load_signals(data) -> Splits:
    """A signal source as train/validation/test splits (see the module docstring): `data` is the
    run's DataSettings."""
    path = Path(data.source)
    hop = data.window_hop if data.window else 1
    raw = raw_sets(path, data.window, hop, data.label_column, data.length)
    first = raw["train"][0].shape[1:]  # (C, T)
    for split, (x, _) in raw.items():
        check_finite(x, str(path))
        if x.shape[1:] != first:
            raise DataError(f"{path}: {split} series are {x.shape[1:]}, training series {first}")
    given = [lab for _, lab in raw.values()]
    if any(g is None for g in given) and not all(g is None for g in given):
        raise DataError(f"{path}: the training series have labels and the test series not")
    counts = [len(x) for x, _ in raw.values()]
    joined = None if given[0] is None else np.concatenate([np.asarray(g) for g in given])
    labels, classes = class_labels(joined, sum(counts), str(path))
    sets, start = {}, 0
    for (split, (x, _)), n in zip(raw.items(), counts):
        y = torch.from_numpy(labels[start : start + n])
        sets[split], start = SignalSet(torch.from_numpy(x.astype(np.float32)), y), start + n
    return normalised(splits_of(path, sets, classes, data, fingerprint(sets)), data)


def splits_of(path: Path, sets: dict, classes, data, fp) -> Splits:
    """Train, validation and test splits: a test split carved off when the source has none, then a
    validation split, both drawn from `data.split_seed`."""
    train = sets["train"]
    if len(train) < (2 if "test" in sets else 3):
        raise DataError(
            f"{path}: {len(train)} series are too few to carve validation and test series from"
        )
    gen = torch.Generator().manual_seed(data.split_seed)
    if "test" in sets:
        test = sets["test"]
    else:
        keep, held = carve(len(train), data.test_fraction, gen)
        train, test = train.subset(keep), train.subset(held)
    keep, held = carve(len(train), data.val_fraction, gen)
    return Splits(
        path.name, train.subset(keep), train.subset(held), test, classes=classes, fingerprint=fp
    )


def normalised(splits: Splits, data) -> Splits:
    """Splits normalised per channel by the run's recorded statistics, else the training split's
    (then recorded in `found`)."""
    mean, std = data.channel_mean, data.channel_std
    if mean is None or std is None:
        train = splits.train
        assert isinstance(train, SignalSet)
        mean, std = normalisation(train.series)
    if len(mean) != splits.train.shape[0]:
        raise DataError(
            f"{data.source}: {splits.train.shape[0]} channels; the run normalised {len(mean)}"
        )
    for name in ("train", "val", "test"):
        s = getattr(splits, name)
        setattr(splits, name, SignalSet(scaled(s.series, mean, std), s.labels))
    splits.found = {"channel_mean": mean, "channel_std": std}
    return splits
