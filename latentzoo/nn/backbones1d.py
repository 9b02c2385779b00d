"""Encoder and decoder backbones for signals of C channels and T samples, built from explicit
keyword arguments: the 1-D counterparts of latentzoo.nn.backbones.

- `mlp`: C*T -> hidden -> hidden2 -> latent and back, as for images.
- `conv`: a 3-tap convolution to `channels`, then `stages` strided convolutions (4 taps, stride 2),
  each halving the length (the last to 2 * channels), residual blocks at T / 2^stages, and the
  mirror image with transposed convolutions (the strided 1-D encoders of WaveNet-style
  autoencoders and of SoundStream, Zeghidour et al. 2021, scaled down). T must be divisible by
  2^stages.

`SignalVectorEncoder`/`SignalVectorDecoder` map signals to a vector and back (AE, DAE, VAE, CVAE);
`SignalGridEncoder`/`SignalGridDecoder` map them to a sequence of T / 2^stages vectors, shaped as a
grid one row high (B, D, 1, L), so that the quantizers, the prior and the codec take it as they take
an image's grid. Decoders return raw outputs; every output is fp32.
"""

from __future__ import annotations

import torch
from torch import nn

from .backbones import TrunkToVector, VectorToTrunk, mlp_trunk
from .layers import ResBlock, activation


def code_length(length: int, stages: int) -> int:
    """Positions after `stages` halvings of `length` samples."""
    if length % 2**stages:
        raise ValueError(f"{stages} strided stages need a length divisible by {2**stages}")
    return length // 2**stages


def conv1d_trunk(
    *, in_channels: int, channels: int, stages: int, res_blocks: int, norm: str, act: str
) -> nn.Sequential:
    c = channels
    width = [c] * stages + [2 * c]  # channels after the stem and after each stage
    layers: list[nn.Module] = [nn.Conv1d(in_channels, width[0], 3, padding=1), activation(act)]
    for i in range(stages):  # (B, width, T / 2^(i+1))
        layers += [nn.Conv1d(width[i], width[i + 1], 4, stride=2, padding=1), activation(act)]
    layers += [*[ResBlock(2 * c, norm, act, dims=1) for _ in range(res_blocks)], activation(act)]
    return nn.Sequential(*layers)  # (B, 2c, T / 2^stages)


def deconv1d_trunk(
    *, out_channels: int, channels: int, stages: int, res_blocks: int, norm: str, act: str
) -> nn.Sequential:
    c = channels
    width = [2 * c] + [c] * stages  # channels before each stage
    layers: list[nn.Module] = [
        *[ResBlock(2 * c, norm, act, dims=1) for _ in range(res_blocks)],
        activation(act),
    ]
    for i in range(stages):  # (B, c, T / 2^(stages-i-1))
        layers += [
            nn.ConvTranspose1d(width[i], width[i + 1], 4, stride=2, padding=1),
            activation(act),
        ]
    layers.append(nn.Conv1d(width[-1], out_channels, 3, padding=1))  # (B, C, T) raw output
    return nn.Sequential(*layers)


class SignalVectorEncoder(TrunkToVector):
    """Signals (B, C, T) [+ condition (B, K)] -> vector (B, out_dim)."""

    def __init__(
        self,
        *,
        backbone: str,
        out_dim: int,
        cond_dim: int = 0,
        in_channels: int,
        length: int,
        stages: int,
        channels: int,
        hidden: int,
        hidden2: int,
        res_blocks: int,
        norm: str,
        act: str,
    ):
        super().__init__()
        if backbone == "conv":
            self.trunk = conv1d_trunk(
                in_channels=in_channels,
                channels=channels,
                stages=stages,
                res_blocks=res_blocks,
                norm=norm,
                act=act,
            )
            features = 2 * channels * code_length(length, stages)
        else:
            self.trunk = mlp_trunk(
                pixels=in_channels * length, hidden=hidden, hidden2=hidden2, act=act
            )
            features = hidden2
        self.head = nn.Linear(features + cond_dim, out_dim)


class SignalVectorDecoder(VectorToTrunk):
    """Vector (B, in_dim) [+ condition (B, K)] -> raw output (B, C, T)."""

    def __init__(
        self,
        *,
        backbone: str,
        in_dim: int,
        cond_dim: int = 0,
        out_channels: int,
        length: int,
        stages: int,
        channels: int,
        hidden: int,
        hidden2: int,
        res_blocks: int,
        norm: str,
        act: str,
    ):
        super().__init__()
        self.conv = backbone == "conv"
        self.shape = (out_channels, length)
        if self.conv:
            self.grid = (2 * channels, code_length(length, stages))
            self.head = nn.Linear(in_dim + cond_dim, self.grid[0] * self.grid[1])
            self.trunk = deconv1d_trunk(
                out_channels=out_channels,
                channels=channels,
                stages=stages,
                res_blocks=res_blocks,
                norm=norm,
                act=act,
            )
        else:
            self.head = nn.Linear(in_dim + cond_dim, hidden2)
            self.trunk = nn.Sequential(
                activation(act),
                nn.Linear(hidden2, hidden),
                activation(act),
                nn.Linear(hidden, out_channels * length),
            )


class SignalGridEncoder(nn.Module):
    """Signals (B, C, T) -> a row of vectors (B, out_dim, 1, T / 2^stages) (VQ-VAE)."""

    def __init__(
        self,
        *,
        out_dim: int,
        in_channels: int,
        stages: int,
        channels: int,
        res_blocks: int,
        norm: str,
        act: str,
    ):
        super().__init__()
        self.trunk = conv1d_trunk(
            in_channels=in_channels,
            channels=channels,
            stages=stages,
            res_blocks=res_blocks,
            norm=norm,
            act=act,
        )
        self.head = nn.Conv1d(2 * channels, out_dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x)).float().unsqueeze(2)  # (B, out_dim, 1, L)


class SignalGridDecoder(nn.Module):
    """A row of vectors (B, in_dim, 1, L) -> raw output (B, C, L * 2^stages) (VQ-VAE)."""

    def __init__(
        self,
        *,
        in_dim: int,
        out_channels: int,
        stages: int,
        channels: int,
        res_blocks: int,
        norm: str,
        act: str,
    ):
        super().__init__()
        self.head = nn.Conv1d(in_dim, 2 * channels, 3, padding=1)
        self.trunk = deconv1d_trunk(
            out_channels=out_channels,
            channels=channels,
            stages=stages,
            res_blocks=res_blocks,
            norm=norm,
            act=act,
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.trunk(self.head(z.squeeze(2))).float()  # (B, C, T)
