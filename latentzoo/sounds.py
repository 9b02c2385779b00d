"""Sound from the user's audio files: the training source and the jobs' files.

`load_sounds(data)` reads a folder of audio files (WAV, FLAC, OGG; subfolders included) or one file
(latentzoo.audio), each resampled to the run's rate (`--rate`; unset: the rate most of the files
have, recorded in config.json) and cut into windows of `--window` samples (unset: SOUND_WINDOW)
every `--hop`, a file shorter than a window zero-padded to one. A model on sound is mono: each
channel of a file is a recording of its own. With three files or more, whole files are held out
for validation and testing (no window of a test file is seen in training); with fewer, windows are.
Values are normalised as signals are (latentzoo.series), by the training windows' mean and
deviation.

The jobs: `read_sound_inputs` gives the windows of the input files (every channel's, the last
window ending at the end); `write_sounds` and `map_sounds` (which streams a file in chunks, so
memory does not grow with its length) put the outputs back together by overlap-add and write each
file under its name at its own rate, format, channels and length; `write_sound_examples` writes
samples as WAV files at the run's rate, and `write_sound_cuts` whole recordings decoded from a
codec file.
"""

from __future__ import annotations

import io
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .audio import (
    AudioWriter,
    at_rate,
    audio_bytes,
    audio_info,
    check_rate,
    open_audio,
    read_audio,
)
from .errors import DataError
from .files import atomic_write, staged
from .inputs import Inputs
from .recordings import Blend, batch_windows, window_batches
from .series import AUDIO_SUFFIXES, normalised, scaled
from .sets import SignalSet, Splits
from .signal_inputs import corrupted, listed, named_files, window_hop
from .sources import carve, fingerprint
from .windows import CutInput, overlap_add, starts, windows

SOUND_WINDOW = 2048  # samples per window when --window is unset


def sound_files(arg: Path) -> list[Path]:
    """The audio files of an argument: a file, or a folder's (its subfolders' too), sorted."""
    return listed(arg, AUDIO_SUFFIXES, "an audio file", "audio files", deep=True)


def noise_recordings(arg: Path, rate: float | None) -> tuple[torch.Tensor, ...]:
    """Each channel of each audio file of `arg` at `rate`, (T,) float64: a DAE's noise recordings
    (`--noise-files`)."""
    out = []
    for path in sound_files(arg):
        values = read_audio(path, rate)[0]  # (C, T)
        if not (values.std(1) > 0).all():
            raise DataError(f"{path}: a noise recording that is silent (all one value)")
        out += [torch.from_numpy(channel.copy()) for channel in values]
    return tuple(out)


def common_rate(files: list[Path]) -> float:
    """The sample rate most of the files have (of two as common, the higher)."""
    counts = Counter(audio_info(p).samplerate for p in files)
    return float(max(counts, key=lambda r: (counts[r], r)))


def mono_windows(values: np.ndarray, size: int, hop: int) -> torch.Tensor:
    """A recording (C, T) -> every channel's windows (C * N, 1, size), channel by channel."""
    x = torch.from_numpy(values.astype(np.float32))
    return torch.cat([windows(ch[None], size, hop) for ch in x])


def load_sounds(data) -> Splits:
    """The audio of `data.source` as train/validation/test windows (module docstring)."""
    path = Path(data.source)
    files = sound_files(path)
    rate = data.rate or common_rate(files)
    size = data.window or SOUND_WINDOW
    hop = data.hop or max(1, size // 2)
    if hop > size:
        raise DataError(f"--hop {hop} is longer than the window of {size} samples")
    parts = [mono_windows(read_audio(p, rate)[0], size, hop) for p in files]  # (n, 1, size) each
    gen = torch.Generator().manual_seed(data.split_seed)
    sets: dict[str, Any]
    if len(files) >= 3:  # whole files held out
        test = held_out(len(parts), data.test_fraction, gen)
        rest = [p for i, p in enumerate(parts) if i not in test]
        val = held_out(len(rest), data.val_fraction, gen)
        sets = {
            "train": joined(p for i, p in enumerate(rest) if i not in val),
            "val": joined(p for i, p in enumerate(rest) if i in val),
            "test": joined(p for i, p in enumerate(parts) if i in test),
        }
    else:
        sets = windows_held_out(joined(parts), data, gen, path)
    splits = Splits(path.name, sets["train"], sets["val"], sets["test"], classes=())
    splits.fingerprint = fingerprint(sets)
    splits = normalised(splits, data)
    splits.found.update(rate=rate, window=size)
    return splits


def held_out(n: int, fraction: float, gen) -> set[int]:
    """The indices of a seeded random `fraction` of n files (at least one)."""
    return {int(i) for i in carve(n, fraction, gen)[1]}


def joined(parts) -> SignalSet:
    x = torch.cat(list(parts))
    return SignalSet(x, torch.full((len(x),), -1, dtype=torch.int64))


def windows_held_out(every: SignalSet, data, gen, path: Path) -> dict[str, Any]:
    """Train, validation and test windows of one or two files, drawn from `data.split_seed`."""
    if len(every) < 3:
        raise DataError(
            f"{path}: {len(every)} window(s) are too few to hold validation and test windows out "
            "of: give more or longer audio files, or a smaller --window"
        )
    keep, test = carve(len(every), data.test_fraction, gen)
    train = every.subset(keep)
    keep, val = carve(len(train), data.val_fraction, gen)
    return {"train": train.subset(keep), "val": train.subset(val), "test": every.subset(test)}


@dataclass
class SoundFile:
    path: Path
    name: str  # the output's file name
    start: int  # its first example in Inputs.examples
    count: int  # its windows, every channel's
    channels: int
    length: int  # samples at the run's rate
    hop: int
    info: Any  # soundfile's description: rate, frames, format, subtype


def read_sound_inputs(paths: list[str | os.PathLike], data, hop=None) -> Inputs:
    """The windows (N, 1, window), normalised, of every channel of the audio files of `paths`."""
    size, hop = data.shape[1], window_hop(data, hop)
    parts: list[torch.Tensor] = []
    names: list[str] = []
    files: list[SoundFile] = []
    for path in named_files(paths, sound_files):
        values, info = read_audio(path, data.rate)  # (C, T) at the run's rate
        c, t = values.shape
        x = mono_windows(values, size, hop)
        n = len(x) // c
        names += [
            f"{path.name}[{f'channel {k}, ' if c > 1 else ''}window {i}]"
            for k in range(c)
            for i in range(n)
        ]
        start = sum(len(p) for p in parts)
        files.append(SoundFile(path, path.name, start, len(x), c, t, hop, info))
        parts.append(x)
    examples = scaled(torch.cat(parts), data.channel_mean, data.channel_std)
    return Inputs(examples, names, list(files))


def check_out(out_dir: Path, path: Path) -> Path:
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"--out {out_dir} is a file; the results go into a folder")
    target = out_dir / path.name
    if target.resolve() == path.resolve():
        raise DataError(f"{target} would overwrite its input; choose another --out")
    return target


def write_sounds(inputs: Inputs, results: torch.Tensor, out_dir, data) -> list[Path]:
    """`results` (N, 1, window), normalised, one audio file per input file (module docstring)."""
    out_dir, written = Path(out_dir), []
    with staged() as temp:
        for f in inputs.files:
            target = check_out(out_dir, f.path)
            part = results[f.start : f.start + f.count].detach().cpu()
            part = scaled(part, data.channel_mean, data.channel_std, undo=True)  # (C * n, 1, size)
            part = part.reshape(f.channels, -1, part.shape[-1])  # (C, n, size)
            rec = torch.cat([overlap_add(ch[:, None], f.hop, f.length) for ch in part])  # (C, T)
            writer = AudioWriter(f.info, temp(target), data.rate)
            writer.write(rec.double().numpy())
            writer.close()
            written.append(target)
    return written


def map_sounds(paths, data, fn, out_dir, hop=None, corrupt=None) -> list[Path]:
    """Run `fn` (normalised windows (n, 1, T) -> outputs (n, 1, T)) over every channel of the
    audio files of `paths` a chunk at a time, and write each file put back together (weighted
    overlap-add) under its name in `out_dir`, at its rate, format and length. `corrupt`
    ((1, C, n) -> (1, C, n), normalised) is applied to each file once, a chunk at a time."""
    size, hop = data.shape[1], window_hop(data, hop)
    out_dir, written = Path(out_dir), []
    mean, std = data.channel_mean, data.channel_std
    with staged() as temp:
        for path in named_files(paths, sound_files):
            target = check_out(out_dir, path)
            rec, info = open_audio(path, data.rate)
            writer, blend = AudioWriter(info, temp(target), data.rate), Blend(rec.channels, size)
            chunks = corrupted(rec.chunks(), data, corrupt) if corrupt else rec.chunks()
            for starts, parts, ready in window_batches(
                chunks, size, hop, batch_windows(rec.channels, size)
            ):
                x = scaled(torch.from_numpy(parts), mean, std)  # (n, C, size)
                n, c = x.shape[:2]
                y = fn(x.reshape(n * c, 1, size)).reshape(n, c, size)
                blend.add(starts, y.double().numpy())
                chunk = torch.from_numpy(blend.take(ready))[None]  # (1, C, n) normalised
                writer.write(scaled(chunk, mean, std, undo=True)[0].double().numpy())
            writer.close()
            written.append(target)
    return written


def write_sound_examples(out, examples: torch.Tensor, stem: str, data) -> Path:
    """Windows (N, 1, T), normalised: one `.npy` (N, 1, T) float32 in the data's units when `out`
    ends so, else `out/<stem>-00000.wav`, ... at the run's rate."""
    out = Path(out)
    x = scaled(examples.detach().cpu(), data.channel_mean, data.channel_std, undo=True).numpy()
    if out.suffix.lower() == ".npy":
        buf = io.BytesIO()
        np.save(buf, x.astype(np.float32), allow_pickle=False)
        return atomic_write(out, buf.getvalue())
    for i, s in enumerate(x):
        atomic_write(out / f"{stem}-{i:05d}.wav", audio_bytes(s, data.rate))
    return out


def sound_cuts(inputs: Inputs) -> tuple[CutInput, ...]:
    """The whole recordings that `inputs`' windows are cut from (a codec file records them)."""
    for f in inputs.files:
        if f.channels != 1:
            raise DataError(f"{f.path}: {f.channels} channels; compress takes mono audio files")
    return tuple(
        CutInput(f.name, 1, f.length, f.hop, (), int(f.info.samplerate), int(f.info.frames))
        for f in inputs.files
    )


def write_sound_cuts(out_dir, examples: torch.Tensor, cut, data) -> list[Path]:
    """Windows (N, 1, window), normalised, of the recordings `cut`, in order: each put back
    together at its length and written under its name in `out_dir` at its own rate and length (the
    run's, for a recording that records none)."""
    out_dir, size, at, written = Path(out_dir), data.shape[1], 0, []
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"--out {out_dir} is a file; the recordings go into a folder")
    with staged() as temp:
        for c in cut:
            suffix = Path(c.name).suffix
            n = len(starts(c.length, size, c.hop))
            rec = overlap_add(examples[at : at + n].cpu(), c.hop, c.length)  # (1, T)
            at += n
            units = scaled(rec[None], data.channel_mean, data.channel_std, undo=True)[0]
            if c.rate:
                check_rate(Path(c.name), data.rate, c.rate)
            values, rate = at_rate(units.double().numpy(), data.rate, c.rate, c.frames)
            blob = audio_bytes(values, rate, suffix)
            temp(out_dir / c.name).write_bytes(blob)
            written.append(out_dir / c.name)
    return written
