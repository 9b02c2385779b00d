"""The `latentzoo` command line (also `python -m latentzoo`).

    latentzoo train {ae,dae,vae,cvae,vqvae} --out DIR [options]   train a model into a run folder
    latentzoo train-prior DIR                                     a prior over a VQ-VAE's codes
    latentzoo eval DIR [--json]                                   test-set metrics of a run
    latentzoo reconstruct DIR --out FILE.png                      inputs above reconstructions
    latentzoo sample DIR -n 64 --out FILE.png [--digit D]         new digits
    latentzoo denoise DIR --noise SPEC --out FILE.png             rows: clean, noisy, denoised
    latentzoo interpolate DIR --out FILE.png                      walks between test digits
    latentzoo report DIR [--out FILE.html]                        HTML page: settings, metrics, plots
    latentzoo bench [--quick]                                     the benchmark table (results.json, RESULTS.md)
    latentzoo demo [--out DIR]                                    a short VAE run with pictures

`train`'s options are generated from the Config fields (latentzoo.config): their help and defaults
come from there. A user mistake prints one line to stderr and exits with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch

from .bench import run_bench
from .config import MODELS, cli_fields, default_text, field_type, make_config
from .data import find_mnist, load_dataset
from .errors import ConfigError, DataError, LatentzooError
from .eval import evaluate, generation_metrics, psnr
from .models import PriorConfig
from .noise import corrupt, parse_noise
from .files import read_json
from .runs import CONFIG, PRIOR_CONFIG, load, read_config
from .training import train, train_prior
from .version import __version__
from .viz.plots import save_grid, save_reconstructions, save_rows
from .viz.report import REPORT_CONTENTS, make_report


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line (and exits with 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"latentzoo: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def number(cast, what: str, ok=lambda v: True, rule: str = ""):
    """An argparse type: `cast` the text (finite numbers only), then check `ok`; mistakes are one line."""
    def parse(s: str):
        try:
            v = cast(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{s}' is not {what}") from None
        if not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"'{s}' is not a finite number")
        if not ok(v):
            raise argparse.ArgumentTypeError(f"{rule}, got {s}")
        return v

    return parse


positive_int = number(int, "a whole number", lambda v: v >= 1, "must be at least 1")
nonneg_int = number(int, "a whole number", lambda v: v >= 0, "must be 0 or more")
positive_float = number(float, "a number", lambda v: v > 0, "must be a positive number")
digit = number(int, "a digit 0-9", lambda v: 0 <= v <= 9, "a digit is 0-9")
MAX_SAMPLES = 10_000  # one PNG grid: 10,000 digits already make it 75,000 pixels tall


def png_path(s: str) -> Path:
    p = Path(s)
    if p.suffix.lower() != ".png":
        raise argparse.ArgumentTypeError(f"'{s}' should end in .png")
    return p


def add_config_options(p: argparse.ArgumentParser) -> None:
    """One option per Config field with cli=True; its help ends with the defaults per model kind.
    Values are checked by Config.validate (one line, exit 2), so the bounds live in one place."""
    for f in cli_fields():
        kind, _ = field_type(f)
        meta, flag = f.metadata, "--" + f.name.replace("_", "-")
        help_ = f"{meta['help']} (default {default_text(f.name)})"
        if kind is bool:
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=help_)
        elif meta["choices"]:
            p.add_argument(flag, choices=meta["choices"], help=help_)
        else:
            cast = {int: number(int, "a whole number"), float: number(float, "a number"), str: str}[kind]
            p.add_argument(flag, type=cast, help=help_)


def build_parser() -> Parser:
    p = Parser(prog="latentzoo", description="Autoencoders (AE, DAE, VAE, CVAE, VQ-VAE) on MNIST.")
    p.add_argument("--version", action="version", version=f"latentzoo {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(sp, data=True):
        sp.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
        if data:
            sp.add_argument("--data-dir", default=None, help="folder with the MNIST IDX files (else $LATENTZOO_DATA, "
                                                             "the cache, a download)")

    t = sub.add_parser("train", help="train a model into a run folder (then its pictures and report)")
    t.add_argument("model", choices=MODELS)
    t.add_argument("--out", required=True, type=Path, help="run folder to create (or continue with --resume)")
    add_config_options(t)
    t.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last checkpoint (one stopped before its first starts again)")
    t.add_argument("--overwrite", action="store_true", help="replace the run that --out holds")
    t.add_argument("--checkpoint-every", type=nonneg_int, default=0,
                   help="also write the resume checkpoint every N steps inside an epoch (0: at epoch ends only)")
    t.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar (default: when stderr is a terminal)")
    common(t)

    e = sub.add_parser("eval", help="test-set metrics of a run")
    e.add_argument("run", type=Path)
    e.add_argument("--json", action="store_true", help="print JSON")
    e.add_argument("--checkpoint", choices=("best", "last"), default="best",
                   help="the kept epoch (model.safetensors, default) or the last one (last.safetensors)")
    e.add_argument("--samples", type=nonneg_int, default=2000,
                   help="samples for MNIST-FID and the classifier checks, where the model samples (2000; 0: skip)")
    e.add_argument("--temperature", type=positive_float, default=1.0, help="sampling temperature for those (1.0)")
    e.add_argument("--guidance", type=positive_float, default=None,
                   help="a VQ-VAE with a prior: classifier-free guidance for the per-digit samples (default GUIDANCE "
                        "in latentzoo/models/prior.py)")
    common(e)

    b = sub.add_parser("bench", help="train/reuse the benchmark models; write results.json and RESULTS.md")
    b.add_argument("--quick", action="store_true", help="small budgets (minutes on 2 CPU cores), recorded as such")
    b.add_argument("--out", type=Path, default=None, help="folder (default benchmarks/results, or "
                                                           "benchmarks/results-quick with --quick)")
    common(b)

    rp = sub.add_parser("report", help="one self-contained HTML page: settings, metrics, every plot",
                        epilog="plots: " + REPORT_CONTENTS)
    rp.add_argument("run", type=Path)
    rp.add_argument("--out", type=Path, help="HTML file to write (default RUN/report.html)")
    rp.add_argument("--tsne", action="store_true", help="latent map by t-SNE instead of PCA")
    common(rp)

    prior_defaults = PriorConfig()
    tp = sub.add_parser("train-prior", help="fit an autoregressive prior to a VQ-VAE's codes (enables sampling)")
    tp.add_argument("run", type=Path)
    for name, cast, what in (("epochs", positive_int, "passes over the training codes"),
                             ("batch_size", positive_int, "code grids per step"), ("lr", positive_float, "peak learning rate"),
                             ("d_model", positive_int, "transformer width"), ("n_layers", positive_int, "transformer blocks"),
                             ("seed", nonneg_int, "fixes initialisation and data order")):
        tp.add_argument("--" + name.replace("_", "-"), type=cast,
                        help=f"{what} (default {getattr(prior_defaults, name):g})")
    tp.add_argument("--resume", action="store_true", help="continue the prior from prior_last.safetensors "
                                                          "(its saved settings; only --epochs may change)")
    tp.add_argument("--checkpoint-every", type=nonneg_int, default=0,
                    help="also write the prior's resume checkpoint every N steps inside an epoch (0: at epoch ends only)")
    tp.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    common(tp)

    r = sub.add_parser("reconstruct", help="test digits above their reconstructions")
    r.add_argument("run", type=Path)
    r.add_argument("--out", required=True, type=png_path)
    r.add_argument("-n", type=positive_int, default=32, help="number of test digits (32)")
    common(r)

    s = sub.add_parser("sample", help="draw new digits")
    s.add_argument("run", type=Path)
    s.add_argument("--out", required=True, type=png_path)
    s.add_argument("-n", type=number(int, "a whole number", lambda v: 1 <= v <= MAX_SAMPLES,
                                     f"must be 1 to {MAX_SAMPLES:,}"), default=64, help="number of samples (64)")
    s.add_argument("--digit", type=digit, help="draw this digit (conditional models)")
    s.add_argument("--temperature", type=positive_float, default=1.0, help="scale of the prior noise (1.0)")
    s.add_argument("--guidance", type=positive_float, default=None,
                   help="a VQ-VAE with a prior, with --digit: classifier-free guidance, 1 = none (default GUIDANCE in "
                        "latentzoo/models/prior.py)")
    s.add_argument("--seed", type=nonneg_int, default=0)
    common(s, data=False)

    d = sub.add_parser("denoise", help="rows: clean, noisy, denoised")
    d.add_argument("run", type=Path)
    d.add_argument("--noise", required=True, help="corruption, e.g. gaussian:0.5")
    d.add_argument("--out", required=True, type=png_path)
    d.add_argument("-n", type=positive_int, default=8, help="number of test digits (8)")
    d.add_argument("--seed", type=nonneg_int, default=0)
    common(d)

    i = sub.add_parser("interpolate", help="decode walks between pairs of test digits")
    i.add_argument("run", type=Path)
    i.add_argument("--out", required=True, type=png_path)
    i.add_argument("--pairs", type=positive_int, default=6, help="number of pairs, one row each (6)")
    i.add_argument("--steps", type=int, default=10, help="images per row, ends included (10)")
    common(i)

    m = sub.add_parser("demo", help="train a small VAE and write pictures (MNIST, else the bundled digits)")
    m.add_argument("--out", type=Path, default=Path("runs/demo"))
    m.add_argument("--epochs", type=positive_int, default=5)
    common(m)
    return p


# ----------------------------------------------------------------------------- commands

def cmd_train(a) -> int:
    given = {f.name: getattr(a, f.name) for f in cli_fields() if getattr(a, f.name) is not None}
    if a.resume and a.overwrite:
        raise ConfigError("--resume continues the run in --out and --overwrite replaces it: choose one")
    if a.resume and (a.out / CONFIG).is_file():
        cfg = read_config(a.out)
        if cfg.model != a.model:
            raise ConfigError(f"{a.out} holds a {cfg.model} run, not {a.model}")
        clash = [k for k, v in given.items() if k != "epochs" and getattr(cfg, k) != v]
        if clash:
            k = clash[0]
            raise ConfigError(f"--resume continues the saved config; --{k.replace('_', '-')} {given[k]} differs from "
                              f"its {getattr(cfg, k)} (only --epochs may change)")
        if "epochs" in given:
            cfg.epochs = given["epochs"]
    else:
        cfg = make_config(a.model, **given)
    train(cfg, a.out, resume=a.resume, overwrite=a.overwrite, checkpoint_every=a.checkpoint_every, data_dir=a.data_dir,
          device=a.device, progress=a.progress)
    make_report(a.out, data_dir=a.data_dir, device=a.device)
    print(f"run written to {a.out}")
    return 0


def _load_run(a):
    model = load(a.run, getattr(a, "checkpoint", "best"), device=a.device)  # eval has --checkpoint
    return model, load_dataset(model.cfg.dataset, a.data_dir)


def format_metrics(metrics: dict) -> str:
    return "\n".join(f"{k:>16}  {v:.6g}" if isinstance(v, float) else f"{k:>16}  {v}" for k, v in metrics.items())


def guidance_option(model, guidance: float | None) -> dict:
    """{'guidance': g} for a model that takes it; a value given for one that does not is a mistake."""
    if guidance is not None and not model.guided:
        raise ConfigError(f"--guidance applies to a VQ-VAE's learned prior; this run is a {model.cfg.model} without one")
    return {"guidance": guidance} if guidance is not None else {}


def cmd_eval(a) -> int:
    model, data = _load_run(a)
    cfg = model.cfg
    metrics = {"model": cfg.model, "backbone": cfg.backbone, "dataset": cfg.dataset, "checkpoint": a.checkpoint,
               **evaluate(model, data.test)}
    guidance_option(model, a.guidance)
    if a.samples and cfg.dataset == "mnist":
        metrics.update(generation_metrics(model, data.test, a.samples, data_dir=a.data_dir, temperature=a.temperature,
                                          guidance=a.guidance))
        metrics["sample_temperature"] = a.temperature
    print(json.dumps(metrics, indent=2) if a.json else format_metrics(metrics))
    return 0


def cmd_train_prior(a) -> int:
    given = {k: getattr(a, k) for k in ("epochs", "batch_size", "lr", "d_model", "n_layers", "seed")
             if getattr(a, k) is not None}
    if a.resume and (a.run / PRIOR_CONFIG).is_file():
        cfg = PriorConfig.from_dict(read_json(a.run / PRIOR_CONFIG))
        clash = [k for k, v in given.items() if k != "epochs" and getattr(cfg, k) != v]
        if clash:
            raise ConfigError(f"--resume continues the saved prior; --{clash[0].replace('_', '-')} differs from its "
                              f"{getattr(cfg, clash[0])} (only --epochs may change)")
        cfg.epochs = given.get("epochs", cfg.epochs)
    else:
        cfg = PriorConfig(**given)
    metrics = train_prior(a.run, cfg, data_dir=a.data_dir, device=a.device, resume=a.resume,
                          checkpoint_every=a.checkpoint_every, progress=a.progress)
    make_report(a.run, data_dir=a.data_dir, device=a.device)  # now with samples
    print(f"prior written to {a.run}: test {metrics['test_bits_per_image']:.1f} bits per image "
          f"({metrics['test_bits_per_image_given_label']:.1f} given the label; uniform codes "
          f"{metrics['uniform_bits_per_image']:.1f})")
    return 0


def cmd_reconstruct(a) -> int:
    model, data = _load_run(a)
    x, y = data.test.tensors(slice(0, a.n), model.device)
    with torch.no_grad():
        save_reconstructions(a.out, x, model.reconstruct(x, y))
    print(f"wrote {a.out}")
    return 0


def cmd_sample(a) -> int:
    model = load(a.run, device=a.device)
    options = guidance_option(model, a.guidance)
    gen = torch.Generator().manual_seed(a.seed)
    if a.digit is not None:
        if not model.conditional:
            raise ConfigError(f"--digit needs a conditional model (a cvae, or a vqvae with a prior from "
                              f"`latentzoo train-prior`); this run is a {model.cfg.model}")
        y = torch.full((a.n,), a.digit)
    elif model.needs_labels:
        y = torch.arange(a.n) % 10  # one column per digit
    else:
        y = None
    images = model.sample(a.n, y=y, generator=gen, temperature=a.temperature, **options)
    save_grid(a.out, images, nrow=10 if model.needs_labels and a.digit is None else 8)
    print(f"wrote {a.out}")
    return 0


def cmd_denoise(a) -> int:
    spec = parse_noise(a.noise)
    model, data = _load_run(a)
    x, y = data.test.tensors(slice(0, a.n), model.device)
    noisy = corrupt(x, spec, torch.Generator().manual_seed(a.seed))
    with torch.no_grad():
        clean = model.reconstruct(noisy, y)
    save_rows(a.out, [x, noisy, clean])
    print(f"wrote {a.out}  (PSNR noisy {float(psnr(x, noisy).mean()):.2f} dB -> denoised "
          f"{float(psnr(x, clean).mean()):.2f} dB on these {a.n} digits)")
    return 0


def cmd_interpolate(a) -> int:
    if a.steps < 2:
        raise ConfigError(f"--steps must be at least 2, got {a.steps}")
    model, data = _load_run(a)
    x, y = data.test.tensors(slice(0, 2 * a.pairs), model.device)
    walks = model.interpolate(x[0::2], x[1::2], a.steps, y=y[0::2] if model.needs_labels else None)
    save_grid(a.out, walks.flatten(0, 1), nrow=a.steps)  # (pairs * steps, 1, 28, 28)
    print(f"wrote {a.out}")
    return 0


def cmd_demo(a) -> int:
    try:
        find_mnist(a.data_dir)
        dataset = "mnist"
    except DataError as e:
        print(f"latentzoo: notice: MNIST is not available ({e}); the demo uses the bundled 8x8 digits instead",
              file=sys.stderr)
        dataset = "digits"
    out, n = a.out, 2
    while out.exists():  # never overwrite an earlier demo
        out = a.out.with_name(f"{a.out.name}-{n}")
        n += 1
    # the MLP VAE: the quickest of the family to give recognisable samples on a CPU
    cfg = make_config("vae", backbone="mlp", dataset=dataset, epochs=a.epochs if dataset == "mnist" else 5 * a.epochs)
    print(f"demo: training a {cfg.backbone} VAE on {dataset} for {cfg.epochs} epochs into {out}", file=sys.stderr)
    train(cfg, out, data_dir=a.data_dir, device=a.device)
    make_report(out, data_dir=a.data_dir, device=a.device)
    a.run, a.json, a.samples, a.temperature, a.checkpoint, a.guidance = out, False, 0, 1.0, "best", None
    cmd_eval(a)
    pictures = sorted(p.name for p in out.glob("*.png"))
    print(f"demo done: {out} holds {', '.join(pictures)}")
    return 0


def cmd_bench(a) -> int:
    out = a.out or Path("benchmarks/results-quick" if a.quick else "benchmarks/results")
    run_bench(out, quick=a.quick, data_dir=a.data_dir, device=a.device)
    print(f"wrote {out / 'results.json'} and {out / 'RESULTS.md'}")
    return 0


def cmd_report(a) -> int:
    if a.out is not None and a.out.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"--out {a.out} should end in .html")
    path = make_report(a.run, a.out, data_dir=a.data_dir, device=a.device, tsne=a.tsne)
    print(f"wrote {path}")
    return 0


COMMANDS = {"bench": cmd_bench, "report": cmd_report, "train": cmd_train, "train-prior": cmd_train_prior,
            "eval": cmd_eval, "reconstruct": cmd_reconstruct, "sample": cmd_sample, "denoise": cmd_denoise,
            "interpolate": cmd_interpolate, "demo": cmd_demo}


def one_line(msg: str) -> str:
    """A message with its line breaks escaped: a value the user typed may hold one."""
    return msg.replace("\r", "\\r").replace("\n", "\\n")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except LatentzooError as e:
        print(f"latentzoo: error: {one_line(str(e))}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("latentzoo: interrupted (a training run continues from its last checkpoint with --resume)",
              file=sys.stderr)
        return 130
    except OSError as e:
        print(one_line(f"latentzoo: error: {e.strerror or e}: {e.filename or ''}".rstrip(": ")), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
