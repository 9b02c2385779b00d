"""Benchmark: the typicality test of Nalisnick et al. (2019) where images come in batches, beside
the batch mean of the recommended score and of the VAE's negative ELBO.

    python benchmarks/typicality.py [--sizes 1,2,5,10] [--epochs 10] [--name typicality]

The models and sets of benchmarks/anomaly_study.py (its runs are reused from
benchmarks/runs/anomaly/, trained there when absent): an AE and an MLP VAE trained on every MNIST
digit, scored on the second half of each foreign set and on Fashion-MNIST's test images against
MNIST's test digits; and the pair the other way, an AE and a VAE of Fashion-MNIST against MNIST's
test digits (its test images the normal ones). Each side is cut into batches of M images (a
permutation drawn from seed 0; the remainder left out), and each batch gets one score per method:
- typicality: |the batch's mean negative ELBO - its mean over the normal validation images|, the
  test's statistic (an input too typical, too likely, is as anomalous as one too unlikely);
- mean neg ELBO: the batch's mean negative ELBO (one-sided, the likelihood's own test);
- mean ensemble: the batch's mean of latentzoo.eval.Ensemble (the recommended per-image score),
  fitted on the normal validation images.
AUROC (%) of anomalous batches against normal ones, per set, method and M. Written to
benchmarks/results/NAME.json and NAME.md."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import torch  # noqa: E402
from anomaly_study import as_terms, background_set, fashion_splits, model, raw_scores  # noqa: E402

from latentzoo.data import load_dataset  # noqa: E402
from latentzoo.eval import Ensemble, auroc  # noqa: E402
from latentzoo.eval.foreign import FOREIGN, foreign_sets  # noqa: E402
from latentzoo.files import atomic_write, write_json  # noqa: E402

METHODS = ("typicality", "mean neg ELBO", "mean ensemble")


def per_image(models, normal_val: torch.Tensor, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Each image's negative ELBO and recommended score (N,), the latter fitted on normal_val."""
    fitted = Ensemble(as_terms(raw_scores(*models, normal_val)))
    raw = raw_scores(*models, x)
    return {"elbo": raw["vae elbo"], "ensemble": fitted(as_terms(raw))}


def batched(scores: dict[str, torch.Tensor], m: int, typical: float) -> dict[str, torch.Tensor]:
    """Each method's score per batch of m images (N // m,)."""
    n = len(scores["elbo"]) // m * m
    order = torch.randperm(len(scores["elbo"]), generator=torch.Generator().manual_seed(0))[:n]
    mean = {k: v[order].view(-1, m).mean(1) for k, v in scores.items()}  # (N // m,)
    return {
        "typicality": (mean["elbo"] - typical).abs(),
        "mean neg ELBO": mean["elbo"],
        "mean ensemble": mean["ensemble"],
    }


def rows_for(models, normal: tuple, sets: dict, sizes: list[int]) -> dict:
    """AUROC per set, method and batch size; normal = (validation, test) images."""
    typical = float(raw_scores(*models, normal[0])["vae elbo"].mean())
    normal_scores = per_image(models, normal[0], normal[1])
    out: dict = {}
    for name, x in sets.items():
        scores = per_image(models, normal[0], x)
        out[name] = {}
        for m in sizes:
            a, b = batched(normal_scores, m, typical), batched(scores, m, typical)
            is_anomaly = torch.cat(
                [torch.zeros(len(a["typicality"])), torch.ones(len(b["typicality"]))]
            )
            out[name][str(m)] = {
                k: 100 * auroc(torch.cat([a[k], b[k]]), is_anomaly.bool()) for k in METHODS
            }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1,2,5,10")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--fashion", default="~/.cache/latentzoo/fashion")
    ap.add_argument("--name", default="typicality")
    a = ap.parse_args()
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    torch.set_num_threads(min(2, torch.get_num_threads()))
    t0, sizes = time.time(), [int(m) for m in a.sizes.split(",")]
    mnist = load_dataset("mnist")
    fashion = fashion_splits(Path(a.fashion).expanduser())
    digits = (mnist.val.tensors()[0], mnist.test.tensors()[0])
    sets = {k: x[FOREIGN:] for k, x in foreign_sets(2 * FOREIGN).items()}
    mutated = dict(epochs=a.epochs, source=str(background_set(mnist, "")))
    models = (
        model("ae-all", "ae", log, epochs=a.epochs),
        model("vae-all", "vae", log, backbone="mlp", epochs=a.epochs),
        model("bg-vae-all", "vae", log, backbone="mlp", **mutated),
    )
    if fashion:
        sets["Fashion-MNIST (MNIST's models)"] = fashion.test.tensors()[0]
    rows = rows_for(models, digits, sets, sizes)
    if fashion:
        source = dict(epochs=a.epochs, source=str(Path(a.fashion).expanduser()))
        mutated = dict(epochs=a.epochs, source=str(background_set(fashion, "fashion-")))
        models = (
            model("ae-fashion", "ae", log, **source),
            model("vae-fashion", "vae", log, backbone="mlp", **source),
            model("bg-vae-fashion", "vae", log, backbone="mlp", **mutated),
        )
        normal = (fashion.val.tensors()[0], fashion.test.tensors()[0])
        pair = {"MNIST digits (Fashion-MNIST's models)": digits[1]}
        rows |= rows_for(models, normal, pair, sizes)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    command = " ".join(["python benchmarks/typicality.py", *sys.argv[1:]])
    seconds = round(time.time() - t0, 1)
    out = ROOT / "benchmarks" / "results"
    write_json(
        out / f"{a.name}.json", dict(command=command, commit=commit, seconds=seconds, rows=rows)
    )
    head = " | ".join(f"{k}, M = {m}" for m in sizes for k in METHODS)
    lines = [
        "# The typicality test on batches of M images (AUROC %, anomalous batches against normal)",
        "",
        f"`{command}` (commit {commit}, {seconds:.0f} s). Normal batches: MNIST's test digits "
        "(Fashion-MNIST's test images for the last row); see the script's docstring.",
        "",
        f"| set | {head} |",
        "|---" * (1 + len(sizes) * len(METHODS)) + "|",
    ]
    for name, r in rows.items():
        cells = " | ".join(f"{r[str(m)][k]:.1f}" for m in sizes for k in METHODS)
        lines.append(f"| {name} | {cells} |")
    atomic_write(out / f"{a.name}.md", "\n".join(lines) + "\n")
    log("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
