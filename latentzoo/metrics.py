"""Metrics that judge an autoencoder, each a plain function, and `evaluate` that `eval` shows.

- Reconstruction: MSE per pixel, squared error summed per image, PSNR = 10 log10(1 / MSE) per
  image (images in [0, 1]), averaged over images.
- VAE: the evidence lower bound (one reparameterised sample per image), in nats per image; with the
  Bernoulli (bce) decoder on [0, 1] intensities.
- VQ-VAE: codebook usage over a whole pass (codes used / K) and perplexity exp(H(code histogram)).
- DAE: PSNR of the noisy input and of the denoised output against the clean image.
- Generation (`generation_metrics`): MNIST-FID, confidence and diversity of samples under the
  project's own MNIST classifier (see latentzoo.classifier), and for conditional models how often a
  sample asked to be digit d is classified as d.
"""

from __future__ import annotations

import math

import torch

from .data import ImageSet
from .noise import corrupt, parse_noise

EVAL_SEED = 1234  # fixes the noise and the VAE's posterior samples in evaluation


def mse_per_pixel(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Mean squared error per image (B,), averaged over pixels."""
    return (x - x_hat).pow(2).flatten(1).mean(1)


def psnr(x: torch.Tensor, x_hat: torch.Tensor, max_val: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio per image (B,) in dB; identical images are capped at 100 dB."""
    mse = mse_per_pixel(x, x_hat).clamp(min=max_val ** 2 * 1e-10)
    return 10.0 * torch.log10(max_val ** 2 / mse)


def code_histogram(codes: torch.Tensor, n_codes: int) -> torch.Tensor:
    return torch.bincount(codes.reshape(-1).cpu(), minlength=n_codes).double()


def codebook_stats(counts: torch.Tensor) -> dict[str, float]:
    """Usage of a codebook from its histogram over a whole pass: codes used, fraction, perplexity."""
    p = counts / counts.sum()
    nz = p[p > 0]
    entropy = float(-(nz * nz.log()).sum())
    used = int((counts > 0).sum())
    return {"codes_used": used, "codebook_usage": used / len(counts), "perplexity": math.exp(entropy)}


@torch.no_grad()
def evaluate(model: torch.nn.Module, data: ImageSet, batch_size: int = 500, seed: int = EVAL_SEED) -> dict[str, float]:
    """Test metrics of `model` on `data`, every image once (see the module docstring).

    MSE and PSNR are of the deterministic reconstruction `model.reconstruct(x)`: the code (AE, DAE
    on the clean input), the posterior mean (VAE), the nearest codes (VQ-VAE). Random draws (VAE
    posterior samples, corruption) come from `seed`, so the numbers repeat exactly."""
    cfg, device = model.cfg, model.device
    was_training = model.training
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    noise = parse_noise(cfg.noise)
    is_vae = cfg.model in ("vae", "cvae")
    counts = torch.zeros(cfg.n_codes, dtype=torch.float64) if cfg.model == "vqvae" else None
    sums: dict[str, float] = {}
    rng_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        for x, y in data.batches(batch_size, device=device):
            x_hat = model.reconstruct(x, y)
            rows = {"mse_per_pixel": mse_per_pixel(x, x_hat), "psnr": psnr(x, x_hat)}
            if is_vae:
                out = model(x, y)
                rows["recon"], rows["kl"] = out.losses["recon"], out.losses["kl"]
                if cfg.recon == "bce":
                    rows["elbo"] = -(out.losses["recon"] + out.losses["kl"])
            if counts is not None:
                counts += code_histogram(model.encode(x), cfg.n_codes)
            if noise:
                noisy = corrupt(x, noise, gen)
                rows["psnr_noisy"] = psnr(x, noisy)
                rows["psnr_denoised"] = psnr(x, model.reconstruct(noisy, y))
            for k, v in rows.items():
                sums[k] = sums.get(k, 0.0) + float(v.double().sum())
    finally:
        torch.random.set_rng_state(rng_state)
        model.train(was_training)
    n = len(data)
    metrics: dict[str, float] = {k: v / n for k, v in sums.items()}
    metrics["mse_per_image"] = metrics["mse_per_pixel"] * data.images[0].numel()
    if counts is not None:
        metrics.update(codebook_stats(counts))
    if noise:
        metrics["noise"] = cfg.noise
    metrics["n_images"] = n
    return metrics


def can_sample(model: torch.nn.Module) -> bool:
    cfg = model.cfg
    if cfg.model == "vqvae":
        return model.prior is not None
    return cfg.model in ("vae", "cvae") or bool(getattr(model, "latent_fitted", False))


@torch.no_grad()
def generation_metrics(model: torch.nn.Module, real: ImageSet, n: int = 2000, seed: int = EVAL_SEED,
                       data_dir=None, temperature: float = 1.0, batch: int = 500) -> dict[str, float]:
    """Sample quality of `n` samples against the real images (see module docstring); {} when the
    model cannot sample. Conditional models are also asked for n/10 samples of each digit."""
    from .classifier import classify, get_classifier, sample_quality

    if not can_sample(model):
        return {}
    clf, info = get_classifier(data_dir)
    gen = torch.Generator().manual_seed(seed)

    def draw(y_all):
        out = []
        for i in range(0, n, batch):
            y = None if y_all is None else y_all[i:i + batch]
            out.append(model.sample(min(batch, n - i), y=y, generator=gen, temperature=temperature).cpu())
        return torch.cat(out)

    was_training = model.training
    model.eval()
    digits = torch.arange(n) % 10
    conditional = model.cfg.model == "cvae" or getattr(model, "conditional", False)
    samples = draw(digits if model.cfg.model == "cvae" else None)
    real_x, _ = real.tensors(slice(0, min(len(real), 10000)))
    m = {f"sample_{k}": v for k, v in sample_quality(clf, samples, real_x).items()}
    m["classifier_test_accuracy"] = info["test_accuracy"]
    if conditional:
        asked = draw(digits)
        _, probs = classify(clf, asked)
        hits = probs.argmax(1) == digits
        m["digit_accuracy"] = float(hits.float().mean())
        m["digit_accuracy_min"] = min(float(hits[digits == d].float().mean()) for d in range(10))
    model.train(was_training)
    return m
