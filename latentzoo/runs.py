"""Run folders: what a run folder holds, reading its config (any version), and `load`.

A run folder holds:
  config.json          the Config that was used (JSON, with its config_version)
  model.safetensors    the kept weights (best validation loss; VQ-VAE: reconstruction)
  last.safetensors     weights + optimizer state after the last finished epoch (for --resume);
                       the epoch and the best validation value are in its metadata
  history.csv          one row per epoch
  metrics.json         final test metrics
  *.png, report.html   pictures and the page (written by the command line)
and after `train-prior` also prior.safetensors, prior_config.json, prior_history.csv and
prior_metrics.json; a VAE measured by the bench also likelihood.json (IS-NLL, keyed by the weights'
hash, k and the images). Files are written atomically by latentzoo.files; nothing is pickled.

One writer per run folder: `run_lock(folder)` holds `.lock` (with the holder's process id) while a
job writes there; a second job gets a one-line error, and a lock whose holder is gone is taken over.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from .config import Config
from .data import Splits, load_dataset
from .device import resolve_device
from .errors import ConfigError, DataError, RunError
from .files import load_tensors, read_json, staged
from .kinds import data_kind
from .models import Autoencoder, CodePrior, PriorConfig, VQVAEWithPrior, build_model
from .zoo import is_zoo, locate

CONFIG, BEST, LAST, HISTORY, METRICS = (
    "config.json",
    "model.safetensors",
    "last.safetensors",
    "history.csv",
    "metrics.json",
)
PRIOR_WEIGHTS, PRIOR_LAST, PRIOR_CONFIG, PRIOR_HISTORY, PRIOR_METRICS = (
    "prior.safetensors",
    "prior_last.safetensors",
    "prior_config.json",
    "prior_history.csv",
    "prior_metrics.json",
)
LIKELIHOOD = "likelihood.json"
RESIDUALS = "clean_residuals.safetensors"  # the safeguard's, kept by `denoise`
VIEWS_RESIDUALS = "clean_residuals-views{}.safetensors"  # ... over a self-ensemble's views


LOCK = ".lock"
# what latentzoo writes into a run folder: the files `clear_run` may remove
RUN_FILES = (
    CONFIG,
    BEST,
    LAST,
    HISTORY,
    METRICS,
    PRIOR_WEIGHTS,
    PRIOR_LAST,
    PRIOR_CONFIG,
    PRIOR_HISTORY,
    PRIOR_METRICS,
    LIKELIHOOD,
    RESIDUALS,
    "report.html",
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


@contextlib.contextmanager
def run_lock(run_dir: str | os.PathLike) -> Iterator[Path]:
    """Hold the run folder's lock for the duration of a job that writes into it (see the module
    docstring); the zoo's folders inside the installed package are refused."""
    run_dir = Path(run_dir)
    if is_zoo(run_dir):
        raise RunError(
            f"{run_dir.name} is a model of the zoo, inside the installed package: nothing is "
            "written there (give --out for a folder of your own)"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                pid = int(path.read_text().strip() or "0")
            except (OSError, ValueError):
                pid = 0
            if pid and pid != os.getpid() and _alive(pid):
                raise RunError(
                    f"{run_dir} is being written by process {pid} (lock "
                    f"file {path}); wait for it to "
                    f"finish or stop it"
                ) from None
            path.unlink(missing_ok=True)  # its holder is gone: take the lock over
            continue
        with os.fdopen(fd, "w") as f:
            f.write(f"{os.getpid()}\n")
        break
    else:
        raise RunError(f"{run_dir}: could not take the lock file {path}")
    try:
        yield run_dir
    finally:
        path.unlink(missing_ok=True)


def residuals_file(views: int = 1) -> str:
    """The name of the file in which `denoise` keeps the safeguard's clean residuals measured over
    a self-ensemble of `views` views (RESIDUALS for one)."""
    return RESIDUALS if views == 1 else VIEWS_RESIDUALS.format(views)


def clear_run(run_dir: str | os.PathLike) -> None:
    """Remove what latentzoo wrote into a run folder (its files and pictures), nothing else."""
    run_dir = Path(run_dir)
    kept = run_dir.glob(VIEWS_RESIDUALS.format("*"))
    for p in [*(run_dir / n for n in RUN_FILES), *kept, *run_dir.glob("*.png")]:
        p.unlink(missing_ok=True)


def run_data(cfg: Config, data_dir=None) -> Splits:
    """The splits a config's data set gives: MNIST or digits (found by latentzoo.data), or the
    user's `cfg.data.source` loaded as the config says (latentzoo.sources). When the config holds
    the data's fingerprint, data that changed since is a DataError, never silently other data."""
    if cfg.data.dataset != "files":
        return load_dataset(cfg.data.dataset, data_dir)
    splits = data_kind(cfg.data.data_kind).read_source(cfg.data)
    if cfg.data.data_hash is not None and splits.fingerprint != cfg.data.data_hash:
        raise DataError(
            f"{cfg.data.source}: the data changed since the run was trained "
            f"(SHA-256 {splits.fingerprint[:12]}..., "
            f"the run's config.json says {cfg.data.data_hash[:12]}...)"
        )
    return splits


def with_data(cfg: Config, splits: Splits) -> Config:
    """`cfg` completed by what the data says: image shape, number of labels, and for the user's own
    data its absolute path and fingerprint."""
    values = dict(
        shape=tuple(splits.train.shape),
        n_classes=len(splits.classes) if splits.train.labelled else 0,
    )
    if cfg.data.dataset == "files":
        values.update(source=str(Path(cfg.data.source).resolve()), data_hash=splits.fingerprint)
    return cfg.replace(**values, **splits.found)


def read_config(run_dir: str | os.PathLike) -> Config:
    """The run's Config, migrated from whichever config_version wrote it (`run_dir` may be a zoo
    name)."""
    run_dir = locate(run_dir)
    path = run_dir / CONFIG
    if not run_dir.is_dir():
        named = len(run_dir.parts) == 1  # a bare name may have meant a zoo model
        raise RunError(
            f"no run folder at {run_dir}" + (" and no zoo model of that name" if named else "")
        )
    if not path.is_file():
        raise RunError(f"{run_dir} is not a latentzoo run (no {CONFIG})")
    try:
        return Config.from_dict(json.loads(path.read_text()))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, TypeError) as e:
        raise RunError(f"{path}: unreadable config ({e})") from None
    except ConfigError as e:
        raise RunError(f"{path}: {e}") from None


def load_weights(model: torch.nn.Module, path: Path, prefix: str = "") -> None:
    """Load the weights at `path` (those under `prefix`, stripped) into `model`; a mismatch is one
    line."""
    tensors, _ = load_tensors(path)
    weights = (
        {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        if prefix
        else tensors
    )
    try:
        model.load_state_dict(weights)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0]
        raise RunError(f"{path} does not fit its config ({first})") from None


def load_prior_config(run_dir: str | os.PathLike) -> PriorConfig:
    """The prior settings saved in a run folder (a field missing from an older file: its
    default)."""
    path = Path(run_dir) / PRIOR_CONFIG
    try:
        cfg = PriorConfig.from_dict(read_json(path), complete=False)
    except (TypeError, ConfigError) as e:
        raise RunError(f"{path}: unreadable prior config ({e})") from None
    return cfg


def load_prior(run_dir: str | os.PathLike, device: str | torch.device = "cpu") -> CodePrior | None:
    """The prior saved in a run folder (eval mode), or None when there is none."""
    run_dir = Path(run_dir)
    if not (run_dir / PRIOR_WEIGHTS).is_file():
        return None
    prior = CodePrior(load_prior_config(run_dir))
    load_weights(prior, run_dir / PRIOR_WEIGHTS)
    return prior.to(device).eval()


def load(
    run_dir: str | os.PathLike, which: str = "best", device: str | torch.device | None = None
) -> Autoencoder:
    """Rebuild the model of a run folder from config.json and its weights (eval mode).

    which: 'best' (model.safetensors, the kept epoch) or 'last' (the end of the last epoch). A model
    with codes and a prior in its folder comes back composed with it (VQVAEWithPrior), so it
    samples. `run_dir` may name a model of the zoo (latentzoo.zoo)."""
    run_dir = locate(run_dir)
    if which not in ("best", "last"):
        raise ConfigError(f"which must be 'best' or 'last', got {which!r}")
    cfg = read_config(run_dir)
    dev = resolve_device(device)
    model = build_model(cfg)
    load_weights(
        model,
        Path(run_dir) / (BEST if which == "best" else LAST),
        "model." if which == "last" else "",
    )
    model = model.to(dev).eval()
    prior = load_prior(run_dir, dev) if model.has_codes else None
    grid = model.grid[0] * model.grid[1] if prior is not None else 0
    if prior is not None and (prior.cfg.n_codes, prior.cfg.length) != (cfg.model.n_codes, grid):
        raise RunError(
            f"{Path(run_dir) / PRIOR_WEIGHTS} is a prior over {prior.cfg.length} positions of "
            f"{prior.cfg.n_codes} codes, but the run's model has "
            f"{grid} of {cfg.model.n_codes}: it belongs to "
            f"another VQ-VAE"
        )
    return VQVAEWithPrior(model, prior).eval() if prior is not None else model


def copy_model(run_dir: str | os.PathLike, out: str | os.PathLike) -> Path:
    """A copy of the run's model (config, kept weights, metrics) in `out`, a new folder, so that a
    job can write there (train-prior on a zoo model); `out`."""
    src, out = locate(run_dir), Path(out)
    read_config(src)
    if (out / CONFIG).exists():
        raise RunError(f"{out} already holds a run: give a new folder")
    with staged() as stage:
        for name in (CONFIG, BEST, METRICS):
            if (src / name).is_file():
                stage(out / name).write_bytes((src / name).read_bytes())
    return out


def weights_digest(run_dir: str | os.PathLike) -> str:
    """The SHA-256 (hex) of a run's kept weights: what figures measured on them are kept under."""
    return hashlib.sha256((Path(run_dir) / BEST).read_bytes()).hexdigest()


def read_metrics(run_dir: str | os.PathLike, name: str = METRICS) -> dict[str, Any]:
    """A run's metrics file as a dict ({} when it is not there yet)."""
    path = Path(run_dir) / name
    if not path.is_file():
        return {}
    m = read_json(path)
    if not isinstance(m, dict):
        raise RunError(f"{path}: expected a JSON object of metrics")
    return m
