"""What the subcommands share: a run and its data, the safeguard's clean residuals of a run (kept
in its folder), the jobs' input files, a run's metrics as text, the --guidance and --out rules."""

from __future__ import annotations

import contextlib

import torch

from .. import jobs
from ..errors import ConfigError, RunError
from ..files import load_tensors, save_tensors
from ..kinds import data_kind
from ..runs import load, residuals_file, run_data, weights_digest
from ..zoo import is_zoo, locate


def load_run(a):
    model = load(a.run, getattr(a, "checkpoint", "best"), device=a.device)  # eval has --checkpoint
    return model, run_data(model.cfg, a.data_dir)


def kept_residuals(a, model) -> torch.Tensor:
    """`jobs.clean_residuals` of the run's first SAFEGUARD_N validation examples, read from the
    run folder while they were measured on its kept weights (whose SHA-256 they record), else
    measured and kept there (not in the zoo's folders, which ship with the package), so that
    `denoise` reads the run's data once; one file per self-ensemble's number of views."""
    run, views = locate(a.run), a.self_ensemble
    kept = run / residuals_file(views)
    with_weights = {"weights_sha256": weights_digest(run), "n": str(jobs.SAFEGUARD_N)}
    try:
        tensors, meta = load_tensors(kept)
        if meta == with_weights and "residuals" in tensors:
            return tensors["residuals"]
    except RunError:  # missing or damaged: measure again
        pass
    data = run_data(model.cfg, a.data_dir)
    val = data.val.tensors(slice(0, jobs.SAFEGUARD_N))
    residuals = jobs.clean_residuals(model, *val, views=views)
    if not is_zoo(run):
        with contextlib.suppress(OSError):  # a read-only folder: measured each time
            save_tensors(kept, {"residuals": residuals}, with_weights)
    return residuals


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
