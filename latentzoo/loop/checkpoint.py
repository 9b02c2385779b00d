"""The loop's files: the kept weights, the resume checkpoint (weights, optimizer state, and inside
an epoch the step, the running sums and the random state) and the history table."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from ..files import save_tensors


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
