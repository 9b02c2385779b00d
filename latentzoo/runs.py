"""Run folders and safe files: atomic writes, safetensors checkpoints, JSON configs, `load`.

A run folder holds:
  config.json          the Config that was used (JSON)
  model.safetensors    the best weights (lowest validation loss; VQ-VAE: reconstruction)
  last.safetensors     weights + optimizer state after the last finished epoch (for --resume);
                       the epoch and the best validation loss are in its metadata
  history.csv          one row per epoch
  metrics.json         final test metrics
  *.png                pictures
Every file is written to a temporary name in the same folder and then renamed, so a crash never
leaves a half-written file. Nothing is pickled: tensors go to safetensors, everything else to JSON.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as st_save

from .config import Config
from .errors import ConfigError, RunError

CONFIG, BEST, LAST, HISTORY, METRICS = "config.json", "model.safetensors", "last.safetensors", "history.csv", "metrics.json"


def atomic_write(path: str | os.PathLike, data: bytes | str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_csv(path: str | os.PathLike, rows: list[dict[str, Any]]) -> Path:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    w.writerows(rows)
    return atomic_write(path, buf.getvalue())


def read_csv(path: str | os.PathLike) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def save_tensors(path: str | os.PathLike, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> Path:
    cpu = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    return atomic_write(path, st_save(cpu, metadata=metadata))


def load_tensors(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    path = Path(path)
    if not path.is_file():
        raise RunError(f"{path} is missing")
    try:
        with safe_open(str(path), framework="pt", device=str(device)) as f:
            return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})
    except (SafetensorError, OSError, ValueError) as e:
        raise RunError(f"{path}: not a readable safetensors file ({e})") from None


def read_config(run_dir: str | os.PathLike) -> Config:
    run_dir = Path(run_dir)
    path = run_dir / CONFIG
    if not run_dir.is_dir():
        raise RunError(f"no run folder at {run_dir}")
    if not path.is_file():
        raise RunError(f"{run_dir} is not a latentzoo run (no {CONFIG})")
    try:
        return Config.from_dict(json.loads(path.read_text()))
    except (json.JSONDecodeError, TypeError) as e:
        raise RunError(f"{path}: unreadable config ({e})") from None
    except ConfigError as e:
        raise RunError(f"{path}: {e}") from None


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_device(device: str | torch.device | None) -> torch.device:
    if device is None or device == "auto":
        return default_device()
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda asked for, but torch sees no CUDA device")
    return dev


def load(run_dir: str | os.PathLike, which: str = "best", device: str | torch.device | None = None) -> torch.nn.Module:
    """Rebuild the model of a run folder from config.json and its weights (eval mode).

    which: 'best' (model.safetensors, the kept epoch; see latentzoo.training) or 'last' (end of the last epoch)."""
    from .models import build_model

    cfg = read_config(run_dir)
    dev = resolve_device(device)
    model = build_model(cfg)
    fname = BEST if which == "best" else LAST
    tensors, _ = load_tensors(Path(run_dir) / fname)
    weights = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")} if which == "last" else tensors
    try:
        model.load_state_dict(weights)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0]
        raise RunError(f"{Path(run_dir) / fname} does not fit its config.json ({first})") from None
    model = model.to(dev).eval()
    if cfg.model == "vqvae":
        from .priors import load_prior

        model.attach_prior(load_prior(run_dir, dev))
    return model


def read_metrics(run_dir: str | os.PathLike) -> dict[str, Any]:
    path = Path(run_dir) / METRICS
    return json.loads(path.read_text()) if path.is_file() else {}
