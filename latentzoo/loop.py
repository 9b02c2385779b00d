"""The one training loop, shared by the autoencoders, the code prior and the MNIST classifier.

Seeding, one scheme for every job: `init_seed(seed)` before the model is built fixes its
initialisation; at the start of every epoch the global generator is re-seeded from (seed, epoch),
and the data order comes from a generator with that same seed, so each epoch's order, noise and
random draws are fixed by the seed alone. Validation is re-seeded the same way. A run resumed from
its last checkpoint therefore continues exactly as if it had never stopped.

Files (each optional): `best` holds the weights of the epoch with the lowest validation value of
`select_by`; `last` holds weights, optimizer state, the epoch and the best value so far after
every epoch (resume from it); `history` gets one CSV row per epoch. With `checkpoint_every=N`,
`last` is also written every N steps inside an epoch, with the step, the running sums of the epoch's
loss terms and the global generator's state, so a resumed run continues exactly from that step.

Signals: SIGINT and SIGTERM let the current step finish, write `last` at that step and raise
`Interrupted` (exit status 128 + the signal's number), whose message says how to resume.

Safety: a NaN or infinite loss stops training with `TrainingDiverged` before anything more is saved;
checkpoints are written only when every weight is finite.

Data-parallel (latentzoo.distributed, under torchrun): `batches` yields this rank's rows of each
global batch and `step` runs the model wrapped for gradient averaging; the loop weights each rank's
loss by its share of the global batch, sums the epoch's terms over the ranks, checks after every
epoch that the ranks hold the same weights, and writes files and logs on rank 0 only.
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from . import distributed
from .console import Log, progress_bar, stderr_log, use_progress_bar
from .errors import Interrupted, RunError, TrainingDiverged
from .files import load_tensors, read_csv, save_tensors, write_csv


def init_seed(seed: int) -> None:
    """Seed the global generator before a model is built: this fixes its initialisation."""
    torch.manual_seed(seed)


def epoch_seed(seed: int, epoch: int) -> int:
    return seed * 1_000_003 + epoch + 1


def cosine_lr(base: float, step: int, total: int) -> float:
    """Cosine decay from `base` to 0 over `total` steps (Loshchilov & Hutter 2017)."""
    return base * 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total))


def warmup_cosine_lr(base: float, step: int, total: int, warmup: float = 0.1) -> float:
    """A linear warm-up to `base` over the first `warmup` fraction of the steps, then cosine decay
    to 0."""
    w = max(1, int(warmup * total))
    return base * (step + 1) / w if step < w else cosine_lr(base, step - w, total - w)


@dataclass
class Files:
    best: Path | None = None
    last: Path | None = None
    history: Path | None = None


def optimizer_state(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], str]:
    sd = opt.state_dict()
    tensors = {f"optim.{pid}.{k}": v for pid, st in sd["state"].items() for k, v in st.items()}
    return tensors, json.dumps(sd["param_groups"])


def restore_optimizer(
    opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], groups_json: str
) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, v in tensors.items():
        if key.startswith("optim."):
            _, pid, name = key.split(".", 2)
            state.setdefault(int(pid), {})[name] = v
    opt.load_state_dict({"state": state, "param_groups": json.loads(groups_json)})


def all_finite(model: torch.nn.Module) -> bool:
    return all(
        bool(torch.isfinite(t).all()) for t in model.state_dict().values() if t.is_floating_point()
    )


@contextlib.contextmanager
def stop_on_signals():
    """While training: SIGINT and SIGTERM set `flag["signum"]` instead of killing the process; the
    first one restores the usual handlers, so a second one acts at once."""
    flag: dict[str, int | None] = {"signum": None}
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    # a signal the process was started to ignore (SIGINT in a background job) stays ignored
    old = {
        s: h
        for s in (signal.SIGINT, signal.SIGTERM)
        if (h := signal.getsignal(s)) is not signal.SIG_IGN
    }

    def handler(signum, _frame):
        flag["signum"] = signum
        for s, h in old.items():
            signal.signal(s, h)

    for s in old:
        signal.signal(s, handler)
    try:
        yield flag
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def save_last(
    path: Path,
    model: torch.nn.Module,
    opt: torch.optim.Optimizer,
    *,
    epoch: int,
    best: float,
    step: int = 0,
    sums: dict | None = None,
    seen: int = 0,
    seconds: float = 0.0,
) -> None:
    """The resume checkpoint after `epoch` finished epochs and `step` steps of the next one."""
    opt_tensors, groups = optimizer_state(opt)
    tensors = {**{f"model.{k}": v for k, v in model.state_dict().items()}, **opt_tensors}
    meta = {"epoch": str(epoch), "best_val": repr(best), "param_groups": groups}
    if step:  # inside an epoch: where it stood, and the random state that the rest of it draws from
        tensors["rng.torch"] = torch.get_rng_state()
        if torch.cuda.is_available():
            tensors["rng.cuda"] = torch.cuda.get_rng_state()
        meta.update(
            step=str(step), sums=json.dumps(sums or {}), seen=str(seen), seconds=repr(seconds)
        )
    save_tensors(path, tensors, meta)


def fit(
    model: torch.nn.Module,
    opt: torch.optim.Optimizer,
    *,
    epochs: int,
    steps: int,
    batches: Callable[[torch.Generator], Iterable],
    step: Callable[[Any, float], tuple[torch.Tensor, dict, int]],
    seed: int,
    lr_at: Callable[[int, int], float] | None = None,
    validate: Callable[[], dict[str, float]] | None = None,
    select_by: str | None = None,
    files: Files | None = None,
    resume: bool = False,
    clip_grad: float | None = None,
    name: str = "",
    checkpoint_every: int = 0,
    log: Log = stderr_log,
    progress: bool | None = None,
    after_epoch: Callable[[dict], bool] | None = None,
) -> list[dict]:
    """Train `model` for `epochs` epochs of `steps` batches; returns the history (one dict per
    epoch).

    batches(order) yields the epoch's batches in the order drawn from the generator `order`;
    step(batch, fractional_epoch) returns (scalar loss, mean terms of the batch incl. 'loss', batch
    size); lr_at(step, total) sets the learning rate before every step; validate() gives validation
    terms; after_epoch(row), on every rank once the epoch's files are written, stops training by
    returning True (its own time is not in the next epoch's seconds)."""
    files = files or Files()
    main, ranks = distributed.is_main(), distributed.world_size()
    if not main:  # every rank reads the checkpoint; rank 0 alone writes and speaks
        log, progress = (lambda m: None), False
    with stop_on_signals() as flag:
        start, start_step, best, history, partial = 0, 0, math.inf, [], None
        prefix = f"{name} " if name else ""
        if resume and files.last is not None:
            tensors, meta = load_tensors(files.last, next(model.parameters()).device)
            try:
                model.load_state_dict(
                    {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
                )
                restore_optimizer(opt, tensors, meta["param_groups"])
                start, best = int(meta["epoch"]), float(meta["best_val"])
                start_step = int(meta.get("step", 0))
                if start_step:
                    cuda_rng = tensors["rng.cuda"].cpu() if "rng.cuda" in tensors else None
                    partial = (
                        tensors["rng.torch"].cpu(),
                        cuda_rng,
                        json.loads(meta["sums"]),
                        int(meta["seen"]),
                        float(meta["seconds"]),
                    )
            # a checkpoint of another model, or damaged metadata
            except (KeyError, ValueError, RuntimeError) as e:
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise RunError(
                    f"{files.last}: not a checkpoint this run can resume from ({first})"
                ) from None
            if files.history is not None and files.history.exists():
                history = [
                    r
                    for r in read_csv(files.history, ("epoch", "seconds"))
                    if float(r["epoch"]) <= start
                ]
            where = files.last.parent
            log(
                f"{where}: already trained for {start} epochs (asked for {epochs}); evaluating only"
                if start >= epochs
                else f"resuming {where} at {prefix}epoch {start + 1}/{epochs}"
                + (f", step {start_step + 1}" if start_step else "")
            )

        bar = use_progress_bar(progress)
        for epoch in range(start, epochs):
            t0 = time.time()
            torch.manual_seed(epoch_seed(seed, epoch))
            order = torch.Generator().manual_seed(epoch_seed(seed, epoch))
            model.train()
            sums: dict[str, float] = {}
            seen, skip = 0, 0
            # resumed inside this epoch: continue where it stood
            if partial is not None and epoch == start:
                rng, rng_cuda, sums, seen, elapsed = partial
                torch.set_rng_state(rng)
                if rng_cuda is not None and torch.cuda.is_available():
                    torch.cuda.set_rng_state(rng_cuda)
                skip, t0 = start_step, t0 - elapsed
            it = progress_bar(
                batches(order), steps, f"{prefix}epoch {epoch + 1}/{epochs}", progress
            )
            for i, batch in enumerate(it):
                if i < skip:
                    continue
                if lr_at is not None:
                    for group in opt.param_groups:
                        group["lr"] = lr_at(epoch * steps + i, epochs * steps)
                loss, terms, n = step(batch, epoch + i / steps)
                # each rank's mean, weighted by its share: the gradient of the global mean
                if ranks > 1:
                    total = distributed.all_sum(torch.tensor([float(n)], device=loss.device))
                    loss = loss * (n * ranks / float(total))
                if not torch.isfinite(loss):
                    raise TrainingDiverged(
                        f"loss became {float(loss.detach())} at epoch "
                        f"{epoch + 1}, step {i + 1}; nothing "
                        f"was saved after the last checkpoint (try a lower --lr)"
                    )
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if clip_grad is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
                opt.step()
                seen += n
                for k, v in terms.items():
                    sums[k] = sums.get(k, 0.0) + v * n
                if bar:
                    it.set_postfix(loss=f"{sums['loss'] / seen:.3f}")
                due = checkpoint_every and (i + 1) % checkpoint_every == 0 and i + 1 < steps
                if (
                    main
                    and files.last is not None
                    and (due or flag["signum"])
                    and all_finite(model)
                ):
                    save_last(
                        files.last,
                        model,
                        opt,
                        epoch=epoch,
                        best=best,
                        step=i + 1,
                        sums=sums,
                        seen=seen,
                        seconds=time.time() - t0,
                    )
                if flag["signum"]:
                    stopped(flag["signum"], f"epoch {epoch + 1}, step {i + 1}", files.last)
            if ranks > 1:  # the epoch's terms over the whole data
                keys = sorted(sums)
                packed = distributed.all_sum(
                    torch.tensor(
                        [*(sums[k] for k in keys), float(seen)],
                        dtype=torch.float64,
                        device=next(model.parameters()).device,
                    )
                )
                sums, seen = {k: float(v) for k, v in zip(keys, packed[:-1])}, int(packed[-1])
                if not distributed.same_on_every_rank(model):
                    raise RuntimeError(
                        "the ranks' weights differ after epoch "
                        f"{epoch + 1}: data-parallel training "
                        f"went wrong"
                    )
            val: dict[str, float] = {}
            if validate is not None:
                torch.manual_seed(epoch_seed(seed, epoch))
                val = validate()
                model.train()
            if not (all(math.isfinite(v) for v in val.values()) and all_finite(model)):
                raise TrainingDiverged(
                    f"weights or validation loss became non-finite in epoch {epoch + 1}; nothing "
                    f"was saved from this epoch (try a lower --lr)"
                )
            row = {
                "epoch": epoch + 1,
                **{f"train_{k}": round(v / seen, 6) for k, v in sums.items()},
                **{f"val_{k}": round(v, 6) for k, v in val.items()},
                "seconds": round(time.time() - t0, 2),
            }
            history.append(row)
            improved = select_by is not None and val[select_by] < best
            if improved:
                best = val[select_by]
                if main and files.best is not None:
                    save_tensors(files.best, model.state_dict())
            if main and files.last is not None:
                save_last(files.last, model, opt, epoch=epoch + 1, best=best)
            if main and files.history is not None:
                write_csv(files.history, history)
            shown = ", ".join(f"{k} {v:.3f}" for k, v in val.items() if k != "loss")
            val_text = (
                (f"  val {val['loss']:.4f} ({shown})" if "loss" in val else f"  val {shown}")
                if val
                else ""
            )
            log(
                f"{prefix}epoch {epoch + 1}/{epochs}  train {sums['loss'] / seen:.4f}{val_text}  "
                f"{row['seconds']:.1f}s{'  *best' if improved else ''}"
            )
            if flag["signum"]:
                stopped(flag["signum"], f"the end of epoch {epoch + 1}", files.last)
            if after_epoch is not None and after_epoch(row):
                break
        return history


def stopped(signum: int, where: str, last: Path | None) -> None:
    name = signal.Signals(signum).name
    saved = (
        f"checkpoint written to {last}: continue with --resume"
        if last is not None
        else "no checkpoint kept"
    )
    raise Interrupted(f"stopped by {name} at {where}; {saved}", signum)
