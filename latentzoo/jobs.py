"""The jobs on the user's own images as Python calls: encode, reconstruct, denoise, score, sample.

Each takes a model (`latentzoo.load(run)`) and images (N, C, H, W) in [0, 1] of the shape it was
trained on (`model.cfg.data.shape`; latentzoo.inputs reads and fits files), works in batches
without gradients and returns CPU tensors:
- `encode`: latent means (N, L) (the posterior mean for a VAE), or code grids (N, H/4, W/4) for a
  model with codes;
- `reconstruct`, `denoise` (optionally corrupting the images first, for demonstrations, and
  optionally `safeguard`ed: each output blended back towards its input by how much more the model
  changed it than it changes clean images (`clean_residuals`) or, per input, its own output, so
  that a clean or lightly corrupted input is not made worse, except where the data kind recognises
  in the input a corruption that the model learned (a photo's JPEG artefacts); and optionally
  keeping a fixed fraction of its input, `kept`);
- `anomaly_scores`: the model's `anomaly_score` per image (higher = less like its training images:
  squared reconstruction error, the negative ELBO for a VAE); `calibrate` turns the scores of the
  run's validation images into a threshold at a chosen false-positive rate, the (1 - fpr) quantile,
  so that about a fraction `fpr` of normal images score above it; `flag` applies it. `scorer(model,
  partner, normal)` with an AE and a VAE is the ensemble chosen on validation data
  (latentzoo.eval.anomaly.EnsembleScore), which `calibrate(..., score=)` takes too.
A model that needs labels (CVAE) and is given none uses, per image, the label whose reconstruction
scores lowest (`best_labels`)."""

from __future__ import annotations

import math

import numpy as np
import torch

from .data import ImageSet, batch_for
from .errors import ConfigError
from .eval.anomaly import EnsembleScore, ensemble_pair
from .noise import parse_noise

BATCH = 500
DEFAULT_FPR = 0.01
SAFEGUARD_Q = 1.0  # the share of clean examples that `safeguard` passes through as they are
SAFEGUARD_N = 2000  # validation examples whose residuals the denoise command measures
# per-input safeguard: an input changed by less than this many times the error expected of its
# output comes back as it went in
SAFEGUARD_MARGIN = 2.0


@torch.no_grad()
def batched(
    fn, images: torch.Tensor, labels: torch.Tensor | None, model, batch: int = BATCH
) -> torch.Tensor:
    """fn(x, y) over batches of `images` on the model's device, concatenated on the CPU."""
    was_training = model.training
    model.eval()
    out = []
    batch = batch_for(tuple(images.shape[1:]), batch)  # fewer when examples are large (photos)
    for i in range(0, images.shape[0], batch):
        y = None if labels is None else labels[i : i + batch].to(model.device)
        out.append(fn(images[i : i + batch].to(model.device), y).cpu())
    model.train(was_training)
    return torch.cat(out)


def label_scores(model, images: torch.Tensor) -> torch.Tensor:
    """The anomaly score of every image under every label (N, n_classes), for a model that needs
    labels."""

    def under(c: int):
        return lambda x, _y: model.anomaly_score(x, torch.full((x.shape[0],), c, device=x.device))

    return torch.stack(
        [batched(under(c), images, None, model) for c in range(model.cfg.data.n_classes)],
        1,
    )


def best_labels(
    model, images: torch.Tensor, labels: torch.Tensor | None = None
) -> torch.Tensor | None:
    """`labels` as given; for a model that needs labels and has none, the best-scoring label per
    image."""
    if labels is not None or not model.needs_labels:
        return labels
    return label_scores(model, images).argmin(1)


def encode(model, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """Latent means (N, L), grids of latent vectors (N, L, h, w) for an AE with a grid latent, or
    integer code grids (N, H/4, W/4) for a model with codes."""
    return batched(model.encode, images, best_labels(model, images, labels), model)


def reconstruct(
    model, images: torch.Tensor, labels: torch.Tensor | None = None, views: int = 1
) -> torch.Tensor:
    """The model's outputs, averaged over the first `views` of the data kind's flips and rotations
    of each input (a self-ensemble; 1: the input as it is)."""
    kind = model.data_kind
    kind.check_views(views)
    labels = best_labels(model, images, labels)
    total = batched(model.reconstruct, images, labels, model)
    for i in range(1, views):
        out = batched(model.reconstruct, kind.view(images, i), labels, model)  # H, W may swap
        total += kind.view(out, i, back=True)
    return total if views == 1 else total / views  # one view: no copy on the common path


def clean_residuals(
    model, clean: torch.Tensor, labels: torch.Tensor | None = None, views: int = 1
) -> torch.Tensor:
    """The mean squared residual per value of the model's output (over `views`) on each of `clean`
    examples (N,), e.g. the run's validation images: what `safeguard` expects the model to leave on
    a clean input."""
    return (reconstruct(model, clean, labels, views) - clean.cpu()).pow(2).flatten(1).mean(1)


def safeguard(
    noisy: torch.Tensor,
    out: torch.Tensor,
    residuals: torch.Tensor,
    q: float = SAFEGUARD_Q,
    again: torch.Tensor | None = None,
    margin: float = SAFEGUARD_MARGIN,
) -> torch.Tensor:
    """Each output (N, ...) blended with its input by the weight that minimises the squared error
    when the input's and the output's errors are independent (a Wiener weight). The input's error is
    its mean squared residual less a threshold; an input that the model changes no more than that
    comes back as it went in. The output's error, and the threshold:
    - without `again`, the mean of the clean `residuals` (`clean_residuals`) and their `q`
      quantile;
    - given `again`, the model's output on `out`: per input, the mean squared change that the model
      makes to its own output (what it would change in a clean input like this one) plus the mean
      clean residual, and `margin` times that."""
    residual = (noisy - out).pow(2).flatten(1).mean(1)  # (N,)
    if again is None:
        out_error, threshold = residuals.mean(), residuals.quantile(q)
    else:
        out_error = (again - out).pow(2).flatten(1).mean(1) + residuals.mean()  # (N,)
        threshold = margin * out_error
    input_error = (residual - threshold).clamp(min=0)
    w = input_error / (input_error + out_error + 1e-12)
    w = w.view(-1, *[1] * (noisy.dim() - 1))
    return w * out + (1 - w) * noisy


def kept(noisy: torch.Tensor, out: torch.Tensor, keep: float) -> torch.Tensor:
    """Each output with the fraction `keep` of its input mixed back in, (1 - keep) * out + keep *
    noisy: less noise removed, fewer of the model's artefacts (for a spectral mask on the noisy
    phase, a floor of `keep` under the mask)."""
    return out if keep == 0 else (1 - keep) * out + keep * noisy


def denoise(
    model,
    images: torch.Tensor,
    labels: torch.Tensor | None = None,
    noise: str | None = None,
    seed: int = 0,
    generator: torch.Generator | None = None,
    residuals: torch.Tensor | None = None,
    keep: float = 0.0,
    views: int = 1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(the input, corrupted by `noise` first when given, drawn from `generator` or else from a
    new one seeded by `seed`; its denoised reconstruction over `views` (`reconstruct`),
    `safeguard`ed when the model's clean `residuals` (measured over as many views) are given (by
    the error expected of each output, from a second pass through the model, where the model's
    kind of data asks for it; an input in which the kind recognises a corruption that the model
    learned keeps the output that the kind makes of it, `DataKind.recognised`), then keeping the
    fraction `keep` of its input)."""
    if noise:
        gen = generator or torch.Generator().manual_seed(seed)
        images = model.corrupt(images, parse_noise(noise), gen)
    out = reconstruct(model, images, labels, views)
    if residuals is not None:
        out = guarded(model, images, out, residuals, labels, views)
    return images, kept(images, out, keep)


def guarded(
    model,
    images: torch.Tensor,
    out: torch.Tensor,
    residuals: torch.Tensor,
    labels: torch.Tensor | None = None,
    views: int = 1,
) -> torch.Tensor:
    """The model's outputs on `images` as `denoise` keeps them: the kind's own (`recognised`) for
    an input that carries a corruption the model learned, else `safeguard`ed, by a second pass
    through the model where the kind asks for it (not made when every input is recognised)."""
    kind = model.data_kind
    which, trusted = kind.recognised(images, out, model.noise)  # (N,): a learned corruption
    if which.all():
        return trusted
    again = reconstruct(model, out, labels, views) if kind.safeguard_per_input else None
    blended = safeguard(images, out, residuals, again=again)
    return torch.where(which.view(-1, *[1] * (out.dim() - 1)), trusted, blended)


def anomaly_scores(model, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """The model's anomaly score per image (N,), float64 (without labels, a model that needs them is
    scored under its best label)."""
    if model.needs_labels and labels is None:
        return label_scores(model, images).min(1).values.double()
    return batched(model.anomaly_score, images, labels, model).double()


def scorer(model, partner=None, normal: ImageSet | None = None):
    """The anomaly score as a function of images (N, C, H, W) -> (N,): the model's own
    (`anomaly_scores`), or, given a partner, the ensemble of an AE (or DAE) and a VAE in either
    order, fitted on the `normal` images (EnsembleScore)."""
    if partner is None:
        return lambda images: anomaly_scores(model, images)
    if normal is None:
        raise ConfigError("the ensemble is fitted on normal images: pass normal=")
    return EnsembleScore(*ensemble_pair(model, partner), normal.tensors()[0])


def calibrate(model, normal: ImageSet, fpr: float = DEFAULT_FPR, score=None) -> float:
    """The score above which a fraction of at most about `fpr` of `normal` images lies (their (1 -
    fpr) quantile, the next higher score); labels are not used, as for the user's images. `score`
    (from `scorer`) replaces the model's own score."""
    if not 0 < fpr < 1:
        raise ConfigError(f"fpr must be in (0, 1), got {fpr}")
    x, _ = normal.tensors()
    scores = (score or scorer(model))(x).numpy()
    return float(np.quantile(scores, 1 - fpr, method="higher"))


def flag(scores: torch.Tensor, threshold: float) -> torch.Tensor:
    """True where a score lies above the threshold."""
    return scores > threshold


def false_positive_rate(model, normal: ImageSet, threshold: float) -> float:
    x, _ = normal.tensors()
    return (
        float(flag(anomaly_scores(model, x), threshold).double().mean())
        if len(normal)
        else math.nan
    )


__all__ = [
    "encode",
    "reconstruct",
    "denoise",
    "anomaly_scores",
    "scorer",
    "calibrate",
    "flag",
    "best_labels",
    "false_positive_rate",
    "DEFAULT_FPR",
]
