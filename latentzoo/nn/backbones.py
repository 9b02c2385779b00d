"""Encoder and decoder backbones for images of C channels and H x W pixels (MNIST: 1 x 28 x 28),
built from explicit keyword arguments.

- `mlp`: the textbook fully connected autoencoder, C*H*W -> hidden -> hidden2 -> latent and back
  (Kingma & Welling 2014, with two hidden layers; hidden2 is hidden/2 unless given, and Burda et al.
  2016 use 200 and 200); any image size.
- `conv`: H x W -> H/2 x W/2 -> H/4 x W/4 (MNIST: 28 -> 14 -> 7) with 4x4 stride-2 convolutions and
  residual blocks at H/4, and the mirror image with transposed convolutions (the VQ-VAE of van den
  Oord et al. 2017, scaled down for MNIST); H and W must be divisible by 4. `fine_blocks > 0` adds
  residual blocks at H/2 and a 3x3 convolution at full size at each end: finer strokes for the
  same grid.

`InputSkip` is the full-size block of an AE's skip around its latent (`skip input`).
`VectorEncoder` maps images to a vector (AE, DAE, VAE, CVAE); `GridEncoder` maps them to an
H/4 x W/4 grid of vectors (VQ-VAE). Both use the same conv trunk; the decoders mirror them. An
optional condition vector (a one-hot label for the CVAE) is concatenated to the features before the
heads. Decoders return raw outputs (logits for a Bernoulli decoder); the models map them to images.
Every output is fp32, also under bf16 autocast, so the heads' statistics and the losses are computed
in fp32."""

from __future__ import annotations

import math

import torch
from torch import nn

from .layers import ResBlock, activation


def grid_size(height: int, width: int) -> tuple[int, int]:
    """The conv trunk's grid for H x W images: (H/4, W/4); (7, 7) for MNIST."""
    if height % 4 or width % 4:
        raise ValueError(
            f"the conv backbone needs a height and width divisible by 4, got {height}x{width}"
        )
    return height // 4, width // 4


def conv_trunk(
    *, in_channels: int, channels: int, res_blocks: int, fine_blocks: int, norm: str, act: str
) -> nn.Sequential:
    c = channels
    if fine_blocks:  # a 3x3 conv at full size first, then residual blocks at half size
        layers = [
            nn.Conv2d(in_channels, c // 2, 3, padding=1),
            activation(act),  # (B, c/2, H, W)
            nn.Conv2d(c // 2, c, 4, stride=2, padding=1),  # (B, c, H/2, W/2)
            *[ResBlock(c, norm, act) for _ in range(fine_blocks)],
            activation(act),
        ]
    else:
        # (B, c, H/2, W/2)
        layers = [nn.Conv2d(in_channels, c, 4, stride=2, padding=1), activation(act)]
    layers += [
        nn.Conv2d(c, 2 * c, 4, stride=2, padding=1),  # (B, 2c, H/4, W/4)
        *[ResBlock(2 * c, norm, act) for _ in range(res_blocks)],
        activation(act),
    ]
    return nn.Sequential(*layers)


def deconv_trunk(
    *, out_channels: int, channels: int, res_blocks: int, fine_blocks: int, norm: str, act: str
) -> nn.Sequential:
    c, o = channels, out_channels
    layers = [
        *[ResBlock(2 * c, norm, act) for _ in range(res_blocks)],  # (B, 2c, H/4, W/4)
        activation(act),
        nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1),  # (B, c, H/2, W/2)
    ]
    # residual blocks at half size (each starts with [norm,] act), then a 3x3 conv at full size
    if fine_blocks:
        layers += [
            *[ResBlock(c, norm, act) for _ in range(fine_blocks)],
            activation(act),
            # (B, c/2, H, W)
            nn.ConvTranspose2d(c, c // 2, 4, stride=2, padding=1),
            activation(act),
            # (B, C, H, W) raw output
            nn.Conv2d(c // 2, o, 3, padding=1),
        ]
    else:
        # (B, C, H, W) raw output
        layers += [activation(act), nn.ConvTranspose2d(c, o, 4, stride=2, padding=1)]
    return nn.Sequential(*layers)


def mlp_trunk(*, pixels: int, hidden: int, hidden2: int, act: str) -> nn.Sequential:
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(pixels, hidden),
        activation(act),
        nn.Linear(hidden, hidden2),
        activation(act),
    )  # (B, hidden2)


class TrunkToVector(nn.Module):
    """A trunk, flattened, [+ condition (B, K)] -> a linear head: the vector encoders' forward
    (for images here, for signals in latentzoo.nn.backbones1d)."""

    trunk: nn.Module
    head: nn.Linear

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        h = self.trunk(x).flatten(1)  # (B, F)
        if cond is not None:
            h = torch.cat([h, cond], dim=1)  # (B, F + K)
        return self.head(h).float()  # (B, out_dim)


class VectorToTrunk(nn.Module):
    """A vector [+ condition (B, K)] -> a linear head, shaped as the trunk's input (`grid`) when the
    trunk is convolutional -> raw output of `shape`: the vector decoders' forward."""

    head: nn.Linear
    trunk: nn.Module
    conv: bool
    grid: tuple[int, ...]  # the trunk's input without the batch axis (conv)
    shape: tuple[int, ...]  # one output

    def forward(self, z: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        if cond is not None:
            z = torch.cat([z, cond], dim=1)  # (B, in_dim + K)
        h = self.head(z)
        if self.conv:
            h = h.view(-1, *self.grid)  # e.g. (B, 2c, H/4, W/4)
        return self.trunk(h).view(-1, *self.shape).float()  # (B, *shape)


class VectorEncoder(TrunkToVector):
    """Images (B, C, H, W) [+ condition (B, K)] -> vector (B, out_dim)."""

    def __init__(
        self,
        *,
        backbone: str,
        out_dim: int,
        cond_dim: int = 0,
        in_channels: int,
        height: int,
        width: int,
        channels: int,
        hidden: int,
        hidden2: int,
        res_blocks: int,
        fine_blocks: int,
        norm: str,
        act: str,
    ):
        super().__init__()
        if backbone == "conv":
            gh, gw = grid_size(height, width)
            self.trunk = conv_trunk(
                in_channels=in_channels,
                channels=channels,
                res_blocks=res_blocks,
                fine_blocks=fine_blocks,
                norm=norm,
                act=act,
            )
            features = 2 * channels * gh * gw
        else:
            self.trunk = mlp_trunk(
                pixels=in_channels * height * width, hidden=hidden, hidden2=hidden2, act=act
            )
            features = hidden2
        self.head = nn.Linear(features + cond_dim, out_dim)


class VectorDecoder(VectorToTrunk):
    """Vector (B, in_dim) [+ condition (B, K)] -> raw output (B, C, H, W)."""

    def __init__(
        self,
        *,
        backbone: str,
        in_dim: int,
        cond_dim: int = 0,
        out_channels: int,
        height: int,
        width: int,
        channels: int,
        hidden: int,
        hidden2: int,
        res_blocks: int,
        fine_blocks: int,
        norm: str,
        act: str,
    ):
        super().__init__()
        self.conv = backbone == "conv"
        self.shape = (out_channels, height, width)
        if self.conv:
            self.grid = (2 * channels, *grid_size(height, width))  # (2c, H/4, W/4)
            self.head = nn.Linear(in_dim + cond_dim, math.prod(self.grid))
            self.trunk = deconv_trunk(
                out_channels=out_channels,
                channels=channels,
                res_blocks=res_blocks,
                fine_blocks=fine_blocks,
                norm=norm,
                act=act,
            )
        else:
            self.head = nn.Linear(in_dim + cond_dim, hidden2)
            self.trunk = nn.Sequential(
                activation(act),
                nn.Linear(hidden2, hidden),
                activation(act),
                nn.Linear(hidden, out_channels * height * width),
            )


class GridEncoder(nn.Module):
    """Images (B, C, H, W) -> grid of vectors (B, out_dim, H/4, W/4) (VQ-VAE)."""

    def __init__(
        self,
        *,
        out_dim: int,
        in_channels: int,
        channels: int,
        res_blocks: int,
        fine_blocks: int,
        norm: str,
        act: str,
    ):
        super().__init__()
        self.trunk = conv_trunk(
            in_channels=in_channels,
            channels=channels,
            res_blocks=res_blocks,
            fine_blocks=fine_blocks,
            norm=norm,
            act=act,
        )
        self.head = nn.Conv2d(2 * channels, out_dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x)).float()  # (B, out_dim, H/4, W/4)


class GridDecoder(nn.Module):
    """Grid of vectors (B, in_dim, H/4, W/4) -> raw output (B, C, H, W) (VQ-VAE)."""

    def __init__(
        self,
        *,
        in_dim: int,
        out_channels: int,
        channels: int,
        res_blocks: int,
        fine_blocks: int,
        norm: str,
        act: str,
    ):
        super().__init__()
        self.head = nn.Conv2d(in_dim, 2 * channels, 3, padding=1)
        self.trunk = deconv_trunk(
            out_channels=out_channels,
            channels=channels,
            res_blocks=res_blocks,
            fine_blocks=fine_blocks,
            norm=norm,
            act=act,
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.trunk(self.head(z)).float()  # (B, C, H, W)


class InputSkip(nn.Module):
    """A decoder's raw output and the input side by side (B, 2C, H, W) -> a correction (B, C, H, W):
    `depth` hidden 3x3 convolutions at full size, `width` channels each, then one to C channels that
    starts at zero (so the model starts as the plain autoencoder). Deep, it is DnCNN's plain stack
    (Zhang et al. 2017), which estimates per-pixel noise that a coarse grid cannot."""

    def __init__(self, *, channels: int, width: int, act: str, depth: int = 1):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(2 * channels, width, 3, padding=1), activation(act)]
        for _ in range(depth - 1):
            layers += [nn.Conv2d(width, width, 3, padding=1), activation(act)]  # (B, width, H, W)
        layers.append(nn.Conv2d(width, channels, 3, padding=1))  # (B, C, H, W)
        self.body = nn.Sequential(*layers)
        last = self.body[-1]
        assert isinstance(last, nn.Conv2d) and last.bias is not None
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.body(h).float()
