"""One training loop for every model: Adam, seeded, validated each epoch, resumable.

Reproducibility: `cfg.seed` seeds the initialisation; at the start of every epoch the global
generator is re-seeded from (seed, epoch), which fixes that epoch's data order, corruption, VAE
noise and codebook restarts. An interrupted run resumed with `resume=True` therefore continues
exactly as if it had never stopped (from the end of the last finished epoch).

Checkpoints: `last.safetensors` after every epoch (resume from it); `model.safetensors` holds the epoch
with the lowest validation value of the model's `select_by` term: the total loss ("loss"), except
for the VQ-VAE, whose kept epoch is the one with the lowest reconstruction term ("recon").

Safety: a NaN or infinite loss stops training with `TrainingDiverged` before anything is saved;
checkpoints are written only when every weight is finite.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Callable

import torch

from .config import Config
from .data import Splits, load_dataset
from .errors import RunError, TrainingDiverged
from .metrics import evaluate
from .models import build_model
from .runs import (BEST, CONFIG, HISTORY, LAST, METRICS, load_tensors, read_csv,
                   resolve_device, save_tensors, write_csv, write_json)



def epoch_seed(seed: int, epoch: int) -> int:
    return seed * 1_000_003 + epoch + 1


def learning_rate(cfg: Config, step: int, total: int) -> float:
    """The learning rate at a global step: constant, or cosine decay from cfg.lr to 0 over `total`."""
    if cfg.lr_schedule == "constant":
        return cfg.lr
    return cfg.lr * 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total))


def stderr_log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def use_progress_bar(progress: bool | None) -> bool:
    return sys.stderr.isatty() if progress is None else progress


def progress_bar(iterable, total: int | None = None, desc: str = "", progress: bool | None = None):
    """`iterable` wrapped in a tqdm bar on a terminal (or when progress=True); unchanged otherwise."""
    if not use_progress_bar(progress):
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=False, file=sys.stderr)


# --------------------------------------------------------------------------- optimizer state

def optimizer_state(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], str]:
    sd = opt.state_dict()
    tensors = {f"optim.{pid}.{k}": v for pid, st in sd["state"].items() for k, v in st.items()}
    return tensors, json.dumps(sd["param_groups"])


def restore_optimizer(opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], groups_json: str) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, v in tensors.items():
        if key.startswith("optim."):
            _, pid, name = key.split(".", 2)
            state.setdefault(int(pid), {})[name] = v
    opt.load_state_dict({"state": state, "param_groups": json.loads(groups_json)})


def all_finite(model: torch.nn.Module) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in model.state_dict().values() if t.is_floating_point())


# --------------------------------------------------------------------------- the loop

@torch.no_grad()
def validate(model: torch.nn.Module, data, batch_size: int, seed: int) -> dict[str, float]:
    """Mean loss terms of the training objective on `data` (eval mode, fixed random draws)."""
    model.eval()
    torch.manual_seed(seed)
    sums: dict[str, float] = {}
    for x, y in data.batches(max(batch_size, 500), device=model.device):
        out = model(torch.bernoulli(x) if model.cfg.binarize else x, y)
        for k, v in out.losses.items():
            sums[k] = sums.get(k, 0.0) + float(v.double().sum())
        sums["loss"] = sums.get("loss", 0.0) + float(out.loss) * x.shape[0]
    model.train()
    return {k: v / len(data) for k, v in sums.items()}


def train(cfg: Config, out: str | Path, *, resume: bool = False, data_dir=None, device=None,
          splits: Splits | None = None, progress: bool | None = None,
          log: Callable[[str], None] = stderr_log) -> Path:
    """Train `cfg` into the run folder `out`; returns the folder. See the module docstring."""
    out = Path(out)
    cfg.validate()
    if resume:
        if not (out / LAST).is_file():
            raise RunError(f"nothing to resume in {out} (no {LAST})")
    elif (out / CONFIG).exists():
        raise RunError(f"{out} already holds a run; pass --resume to continue it, or choose another --out")
    dev = resolve_device(device)
    splits = splits or load_dataset(cfg.dataset, data_dir, cfg.limit)
    if cfg.only_digit is not None:  # one-class training; the test set stays whole
        keep = lambda s: s.subset(s.labels == cfg.only_digit)  # noqa: E731
        splits = Splits(splits.name, keep(splits.train), keep(splits.val), splits.test)
    write_json(out / CONFIG, json.loads(cfg.to_json()))

    torch.manual_seed(cfg.seed)
    model = build_model(cfg).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.9, cfg.adam_beta2))
    start, best, history = 0, math.inf, []
    if resume:
        tensors, meta = load_tensors(out / LAST, dev)
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        restore_optimizer(opt, tensors, meta["param_groups"])
        start, best = int(meta["epoch"]), float(meta["best_val"])
        history = [r for r in read_csv(out / HISTORY) if int(r["epoch"]) <= start] if (out / HISTORY).exists() else []
        if start >= cfg.epochs:
            log(f"{out}: already trained for {start} epochs (asked for {cfg.epochs}); evaluating only")
        else:
            log(f"resuming {out} at epoch {start + 1}/{cfg.epochs}")

    bar = use_progress_bar(progress)
    steps = math.ceil(len(splits.train) / cfg.batch_size)
    for epoch in range(start, cfg.epochs):
        t0 = time.time()
        torch.manual_seed(epoch_seed(cfg.seed, epoch))
        order = torch.Generator().manual_seed(epoch_seed(cfg.seed, epoch))
        model.train()
        sums: dict[str, float] = {}
        seen = 0
        batches = progress_bar(splits.train.batches(cfg.batch_size, shuffle=True, generator=order, device=dev),
                               steps, f"epoch {epoch + 1}/{cfg.epochs}", progress)
        for i, (x, y) in enumerate(batches):
            if cfg.binarize:
                x = torch.bernoulli(x)
            model.set_progress(epoch + i / steps)
            for group in opt.param_groups:
                group["lr"] = learning_rate(cfg, epoch * steps + i, cfg.epochs * steps)
            res = model(x, y)
            if not torch.isfinite(res.loss):
                raise TrainingDiverged(f"loss became {float(res.loss.detach())} at epoch {epoch + 1}, step {i + 1}; nothing "
                                       f"was saved from this epoch (try a lower --lr)")
            opt.zero_grad(set_to_none=True)
            res.loss.backward()
            opt.step()
            seen += x.shape[0]
            for k, v in res.mean_losses().items():
                sums[k] = sums.get(k, 0.0) + v * x.shape[0]
            if bar:
                batches.set_postfix(loss=f"{sums['loss'] / seen:.3f}")
        val = validate(model, splits.val, cfg.batch_size, epoch_seed(cfg.seed, epoch))
        if not (math.isfinite(val["loss"]) and all_finite(model)):
            raise TrainingDiverged(f"weights or validation loss became non-finite in epoch {epoch + 1}; nothing "
                                   f"was saved from this epoch (try a lower --lr)")
        row = {"epoch": epoch + 1, **{f"train_{k}": round(v / seen, 6) for k, v in sums.items()},
               **{f"val_{k}": round(v, 6) for k, v in val.items()}, "seconds": round(time.time() - t0, 2)}
        history.append(row)
        score = val[getattr(model, "select_by", "loss")]
        improved = score < best
        if improved:
            best = score
            save_tensors(out / BEST, model.state_dict())
        opt_tensors, groups = optimizer_state(opt)
        save_tensors(out / LAST, {**{f"model.{k}": v for k, v in model.state_dict().items()}, **opt_tensors},
                     {"epoch": str(epoch + 1), "best_val": repr(best), "param_groups": groups})
        write_csv(out / HISTORY, history)
        terms = ", ".join(f"{k} {v:.3f}" for k, v in val.items() if k != "loss")
        log(f"epoch {epoch + 1}/{cfg.epochs}  train {sums['loss'] / seen:.4f}  val {val['loss']:.4f} ({terms})  "
            f"{row['seconds']:.1f}s{'  *best' if improved else ''}")

    finish(model, cfg, out, splits, history)
    return out


def finish(model: torch.nn.Module, cfg: Config, out: Path, splits: Splits, history: list[dict]) -> dict:
    """Reload the best weights, fit the AE's latent Gaussian, write metrics.json and the report."""
    from .report import make_report

    tensors, _ = load_tensors(out / BEST, model.device)
    model.load_state_dict(tensors)
    model.eval()
    if cfg.model in ("ae", "dae"):
        with torch.no_grad():
            z = torch.cat([model.encode(x) for x, _ in splits.train.batches(1000, device=model.device)])  # (N, L)
        model.fit_latent_prior(z)
        save_tensors(out / BEST, model.state_dict())
    metrics = evaluate(model, splits.test)
    metrics.update(dataset=splits.name, n_train=len(splits.train), n_test=len(splits.test),
                   epochs=len(history), train_seconds=round(sum(float(r["seconds"]) for r in history), 1),
                   device=str(model.device), torch=torch.__version__)
    write_json(out / METRICS, metrics)
    make_report(out, test=splits.test, device=model.device)
    return metrics
