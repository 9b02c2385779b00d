"""Audio files in and out: WAV, FLAC and OGG read and written by soundfile (libsndfile), resampled
by soxr (the SoX resampler), whole or a chunk at a time.

`read_audio` gives a file's samples (C, T) at a chosen rate; `open_audio` the same as a
latentzoo.recordings `Recording` whose chunks are resampled as they are read (soxr's stream keeps
its state across chunks, so memory does not grow with a file's length); `AudioWriter` takes chunks
at a run's rate and writes them back at the input's rate, format and subtype, cut or padded to the
input's exact length. Bad audio (not audio, no samples, NaN or infinite values in a float file, a
truncated file, a rate too far from the run's) is a one-line DataError.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError
from .recordings import CHUNK_SAMPLES, Recording

MAX_RATIO = 64  # resampling goes at most this many times up or down
FLOAT_SUBTYPES = ("FLOAT", "DOUBLE", "VORBIS")  # the rest are integers: clip to [-1, 1]
QUALITY = "HQ"  # soxr's quality


def soundfile() -> Any:
    import soundfile as sf  # a binding of libsndfile: loaded only where audio is read

    return sf


def audio_info(path: Path) -> Any:
    """soundfile's description of an audio file (rate, channels, frames, format, subtype); a file
    that is not audio, holds no samples or is cut short is a DataError."""
    sf = soundfile()
    try:
        info = sf.info(str(path))
    except (sf.SoundFileError, RuntimeError, TypeError) as e:
        reason = str(e).split(": ", 1)[-1].strip() or "unreadable"
        raise DataError(f"{path}: not an audio file latentzoo reads ({reason})") from None
    if info.frames < 1:
        raise DataError(f"{path}: an audio file of 0 samples")
    claimed = re.search(r"^data\s*:\s*(\d+) \(should be (\d+)\)", info.extra_info, re.M)
    if claimed and int(claimed.group(1)) > int(claimed.group(2)):
        raise DataError(
            f"{path}: truncated (its header promises {int(claimed.group(1)):,} bytes of samples, "
            f"the file holds {int(claimed.group(2)):,})"
        )
    return info


def check_rate(path: Path, rate: float, to: float) -> None:
    """A DataError when a file at `rate` Hz cannot be resampled to `to` Hz."""
    if not (rate > 0 and to > 0 and max(rate, to) / min(rate, to) <= MAX_RATIO):
        raise DataError(
            f"{path}: {rate:g} Hz cannot be resampled to the run's {to:g} Hz (latentzoo resamples "
            f"at most {MAX_RATIO} times up or down)"
        )


def finite(block: np.ndarray, path: Path) -> np.ndarray:
    if not np.isfinite(block).all():
        raise DataError(f"{path}: the audio holds NaN or infinite samples")
    return block


def resampled_length(frames: int, rate: float, to: float) -> int:
    """The samples a file of `frames` at `rate` has at `to` (soxr's count)."""
    return round(frames * to / rate)


def read_audio(path: Path, rate: float | None = None) -> tuple[np.ndarray, Any]:
    """(samples (C, T) float64 at `rate` (unset: the file's), the file's description)."""
    info = audio_info(path)
    rate = rate or info.samplerate
    check_rate(path, info.samplerate, rate)
    try:
        values, _ = soundfile().read(str(path), dtype="float64", always_2d=True)  # (T, C)
    except RuntimeError as e:
        raise DataError(f"{path}: cannot read its samples ({e})") from None
    finite(values, path)
    if rate != info.samplerate:
        import soxr

        values = soxr.resample(values, info.samplerate, rate, quality=QUALITY)
    return np.ascontiguousarray(values.T), info


def at_rate(values: np.ndarray, rate: float, to: int, frames: int) -> tuple[np.ndarray, float]:
    """(samples (C, T) at `rate` resampled to `to` Hz and cut or padded to `frames`, their rate);
    `to` 0: as they are."""
    if not to:
        return values, rate
    import soxr

    if to != rate:
        values = soxr.resample(values.T, rate, to, quality=QUALITY).T
    out = np.zeros((values.shape[0], frames))
    n = min(frames, values.shape[1])
    out[:, :n] = values[:, :n]
    return out, float(to)


def open_audio(path: Path, rate: float) -> tuple[Recording, Any]:
    """(a Recording of the file's samples at `rate`, read and resampled a chunk at a time, the
    file's description)."""
    import soxr

    sf, info = soundfile(), audio_info(path)
    check_rate(path, info.samplerate, rate)

    def read() -> Iterator[np.ndarray]:
        stream = None
        if rate != info.samplerate:
            stream = soxr.ResampleStream(
                info.samplerate, rate, info.channels, dtype="float64", quality=QUALITY
            )
        try:
            with sf.SoundFile(str(path)) as f:
                while True:
                    block = f.read(CHUNK_SAMPLES, dtype="float64", always_2d=True)  # (n, C)
                    last = len(block) < CHUNK_SAMPLES or f.tell() >= info.frames
                    finite(block, path)
                    if stream is not None:
                        block = stream.resample_chunk(block, last=last)
                    if len(block):
                        yield block.T  # (C, n)
                    if last:
                        return
        except RuntimeError as e:
            raise DataError(f"{path}: cannot read its samples ({e})") from None

    length = resampled_length(info.frames, info.samplerate, rate)
    return Recording(path, info.channels, 2, None, length, read), info


class AudioWriter:
    """An audio file written as its chunks (C, n) come at `rate` Hz: resampled to the input's
    rate and written in its format and subtype, exactly as long as the input."""

    def __init__(self, info: Any, temp: Path, rate: float):
        import soxr

        self.info, self.left = info, info.frames
        self.stream = None
        if rate != info.samplerate:
            self.stream = soxr.ResampleStream(
                rate, info.samplerate, info.channels, dtype="float64", quality=QUALITY
            )
        self.clip = info.subtype not in FLOAT_SUBTYPES
        self.file = soundfile().SoundFile(
            str(temp),
            "w",
            samplerate=info.samplerate,
            channels=info.channels,
            format=info.format,
            subtype=info.subtype,
        )

    def write(self, values: np.ndarray, last: bool = False) -> None:
        """The next samples (C, n) at the run's rate."""
        rows = np.ascontiguousarray(values.T, dtype=np.float64)  # (n, C)
        if self.stream is not None:
            rows = self.stream.resample_chunk(rows, last=last)
        rows = rows[: self.left]
        if len(rows):
            self.file.write(np.clip(rows, -1, 1) if self.clip else rows)
            self.left -= len(rows)

    def close(self) -> None:
        self.write(np.zeros((self.info.channels, 0)), last=True)
        if self.left > 0:  # the resampler's last samples fall short of the input's length
            self.file.write(np.zeros((self.left, self.info.channels)))
        self.file.close()


WRITTEN = {".wav": ("WAV", "FLOAT"), ".flac": ("FLAC", "PCM_24"), ".ogg": ("OGG", "VORBIS")}


def audio_bytes(values: np.ndarray, rate: float, suffix: str = ".wav") -> bytes:
    """Samples (C, T) as an audio file at `rate` Hz in the format `suffix` names (WAV: 32-bit
    float; FLAC: 24-bit, clipped to [-1, 1]; OGG: Vorbis)."""
    if suffix.lower() not in WRITTEN:
        raise DataError(f"latentzoo writes sound as {', '.join(WRITTEN)}, not {suffix}")
    fmt, subtype = WRITTEN[suffix.lower()]
    rows = values.T if subtype in FLOAT_SUBTYPES else np.clip(values.T, -1, 1)
    buf = io.BytesIO()
    soundfile().write(buf, rows, int(round(rate)), format=fmt, subtype=subtype)
    return buf.getvalue()
