"""What the command line's `train` does, as one Python call, so that both leave the same run folder.

`train(cfg, out, ...)`: `latentzoo.training.train_model` (the model, its checkpoints, history and
metrics), then on the main process the run's pictures and its HTML report (latentzoo.viz). With
`report=False` it is `train_model` alone.
"""

from __future__ import annotations

from pathlib import Path

from . import distributed
from .config import Config
from .loop.signals import fault_point
from .training import train_model
from .viz.report import make_report


def train(cfg: Config, out: str | Path, *, report: bool = True, **kwargs) -> Path:
    """Train `cfg` into the run folder `out` as `latentzoo train` does; returns the folder. The
    keyword arguments are `train_model`'s (resume, overwrite, checkpoint_every, data_dir, device,
    splits, progress, log, after_epoch)."""
    run = train_model(cfg, out, **kwargs)
    if report and distributed.is_main():  # under torchrun, rank 0 alone draws
        fault_point("report")
        make_report(run, data_dir=kwargs.get("data_dir"), device=kwargs.get("device"))
    return run
