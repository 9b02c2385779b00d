"""The subcommands that make and measure run folders: train, train-prior, eval, demo, bench and
report, one function each: `cmd_NAME(args) -> exit status`."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

from .. import distributed
from ..bench import run_bench
from ..config import PriorConfig, make_config, option_fields, renamed, section_of
from ..data import find_mnist
from ..device import resolve_device
from ..errors import ConfigError, DataError
from ..eval import evaluate, generation_metrics
from ..eval.classifier import unavailable
from ..kinds import data_kind
from ..runs import (
    CONFIG,
    PRIOR_CONFIG,
    copy_model,
    load,
    load_prior_config,
    read_config,
    read_metrics,
    run_data,
)
from ..training import load_coded, train_prior
from ..viz.report import make_report
from ..workflows import train
from ..zoo import ZOO, is_zoo, names, record
from .common import format_metrics, guidance_option, load_run
from .options import option_flag


def given_settings(a, names) -> dict:
    """The settings given as options, by name (options left out are None)."""
    return {k: getattr(a, k) for k in names if getattr(a, k, None) is not None}


def resumed(saved: dict, given: dict, what: str) -> dict:
    """What --resume continues: the saved settings, with --epochs the only one that may change; a
    given option that differs from the saved value is a ConfigError that names it."""
    for k, v in given.items():
        if k != "epochs" and saved[k] != v:
            raise ConfigError(
                f"--resume continues the saved {what}; {option_flag(k)} {v} differs from its "
                f"{saved[k]} (only --epochs may change)"
            )
    return {k: v for k, v in given.items() if k == "epochs"}


def cmd_train(a) -> int:
    given = given_settings(a, [*option_fields(), "beta"])
    given = {renamed(a.model, k): v for k, v in given.items()}
    for path in ("source", "noise_files"):  # config.json keeps the absolute path
        if given.get(path):
            given[path] = str(Path(given[path]).resolve())
    if a.resume and a.overwrite:
        raise ConfigError(
            "--resume continues the run in --out and --overwrite replaces it: choose one"
        )
    if a.resume and (a.out / CONFIG).is_file():
        cfg = read_config(a.out)
        if cfg.kind != a.model:
            raise ConfigError(f"{a.out} holds a {cfg.kind} run, not {a.model}")
        for k in given:
            section_of(cfg.kind, k)  # a setting this kind does not have: one line naming it
        cfg = cfg.replace(**resumed(cfg.settings(), given, "config"))
    else:
        cfg = make_config(a.model, **given)
    train(
        cfg,
        a.out,
        resume=a.resume,
        overwrite=a.overwrite,
        checkpoint_every=a.checkpoint_every,
        data_dir=a.data_dir,
        device=a.device,
        progress=a.progress,
    )
    if distributed.is_main():  # under torchrun, rank 0 alone speaks
        print(f"run written to {a.out}")
    return 0


def cmd_train_prior(a) -> int:
    if a.out is not None:  # the model copied into a folder of the user's, the prior written there
        if not (a.resume and (a.out / CONFIG).is_file()):
            load_coded(a.run)  # nothing copied for a model without codes
            copy_model(a.run, a.out)
        a.run = a.out
    given = given_settings(a, [f.name for f in PriorConfig.options()])
    if a.resume and (a.run / PRIOR_CONFIG).is_file():
        cfg = load_prior_config(a.run)
        cfg = replace(cfg, **resumed(cfg.to_dict(), given, "prior"))
    else:
        cfg = PriorConfig(**given)
    cfg.validate()
    metrics = train_prior(
        a.run,
        cfg,
        data_dir=a.data_dir,
        device=a.device,
        resume=a.resume,
        checkpoint_every=a.checkpoint_every,
        progress=a.progress,
    )
    make_report(a.run, data_dir=a.data_dir, device=a.device)  # now with samples
    given_label = metrics["test_bits_per_image_given_label"]
    one = data_kind(read_config(a.run).data.data_kind).example
    print(
        f"prior written to {a.run}: test {metrics['test_bits_per_image']:.1f} bits per {one} ("
        + (f"{given_label:.1f} given the label; " if given_label is not None else "")
        + f"uniform codes {metrics['uniform_bits_per_image']:.1f})"
    )
    return 0


def cmd_eval(a) -> int:
    model, data = load_run(a)
    guidance_option(model, a.guidance)
    metrics = run_metrics(
        model,
        data,
        checkpoint=a.checkpoint,
        samples=a.samples,
        temperature=a.temperature,
        guidance=a.guidance,
        data_dir=a.data_dir,
    )
    print(json.dumps(metrics, indent=2) if a.json else format_metrics(metrics))
    return 0


def run_metrics(
    model, data, *, checkpoint: str, samples: int, temperature: float, guidance, data_dir
) -> dict:
    """`latentzoo eval`'s metrics: the test set's, and where the model samples, `samples` draws
    measured in a classifier's features (MNIST's, or one trained on the data when it can be)."""
    cfg = model.cfg
    metrics = {
        "model": cfg.kind,
        "backbone": cfg.model.backbone,
        "dataset": cfg.data.dataset,
        "checkpoint": checkpoint,
        **evaluate(model, data.test),
    }
    if not (samples and model.can_sample):
        return metrics
    why = None if cfg.data.dataset == "mnist" else unavailable(data)
    if why:
        print(
            "latentzoo: notice: sample metrics (FID in a classifier's features, asked-label "
            f"accuracy) skipped: {why}",
            file=sys.stderr,
        )
        return metrics
    own = None if cfg.data.dataset == "mnist" else data
    metrics.update(
        generation_metrics(
            model,
            data.test,
            samples,
            data_dir=data_dir,
            temperature=temperature,
            guidance=guidance,
            splits=own,
        )
    )
    metrics["sample_temperature"] = temperature
    return metrics


def cmd_demo(a) -> int:
    resolve_device(a.device)  # a wrong --device fails before the data is looked for
    try:
        find_mnist(a.data_dir)
        dataset = "mnist"
    except DataError as e:
        print(
            f"latentzoo: notice: MNIST is not available ({e}); the "
            "demo uses the bundled 8x8 digits instead",
            file=sys.stderr,
        )
        dataset = "digits"
    out, n = a.out, 2
    while out.exists():  # never overwrite an earlier demo
        out = a.out.with_name(f"{a.out.name}-{n}")
        n += 1
    # the MLP VAE: the quickest of the family to give recognisable samples on a CPU
    cfg = make_config(
        "vae",
        backbone="mlp",
        dataset=dataset,
        epochs=a.epochs if dataset == "mnist" else 5 * a.epochs,
    )
    print(
        f"demo: training a {cfg.model.backbone} VAE on {dataset} for {cfg.train.epochs} epochs "
        f"into {out}",
        file=sys.stderr,
    )
    train(cfg, out, data_dir=a.data_dir, device=a.device)
    model = load(out, device=a.device)
    settings = dict(checkpoint="best", samples=0, temperature=1.0, guidance=None)
    data = run_data(model.cfg, a.data_dir)
    print(format_metrics(run_metrics(model, data, **settings, data_dir=a.data_dir)))
    pictures = sorted(p.name for p in out.glob("*.png"))
    print(f"demo done: {out} holds {', '.join(pictures)}")
    return 0


def cmd_bench(a) -> int:
    name = "results" + (f"-{a.data.resolve().name}" if a.data else "") + ("-quick" * a.quick)
    out = a.out or Path("benchmarks") / name
    run_bench(
        out, quick=a.quick, data_dir=a.data_dir, device=a.device, source=a.data, tables=a.tables
    )
    print(f"wrote {out / 'results.json'} and {out / 'RESULTS.md'}")
    return 0


def cmd_report(a) -> int:
    if a.out is not None and a.out.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"--out {a.out} should end in .html")
    if a.out is None and is_zoo(a.run):
        raise ConfigError(f"{a.run.name} is a model of the zoo: give --out REPORT.html")
    print(f"wrote {make_report(a.run, a.out, data_dir=a.data_dir, device=a.device, tsne=a.tsne)}")
    return 0


# the test metrics that `latentzoo zoo` shows, where a model has them
ZOO_METRICS = ("psnr", "elbo", "digit_accuracy", "sample_mnist_fid")


def cmd_zoo(a) -> int:
    """The zoo's models: name, kind, what each is for, and its recorded test metrics."""
    for name in names():
        rec, metrics = record(name), read_metrics(ZOO / name)
        shown = ", ".join(f"{k} {metrics[k]:.4g}" for k in ZOO_METRICS if k in metrics)
        print(f"{name:<14} {rec['kind']:<6} {rec['about']}\n{'':<21} test: {shown}")
    print(f"(stored in {ZOO}; a folder of the same name here wins)")
    return 0
