"""Small layers shared by the backbones: the activation, GroupNorm placement, the residual block.

`act` picks the nonlinearity of every hidden layer: "relu", "silu" (x * sigmoid(x); Elfwing et al.
2018, the "swish" of VQGAN's blocks), "gelu" (x * Phi(x); Hendrycks & Gimpel 2016) or "tanh" (the
MLPs of Burda et al. 2016). `norm="group"` puts a GroupNorm (Wu & He 2018) before each activation
inside a residual block, as VQGAN's residual blocks do (Esser et al. 2021)."""

from __future__ import annotations

import math

import torch
from torch import nn

# GroupNorm groups (Wu & He 2018 use 32 for wider nets); gcd(8, channels) when that does not divide
NORM_GROUPS = 8


def activation(kind: str) -> nn.Module:
    """The hidden-layer nonlinearity: "relu", "silu", "gelu" or "tanh". It has no weights, so the
    choice leaves the names of saved weights unchanged."""
    return {"silu": nn.SiLU, "gelu": nn.GELU, "tanh": nn.Tanh}.get(kind, nn.ReLU)()


def norm_act(kind: str, ch: int, act: str = "relu") -> list[nn.Module]:
    """The activation, preceded by a GroupNorm over gcd(NORM_GROUPS, ch) groups when kind is
    "group". ("none" adds no layer, so runs saved before the option keep their weight names.)"""
    return (
        [nn.GroupNorm(math.gcd(NORM_GROUPS, ch), ch), activation(act)]
        if kind == "group"
        else [activation(act)]
    )


class ResBlock(nn.Module):
    """h + conv1x1(act(norm(conv3x3(act(norm(h)))))); the last conv starts at zero, so the block
    starts as the identity (stable at lr 1e-3)."""

    def __init__(self, ch: int, norm: str = "none", act: str = "relu", dims: int = 2):
        super().__init__()
        conv = nn.Conv2d if dims == 2 else nn.Conv1d  # images (B, C, H, W), signals (B, C, T)
        self.body = nn.Sequential(
            *norm_act(norm, ch, act),
            conv(ch, ch, 3, padding=1),
            *norm_act(norm, ch, act),
            conv(ch, ch, 1),
        )
        last = self.body[-1]
        assert isinstance(last, (nn.Conv1d, nn.Conv2d)) and last.bias is not None
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.body(h)
