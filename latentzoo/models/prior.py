"""The learned prior over VQ-VAE code grids: a small causal transformer over the grid's codes
(MNIST: 7 x 7 = 49).

van den Oord et al. (2017) fit an autoregressive prior (a PixelCNN) to the codes of a trained VQ-VAE
and sample new images by drawing codes from it; here the autoregressive model is a decoder-only
transformer (Vaswani et al. 2017; as the VQGAN of Esser et al. 2021 does) over the grid in raster
order. The first token is the label (a digit 0-9 for MNIST) or a "no label" token; labels are
dropped to "no label" with probability `label_dropout` in training, so one prior draws both a chosen
digit and unconditional digits, and classifier-free guidance (Ho & Salimans 2022) mixes the two.

Likelihoods: `nll(codes, y)` is -log p(codes | y) in nats per image (summed over the grid's
positions); bits per image = nats / ln 2. A uniform code costs positions * log2(K) bits.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..config import PriorConfig
from ..nn.transformer import Block

GUIDANCE = 2.0  # default classifier-free guidance for a chosen digit (benchmarks/EXPERIMENTS.md)


class CodePrior(nn.Module):
    """Causal transformer: [label token, c_1, ..., c_{L-1}] -> logits for c_1 ... c_L."""

    def __init__(self, cfg: PriorConfig):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.tok = nn.Embedding(cfg.n_codes, cfg.d_model)
        self.label = nn.Embedding(cfg.n_classes + 1, cfg.d_model)  # + the "no label" token
        self.pos = nn.Parameter(torch.zeros(cfg.length, cfg.d_model))
        nn.init.normal_(self.pos, std=0.02)
        self.blocks = nn.ModuleList(
            Block(cfg.d_model, cfg.n_heads, cfg.dropout) for _ in range(cfg.n_layers)
        )
        self.norm = nn.LayerNorm(cfg.d_model)
        self.out = nn.Linear(cfg.d_model, cfg.n_codes)

    @property
    def device(self) -> torch.device:
        return self.pos.device

    def _labels(self, y, n: int) -> torch.Tensor:
        if y is None:
            return torch.full((n,), self.cfg.n_classes, dtype=torch.long, device=self.device)
        y = torch.as_tensor(y, device=self.device).long().reshape(-1)
        return y.expand(n) if y.numel() == 1 else y

    def forward(self, codes: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """codes (B, h, w) or (B, L) -> logits (B, L, K): position t given the label and codes <
        t."""
        codes = codes.reshape(codes.shape[0], -1)  # (B, L) raster order
        B, L = codes.shape
        # (B, L, d)
        h = torch.cat([self.label(self._labels(y, B))[:, None], self.tok(codes[:, :-1])], 1)
        h = h + self.pos[:L]
        for blk in self.blocks:
            h = blk(h)
        return self.out(self.norm(h))  # (B, L, K)

    def nll(self, codes: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """-log p(codes | y) in nats per image (B,); y=None: the unconditional (no label) model."""
        codes = codes.reshape(codes.shape[0], -1)
        logits = self(codes, y)
        return F.cross_entropy(logits.transpose(1, 2), codes, reduction="none").sum(1)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        y=None,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
        guidance: float = GUIDANCE,
    ) -> torch.Tensor:
        """n code grids (n, h, w) drawn in raster order with cached keys/values; y: a digit, n
        digits, or None.

        guidance: classifier-free guidance (Ho & Salimans 2022) when y is given: the next-code
        logits are l_none + guidance * (l_y - l_none), l_none from the "no label" token; 1.0 is the
        plain conditional prior, larger values trade diversity for samples that look more like the
        asked digit. Ignored when y is None."""

        def draw(_t: int, logits: torch.Tensor) -> torch.Tensor:
            probs = F.softmax(logits / temperature, -1).cpu()  # (n, K)
            return torch.multinomial(probs, 1, generator=generator).squeeze(1)  # (n,)

        return self.walk(n, draw, y, guidance)

    @torch.no_grad()
    def walk(
        self, n: int, choose, y=None, guidance: float = GUIDANCE, steps: int | None = None
    ) -> torch.Tensor:
        """The raster-order loop behind `sample` and the codec: at each position t, `choose(t,
        logits)` gets the next-code logits (n, K) (float32, guided when y is given and guidance !=
        1) and returns the n codes (n,) to feed on. Returns the code grids (n, h, w), or with
        `steps` (a whole number of grid rows) their first steps codes (n, steps / w, w). Encoder and
        decoder of the codec both call it, so both see bit-identical logits on one machine."""
        length = steps or self.cfg.length
        guided = y is not None and guidance != 1.0
        labels = self._labels(y, n)
        if guided:
            # (2n,): asked labels, then "no label"
            labels = torch.cat([labels, self._labels(None, n)])
        caches: list[dict] = [dict() for _ in self.blocks]
        h = (self.label(labels) + self.pos[0])[:, None]  # (n or 2n, 1, d)
        drawn = []
        for t in range(length):
            for blk, cache in zip(self.blocks, caches):
                h = blk(h, cache)
            logits = self.out(self.norm(h[:, -1])).float()  # (n or 2n, K)
            if guided:
                cond, uncond = logits.chunk(2)
                logits = uncond + guidance * (cond - uncond)  # (n, K)
            nxt = torch.as_tensor(choose(t, logits)).to(self.device).long().view(n, 1)  # (n, 1)
            drawn.append(nxt)
            if t + 1 < length:
                # (n or 2n, 1, d)
                h = self.tok(nxt.repeat(2, 1) if guided else nxt) + self.pos[t + 1]
        return torch.cat(drawn, 1).view(n, length // self.cfg.grid_width, self.cfg.grid_width)


@torch.no_grad()
def mean_bits(
    prior: CodePrior, codes: torch.Tensor, labels: torch.Tensor | None, batch: int = 1000
) -> float:
    """Mean -log2 p(codes | labels) per image over code grids (N, h, w); labels None:
    unconditional."""
    prior.eval()
    total = 0.0
    for i in range(0, codes.shape[0], batch):
        c = codes[i : i + batch].to(prior.device)
        y = None if labels is None else labels[i : i + batch].to(prior.device)
        total += float(prior.nll(c, y).double().sum())
    return total / codes.shape[0] / math.log(2)
