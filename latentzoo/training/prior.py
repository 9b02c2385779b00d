"""`train_prior`: the code prior of a trained VQ-VAE, fitted to its training-set codes.

AdamW (weight decay 0.01), the learning rate warmed up linearly over the first tenth of the steps to
`lr` and then decayed along a cosine, gradients clipped to norm 1, labels dropped to "no label" with
probability `label_dropout` (for classifier-free guidance). The loop, its seeding and checkpoints
are latentzoo.loop's; the kept prior is the epoch with the lowest validation bits per image."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import torch

from ..console import Log, stderr_log
from ..data import Splits
from ..errors import ConfigError
from ..files import load_tensors, write_json
from ..loop import Files, fit, init_seed, warmup_cosine_lr
from ..models import CodePrior, PriorConfig, mean_bits
from ..runs import (
    PRIOR_CONFIG,
    PRIOR_HISTORY,
    PRIOR_LAST,
    PRIOR_METRICS,
    PRIOR_WEIGHTS,
    load,
    read_config,
    run_data,
    run_lock,
)
from .autoencoder import training_splits


@torch.no_grad()
def encode_all(model, data, batch: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """Codes (N, H/4, W/4) and labels (N,) of a whole image set, on the CPU."""
    codes = [model.encode(x).cpu() for x, _ in data.batches(batch, device=model.device)]
    return torch.cat(codes), data.labels.clone()


def load_coded(run_dir: Path, device=None):
    """The model of `run_dir`, which must have codes for a prior to fit (a VQ-VAE)."""
    model = load(run_dir, device=device)
    if not model.has_codes:
        raise ConfigError(
            "train-prior needs a run of a model with codes "
            f"(vqvae); {run_dir} holds a {read_config(run_dir).kind}"
        )
    return model


def train_prior(
    run_dir: str | Path,
    cfg: PriorConfig | None = None,
    data_dir=None,
    device=None,
    *,
    resume: bool = False,
    checkpoint_every: int = 0,
    splits: Splits | None = None,
    progress: bool | None = None,
    log: Log = stderr_log,
) -> dict:
    """Fit a prior to the training-set codes of the VQ-VAE in `run_dir`; save it there; return
    metrics. `resume` continues from prior_last.safetensors (a prior stopped before its first
    checkpoint starts again); `splits` (optional) are the data set's full splits, as `train` takes
    them."""
    run_dir = Path(run_dir)
    vq_cfg = read_config(run_dir)
    model = load_coded(run_dir, device)
    splits = training_splits(vq_cfg, splits or run_data(vq_cfg, data_dir))
    # what the VQ-VAE and its data say; unlabelled data: the "no label" token only
    cfg = replace(
        cfg or PriorConfig(),
        n_codes=model.n_codes,
        length=model.grid[0] * model.grid[1],
        grid_width=model.grid[1],
        n_classes=vq_cfg.data.n_classes if splits.train.labelled else 0,
    )
    cfg.validate()
    with run_lock(run_dir):  # before any work: a folder another process writes is refused
        log(f"encoding {len(splits.train)} training {model.data_kind.examples} to codes")
        tr_codes, tr_y = encode_all(model, splits.train)
        va_codes, _ = encode_all(model, splits.val)
        te_codes, te_y = encode_all(model, splits.test)
        tr_y[tr_y < 0] = cfg.n_classes  # an unlabelled image gets the "no label" token
        if resume and not (run_dir / PRIOR_LAST).is_file():
            log(f"{run_dir} has no prior checkpoint yet; training the prior from the start")
            resume = False
        init_seed(cfg.seed)
        prior = CodePrior(cfg).to(model.device)
        opt = torch.optim.AdamW(prior.parameters(), lr=cfg.lr, weight_decay=0.01)
        write_json(run_dir / PRIOR_CONFIG, cfg.to_dict())

        def batches(order: torch.Generator):
            perm = torch.randperm(len(tr_codes), generator=order)
            for i in range(0, len(perm), cfg.batch_size):
                idx = perm[i : i + cfg.batch_size]
                yield tr_codes[idx], tr_y[idx].clone()

        def step(batch, _epoch):
            c, y = batch
            y[torch.rand(len(y)) < cfg.label_dropout] = cfg.n_classes  # "no label"
            loss = prior.nll(c.to(prior.device), y.to(prior.device)).mean()  # nats per image
            return (
                loss,
                {"loss": float(loss.detach()), "bits": float(loss.detach()) / math.log(2)},
                len(c),
            )

        history = fit(
            prior,
            opt,
            epochs=cfg.epochs,
            steps=math.ceil(len(tr_codes) / cfg.batch_size),
            batches=batches,
            step=step,
            seed=cfg.seed,
            lr_at=lambda s, total: warmup_cosine_lr(cfg.lr, s, total),
            validate=lambda: {"bits": mean_bits(prior, va_codes, None)},
            select_by="bits",
            clip_grad=1.0,
            files=Files(run_dir / PRIOR_WEIGHTS, run_dir / PRIOR_LAST, run_dir / PRIOR_HISTORY),
            name="prior",
            resume=resume,
            checkpoint_every=checkpoint_every,
            log=log,
            progress=progress,
        )
        prior.load_state_dict(load_tensors(run_dir / PRIOR_WEIGHTS, prior.device)[0])
        metrics = {
            "test_bits_per_image": mean_bits(prior, te_codes, None),
            "test_bits_per_image_given_label": mean_bits(prior, te_codes, te_y)
            if cfg.n_classes
            else None,
            "uniform_bits_per_image": te_codes[0].numel() * math.log2(cfg.n_codes),
            "epochs": cfg.epochs,
            "train_seconds": round(sum(float(r["seconds"]) for r in history), 1),
        }
        write_json(run_dir / PRIOR_METRICS, metrics)
    return metrics
