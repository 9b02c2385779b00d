"""Benchmark: the likelihood rows of the bench for given VAE runs, on Burda et al.'s protocol.

IS-NLL with k = 5000 importance samples and the negative ELBO, in nats per image, on all 10,000
dynamically binarized MNIST test images (`latentzoo.bench.run_likelihood`, the bench's own function,
which keeps the figures in the run folder so that the bench reads them back), beside the published
figures of `latentzoo.bench.ANCHORS`. The runs are trained beforehand with `latentzoo train` (the
commands are in benchmarks/EXPERIMENTS.md); their configs and training times are recorded.

    python benchmarks/likelihood.py RUN [RUN ...] [--k 5000] [--images N] [--threads 2]

Writes benchmarks/results/likelihood.{json,md}; rerunning with other runs adds them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from latentzoo import load  # noqa: E402
from latentzoo.bench import ANCHORS, run_likelihood  # noqa: E402
from latentzoo.data import load_dataset  # noqa: E402
from latentzoo.files import atomic_write, write_json  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "likelihood"


def describe(cfg) -> str:
    m = cfg.model
    net = (
        f"mlp 784-{m.hidden}-{m.hidden2 or m.hidden // 2}-{m.latent_dim}"
        if cfg.model.backbone == "mlp"
        else f"conv, {cfg.model.channels} channels, {cfg.model.res_blocks} "
        f"residual block(s), latent {cfg.model.latent_dim}"
    )
    kind = f"IWAE k={cfg.model.iw_samples}" if cfg.model.iw_samples > 1 else "VAE"
    return (
        f"{kind}, {net} ({cfg.model.act}), batch {cfg.train.batch_size}, {cfg.train.epochs} epochs"
    )


def report(rows: dict) -> str:
    L = [
        "# Likelihood on dynamically binarized MNIST (nats per image, lower is better)",
        "",
        "Written by `python benchmarks/likelihood.py RUN ...`. IS-NLL "
        "with k importance samples and the negative "
        "ELBO, on the test images named; our runs and their "
        "training time on this machine, then the "
        "published figures.",
        "",
        "| model | IS-NLL | negative ELBO | protocol | training |",
        "|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        L.append(
            f"| {r['model']} (`{name}`) | {r['nll']:.2f} | {r['neg_elbo']:.2f} | k={r['k']}, "
            f"{r['n_images']:,} test images | {r['train_seconds'] / 60:.0f} min |"
        )
    L += [
        f"| {name} | {v} | | {proto} | 3,280 epochs |"
        if "Burda" in name
        else f"| {name} | {v} | | {proto} | |"
        for name, v, proto in ANCHORS["nll"]
    ]
    return "\n".join(L) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--k", type=int, default=5000)
    ap.add_argument(
        "--images", type=int, default=None, help="the first N test images (default all)"
    )
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    test = load_dataset("mnist").test
    path = RESULTS.with_suffix(".json")
    for run in a.runs:
        model = load(run)
        res = run_likelihood(run, model, test, a.k, a.images)
        row = {**res, "model": describe(model.cfg), "config": model.cfg.to_dict()}
        # re-read before writing: another invocation may have run beside this one
        rows = json.loads(path.read_text()) if path.exists() else {}
        rows[run.name] = row
        write_json(path, rows)
        atomic_write(RESULTS.with_suffix(".md"), report(rows))
        print(
            f"{run.name}: IS-NLL {res['nll']:.2f}, negative ELBO "
            f"{res['neg_elbo']:.2f} (k={a.k}, {res['n_images']} images)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
