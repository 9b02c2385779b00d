"""What the subcommands share: a run and its data, the jobs' input files, a run's metrics as
text, the --guidance and --out rules."""

from __future__ import annotations

from ..errors import ConfigError
from ..kinds import data_kind
from ..runs import load, run_data


def load_run(a):
    model = load(a.run, getattr(a, "checkpoint", "best"), device=a.device)  # eval has --checkpoint
    return model, run_data(model.cfg, a.data_dir)


def job_inputs(a, model):
    """The INPUT files of a job, fitted to the run's image shape (or a one-line error)."""
    kind = data_kind(model.cfg.data.data_kind)
    return kind.read_inputs(a.inputs, model.cfg.data, **input_options(a))


def input_options(a) -> dict:
    return {"resize": a.resize, "convert": a.convert, "hop": a.hop}


def format_metrics(metrics: dict) -> str:
    return "\n".join(
        f"{k:>16}  {v:.6g}" if isinstance(v, float) else f"{k:>16}  {v}" for k, v in metrics.items()
    )


def guidance_option(model, guidance: float | None) -> dict:
    """{'guidance': g} for a model that takes it; a value given for one that does not is a
    mistake."""
    if guidance is not None and not model.guided:
        raise ConfigError(
            "--guidance applies to a VQ-VAE's learned prior; this "
            f"run is a {model.cfg.kind} without one"
        )
    return {"guidance": guidance} if guidance is not None else {}


def folder_out(a) -> None:
    """With INPUT files, --out is the folder of the results; without, a .png of test images."""
    if a.inputs and a.out.suffix:
        raise ConfigError(
            f"--out {a.out}: with INPUT files the results go into a folder (one file per input)"
        )
    if not a.inputs and a.out.suffix.lower() != ".png":
        raise ConfigError(
            f"--out {a.out}: without INPUT files, {a.command} writes one picture of test images: "
            f"give FILE.png"
        )
