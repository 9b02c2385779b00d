"""A small U-Net (Ronneberger et al. 2015) as the full-size block of an AE's skip around its grid
latent (`skip unet`): the input and the decoder's output side by side in, a correction out, with
skip connections at every scale so that detail at full size never has to pass the grid.

Three scales (H, H/2, H/4), `width`, 2 `width` and 4 `width` channels, two 3x3 convolutions at each
scale on the way down and one on the way up; the encoder's features are added to the decoder's at
the same scale. The last convolution starts at zero, so the block starts as no correction and the
model as what its skip adds the correction to (the input: residual learning, Zhang et al. 2017).
H and W must be divisible by 4, as for the grid."""

from __future__ import annotations

import torch
from torch import nn

from .layers import activation


def double_conv(c_in: int, c_out: int, act: str) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1),
        activation(act),
        nn.Conv2d(c_out, c_out, 3, padding=1),
        activation(act),
    )


class UNetSkip(nn.Module):
    """(B, 2C, H, W) -> a correction (B, C, H, W) through three scales with additive skips."""

    def __init__(self, *, channels: int, width: int, act: str):
        super().__init__()
        w = width
        self.down0 = double_conv(2 * channels, w, act)  # (B, w, H, W)
        self.down1 = nn.Sequential(
            nn.Conv2d(w, 2 * w, 4, stride=2, padding=1),
            activation(act),
            double_conv(2 * w, 2 * w, act),
        )  # (B, 2w, H/2, W/2)
        self.down2 = nn.Sequential(
            nn.Conv2d(2 * w, 4 * w, 4, stride=2, padding=1),
            activation(act),
            double_conv(4 * w, 4 * w, act),
        )  # (B, 4w, H/4, W/4)
        self.up1 = nn.ConvTranspose2d(4 * w, 2 * w, 4, stride=2, padding=1)  # (B, 2w, H/2, W/2)
        self.fuse1 = nn.Sequential(nn.Conv2d(2 * w, 2 * w, 3, padding=1), activation(act))
        self.up0 = nn.ConvTranspose2d(2 * w, w, 4, stride=2, padding=1)  # (B, w, H, W)
        self.fuse0 = nn.Sequential(nn.Conv2d(w, w, 3, padding=1), activation(act))
        self.last = nn.Conv2d(w, channels, 3, padding=1)  # (B, C, H, W)
        assert self.last.bias is not None
        nn.init.zeros_(self.last.weight)
        nn.init.zeros_(self.last.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        e0 = self.down0(h)
        e1 = self.down1(e0)
        e2 = self.down2(e1)
        d1 = self.fuse1(self.up1(e2) + e1)
        d0 = self.fuse0(self.up0(d1) + e0)
        return self.last(d0).float()
