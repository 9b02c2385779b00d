"""Benchmark: one-class anomaly detection on UCR/UEA time-series sets, latentzoo's scores beside
classical detectors, side by side in one run.

    python benchmarks/signal_anomaly.py [--sets GunPoint,...] [--steps 600] [--name signal-anomaly]

Protocol (as the one-class image benchmarks): for each set and each class c in turn, the models
train on the training series of c only (normal) and score every test series; the series of other
classes are the anomalies; AUROC per class, then the mean over the set's classes. The sets are read
from the .ts files inside sktime's wheel (installed when missing). Every detector sees the same
values: each channel normalised by the mean and deviation of the normal training series (as
latentzoo does), flattened for the classical ones.
- latentzoo: the default AE (squared reconstruction error), the default VAE (negative ELBO), and
  the ensemble of the two (`latentzoo score AE --with VAE`, standardised on the run's validation
  series: 10% of the normal training series, at least 2), each trained for about `--steps` steps
  (the sets hold 10 to 100 series per class);
- scikit-learn: PCA reconstruction error (components keeping 90% of the variance), Isolation
  Forest, one-class SVM (RBF, nu 0.1, gamma 'scale'), k-NN distance (to the 5th nearest normal
  training series);
- PyOD's AutoEncoder (its defaults, batches of at most 32) where `pip install pyod` works.
Written to benchmarks/results/NAME.json and NAME.md, with the machine and the settings."""

from __future__ import annotations

import argparse
import importlib.util
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from machine import machine  # noqa: E402

import latentzoo  # noqa: E402
from latentzoo import jobs  # noqa: E402
from latentzoo.config import make_config  # noqa: E402
from latentzoo.eval import auroc  # noqa: E402
from latentzoo.files import atomic_write, read_json, write_json  # noqa: E402
from latentzoo.series import load_signals, read_ts  # noqa: E402

SETS = ("GunPoint", "ItalyPowerDemand", "ArrowHead", "OSULeaf", "ACSF1", "BasicMotions")


def ensure(package: str) -> bool:
    """Whether `package` imports, installing it with pip first when it does not."""
    if importlib.util.find_spec(package) is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", package], check=False)
    return importlib.util.find_spec(package) is not None


def ucr(name: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{'train'|'test': (series (N, C, T), labels (N,) as strings)} of a set in sktime's wheel."""
    import sktime

    folder = Path(sktime.__file__).parent / "datasets" / "data" / name
    out = {}
    for split in ("train", "test"):
        series, labels = read_ts(folder / f"{name}_{split.upper()}.ts")
        out[split] = (np.stack(series).astype(np.float32), np.asarray(labels).astype(str))
    return out


def classical(train: np.ndarray, test: np.ndarray, pyod: bool) -> dict[str, np.ndarray]:
    """Anomaly scores of the test rows by detectors fitted on the normal training rows."""
    from sklearn.decomposition import PCA
    from sklearn.ensemble import IsolationForest
    from sklearn.neighbors import NearestNeighbors
    from sklearn.svm import OneClassSVM

    pca = PCA(0.9, svd_solver="full").fit(train)
    scores = {
        "PCA reconstruction": ((test - pca.inverse_transform(pca.transform(test))) ** 2).sum(1),
        "Isolation Forest": -IsolationForest(random_state=0).fit(train).score_samples(test),
        "one-class SVM": -OneClassSVM(nu=0.1, gamma="scale").fit(train).score_samples(test),
    }
    k = min(5, len(train) - 1)
    scores["k-NN distance"] = NearestNeighbors(n_neighbors=k).fit(train).kneighbors(test)[0][:, -1]
    if pyod:
        from pyod.models.auto_encoder import AutoEncoder

        # its batches drop the last, so a batch no larger than the normal series
        ae = AutoEncoder(verbose=0, random_state=0, batch_size=min(32, len(train)))
        scores["PyOD AutoEncoder"] = ae.fit(train).decision_function(test)
    return scores


def ours(source: Path, steps: int, out: Path) -> tuple[dict[str, np.ndarray], dict]:
    """Scores of the test series by latentzoo's AE, VAE and their ensemble, and their settings."""
    runs = {}
    for kind in ("ae", "vae"):
        probe = make_config(kind, source=str(source), data_kind="signal")
        n = len(load_signals(probe.data).train) + len(load_signals(probe.data).val)
        val = max(0.1, 2 / n)  # the ensemble standardises on at least 2 validation series
        n = n - math.ceil(n * val)
        batches = -(-n // probe.train.batch_size)
        epochs = max(1, round(steps / batches))
        cfg = make_config(
            kind, source=str(source), data_kind="signal", epochs=epochs, val_fraction=val
        )
        runs[kind] = latentzoo.train(
            cfg, out / kind, report=False, progress=False, log=lambda m: None
        )
    ae, vae = latentzoo.load(runs["ae"]), latentzoo.load(runs["vae"])
    splits = load_signals(ae.cfg.data)
    x, _ = splits.test.tensors()
    scores = {
        "latentzoo AE": jobs.anomaly_scores(ae, x).numpy(),
        "latentzoo VAE": jobs.anomaly_scores(vae, x).numpy(),
        "latentzoo ensemble": jobs.scorer(ae, vae, splits.val)(x).numpy(),
    }
    return scores, {"epochs": {k: latentzoo.load(r).cfg.train.epochs for k, r in runs.items()}}


def one_class(name: str, steps: int, pyod: bool, log) -> dict:
    data = ucr(name)
    (xtr, ytr), (xte, yte) = data["train"], data["test"]
    per_class, settings = {}, {}
    for c in sorted(set(ytr)):
        normal = xtr[ytr == c]  # (n, C, T)
        mean = normal.mean((0, 2), keepdims=True)
        std = normal.std((0, 2), keepdims=True) + 1e-12
        anomalous = (yte != c).astype(int)
        with tempfile.TemporaryDirectory() as tmp:
            source = Path(tmp) / f"{name}-{c}.npz"
            np.savez(source, x_train=normal, x_test=xte)
            torch.manual_seed(0)
            scores, settings[c] = ours(source, steps, Path(tmp))
        flat = [((a - mean) / std).reshape(len(a), -1) for a in (normal, xte)]
        scores.update(classical(*flat, pyod))
        truth = torch.as_tensor(anomalous)
        per_class[c] = {k: auroc(torch.as_tensor(v), truth) for k, v in scores.items()}
        log(f"{name} class {c}: " + ", ".join(f"{k} {v:.3f}" for k, v in per_class[c].items()))
    methods = list(next(iter(per_class.values())))
    mean = {m: float(np.mean([per_class[c][m] for c in per_class])) for m in methods}
    shape = tuple(xtr.shape[1:])
    return {
        "shape": shape,
        "n_train": len(xtr),
        "n_test": len(xte),
        "classes": len(per_class),
        "per_class": per_class,
        "mean": mean,
        "epochs": settings,
    }


RECOMMENDED, BASELINE = "latentzoo ensemble", "PCA reconstruction"
METHODS = (
    "latentzoo AE",
    "latentzoo VAE",
    "latentzoo ensemble",
    "PCA reconstruction",
    "Isolation Forest",
    "one-class SVM",
    "k-NN distance",
    "PyOD AutoEncoder",
)


def markdown(result: dict) -> str:
    sets = result["sets"]
    methods = list(METHODS)
    lines = [
        "# One-class anomaly detection on UCR/UEA sets",
        "",
        f"Written by `{result['command']}` on {result['machine']} in {result['minutes']:.0f} min.",
        "Mean AUROC (%) over each set's classes, each class in turn normal (its training series),",
        "every other class's test series anomalous; the best of each row in bold.",
        "",
        "| set | (C, T) | classes | " + " | ".join(methods) + " |",
        "|---|---|---|" + "---|" * len(methods),
    ]
    for name, r in sets.items():
        best = max(r["mean"].values())
        values = [r["mean"][m] for m in methods]  # by name: a kept set's keys come back sorted
        cells = [f"**{100 * v:.1f}**" if v == best else f"{100 * v:.1f}" for v in values]
        shape = ", ".join(map(str, r["shape"]))
        lines.append(f"| {name} | ({shape}) | {r['classes']} | " + " | ".join(cells) + " |")
    s = result["summary"]
    lines += [
        "",
        f"The recommended score ({RECOMMENDED}) is the best on {s['best']} of {len(sets)} sets, "
        f"above {BASELINE} on {s['above_baseline']} of {len(sets)}, and at most "
        f"{s['worst_gap_to_baseline']:.1f} points below it on any set.",
    ]
    return "\n".join(lines) + "\n"


def summary(sets: dict) -> dict:
    best = sum(max(r["mean"], key=r["mean"].get) == RECOMMENDED for r in sets.values())
    gaps = [100 * (r["mean"][BASELINE] - r["mean"][RECOMMENDED]) for r in sets.values()]
    return {
        "best": best,
        "above_baseline": sum(g < 0 for g in gaps),
        "worst_gap_to_baseline": max(0.0, max(gaps)),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sets", default=",".join(SETS))
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--name", default="signal-anomaly")
    p.add_argument(
        "--keep", action="store_true", help="reuse the sets NAME.json holds (same steps)"
    )
    a = p.parse_args()
    if not ensure("sktime"):
        print("sktime does not install; its wheel holds the UCR sets", file=sys.stderr)
        return 1
    pyod = ensure("pyod")
    start, sets = time.time(), {}
    out = ROOT / "benchmarks" / "results" / a.name
    kept = {}
    if a.keep and out.with_suffix(".json").is_file():
        old = read_json(out.with_suffix(".json"))
        kept = old["sets"] if old["steps"] == a.steps else {}
        start -= 60 * old["minutes"]
    for name in a.sets.split(","):  # the files are rewritten after each set
        sets[name] = kept.get(name) or one_class(
            name, a.steps, pyod, lambda m: print(m, flush=True)
        )
        result = {
            "command": "python benchmarks/signal_anomaly.py " + " ".join(sys.argv[1:]),
            "machine": machine(),
            "minutes": (time.time() - start) / 60,
            "steps": a.steps,
            "pyod": pyod,
            "sets": sets,
            "summary": summary(sets),
        }
        write_json(out.with_suffix(".json"), result)
        atomic_write(out.with_suffix(".md"), markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
