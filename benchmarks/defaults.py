"""Benchmark: every model kind trained with the defaults on full MNIST, then its test metrics.

    python benchmarks/defaults.py [--models ae,dae,vae,vqvae,vqvae-textbook] [--epochs N]
                                  [--prior vqvae] [--limit N] [--temperatures 1,0.5]

Trains into benchmarks/runs/NAME (not committed), then writes benchmarks/results/defaults.json and
defaults.md: per model the test metrics of `latentzoo eval` (the runs named by --prior also get a
code prior and sample metrics), training wall time, machine, torch version and commit. A run folder
that already holds a finished run with the same config is reused, not retrained, and an unfinished
one is resumed from its last epoch; one with another config stops the script. `--limit N` trains on
the first N training images only (quick proxy comparisons such as vq-steps-proxy.md; the test set
stays whole). `--temperatures` adds a row per model that samples at each further temperature."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from machine import machine  # noqa: E402

from latentzoo.config import default_text, make_config  # noqa: E402
from latentzoo.data import load_dataset  # noqa: E402
from latentzoo.eval import evaluate, generation_metrics  # noqa: E402
from latentzoo.files import atomic_write, write_json  # noqa: E402
from latentzoo.models import PriorConfig  # noqa: E402
from latentzoo.runs import LAST, METRICS, PRIOR_METRICS, load, read_config  # noqa: E402
from latentzoo.training import train_model, train_prior  # noqa: E402

# Named settings: a model kind and what differs from its defaults. Each setting measured before a
# later default pins the values it ran with, so the command in its results file still reproduces it;
# benchmarks/EXPERIMENTS.md says which study each belongs to. --epochs overrides any setting's
# epochs.
# codebook loss, no EMA, uniform init, no restarts
TEXTBOOK = dict(ema=False, kmeans_init=False, restart_dead=False)
SETTINGS = {
    "ae": dict(model="ae"),
    "dae": dict(model="dae"),
    "vae": dict(model="vae"),
    "cvae": dict(model="cvae"),
    "cvae-beta2": dict(model="cvae", beta=2.0),  # cvae-beta.md
    "cvae-beta4": dict(model="cvae", beta=4.0),
    "vqvae": dict(model="vqvae"),
    "vqvae-textbook": dict(model="vqvae", **TEXTBOOK),
    "vqvae-wide": dict(model="vqvae", epochs=10, channels=64),  # vq-wide.md
    "vqvae-dead3": dict(model="vqvae", epochs=10, dead_threshold=3.0),  # vq-codebooks.md
    "vqvae-dead1": dict(model="vqvae", epochs=10, dead_threshold=1.0),
    # vq-steps-proxy.md, vq-batch64.md, vq-batch16.md, vq-batch8.md, vq-batch16-bce.md
    "vqvae-batch64": dict(
        model="vqvae", epochs=10, recon="mse", lr=1e-3, batch_size=64, dead_threshold=3.0
    ),
    "vqvae-batch32": dict(
        model="vqvae", epochs=10, recon="mse", lr=1e-3, batch_size=32, dead_threshold=1.5
    ),
    "vqvae-batch16": dict(
        model="vqvae", epochs=10, recon="mse", lr=1e-3, batch_size=16, dead_threshold=0.75
    ),
    "vqvae-batch8": dict(
        model="vqvae", epochs=10, recon="mse", lr=1e-3, batch_size=8, dead_threshold=0.375
    ),
    "vqvae-batch16-bce-lr2e-3": dict(
        model="vqvae", epochs=10, recon="bce", lr=2e-3, batch_size=16, dead_threshold=0.75
    ),
    # vq-fine-proxy.md, vq-fine.md
    "vqvae-coarse": dict(model="vqvae", epochs=10, fine_blocks=0, norm="none", dead_threshold=0.75),
    "vqvae-fine2": dict(model="vqvae", epochs=10, fine_blocks=2, norm="none", dead_threshold=0.75),
    "vqvae-fine-wide": dict(
        model="vqvae", epochs=10, channels=96, norm="none", dead_threshold=0.75
    ),
    "vqvae-fine": dict(
        model="vqvae",
        epochs=10,
        norm="none",
        dead_threshold=0.75,
        adam_beta2=0.999,
        act="relu",
        res_blocks=1,
    ),
    "vqvae-norm": dict(
        model="vqvae",
        epochs=10,
        norm="group",
        dead_threshold=0.2,
        adam_beta2=0.999,
        act="relu",
        res_blocks=1,
    ),
    # vq-adam.md, vq-b95.md
    "vqvae-adam": dict(model="vqvae", epochs=10, adam_beta2=0.99, act="relu", res_blocks=1),
    "vqvae-b95": dict(model="vqvae", epochs=10, adam_beta2=0.95, act="relu", res_blocks=1),
    "vqvae-b95-textbook": dict(
        model="vqvae", epochs=10, adam_beta2=0.95, act="relu", res_blocks=1, **TEXTBOOK
    ),
    # vq-gelu.md
    "vqvae-gelu": dict(model="vqvae", epochs=10, act="gelu", res_blocks=1),
    "vqvae-gelu-textbook": dict(model="vqvae", epochs=10, act="gelu", res_blocks=1, **TEXTBOOK),
    "vqvae-silu": dict(model="vqvae", epochs=10, act="silu", res_blocks=1),
    # vq-capacity-proxy.md, vq-res2.md
    "vqvae-res2": dict(model="vqvae", epochs=10, res_blocks=2),
    "vqvae-res3": dict(model="vqvae", epochs=10, res_blocks=3),
    "vqvae-d32": dict(model="vqvae", epochs=10, latent_dim=32, res_blocks=1),
    "vqvae-d8": dict(model="vqvae", epochs=10, latent_dim=8, res_blocks=1),
    "vqvae-seed1": dict(model="vqvae", epochs=10, seed=1, res_blocks=1),
    "vqvae-res2-seed1": dict(model="vqvae", epochs=10, res_blocks=2, seed=1),
    "vqvae-res2-textbook": dict(model="vqvae", epochs=10, res_blocks=2, **TEXTBOOK),
    # vq-beta-proxy.md
    "vqvae-beta0.1": dict(model="vqvae", epochs=10, beta=0.1),
    "vqvae-beta0.5": dict(model="vqvae", epochs=10, beta=0.5),
}
SHOWN = (
    "mse_per_pixel",
    "mse_per_image",
    "psnr",
    "elbo",
    "psnr_noisy",
    "psnr_denoised",
    "codes_used",
    "codebook_usage",
    "perplexity",
    "prior_test_bits_per_image",
    "prior_test_bits_per_image_given_label",
    "prior_uniform_bits_per_image",
    "sample_mnist_fid",
    "sample_class_entropy",
    "sample_class_diversity",
    "sample_digits_covered",
    "digit_accuracy",
    "digit_accuracy_min",
    "train_seconds",
    "prior_train_seconds",
)


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--models", default="ae,dae,vae,vqvae")
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="epochs for every model (default: each setting's, "
        f"else the model's default: {default_text('epochs')})",
    )
    p.add_argument(
        "--limit", type=int, default=None, help="train on the first N training images only"
    )
    p.add_argument(
        "--prior", default="", help="comma-separated runs that get a code prior (e.g. vqvae)"
    )
    p.add_argument("--prior-epochs", type=int, default=None)
    p.add_argument("--samples", type=int, default=2000, help="samples for MNIST-FID (0: none)")
    p.add_argument(
        "--temperatures",
        default="1",
        help="comma-separated sampling temperatures: a row per model and temperature (first: 1)",
    )
    p.add_argument("--runs", type=Path, default=ROOT / "benchmarks" / "runs")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    p.add_argument("--name", default="defaults")
    a = p.parse_args()

    splits = load_dataset("mnist")
    results = {}
    t_all = time.time()
    for name in a.models.split(","):
        kw = dict(SETTINGS[name], **({"epochs": a.epochs} if a.epochs else {}))
        cfg = make_config(kw.pop("model"), limit=a.limit, **kw)
        run = a.runs / name
        if not (run / METRICS).is_file():  # resume an interrupted run of the same config
            train_model(
                cfg, run, splits=splits, resume=(run / LAST).is_file() and read_config(run) == cfg
            )
        # a finished run of an older default must not pass for this one
        elif read_config(run) != cfg:
            sys.exit(
                f"defaults.py: {run} holds a run with a different config than {name} now has; "
                f"remove it or pass another --runs folder"
            )
        metrics = json.loads((run / METRICS).read_text())
        if name in a.prior.split(",") and not (run / PRIOR_METRICS).is_file():
            pcfg = PriorConfig(**({"epochs": a.prior_epochs} if a.prior_epochs else {}))
            train_prior(run, pcfg)
        if (run / PRIOR_METRICS).is_file():
            metrics.update(
                {f"prior_{k}": v for k, v in json.loads((run / PRIOR_METRICS).read_text()).items()}
            )
        model = load(run)
        metrics.update(evaluate(model, splits.test))
        for t in [float(t) for t in a.temperatures.split(",")]:
            row = name if t == 1 else f"{name} (temperature {t:g})"
            drawn = dict(metrics, sample_temperature=t)
            if a.samples:
                drawn.update(generation_metrics(model, splits.test, a.samples, temperature=t))
            results[row] = {"config": cfg.to_dict(), "metrics": drawn}
            print(
                f"{row}: "
                + ", ".join(
                    f"{k} {drawn[k]:.4g}" for k in SHOWN if isinstance(drawn.get(k), float)
                ),
                file=sys.stderr,
            )

    info = {
        "machine": machine(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "commit": commit(),
        "wall_seconds_this_invocation": round(time.time() - t_all, 1),
        "command": "python benchmarks/defaults.py " + " ".join(sys.argv[1:]),
    }
    write_json(a.out / f"{a.name}.json", {"info": info, "results": results})
    data = f"first {a.limit:,} MNIST training images" if a.limit else "full MNIST"
    epochs = f"{a.epochs} epochs" if a.epochs else "epochs per model as in its config"
    lines = [
        f"# {a.name}: defaults, {data}, {epochs}",
        "",
        f"Command: `{info['command']}`; commit {info['commit']}; "
        f"{info['machine']}; torch {info['torch']}.",
        "Metrics on the 10,000 MNIST test images (PSNR: mean of "
        "per-image PSNR; ELBO: nats per image, "
        "Bernoulli decoder on [0,1] intensities; bits: prior's -log2 p(codes) per image).",
        "",
    ]
    cols = [k for k in SHOWN if any(k in r["metrics"] for r in results.values())]
    lines.append("| model | epochs | " + " | ".join(cols) + " |")
    lines.append("|---" * (len(cols) + 2) + "|")
    for name, r in results.items():
        m = r["metrics"]
        cells = [f"{m[k]:.4g}" if isinstance(m.get(k), float) else str(m.get(k, "")) for k in cols]
        lines.append(f"| {name} | {r['config']['train']['epochs']} | " + " | ".join(cells) + " |")
    atomic_write(a.out / f"{a.name}.md", "\n".join(lines) + "\n")
    print(f"wrote {a.out / (a.name + '.json')} and .md", file=sys.stderr)


if __name__ == "__main__":
    main()
