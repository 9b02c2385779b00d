"""Signals (C, T): series of C channels and T samples (ECG beats, sensor windows, any time series),
from arrays, tables and long recordings cut into windows (latentzoo.series reads them,
latentzoo.signal_inputs reads and writes the jobs' files). Values are normalised per channel, so
they are not bounded: decoders are Gaussian (squared error) and outputs are not clipped. A 1-D conv
backbone halves the length `downsample` times (latentzoo.nn.backbones1d); a VQ-VAE's codes are a
sequence, shaped as a grid one row high. A recording longer than the run's window is processed in
overlapping windows, put back together by overlap-add."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from ..config import Config, DataSettings, ModelSettings, VectorSettings
from ..data import Splits
from ..errors import ConfigError
from ..inputs import Inputs
from ..measures import mse_per_pixel, prd, snr
from ..nn.backbones1d import (
    SignalGridDecoder,
    SignalGridEncoder,
    SignalVectorDecoder,
    SignalVectorEncoder,
)
from ..nn.spectral import SpectralMask
from ..nn.spectral_loss import FFT_SIZES
from ..nn.stoi_loss import MIN_FRAMES, frames_in
from ..series import load_signals
from ..signal_inputs import (
    map_recordings,
    read_signal_inputs,
    score_recordings,
    write_recordings,
    write_series,
    write_signals,
)
from ..signal_noise import SIGNAL_NOISES
from ..windows import CutInput, overlap_add, windows
from .base import DataKind

MAX_STAGES = 4  # the automatic downsampling: at most 16 samples per code
PICTURE_ROWS = 32  # rows of a drawn channel (values from -4 to 4 standard deviations)
PICTURE_WIDTH = 256  # at most this many columns per drawn series
MASK_FFT, MASK_HOP = 256, 64  # `skip mask`'s short-time spectrum: 32 ms every 8 ms at 8 kHz


def stages(length: int, settings: ModelSettings) -> int:
    """Strided stages of the conv backbone: `downsample`, else as many halvings as divide the
    length (at most MAX_STAGES), keeping at least 2 positions."""
    if settings.downsample:
        return settings.downsample
    k = 0
    while k < MAX_STAGES and length % 2 ** (k + 1) == 0 and length // 2 ** (k + 1) >= 2:
        k += 1
    return k


def conv_args(shape: tuple[int, ...], settings: ModelSettings) -> dict:
    s = settings
    return dict(
        stages=stages(shape[1], s),
        channels=s.channels,
        res_blocks=s.res_blocks,
        norm=s.norm,
        act=s.act,
    )


def vector_args(shape: tuple[int, ...], cond_dim: int, settings: ModelSettings) -> dict:
    assert isinstance(settings, VectorSettings)
    s = settings
    return dict(
        backbone=s.backbone,
        cond_dim=cond_dim,
        length=shape[1],
        hidden=s.hidden,
        hidden2=s.hidden2 or s.hidden // 2,
        **conv_args(shape, s),
    )


def mse_per_sample(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    return mse_per_pixel(x, x_hat)  # the mean over an example's values


def rmse(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    return mse_per_pixel(x, x_hat).sqrt()


def draw(x: torch.Tensor) -> torch.Tensor:
    """Signals (N, C, T), normalised -> pictures (N, 1, C * PICTURE_ROWS, W) of their waveforms,
    white on black, each channel in its band, the samples joined by vertical strokes."""
    n, c, t = x.shape
    if t > PICTURE_WIDTH:
        x = nn.functional.interpolate(x.float(), size=PICTURE_WIDTH, mode="linear")
    h = PICTURE_ROWS
    y = ((4 - x.float().clamp(-4, 4)) / 8 * (h - 1)).round()  # (N, C, W) row of each sample
    after = torch.cat([y[..., 1:], y[..., -1:]], -1)
    lo, hi = torch.minimum(y, after), torch.maximum(y, after)
    rows = torch.arange(h, dtype=y.dtype).view(1, 1, h, 1)
    on = (rows >= lo.unsqueeze(2)) & (rows <= hi.unsqueeze(2))  # (N, C, h, W)
    return on.float().reshape(n, 1, c * h, -1)


def refuse_convert(convert) -> None:
    if convert:
        raise ConfigError("--convert applies to images; a signal's channels stay as they are")


class SignalKind(DataKind):
    name = "signal"
    axes = "(C, T)"
    noise_kinds: ClassVar[tuple[str, ...]] = ("gaussian", "mask", *SIGNAL_NOISES)
    example_noises: ClassVar[tuple[str, ...]] = ("white:0", "impulse:0.01", "dropout:0.1")
    example = "series"
    examples = "series"
    bounded = False
    fidelity = "snr"

    def check(self, cfg: Config) -> None:
        shape, s = cfg.data.shape, cfg.model
        if len(shape) != 2 or not 1 <= shape[0] <= 4096 or shape[1] < 2:
            raise ConfigError(
                f"a signal's shape must be (C, T) with 1 to 4096 channels and 2 samples or more, "
                f"got {shape}"
            )
        if s.recon == "bce":
            raise ConfigError("a signal's values are not in [0, 1]: use --recon mse")
        if s.fine_blocks:
            raise ConfigError("--fine-blocks applies to images; a signal's backbone has none")
        if s.spectral and shape[1] < FFT_SIZES[0]:
            raise ConfigError(f"--spectral needs windows of {FFT_SIZES[0]} samples or more")
        if s.stoi and not self.heard:
            raise ConfigError("--stoi applies to sound (speech at a sample rate)")
        if s.stoi and frames_in(shape[1], cfg.data.rate) < MIN_FRAMES:
            raise ConfigError(
                f"--stoi needs windows of {MIN_FRAMES} of STOI's frames (25.6 ms, half "
                f"overlapping) or more, got {shape[1]} samples at {cfg.data.rate} Hz"
            )
        k = stages(shape[1], s)
        if s.backbone == "conv" and shape[1] % 2**k:
            raise ConfigError(
                f"--downsample {k} halves the length {k} times, and {shape[1]} samples are not "
                f"divisible by {2**k}: pass --length, --window or a smaller --downsample"
            )

    def vector_encoder(self, shape, out_dim: int, cond_dim: int, settings) -> nn.Module:
        return SignalVectorEncoder(
            out_dim=out_dim, in_channels=shape[0], **vector_args(shape, cond_dim, settings)
        )

    def vector_decoder(self, shape, in_dim: int, cond_dim: int, settings) -> nn.Module:
        return SignalVectorDecoder(
            in_dim=in_dim, out_channels=shape[0], **vector_args(shape, cond_dim, settings)
        )

    def grid_encoder(self, shape, out_dim: int, settings) -> nn.Module:
        return SignalGridEncoder(
            out_dim=out_dim, in_channels=shape[0], **conv_args(shape, settings)
        )

    def grid_decoder(self, shape, in_dim: int, settings) -> nn.Module:
        return SignalGridDecoder(in_dim=in_dim, out_channels=shape[0], **conv_args(shape, settings))

    def input_skip(self, shape: tuple[int, ...], settings: ModelSettings) -> nn.Module:
        if getattr(settings, "skip", None) != "mask" or shape[0] != 1:
            raise ConfigError(
                "a signal's skip around its code sequence is --skip mask (one channel) or residual"
            )
        if shape[1] < MASK_FFT:
            raise ConfigError(f"--skip mask needs windows of {MASK_FFT} samples or more")
        return SpectralMask(
            n_fft=MASK_FFT, hop=MASK_HOP, width=4 * settings.channels, act=settings.act
        )

    def code_grid(self, shape: tuple[int, ...], settings: ModelSettings) -> tuple[int, int]:
        return (1, shape[1] // 2 ** stages(shape[1], settings))  # a sequence: a grid one row high

    def quality_measures(self):
        return {"mse_per_sample": mse_per_sample, "rmse": rmse, "snr": snr, "prd": prd}

    def pictures(self, x: torch.Tensor) -> torch.Tensor:
        return draw(x)  # (N, 1, C * 32, W)

    def reconstruction_rows(self, x: torch.Tensor, x_hat: torch.Tensor) -> dict[str, torch.Tensor]:
        return {**super().reconstruction_rows(x, x_hat), "residuals": draw(x - x_hat)}

    def describe(self, shape: tuple[int, ...]) -> str:
        c, t = shape
        return f"{c} channel{'s' if c > 1 else ''} x {t} samples"

    def read_source(self, data: DataSettings) -> Splits:
        return load_signals(data)

    def read_inputs(
        self, paths, data: DataSettings, *, resize=False, convert=False, hop=None
    ) -> Inputs:
        refuse_convert(convert)
        return read_signal_inputs(paths, data, data.shape, resize=resize, hop=hop)

    def cut_inputs(self, inputs: Inputs, data: DataSettings) -> tuple[CutInput, ...]:
        if not data.window:
            return ()
        return tuple(
            CutInput(f.name, f.axes, f.length, f.hop, tuple(f.header or ())) for f in inputs.files
        )

    def write_cut_inputs(self, out_dir, examples, cut, data: DataSettings) -> list[Path]:
        return write_recordings(out_dir, examples, cut, data)

    def transform_files(
        self, paths, data: DataSettings, fn, out_dir, *, corrupt=None, **options
    ) -> list[Path]:
        if not data.window:
            return super().transform_files(paths, data, fn, out_dir, corrupt=corrupt, **options)
        refuse_convert(options.get("convert"))
        # a recording is corrupted once, before it is cut into windows
        return map_recordings(paths, data, fn, out_dir, options.get("hop"), corrupt)

    def score_files(self, paths, data: DataSettings, score, threshold: float, out, **options):
        if not data.window:
            return super().score_files(paths, data, score, threshold, out, **options)
        refuse_convert(options.get("convert"))
        return score_recordings(paths, data, score, threshold, Path(out), options.get("hop"))

    def write_like_inputs(
        self, inputs: Inputs, results: torch.Tensor, out_dir: str | os.PathLike, data: DataSettings
    ) -> list[Path]:
        return write_signals(inputs, results, out_dir, data)

    def write_examples(self, out, examples, stem: str, data: DataSettings) -> Path:
        return write_series(out, examples, stem, data)  # (N, C, T) .npy, or a CSV each

    def split(self, x: torch.Tensor, size: int, hop: int) -> torch.Tensor:
        return windows(x, size, hop)  # (N, C, size)

    def merge(self, parts: torch.Tensor, hop: int, like: torch.Tensor) -> torch.Tensor:
        return overlap_add(parts, hop, like.shape[-1])  # (C, T)
