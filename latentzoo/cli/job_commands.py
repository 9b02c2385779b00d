"""The subcommands that run a trained model on the user's files (or the run's test images):
encode, score, compress, decompress, reconstruct, sample, denoise and interpolate, one function
each: `cmd_NAME(args) -> exit status`; and `app`, which shows them on a web page."""

from __future__ import annotations

import torch

from .. import codec, jobs
from ..app import Showcase, serve
from ..errors import ConfigError, DataError
from ..eval import psnr
from ..files import atomic_write
from ..inputs import write_array
from ..kinds import data_kind
from ..noise import parse_noise
from ..runs import load, run_data
from ..viz.plots import save_grid, save_reconstructions, save_rows, score_trace
from ..zoo import names
from .common import (
    folder_out,
    guidance_option,
    input_options,
    job_inputs,
    kept_residuals,
    load_run,
)


def cmd_encode(a) -> int:
    model = load(a.run, device=a.device)
    inputs = job_inputs(a, model)
    z = jobs.encode(model, inputs.examples)
    # (N, H/4, W/4) codes or (N, L) means
    arr = z.numpy().astype("int32" if model.has_codes else "float32")
    names = a.out.with_suffix(".names.txt")
    write_array(a.out, arr)
    atomic_write(names, "".join(f"{n}\n" for n in inputs.names))
    what = "codes" if model.has_codes else "posterior means" if model.has_elbo else "latents"
    print(f"wrote {a.out} ({'x'.join(map(str, arr.shape))} {what}) and {names}")
    return 0


def cmd_score(a) -> int:
    model, data = load_run(a)
    partner = None
    if a.with_run is not None:
        partner = load(a.with_run, device=a.device)
        if not model.cfg.data.same_images(partner.cfg.data):
            raise ConfigError(
                f"{a.run} and {a.with_run} were trained on different data; the ensemble needs two "
                "runs on the same images"
            )
    score = jobs.scorer(model, partner, data.val)
    threshold = jobs.calibrate(model, data.val, a.fpr, score=score)
    kind = data_kind(model.cfg.data.data_kind)
    counts = kind.score_files(a.inputs, model.cfg.data, score, threshold, a.out, **input_options(a))
    if "intervals" in counts:
        found = a.out.with_name(a.out.stem + ".intervals.csv")
        trace = score_trace(
            a.out.with_name(a.out.stem + ".trace.png"),
            counts["traces"],
            threshold,
            model.cfg.data.rate,
        )
        print(f"wrote {found}: {counts['intervals']} flagged intervals, and {trace}")
    unit = "samples" if "samples" in counts else kind.examples
    what = "the ensemble's" if partner is not None else "the"
    print(
        f"wrote {a.out}: {counts['flagged']} of {counts[unit]} {unit} "
        f"flagged (threshold {threshold:.4g}, {what} score "
        f"that {a.fpr:g} of the run's {len(data.val)} validation {kind.examples} exceed)"
    )
    return 0


def cmd_compress(a) -> int:
    model = load(a.run, device=a.device)
    if not model.can_compress:
        raise ConfigError(
            "compress needs a VQ-VAE with a prior over its codes; "
            f"{a.run} holds a {model.cfg.kind}"
            + (" without one (train it with `latentzoo train-prior`)" if model.has_codes else "")
        )
    data = model.cfg.data
    kind = data_kind(data.data_kind)
    # a recording's windows abut (the last ends at its end): overlapping ones would cost bits
    options = {**input_options(a), "hop": a.hop or data.window}
    inputs = kind.read_inputs(a.inputs, data, **options)
    codebooks = codec.codebooks_for(model, a.bitrate) if a.bitrate else a.codebooks or 0
    codes = codec.encode_images(model, inputs.examples)
    cut = kind.cut_inputs(inputs, data)
    blob = codec.compress_codes(model, codes, cut, codebooks)
    atomic_write(a.out, blob)
    xent = codec.cross_entropy_bits(model, codec.first_codebooks(model, codes, codebooks))
    n, one = len(inputs), kind.example
    if cut:
        values = sum(c.length for c in cut) * data.shape[0]
        per_second = (
            f", {8 * len(blob) * data.rate / values:,.0f} bits per second" if data.rate else ""
        )
        used = f", {codebooks} of {model.codebooks} codebooks" if codebooks else ""
        print(
            f"wrote {a.out}: {len(cut)} recording(s) of {values:,} values in {len(blob):,} bytes, "
            f"{8 * len(blob) / values:.3f} bits per value with the header{per_second}{used} (the "
            f"prior's cross-entropy on their {n} windows: {xent * n / values:.3f} bits per value)"
        )
        return 0
    print(
        f"wrote {a.out}: {n} {kind.examples} in {len(blob):,} "
        f"bytes, {8 * len(blob) / n:.1f} bits per {one} with the header "
        f"(the prior's cross-entropy on them: {xent:.1f} bits per {one})"
    )
    return 0


def cmd_decompress(a) -> int:
    model = load(a.run, device=a.device)
    try:
        data = a.file.read_bytes()
    except OSError as e:
        raise DataError(f"{a.file}: cannot read ({e.strerror or e})") from None
    header = codec.read_header(data, str(a.file))
    examples = codec.decompress(model, data, str(a.file))
    kind = data_kind(model.cfg.data.data_kind)
    if header.inputs:
        if a.out.suffix:
            raise ConfigError(
                f"{a.file} holds whole recordings: --out is the folder they are written to, each "
                "under its name"
            )
        written = kind.write_cut_inputs(a.out, examples, header.inputs, model.cfg.data)
        print(f"wrote {len(written)} recording(s) to {a.out}: {', '.join(p.name for p in written)}")
        return 0
    kind.write_examples(a.out, examples, kind.example, model.cfg.data)
    print(f"wrote {a.out}: {len(examples)} {kind.examples}")
    return 0


def cmd_reconstruct(a) -> int:
    folder_out(a)
    model, data = (load(a.run, device=a.device), None) if a.inputs else load_run(a)
    if a.inputs:
        kind = data_kind(model.cfg.data.data_kind)
        written = kind.transform_files(
            a.inputs,
            model.cfg.data,
            lambda x: jobs.reconstruct(model, x),
            a.out,
            **input_options(a),
        )
        print(f"wrote {len(written)} files to {a.out}")
        return 0
    x, y = data.test.tensors(slice(0, a.n), model.device)
    with torch.no_grad():
        groups = data_kind(model.cfg.data.data_kind).reconstruction_rows(x, model.reconstruct(x, y))
        save_reconstructions(a.out, list(groups.values()))
    print(f"wrote {a.out}")
    return 0


def cmd_sample(a) -> int:
    model = load(a.run, device=a.device)
    options = guidance_option(model, a.guidance)
    gen = torch.Generator().manual_seed(a.seed)
    classes = model.cfg.data.n_classes
    if a.digit is not None:
        if not model.conditional:
            raise ConfigError(
                f"--digit needs a conditional model (a cvae, or a vqvae with a prior from "
                f"`latentzoo train-prior`); this run is a {model.cfg.kind}"
            )
        if a.digit >= classes:
            raise ConfigError(f"--digit {a.digit}: the run's data has labels 0 to {classes - 1}")
        y = torch.full((a.n,), a.digit)
    elif model.needs_labels:
        y = torch.arange(a.n) % classes  # one column per label
    else:
        y = None
    images = model.sample(a.n, y=y, generator=gen, temperature=a.temperature, **options)
    kind = data_kind(model.cfg.data.data_kind)
    if a.out.suffix.lower() == ".npy" or not a.out.suffix:  # one array, or a file per sample
        kind.write_examples(a.out, images, "sample", model.cfg.data)
    else:
        nrow = min(classes, 10) if model.needs_labels and a.digit is None else 8
        save_grid(a.out, kind.pictures(images), nrow=nrow)
    print(f"wrote {a.out}" + ("" if a.out.suffix else f" ({a.n} files)"))
    return 0


def cmd_denoise(a) -> int:
    folder_out(a)
    if not (a.inputs or a.noise):
        raise ConfigError(
            "denoise without INPUT files corrupts the run's test "
            "images: give --noise, e.g. gaussian:0.5"
        )
    model = load(a.run, device=a.device)
    kind = data_kind(model.cfg.data.data_kind)
    kind.check_views(a.self_ensemble)
    # what the model leaves on clean validation examples, unless told not to look
    residuals = None if a.no_safeguard or not kind.safeguarded else kept_residuals(a, model)
    keep = kind.kept_input if a.keep_input is None else a.keep_input
    views = a.self_ensemble
    if a.inputs:
        gen = torch.Generator().manual_seed(a.seed)  # one stream of noise over all chunks
        spec = parse_noise(a.noise) if a.noise else None
        written = kind.transform_files(
            a.inputs,
            model.cfg.data,
            lambda x: jobs.denoise(model, x, residuals=residuals, keep=keep, views=views)[1],
            a.out,
            corrupt=(lambda x: model.corrupt(x, spec, gen)) if spec else None,
            **input_options(a),
        )
        print(
            f"wrote {len(written)} denoised files to {a.out}"
            + (f" (corrupted first by {a.noise})" if a.noise else "")
        )
        return 0
    x, y = run_data(model.cfg, a.data_dir).test.tensors(slice(0, a.n))
    gen = torch.Generator().manual_seed(a.seed)
    noisy, clean = jobs.denoise(
        model, x, y, noise=a.noise, generator=gen, residuals=residuals, keep=keep, views=views
    )
    pic = data_kind(model.cfg.data.data_kind).pictures
    save_rows(a.out, [pic(x), pic(noisy), pic(clean)])
    print(
        f"wrote {a.out}  (PSNR noisy {float(psnr(x, noisy).mean()):.2f} dB -> denoised "
        f"{float(psnr(x, clean).mean()):.2f} dB on these {a.n} examples)"
    )
    return 0


def cmd_interpolate(a) -> int:
    model, data = load_run(a)
    if not model.can_decode:
        raise ConfigError("this run decodes a latent only beside its input (--skip): no walks")
    x, y = data.test.tensors(slice(0, 2 * a.pairs), model.device)
    walks = model.interpolate(x[0::2], x[1::2], a.steps, y=y[0::2] if model.needs_labels else None)
    pictures = data_kind(model.cfg.data.data_kind).pictures(walks.flatten(0, 1))
    save_grid(a.out, pictures, nrow=a.steps)  # (pairs * steps, C, H, W)
    print(f"wrote {a.out}")
    return 0


def cmd_app(a) -> int:
    runs = [str(r) for r in a.runs] or names()
    print(f"latentzoo app: loading {len(runs)} runs", flush=True)
    try:
        show = Showcase.load(runs, device=a.device, fpr=a.fpr, data_dir=a.data_dir)
        serve(show, a.host, a.port)
    except KeyboardInterrupt:  # before Gradio waits for it: its server is closed all the same
        pass
    print("latentzoo app stopped")
    return 0
