"""The `latentzoo` command line (also `python -m latentzoo`).

    latentzoo train {ae,dae,vae,cvae,vqvae} --out DIR [options]   train a model into a run folder
    latentzoo train-prior DIR                                     a prior over a VQ-VAE's codes
    latentzoo eval DIR [--json]                                   test-set metrics of a run
    latentzoo reconstruct DIR --out FILE.png                      inputs above reconstructions
    latentzoo sample DIR -n 64 --out FILE.png [--digit D]         new digits
    latentzoo denoise DIR --noise SPEC --out FILE.png             rows: clean, noisy, denoised
    latentzoo interpolate DIR --out FILE.png                      walks between test digits
    latentzoo report DIR [--out FILE.html]                        HTML page: config, metrics, plots
    latentzoo bench [--quick]                                     the benchmark table (results.json, RESULTS.md)
    latentzoo demo [--out DIR]                                    a short VAE run with pictures

A user mistake prints one line to stderr and exits with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import ConfigError, LatentzooError


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line (and exits with 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"latentzoo: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def number(cast, what: str, ok, rule: str):
    """An argparse type: `cast` the text, then check `ok`; mistakes become one-line messages."""
    def parse(s: str):
        try:
            v = cast(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{s}' is not {what}") from None
        if not ok(v):
            raise argparse.ArgumentTypeError(f"{rule}, got {s}")
        return v

    return parse


INF = float("inf")
positive_int = number(int, "a whole number", lambda v: v >= 1, "must be at least 1")
nonneg_int = number(int, "a whole number", lambda v: v >= 0, "must be 0 or more")
positive_float = number(float, "a number", lambda v: 0 < v < INF, "must be a positive number")
nonneg_float = number(float, "a number", lambda v: 0 <= v < INF, "must be a number >= 0")
digit = number(int, "a digit 0-9", lambda v: 0 <= v <= 9, "a digit is 0-9")


def png_path(s: str) -> Path:
    p = Path(s)
    if p.suffix.lower() != ".png":
        raise argparse.ArgumentTypeError(f"'{s}' should end in .png")
    return p


# options of `train` that map onto Config fields (None = not given)
TRAIN_FIELDS = ("epochs", "batch_size", "lr", "lr_schedule", "latent_dim", "backbone", "noise", "beta", "recon", "kl_warmup",
                "codebook_size", "quantizer", "ema", "kmeans_init", "restart_dead", "dead_threshold", "cosine", "codebook_dim",
                "fsq_levels", "limit", "binarize", "only_digit", "seed", "dataset", "channels", "hidden", "res_blocks",
                "fine_blocks", "norm", "act", "adam_beta2")


def build_parser() -> Parser:
    from .config import ACTS, BACKBONES, MODELS, NORMS, QUANTIZERS, RECONS
    from .data import DATASETS

    p = Parser(prog="latentzoo", description="Autoencoders (AE, DAE, VAE, CVAE, VQ-VAE) on MNIST.")
    p.add_argument("--version", action="version", version=f"latentzoo {__import__('latentzoo').__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(sp, data=True):
        sp.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
        if data:
            sp.add_argument("--data-dir", default=None, help="folder with the MNIST IDX files (else $LATENTZOO_DATA, "
                                                             "the cache, a download)")

    t = sub.add_parser("train", help="train a model into a run folder")
    t.add_argument("model", choices=MODELS)
    t.add_argument("--out", required=True, type=Path, help="run folder to create (or continue with --resume)")
    t.add_argument("--epochs", type=positive_int, help="passes over the training set (default 10; vqvae 15)")
    t.add_argument("--batch-size", type=positive_int, help="VQ-VAE default 16, others 128")
    t.add_argument("--lr", type=positive_float, help="learning rate (1e-3)")
    t.add_argument("--lr-schedule", choices=("cosine", "constant"), help="cosine decay to 0 (default) or constant")
    t.add_argument("--adam-beta2", type=float, help="Adam's second-moment decay in [0, 1) (default 0.999; vqvae 0.95)")
    t.add_argument("--latent-dim", type=positive_int, help="latent size (VQ-VAE: size D of each code vector)")
    t.add_argument("--backbone", choices=BACKBONES)
    t.add_argument("--channels", type=positive_int, help="conv channels at 14x14 (default 32)")
    t.add_argument("--hidden", type=positive_int, help="mlp hidden width (default 512)")
    t.add_argument("--res-blocks", type=nonneg_int, help="conv residual blocks at 7x7 (default 1; vqvae 2)")
    t.add_argument("--fine-blocks", type=nonneg_int,
                   help="conv residual blocks at 14x14, plus a 3x3 conv at 28x28 (default 0; vqvae 1)")
    t.add_argument("--norm", choices=NORMS, help="normalisation inside conv residual blocks (default none; vqvae group)")
    t.add_argument("--act", choices=ACTS, help="activation of every hidden layer (default relu; vqvae gelu)")
    t.add_argument("--noise", help="DAE corruption, e.g. gaussian:0.5 or gaussian:0.3+mask:0.2")
    t.add_argument("--beta", type=nonneg_float, help="VAE: KL weight (1); VQ-VAE: commitment weight (0.25)")
    t.add_argument("--recon", choices=RECONS, help="reconstruction loss (VAE default bce, others mse)")
    t.add_argument("--kl-warmup", type=nonneg_int, help="VAE: epochs of linear KL warm-up (0)")
    t.add_argument("--codebook-size", type=positive_int, help="VQ-VAE: K codes (512)")
    t.add_argument("--quantizer", choices=QUANTIZERS, help="VQ-VAE: vq (default) or fsq")
    t.add_argument("--ema", action=argparse.BooleanOptionalAction, default=None, help="EMA codebook updates (on)")
    t.add_argument("--kmeans-init", action=argparse.BooleanOptionalAction, default=None, help="k-means init (on)")
    t.add_argument("--restart-dead", action=argparse.BooleanOptionalAction, default=None, help="dead-code restarts (on)")
    t.add_argument("--dead-threshold", type=positive_float,
                   help="restart a code whose moving-average use falls below this many vectors per step "
                        "(VQ-VAE default 0.2, about an eighth of the mean use B*49/K at its batch of 16); "
                        "scale it with --batch-size")
    t.add_argument("--cosine", action=argparse.BooleanOptionalAction, default=None, help="l2-normalised codes (off)")
    t.add_argument("--codebook-dim", type=nonneg_int, help="lookup in a projected space of this size (0: off)")
    t.add_argument("--fsq-levels", help="FSQ levels, e.g. 8,8,8 (K = product)")
    t.add_argument("--limit", type=positive_int, help="use only the first N training images")
    t.add_argument("--only-digit", type=digit, help="train on this digit only (one-class anomaly detection)")
    t.add_argument("--binarize", action=argparse.BooleanOptionalAction, default=None,
                   help="dynamic binarization of training images (likelihood benchmarks)")
    t.add_argument("--seed", type=nonneg_int)
    t.add_argument("--dataset", choices=DATASETS, help="mnist (default) or digits (bundled, no download)")
    t.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
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
                   help="VQ-VAE: classifier-free guidance for the per-digit samples (default GUIDANCE in priors.py)")
    common(e)

    b = sub.add_parser("bench", help="train/reuse the benchmark models; write results.json and RESULTS.md")
    b.add_argument("--quick", action="store_true", help="small budgets (about 7 min on 2 CPU cores), recorded as such")
    b.add_argument("--out", type=Path, default=None, help="folder (default benchmarks/results, or "
                                                           "benchmarks/results-quick with --quick)")
    common(b)

    from .report import PLOTS_BY_KIND

    rp = sub.add_parser("report", help="one self-contained HTML page: config, metrics, every plot",
                        epilog="plots per model: " + "; ".join(f"{k}: {v}" for k, v in PLOTS_BY_KIND.items()))
    rp.add_argument("run", type=Path)
    rp.add_argument("--out", type=Path, help="HTML file to write (default RUN/report.html)")
    rp.add_argument("--tsne", action="store_true", help="latent map by t-SNE instead of PCA")
    common(rp)

    tp = sub.add_parser("train-prior", help="fit an autoregressive prior to a VQ-VAE's codes (enables sampling)")
    tp.add_argument("run", type=Path)
    tp.add_argument("--epochs", type=positive_int)
    tp.add_argument("--batch-size", type=positive_int)
    tp.add_argument("--lr", type=positive_float)
    tp.add_argument("--d-model", type=positive_int, help="transformer width")
    tp.add_argument("--n-layers", type=positive_int, help="transformer blocks")
    tp.add_argument("--seed", type=nonneg_int)
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
    s.add_argument("-n", type=positive_int, default=64, help="number of samples (64)")
    s.add_argument("--digit", type=digit, help="draw this digit (conditional models)")
    s.add_argument("--temperature", type=positive_float, default=1.0, help="scale of the prior noise (1.0)")
    s.add_argument("--guidance", type=positive_float, default=None,
                   help="VQ-VAE with --digit: classifier-free guidance, 1 = none (default GUIDANCE in priors.py)")
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
    from .config import make_config
    from .runs import LAST, read_config
    from .training import train

    given = {k: getattr(a, k) for k in TRAIN_FIELDS if getattr(a, k) is not None}
    if a.resume and (a.out / LAST).is_file():
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
    train(cfg, a.out, resume=a.resume, data_dir=a.data_dir, device=a.device, progress=a.progress)
    print(f"run written to {a.out}")
    return 0


def _load_run(a):
    from .data import load_dataset
    from .runs import load, read_config

    cfg = read_config(a.run)
    model = load(a.run, getattr(a, "checkpoint", "best"), device=a.device)  # eval has --checkpoint
    data = load_dataset(cfg.dataset, getattr(a, "data_dir", None)) if hasattr(a, "data_dir") else None
    return cfg, model, data


def format_metrics(metrics: dict) -> str:
    lines = []
    for k, v in metrics.items():
        lines.append(f"{k:>16}  {v:.6g}" if isinstance(v, float) else f"{k:>16}  {v}")
    return "\n".join(lines)


def cmd_eval(a) -> int:
    from .metrics import evaluate

    from .metrics import generation_metrics

    cfg, model, data = _load_run(a)
    metrics = {"model": cfg.model, "backbone": cfg.backbone, "dataset": cfg.dataset, "checkpoint": a.checkpoint,
               **evaluate(model, data.test)}
    if a.samples and cfg.dataset == "mnist":
        if a.guidance is not None and cfg.model != "vqvae":
            raise ConfigError(f"--guidance applies to a VQ-VAE's learned prior; this run is a {cfg.model}")
        metrics.update(generation_metrics(model, data.test, a.samples, data_dir=a.data_dir, temperature=a.temperature,
                                          guidance=a.guidance))
        metrics["sample_temperature"] = a.temperature
    print(json.dumps(metrics, indent=2) if a.json else format_metrics(metrics))
    return 0


def cmd_train_prior(a) -> int:
    from .priors import PriorConfig, train_prior

    cfg = PriorConfig(**{k: getattr(a, k) for k in ("epochs", "batch_size", "lr", "d_model", "n_layers", "seed")
                         if getattr(a, k) is not None})
    metrics = train_prior(a.run, cfg, data_dir=a.data_dir, device=a.device, progress=a.progress)
    print(f"prior written to {a.run}: test {metrics['test_bits_per_image']:.1f} bits per image "
          f"({metrics['test_bits_per_image_given_label']:.1f} given the label; uniform codes "
          f"{metrics['uniform_bits_per_image']:.1f})")
    return 0


def cmd_reconstruct(a) -> int:
    import torch

    from .plots import save_reconstructions

    _, model, data = _load_run(a)
    x, y = data.test.tensors(slice(0, a.n), model.device)
    with torch.no_grad():
        save_reconstructions(a.out, x, model.reconstruct(x, y))
    print(f"wrote {a.out}")
    return 0


def cmd_sample(a) -> int:
    import torch

    from .plots import save_grid
    from .runs import load, read_config

    cfg = read_config(a.run)
    model = load(a.run, device=a.device)
    gen = torch.Generator().manual_seed(a.seed)
    if a.digit is not None:
        if not model.conditional:
            raise ConfigError(f"--digit needs a conditional model (a cvae, or a vqvae with a prior from "
                              f"`latentzoo train-prior`); this run is a {cfg.model}")
        y = torch.full((a.n,), a.digit)
    elif cfg.model == "cvae":
        y = torch.arange(a.n) % 10  # one column per digit
    else:
        y = None
    images = model.sample(a.n, y=y, generator=gen, temperature=a.temperature, guidance=a.guidance)
    save_grid(a.out, images, nrow=10 if cfg.model == "cvae" and a.digit is None else 8)
    print(f"wrote {a.out}")
    return 0


def cmd_denoise(a) -> int:
    import torch

    from .noise import corrupt, parse_noise
    from .metrics import psnr
    from .plots import save_rows

    spec = parse_noise(a.noise)
    _, model, data = _load_run(a)
    x, y = data.test.tensors(slice(0, a.n), model.device)
    noisy = corrupt(x, spec, torch.Generator().manual_seed(a.seed))
    with torch.no_grad():
        clean = model.reconstruct(noisy, y)
    save_rows(a.out, [x, noisy, clean])
    print(f"wrote {a.out}  (PSNR noisy {float(psnr(x, noisy).mean()):.2f} dB -> denoised "
          f"{float(psnr(x, clean).mean()):.2f} dB on these {a.n} digits)")
    return 0


def cmd_interpolate(a) -> int:
    from .plots import save_grid

    if a.steps < 2:
        raise ConfigError(f"--steps must be at least 2, got {a.steps}")
    _, model, data = _load_run(a)
    x, y = data.test.tensors(slice(0, 2 * a.pairs), model.device)
    walks = model.interpolate(x[0::2], x[1::2], a.steps, y=y[0::2] if model.conditional else None)
    save_grid(a.out, walks.flatten(0, 1), nrow=a.steps)  # (pairs * steps, 1, 28, 28)
    print(f"wrote {a.out}")
    return 0


def cmd_demo(a) -> int:
    from .config import make_config
    from .data import find_mnist
    from .errors import DataError
    from .training import train

    try:
        find_mnist(a.data_dir)
        dataset = "mnist"
    except DataError as e:
        print(f"latentzoo: notice: MNIST is not available ({e}); the demo uses the bundled 8x8 digits instead",
              file=sys.stderr)
        dataset = "digits"
    out = a.out
    n = 2
    while out.exists():  # never overwrite an earlier demo
        out = a.out.with_name(f"{a.out.name}-{n}")
        n += 1
    # the MLP VAE: the quickest of the family to give recognisable samples on a CPU
    cfg = make_config("vae", backbone="mlp", dataset=dataset, epochs=a.epochs if dataset == "mnist" else 5 * a.epochs)
    print(f"demo: training a {cfg.backbone} VAE on {dataset} for {cfg.epochs} epochs into {out}", file=sys.stderr)
    train(cfg, out, data_dir=a.data_dir, device=a.device)
    a.run, a.json, a.samples, a.temperature, a.checkpoint = out, False, 0, 1.0, "best"
    cmd_eval(a)
    pictures = sorted(p.name for p in out.glob("*.png"))
    print(f"demo done: {out} holds {', '.join(pictures)}")
    return 0


def cmd_bench(a) -> int:
    from .bench import run_bench

    out = a.out or Path("benchmarks/results-quick" if a.quick else "benchmarks/results")
    run_bench(out, quick=a.quick, data_dir=a.data_dir, device=a.device)
    print(f"wrote {out / 'results.json'} and {out / 'RESULTS.md'}")
    return 0


def cmd_report(a) -> int:
    from .report import make_report

    if a.out is not None and a.out.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"--out {a.out} should end in .html")
    path = make_report(a.run, a.out, data_dir=a.data_dir, device=a.device, tsne=a.tsne)
    print(f"wrote {path}")
    return 0


COMMANDS = {"bench": cmd_bench, "report": cmd_report, "train": cmd_train, "train-prior": cmd_train_prior, "eval": cmd_eval, "reconstruct": cmd_reconstruct, "sample": cmd_sample,
            "denoise": cmd_denoise, "interpolate": cmd_interpolate, "demo": cmd_demo}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except LatentzooError as e:
        print(f"latentzoo: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("latentzoo: interrupted (a training run continues from its last finished epoch with --resume)",
              file=sys.stderr)
        return 130
    except OSError as e:
        print(f"latentzoo: error: {e.strerror or e}: {e.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
