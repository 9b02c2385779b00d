"""Measuring models: pure metrics, the MNIST classifier, evaluation, likelihood, downstream jobs.

- `metrics`: tensor functions (PSNR, SSIM, codebook statistics, AUROC, Fréchet distance).
- `classifier`: the project's MNIST classifier behind MNIST-FID and the asked-digit checks.
- `evaluate`: the test metrics of a model and the quality of its samples.
- `likelihood`: negative ELBO and importance-sampled NLL of a Bernoulli VAE.
- `downstream`: features and probes, anomaly scores, classical denoisers.
- `anomaly`: anomaly scores from an AE and a VAE together (the one-class and foreign-set ensemble).
- `corruptions`: corruptions no DAE trains on, for measuring denoisers on what they never saw.
- `foreign`: image sets that are not MNIST digits, for out-of-distribution scoring.
"""

from .anomaly import (
    Ensemble,
    EnsembleScore,
    Mahalanobis,
    chi2_log_tail,
    code_nll,
    codes_nll,
    complexity_bits,
    ensemble_terms,
)
from .corruptions import structured_corruptions, unseen_corruptions
from .downstream import classical_denoise, features_of, pca_features, probe_accuracy
from .evaluation import METRIC_INFO, evaluate, generation_metrics, real_data_floor
from .foreign import FOREIGN, foreign_sets
from .likelihood import vae_likelihood
from .metrics import (
    EVAL_SEED,
    auroc,
    code_histogram,
    codebook_stats,
    frechet_distance,
    mse_per_pixel,
    psnr,
    ssim,
    uniform_bits_per_image,
)

__all__ = [
    "classical_denoise",
    "features_of",
    "pca_features",
    "probe_accuracy",
    "METRIC_INFO",
    "real_data_floor",
    "evaluate",
    "generation_metrics",
    "vae_likelihood",
    "EVAL_SEED",
    "auroc",
    "code_histogram",
    "codebook_stats",
    "frechet_distance",
    "mse_per_pixel",
    "psnr",
    "ssim",
    "uniform_bits_per_image",
    "structured_corruptions",
    "unseen_corruptions",
    "code_nll",
    "codes_nll",
    "ensemble_terms",
    "Mahalanobis",
    "Ensemble",
    "chi2_log_tail",
    "complexity_bits",
    "EnsembleScore",
    "FOREIGN",
    "foreign_sets",
]
