"""`train`: a model of any kind trained into a run folder, then evaluated on the test set.

Adam (Kingma & Ba 2015) with betas (0.9, cfg.train.adam_beta2), the learning rate cfg.train.lr
constant or decayed along a cosine over the whole run; the loop, its seeding, checkpoints and resume
are latentzoo.loop's. The kept weights (model.safetensors) are the epoch with the lowest validation
value of the model's `select_by` term. After training, an AE fits its latent Gaussian, and the test
metrics go to metrics.json. Pictures and the report are the command line's job (latentzoo.viz).

A model with codes also reports, at every epoch's end, the fraction of its codebook that the
validation images use (`val_codebook_usage` in history.csv); below `COLLAPSE_BELOW` the log warns
that the codebook has collapsed (the textbook VQ-VAE's failure mode: few codes, blurry images).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import torch

from .. import distributed
from ..config import Config
from ..console import Log, stderr_log
from ..data import Splits, batch_for
from ..device import autocast, resolve_device
from ..errors import ConfigError, RunError
from ..eval import evaluate
from ..files import load_tensors, save_tensors, write_json
from ..loop import Files, cosine_lr, fit, init_seed
from ..models import Autoencoder, build_model, check_config
from ..runs import BEST, CONFIG, HISTORY, LAST, METRICS, clear_run, run_data, run_lock, with_data

# a codebook whose validation usage falls under this fraction is reported as collapsed
COLLAPSE_BELOW = 0.05


def training_splits(cfg: Config, splits: Splits) -> Splits:
    """The splits a config trains on: the first `limit` training images, then only `only_digit`
    in training and validation (the test set stays whole)."""
    train, val = splits.train, splits.val
    if cfg.data.only_digit is not None and not train.labelled:
        raise ConfigError(
            f"--only-digit picks a label, and the images of {cfg.data.source} have none"
        )
    if cfg.data.limit is not None:
        train = train.subset(slice(0, cfg.data.limit))
    if cfg.data.only_digit is not None:
        train, val = (
            train.subset(train.labels == cfg.data.only_digit),
            val.subset(val.labels == cfg.data.only_digit),
        )
    return dataclasses.replace(splits, train=train, val=val)


@torch.no_grad()
def validate(model: Autoencoder, data, batch_size: int) -> dict[str, float]:
    """Mean loss terms of the training objective on `data` (eval mode; the loop seeds the draws)."""
    model.eval()
    sums: dict[str, float] = {}
    used = torch.zeros(model.n_codes, dtype=torch.bool) if model.has_codes else None
    for x, y in data.batches(batch_for(data.shape, max(batch_size, 500)), device=model.device):
        out = model(torch.bernoulli(x) if model.cfg.data.binarize else x, y)
        for k, v in out.losses.items():
            sums[k] = sums.get(k, 0.0) + float(v.double().sum())
        sums["loss"] = sums.get("loss", 0.0) + float(out.loss) * x.shape[0]
        if used is not None:
            used[out.codes.flatten().cpu()] = True
    terms = {k: v / len(data) for k, v in sums.items()}
    if used is not None:
        terms["codebook_usage"] = float(used.float().mean())
    return terms


def collapse_warning(terms: dict[str, float], n_codes: int) -> str | None:
    """The log's warning when an epoch's validation images use under COLLAPSE_BELOW of the
    codebook."""
    usage = terms.get("codebook_usage")
    if usage is None or usage >= COLLAPSE_BELOW:
        return None
    return (
        "warning: codebook collapse: at this epoch's end the "
        f"validation images use {round(usage * n_codes)} of "
        f"{n_codes} codes ({usage:.1%}, under {COLLAPSE_BELOW:.0%}); "
        "try --ema, --kmeans-init or --restart-dead"
    )


def train_model(
    cfg: Config,
    out: str | Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    checkpoint_every: int = 0,
    data_dir=None,
    device=None,
    splits: Splits | None = None,
    progress: bool | None = None,
    log: Log = stderr_log,
    after_epoch: Callable[[Autoencoder, dict], bool] | None = None,
) -> Path:
    """Train `cfg` into the run folder `out` and evaluate it; returns the folder.

    `splits` (optional) are the data set's full splits; `cfg.data.limit` and `cfg.data.only_digit`
    are applied to them here, and the image shape and number of labels are taken from them
    (runs.with_data), so config.json always says what the run trained on. `resume` continues from
    the last checkpoint, or starts again when the run stopped before its first one; `overwrite`
    replaces whatever run the folder holds; `checkpoint_every` steps also inside an epoch
    (latentzoo.loop); `after_epoch(model, history_row)` is called after each epoch and ends training
    early by returning True (e.g. once a target is reached). One process at a time writes into a run
    folder (runs.run_lock)."""
    out = Path(out)
    cfg.validate()
    dev = distributed.setup(resolve_device(device))
    main = distributed.is_main()
    splits = splits or run_data(cfg, data_dir)
    cfg = with_data(cfg, splits)  # the image shape and labels come from the data
    check_config(cfg)
    splits = training_splits(cfg, splits)
    init_seed(cfg.train.seed)
    model = build_model(cfg).to(dev)
    model.prepare()
    with run_lock(out) if main else contextlib.nullcontext():
        # every rank decides from the folder as it is, before rank 0 changes it
        restart = resume and not (out / LAST).is_file()
        if restart and not (out / CONFIG).is_file():
            raise RunError(f"nothing to resume in {out} (no {LAST})")
        if not resume and not overwrite and (out / CONFIG).exists():
            raise RunError(
                f"{out} already holds a run; pass --resume to continue "
                "it, --overwrite to replace it, "
                f"or choose another --out"
            )
        distributed.barrier()
        if main:
            if overwrite or restart:
                clear_run(out)
            if restart:
                log(f"{out} stopped before its first checkpoint; starting it again")
            write_json(out / CONFIG, cfg.to_dict())
        resume = resume and not restart

        net = distributed.wrap(model)  # averages gradients over the ranks under torchrun
        opt = torch.optim.Adam(
            model.parameters(), lr=cfg.train.lr, betas=(0.9, cfg.train.adam_beta2)
        )

        def step(batch, epoch: float):
            x, y = batch
            if cfg.data.binarize:
                x = torch.bernoulli(x)
            model.set_progress(epoch)
            with autocast(dev, cfg.train.precision):
                res = net(x, y)
            return res.loss, res.mean_losses(), x.shape[0]

        def batches(order: torch.Generator):
            for x, y in splits.train.batches(
                cfg.train.batch_size, shuffle=True, generator=order, device=dev
            ):
                rows = distributed.local_rows(x.shape[0])  # this rank's rows of the global batch
                yield turned(x, order)[rows], y[rows]

        def turned(x: torch.Tensor, order: torch.Generator) -> torch.Tensor:
            if cfg.train.views == 1:
                return x
            view = int(torch.randint(cfg.train.views, (1,), generator=order))  # one per batch
            return model.data_kind.view(x, view)

        def validate_epoch() -> dict[str, float]:
            terms = validate(model, splits.val, cfg.train.batch_size)
            warning = collapse_warning(terms, model.n_codes) if model.has_codes else None
            if warning and main:
                log(warning)
            return terms

        lr_at = (
            (lambda s, total: cfg.train.lr)
            if cfg.train.lr_schedule == "constant"
            else (lambda s, total: cosine_lr(cfg.train.lr, s, total))
        )
        history = fit(
            model,
            opt,
            epochs=cfg.train.epochs,
            steps=math.ceil(len(splits.train) / cfg.train.batch_size),
            batches=batches,
            step=step,
            seed=cfg.train.seed,
            lr_at=lr_at,
            validate=validate_epoch,
            select_by=model.select_by,
            files=Files(out / BEST, out / LAST, out / HISTORY),
            resume=resume,
            checkpoint_every=checkpoint_every,
            log=log,
            progress=progress,
            after_epoch=None if after_epoch is None else (lambda row: after_epoch(model, row)),
        )
        distributed.barrier()  # rank 0's files are written
        if main:
            finish(model, out, splits, history)
    return out


def finish(model: Autoencoder, out: Path, splits: Splits, history: list[dict]) -> dict:
    """Reload the kept weights, fit the latent Gaussian where the model has one, write
    metrics.json."""
    tensors, _ = load_tensors(out / BEST, model.device)
    model.load_state_dict(tensors)
    model.eval()
    if model.fits_latent_gaussian:
        with torch.no_grad():
            # (N, L)
            z = torch.cat(
                [
                    model.encode(x)
                    for x, _ in splits.train.batches(
                        batch_for(splits.train.shape, 1000), device=model.device
                    )
                ]
            )
        model.fit_latent_prior(z)
        save_tensors(out / BEST, model.state_dict())
    metrics = evaluate(model, splits.test)
    metrics.update(
        dataset=splits.name,
        n_train=len(splits.train),
        n_test=len(splits.test),
        epochs=len(history),
        train_seconds=round(sum(float(r["seconds"]) for r in history), 1),
        device=str(model.device),
        torch=torch.__version__,
    )
    write_json(out / METRICS, metrics)
    return metrics


__all__ = ["train_model", "training_splits", "validate", "finish"]
