"""The model zoo: trained runs shipped inside the package, usable by name wherever a run folder is.

Each folder beside this file is a run folder (config.json, model.safetensors, metrics.json, and for
a VQ-VAE its prior) with one more file, zoo.json: what the model is for, the command, seed and
commit that trained it, the dtype its weights are stored in, and its test metrics on the first
test images (tests/test_zoo.py measures them again). `scripts/train_zoo.py` writes them all.
A folder of the same name in the working directory wins over a zoo model."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..files import read_json

ZOO = Path(__file__).resolve().parent
RECORD = "zoo.json"


def names() -> list[str]:
    """The zoo's model names, sorted."""
    return sorted(p.parent.name for p in ZOO.glob(f"*/{RECORD}"))


def locate(run: str | os.PathLike) -> Path:
    """The run folder that `run` names: the path itself when it exists or is no zoo name, else the
    zoo's model of that name."""
    path = Path(run)
    if path.exists() or str(run) not in names():
        return path
    return ZOO / str(run)


def is_zoo(run: str | os.PathLike) -> bool:
    """Whether `run` is a folder of the installed zoo (never to be written into)."""
    return Path(run).resolve().parent == ZOO


def record(name: str) -> dict[str, Any]:
    """The zoo.json of the model `name`."""
    return read_json(ZOO / name / RECORD)
