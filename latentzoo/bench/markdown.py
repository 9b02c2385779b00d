"""RESULTS.md from the bench's results.json: one function per table, the published anchors
(`settings.ANCHORS`) beside our numbers, units and protocol stated."""

from __future__ import annotations

import json

from ..config import default_text
from .settings import ANCHORS, MEMBERS, MNIST_ONECLASS


def _f(v, digits=2) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}" if isinstance(v, float) else str(v)


# what the ensemble was in results files that do not say
MAX_OF_THREE = (
    "the largest of the AE's reconstruction error, its code's -log density and the VAE's negative "
    "ELBO, each standardised on the normal digit's validation images"
)


VIEW_TITLES = {k: title for k, (_, title) in MEMBERS.items()}


def _views(rows: dict) -> list[str]:
    return [k for k in VIEW_TITLES if all(k in r for r in rows.values())]


def _shortfall(rows: dict) -> list[str]:
    """A line naming the row where the ensemble falls furthest below its best member."""
    views = _views(rows)
    if len(views) < len(VIEW_TITLES):
        return []
    gap = {name: max(r[k] for k in views) - r["ensemble"] for name, r in rows.items()}
    worst = max(gap, key=gap.get)
    return [
        "",
        f"The ensemble's largest shortfall below its best member: {gap[worst]:.1f} points "
        f"({worst}).",
    ]


def markdown(res: dict) -> str:
    sections = (
        header,
        likelihood,
        reconstruction,
        samples,
        features,
        anomaly,
        foreign,
        denoising,
        codes,
    )
    return "\n".join(line for section in sections for line in section(res)) + "\n"


def _kept(res: dict) -> list[str]:
    """A line naming the tables an invocation with `--tables` kept, and who measured each."""
    chosen = res["info"].get("tables")
    kept = {t: s for t, s in res.get("measured", {}).items() if chosen and t not in chosen}
    if not kept:
        return []
    when = [
        f"{t} (commit {s['commit']}" + (f", {s['date']})" if "date" in s else ")")
        for t, s in kept.items()
    ]
    return [
        f"This invocation measured {', '.join(chosen)}; the other tables are kept from the "
        f"earlier results.json, with the commit that measured each: {', '.join(when)}."
    ]


def header(res: dict) -> list[str]:
    info = res["info"]
    quick = info["mode"] == "quick"
    budget = f"Budget: `{json.dumps(info['budget'])}`."
    if info["budget"].get("epochs") is None:
        budget += f" `epochs` null: each model's default ({default_text('epochs')})."
    data = res.get("data", {"name": "MNIST"})
    command = "latentzoo bench" + (" --quick" if quick else "")
    if data.get("source"):
        command += f" --data {data['source']}"
    if _kept(res):
        command += f" --tables {','.join(info['tables'])}"
    L = [
        f"# latentzoo benchmark on {data['name']} ({info['mode']})",
        "",
        f"Written by `{command}`; commit {info['commit']}, "
        f"{info['machine']}, torch {info['torch']}, device {info['device']}, wall time "
        f"{info['wall_seconds']:.0f} s.",
        budget,
        *_kept(res),
        "",
    ]
    if quick:
        L += [
            "**Quick mode: tiny budgets. These numbers show the pipeline runs, not how good the "
            "models are.**",
            "",
        ]
    return L


def likelihood(res: dict) -> list[str]:
    if "likelihood" not in res:
        return []
    b = res["info"]["budget"]
    L = [
        "## Likelihood: VAE on dynamically binarized MNIST (nats per image, lower is better)",
        "",
        "Ours, each with a Bernoulli decoder and trained on dynamically binarized images: the "
        f"VAE's default conv network ({b['conv_epochs']} epochs), and Burda et al.'s "
        f"784-200-200-50 (tanh, batch 100; {b['burda_epochs']} and {b['iwae_epochs']} epochs, "
        f"theirs 3,280), each trained as a VAE and as an IWAE with k={b['iwae_k']} "
        "(`--iw-samples`). IS-NLL with k importance samples; the negative ELBO on the same "
        "images; training time on this machine.",
        "",
        "| model | IS-NLL | negative ELBO | protocol | training time |",
        "|---|---|---|---|---|",
    ]
    k, conv = b["iwae_k"], b["conv_epochs"]
    names = {
        "vae-conv": f"latentzoo VAE, default conv network, {conv} epochs",
        "iwae-conv": f"latentzoo IWAE k={k}, default conv network, {conv} epochs",
        "vae-burda": f"latentzoo VAE, Burda's network, {b['burda_epochs']} epochs",
        "iwae-burda": f"latentzoo IWAE k={k}, Burda's network, {b['iwae_epochs']} epochs",
    }
    # files written with sorted keys keep the rows in this order too
    order = {key: i for i, key in enumerate(names)}
    rows = sorted(res["likelihood"].items(), key=lambda kv: order.get(kv[0], len(order)))
    for key, lk in rows:
        seconds = lk.get("train_seconds")
        time = "" if seconds is None else f"{seconds / 60:.0f} min"
        L.append(
            f"| {names.get(key, key)} | {_f(lk['nll'])} | {_f(lk['neg_elbo'])} | k={lk['k']}, "
            f"{lk['n_images']:,} test images | {time} |"
        )
    return L + [f"| {name} | {v} | | {proto} | |" for name, v, proto in ANCHORS["nll"]]


def on_mnist(res: dict) -> bool:
    return res.get("data", {}).get("name", "MNIST") == "MNIST"


def reconstruction(res: dict) -> list[str]:
    L = [
        "",
        "## Reconstruction (test set; PSNR and SSIM are means over images)",
        "",
        "| model | MSE per pixel | squared error per image | PSNR (dB) | SSIM |",
        "|---|---|---|---|---|",
    ]
    L += [
        f"| {n} | {_f(r['mse_per_pixel'], 5)} | {_f(r['mse_per_image'])} | {_f(r['psnr'])} | "
        f"{_f(r['ssim'], 4)} |"
        for n, r in res["reconstruction"].items()
    ]
    name, psnr, _ = ANCHORS["vq_wae"]
    return L + ([f"| {name} | | | {psnr} | |"] if on_mnist(res) else []) + [""]


def samples(res: dict) -> list[str]:
    fid = "MNIST-FID" if on_mnist(res) else "data-FID"
    key = "mnist_fid" if on_mnist(res) else "data_fid"
    L = [
        f"## Sample quality ({fid}: Fréchet distance in the features of our own classifier of the "
        "test images' data; not Inception FID)",
        "",
        f"| model | {fid} | class entropy (nats, low = confident) | class diversity (nats, max "
        "2.30) | classes covered | asked class drawn (mean / worst class) | asked for each class "
        f"in turn: {fid}, class entropy |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, r in res["samples"].items():
        asked = "n/a (unconditional)"
        if "digit_accuracy" in r:
            asked = (
                f"{100 * r['digit_accuracy']:.1f}% / {100 * r['digit_accuracy_min']:.1f}% "
                f"(guidance {r.get('digit_guidance', 1.0)})"
            )
        each = "n/a"
        if f"asked_{key}" in r:
            each = f"{_f(r[f'asked_{key}'])}, {_f(r['asked_class_entropy'], 3)}"
        L.append(
            f"| {n} | {_f(r.get(f'sample_{key}'))} | {_f(r.get('sample_class_entropy'), 3)} | "
            f"{_f(r.get('sample_class_diversity'), 3)} | "
            f"{r.get('sample_digits_covered', 'n/a')} | {asked} | {each} |"
        )
    acc = next((r.get("classifier_test_accuracy") for r in res["samples"].values() if r), None)
    return L + ["", f"Classifier test accuracy: {_f(acc, 4)}."]


def features(res: dict) -> list[str]:
    L = [
        "",
        "## Features: accuracy of a linear probe and 5-NN on the latent means",
        "",
        res["features_protocol"] + ".",
        "",
        "| features | linear probe | 5-NN |",
        "|---|---|---|",
    ]
    return L + [
        f"| {n} | {_f(r['linear_probe'], 4)} | {_f(r['knn'], 4)} |"
        for n, r in res["features"].items()
    ]


def anomaly(res: dict) -> list[str]:
    anchors = res.get("anomaly_anchors", MNIST_ONECLASS)
    rows = res["anomaly"]
    views = _views(rows)
    L = [
        "",
        "## Anomaly detection, one-class protocol (Ruff et al. 2018): AUROC (%) per normal class",
        "",
        f"The ensemble: {res.get('ensemble_method', MAX_OF_THREE)} "
        "(latentzoo.eval.anomaly; chosen on validation data, "
        "benchmarks/results/anomaly-study-fashion.md).",
        "",
        "| "
        + " | ".join(
            ["class", *(VIEW_TITLES[k] for k in views), "ensemble"]
            + [f"{name}, published" for name in anchors]
        )
        + " |",
        "|---" * (2 + len(views) + len(anchors)) + "|",
    ]
    classes = res.get("data", {}).get("classes")
    for d, r in rows.items():
        label = d if classes is None or classes[int(d)] == d else f"{d} ({classes[int(d)]})"
        cells = [label, *(_f(r.get(k), 1) for k in (*views, "ensemble"))]
        cells += [str(column[int(d)]) for column in anchors.values()]
        L.append("| " + " | ".join(cells) + " |")

    def mean(values):
        values = list(values)
        return None if None in values else sum(values) / len(values)

    digits = [int(d) for d in rows]
    ours = [_f(mean(r.get(k) for r in rows.values()), 1) for k in (*views, "ensemble")]
    theirs = [_f(mean(a[d] for d in digits), 1) for a in anchors.values()]
    L.append(f"| mean ({len(rows)} classes) | " + " | ".join(ours + theirs) + " |")
    return L + _shortfall({f"class {d}": r for d, r in rows.items()})


def foreign(res: dict) -> list[str]:
    if "foreign" not in res:
        return []
    L = [
        "",
        "## Out-of-distribution: foreign image sets against the test images, AUROC (%)",
        "",
        res["foreign_protocol"]
        + "; the ensemble as above, "
        + ("fitted" if "ensemble_method" in res else "standardised")
        + " on the validation images.",
        "",
    ]
    rows = res["foreign"]
    views = _views(rows)
    L += [
        "| foreign set | " + " | ".join(VIEW_TITLES[k] for k in views) + " | ensemble |",
        "|---" * (2 + len(views)) + "|",
    ]
    L += [
        f"| {s} | " + " | ".join(_f(r[k], 1) for k in (*views, "ensemble")) + " |"
        for s, r in rows.items()
    ]
    return L + _shortfall(rows)


def denoising(res: dict) -> list[str]:
    if "denoising" not in res:
        return []
    L = [
        "",
        "## Denoising: PSNR (dB) against the clean image",
        "",
        res["denoising_protocol"] + ". Each DAE was trained on its own noise type.",
        "",
        "| noise | noisy input | DAE | median 3x3 | Gaussian blur | BM3D |",
        "|---|---|---|---|---|---|",
    ]
    L += [
        f"| {s} | {_f(r['noisy'])} | {_f(r['dae'])} | {_f(r['median_3x3'])} "
        f"| {_f(r['gaussian_blur'])} | {_f(r['bm3d'])} |"
        for s, r in res["denoising"].items()
    ]
    if "denoising_unseen" not in res:
        return L
    L += [
        "",
        "Corruptions no DAE trained on (latentzoo.eval.corruptions), the default DAE (a mixture "
        "of the three noises above at several strengths; --noise in `latentzoo train dae "
        "--help`), same images:",
        "",
        "| corruption | noisy input | DAE | median 3x3 | Gaussian blur |",
        "|---|---|---|---|---|",
    ]
    return L + [
        f"| {s} | {_f(r['noisy'])} | {_f(r['dae'])} | {_f(r['median_3x3'])} | "
        f"{_f(r['gaussian_blur'])} |"
        for s, r in res["denoising_unseen"].items()
    ]


# what results files written before the codes table named its grid measured: MNIST's VQ-VAE
OLD_CODES = {"grid": [7, 7], "n_codes": 512, "dimensions": 784}


def codes(res: dict) -> list[str]:
    c = {**OLD_CODES, **res["codes"]}
    (gh, gw), dims = c["grid"], c["dimensions"]
    name, psnr, perplexity = ANCHORS["vq_wae"]
    uniform, prior = c["uniform_bits_per_image"], c["prior_bits_per_image"]
    L = [
        "",
        f"## Discrete codes: VQ-VAE, {gh}x{gw} grid, K={c['n_codes']}",
        "",
        "| | codes used | perplexity | PSNR (dB) | bits per image | bits per dimension "
        f"({dims} per image) |",
        "|---|---|---|---|---|---|",
        f"| latentzoo, uniform code | {c['codes_used']} | {_f(c['perplexity'], 1)} | "
        f"{_f(c['psnr'])} | {_f(uniform, 1)} | {_f(uniform / dims, 3)} |",
        f"| latentzoo, learned prior | | | | {_f(prior, 1)} | {_f(prior / dims, 3)} |",
    ]
    if on_mnist(res):
        L.append(f"| {name} | | {perplexity} | {psnr} | | |")
        L += [
            f"| lossless {n} (Bit-Swap README, 32x32) | | | | | {v} |"
            for n, v in ANCHORS["lossless_bpd"]
        ]
        L += ["", "Our rates are lossy (the PSNR column says how lossy); the lossless rates are "]
        L[-1] += "for reference."
    return L
