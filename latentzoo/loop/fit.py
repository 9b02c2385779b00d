"""`fit`: the one training loop, in named parts (see the package docstring for what it promises).

fit(...) = Fit(...).run():
    restore        resume from the last checkpoint: weights, optimizer, where it stood
    for each epoch:
        epoch      seed the epoch, then its steps (each: lr, loss, NaN check, backward, a
                   mid-epoch checkpoint when due or on a signal)
        gather     the epoch's loss sums over every rank
        end_epoch  validate, check, keep the best, write the checkpoint and history, log
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch

from .. import distributed
from ..console import Log, progress_bar, stderr_log, use_progress_bar
from ..errors import RunError, TrainingDiverged
from ..files import load_tensors, read_csv, save_tensors, write_csv
from .checkpoint import Files, all_finite, restore_optimizer, save_last
from .schedule import epoch_seed
from .signals import fault_point, stop_on_signals, stopped


@dataclass
class MidEpoch:
    """What a checkpoint written inside an epoch holds besides the weights."""

    step: int  # steps of the epoch already done
    rng: torch.Tensor
    rng_cuda: torch.Tensor | None
    sums: dict[str, float]
    seen: int
    seconds: float


@dataclass
class Standing:
    """Where training stands: finished epochs, the best validation value, the history so far."""

    epochs_done: int = 0
    best: float = math.inf
    history: list[dict] = field(default_factory=list)
    mid_epoch: MidEpoch | None = None


@dataclass
class EpochSums:
    """One epoch's training terms, summed over its examples, and when it began."""

    sums: dict[str, float]
    seen: int
    t0: float


def fit(model: torch.nn.Module, opt: torch.optim.Optimizer, **settings) -> list[dict]:
    """Train `model` for `epochs` epochs of `steps` batches; returns the history (one dict per
    epoch). The settings are `Fit`'s."""
    return Fit(model, opt, **settings).run()


class Fit:
    """batches(order) yields the epoch's batches in the order drawn from the generator `order`;
    step(batch, fractional_epoch) returns (scalar loss, mean terms of the batch incl. 'loss', batch
    size); lr_at(step, total) sets the learning rate before every step; validate() gives validation
    terms; after_epoch(row), on every rank once the epoch's files are written, stops training by
    returning True (its own time is not in the next epoch's seconds)."""

    def __init__(
        self,
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
    ):
        self.model, self.opt = model, opt
        self.epochs, self.steps, self.batches, self.step, self.seed = (
            epochs,
            steps,
            batches,
            step,
            seed,
        )
        self.lr_at, self.validate, self.select_by = lr_at, validate, select_by
        self.files, self.resume, self.clip_grad = files or Files(), resume, clip_grad
        self.prefix = f"{name} " if name else ""
        self.checkpoint_every, self.after_epoch = checkpoint_every, after_epoch
        self.main, self.ranks = distributed.is_main(), distributed.world_size()
        # every rank reads the checkpoint; rank 0 alone writes and speaks
        self.log = log if self.main else (lambda m: None)
        self.progress = progress if self.main else False
        self.flag: dict[str, int | None] = {"signum": None}

    def run(self) -> list[dict]:
        with stop_on_signals() as self.flag:
            at = self.restore() if self.resume and self.files.last is not None else Standing()
            for epoch in range(at.epochs_done, self.epochs):
                done = self.epoch(epoch, at.mid_epoch if epoch == at.epochs_done else None, at.best)
                row = self.end_epoch(epoch, self.gather(epoch, done), at)
                if self.after_epoch is not None and self.after_epoch(row):
                    break
            return at.history

    def restore(self) -> Standing:
        """Where the last checkpoint left off; a checkpoint of another model is a RunError."""
        last = self.files.last
        assert last is not None
        tensors, meta = load_tensors(last, next(self.model.parameters()).device)
        try:
            weights = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
            self.model.load_state_dict(weights)
            restore_optimizer(self.opt, tensors, meta["param_groups"])
            at = Standing(int(meta["epoch"]), float(meta["best_val"]))
            if int(meta.get("step", 0)):
                cuda = tensors["rng.cuda"].cpu() if "rng.cuda" in tensors else None
                at.mid_epoch = MidEpoch(
                    int(meta["step"]),
                    tensors["rng.torch"].cpu(),
                    cuda,
                    json.loads(meta["sums"]),
                    int(meta["seen"]),
                    float(meta["seconds"]),
                )
        # a checkpoint of another model, or damaged metadata
        except (KeyError, ValueError, RuntimeError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise RunError(f"{last}: not a checkpoint this run can resume from ({first})") from None
        history = self.files.history
        if history is not None and history.exists():
            rows = read_csv(history, ("epoch", "seconds"))
            at.history = [r for r in rows if float(r["epoch"]) <= at.epochs_done]
        self.log_resume(at)
        return at

    def log_resume(self, at: Standing) -> None:
        where, done = self.files.last.parent if self.files.last else "", at.epochs_done
        if done >= self.epochs:
            self.log(
                f"{where}: already trained for {done} epochs (asked for {self.epochs}); "
                "evaluating only"
            )
            return
        step = f", step {at.mid_epoch.step + 1}" if at.mid_epoch else ""
        self.log(f"resuming {where} at {self.prefix}epoch {done + 1}/{self.epochs}{step}")

    def epoch(self, epoch: int, mid: MidEpoch | None, best: float) -> EpochSums:
        """One epoch's steps, seeded from (seed, epoch); a mid-epoch checkpoint continues there."""
        t0 = time.time()
        torch.manual_seed(epoch_seed(self.seed, epoch))
        order = torch.Generator().manual_seed(epoch_seed(self.seed, epoch))
        self.model.train()
        done, skip = EpochSums({}, 0, t0), 0
        if mid is not None:  # resumed inside this epoch: continue where it stood
            torch.set_rng_state(mid.rng)
            if mid.rng_cuda is not None and torch.cuda.is_available():
                torch.cuda.set_rng_state(mid.rng_cuda)
            done, skip = EpochSums(mid.sums, mid.seen, t0 - mid.seconds), mid.step
        title = f"{self.prefix}epoch {epoch + 1}/{self.epochs}"
        bar = use_progress_bar(self.progress)
        it = progress_bar(self.batches(order), self.steps, title, self.progress)
        for i, batch in enumerate(it):
            if i < skip:
                continue
            self.one_step(epoch, i, batch, done)
            if bar:
                it.set_postfix(loss=f"{done.sums['loss'] / done.seen:.3f}")
            self.mid_epoch_checkpoint(epoch, i, done, best)
        return done

    def one_step(self, epoch: int, i: int, batch, done: EpochSums) -> None:
        fault_point(f"{self.prefix}epoch {epoch + 1}, step {i + 1}")
        if self.lr_at is not None:
            for group in self.opt.param_groups:
                group["lr"] = self.lr_at(epoch * self.steps + i, self.epochs * self.steps)
        loss, terms, n = self.step(batch, epoch + i / self.steps)
        if self.ranks > 1:  # each rank's mean, weighted by its share: the global mean's gradient
            total = distributed.all_sum(torch.tensor([float(n)], device=loss.device))
            loss = loss * (n * self.ranks / float(total))
        if not torch.isfinite(loss):
            raise TrainingDiverged(
                f"loss became {float(loss.detach())} at epoch {epoch + 1}, step {i + 1}; nothing "
                "was saved after the last checkpoint (try a lower --lr)"
            )
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.clip_grad is not None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip_grad)
        self.opt.step()
        done.seen += n
        for k, v in terms.items():
            done.sums[k] = done.sums.get(k, 0.0) + v * n

    def mid_epoch_checkpoint(self, epoch: int, i: int, done: EpochSums, best: float) -> None:
        """The resume checkpoint after step i + 1 when due (or on a signal, then stop)."""
        every, last, signum = self.checkpoint_every, self.files.last, self.flag["signum"]
        due = every and (i + 1) % every == 0 and i + 1 < self.steps
        if self.main and last is not None and (due or signum) and all_finite(self.model):
            seconds = time.time() - done.t0
            save_last(
                last,
                self.model,
                self.opt,
                epoch=epoch,
                best=best,
                step=i + 1,
                sums=done.sums,
                seen=done.seen,
                seconds=seconds,
            )
        if signum:
            stopped(signum, f"epoch {epoch + 1}, step {i + 1}", last)

    def gather(self, epoch: int, done: EpochSums) -> EpochSums:
        """The epoch's terms over the whole data (all ranks), and a check that they agree."""
        if self.ranks == 1:
            return done
        keys = sorted(done.sums)
        device = next(self.model.parameters()).device
        values = [*(done.sums[k] for k in keys), float(done.seen)]
        packed = distributed.all_sum(torch.tensor(values, dtype=torch.float64, device=device))
        if not distributed.same_on_every_rank(self.model):
            raise RuntimeError(
                f"the ranks' weights differ after epoch {epoch + 1}: data-parallel training went "
                "wrong"
            )
        sums = {k: float(v) for k, v in zip(keys, packed[:-1])}
        return EpochSums(sums, int(packed[-1]), done.t0)

    def end_epoch(self, epoch: int, done: EpochSums, at: Standing) -> dict:
        """Validate, check, keep the best weights, write the checkpoint and history, log; returns
        the epoch's history row."""
        val: dict[str, float] = {}
        if self.validate is not None:
            torch.manual_seed(epoch_seed(self.seed, epoch))
            val = self.validate()
            self.model.train()
        if not (all(math.isfinite(v) for v in val.values()) and all_finite(self.model)):
            raise TrainingDiverged(
                f"weights or validation loss became non-finite in epoch {epoch + 1}; nothing was "
                "saved from this epoch (try a lower --lr)"
            )
        row = {
            "epoch": epoch + 1,
            **{f"train_{k}": round(v / done.seen, 6) for k, v in done.sums.items()},
            **{f"val_{k}": round(v, 6) for k, v in val.items()},
            "seconds": round(time.time() - done.t0, 2),
        }
        at.history.append(row)
        improved = self.select_by is not None and val[self.select_by] < at.best
        if improved:
            at.best = val[self.select_by]
        self.write_files(epoch, at, improved)
        fault_point(f"{self.prefix}end of epoch {epoch + 1}")
        self.log_epoch(epoch, done, val, row, improved)
        if self.flag["signum"]:
            stopped(self.flag["signum"], f"the end of epoch {epoch + 1}", self.files.last)
        return row

    def write_files(self, epoch: int, at: Standing, improved: bool) -> None:
        files = self.files
        if not self.main:
            return
        if improved and files.best is not None:
            save_tensors(files.best, self.model.state_dict())
        if files.last is not None:
            save_last(files.last, self.model, self.opt, epoch=epoch + 1, best=at.best)
        if files.history is not None:
            write_csv(files.history, at.history)

    def log_epoch(self, epoch: int, done: EpochSums, val: dict, row: dict, improved: bool) -> None:
        shown = ", ".join(f"{k} {v:.3f}" for k, v in val.items() if k != "loss")
        val_text = ""
        if val:
            val_text = f"  val {val['loss']:.4f} ({shown})" if "loss" in val else f"  val {shown}"
        self.log(
            f"{self.prefix}epoch {epoch + 1}/{self.epochs}  train "
            f"{done.sums['loss'] / done.seen:.4f}{val_text}  {row['seconds']:.1f}s"
            f"{'  *best' if improved else ''}"
        )
