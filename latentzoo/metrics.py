"""Metrics that judge an autoencoder, each a plain function, and `evaluate` that `eval` shows.

- Reconstruction: MSE per pixel, squared error summed per image, PSNR = 10 log10(1 / MSE) per
  image (images in [0, 1]), SSIM (pytorch-msssim), each averaged over images.
- Likelihood (`vae_likelihood`): negative ELBO and importance-sampled NLL (Burda et al. 2015) on
  dynamically binarized images, nats per image.
- Features (`probe_accuracy`): linear-probe and k-NN accuracy of latents; `pca_features` for the
  baseline. Anomalies (`anomaly_scores`, `auroc`): the one-class protocol of Ruff et al. 2018.
  Denoising baselines (`classical_denoise`): median filter, Gaussian blur, BM3D.
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
    p = counts.double() / counts.double().sum()
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
    from .training import progress_bar

    try:
        batches = progress_bar(data.batches(batch_size, device=device), math.ceil(len(data) / batch_size), "eval")
        for x, y in batches:
            if counts is not None:  # VQ-VAE: one encoder pass gives both the codes and the reconstruction
                q = model.quantizer(model.encoder(x))
                counts += code_histogram(q.indices, cfg.n_codes)
                x_hat = model.decode(q.quantized)
            else:
                x_hat = model.reconstruct(x, y)
            rows = {"mse_per_pixel": mse_per_pixel(x, x_hat), "psnr": psnr(x, x_hat), "ssim": ssim(x, x_hat)}
            if is_vae:
                out = model(x, y)
                rows["recon"], rows["kl"] = out.losses["recon"], out.losses["kl"]
                if cfg.recon == "bce":
                    rows["elbo"] = -(out.losses["recon"] + out.losses["kl"])
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
                       data_dir=None, temperature: float = 1.0, guidance: float | None = None,
                       batch: int = 500) -> dict[str, float]:
    """Sample quality of `n` samples against the real images (see module docstring); {} when the
    model cannot sample. Conditional models are also asked for n/10 samples of each digit (a VQ-VAE's
    prior with classifier-free `guidance`, default latentzoo.priors.GUIDANCE), and `digit_accuracy`
    is how often the classifier agrees with the asked digit."""
    from .classifier import classify, get_classifier, sample_quality

    if not can_sample(model):
        return {}
    clf, info = get_classifier(data_dir)
    gen = torch.Generator().manual_seed(seed)

    vq = model.cfg.model == "vqvae"
    if vq and guidance is None:
        from .priors import GUIDANCE

        guidance = GUIDANCE

    def draw(y_all):
        out, kw = [], {"guidance": guidance} if vq else {}
        for i in range(0, n, batch):
            y = None if y_all is None else y_all[i:i + batch]
            out.append(model.sample(min(batch, n - i), y=y, generator=gen, temperature=temperature, **kw).cpu())
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
        if vq:
            m["digit_guidance"] = guidance
    model.train(was_training)
    return m


# ----------------------------------------------------------------------------- the measurement suite

def ssim(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Structural similarity per image (B,) (Wang et al. 2004), by pytorch-msssim: 11x11 Gaussian
    window (sigma 1.5), data range 1."""
    from pytorch_msssim import ssim as _ssim

    return _ssim(x.float(), x_hat.float().clamp(0, 1), data_range=1.0, size_average=False)


def binarize(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Dynamic binarization: each pixel drawn as Bernoulli(intensity), from `generator`, on the CPU."""
    return torch.bernoulli(x.cpu(), generator=generator).to(x.device)


@torch.no_grad()
def vae_likelihood(model: torch.nn.Module, data: ImageSet, k: int = 5000, n_images: int | None = None,
                   seed: int = EVAL_SEED, chunk: int = 2500) -> dict[str, float]:
    """Negative ELBO and importance-sampled NLL (Burda et al. 2015) of a Bernoulli VAE, in nats per
    image, on dynamically binarized images (fixed seed).

    NLL_k(x) = -log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x), z_i ~ q(z|x). k=5000 is the literature's
    protocol; smaller k gives an upper bound that is looser, and the value used is returned."""
    from .models import reconstruction_loss

    cfg = model.cfg
    if cfg.model not in ("vae", "cvae") or cfg.recon != "bce":
        raise ValueError("likelihoods need a VAE with the Bernoulli (bce) decoder")
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    n = len(data) if n_images is None else min(n_images, len(data))
    nll_sum = elbo_sum = 0.0
    log2pi = math.log(2 * math.pi)
    from .training import progress_bar

    for i in progress_bar(range(n), n, f"IS-NLL k={k}"):
        x, y = data.tensors(slice(i, i + 1), model.device)
        xb = binarize(x, gen)  # (1, 1, 28, 28)
        mu, logvar = model.posterior(xb, y)  # (1, L) each
        std = (0.5 * logvar).exp()
        log_w = []
        for start in range(0, k, chunk):
            m = min(chunk, k - start)
            eps = torch.randn(m, mu.shape[1], generator=gen).to(model.device)
            z = mu + eps * std  # (m, L)
            yy = None if y is None else y.expand(m)
            log_px = -reconstruction_loss(model.decoder(z, model._cond(yy, m)), xb.expand(m, -1, -1, -1), "bce")
            log_pz = -0.5 * (z.pow(2) + log2pi).sum(1)
            log_qz = -0.5 * (eps.pow(2) + log2pi + logvar).sum(1)
            log_w.append(log_px + log_pz - log_qz)  # (m,)
        log_w = torch.cat(log_w).double()
        nll_sum += float(-(torch.logsumexp(log_w, 0) - math.log(k)))
        elbo_sum += float(log_w.mean())
    return {"nll": nll_sum / n, "neg_elbo": -elbo_sum / n, "k": k, "n_images": n,
            "protocol": "dynamically binarized MNIST test images, Bernoulli decoder, nats per image"}


def auroc(scores: torch.Tensor, is_anomaly: torch.Tensor) -> float:
    """Area under the ROC curve of anomaly scores (higher = more anomalous)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(is_anomaly.cpu().numpy().astype(int), scores.double().cpu().numpy()))


@torch.no_grad()
def anomaly_scores(model: torch.nn.Module, data: ImageSet, kind: str = "recon", batch: int = 500,
                   seed: int = EVAL_SEED) -> torch.Tensor:
    """Per-image anomaly scores (N,): 'recon' = squared reconstruction error of the deterministic
    reconstruction; 'elbo' = negative ELBO of a VAE (one posterior sample, fixed seed)."""
    model.eval()
    torch.manual_seed(seed)
    out = []
    for x, y in data.batches(batch, device=model.device):
        if kind == "elbo":
            o = model(x, y)
            out.append((o.losses["recon"] + o.losses["kl"]).cpu())
        else:
            out.append((model.reconstruct(x, y) - x).pow(2).flatten(1).sum(1).cpu())
    return torch.cat(out)


@torch.no_grad()
def features_of(model: torch.nn.Module, data: ImageSet, batch: int = 1000) -> torch.Tensor:
    model.eval()
    return torch.cat([model.features(x).cpu() for x, _ in data.batches(batch, device=model.device)])


def probe_accuracy(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, test_y: torch.Tensor,
                   knn: int = 5, seed: int = 0) -> dict[str, float]:
    """Linear probe (logistic regression on standardized features, train -> test) and k-NN accuracy."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    a, b = train_x.double().numpy(), test_x.double().numpy()
    ya, yb = train_y.numpy(), test_y.numpy()
    lin = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, random_state=seed)).fit(a, ya)
    nn_ = KNeighborsClassifier(knn).fit(a, ya)
    return {"linear_probe": float((lin.predict(b) == yb).mean()), "knn": float((nn_.predict(b) == yb).mean())}


def pca_features(train_x: torch.Tensor, test_x: torch.Tensor, dim: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.decomposition import PCA

    pca = PCA(dim, random_state=seed).fit(train_x.double().numpy())
    return torch.from_numpy(pca.transform(train_x.double().numpy())), torch.from_numpy(pca.transform(test_x.double().numpy()))


def classical_denoise(noisy: torch.Tensor, method: str, sigma: float | None = None) -> torch.Tensor:
    """Baselines on (N, 1, 28, 28): 'median' (3x3 median filter), 'gaussian' (Gaussian blur, sigma 1
    pixel), 'bm3d' (Dabov et al. 2007, PyPI bm3d; needs the noise level sigma)."""
    from scipy import ndimage

    arr = noisy.detach().cpu().double().numpy()
    if method == "median":
        out = ndimage.median_filter(arr, size=(1, 1, 3, 3), mode="reflect")
    elif method == "gaussian":
        out = ndimage.gaussian_filter(arr, sigma=(0, 0, 1.0, 1.0), mode="reflect")
    elif method == "bm3d":
        import bm3d

        s = sigma if sigma else 0.1
        out = arr.copy()
        for i in range(arr.shape[0]):
            out[i, 0] = bm3d.bm3d(arr[i, 0], sigma_psd=s)
    else:
        raise ValueError(f"unknown denoiser {method}")
    return torch.from_numpy(out).float().clamp(0, 1)


def uniform_bits_per_image(grid: tuple[int, int], n_codes: int) -> float:
    """Bits per image of a code grid when every code costs log2 K: H * W * log2 K."""
    return grid[0] * grid[1] * math.log2(n_codes)
