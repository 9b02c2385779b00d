"""Images (C, H, W), grey or colour: MNIST, scikit-learn's digits, and the user's folders of image
files, IDX files and arrays (latentzoo.sources reads them, latentzoo.inputs reads and writes the
jobs' files). A large image is processed in square tiles with blended seams."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from ..config import AESettings, Config, DataSettings, ModelSettings, VectorSettings, parse_size
from ..data import Splits
from ..errors import ConfigError
from ..inputs import Inputs, read_inputs, write_images, write_like_inputs
from ..lazy import load_lazily, too_large
from ..measures import mse_per_pixel, psnr, ssim
from ..nn.backbones import (
    GridDecoder,
    GridEncoder,
    InputSkip,
    VectorDecoder,
    VectorEncoder,
    grid_size,
)
from ..nn.unet import UNetSkip
from ..sources import describe, load_source
from ..windows import blend_tiles, tiles
from .base import DataKind


def conv_args(settings: ModelSettings) -> dict:
    """The conv trunk's keyword arguments from a model's settings."""
    s = settings
    return dict(
        channels=s.channels,
        res_blocks=s.res_blocks,
        fine_blocks=s.fine_blocks,
        norm=s.norm,
        act=s.act,
    )


def vector_args(shape: tuple[int, ...], cond_dim: int, settings: ModelSettings) -> dict:
    """A vector encoder's or decoder's keyword arguments (mlp or conv) for images of `shape`."""
    assert isinstance(settings, VectorSettings)
    s = settings
    return dict(
        backbone=s.backbone,
        cond_dim=cond_dim,
        hidden=s.hidden,
        hidden2=s.hidden2 or s.hidden // 2,
        height=shape[1],
        width=shape[2],
        **conv_args(s),
    )


class ImageKind(DataKind):
    name = "image"
    axes = "(C, H, W)"
    noise_kinds: ClassVar[tuple[str, ...]] = ("gaussian", "mask", "salt_pepper")
    example_noises: ClassVar[tuple[str, ...]] = ("gaussian:0.5", "mask:0.5", "salt_pepper:0.2")
    example = "image"
    examples = "images"
    bounded = True
    fidelity = "psnr"
    drawn = True

    def check(self, cfg: Config) -> None:
        shape = cfg.data.shape
        if len(shape) != 3 or shape[0] not in (1, 3) or max(shape) > 4096:
            raise ConfigError(
                f"an image's shape must be (C, H, W) with C 1 (grey) or 3 (colour) and H, W at "
                f"most 4096, got {shape} (signals (N, C, T): --kind signal)"
            )
        _, h, w = shape
        if cfg.model.spectral:
            raise ConfigError("--spectral applies to signals and sound (a short-time spectrum)")
        if cfg.model.stoi:
            raise ConfigError("--stoi applies to sound (speech at a sample rate)")
        if cfg.model.downsample:
            raise ConfigError(
                "--downsample applies to signals; the conv backbone halves images twice"
            )
        if cfg.model.backbone == "conv" and (h % 4 or w % 4):
            raise ConfigError(
                f"the conv backbone needs a height and width divisible by 4, and these images are "
                f"{h}x{w}: pass --image-size HxW to resize them, or --backbone mlp"
            )

    def vector_encoder(
        self, shape: tuple[int, ...], out_dim: int, cond_dim: int, settings: ModelSettings
    ) -> nn.Module:
        return VectorEncoder(
            out_dim=out_dim, in_channels=shape[0], **vector_args(shape, cond_dim, settings)
        )

    def vector_decoder(
        self, shape: tuple[int, ...], in_dim: int, cond_dim: int, settings: ModelSettings
    ) -> nn.Module:
        return VectorDecoder(
            in_dim=in_dim, out_channels=shape[0], **vector_args(shape, cond_dim, settings)
        )

    def grid_encoder(
        self, shape: tuple[int, ...], out_dim: int, settings: ModelSettings
    ) -> nn.Module:
        return GridEncoder(out_dim=out_dim, in_channels=shape[0], **conv_args(settings))

    def grid_decoder(
        self, shape: tuple[int, ...], in_dim: int, settings: ModelSettings
    ) -> nn.Module:
        return GridDecoder(in_dim=in_dim, out_channels=shape[0], **conv_args(settings))

    def input_skip(self, shape: tuple[int, ...], settings: ModelSettings) -> nn.Module:
        assert isinstance(settings, AESettings)  # the only settings with a skip
        if settings.skip == "mask":
            raise ConfigError("--skip mask applies to signals and sound (a short-time spectrum)")
        if settings.skip == "unet":
            return UNetSkip(channels=shape[0], width=settings.channels, act=settings.act)
        return InputSkip(
            channels=shape[0], width=settings.channels, act=settings.act, depth=settings.skip_depth
        )

    def code_grid(self, shape: tuple[int, ...], settings: ModelSettings) -> tuple[int, int]:
        return grid_size(shape[1], shape[2])  # (H/4, W/4)

    def quality_measures(self):
        return {"mse_per_pixel": mse_per_pixel, "psnr": psnr, "ssim": ssim}

    def pictures(self, x: torch.Tensor) -> torch.Tensor:
        return x  # (N, C, H, W)

    def describe(self, shape: tuple[int, ...]) -> str:
        return describe(shape)

    def read_source(self, data: DataSettings) -> Splits:
        assert data.source is not None
        size = parse_size(data.image_size) if data.image_size else None
        lazy = data.load == "lazy" or (data.load == "auto" and too_large(Path(data.source)))
        if lazy:
            return load_lazily(
                data.source,
                image_size=size,
                colour=data.colour,
                split_seed=data.split_seed,
                val_fraction=data.val_fraction,
                test_fraction=data.test_fraction,
                workers=data.workers,
            )
        return load_source(
            data.source,
            image_size=size,
            colour=data.colour,
            split_seed=data.split_seed,
            val_fraction=data.val_fraction,
            test_fraction=data.test_fraction,
        )

    def read_inputs(
        self,
        paths: list[str | os.PathLike],
        data: DataSettings,
        *,
        resize: bool = False,
        convert: bool = False,
        hop: int | None = None,
    ) -> Inputs:
        if hop is not None:
            raise ConfigError("--hop applies to a run trained on windows of a recording (--window)")
        return read_inputs(paths, data.shape, resize=resize, convert=convert)

    def write_like_inputs(
        self, inputs: Inputs, results: torch.Tensor, out_dir: str | os.PathLike, data: DataSettings
    ) -> list[Path]:
        return write_like_inputs(inputs, results, out_dir)

    def write_examples(
        self, out: str | os.PathLike, examples: torch.Tensor, stem: str, data: DataSettings
    ) -> Path:
        return write_images(out, examples, stem)  # uint8 (N, H, W[, C]) .npy, or PNG files

    def split(self, x: torch.Tensor, size: int, hop: int) -> torch.Tensor:
        return tiles(x, size, hop)  # (N, C, size, size)

    def merge(self, parts: torch.Tensor, hop: int, like: torch.Tensor) -> torch.Tensor:
        return blend_tiles(parts, hop, like.shape[-2], like.shape[-1])  # (C, H, W)
