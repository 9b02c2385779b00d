"""Encoder and decoder backbones shared by every model.

- `mlp`: the textbook fully connected autoencoder, 784 -> hidden -> hidden/2 -> latent and back
  (as in Kingma & Welling 2014, with two hidden layers).
- `conv`: 28x28 -> 14x14 -> 7x7 with 4x4 stride-2 convolutions and residual blocks at 7x7, and the
  mirror image with transposed convolutions (the VQ-VAE of van den Oord et al. 2017, scaled down
  for MNIST). `fine_blocks > 0` adds residual blocks at 14x14 and a 3x3 convolution at 28x28 at
  each end (the VQ-VAE's default: finer strokes for the same 7x7 code grid). `norm="group"` puts
  a GroupNorm (Wu & He 2018) before each activation inside the residual blocks, as the residual
  blocks of VQGAN do (Esser et al. 2021); the VQ-VAE's default. `act` picks the nonlinearity of
  every hidden layer: "relu", "silu" (x * sigmoid(x); Elfwing et al. 2018, the "swish" of VQGAN's
  blocks) or "gelu" (x * Phi(x); Hendrycks & Gimpel 2016; the VQ-VAE's default).

`Encoder` maps images to a vector (AE, DAE, VAE, CVAE); `GridEncoder` maps them to a 7x7 grid of
vectors (VQ-VAE). Both use the same conv trunk; the decoders mirror them. An optional condition
vector (a one-hot label for the CVAE) is concatenated to the features before the heads.
Decoders return raw outputs (logits for a Bernoulli decoder); the models map them to images.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .config import Config


NORM_GROUPS = 8  # GroupNorm groups (Wu & He 2018 use 32 for wider nets); gcd(8, channels) when that does not divide


def activation(kind: str) -> nn.Module:
    """The hidden-layer nonlinearity: "relu", "silu" or "gelu" (cfg.act). It has no weights, so the
    choice leaves the names of saved weights unchanged."""
    return {"silu": nn.SiLU, "gelu": nn.GELU}.get(kind, nn.ReLU)()


def norm_act(kind: str, ch: int, act: str = "relu") -> list[nn.Module]:
    """The activation, preceded by a GroupNorm over gcd(NORM_GROUPS, ch) groups when kind is "group".
    ("none" adds no layer, so runs saved before the option keep their weight names.)"""
    return [nn.GroupNorm(math.gcd(NORM_GROUPS, ch), ch), activation(act)] if kind == "group" else [activation(act)]


class ResBlock(nn.Module):
    """h + conv1x1(act(norm(conv3x3(act(norm(h)))))); the last conv starts at zero, so the block
    starts as the identity (stable at lr 1e-3). norm: "none" or "group" (see norm_act); act: see activation."""

    def __init__(self, ch: int, norm: str = "none", act: str = "relu"):
        super().__init__()
        self.body = nn.Sequential(*norm_act(norm, ch, act), nn.Conv2d(ch, ch, 3, padding=1),
                                  *norm_act(norm, ch, act), nn.Conv2d(ch, ch, 1))
        nn.init.zeros_(self.body[-1].weight)
        nn.init.zeros_(self.body[-1].bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.body(h)


def conv_trunk(cfg: Config) -> nn.Sequential:
    c, act = cfg.channels, cfg.act
    if cfg.fine_blocks:  # a 3x3 conv at 28x28 first, then residual blocks at 14x14
        layers = [nn.Conv2d(1, c // 2, 3, padding=1), activation(act),        # (B, c/2, 28, 28)
                  nn.Conv2d(c // 2, c, 4, stride=2, padding=1),               # (B, c, 14, 14)
                  *[ResBlock(c, cfg.norm, act) for _ in range(cfg.fine_blocks)], activation(act)]
    else:
        layers = [nn.Conv2d(1, c, 4, stride=2, padding=1), activation(act)]   # (B, c, 14, 14)
    layers += [
        nn.Conv2d(c, 2 * c, 4, stride=2, padding=1),              # (B, 2c, 7, 7)
        *[ResBlock(2 * c, cfg.norm, act) for _ in range(cfg.res_blocks)],
        activation(act),
    ]
    return nn.Sequential(*layers)


def deconv_trunk(cfg: Config) -> nn.Sequential:
    c, act = cfg.channels, cfg.act
    layers = [
        *[ResBlock(2 * c, cfg.norm, act) for _ in range(cfg.res_blocks)],    # (B, 2c, 7, 7)
        activation(act),
        nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1),      # (B, c, 14, 14)
    ]
    if cfg.fine_blocks:  # residual blocks at 14x14 (each starts with [norm,] act), then a 3x3 conv at 28x28
        layers += [*[ResBlock(c, cfg.norm, act) for _ in range(cfg.fine_blocks)], activation(act),
                   nn.ConvTranspose2d(c, c // 2, 4, stride=2, padding=1), activation(act),  # (B, c/2, 28, 28)
                   nn.Conv2d(c // 2, 1, 3, padding=1)]                                     # (B, 1, 28, 28) raw output
    else:
        layers += [activation(act), nn.ConvTranspose2d(c, 1, 4, stride=2, padding=1)]     # (B, 1, 28, 28) raw output
    return nn.Sequential(*layers)


def mlp_trunk(cfg: Config) -> nn.Sequential:
    h, act = cfg.hidden, cfg.act
    return nn.Sequential(nn.Flatten(), nn.Linear(784, h), activation(act), nn.Linear(h, h // 2), activation(act))  # (B, h/2)


def trunk_features(cfg: Config) -> int:
    return 2 * cfg.channels * 49 if cfg.backbone == "conv" else cfg.hidden // 2


class Encoder(nn.Module):
    """Images (B, 1, 28, 28) [+ condition (B, C)] -> vector (B, out_dim)."""

    def __init__(self, cfg: Config, out_dim: int, cond_dim: int = 0):
        super().__init__()
        self.trunk = conv_trunk(cfg) if cfg.backbone == "conv" else mlp_trunk(cfg)
        self.head = nn.Linear(trunk_features(cfg) + cond_dim, out_dim)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        h = self.trunk(x).flatten(1)  # (B, F)
        if cond is not None:
            h = torch.cat([h, cond], dim=1)  # (B, F + C)
        return self.head(h)  # (B, out_dim)


class Decoder(nn.Module):
    """Vector (B, in_dim) [+ condition (B, C)] -> raw output (B, 1, 28, 28)."""

    def __init__(self, cfg: Config, in_dim: int, cond_dim: int = 0):
        super().__init__()
        self.conv = cfg.backbone == "conv"
        self.ch = 2 * cfg.channels
        if self.conv:
            self.head = nn.Linear(in_dim + cond_dim, self.ch * 49)
            self.trunk = deconv_trunk(cfg)
        else:
            h = cfg.hidden
            self.head = nn.Linear(in_dim + cond_dim, h // 2)
            self.trunk = nn.Sequential(activation(cfg.act), nn.Linear(h // 2, h), activation(cfg.act), nn.Linear(h, 784))

    def forward(self, z: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        if cond is not None:
            z = torch.cat([z, cond], dim=1)  # (B, in_dim + C)
        h = self.head(z)
        if self.conv:
            h = h.view(-1, self.ch, 7, 7)  # (B, 2c, 7, 7)
        return self.trunk(h).view(-1, 1, 28, 28)  # (B, 1, 28, 28)


class GridEncoder(nn.Module):
    """Images (B, 1, 28, 28) -> grid of vectors (B, out_dim, 7, 7) (VQ-VAE)."""

    def __init__(self, cfg: Config, out_dim: int):
        super().__init__()
        self.trunk = conv_trunk(cfg)
        self.head = nn.Conv2d(2 * cfg.channels, out_dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x))  # (B, out_dim, 7, 7)


class GridDecoder(nn.Module):
    """Grid of vectors (B, in_dim, 7, 7) -> raw output (B, 1, 28, 28) (VQ-VAE)."""

    def __init__(self, cfg: Config, in_dim: int):
        super().__init__()
        self.head = nn.Conv2d(in_dim, 2 * cfg.channels, 3, padding=1)
        self.trunk = deconv_trunk(cfg)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.trunk(self.head(z))  # (B, 1, 28, 28)
