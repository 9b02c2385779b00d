"""Sound: a signal with a sample rate that lives in audio files (latentzoo.audio, latentzoo.sounds).
A model on sound is mono and takes windows (1, T) at the run's rate; a file of several channels is
processed a channel at a time, and every job writes each file back at its own rate, format,
channels and length. The backbones, measures, noise kinds and pictures are the signal kind's, with
the sound's colours of noise (pink, brown) beside them."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ..config import Config, DataSettings
from ..data import Splits
from ..errors import ConfigError
from ..inputs import Inputs
from ..sounds import (
    load_sounds,
    map_sounds,
    read_sound_inputs,
    sound_cuts,
    write_sound_cuts,
    write_sound_examples,
    write_sounds,
)
from ..windows import CutInput
from .base import DataKind
from .signal import SignalKind, refuse_convert


def refuse_resize(resize) -> None:
    if resize:
        raise ConfigError("--resize applies to series; sound is resampled to the run's rate")


class SoundKind(SignalKind):
    name = "sound"
    example = "window"
    examples = "windows"

    def check(self, cfg: Config) -> None:
        super().check(cfg)
        if cfg.data.shape[0] != 1:
            raise ConfigError(f"a model on sound is mono (1 channel), got {cfg.data.shape}")
        if cfg.data.label_column is not None or cfg.data.length is not None:
            raise ConfigError("--label-column and --length apply to series in tables and arrays")

    def describe(self, shape: tuple[int, ...]) -> str:
        return f"mono windows of {shape[1]} samples"

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
