"""The output type that every quantizer returns."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class QuantizerOutput:
    quantized: torch.Tensor  # (B, D, H, W), straight-through: gradients flow to the input
    indices: torch.Tensor  # (B, H, W) int64 codes
    # 'codebook', 'commitment': each (B,), summed over the grid and D
    losses: dict[str, torch.Tensor]
