"""The bench's jobs: the benchmark models trained (or reused) and measured, one method per table.

`Bench.run` calls each chosen table's method in turn; each method reads the models it needs from
the bench (trained or loaded when first asked for) and returns its part of results.json."""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

import torch

from ..config import make_config
from ..console import Log, stderr_log
from ..data import load_dataset
from ..device import resolve_device
from ..errors import DataError, RunError
from ..eval import (
    FOREIGN,
    Ensemble,
    auroc,
    classical_denoise,
    ensemble_terms,
    evaluate,
    features_of,
    foreign_sets,
    generation_metrics,
    pca_features,
    probe_accuracy,
    psnr,
    real_data_floor,
    uniform_bits_per_image,
    unseen_corruptions,
)
from ..files import read_json
from ..kinds import data_kind
from ..models import PriorConfig
from ..noise import corrupt
from ..runs import (
    CONFIG,
    METRICS,
    PRIOR_LAST,
    PRIOR_METRICS,
    load,
    read_config,
)
from ..sources import load_source
from ..training import train_model, train_prior
from .rows import denoising_row, foreign_rows, run_likelihood, scored_views
from .settings import BUDGETS, BURDA, FLOOR, FLOOR_OWN, KNOWN_SETS, MNIST_ONECLASS, OURS
from .tables import TABLE_KEYS, chosen_tables, commit, earlier_results, kept_table

ENSEMBLE_METHOD = (
    "Fisher's method over four tail probabilities on the normal validation images: the Mahalanobis "
    "distance of the AE's reconstruction error, its code's -log density, the VAE's negative ELBO "
    "and the PNG code length (chi-squared), and each of the three model scores, standardised "
    "(Gaussian)"
)


class Bench:
    """The bench on MNIST (the home set, every table) or, with `source`, on the user's labelled
    images (the tables that need no MNIST protocol: reconstruction, samples, features, one class per
    label, foreign sets with MNIST's and this data's models both ways, codes)."""

    def __init__(
        self, out: Path, quick: bool, data_dir=None, device=None, log: Log = stderr_log, source=None
    ):
        self.out, self.quick, self.device, self.log = Path(out), quick, device, log
        self.budget = BUDGETS["quick" if quick else "full"]
        self.runs = self.out / ("runs-quick" if quick else "runs")
        self.data_dir = data_dir
        self.source = None if source is None else str(Path(source).resolve())
        self.home = load_dataset("mnist", data_dir)
        self.splits = self.home if self.source is None else load_source(self.source)
        if not self.splits.train.labelled:
            raise DataError(f"{source}: the bench's one-class table needs labelled images")

    @property
    def on_home(self) -> bool:
        return self.source is None

    def model(self, name: str, kind: str, home: bool = False, **kw):
        """Train the named benchmark model, or reuse a finished run with the same config. The full
        splits go to `train`, which applies the config's limit itself. `home`: on MNIST even when
        the bench is on other data."""
        on_home = home or self.on_home
        data = {} if on_home else dict(source=self.source, data_hash=self.splits.fingerprint)
        cfg = make_config(kind, limit=self.budget["limit"], **data, **kw)
        run = self.runs / name
        same = (run / CONFIG).is_file() and read_config(run) == cfg
        if same and (run / METRICS).is_file():
            self.log(f"bench: reusing {run}")
        else:
            if run.exists() and not same:
                raise RunError(f"{run} holds no run of this config; remove it to rerun the bench")
            # an unfinished run of the same config (a bench stopped midway) continues from its
            # last checkpoint
            doing = "continuing" if same else "training"
            self.log(f"bench: {doing} {name} ({kind}, {cfg.train.epochs} epochs)")
            quiet = dict(progress=False, log=self.log)
            splits = self.home if on_home else self.splits
            train_model(cfg, run, resume=same, splits=splits, device=self.device, **quiet)
        return run, load(run, device=self.device)

    def jobs(self) -> dict[str, Callable[[], tuple]]:
        """Each table this bench measures, as a function giving the values of its keys in the
        order `tables.TABLE_KEYS` names them."""
        jobs: dict[str, Callable[[], tuple]] = {}
        if self.on_home:
            jobs["likelihood"] = lambda: (self.likelihood(),)
        jobs["reconstruction"] = lambda: (self.reconstruction(),)
        jobs["samples"] = lambda: (self.samples(),)
        jobs["features"] = self.features
        jobs["anomaly"] = lambda: (self.anomaly(), self.anchors(), ENSEMBLE_METHOD)
        jobs["foreign"] = self.foreign
        if self.on_home:
            jobs["denoising"] = lambda: (*self.denoising(), self.denoising_unseen())
        jobs["codes"] = lambda: (self.codes(),)
        return jobs

    def run(self, tables: str | None = None) -> dict:
        """Every table, or those named in `tables` (comma-separated) with the others kept from
        the results.json already in the output folder."""
        t0 = time.time()
        jobs = self.jobs()
        chosen = chosen_tables(tables, list(jobs))
        data = self.data_info()
        earlier = {} if chosen == list(jobs) else earlier_results(self.out, self.budget, data)
        stamp = {"commit": commit(), "date": time.strftime("%Y-%m-%d", time.gmtime())}
        res: dict[str, Any] = {"data": data, "measured": {}}
        for name, job in jobs.items():
            part, res["measured"][name] = (
                (dict(zip(TABLE_KEYS[name], job(), strict=True)), stamp)
                if name in chosen
                else kept_table(earlier, name)
            )
            res.update(part)
        res["info"] = {**self.info(time.time() - t0), "tables": chosen}
        return res

    def data_info(self) -> dict:
        if self.on_home:
            return {"name": "MNIST", "classes": [str(d) for d in range(10)]}
        name, classes, _ = KNOWN_SETS.get(
            self.splits.fingerprint,
            (Path(self.source or "").name, [str(c) for c in self.splits.classes], {}),
        )
        return {
            "name": name,
            "source": self.source,
            "fingerprint": self.splits.fingerprint,
            "classes": classes,
        }

    def anchors(self) -> dict[str, list[float]]:
        """The published one-class columns for this data (none for data the bench does not know)."""
        if self.on_home:
            return MNIST_ONECLASS
        return KNOWN_SETS.get(self.splits.fingerprint, ("", [], {}))[2]

    @cached_property
    def ae(self):
        """The default AE (each main model is trained or loaded when a table first asks)."""
        return self.model("ae", "ae", epochs=self.budget["epochs"])[1]

    @property
    def vae_name(self) -> str:
        return "vae-mlp-bin" if self.on_home else "vae-mlp-long"

    @cached_property
    def vae(self):
        """An MLP VAE, binarized on MNIST for the likelihood protocol."""
        epochs = self.budget["vae_epochs"]
        kw = dict(backbone="mlp", binarize=self.on_home, epochs=epochs)
        return self.model(self.vae_name, "vae", **kw)[1]

    @cached_property
    def vq_run(self) -> Path:
        """The default VQ-VAE's run folder, with its prior."""
        b = self.budget
        run, _ = self.model("vqvae", "vqvae", epochs=b["epochs"])
        if not (run / PRIOR_METRICS).is_file():
            train_prior(
                run,
                PriorConfig(epochs=b["prior_epochs"]),
                # a prior the bench stopped midway continues from its checkpoint
                resume=(run / PRIOR_LAST).is_file(),
                data_dir=self.data_dir,
                device=self.device,
                progress=False,
                log=self.log,
            )
        return run

    @cached_property
    def vq(self):
        return load(self.vq_run, device=self.device)

    @cached_property
    def generators(self) -> dict:
        return {"ae": self.ae, self.vae_name: self.vae, "vqvae": self.vq}

    @cached_property
    def evals(self) -> dict:
        """Each main model evaluated once on the test images."""
        return {name: evaluate(m, self.splits.test) for name, m in self.generators.items()}

    def reconstruction(self) -> dict:
        self.log("bench: reconstruction")
        keys = ("mse_per_pixel", "mse_per_image", "psnr", "ssim")
        return {name: {k: e[k] for k in keys} for name, e in self.evals.items()}

    def likelihood(self) -> dict:
        b = self.budget
        runs = {
            "vae-conv": self.model("vae-conv", "vae", **OURS, epochs=b["conv_epochs"]),
            "iwae-conv": self.model(
                "iwae-conv", "vae", **OURS, iw_samples=b["iwae_k"], epochs=b["conv_epochs"]
            ),
            "vae-burda": self.model("vae-burda", "vae", **BURDA, epochs=b["burda_epochs"]),
            "iwae-burda": self.model(
                "iwae-burda", "vae", **BURDA, iw_samples=b["iwae_k"], epochs=b["iwae_epochs"]
            ),
        }
        out = {}
        for name, (run, m) in runs.items():
            images = b["nll_images"] or "all"
            self.log(f"bench: likelihood of {name}, k={b['nll_k']} on {images} test images")
            out[name] = run_likelihood(run, m, self.splits.test, b["nll_k"], b["nll_images"])
        return out

    def samples(self) -> dict:
        self.log("bench: sample quality")
        n, test = self.budget["samples"], self.splits.test
        # MNIST's cached classifier, or one trained on the bench's labelled data
        own = None if self.on_home else self.splits
        out = {
            name: generation_metrics(m, test, n, data_dir=self.data_dir, splits=own)
            for name, m in self.generators.items()
        }
        out[FLOOR if self.on_home else FLOOR_OWN] = real_data_floor(
            self.splits.val, test, n, data_dir=self.data_dir, splits=own
        )
        return out

    def features(self) -> tuple[dict, str]:
        self.log("bench: features")
        n, test = self.budget["probe_train"], self.splits.test
        train_x, train_y = self.splits.train.tensors(slice(0, n))
        test_x, test_y = test.tensors()
        raw_tr, raw_te = train_x.flatten(1), test_x.flatten(1)
        feats = {f"raw pixels ({raw_tr.shape[1]})": (raw_tr, raw_te)}
        feats["PCA (32)"] = pca_features(raw_tr, raw_te, 32)
        sub = self.splits.train.subset(slice(0, n))
        for name, m in {"ae": self.ae, self.vae_name: self.vae}.items():
            feats[f"{name} ({m.cfg.model.latent_dim})"] = (
                features_of(m, sub),
                features_of(m, test),
            )
        rows = {name: probe_accuracy(a, train_y, c, test_y) for name, (a, c) in feats.items()}
        return (
            rows,
            f"train on the first {n} training images, test on all {len(test):,} test images",
        )

    def anomaly(self) -> dict:
        """One class per label: an AE and an MLP VAE trained on that label alone."""
        self.log("bench: anomaly detection (one class per label)")
        b, test, val = self.budget, self.splits.test, self.splits.val
        test_x = test.tensors()[0]
        rows = {}
        for d in [d for d in b["oneclass_digits"] if d < len(self.splits.classes)]:
            _, ae = self.model(f"oneclass-ae-{d}", "ae", only_digit=d, epochs=b["oneclass_epochs"])
            _, vae = self.model(
                f"oneclass-vae-{d}",
                "vae",
                backbone="mlp",
                only_digit=d,
                epochs=b["oneclass_epochs"],
            )
            is_anomaly = test.labels != d
            terms = ensemble_terms(ae, vae, test_x)
            # the ensemble is fitted on the normal label's validation images
            normal_val = val.subset(val.labels == d).tensors()[0]
            ensemble = Ensemble(ensemble_terms(ae, vae, normal_val))(terms)
            views = scored_views(terms, ensemble)
            rows[str(d)] = {k: 100 * auroc(v, is_anomaly) for k, v in views.items()}
        return rows

    def foreign(self) -> tuple[dict, str]:
        """Foreign image sets against the test images: the default AE and an MLP VAE of the whole
        data; on other data than MNIST also MNIST's test digits against them, and this data's test
        images against MNIST's own two models (the pair both ways)."""
        self.log("bench: foreign image sets against the test images")
        epochs = self.budget["oneclass_epochs"]
        _, vae = self.model("vae-mlp", "vae", backbone="mlp", epochs=epochs)
        normal, test_x = self.splits.val.tensors()[0], self.splits.test.tensors()[0]
        sets = {}
        if tuple(self.splits.test.shape) == (1, 28, 28):
            sets = {name: fx[FOREIGN:] for name, fx in foreign_sets().items()}
        rows, home_x = {}, self.home.test.tensors()[0]
        if not self.on_home:
            sets["MNIST test digits"] = home_x
            _, home_ae = self.model("mnist-ae", "ae", home=True, epochs=self.budget["epochs"])
            _, home_vae = self.model(
                "mnist-vae-mlp", "vae", home=True, backbone="mlp", epochs=epochs
            )
            home_val = self.home.val.tensors()[0]
            pair = {f"{self.data_info()['name']} test images (MNIST's models)": test_x}
            rows = foreign_rows(home_ae, home_vae, home_val, home_x, pair)
        rows = {**foreign_rows(self.ae, vae, normal, test_x, sets), **rows}
        protocol = (
            f"the second {FOREIGN} images of each set (latentzoo.eval.foreign)"
            + ("" if self.on_home else " and other data's test images")
            + f" against the {len(test_x):,} test images; the default AE and an MLP VAE trained "
            "on all the training images"
        )
        return rows, protocol

    def denoising(self) -> tuple[dict, str]:
        """A DAE per noise kind against its input, two filters and BM3D (when installed)."""
        self.log("bench: denoising")
        x, rows = self.denoise_images(), {}
        gen = torch.Generator().manual_seed(0)
        for spec in data_kind("image").example_noises:
            name = "dae" if spec == "gaussian:0.5" else f"dae-{spec.split(':')[0]}"
            _, dae = self.model(name, "dae", noise=spec, epochs=self.budget["epochs"])
            noisy = corrupt(x, spec, gen)
            rows[spec] = {**denoising_row(dae, x, noisy), **self.bm3d(x, noisy, spec)}
        protocol = (
            f"PSNR (dB, mean per image) on the first {len(x):,} test images; BM3D on the first "
            "bm3d_images"
        )
        return rows, protocol

    def denoise_images(self) -> torch.Tensor:
        return self.splits.test.tensors(slice(0, 2000))[0]

    def bm3d(self, x: torch.Tensor, noisy: torch.Tensor, spec: str) -> dict:
        """BM3D's PSNR on the first bm3d_images, given the gaussian sigma (else 0.3)."""
        m = self.budget["bm3d_images"]
        sigma = float(spec.split(":")[1]) if spec.startswith("gaussian") else 0.3
        try:
            denoised = classical_denoise(noisy[:m], "bm3d", sigma)
        except ImportError:
            return {"bm3d": None}
        return {"bm3d": float(psnr(x[:m], denoised).mean()), "bm3d_images": m}

    def denoising_unseen(self) -> dict:
        """The default DAE (a mixture of noises) on corruptions no DAE trained on."""
        _, dae = self.model("dae-default", "dae", epochs=self.budget["epochs"])
        x = self.denoise_images()
        corrupted = unseen_corruptions(x, torch.Generator().manual_seed(0))
        return {name: denoising_row(dae, x, noisy) for name, noisy in corrupted.items()}

    def codes(self) -> dict:
        self.log("bench: discrete codes")
        q = self.evals["vqvae"]
        prior = read_json(self.vq_run / PRIOR_METRICS)
        return {
            **{k: q[k] for k in ("codes_used", "codebook_usage", "perplexity", "psnr")},
            "grid": list(self.vq.grid),
            "n_codes": self.vq.cfg.model.n_codes,
            "dimensions": math.prod(self.vq.cfg.data.shape),
            "uniform_bits_per_image": uniform_bits_per_image(
                self.vq.grid, self.vq.cfg.model.n_codes
            ),
            "prior_bits_per_image": prior["test_bits_per_image"],
            "prior_bits_per_image_given_label": prior["test_bits_per_image_given_label"],
        }

    def info(self, seconds: float) -> dict:
        return {
            "mode": "quick" if self.quick else "full",
            "budget": self.budget,
            "machine": f"{platform.machine()}, {os.cpu_count()} cpus, {platform.platform()}",
            "torch": torch.__version__,
            "commit": commit(),
            "wall_seconds": round(seconds, 1),
            "device": str(resolve_device(self.device)),
        }
