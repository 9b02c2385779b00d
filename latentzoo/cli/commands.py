"""The command line's subcommands, one function each: `cmd_NAME(args) -> exit status`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from .. import codec, distributed, jobs
from ..bench import run_bench
from ..config import cli_fields, make_config
from ..data import find_mnist
from ..errors import ConfigError, DataError
from ..eval import evaluate, generation_metrics, psnr
from ..eval.classifier import unavailable
from ..files import atomic_write, read_json, write_csv
from ..inputs import read_inputs, write_array, write_images, write_like_inputs
from ..models import PriorConfig
from ..noise import corrupt, parse_noise
from ..runs import CONFIG, PRIOR_CONFIG, load, read_config, run_data
from ..training import train, train_prior
from ..viz.plots import save_grid, save_reconstructions, save_rows
from ..viz.report import make_report


def cmd_train(a) -> int:
    given = {f.name: getattr(a, f.name) for f in cli_fields() if getattr(a, f.name) is not None}
    if "data" in given:
        given["data"] = str(Path(given["data"]).resolve())  # config.json keeps the absolute path
    if a.resume and a.overwrite:
        raise ConfigError(
            "--resume continues the run in --out and --overwrite replaces it: choose one"
        )
    if a.resume and (a.out / CONFIG).is_file():
        cfg = read_config(a.out)
        if cfg.model != a.model:
            raise ConfigError(f"{a.out} holds a {cfg.model} run, not {a.model}")
        clash = [k for k, v in given.items() if k != "epochs" and getattr(cfg, k) != v]
        if clash:
            k = clash[0]
            raise ConfigError(
                "--resume continues the saved config; "
                f"--{k.replace('_', '-')} {given[k]} differs from "
                f"its {getattr(cfg, k)} (only --epochs may change)"
            )
        if "epochs" in given:
            cfg.epochs = given["epochs"]
    else:
        cfg = make_config(a.model, **given)
    train(
        cfg,
        a.out,
        resume=a.resume,
        overwrite=a.overwrite,
        checkpoint_every=a.checkpoint_every,
        data_dir=a.data_dir,
        device=a.device,
        progress=a.progress,
    )
    if distributed.is_main():  # under torchrun, rank 0 alone draws and speaks
        make_report(a.out, data_dir=a.data_dir, device=a.device)
        print(f"run written to {a.out}")
    return 0


def _load_run(a):
    model = load(a.run, getattr(a, "checkpoint", "best"), device=a.device)  # eval has --checkpoint
    return model, run_data(model.cfg, a.data_dir)


def _inputs(a, model):
    """The INPUT files of a job, fitted to the run's image shape (or a one-line error)."""
    return read_inputs(a.inputs, model.cfg.image_shape, resize=a.resize, convert=a.convert)


def format_metrics(metrics: dict) -> str:
    return "\n".join(
        f"{k:>16}  {v:.6g}" if isinstance(v, float) else f"{k:>16}  {v}" for k, v in metrics.items()
    )


def guidance_option(model, guidance: float | None) -> dict:
    """{'guidance': g} for a model that takes it; a value given for one that does not is a
    mistake."""
    if guidance is not None and not model.guided:
        raise ConfigError(
            "--guidance applies to a VQ-VAE's learned prior; this "
            f"run is a {model.cfg.model} without one"
        )
    return {"guidance": guidance} if guidance is not None else {}


def cmd_eval(a) -> int:
    model, data = _load_run(a)
    cfg = model.cfg
    metrics = {
        "model": cfg.model,
        "backbone": cfg.backbone,
        "dataset": cfg.dataset,
        "checkpoint": a.checkpoint,
        **evaluate(model, data.test),
    }
    guidance_option(model, a.guidance)
    # MNIST's classifier, or one trained on the data
    why = None if cfg.dataset == "mnist" else unavailable(data)
    if a.samples and model.can_sample and why:
        print(
            "latentzoo: notice: sample metrics (FID in a classifier's "
            "features, asked-label accuracy) skipped: "
            f"{why}",
            file=sys.stderr,
        )
    elif a.samples and model.can_sample:
        metrics.update(
            generation_metrics(
                model,
                data.test,
                a.samples,
                data_dir=a.data_dir,
                temperature=a.temperature,
                guidance=a.guidance,
                splits=None if cfg.dataset == "mnist" else data,
            )
        )
        metrics["sample_temperature"] = a.temperature
    print(json.dumps(metrics, indent=2) if a.json else format_metrics(metrics))
    return 0


def cmd_train_prior(a) -> int:
    given = {
        k: getattr(a, k)
        for k in ("epochs", "batch_size", "lr", "d_model", "n_layers", "seed")
        if getattr(a, k) is not None
    }
    if a.resume and (a.run / PRIOR_CONFIG).is_file():
        cfg = PriorConfig.from_dict(read_json(a.run / PRIOR_CONFIG))
        clash = [k for k, v in given.items() if k != "epochs" and getattr(cfg, k) != v]
        if clash:
            raise ConfigError(
                "--resume continues the saved prior; "
                f"--{clash[0].replace('_', '-')} differs from its "
                f"{getattr(cfg, clash[0])} (only --epochs may change)"
            )
        cfg.epochs = given.get("epochs", cfg.epochs)
    else:
        cfg = PriorConfig(**given)
    metrics = train_prior(
        a.run,
        cfg,
        data_dir=a.data_dir,
        device=a.device,
        resume=a.resume,
        checkpoint_every=a.checkpoint_every,
        progress=a.progress,
    )
    make_report(a.run, data_dir=a.data_dir, device=a.device)  # now with samples
    given_label = metrics["test_bits_per_image_given_label"]
    print(
        f"prior written to {a.run}: test {metrics['test_bits_per_image']:.1f} bits per image ("
        + (f"{given_label:.1f} given the label; " if given_label is not None else "")
        + f"uniform codes {metrics['uniform_bits_per_image']:.1f})"
    )
    return 0


def folder_out(a) -> None:
    """With INPUT files, --out is the folder of the results; without, a .png of test images."""
    if a.inputs and a.out.suffix:
        raise ConfigError(
            f"--out {a.out}: with INPUT files the results go into a folder (one file per input)"
        )
    if not a.inputs and a.out.suffix.lower() != ".png":
        raise ConfigError(
            f"--out {a.out}: without INPUT files, {a.command} writes one picture of test images: "
            f"give FILE.png"
        )


def cmd_encode(a) -> int:
    model = load(a.run, device=a.device)
    inputs = _inputs(a, model)
    z = jobs.encode(model, inputs.images)
    # (N, H/4, W/4) codes or (N, L) means
    arr = z.numpy().astype("int32" if model.has_codes else "float32")
    names = a.out.with_suffix(".names.txt")
    write_array(a.out, arr)
    atomic_write(names, "".join(f"{n}\n" for n in inputs.names))
    print(
        f"wrote {a.out} ({'x'.join(map(str, arr.shape))} "
        f"{'codes' if model.has_codes else 'latent means'}) and {names}"
    )
    return 0


def cmd_score(a) -> int:
    model, data = _load_run(a)
    partner = None
    if a.with_run is not None:
        partner = load(a.with_run, device=a.device)
        same = (
            "dataset",
            "data_hash",
            "image_size",
            "colour",
            "split_seed",
            "val_fraction",
            "test_fraction",
            "only_digit",
        )
        if any(getattr(model.cfg, k) != getattr(partner.cfg, k) for k in same):
            raise ConfigError(
                f"{a.run} and {a.with_run} were trained on different "
                "data; the ensemble needs two runs "
                f"on the same images"
            )
        if (
            {model.fits_latent_gaussian, partner.fits_latent_gaussian} != {True, False}
            or not (model.has_elbo or partner.has_elbo)
            or model.needs_labels
            or partner.needs_labels
        ):
            raise ConfigError(
                f"--with makes the ensemble of an AE (or DAE) and a VAE; {a.run} holds a "
                f"{model.cfg.model} and {a.with_run} a {partner.cfg.model}"
            )
    inputs = _inputs(a, model)
    score = jobs.scorer(model, partner, data.val)
    threshold = jobs.calibrate(model, data.val, a.fpr, score=score)
    scores = score(inputs.images)
    flags = jobs.flag(scores, threshold)
    write_csv(
        a.out,
        [
            {
                "name": n,
                "score": round(float(v), 6),
                "threshold": round(threshold, 6),
                "flag": int(f),
            }
            for n, v, f in zip(inputs.names, scores, flags)
        ],
    )
    what = "the ensemble's" if partner is not None else "the"
    print(
        f"wrote {a.out}: {int(flags.sum())} of {len(inputs)} images "
        f"flagged (threshold {threshold:.4g}, {what} score "
        f"that {a.fpr:g} of the run's {len(data.val)} validation images exceed)"
    )
    return 0


def cmd_compress(a) -> int:
    model = load(a.run, device=a.device)
    if not model.can_compress:
        raise ConfigError(
            "compress needs a VQ-VAE with a prior over its codes; "
            f"{a.run} holds a {model.cfg.model}"
            + (" without one (train it with `latentzoo train-prior`)" if model.has_codes else "")
        )
    inputs = _inputs(a, model)
    codes = codec.encode_images(model, inputs.images)
    data = codec.compress_codes(model, codes)
    atomic_write(a.out, data)
    n = len(inputs)
    print(
        f"wrote {a.out}: {n} images in {len(data):,} bytes, "
        f"{8 * len(data) / n:.1f} bits per image with the header "
        "(the prior's cross-entropy on them: "
        f"{codec.cross_entropy_bits(model, codes):.1f} bits per image)"
    )
    return 0


def cmd_decompress(a) -> int:
    model = load(a.run, device=a.device)
    try:
        data = a.file.read_bytes()
    except OSError as e:
        raise DataError(f"{a.file}: cannot read ({e.strerror or e})") from None
    images = codec.decompress(model, data, str(a.file))
    write_images(a.out, images, "image")
    print(f"wrote {a.out}: {len(images)} images")
    return 0


def cmd_reconstruct(a) -> int:
    folder_out(a)
    model, data = (load(a.run, device=a.device), None) if a.inputs else _load_run(a)
    if a.inputs:
        inputs = _inputs(a, model)
        written = write_like_inputs(inputs, jobs.reconstruct(model, inputs.images), a.out)
        print(f"wrote {len(written)} files to {a.out}")
        return 0
    x, y = data.test.tensors(slice(0, a.n), model.device)
    with torch.no_grad():
        save_reconstructions(a.out, x, model.reconstruct(x, y))
    print(f"wrote {a.out}")
    return 0


def cmd_sample(a) -> int:
    model = load(a.run, device=a.device)
    options = guidance_option(model, a.guidance)
    gen = torch.Generator().manual_seed(a.seed)
    classes = model.cfg.n_classes
    if a.digit is not None:
        if not model.conditional:
            raise ConfigError(
                f"--digit needs a conditional model (a cvae, or a vqvae with a prior from "
                f"`latentzoo train-prior`); this run is a {model.cfg.model}"
            )
        if a.digit >= classes:
            raise ConfigError(f"--digit {a.digit}: the run's data has labels 0 to {classes - 1}")
        y = torch.full((a.n,), a.digit)
    elif model.needs_labels:
        y = torch.arange(a.n) % classes  # one column per label
    else:
        y = None
    images = model.sample(a.n, y=y, generator=gen, temperature=a.temperature, **options)
    # (N, H, W[, C]) uint8, or one PNG per sample
    if a.out.suffix.lower() == ".npy" or not a.out.suffix:
        write_images(a.out, images, "sample")
    else:
        save_grid(
            a.out, images, nrow=min(classes, 10) if model.needs_labels and a.digit is None else 8
        )
    print(f"wrote {a.out}" + ("" if a.out.suffix else f" ({a.n} PNG files)"))
    return 0


def cmd_denoise(a) -> int:
    folder_out(a)
    if a.inputs:
        model = load(a.run, device=a.device)
        inputs = _inputs(a, model)
        _, clean = jobs.denoise(model, inputs.images, noise=a.noise, seed=a.seed)
        written = write_like_inputs(inputs, clean, a.out)
        print(
            f"wrote {len(written)} denoised files to {a.out}"
            + (f" (corrupted first by {a.noise})" if a.noise else "")
        )
        return 0
    if not a.noise:
        raise ConfigError(
            "denoise without INPUT files corrupts the run's test "
            "images: give --noise, e.g. gaussian:0.5"
        )
    spec = parse_noise(a.noise)
    model, data = _load_run(a)
    x, y = data.test.tensors(slice(0, a.n), model.device)
    noisy = corrupt(x, spec, torch.Generator().manual_seed(a.seed))
    with torch.no_grad():
        clean = model.reconstruct(noisy, y)
    save_rows(a.out, [x, noisy, clean])
    print(
        f"wrote {a.out}  (PSNR noisy {float(psnr(x, noisy).mean()):.2f} dB -> denoised "
        f"{float(psnr(x, clean).mean()):.2f} dB on these {a.n} digits)"
    )
    return 0


def cmd_interpolate(a) -> int:
    model, data = _load_run(a)
    x, y = data.test.tensors(slice(0, 2 * a.pairs), model.device)
    walks = model.interpolate(x[0::2], x[1::2], a.steps, y=y[0::2] if model.needs_labels else None)
    save_grid(a.out, walks.flatten(0, 1), nrow=a.steps)  # (pairs * steps, 1, 28, 28)
    print(f"wrote {a.out}")
    return 0


def cmd_demo(a) -> int:
    try:
        find_mnist(a.data_dir)
        dataset = "mnist"
    except DataError as e:
        print(
            f"latentzoo: notice: MNIST is not available ({e}); the "
            "demo uses the bundled 8x8 digits instead",
            file=sys.stderr,
        )
        dataset = "digits"
    out, n = a.out, 2
    while out.exists():  # never overwrite an earlier demo
        out = a.out.with_name(f"{a.out.name}-{n}")
        n += 1
    # the MLP VAE: the quickest of the family to give recognisable samples on a CPU
    cfg = make_config(
        "vae",
        backbone="mlp",
        dataset=dataset,
        epochs=a.epochs if dataset == "mnist" else 5 * a.epochs,
    )
    print(
        f"demo: training a {cfg.backbone} VAE on {dataset} for {cfg.epochs} epochs into {out}",
        file=sys.stderr,
    )
    train(cfg, out, data_dir=a.data_dir, device=a.device)
    make_report(out, data_dir=a.data_dir, device=a.device)
    a.run, a.json, a.samples, a.temperature, a.checkpoint, a.guidance = (
        out,
        False,
        0,
        1.0,
        "best",
        None,
    )
    cmd_eval(a)
    pictures = sorted(p.name for p in out.glob("*.png"))
    print(f"demo done: {out} holds {', '.join(pictures)}")
    return 0


def cmd_bench(a) -> int:
    out = a.out or Path("benchmarks/results-quick" if a.quick else "benchmarks/results")
    run_bench(out, quick=a.quick, data_dir=a.data_dir, device=a.device)
    print(f"wrote {out / 'results.json'} and {out / 'RESULTS.md'}")
    return 0


def cmd_report(a) -> int:
    if a.out is not None and a.out.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"--out {a.out} should end in .html")
    print(f"wrote {make_report(a.run, a.out, data_dir=a.data_dir, device=a.device, tsne=a.tsne)}")
    return 0


COMMANDS = {
    "bench": cmd_bench,
    "report": cmd_report,
    "train": cmd_train,
    "train-prior": cmd_train_prior,
    "eval": cmd_eval,
    "encode": cmd_encode,
    "score": cmd_score,
    "compress": cmd_compress,
    "decompress": cmd_decompress,
    "reconstruct": cmd_reconstruct,
    "sample": cmd_sample,
    "denoise": cmd_denoise,
    "interpolate": cmd_interpolate,
    "demo": cmd_demo,
}
