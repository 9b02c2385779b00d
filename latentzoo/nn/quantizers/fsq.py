"""Finite scalar quantization (Mentzer et al. 2023, "Finite Scalar Quantization: VQ-VAE Made
Simple").

The D-dim input is projected to len(levels) channels; channel i is bounded with tanh to
(-L_i/2, L_i/2) and rounded to one of L_i integers (straight-through gradient). The implicit
codebook is the product grid: K = prod(levels) codes, every one reachable, no codebook or commitment
loss (both reported as zeros so every quantizer returns the same loss terms).
"""

from __future__ import annotations

import torch
from torch import nn

from .output import QuantizerOutput

BOUND_EPS = 1e-3


class FSQ(nn.Module):
    """Inputs of size `dim` quantized on the grid of `levels` (one level count per channel)."""

    levels: torch.Tensor  # (C,) buffers
    basis: torch.Tensor

    def __init__(self, *, levels: list[int], dim: int):
        super().__init__()
        per_channel = torch.tensor(levels, dtype=torch.long)
        self.register_buffer("levels", per_channel, persistent=False)
        self.register_buffer(
            "basis",
            torch.cumprod(torch.cat([torch.ones(1, dtype=torch.long), per_channel[:-1]]), 0),
            persistent=False,
        )
        self.K = int(per_channel.prod())
        self.in_proj = nn.Linear(dim, len(levels))
        self.out_proj = nn.Linear(len(levels), dim)

    def _bound(self, x: torch.Tensor) -> torch.Tensor:
        half_l = (self.levels - 1) * (1 + BOUND_EPS) / 2
        offset = (self.levels % 2 == 0).to(x.dtype) * 0.5
        shift = torch.atanh(offset / half_l)
        return torch.tanh(x + shift) * half_l - offset

    def _to_grid(self, q_norm: torch.Tensor, shape) -> torch.Tensor:
        B, H, W = shape
        return self.out_proj(q_norm).view(B, H, W, -1).permute(0, 3, 1, 2)  # (B, D, H, W)

    def forward(self, z: torch.Tensor) -> QuantizerOutput:
        B, D, H, W = z.shape
        x = self._bound(self.in_proj(z.permute(0, 2, 3, 1).reshape(-1, D)))  # (N, C)
        q = x + (x.round() - x).detach()  # integers, straight-through
        half = self.levels // 2
        idx = ((q.detach().round().long() + half) * self.basis).sum(1)  # (N,)
        zero = z.new_zeros(B)
        return QuantizerOutput(
            self._to_grid(q / half, (B, H, W)),
            idx.view(B, H, W),
            {"codebook": zero, "commitment": zero},
        )

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        """Integer codes (B, H, W) -> quantized grid (B, D, H, W)."""
        half = self.levels // 2
        digits = (indices.unsqueeze(-1) // self.basis) % self.levels  # (B, H, W, C)
        q = (digits - half).float() / half
        B, H, W = indices.shape
        return self._to_grid(q.view(-1, len(self.levels)), (B, H, W))
