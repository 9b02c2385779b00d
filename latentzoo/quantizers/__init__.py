"""Quantizers for the VQ-VAE: one output type, one family per file.

- `vq.VectorQuantizer`: nearest-neighbour codebook lookup (van den Oord et al. 2017, "Neural Discrete
  Representation Learning"), with EMA updates, k-means init, dead-code restarts, cosine codes and a
  low-dimensional lookup space as options.
- `fsq.FSQ`: finite scalar quantization (Mentzer et al. 2023, "Finite Scalar Quantization: VQ-VAE
  Made Simple"), an implicit codebook with no codebook loss.

Both take a grid (B, D, H, W) and return a `QuantizerOutput`; both map integer codes back with
`lookup(indices)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import Config


@dataclass
class QuantizerOutput:
    quantized: torch.Tensor          # (B, D, H, W), straight-through: gradients flow to the input
    indices: torch.Tensor            # (B, H, W) int64 codes
    losses: dict[str, torch.Tensor]  # 'codebook', 'commitment': each (B,), summed over the grid and D


def make_quantizer(cfg: Config) -> torch.nn.Module:
    from .fsq import FSQ
    from .vq import VectorQuantizer

    return FSQ(cfg) if cfg.quantizer == "fsq" else VectorQuantizer(cfg)
