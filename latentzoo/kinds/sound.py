"""Sound: a signal with a sample rate that lives in audio files (latentzoo.audio, latentzoo.sounds).
A model on sound is mono and takes windows (1, T) at the run's rate; a file of several channels is
processed a channel at a time, and every job writes each file back at its own rate, format,
channels and length. The backbones, measures and noise kinds are the signal kind's; a window is
drawn as its spectrogram (log magnitude of a short-time Fourier transform, low frequencies at the
bottom), as sound is usually looked at."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ..audio import audio_bytes
from ..config import Config, DataSettings
from ..data import Splits
from ..errors import ConfigError
from ..inputs import Inputs
from ..series import scaled
from ..sounds import (
    load_sounds,
    map_sounds,
    read_sound_inputs,
    sound_cuts,
    write_sound_cuts,
    write_sound_examples,
    write_sounds,
)
from ..windows import CutInput, overlap_add
from .base import DataKind
from .signal import SignalKind, refuse_convert

SPECTROGRAM_FFT, SPECTROGRAM_HOP = 256, 32  # the pictures' frames: 256 samples, every 32
SPECTROGRAM_DB = 80.0  # the range of loudness a picture shows, below its window's loudest cell


def spectrogram(x: torch.Tensor) -> torch.Tensor:
    """Windows (N, 1, T) -> pictures (N, 1, F, frames) in [0, 1]: each cell's loudness in dB over
    the SPECTROGRAM_DB below the window's loudest, low frequencies at the bottom."""
    window = torch.hann_window(SPECTROGRAM_FFT)
    spec = torch.stft(
        x.float()[:, 0], SPECTROGRAM_FFT, SPECTROGRAM_HOP, window=window, return_complex=True
    ).abs()  # (N, F, frames)
    db = 20 * torch.log10(spec + 1e-8)
    top = db.flatten(1).max(1).values.view(-1, 1, 1)
    return ((db - top + SPECTROGRAM_DB) / SPECTROGRAM_DB).clamp(0, 1).flip(1)[:, None]


def refuse_resize(resize) -> None:
    if resize:
        raise ConfigError("--resize applies to series; sound is resampled to the run's rate")


class SoundKind(SignalKind):
    name = "sound"
    example = "window"
    examples = "windows"
    heard = True
    # a clean window's residual grows with its loudness, which the safeguard's one threshold does
    # not follow: it undid the sound DAE's gains (benchmarks/EXPERIMENTS.md)
    safeguarded = False
    # a little of the input mixed back in: fewer of the mask's artefacts, chosen on unheard voices
    # (benchmarks/sound_keep.py)
    kept_input = 0.1
    noise_kinds = (*SignalKind.noise_kinds, "babble", "babble_speed", "recorded")
    example_noises = ("white:0", "pink:5", "babble:5")

    def check(self, cfg: Config) -> None:
        super().check(cfg)
        if cfg.data.shape[0] != 1:
            raise ConfigError(f"a model on sound is mono (1 channel), got {cfg.data.shape}")
        if cfg.data.label_column is not None or cfg.data.length is not None:
            raise ConfigError("--label-column and --length apply to series in tables and arrays")

    def describe(self, shape: tuple[int, ...]) -> str:
        return f"mono windows of {shape[1]} samples"

    def pictures(self, x: torch.Tensor) -> torch.Tensor:
        return spectrogram(x)  # (N, 1, F, frames)

    def clip(self, x: torch.Tensor, data: DataSettings) -> bytes | None:
        assert data.rate is not None  # a sound run records its rate
        hop = data.window_hop
        rec = overlap_add(x.detach().cpu().float(), hop, hop * (len(x) - 1) + x.shape[-1])
        values = scaled(rec[None], data.channel_mean, data.channel_std, undo=True)[0]  # (1, T)
        return audio_bytes(values.double().numpy(), data.rate)

    def reconstruction_rows(self, x: torch.Tensor, x_hat: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"inputs": spectrogram(x), "reconstructions": spectrogram(x_hat)}

    def read_source(self, data: DataSettings) -> Splits:
        return load_sounds(data)

    def read_inputs(self, paths, data: DataSettings, *, resize=False, convert=False, hop=None):
        refuse_convert(convert)
        refuse_resize(resize)
        return read_sound_inputs(paths, data, hop)

    def cut_inputs(self, inputs: Inputs, data: DataSettings) -> tuple[CutInput, ...]:
        return sound_cuts(inputs)

    def write_cut_inputs(self, out_dir, examples, cut, data: DataSettings) -> list[Path]:
        return write_sound_cuts(out_dir, examples, cut, data)

    def transform_files(self, paths, data: DataSettings, fn, out_dir, *, corrupt=None, **options):
        refuse_convert(options.get("convert"))
        refuse_resize(options.get("resize"))
        return map_sounds(paths, data, fn, out_dir, options.get("hop"), corrupt)

    def score_files(self, paths, data: DataSettings, score, threshold: float, out, **options):
        # a row per window: a file's windows are scored where they are, not streamed per sample
        return DataKind.score_files(self, paths, data, score, threshold, out, **options)

    def write_like_inputs(
        self, inputs: Inputs, results: torch.Tensor, out_dir: str | os.PathLike, data: DataSettings
    ) -> list[Path]:
        return write_sounds(inputs, results, out_dir, data)

    def write_examples(self, out, examples, stem: str, data: DataSettings) -> Path:
        return write_sound_examples(out, examples, stem, data)  # (N, 1, T) .npy, or a WAV each
