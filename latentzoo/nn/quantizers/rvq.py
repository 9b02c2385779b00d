"""Residual vector quantization (Zeghidour et al. 2021, "SoundStream"; Défossez et al. 2022,
"High Fidelity Neural Audio Compression"): Q codebooks in turn, each a `VectorQuantizer` that
quantizes what the codebooks before it left (the residual); the quantized vector is the sum of the
Q codes. Gradients pass straight through the sum to the encoder, and each codebook's commitment
loss ties its input to its code.

Quantizer dropout (SoundStream): in training, each batch uses only its first q codebooks, q drawn
uniformly from 1 to Q, so that the first q codes of a position are a coarser version of the whole
code and one model serves Q bitrates.

Codes are laid out codebook-major: a grid of positions (h, w) gives indices (B, Q * h, w), rows
0 to h - 1 from the first codebook, the next h from the second, and so on. The codes of the first
q codebooks are then the first q * h rows, a prefix of the raster order, so that an autoregressive
prior codes any number of codebooks exactly (latentzoo.codec). `lookup` takes such a prefix."""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from .output import QuantizerOutput
from .vq import VectorQuantizer


class ResidualVQ(nn.Module):
    """`codebooks` vector quantizers of `codebook_size` codes each, on the residual in turn, for
    code grids `rows` high; `options` are the `VectorQuantizer`'s."""

    def __init__(
        self, *, codebooks: int, codebook_size: int, dim: int, rows: int, dropout: bool, **options
    ):
        super().__init__()
        self.Q, self.K, self.rows, self.dropout = codebooks, codebook_size, rows, dropout
        self.layers = nn.ModuleList(
            VectorQuantizer(codebook_size=codebook_size, dim=dim, **options)
            for _ in range(codebooks)
        )

    def forward(self, z: torch.Tensor) -> QuantizerOutput:
        B = z.shape[0]
        used = self.Q
        if self.training and self.dropout:
            used = int(torch.randint(1, self.Q + 1, ()))
        residual, total = z, torch.zeros_like(z)
        losses = {"codebook": z.new_zeros(B), "commitment": z.new_zeros(B)}
        rows = []
        for i, layer in enumerate(self.quantizers):
            if i < used:
                out = layer(residual)
                for k in losses:
                    losses[k] = losses[k] + out.losses[k]
                code, idx = out.quantized.detach(), out.indices
            else:  # dropped: its codes are still reported (usage), nothing is learnt
                with torch.no_grad():
                    idx = self.nearest(layer, residual)
                    code = layer.lookup(idx)
            if i < used:
                total = total + code
            residual = residual - code
            rows.append(idx)  # (B, h, w)
        quantized = z + (total - z).detach()  # straight-through to the encoder
        return QuantizerOutput(quantized, torch.cat(rows, 1), losses)  # indices (B, Q * h, w)

    @property
    def quantizers(self) -> list[VectorQuantizer]:
        return [cast(VectorQuantizer, layer) for layer in self.layers]

    @staticmethod
    def nearest(layer: VectorQuantizer, residual: torch.Tensor) -> torch.Tensor:
        """The codes (B, h, w) that `layer` picks for `residual` (B, D, h, w), learning nothing."""
        B, D, H, W = residual.shape
        x = layer.in_proj(residual.permute(0, 2, 3, 1).reshape(-1, D))
        if layer.cosine:
            x = nn.functional.normalize(x, dim=1)
        return layer.nearest(x).view(B, H, W)

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        """Codes of the first q codebooks (B, q * rows, w), q from 1 to Q -> the sum of their
        vectors (B, D, rows, w)."""
        h, q = self.rows, indices.shape[1] // self.rows
        if indices.shape[1] % h or not 1 <= q <= self.Q:
            raise ValueError(
                f"codes of {indices.shape[1]} rows: not 1 to {self.Q} codebooks of {h}"
            )
        return sum(
            (
                layer.lookup(indices[:, i * h : (i + 1) * h])
                for i, layer in enumerate(self.quantizers[:q])
            ),
            start=torch.zeros(()),
        )
