"""Benchmark: which anomaly score, chosen on validation digits only, and how it does on test digits
and on foreign image sets.

    python benchmarks/anomaly_study.py [--epochs 10] [--digits 0,...,9] [--fashion DIR]
        [--fashion-classes 0,...,9] [--name anomaly-study]

One-class protocol (Ruff et al. 2018): for each normal digit d, an AE (the conv default) and a VAE
(the bench's MLP VAE) train on the training images of d only (into benchmarks/runs/anomaly/). Each
candidate score is computed on the validation split (carved from MNIST's training file: normal = the
validation images of d, anomalies = the other validation digits) and on the test set. Foreign sets
(latentzoo.eval.foreign, 1,600 images of 28 x 28 each: grey photograph tiles from scikit-learn's
sample images, synthetic pen strokes, scikit-learn's 8 x 8 digits scaled up, letters in Pillow's
default font, uniform noise) are scored by an AE and a VAE trained on every digit: the first half
against the validation digits, the second half against the 10,000 test digits. The choice uses
validation figures only: the candidate whose worst one (its mean one-class validation AUROC, or its
AUROC on a foreign set's first half) is highest. With Fashion-MNIST (Debian's
`dataset-fashion-mnist`, its IDX files unpacked into `--fashion`, default
~/.cache/latentzoo/fashion, fetched with `apt-get download` when absent), the pair in both
directions joins the foreign sets: MNIST's AE and VAE against Fashion-MNIST images (validation and
test images of Fashion-MNIST as the two halves), and an AE and a VAE trained on Fashion-MNIST
against MNIST digits (its validation images against MNIST's validation digits, its test images
against MNIST's test digits), and the one-class protocol runs on Fashion-MNIST's classes too
(`--fashion-classes`; its mean is another validation figure for the choice). Test figures are
reported for every candidate, so the choice can be checked but was not made on them. Candidates
(higher = more anomalous; "standardised" = less its mean, over its standard deviation, on the
normal validation images):
- ae recon: squared reconstruction error (the bench's score until now);
- ae latent: -log density of the encoding under the Gaussian fitted to the training latents;
- ae recon+latent: both standardised, summed;  ae max: the larger of the two standardised;
- vae elbo: negative ELBO at the posterior mean (nats), VAE.anomaly_score;
- vae max: the largest of its standardised reconstruction term, KL term and negative ELBO;
- ensemble: ae recon, ae latent and vae elbo standardised, summed;
- max of the three: the largest of those three standardised (anomalous when any one finds it so);
- fisher: Fisher's method over the three, each standardised score's Gaussian upper-tail
  probability p, summed as -log p;
- mahalanobis: the Mahalanobis distance of the three scores from the normal validation images'
  mean, under their covariance (latentzoo.eval.Mahalanobis: standardised, Ledoit-Wolf shrinkage;
  an image unusual in either direction, too simple included);
- png bits: the image's PNG code length in bits (a general-purpose lossless compressor);
- vae llr: the likelihood ratio of Ren et al. (2019), the negative ELBO less that of a background
  VAE (the same kind and settings) trained on the same training images with each pixel replaced,
  with probability MUTATION, by a uniformly drawn grey level (drawn once per image, seed 0);
- vae elbo - png: the input-complexity correction of Serra et al. (2020), the negative ELBO less
  the PNG code length (both in nats);
- mahalanobis+png: the Mahalanobis distance over the three scores and the PNG code length;
- fisher(distance, sum): Fisher's method over two tail probabilities, mahalanobis+png's
  (chi-squared) and that of the sum of the three standardised scores (Gaussian);
- fisher(distance, each): latentzoo.eval.Ensemble, Fisher's method over mahalanobis+png's tail
  and each of the three standardised scores' Gaussian tails (four probabilities).
Each combination's shortfall below its best member (the largest of its members' AUROC less its own,
per normal digit and per foreign set) is reported beside it.
Written to benchmarks/results/NAME.json and NAME.md."""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from latentzoo.config import make_config  # noqa: E402
from latentzoo.data import load_dataset  # noqa: E402
from latentzoo.eval import (  # noqa: E402
    Ensemble,
    Mahalanobis,
    auroc,
    chi2_log_tail,
    codes_nll,
    complexity_bits,
)
from latentzoo.eval.foreign import FOREIGN, foreign_sets  # noqa: E402
from latentzoo.files import atomic_write, write_json  # noqa: E402
from latentzoo.models.base import gaussian_kl, reconstruction_loss  # noqa: E402
from latentzoo.runs import METRICS, load, read_config  # noqa: E402
from latentzoo.sources import load_source  # noqa: E402
from latentzoo.training import train_model  # noqa: E402

RUNS = ROOT / "benchmarks" / "runs" / "anomaly"
MUTATION = 0.1


def same_settings(kept, cfg) -> bool:
    a, b = kept.to_dict(), cfg.to_dict()
    a["data"]["data_hash"] = b["data"]["data_hash"]  # filled in by training from the files
    return a == b


def model(name: str, kind: str, log, **kw):
    cfg = make_config(kind, **kw)
    run = RUNS / name
    if not ((run / METRICS).is_file() and same_settings(read_config(run), cfg)):
        log(f"training {name}")
        train_model(cfg, run, overwrite=run.exists(), progress=False, log=lambda m: None)
    return load(run).eval()


@torch.no_grad()
def raw_scores(ae, vae, bg, x: torch.Tensor) -> dict[str, torch.Tensor]:
    out: dict[str, list] = {
        "ae recon": [],
        "ae latent": [],
        "vae elbo": [],
        "vae recon": [],
        "vae kl": [],
        "vae llr": [],
    }
    for i in range(0, len(x), 500):
        b = x[i : i + 500]
        z = ae.encode(b)  # (B, L)
        out["ae recon"].append((ae.decode(z) - b).pow(2).flatten(1).sum(1))
        out["ae latent"].append(codes_nll(ae, z))
        mu, logvar = vae.posterior(b)
        out["vae recon"].append(reconstruction_loss(vae.decoder(mu), b, vae.cfg.model.recon))
        out["vae kl"].append(gaussian_kl(mu, logvar))
        out["vae elbo"].append(out["vae recon"][-1] + out["vae kl"][-1])  # VAE.anomaly_score
        out["vae llr"].append(out["vae elbo"][-1] - bg.anomaly_score(b))
    return {**{k: torch.cat(v).double() for k, v in out.items()}, "png bits": complexity_bits(x)}


MEMBERS = ("ae recon", "ae latent", "vae elbo")


def fit(raw_normal: dict[str, torch.Tensor]) -> dict:
    """Each score's mean and deviation on normal validation images, and the Mahalanobis distance
    (latentzoo.eval.Mahalanobis) fitted on the member scores, with and without the PNG length."""
    stats: dict = {k: (float(v.mean()), float(v.std()) + 1e-12) for k, v in raw_normal.items()}
    for name, keys in (("three", MEMBERS), ("four", (*MEMBERS, "png bits"))):
        stats[name] = Mahalanobis({k: raw_normal[k] for k in keys})
    stats["ensemble"] = Ensemble(as_terms(raw_normal))
    standard = [(raw_normal[k] - stats[k][0]) / stats[k][1] for k in MEMBERS]
    stats["sum"] = float(torch.stack(standard).sum(0).std())  # the standardised sum's deviation
    return stats


def as_terms(raw: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The four views under latentzoo.eval.ensemble_terms' names."""
    names = {"ae recon": "ae recon", "ae latent": "ae code", "vae elbo": "vae neg elbo"}
    return {**{v: raw[k] for k, v in names.items()}, "complexity bits": raw["png bits"]}


def combined(raw: dict[str, torch.Tensor], stats: dict) -> dict[str, torch.Tensor]:
    # standardised on normal validation images
    z = {k: (v - stats[k][0]) / stats[k][1] for k, v in raw.items()}
    three = torch.stack([z[k].double() for k in MEMBERS])  # (3, N)
    tail = torch.special.log_ndtr(-three)  # log of each Gaussian upper-tail probability
    distance = chi2_log_tail(stats["four"](raw), 4)  # log of its chi-squared tail
    return {
        **raw,
        "ae recon+latent": z["ae recon"] + z["ae latent"],
        "ensemble": three.sum(0),
        "max of the three": three.amax(0),
        "ae max": torch.maximum(z["ae recon"], z["ae latent"]),
        "vae max": torch.stack([z["vae recon"], z["vae kl"], z["vae elbo"]]).amax(0),
        "fisher": -tail.sum(0),
        "mahalanobis": stats["three"](raw),
        "vae elbo - png": raw["vae elbo"].double() - math.log(2) * raw["png bits"],
        "mahalanobis+png": stats["four"](raw),
        "fisher(distance, sum)": -(distance + torch.special.log_ndtr(-three.sum(0) / stats["sum"])),
        "fisher(distance, each)": stats["ensemble"](as_terms(raw)),
    }


# each combination's members: the single views it is built from
VIEWS = (*MEMBERS, "png bits")
PARTS = {
    "ae recon+latent": MEMBERS[:2],
    "ensemble": MEMBERS,
    "max of the three": MEMBERS,
    "ae max": MEMBERS[:2],
    "fisher": MEMBERS,
    "mahalanobis": MEMBERS,
    "vae elbo - png": ("vae elbo", "png bits"),
    "mahalanobis+png": VIEWS,
    "fisher(distance, sum)": VIEWS,
    "fisher(distance, each)": VIEWS,
}


def shortfall(rows: list[dict[str, dict[str, float]]], split: str) -> dict[str, float]:
    """Per combination, the largest of its members' AUROC less its own over the rows."""
    return {
        c: max(max(r[m][split] for m in parts) - r[c][split] for r in rows)
        for c, parts in PARTS.items()
    }


def against(ae, vae, bg, normal, sets, names, log) -> dict:
    """AUROC of each score, normal (val, test) images against each set's (val, test) halves."""
    raw_val = raw_scores(ae, vae, bg, normal[0])
    sc = fit(raw_val)
    scored = {
        "val": combined(raw_val, sc),
        "test": combined(raw_scores(ae, vae, bg, normal[1]), sc),
    }
    foreign: dict[str, dict[str, dict[str, float]]] = {}
    for set_name, halves in sets.items():
        foreign[set_name] = {n: {} for n in names}
        for split, part in zip(("val", "test"), halves):
            s = combined(raw_scores(ae, vae, bg, part), sc)
            n0 = len(scored[split][names[0]])
            is_foreign = torch.cat([torch.zeros(n0), torch.ones(len(part))]).bool()
            for n in names:
                foreign[set_name][n][split] = 100 * auroc(
                    torch.cat([scored[split][n], s[n]]), is_foreign
                )
        log(
            f"{set_name}: "
            + ", ".join(f"{k} {v['val']:.1f}/{v['test']:.1f}" for k, v in foreign[set_name].items())
        )
    return foreign


def fashion_splits(folder: Path):
    """Fashion-MNIST's splits from its IDX files in `folder`, unpacked from Debian's package when
    absent; None where the package cannot be fetched."""
    if not (folder / "t10k-images-idx3-ubyte.gz").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        got = subprocess.run(
            ["apt-get", "download", "dataset-fashion-mnist"], cwd=folder, capture_output=True
        )
        debs = sorted(folder.glob("dataset-fashion-mnist*.deb"))
        if got.returncode or not debs:
            print("Fashion-MNIST left out: apt-get download dataset-fashion-mnist failed")
            return None
        subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(folder / "deb")], check=True)
        for f in (folder / "deb" / "usr/share/datasets/fashion-mnist").iterdir():
            f.rename(folder / f.name)
    return load_source(folder)


def one_class_rows(splits, labels, prefix: str, log, epochs: int, **data) -> dict:
    """Per normal label d, each score's AUROC: validation (the validation images of d against the
    other validation images) and test, an AE and a VAE trained on d's training images alone."""
    val_x, val_y = splits.val.tensors()
    test_x, test_y = splits.test.tensors()
    kw = dict(epochs=epochs, **data)
    mutated = dict(epochs=epochs, source=str(background_set(splits, prefix)))
    rows: dict[str, dict[str, dict[str, float]]] = {}
    for d in labels:
        ae = model(f"{prefix}ae-{d}", "ae", log, only_digit=d, **kw)
        vae = model(f"{prefix}vae-{d}", "vae", log, backbone="mlp", only_digit=d, **kw)
        bg = model(f"{prefix}bg-vae-{d}", "vae", log, backbone="mlp", only_digit=d, **mutated)
        rv, rt = raw_scores(ae, vae, bg, val_x), raw_scores(ae, vae, bg, test_x)
        sc = fit({k: v[val_y == d] for k, v in rv.items()})
        sv, st = combined(rv, sc), combined(rt, sc)
        rows[str(d)] = {
            name: {
                "val": 100 * auroc(sv[name], val_y != d),
                "test": 100 * auroc(st[name], test_y != d),
            }
            for name in sv
        }
        cells = ", ".join(f"{k} {v['val']:.1f}/{v['test']:.1f}" for k, v in rows[str(d)].items())
        log(f"{prefix}{d}: {cells}")
    return rows


def background_set(splits, prefix: str) -> Path:
    """An .npz of the training images (labelled) with each pixel replaced, with probability
    MUTATION, by a uniformly drawn grey level, and the test images as they are: the background
    model's data (Ren et al. 2019). Written once into the study's runs folder."""
    path = RUNS / f"{prefix}mutated-{MUTATION}.npz"
    if not path.is_file():
        g = torch.Generator().manual_seed(0)
        x = splits.train.values.clone()  # (N, 1, H, W) uint8
        hit = torch.rand(x.shape, generator=g) < MUTATION
        x[hit] = torch.randint(0, 256, x.shape, generator=g, dtype=torch.uint8)[hit]
        arrays = dict(x_train=x[:, 0], y_train=splits.train.labels)
        arrays |= dict(x_test=splits.test.values[:, 0], y_test=splits.test.labels)
        RUNS.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **{k: v.numpy() for k, v in arrays.items()})
        tmp.rename(path)
    return path


def means(rows: dict, names: list[str]) -> dict:
    """Each score's mean AUROC over the normal labels, validation and test; {} without rows."""
    if not rows:
        return {}
    return {
        n: {s: float(np.mean([r[n][s] for r in rows.values()])) for s in ("val", "test")}
        for n in names
    }


def table(first: str, rows: dict, names: list[str], mean: dict | None = None) -> list[str]:
    """A markdown table of validation / test AUROC, a row per key of `rows` (and the mean)."""
    rows = {**rows, "mean": mean} if mean else rows
    lines = ["", f"| {first} | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for key, r in rows.items():
        lines.append(
            f"| {key} | "
            + " | ".join(f"{r[n]['val']:.1f} / {r[n]['test']:.1f}" for n in names)
            + " |"
        )
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--digits", default="0,1,2,3,4,5,6,7,8,9")
    ap.add_argument("--fashion", default="~/.cache/latentzoo/fashion", help="or none")
    ap.add_argument("--fashion-classes", default="0,1,2,3,4,5,6,7,8,9", help="or none")
    ap.add_argument("--name", default="anomaly-study")
    a = ap.parse_args()
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    torch.set_num_threads(min(2, torch.get_num_threads()))
    t0 = time.time()
    splits = load_dataset("mnist")
    val_x, test_x = splits.val.tensors()[0], splits.test.tensors()[0]
    one_class = one_class_rows(splits, map(int, a.digits.split(",")), "", log, epochs=a.epochs)
    fashion = fashion_splits(Path(a.fashion).expanduser()) if a.fashion != "none" else None
    source = dict(source=str(Path(a.fashion).expanduser()))
    fashion_rows = {}
    if fashion and a.fashion_classes != "none":
        labels = map(int, a.fashion_classes.split(","))
        fashion_rows = one_class_rows(fashion, labels, "fashion-", log, epochs=a.epochs, **source)
    names = list(next(iter(one_class.values())))
    mean, fashion_mean = means(one_class, names), means(fashion_rows, names)
    # foreign sets, models trained on every digit: the first half of each set against the validation
    # digits (for the choice), the second half against the test digits (reported)
    ae = model("ae-all", "ae", log, epochs=a.epochs)
    vae = model("vae-all", "vae", log, backbone="mlp", epochs=a.epochs)
    mutated = dict(epochs=a.epochs, source=str(background_set(splits, "")))
    bg = model("bg-vae-all", "vae", log, backbone="mlp", **mutated)
    sets = {k: (x[:FOREIGN], x[FOREIGN:]) for k, x in foreign_sets(2 * FOREIGN).items()}
    if fashion:
        sets["Fashion-MNIST (MNIST's models)"] = (
            fashion.val.tensors()[0],
            fashion.test.tensors()[0],
        )
    foreign = against(ae, vae, bg, (val_x, test_x), sets, names, log)
    if fashion:
        ae = model("ae-fashion", "ae", log, epochs=a.epochs, **source)
        vae = model("vae-fashion", "vae", log, backbone="mlp", epochs=a.epochs, **source)
        mutated = dict(epochs=a.epochs, source=str(background_set(fashion, "fashion-")))
        bg = model("bg-vae-fashion", "vae", log, backbone="mlp", **mutated)
        normal = (fashion.val.tensors()[0], fashion.test.tensors()[0])
        pair = {"MNIST digits (Fashion-MNIST's models)": (val_x, test_x)}
        foreign |= against(ae, vae, bg, normal, pair, names, log)
    # the worst of a score's validation figures: its mean one-class AUROC on each data set and its
    # AUROC on each foreign set
    figures = {n: [m[n]["val"] for m in (mean, fashion_mean) if m] for n in names}
    worst = {n: min([*figures[n], *(foreign[f][n]["val"] for f in foreign)]) for n in names}
    chosen = max(names, key=worst.get)
    rows = [*one_class.values(), *fashion_rows.values(), *foreign.values()]
    short = {split: shortfall(rows, split) for split in ("val", "test")}
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    command = " ".join(["python benchmarks/anomaly_study.py", *sys.argv[1:]])
    out = ROOT / "benchmarks" / "results"
    write_json(
        out / f"{a.name}.json",
        {
            "command": command,
            "commit": commit,
            "seconds": round(time.time() - t0, 1),
            "one_class": one_class,
            "mean": mean,
            "one_class_fashion": fashion_rows,
            "mean_fashion": fashion_mean,
            "worst_validation_figure": worst,
            "chosen_on_validation": chosen,
            "shortfall_below_best_member": short,
            "foreign": foreign,
        },
    )
    lines = [
        "# Anomaly scores chosen on validation data (one-class AUROC %, then foreign sets)",
        "",
        f"`{command}` (commit {commit}, {round(time.time() - t0)} s with training). Each cell: "
        "validation / test AUROC. Chosen on validation data only: the score whose worst validation "
        "figure (its mean one-class AUROC on MNIST and on Fashion-MNIST where present, and its "
        "AUROC on the first half of each foreign set against the validation images) is highest: "
        f"**{chosen}** (" + ", ".join(f"{n} {w:.1f}" for n, w in worst.items()) + ").",
        *table("normal digit", one_class, names, mean),
    ]
    if fashion_rows:
        lines += [
            "",
            "One-class Fashion-MNIST (the same protocol; an AE and a VAE per normal class):",
            *table("normal class", fashion_rows, names, fashion_mean),
        ]
    lines += [
        "",
        f"Foreign sets ({2 * FOREIGN:,} images each), models trained on every digit: validation "
        f"AUROC (the first {FOREIGN:,} against the validation digits) / test AUROC (the other "
        f"{FOREIGN:,} against the 10,000 test digits). Fashion-MNIST, where present: its 6,000 "
        "validation / 10,000 test images against MNIST's validation / test digits, with MNIST's "
        "models; and the reverse, MNIST's digits as anomalies for an AE and a VAE trained on "
        "Fashion-MNIST (its validation / test images the normal ones):",
        *table("foreign set", foreign, names),
        "",
        "Each combination's largest shortfall below its best member, over the normal classes of "
        "both one-class tables and the foreign sets (validation / test AUROC points): "
        + ", ".join(f"{c} {short['val'][c]:.2f} / {short['test'][c]:.2f}" for c in PARTS)
        + ".",
    ]
    atomic_write(out / f"{a.name}.md", "\n".join(lines) + "\n")
    log("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
