"""Encoder and decoder backbones for 28x28 grey images, built from explicit keyword arguments.

- `mlp`: the textbook fully connected autoencoder, 784 -> hidden -> hidden/2 -> latent and back
  (Kingma & Welling 2014, with two hidden layers).
- `conv`: 28x28 -> 14x14 -> 7x7 with 4x4 stride-2 convolutions and residual blocks at 7x7, and the
  mirror image with transposed convolutions (the VQ-VAE of van den Oord et al. 2017, scaled down
  for MNIST). `fine_blocks > 0` adds residual blocks at 14x14 and a 3x3 convolution at 28x28 at
  each end: finer strokes for the same 7x7 grid.

`VectorEncoder` maps images to a vector (AE, DAE, VAE, CVAE); `GridEncoder` maps them to a 7x7 grid
of vectors (VQ-VAE). Both use the same conv trunk; the decoders mirror them. An optional condition
vector (a one-hot label for the CVAE) is concatenated to the features before the heads. Decoders
return raw outputs (logits for a Bernoulli decoder); the models map them to images.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import ResBlock, activation

PIXELS, GRID = 784, 7  # 28x28 images; the conv trunk's 7x7 grid


def conv_trunk(*, channels: int, res_blocks: int, fine_blocks: int, norm: str, act: str) -> nn.Sequential:
    c = channels
    if fine_blocks:  # a 3x3 conv at 28x28 first, then residual blocks at 14x14
        layers = [nn.Conv2d(1, c // 2, 3, padding=1), activation(act),        # (B, c/2, 28, 28)
                  nn.Conv2d(c // 2, c, 4, stride=2, padding=1),               # (B, c, 14, 14)
                  *[ResBlock(c, norm, act) for _ in range(fine_blocks)], activation(act)]
    else:
        layers = [nn.Conv2d(1, c, 4, stride=2, padding=1), activation(act)]   # (B, c, 14, 14)
    layers += [
        nn.Conv2d(c, 2 * c, 4, stride=2, padding=1),              # (B, 2c, 7, 7)
        *[ResBlock(2 * c, norm, act) for _ in range(res_blocks)],
        activation(act),
    ]
    return nn.Sequential(*layers)


def deconv_trunk(*, channels: int, res_blocks: int, fine_blocks: int, norm: str, act: str) -> nn.Sequential:
    c = channels
    layers = [
        *[ResBlock(2 * c, norm, act) for _ in range(res_blocks)],    # (B, 2c, 7, 7)
        activation(act),
        nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1),      # (B, c, 14, 14)
    ]
    if fine_blocks:  # residual blocks at 14x14 (each starts with [norm,] act), then a 3x3 conv at 28x28
        layers += [*[ResBlock(c, norm, act) for _ in range(fine_blocks)], activation(act),
                   nn.ConvTranspose2d(c, c // 2, 4, stride=2, padding=1), activation(act),  # (B, c/2, 28, 28)
                   nn.Conv2d(c // 2, 1, 3, padding=1)]                                     # (B, 1, 28, 28) raw output
    else:
        layers += [activation(act), nn.ConvTranspose2d(c, 1, 4, stride=2, padding=1)]     # (B, 1, 28, 28) raw output
    return nn.Sequential(*layers)


def mlp_trunk(*, hidden: int, act: str) -> nn.Sequential:
    return nn.Sequential(nn.Flatten(), nn.Linear(PIXELS, hidden), activation(act), nn.Linear(hidden, hidden // 2),
                         activation(act))  # (B, hidden/2)


class VectorEncoder(nn.Module):
    """Images (B, 1, 28, 28) [+ condition (B, C)] -> vector (B, out_dim)."""

    def __init__(self, *, backbone: str, out_dim: int, cond_dim: int = 0, channels: int, hidden: int,
                 res_blocks: int, fine_blocks: int, norm: str, act: str):
        super().__init__()
        if backbone == "conv":
            self.trunk = conv_trunk(channels=channels, res_blocks=res_blocks, fine_blocks=fine_blocks, norm=norm, act=act)
            features = 2 * channels * GRID * GRID
        else:
            self.trunk = mlp_trunk(hidden=hidden, act=act)
            features = hidden // 2
        self.head = nn.Linear(features + cond_dim, out_dim)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        h = self.trunk(x).flatten(1)  # (B, F)
        if cond is not None:
            h = torch.cat([h, cond], dim=1)  # (B, F + C)
        return self.head(h)  # (B, out_dim)


class VectorDecoder(nn.Module):
    """Vector (B, in_dim) [+ condition (B, C)] -> raw output (B, 1, 28, 28)."""

    def __init__(self, *, backbone: str, in_dim: int, cond_dim: int = 0, channels: int, hidden: int,
                 res_blocks: int, fine_blocks: int, norm: str, act: str):
        super().__init__()
        self.conv = backbone == "conv"
        self.ch = 2 * channels
        if self.conv:
            self.head = nn.Linear(in_dim + cond_dim, self.ch * GRID * GRID)
            self.trunk = deconv_trunk(channels=channels, res_blocks=res_blocks, fine_blocks=fine_blocks, norm=norm,
                                      act=act)
        else:
            self.head = nn.Linear(in_dim + cond_dim, hidden // 2)
            self.trunk = nn.Sequential(activation(act), nn.Linear(hidden // 2, hidden), activation(act),
                                       nn.Linear(hidden, PIXELS))

    def forward(self, z: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        if cond is not None:
            z = torch.cat([z, cond], dim=1)  # (B, in_dim + C)
        h = self.head(z)
        if self.conv:
            h = h.view(-1, self.ch, GRID, GRID)  # (B, 2c, 7, 7)
        return self.trunk(h).view(-1, 1, 28, 28)  # (B, 1, 28, 28)


class GridEncoder(nn.Module):
    """Images (B, 1, 28, 28) -> grid of vectors (B, out_dim, 7, 7) (VQ-VAE)."""

    def __init__(self, *, out_dim: int, channels: int, res_blocks: int, fine_blocks: int, norm: str, act: str):
        super().__init__()
        self.trunk = conv_trunk(channels=channels, res_blocks=res_blocks, fine_blocks=fine_blocks, norm=norm, act=act)
        self.head = nn.Conv2d(2 * channels, out_dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x))  # (B, out_dim, 7, 7)


class GridDecoder(nn.Module):
    """Grid of vectors (B, in_dim, 7, 7) -> raw output (B, 1, 28, 28) (VQ-VAE)."""

    def __init__(self, *, in_dim: int, channels: int, res_blocks: int, fine_blocks: int, norm: str, act: str):
        super().__init__()
        self.head = nn.Conv2d(in_dim, 2 * channels, 3, padding=1)
        self.trunk = deconv_trunk(channels=channels, res_blocks=res_blocks, fine_blocks=fine_blocks, norm=norm, act=act)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.trunk(self.head(z))  # (B, 1, 28, 28)
