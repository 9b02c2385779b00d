"""Vector quantization with a learned codebook (van den Oord et al. 2017).

Textbook behaviour (`ema=False, kmeans_init=False, restart_dead=False`): codes initialised
uniformly in [-1/K, 1/K]; each input vector z is replaced by its nearest code e; the codebook loss
||sg[z] - e||^2 moves codes towards inputs and the commitment loss ||z - sg[e]||^2 (weighted by beta
in the model) keeps inputs near their codes; gradients pass straight through the lookup.

Options, each from the paper that introduced it:
- `ema`: codes are exponential moving averages of the inputs assigned to them, with Laplace
  smoothing of the counts (van den Oord et al. 2017, appendix A.1; Razavi et al. 2019). The
  codebook loss is then still reported but carries no gradient.
- `kmeans_init`: codes start as k-means centroids of the first training batch (Dhariwal et al. 2020,
  Jukebox; also Zeghidour et al. 2021, SoundStream).
- `restart_dead`: a code whose moving-average usage falls below `dead_threshold` assignments per
  step is reset to a random encoder output of the current batch (Jukebox).
- `cosine`: inputs and codes are l2-normalised before lookup (Yu et al. 2022, ViT-VQGAN).
- `codebook_dim > 0`: lookup happens in a linear projection of that size, then projected back
  (Yu et al. 2022, factorized codes).

Loss reduction: squared distances are summed over the vector dimension and the grid, per image.

Data-parallel training (latentzoo.distributed): the EMA statistics are summed over the ranks and
k-means and restarts draw from every rank's vectors, so each rank holds the codebook that one
process would compute on the whole batch."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...distributed import all_sum, gather_rows
from .output import QuantizerOutput

KMEANS_ITERS = 10
LAPLACE_EPS = 1e-5


class VectorQuantizer(nn.Module):
    """A codebook of `codebook_size` vectors for inputs of size `dim` (see the module docstring)."""

    cluster_size: torch.Tensor  # buffers: (K,), (K, d), (K,), ()
    embed_sum: torch.Tensor
    usage: torch.Tensor
    initialized: torch.Tensor

    def __init__(
        self,
        *,
        codebook_size: int,
        dim: int,
        codebook_dim: int = 0,
        ema: bool = True,
        decay: float = 0.99,
        kmeans_init: bool = True,
        restart_dead: bool = True,
        dead_threshold: float = 3.0,
        cosine: bool = False,
    ):
        super().__init__()
        self.K = codebook_size
        self.D = dim
        self.d = codebook_dim or dim
        self.ema, self.decay = ema, decay
        self.kmeans_init, self.restart_dead = kmeans_init, restart_dead
        self.dead_threshold = dead_threshold
        self.cosine = cosine
        self.in_proj = nn.Linear(self.D, self.d) if codebook_dim else nn.Identity()
        self.out_proj = nn.Linear(self.d, self.D) if codebook_dim else nn.Identity()
        embed = torch.empty(self.K, self.d).uniform_(-1.0 / self.K, 1.0 / self.K)
        self.embed = nn.Parameter(embed, requires_grad=not self.ema)  # (K, d)
        # EMA of assignments per step
        self.register_buffer("cluster_size", torch.zeros(self.K))
        # EMA of summed inputs per code
        self.register_buffer("embed_sum", embed.clone())
        # EMA of assignments (restarts)
        self.register_buffer("usage", torch.zeros(self.K))
        self.register_buffer("initialized", torch.tensor(not self.kmeans_init))

    # ------------------------------------------------------------------ lookup
    def codebook(self) -> torch.Tensor:
        e = self.embed
        return F.normalize(e, dim=1) if self.cosine else e  # (K, d)

    def nearest(self, x: torch.Tensor) -> torch.Tensor:
        """Index of the nearest code for each row of x (N, d)."""
        e = self.codebook()
        dist = x.pow(2).sum(1, keepdim=True) - 2 * x @ e.t() + e.pow(2).sum(1)  # (N, K)
        return dist.argmin(1)

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        """Integer codes (B, H, W) -> quantized grid (B, D, H, W)."""
        q = self.out_proj(self.codebook()[indices])  # (B, H, W, D)
        return q.permute(0, 3, 1, 2).contiguous()

    def forward(self, z: torch.Tensor) -> QuantizerOutput:
        B, D, H, W = z.shape
        x = self.in_proj(z.permute(0, 2, 3, 1).reshape(-1, D))  # (N, d), N = B*H*W
        if self.cosine:
            x = F.normalize(x, dim=1)
        if self.training and not bool(self.initialized):
            self._kmeans(x.detach())
        idx = self.nearest(x.detach())  # (N,)
        # (N, d); its CPU backward is deterministic, indexing's is not
        q = F.embedding(idx, self.codebook())
        if self.training:
            self._update(x.detach(), idx)
        codebook = (x.detach() - q).pow(2).sum(1).view(B, -1).sum(1)  # (B,)
        commitment = (x - q.detach()).pow(2).sum(1).view(B, -1).sum(1)  # (B,)
        q = x + (q - x).detach()  # straight-through estimator
        quantized = self.out_proj(q).view(B, H, W, D).permute(0, 3, 1, 2)  # (B, D, H, W)
        return QuantizerOutput(
            quantized, idx.view(B, H, W), {"codebook": codebook, "commitment": commitment}
        )

    # ------------------------------------------------------------------ training-time updates
    @torch.no_grad()
    def _kmeans(self, x: torch.Tensor) -> None:
        x = gather_rows(x)  # the whole batch, on every rank
        n = x.shape[0]
        pick = (
            torch.randperm(n, device=x.device)[: self.K]
            if n >= self.K
            else torch.randint(n, (self.K,), device=x.device)
        )
        centers = x[pick].clone()  # (K, d)
        for _ in range(KMEANS_ITERS):
            assign = (
                x.pow(2).sum(1, keepdim=True) - 2 * x @ centers.t() + centers.pow(2).sum(1)
            ).argmin(1)
            counts = torch.bincount(assign, minlength=self.K).float()
            sums = torch.zeros_like(centers).index_add_(0, assign, x)
            centers = torch.where(counts[:, None] > 0, sums / counts.clamp(min=1)[:, None], centers)
        if self.cosine:
            centers = F.normalize(centers, dim=1)
        self.embed.data.copy_(centers)
        self.cluster_size.copy_(counts)
        self.embed_sum.copy_(centers * counts[:, None])
        self.usage.copy_(counts)
        self.initialized.fill_(True)

    @torch.no_grad()
    def _update(self, x: torch.Tensor, idx: torch.Tensor) -> None:
        # (K,) over the whole batch
        counts = all_sum(torch.bincount(idx, minlength=self.K).to(x.dtype))
        self.usage.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        if self.ema:
            # (K, d)
            sums = all_sum(
                torch.zeros(self.K, self.d, device=x.device, dtype=x.dtype).index_add_(0, idx, x)
            )
            self.cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
            self.embed_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
            n = self.cluster_size.sum()
            smoothed = (self.cluster_size + LAPLACE_EPS) / (n + self.K * LAPLACE_EPS) * n
            self.embed.data.copy_(self.embed_sum / smoothed[:, None])
        if self.restart_dead:
            dead = self.usage < self.dead_threshold
            n_dead = int(dead.sum())
            if n_dead:
                x = gather_rows(x)  # the whole batch, on every rank
                grace = x.shape[0] / self.K  # the usage a code would have if all were used equally
                fresh = x[torch.randint(x.shape[0], (n_dead,), device=x.device)]  # (n_dead, d)
                self.embed.data[dead] = fresh
                self.usage[dead] = grace
                self.cluster_size[dead] = grace
                self.embed_sum[dead] = fresh * grace
