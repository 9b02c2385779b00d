"""`latentzoo bench`: the project's benchmark table, with published numbers beside ours.

Trains (or reuses, when a run folder already holds the same finished run) the benchmark models
with the configs and budgets in `BUDGETS`, computes every metric of `latentzoo.eval` (a run's
likelihood once, kept in its folder: `run_likelihood`), and writes
`results.json` and `RESULTS.md` into the output folder: one table per job, units and protocol
stated, the published anchors (`ANCHORS`) beside our numbers. `--quick` uses small budgets, recorded
as such in both files; its numbers show that the pipeline works, not how good the models are.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

import torch

from .config import MODELS, make_config
from .console import Log, stderr_log
from .data import load_dataset
from .eval import (EVAL_SEED, FOREIGN, anomaly_scores, auroc, classical_denoise, ensemble_terms, evaluate, features_of,
                   foreign_sets, generation_metrics, pca_features, probe_accuracy, psnr, real_data_floor, standardised_max,
                   uniform_bits_per_image, unseen_corruptions, vae_likelihood)
from .files import atomic_write, read_json, write_json
from .jobs import reconstruct
from .models import PriorConfig
from .noise import corrupt
from .runs import BEST, LIKELIHOOD, METRICS, PRIOR_METRICS, load, read_config, read_metrics
from .training import train, train_prior

# Published reference numbers, each with its source and protocol.
ANCHORS = {
    "nll": [
        ("VAE, 1 stochastic layer (Burda et al. 2015, Table 1)", 86.76, "dynamic binarization, k=5000"),
        ("IWAE, k=50, 1 stochastic layer (Burda et al. 2015, Table 1)", 84.78, "dynamic binarization, k=5000"),
        ("VAE, 2 stochastic layers (Burda et al. 2015, Table 1)", 85.33, "dynamic binarization, k=5000"),
        ("pythae VAE (pythae benchmark)", 89.78, "static binarization"),
        ("NVAE (Vahdat & Kautz 2020)", 78.01, "dynamic binarization"),
    ],
    "anomaly_deep_svdd": [98.0, 99.7, 91.7, 91.9, 94.9, 88.5, 98.3, 94.6, 93.9, 96.5],  # Ruff et al. 2018, one-class
    "anomaly_cae": [97.6, 98.3, 85.4, 86.7, 86.5, 78.2, 94.6, 92.3, 86.5, 90.4],  # the same paper's DCAE baseline
    "vq_wae": ("VQ-VAE, 8x8 latents, K=512 (VQ-WAE paper, MNIST)", 33.37, 47.2),  # PSNR dB, perplexity
    "lossless_bpd": [("PNG", 2.80), ("gzip", 1.65), ("WebP", 2.10), ("Bit-Swap", 1.29)],  # Bit-Swap README, 32x32
}

# The likelihood rows' networks, all on dynamically binarized images: ours is the VAE's default conv
# network; Burda et al. (2016)'s one-stochastic-layer network is 784-200-200-50 with tanh, batch 100.
# They train 3,280 epochs; BUDGETS says how many we do.
OURS = dict(binarize=True)
BURDA = dict(backbone="mlp", hidden=200, hidden2=200, latent_dim=50, act="tanh", binarize=True, batch_size=100)

# epochs None: each model's default epochs (make_config), so the full bench measures the defaults.
# nll_images None: all 10,000 test images (Burda et al.'s protocol).
BUDGETS: dict[str, dict[str, Any]] = {
    "full": dict(epochs=None, vae_epochs=100, prior_epochs=10, oneclass_epochs=10, oneclass_digits=list(range(10)),
                 conv_epochs=60, burda_epochs=1500, iwae_epochs=300, iwae_k=5, nll_k=5000, nll_images=None,
                 probe_train=10000, samples=5000, bm3d_images=300, limit=None),
    "quick": dict(epochs=1, vae_epochs=2, prior_epochs=1, oneclass_epochs=1, oneclass_digits=[0, 1],
                  conv_epochs=1, burda_epochs=1, iwae_epochs=1, iwae_k=2, nll_k=100, nll_images=100, probe_train=2000,
                  samples=500, bm3d_images=20, limit=2000),
}
NOISES = ("gaussian:0.5", "mask:0.5", "salt_pepper:0.2")
FLOOR = "held-out real digits (the floor)"


def _commit() -> str:
    try:
        root = Path(__file__).resolve().parents[1]
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


class Bench:
    def __init__(self, out: Path, quick: bool, data_dir=None, device=None, log: Log = stderr_log):
        self.out, self.quick, self.device, self.log = Path(out), quick, device, log
        self.budget = BUDGETS["quick" if quick else "full"]
        self.runs = self.out / ("runs-quick" if quick else "runs")
        self.splits = load_dataset("mnist", data_dir)
        self.data_dir = data_dir

    def model(self, name: str, kind: str, **kw):
        """Train the named benchmark model, or reuse a finished run with the same config. The full
        splits go to `train`, which applies the config's limit itself."""
        cfg = make_config(kind, limit=self.budget["limit"], **kw)
        run = self.runs / name
        if (run / METRICS).is_file() and read_config(run) == cfg:
            self.log(f"bench: reusing {run}")
        else:
            if run.exists():
                raise RuntimeError(f"{run} holds a different or unfinished run; remove it to rerun the bench")
            self.log(f"bench: training {name} ({kind}, {cfg.epochs} epochs)")
            train(cfg, run, splits=self.splits, device=self.device, progress=False, log=self.log)
        return run, load(run, device=self.device)

    # ------------------------------------------------------------------ the jobs
    def run(self) -> dict:
        b, t0 = self.budget, time.time()
        res: dict[str, Any] = {}
        test = self.splits.test

        ae_run, ae = self.model("ae", "ae", epochs=b["epochs"])
        vq_run, vq = self.model("vqvae", "vqvae", epochs=b["epochs"])
        _, vae = self.model("vae-mlp-bin", "vae", backbone="mlp", binarize=True, epochs=b["vae_epochs"])
        if not (vq_run / PRIOR_METRICS).is_file():
            train_prior(vq_run, PriorConfig(epochs=b["prior_epochs"]), data_dir=self.data_dir, device=self.device,
                        progress=False, log=self.log)
        vq = load(vq_run, device=self.device)

        self.log("bench: reconstruction")
        evals = {name: evaluate(m, test) for name, m in (("ae", ae), ("vae-mlp-bin", vae), ("vqvae", vq))}  # once each
        res["reconstruction"] = {name: {k: e[k] for k in ("mse_per_pixel", "mse_per_image", "psnr", "ssim")}
                                 for name, e in evals.items()}

        likelihood_runs = {
            "vae-conv": self.model("vae-conv", "vae", **OURS, epochs=b["conv_epochs"]),
            "iwae-conv": self.model("iwae-conv", "vae", **OURS, iw_samples=b["iwae_k"], epochs=b["conv_epochs"]),
            "vae-burda": self.model("vae-burda", "vae", **BURDA, epochs=b["burda_epochs"]),
            "iwae-burda": self.model("iwae-burda", "vae", **BURDA, iw_samples=b["iwae_k"], epochs=b["iwae_epochs"])}
        res["likelihood"] = {}
        for name, (run, m) in likelihood_runs.items():
            self.log(f"bench: likelihood of {name}, k={b['nll_k']} on {b['nll_images'] or 'all'} test images")
            res["likelihood"][name] = run_likelihood(run, m, test, b["nll_k"], b["nll_images"])

        self.log("bench: sample quality")
        res["samples"] = {name: generation_metrics(m, test, b["samples"], data_dir=self.data_dir)
                          for name, m in (("ae", ae), ("vae-mlp-bin", vae), ("vqvae", vq))}
        res["samples"][FLOOR] = real_data_floor(self.splits.val, test, b["samples"], data_dir=self.data_dir)

        self.log("bench: features")
        n = b["probe_train"]
        train_x, train_y = self.splits.train.tensors(slice(0, n))
        test_x, test_y = test.tensors()
        raw_tr, raw_te = train_x.flatten(1), test_x.flatten(1)
        feats = {"raw pixels (784)": (raw_tr, raw_te)}
        feats["PCA (32)"] = pca_features(raw_tr, raw_te, 32)
        sub = self.splits.train.subset(slice(0, n))
        for name, m in (("ae (32)", ae), ("vae-mlp-bin (32)", vae)):
            feats[name] = (features_of(m, sub), features_of(m, test))
        res["features"] = {name: probe_accuracy(a, train_y, c, test_y) for name, (a, c) in feats.items()}
        res["features_protocol"] = f"train on the first {n} training images, test on all 10,000 test images"

        self.log("bench: anomaly detection (one class per digit)")
        rows = {}
        for d in b["oneclass_digits"]:
            _, a_m = self.model(f"oneclass-ae-{d}", "ae", only_digit=d, epochs=b["oneclass_epochs"])
            _, v_m = self.model(f"oneclass-vae-{d}", "vae", backbone="mlp", only_digit=d, epochs=b["oneclass_epochs"])
            is_anomaly = test.labels != d
            normal_val = self.splits.val.subset(self.splits.val.labels == d)  # standardises the ensemble's scores
            terms = ensemble_terms(a_m, v_m, test_x)
            ensemble = standardised_max(terms, ensemble_terms(a_m, v_m, normal_val.tensors()[0]))
            rows[str(d)] = {"ae_recon": 100 * auroc(terms["ae recon"], is_anomaly),
                            "vae_neg_elbo": 100 * auroc(anomaly_scores(v_m, test, "elbo"), is_anomaly),
                            "ensemble": 100 * auroc(ensemble, is_anomaly)}
        res["anomaly"] = rows

        self.log("bench: foreign image sets against the test digits")
        _, vae_all = self.model("vae-mlp", "vae", backbone="mlp", epochs=b["oneclass_epochs"])  # every digit
        val_terms = ensemble_terms(ae, vae_all, self.splits.val.tensors()[0])  # standardises the ensemble

        def views(x):  # each view alone, and the ensemble, per image (N,)
            t = ensemble_terms(ae, vae_all, x)
            return {"ae_recon": t["ae recon"], "vae_neg_elbo": t["vae neg elbo"],
                    "ensemble": standardised_max(t, val_terms)}

        normal = views(test_x)
        res["foreign"] = {}
        for set_name, fx in foreign_sets().items():
            fx = fx[FOREIGN:]  # the half that the score's choice never saw (benchmarks/anomaly_study.py)
            is_foreign = torch.cat([torch.zeros(len(test_x), dtype=torch.bool), torch.ones(len(fx), dtype=torch.bool)])
            res["foreign"][set_name] = {k: 100 * auroc(torch.cat([normal[k], v]), is_foreign)
                                        for k, v in views(fx).items()}
        res["foreign_protocol"] = (f"{FOREIGN} images of each set (latentzoo.eval.foreign) against the {len(test_x):,} "
                                   "test digits; the default AE and an MLP VAE trained on every digit")

        self.log("bench: denoising")
        den = {}
        x, _ = test.tensors(slice(0, 2000))
        gen = torch.Generator().manual_seed(0)
        for spec in NOISES:
            name = "dae" if spec == "gaussian:0.5" else f"dae-{spec.split(':')[0]}"
            _, dae = self.model(name, "dae", noise=spec, epochs=b["epochs"])
            noisy = corrupt(x, spec, gen)
            row = denoising_row(dae, x, noisy)
            try:
                m = b["bm3d_images"]
                sigma = float(spec.split(":")[1]) if spec.startswith("gaussian") else 0.3
                row["bm3d"] = float(psnr(x[:m], classical_denoise(noisy[:m], "bm3d", sigma)).mean())
                row["bm3d_images"] = m
            except ImportError:
                row["bm3d"] = None
            den[spec] = row
        res["denoising"] = den
        res["denoising_protocol"] = "PSNR (dB, mean per image) on the first 2,000 test images; BM3D on the first bm3d_images"
        _, dae = self.model("dae-default", "dae", epochs=b["epochs"])  # the DAE's defaults: a mixture of noises
        res["denoising_unseen"] = {name: denoising_row(dae, x, noisy)
                                   for name, noisy in unseen_corruptions(x, torch.Generator().manual_seed(0)).items()}

        self.log("bench: discrete codes")
        q = evals["vqvae"]
        prior = read_json(vq_run / PRIOR_METRICS)
        res["codes"] = {"codes_used": q["codes_used"], "codebook_usage": q["codebook_usage"], "perplexity": q["perplexity"],
                        "psnr": q["psnr"], "uniform_bits_per_image": uniform_bits_per_image((7, 7), vq.cfg.n_codes),
                        "prior_bits_per_image": prior["test_bits_per_image"],
                        "prior_bits_per_image_given_label": prior["test_bits_per_image_given_label"]}
        res["info"] = {"mode": "quick" if self.quick else "full", "budget": b, "machine":
                       f"{platform.machine()}, {os.cpu_count()} cpus, {platform.platform()}",
                       "torch": torch.__version__, "commit": _commit(), "wall_seconds": round(time.time() - t0, 1),
                       "device": str(ae.device)}
        return res


def run_likelihood(run: Path, model, test, k: int, n_images: int | None) -> dict[str, Any]:
    """`vae_likelihood` of a run's kept weights on the first `n_images` test images (None: all), with
    the run's training time. Measured once: the figures are kept in the run folder's likelihood.json
    under the weights' SHA-256, k, the number of images and the seed, and read back while all four
    match (k=5000 on 10,000 images through a conv decoder takes some 70 minutes on 2 CPU cores)."""
    n = len(test) if n_images is None else min(n_images, len(test))
    key = f"sha256={hashlib.sha256((run / BEST).read_bytes()).hexdigest()} k={k} images={n} seed={EVAL_SEED}"
    path = run / LIKELIHOOD
    kept = read_json(path) if path.is_file() else {}
    if key not in kept:
        t0 = time.time()
        kept[key] = {**vae_likelihood(model, test, k=k, n_images=n), "eval_seconds": round(time.time() - t0, 1)}
        write_json(path, kept)
    return {**kept[key], "train_seconds": read_metrics(run)["train_seconds"]}


def denoising_row(dae, clean: torch.Tensor, noisy: torch.Tensor) -> dict[str, float]:
    """Mean PSNR (dB) against the clean images of the noisy input, the DAE's output and two filters."""
    return {"noisy": float(psnr(clean, noisy).mean()), "dae": float(psnr(clean, reconstruct(dae, noisy)).mean()),
            "median_3x3": float(psnr(clean, classical_denoise(noisy, "median")).mean()),
            "gaussian_blur": float(psnr(clean, classical_denoise(noisy, "gaussian")).mean())}


def _f(v, digits=2) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def default_epochs() -> str:
    """The default epochs per model kind, as `make_config` fills them in: '10; vqvae 15'."""
    base = make_config("ae").epochs
    other = [f"{m} {make_config(m).epochs}" for m in MODELS if make_config(m).epochs != base]
    return "; ".join([str(base)] + other)


def markdown(res: dict) -> str:
    info, A = res["info"], ANCHORS
    L = [f"# latentzoo benchmark ({info['mode']})", "",
         f"Written by `latentzoo bench{' --quick' if info['mode'] == 'quick' else ''}`; commit {info['commit']}, "
         f"{info['machine']}, torch {info['torch']}, device {info['device']}, wall time {info['wall_seconds']:.0f} s.",
         f"Budget: `{json.dumps(info['budget'])}`."
         + (f" `epochs` null: each model's default ({default_epochs()})." if info["budget"].get("epochs") is None else ""),
         ""]
    if info["mode"] == "quick":
        L += ["**Quick mode: tiny budgets. These numbers show the pipeline runs, not how good the models are.**", ""]
    b = info["budget"]
    L += ["## Likelihood: VAE on dynamically binarized MNIST (nats per image, lower is better)", "",
          "Ours, each with a Bernoulli decoder and trained on dynamically binarized images: the VAE's default conv "
          f"network ({b['conv_epochs']} epochs), and Burda et al.'s 784-200-200-50 (tanh, batch 100; "
          f"{b['burda_epochs']} and {b['iwae_epochs']} epochs, theirs 3,280), each trained as a VAE and as an IWAE "
          f"with k={b['iwae_k']} (`--iw-samples`). IS-NLL with k importance samples; the negative ELBO on the same "
          "images; training time on this machine.", "",
          "| model | IS-NLL | negative ELBO | protocol | training time |", "|---|---|---|---|---|"]
    names = {"vae-conv": f"latentzoo VAE, default conv network, {b['conv_epochs']} epochs",
             "iwae-conv": f"latentzoo IWAE k={b['iwae_k']}, default conv network, {b['conv_epochs']} epochs",
             "vae-burda": f"latentzoo VAE, Burda's network, {b['burda_epochs']} epochs",
             "iwae-burda": f"latentzoo IWAE k={b['iwae_k']}, Burda's network, {b['iwae_epochs']} epochs"}
    for key, lk in res["likelihood"].items():
        seconds = lk.get("train_seconds")
        L.append(f"| {names.get(key, key)} | {_f(lk['nll'])} | {_f(lk['neg_elbo'])} | k={lk['k']}, "
                 f"{lk['n_images']:,} test images | {'' if seconds is None else f'{seconds / 60:.0f} min'} |")
    L += [f"| {name} | {v} | | {proto} | |" for name, v, proto in A["nll"]]
    L += ["", "## Reconstruction (test set; PSNR and SSIM are means over images)", "",
          "| model | MSE per pixel | squared error per image | PSNR (dB) | SSIM |", "|---|---|---|---|---|"]
    L += [f"| {n} | {_f(r['mse_per_pixel'], 5)} | {_f(r['mse_per_image'])} | {_f(r['psnr'])} | {_f(r['ssim'], 4)} |"
          for n, r in res["reconstruction"].items()]
    name, p_, px = A["vq_wae"]
    L += [f"| {name} | | | {p_} | |", ""]
    L += ["## Sample quality (MNIST-FID: Fréchet distance in our own classifier's features; not Inception FID)", "",
          "| model | MNIST-FID | class entropy (nats, low = confident) | class diversity (nats, max 2.30) | digits covered "
          "| asked digit drawn (mean / worst digit) | asked for each digit in turn: MNIST-FID, class entropy |",
          "|---|---|---|---|---|---|---|"]
    for n, r in res["samples"].items():
        asked = (f"{100 * r['digit_accuracy']:.1f}% / {100 * r['digit_accuracy_min']:.1f}% (guidance "
                 f"{r.get('digit_guidance', 1.0)})" if "digit_accuracy" in r else "n/a (unconditional)")
        L.append(f"| {n} | {_f(r.get('sample_mnist_fid'))} | {_f(r.get('sample_class_entropy'), 3)} | "
                 f"{_f(r.get('sample_class_diversity'), 3)} | {r.get('sample_digits_covered', 'n/a')} | {asked} | "
                 + (f"{_f(r['asked_mnist_fid'])}, {_f(r['asked_class_entropy'], 3)} |" if "asked_mnist_fid" in r else "n/a |"))
    acc = next((r.get("classifier_test_accuracy") for r in res["samples"].values() if r), None)
    L += ["", f"Classifier test accuracy: {_f(acc, 4)}.", "",
          "## Features: accuracy of a linear probe and 5-NN on the latent means", "",
          res["features_protocol"] + ".", "", "| features | linear probe | 5-NN |", "|---|---|---|"]
    L += [f"| {n} | {_f(r['linear_probe'], 4)} | {_f(r['knn'], 4)} |" for n, r in res["features"].items()]
    L += ["", "## Anomaly detection, one-class protocol (Ruff et al. 2018): AUROC (%) per normal digit", "",
          "The ensemble: the largest of the AE's reconstruction error, its code's -log density and the VAE's negative "
          "ELBO, each standardised on the normal digit's validation images (latentzoo.eval.anomaly; chosen on "
          "validation data, benchmarks/results/anomaly-study.md).", "",
          "| digit | AE reconstruction error | VAE negative ELBO | ensemble | Deep SVDD (published) | DCAE (published) |",
          "|---|---|---|---|---|---|"]
    rows = res["anomaly"]
    for d, r in rows.items():
        L.append(f"| {d} | {_f(r['ae_recon'], 1)} | {_f(r['vae_neg_elbo'], 1)} | {_f(r.get('ensemble'), 1)} | "
                 f"{A['anomaly_deep_svdd'][int(d)]} | {A['anomaly_cae'][int(d)]} |")
    mean = lambda k: (sum(r[k] for r in rows.values()) / len(rows)) if all(k in r for r in rows.values()) else None  # noqa: E731
    digits = [int(d) for d in rows]
    L.append(f"| mean ({len(rows)} digits) | {_f(mean('ae_recon'), 1)} | {_f(mean('vae_neg_elbo'), 1)} | "
             f"{_f(mean('ensemble'), 1)} | "
             f"{_f(sum(A['anomaly_deep_svdd'][d] for d in digits) / len(digits), 1)} | "
             f"{_f(sum(A['anomaly_cae'][d] for d in digits) / len(digits), 1)} |")
    if "foreign" in res:
        L += ["", "## Out-of-distribution: foreign image sets against MNIST's test digits, AUROC (%)", "",
              res["foreign_protocol"] + "; the ensemble as above, standardised on the validation digits.", "",
              "| foreign set | AE reconstruction error | VAE negative ELBO | ensemble |", "|---|---|---|---|"]
        L += [f"| {s} | {_f(r['ae_recon'], 1)} | {_f(r['vae_neg_elbo'], 1)} | {_f(r['ensemble'], 1)} |"
              for s, r in res["foreign"].items()]
    L += ["", "## Denoising: PSNR (dB) against the clean image", "", res["denoising_protocol"] + ". Each DAE was "
          "trained on its own noise type.", "",
          "| noise | noisy input | DAE | median 3x3 | Gaussian blur | BM3D |", "|---|---|---|---|---|---|"]
    L += [f"| {s} | {_f(r['noisy'])} | {_f(r['dae'])} | {_f(r['median_3x3'])} | {_f(r['gaussian_blur'])} | {_f(r['bm3d'])} |"
          for s, r in res["denoising"].items()]
    if "denoising_unseen" in res:
        L += ["", "Corruptions no DAE trained on (latentzoo.eval.corruptions), the default DAE (a mixture of the three noises "
              "above at several strengths; --noise in `latentzoo train dae --help`), same images:", "",
              "| corruption | noisy input | DAE | median 3x3 | Gaussian blur |", "|---|---|---|---|---|"]
        L += [f"| {s} | {_f(r['noisy'])} | {_f(r['dae'])} | {_f(r['median_3x3'])} | {_f(r['gaussian_blur'])} |"
              for s, r in res["denoising_unseen"].items()]
    c = res["codes"]
    L += ["", "## Discrete codes: VQ-VAE, 7x7 grid, K=512", "",
          "| | codes used | perplexity | PSNR (dB) | bits per image | bits per dimension (784 px) |", "|---|---|---|---|---|---|",
          f"| latentzoo, uniform code | {c['codes_used']} | {_f(c['perplexity'], 1)} | {_f(c['psnr'])} | "
          f"{_f(c['uniform_bits_per_image'], 1)} | {_f(c['uniform_bits_per_image'] / 784, 3)} |",
          f"| latentzoo, learned prior | | | | {_f(c['prior_bits_per_image'], 1)} | {_f(c['prior_bits_per_image'] / 784, 3)} |",
          f"| {name} | | {px} | {p_} | | |"]
    L += [f"| lossless {n} (Bit-Swap README, 32x32) | | | | | {v} |" for n, v in A["lossless_bpd"]]
    L += ["", "Our rates are lossy (the PSNR column says how lossy); the lossless rates are for reference."]
    return "\n".join(L) + "\n"


def run_bench(out: str | Path, quick: bool = False, data_dir=None, device=None,
              log: Log = stderr_log) -> dict:
    out = Path(out)
    res = Bench(out, quick, data_dir, device, log).run()
    write_json(out / "results.json", res)
    atomic_write(out / "RESULTS.md", markdown(res))
    return res


__all__ = ["run_bench", "markdown", "ANCHORS", "BUDGETS"]
