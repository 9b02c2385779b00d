"""`evaluate`: the test metrics that `latentzoo eval` shows, and `generation_metrics` for samples.

What is measured follows what the model declares it can do: every model gets reconstruction MSE,
PSNR and SSIM; a model with an ELBO its terms; a model with codes its codebook usage and
perplexity; a denoiser the PSNR of noisy and denoised images; a model that samples MNIST-FID and
the classifier's view of its samples (latentzoo.eval.classifier). `METRIC_INFO` gives each metric's
unit and a one-line meaning (the report shows them)."""

from __future__ import annotations

import math

import torch

from ..console import progress_bar
from ..data import ImageSet, Splits, batch_for
from ..kinds import data_kind
from ..models import GUIDANCE
from .classifier import classify, get_classifier, sample_quality
from .metrics import EVAL_SEED, code_histogram, codebook_stats

# metric -> (unit, what it means)
METRIC_INFO: dict[str, tuple[str, str]] = {
    "mse_per_pixel": ("", "squared error of the reconstruction, mean over pixels and images"),
    "mse_per_image": (
        "",
        "squared error of the reconstruction summed over an image's pixels, mean over images",
    ),
    "psnr": ("dB", "peak signal-to-noise ratio of the reconstruction, mean of per-image values"),
    "ssim": ("", "structural similarity of the reconstruction (1 = identical), mean over images"),
    "recon": ("nats", "reconstruction term of the loss per image (posterior sample)"),
    "kl": ("nats", "KL(q(z|x) || N(0, I)) per image"),
    "elbo": ("nats", "evidence lower bound per image (one posterior sample; higher is better)"),
    "psnr_noisy": ("dB", "PSNR of the corrupted input against the clean image"),
    "psnr_denoised": (
        "dB",
        "PSNR of the reconstruction of the corrupted input against the clean image",
    ),
    "noise": ("", "the corruption used for the two denoising PSNRs (SNRs)"),
    "mse_per_sample": ("", "squared error of the reconstruction, mean over samples and series"),
    "rmse": ("", "root-mean-square error of a series' reconstruction, mean over series"),
    "snr": ("dB", "signal-to-noise ratio of the reconstruction (signal about its mean)"),
    "prd": ("%", "percent root-mean-square difference of the reconstruction (PRDN)"),
    "snr_noisy": ("dB", "SNR of the corrupted input against the clean series"),
    "snr_denoised": ("dB", "SNR of the reconstruction of the corrupted input"),
    "codes_used": ("codes", "codes used at least once on the test set"),
    "codebook_usage": ("", "fraction of the codebook used on the test set"),
    "perplexity": (
        "codes",
        "exp(entropy) of the test set's code histogram: the effective number of codes",
    ),
    "n_images": ("images", "test images evaluated"),
    "sample_mnist_fid": (
        "",
        "Fréchet distance of samples to test digits in the MNIST classifier's features "
        "(not Inception FID)",
    ),
    "sample_data_fid": (
        "",
        "Fréchet distance of samples to test images in the features of a classifier trained "
        "on this data (compare only across runs on the same data)",
    ),
    "sample_class_entropy": (
        "nats",
        "mean entropy of the classifier's p(y|sample); low = confident",
    ),
    "sample_class_diversity": (
        "nats",
        "entropy of the mean class distribution of samples; log 10 = 2.303 is even",
    ),
    "digit_accuracy": ("", "fraction of samples asked for digit d that the classifier calls d"),
    "digit_accuracy_min": ("", "the same for the worst digit"),
    "asked_mnist_fid": (
        "",
        "MNIST-FID of the samples asked for each label in turn (n/K per label)",
    ),
    "asked_data_fid": ("", "the same in the features of the data's own classifier"),
    "asked_class_entropy": (
        "nats",
        "mean entropy of the classifier's p(y|sample) for those samples",
    ),
    "test_bits_per_image": ("bits", "prior: -log2 p(codes) per test image"),
    "train_seconds": ("s", "wall time of training"),
}


@torch.no_grad()
def evaluate(
    model: torch.nn.Module, data: ImageSet, batch_size: int = 500, seed: int = EVAL_SEED
) -> dict[str, float]:
    """Test metrics of `model` on `data`, every image once (see the module docstring).

    MSE and PSNR are of the deterministic reconstruction: the code (AE, DAE on the clean input), the
    posterior mean (VAE), the nearest codes (VQ-VAE). Random draws (VAE posterior samples,
    corruption) come from `seed`, so the numbers repeat exactly."""
    cfg, device = model.cfg, model.device
    kind = data_kind(cfg.data.data_kind)
    batch_size = batch_for(data.shape, batch_size)
    was_training = model.training
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    counts = torch.zeros(model.n_codes, dtype=torch.float64) if model.has_codes else None
    sums: dict[str, float] = {}
    rng_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        for x, y in progress_bar(
            data.batches(batch_size, device=device), math.ceil(len(data) / batch_size), "eval"
        ):
            if counts is not None:  # one encoder pass gives both the codes and the reconstruction
                q = model.quantize(x)
                counts += code_histogram(q.indices, model.n_codes)
                x_hat = model.decode(q.quantized)
            else:
                x_hat = model.reconstruct(x, y)
            rows = kind.quality(x, x_hat)  # per-example measures that fit the data
            if model.has_elbo:
                out = model(x, y)
                rows["recon"], rows["kl"] = out.losses["recon"], out.losses["kl"]
                if cfg.model.recon == "bce":
                    rows["elbo"] = -(out.losses["recon"] + out.losses["kl"])
            if model.noise:
                noisy = model.corrupt(x, model.noise, gen)
                name, measure = kind.fidelity, kind.quality_measures()[kind.fidelity]
                rows[f"{name}_noisy"] = measure(x, noisy)
                rows[f"{name}_denoised"] = measure(x, model.reconstruct(noisy, y))
            for k, v in rows.items():
                sums[k] = sums.get(k, 0.0) + float(v.double().sum())
    finally:
        torch.random.set_rng_state(rng_state)
        model.train(was_training)
    n = len(data)
    metrics: dict[str, float] = {k: v / n for k, v in sums.items()}
    if "mse_per_pixel" in metrics:
        metrics["mse_per_image"] = metrics["mse_per_pixel"] * math.prod(data.shape)
    if counts is not None:
        metrics.update(codebook_stats(counts))
    if model.noise:
        metrics["noise"] = cfg.model.noise
    metrics["n_images"] = n
    return metrics


@torch.no_grad()
def real_data_floor(
    held_out: ImageSet, real: ImageSet, n: int = 2000, data_dir=None, splits: Splits | None = None
) -> dict[str, float]:
    """The sample metrics of `n` real images that no model trained on (MNIST: validation digits,
    carved from the training file) against the real test images: the MNIST-FID that a perfect
    generator would get with this many samples, the floor each model's figure is read against.
    With `splits`, in the features of a classifier of those (as `generation_metrics`)."""
    clf, info = get_classifier(data_dir, splits=splits)
    x, _ = held_out.tensors(slice(0, min(n, len(held_out))))
    real_x, _ = real.tensors(slice(0, min(len(real), 10000)))
    fid_name = "mnist_fid" if splits is None else "data_fid"
    return {
        **{f"sample_{k}": v for k, v in sample_quality(clf, x, real_x, fid_name).items()},
        "classifier_test_accuracy": info["test_accuracy"],
    }


@torch.no_grad()
def generation_metrics(
    model: torch.nn.Module,
    real: ImageSet,
    n: int = 2000,
    seed: int = EVAL_SEED,
    data_dir=None,
    temperature: float = 1.0,
    guidance: float | None = None,
    batch: int = 500,
    splits: Splits | None = None,
) -> dict[str, float]:
    """Sample quality of `n` samples against the real images; {} when the model cannot sample.
    Conditional models are also asked for n/K samples of each of the K labels (a guided model with
    classifier-free `guidance`, default GUIDANCE), and `digit_accuracy` is how often the classifier
    agrees with the asked label. The classifier is MNIST's, or with `splits` (the user's labelled
    data, latentzoo.eval.classifier.unavailable says when it applies) one trained on them."""
    if not model.can_sample:
        return {}
    clf, info = get_classifier(data_dir, splits=splits)
    k = clf.head.out_features
    gen = torch.Generator().manual_seed(seed)
    if model.guided and guidance is None:
        guidance = GUIDANCE
    options = {"guidance": guidance} if model.guided else {}

    def draw(y_all):
        out = []
        for i in range(0, n, batch):
            y = None if y_all is None else y_all[i : i + batch]
            out.append(
                model.sample(
                    min(batch, n - i), y=y, generator=gen, temperature=temperature, **options
                ).cpu()
            )
        return torch.cat(out)

    was_training = model.training
    model.eval()
    digits = torch.arange(n) % k
    samples = draw(digits if model.needs_labels else None)
    real_x, _ = real.tensors(slice(0, min(len(real), 10000)))
    fid_name = "mnist_fid" if splits is None else "data_fid"
    m = {f"sample_{name}": v for name, v in sample_quality(clf, samples, real_x, fid_name).items()}
    m["classifier_test_accuracy"] = info["test_accuracy"]
    if model.conditional:
        asked = draw(digits)
        _, probs = classify(clf, asked)
        hits = probs.argmax(1) == digits
        m["digit_accuracy"] = float(hits.float().mean())
        m["digit_accuracy_min"] = min(
            float(hits[digits == d].float().mean()) for d in range(min(k, n))
        )
        # the asked samples, n/K of each label, are also samples of p(x) for evenly spread labels
        m.update(
            {
                f"asked_{name}": v
                for name, v in sample_quality(clf, asked, real_x, fid_name).items()
                if name in (fid_name, "class_entropy")
            }
        )
        if model.guided:
            m["digit_guidance"] = guidance
    model.train(was_training)
    return m
