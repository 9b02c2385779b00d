"""The likelihood of a Bernoulli VAE: negative ELBO and importance-sampled NLL (Burda et al. 2015).

NLL_k(x) = -log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x), z_i ~ q(z|x), in nats per image, on
dynamically binarized images (each pixel drawn as Bernoulli(intensity) from a fixed seed). k=5000 is
the literature's protocol; smaller k gives a looser upper bound, and the k used is returned.
"""

from __future__ import annotations

import math

import torch

from ..console import progress_bar
from ..data import ImageSet
from ..errors import ConfigError
from .metrics import EVAL_SEED


def binarize(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Dynamic binarization: each pixel drawn as Bernoulli(intensity), from `generator`, on the
    CPU."""
    return torch.bernoulli(x.cpu(), generator=generator).to(x.device)


@torch.no_grad()
def vae_likelihood(
    model: torch.nn.Module,
    data: ImageSet,
    k: int = 5000,
    n_images: int | None = None,
    seed: int = EVAL_SEED,
    chunk: int = 200,
) -> dict[str, float]:
    """Negative ELBO and IS-NLL in nats per image over the first `n_images` of `data` (default all).

    The k draws go through the decoder `chunk` at a time (small chunks keep a conv decoder's
    activations in the CPU's cache; the figures do not depend on it)."""
    if not model.has_elbo or model.cfg.model.recon != "bce":
        raise ConfigError("likelihoods need a VAE with the Bernoulli (bce) decoder")
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    n = len(data) if n_images is None else min(n_images, len(data))
    nll_sum = elbo_sum = 0.0
    for i in progress_bar(range(n), n, f"IS-NLL k={k}"):
        x, y = data.tensors(slice(i, i + 1), model.device)
        # (k,)
        log_w = model.log_weights(
            binarize(x, gen), y if model.needs_labels else None, k, gen, chunk
        ).double()
        nll_sum += float(-(torch.logsumexp(log_w, 0) - math.log(k)))
        elbo_sum += float(log_w.mean())
    return {
        "nll": nll_sum / n,
        "neg_elbo": -elbo_sum / n,
        "k": k,
        "n_images": n,
        "protocol": "dynamically binarized MNIST test images, Bernoulli decoder, nats per image",
    }
