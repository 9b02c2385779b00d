"""Benchmark: every model kind trained with the defaults on full MNIST, then its test metrics.

    python benchmarks/defaults.py [--models ae,dae,vae,vqvae,vqvae-textbook] [--epochs N] [--prior vqvae]
                                  [--limit N]

Trains into benchmarks/runs/NAME (not committed), then writes benchmarks/results/defaults.json and
defaults.md: per model the test metrics of `latentzoo eval` (the runs named by --prior also get a
code prior and sample metrics), training wall time, machine, torch version and commit. A run folder
that already holds a finished run with the same config is reused, not retrained, and an unfinished
one is resumed from its last epoch; one with another config stops the script. `--limit N` trains on
the first N training images only (quick proxy comparisons such as vq-steps-proxy.md; the test set
stays whole).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from latentzoo.config import make_config  # noqa: E402
from latentzoo.data import load_dataset  # noqa: E402
from latentzoo.eval import evaluate, generation_metrics  # noqa: E402
from latentzoo.files import atomic_write, write_json  # noqa: E402
from latentzoo.models import PriorConfig  # noqa: E402
from latentzoo.runs import LAST, METRICS, PRIOR_METRICS, load, read_config  # noqa: E402
from latentzoo.train import train, train_prior  # noqa: E402

# Settings that name only a few values follow the current defaults; every result's .json holds the full
# config it ran with. Results written before the batch-16 default name the batch-64 default "vqvae".
# The VQ-VAE settings measured before its 15-epoch default pin the 10 epochs they ran with; --epochs
# overrides any setting's epochs.
# the textbook quantizer: codebook loss, no EMA, uniform init, no restarts
TEXTBOOK = dict(ema=False, kmeans_init=False, restart_dead=False)
SETTINGS = {
    "ae": dict(model="ae"),
    "dae": dict(model="dae"),
    "vae": dict(model="vae"),
    "cvae": dict(model="cvae"),
    # a CVAE with a heavier KL weight: its samples follow the asked label more (cvae-beta.md)
    "cvae-beta2": dict(model="cvae", beta=2.0),
    "cvae-beta4": dict(model="cvae", beta=4.0),
    "vqvae": dict(model="vqvae"),
    "vqvae-wide": dict(model="vqvae", epochs=10, channels=64),
    "vqvae-textbook": dict(model="vqvae", **TEXTBOOK),
    # dead-code threshold 3 (now the default) and 1 (the default before); vq-codebooks.md compares them
    "vqvae-dead3": dict(model="vqvae", epochs=10, dead_threshold=3.0),
    "vqvae-dead1": dict(model="vqvae", epochs=10, dead_threshold=1.0),
    # smaller batches: more steps for about the same compute (vq-steps-proxy.md, vq-batch16.md); the
    # dead-code threshold (uses per step) scaled with the batch, half the mean use of a code. MSE and
    # lr 1e-3 as in those studies (batch 16 is now the default); "vqvae-batch64" is the default before
    # them (vq-batch64.md)
    "vqvae-batch64": dict(model="vqvae", epochs=10, recon="mse", lr=1e-3, batch_size=64, dead_threshold=3.0),
    "vqvae-batch32": dict(model="vqvae", epochs=10, recon="mse", lr=1e-3, batch_size=32, dead_threshold=1.5),
    "vqvae-batch16": dict(model="vqvae", epochs=10, recon="mse", lr=1e-3, batch_size=16, dead_threshold=0.75),
    "vqvae-batch8": dict(model="vqvae", epochs=10, recon="mse", lr=1e-3, batch_size=8, dead_threshold=0.375),
    # batch 16 with the Bernoulli loss and lr 2e-3: better on the 20k-image proxy, not on full MNIST
    "vqvae-batch16-bce-lr2e-3": dict(model="vqvae", epochs=10, recon="bce", lr=2e-3, batch_size=16, dead_threshold=0.75),
    # the VQ-VAE default before fine_blocks=1 (no residual block at 14x14, no 3x3 conv at 28x28); vq-fine.md.
    # These three keep the settings of vq-fine-proxy.md (no GroupNorm, dead-code threshold 0.75)
    "vqvae-coarse": dict(model="vqvae", epochs=10, fine_blocks=0, norm="none", dead_threshold=0.75),
    # more capacity at 14x14 and 28x28, or wider everywhere, on top of the default (vq-fine-proxy.md)
    "vqvae-fine2": dict(model="vqvae", epochs=10, fine_blocks=2, norm="none", dead_threshold=0.75),
    "vqvae-fine-wide": dict(model="vqvae", epochs=10, channels=96, norm="none", dead_threshold=0.75),
    # GroupNorm in the residual blocks and dead-code threshold 0.2 on top of the fine_blocks=1 default
    # (on the 20,000-image proxy: 29.39 dB against 28.48): the default before Adam's beta2 0.95 (vq-norm.md)
    "vqvae-norm": dict(model="vqvae", epochs=10, norm="group", dead_threshold=0.2, adam_beta2=0.999, act="relu", res_blocks=1),
    # the default before them: fine_blocks=1 without GroupNorm, threshold 0.75 (vq-fine.md)
    "vqvae-fine": dict(model="vqvae", epochs=10, norm="none", dead_threshold=0.75, adam_beta2=0.999, act="relu", res_blocks=1),
    # Adam's beta2 0.99 on top of the vq-norm.md default (20,000-image proxy: +0.30 and +0.29 dB at seeds 0 and 1;
    # full MNIST: 32.65 dB against 32.54, vq-adam.md, not adopted as the default)
    "vqvae-adam": dict(model="vqvae", epochs=10, adam_beta2=0.99, act="relu", res_blocks=1),
    # Adam's beta2 0.95 on top of the vq-norm.md default (20,000-image proxy: 29.86 dB against 29.39 at
    # seed 0; 0.9: 29.80; 0.95 with lr 2e-3: 29.49), and the textbook quantizer with the same optimizer
    # (vq-b95.md); the default before GELU (act="relu" pinned)
    "vqvae-b95": dict(model="vqvae", epochs=10, adam_beta2=0.95, act="relu", res_blocks=1),
    "vqvae-b95-textbook": dict(model="vqvae", epochs=10, adam_beta2=0.95, act="relu", res_blocks=1, **TEXTBOOK),
    # GELU or SiLU instead of ReLU in every hidden layer, on top of the vq-b95.md default (20,000-image
    # proxy, 3 epochs: GELU 30.36 and 29.80 dB at seeds 0 and 1 against 29.86 and 29.75; SiLU 30.12 at
    # seed 0), and the textbook quantizer with GELU; "vqvae-gelu" is the default before two residual blocks
    # at 7x7 (vq-gelu.md)
    "vqvae-gelu": dict(model="vqvae", epochs=10, act="gelu", res_blocks=1),
    "vqvae-gelu-textbook": dict(model="vqvae", epochs=10, act="gelu", res_blocks=1, **TEXTBOOK),
    "vqvae-silu": dict(model="vqvae", epochs=10, act="silu", res_blocks=1),
    # capacity where it is cheap, on top of the GELU default: two or three residual blocks at 7x7 instead
    # of one, or code vectors of size D=32 or 8 instead of 16 (vq-capacity-proxy.md; seed 1 repeats two).
    # "vqvae-res2" is "vqvae" at 10 epochs, the default before 15
    "vqvae-res2": dict(model="vqvae", epochs=10, res_blocks=2),
    "vqvae-res3": dict(model="vqvae", epochs=10, res_blocks=3),
    "vqvae-d32": dict(model="vqvae", epochs=10, latent_dim=32, res_blocks=1),
    "vqvae-d8": dict(model="vqvae", epochs=10, latent_dim=8, res_blocks=1),
    "vqvae-seed1": dict(model="vqvae", epochs=10, seed=1, res_blocks=1),
    "vqvae-res2-seed1": dict(model="vqvae", epochs=10, res_blocks=2, seed=1),
    # two residual blocks at 7x7 and the textbook quantizer with them, full MNIST (vq-res2.md)
    "vqvae-res2-textbook": dict(model="vqvae", epochs=10, res_blocks=2, **TEXTBOOK),
    # commitment weight 0.1 or 0.5 instead of 0.25, on top of the two-block default (20,000-image proxy,
    # 3 epochs: 30.58 and 30.60 dB against 30.62 at seed 0; vq-beta-proxy.md)
    "vqvae-beta0.1": dict(model="vqvae", epochs=10, beta=0.1),
    "vqvae-beta0.5": dict(model="vqvae", epochs=10, beta=0.5),
}
SHOWN = ("mse_per_pixel", "mse_per_image", "psnr", "elbo", "psnr_noisy", "psnr_denoised", "codes_used",
         "codebook_usage", "perplexity", "prior_test_bits_per_image", "prior_test_bits_per_image_given_label",
         "prior_uniform_bits_per_image", "sample_mnist_fid", "sample_class_entropy", "sample_class_diversity",
         "sample_digits_covered", "digit_accuracy", "digit_accuracy_min", "train_seconds", "prior_train_seconds")


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="ae,dae,vae,vqvae")
    p.add_argument("--epochs", type=int, default=None, help="epochs for every model (default: each setting's, "
                                                               "else the model's default: 10, vqvae 15)")
    p.add_argument("--limit", type=int, default=None, help="train on the first N training images only")
    p.add_argument("--prior", default="", help="comma-separated runs that get a code prior (e.g. vqvae)")
    p.add_argument("--prior-epochs", type=int, default=None)
    p.add_argument("--samples", type=int, default=2000, help="samples for MNIST-FID (0: none)")
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
            train(cfg, run, splits=splits, resume=(run / LAST).is_file() and read_config(run) == cfg)
        elif read_config(run) != cfg:  # a finished run of an older default must not pass for this one
            sys.exit(f"defaults.py: {run} holds a run with a different config than {name} now has; "
                     f"remove it or pass another --runs folder")
        metrics = json.loads((run / METRICS).read_text())
        if name in a.prior.split(",") and not (run / PRIOR_METRICS).is_file():
            pcfg = PriorConfig(**({"epochs": a.prior_epochs} if a.prior_epochs else {}))
            train_prior(run, pcfg)
        if (run / PRIOR_METRICS).is_file():
            metrics.update({f"prior_{k}": v for k, v in json.loads((run / PRIOR_METRICS).read_text()).items()})
        model = load(run)
        metrics.update(evaluate(model, splits.test))
        if a.samples:
            metrics.update(generation_metrics(model, splits.test, a.samples))
        results[name] = {"config": cfg.to_dict(), "metrics": metrics}
        print(f"{name}: " + ", ".join(f"{k} {metrics[k]:.4g}" for k in SHOWN if isinstance(metrics.get(k), float)),
              file=sys.stderr)

    info = {"machine": f"{platform.machine()}, {os.cpu_count()} cpus, {platform.platform()}",
            "torch": torch.__version__, "threads": torch.get_num_threads(), "commit": commit(),
            "wall_seconds_this_invocation": round(time.time() - t_all, 1),
            "command": "python benchmarks/defaults.py " + " ".join(sys.argv[1:])}
    write_json(a.out / f"{a.name}.json", {"info": info, "results": results})
    data = f"first {a.limit:,} MNIST training images" if a.limit else "full MNIST"
    epochs = f"{a.epochs} epochs" if a.epochs else "epochs per model as in its config"
    lines = [f"# {a.name}: defaults, {data}, {epochs}", "",
             f"Command: `{info['command']}`; commit {info['commit']}; {info['machine']}; torch {info['torch']}.",
             "Metrics on the 10,000 MNIST test images (PSNR: mean of per-image PSNR; ELBO: nats per image, "
             "Bernoulli decoder on [0,1] intensities; bits: prior's -log2 p(codes) per image).", ""]
    cols = [k for k in SHOWN if any(k in r["metrics"] for r in results.values())]
    lines.append("| model | epochs | " + " | ".join(cols) + " |")
    lines.append("|---" * (len(cols) + 2) + "|")
    for name, r in results.items():
        m = r["metrics"]
        cells = [f"{m[k]:.4g}" if isinstance(m.get(k), float) else str(m.get(k, "")) for k in cols]
        lines.append(f"| {name} | {r['config']['epochs']} | " + " | ".join(cells) + " |")
    atomic_write(a.out / f"{a.name}.md", "\n".join(lines) + "\n")
    print(f"wrote {a.out / (a.name + '.json')} and .md", file=sys.stderr)


if __name__ == "__main__":
    main()
