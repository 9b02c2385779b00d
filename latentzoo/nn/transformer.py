"""The pre-norm causal transformer block (Vaswani et al. 2017; GPT-2's layout), with a key/value
cache for drawing one token at a time."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    """Pre-norm transformer block; with a `cache` dict it attends to the keys/values seen before."""

    def __init__(self, d: int, heads: int, dropout: float):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
        self.drop = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        B, T, d = h.shape
        q, k, v = (
            t.view(B, T, self.heads, d // self.heads).transpose(1, 2)
            for t in self.qkv(self.ln1(h)).split(d, 2)
        )  # (B, H, T, d/H) each
        if cache is not None:
            if "k" in cache:
                # (B, H, T0 + T, d/H)
                k, v = torch.cat([cache["k"], k], 2), torch.cat([cache["v"], v], 2)
            cache["k"], cache["v"] = k, v
        causal = cache is None or T > 1
        a = F.scaled_dot_product_attention(
            q, k, v, is_causal=causal, dropout_p=self.dropout if self.training else 0.0
        )
        h = h + self.drop(self.proj(a.transpose(1, 2).reshape(B, T, d)))
        return h + self.drop(self.mlp(self.ln2(h)))
