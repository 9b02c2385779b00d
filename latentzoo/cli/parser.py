"""The command line's parser: every subcommand's options; `train`'s and `train-prior`'s generated
from the settings (latentzoo.cli.options)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config import (
    MODELS,
    PriorConfig,
    shown,
)
from ..jobs import DEFAULT_FPR
from ..version import __version__
from ..viz.report import REPORT_CONTENTS
from .options import (
    MAX_SAMPLES,
    RUN_HELP,
    Parser,
    add_bench_options,
    add_config_options,
    add_input_options,
    add_settings_options,
    fraction,
    label,
    nonneg_int,
    number,
    png_path,
    positive_float,
    positive_int,
    run_folder,
    share,
    suffixed,
)


def build_parser() -> Parser:
    p = Parser(
        prog="latentzoo",
        description="Autoencoders (AE, DAE, VAE, CVAE, VQ-VAE) on MNIST and your own images.",
    )
    p.add_argument("--version", action="version", version=f"latentzoo {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(sp, data=True):
        sp.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
        if data:
            sp.add_argument(
                "--data-dir",
                default=None,
                help="folder with the MNIST IDX files (else $LATENTZOO_DATA, "
                "the cache, a download)",
            )

    t = sub.add_parser(
        "train", help="train a model into a run folder (then its pictures and report)"
    )
    t.add_argument("model", choices=MODELS)
    t.add_argument(
        "--out", required=True, type=Path, help="run folder to create (or continue with --resume)"
    )
    add_config_options(t)
    t.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out from its last checkpoint (one "
        "stopped before its first starts again)",
    )
    t.add_argument("--overwrite", action="store_true", help="replace the run that --out holds")
    t.add_argument(
        "--checkpoint-every",
        type=nonneg_int,
        default=0,
        help="also write the resume checkpoint every N steps inside "
        "an epoch (0: at epoch ends only)",
    )
    t.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar (default: when stderr is a terminal)",
    )
    common(t)

    e = sub.add_parser("eval", help="test-set metrics of a run")
    e.add_argument("run", type=run_folder, help=RUN_HELP)
    e.add_argument("--json", action="store_true", help="print JSON")
    e.add_argument(
        "--checkpoint",
        choices=("best", "last"),
        default="best",
        help="the kept epoch (model.safetensors, default) or the last one (last.safetensors)",
    )
    e.add_argument(
        "--samples",
        type=nonneg_int,
        default=2000,
        help="samples for MNIST-FID and the classifier checks, where "
        "the model samples (2000; 0: skip)",
    )
    e.add_argument(
        "--temperature",
        type=positive_float,
        default=1.0,
        help="sampling temperature for those (1.0)",
    )
    e.add_argument(
        "--guidance",
        type=positive_float,
        default=None,
        help="a VQ-VAE with a prior: classifier-free guidance for the per-digit samples "
        "(default GUIDANCE in latentzoo/models/prior.py)",
    )
    common(e)

    b = sub.add_parser(
        "bench", help="train/reuse the benchmark models; write results.json and RESULTS.md"
    )
    add_bench_options(b)
    common(b)

    rp = sub.add_parser(
        "report",
        help="one self-contained HTML page: settings, metrics, every plot",
        epilog="plots: " + REPORT_CONTENTS,
    )
    rp.add_argument("run", type=run_folder, help=RUN_HELP)
    rp.add_argument("--out", type=Path, help="HTML file to write (default RUN/report.html)")
    rp.add_argument("--tsne", action="store_true", help="latent map by t-SNE instead of PCA")
    common(rp)

    tp = sub.add_parser(
        "train-prior", help="fit an autoregressive prior to a VQ-VAE's codes (enables sampling)"
    )
    tp.add_argument("run", type=run_folder, help=RUN_HELP)
    tp.add_argument(
        "--out",
        type=Path,
        help="a new folder: the VQ-VAE is copied there and the prior written beside it (needed "
        "for a zoo model; default: into RUN)",
    )
    prior_defaults = PriorConfig.defaults()
    add_settings_options(
        tp,
        {f.name: f for f in PriorConfig.options()},
        lambda k, f: f"{f.metadata['help']} (default {shown(prior_defaults[k])})",
    )
    tp.add_argument(
        "--resume",
        action="store_true",
        help="continue the prior from prior_last.safetensors "
        "(its saved settings; only --epochs may change)",
    )
    tp.add_argument(
        "--checkpoint-every",
        type=nonneg_int,
        default=0,
        help="also write the prior's resume checkpoint every N steps "
        "inside an epoch (0: at epoch ends only)",
    )
    tp.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    common(tp)

    inputs = "image files, folders of them, .npy/.npz arrays or IDX files"
    en = sub.add_parser(
        "encode", help="latent means (code grids for a VQ-VAE) of your images, as .npy"
    )
    en.add_argument("run", type=run_folder, help=RUN_HELP)
    en.add_argument("inputs", nargs="+", metavar="INPUT", help=inputs)
    en.add_argument(
        "--out",
        required=True,
        type=suffixed(".npy"),
        help="FEATURES.npy, one row per image; FEATURES.names.txt beside it names the rows",
    )
    add_input_options(en)
    common(en, data=False)

    sc = sub.add_parser(
        "score", help="an anomaly score per image and a flag at a false-positive rate, as CSV"
    )
    sc.add_argument("run", type=run_folder, help=RUN_HELP)
    sc.add_argument(
        "--with",
        dest="with_run",
        type=run_folder,
        metavar="RUN2",
        help="a second run on the same data: an AE (or DAE) and a "
        "VAE together score with the ensemble "
        "chosen on validation data (recommended; benchmarks/results/anomaly-study-fashion.md)",
    )
    sc.add_argument("inputs", nargs="+", metavar="INPUT", help=inputs)
    sc.add_argument(
        "--out",
        required=True,
        type=suffixed(".csv"),
        help="scores.csv: name, score, threshold, flag",
    )
    sc.add_argument(
        "--fpr",
        type=fraction,
        default=DEFAULT_FPR,
        help="false-positive rate on the run's validation images that sets the threshold "
        f"({DEFAULT_FPR})",
    )
    add_input_options(sc)
    common(sc)

    cp = sub.add_parser(
        "compress", help="compress your images with a VQ-VAE and its prior into one file"
    )
    cp.add_argument("run", type=run_folder, help=RUN_HELP)
    cp.add_argument("inputs", nargs="+", metavar="INPUT", help=inputs)
    cp.add_argument("--out", required=True, type=Path, help="the compressed file to write")
    rate = cp.add_mutually_exclusive_group()
    rate.add_argument(
        "--codebooks",
        type=positive_int,
        default=None,
        help="a residual quantizer's (--quantizer rvq): code only its first N codebooks (fewer "
        "bits, coarser output; default: all)",
    )
    rate.add_argument(
        "--bitrate",
        type=number(float, "a number", lambda v: v > 0, "must be above 0"),
        default=None,
        help="a residual quantizer's, on data with a sample rate: as many codebooks as fit this "
        "many bits per second before entropy coding (the file is smaller)",
    )
    add_input_options(cp)
    common(cp, data=False)

    dp = sub.add_parser(
        "decompress", help="the images of a compressed file, as PNG files or one .npy"
    )
    dp.add_argument("file", type=Path)
    dp.add_argument(
        "--run",
        required=True,
        type=run_folder,
        help="the run (or zoo model) that compressed it (its model is checked)",
    )
    dp.add_argument(
        "--out",
        required=True,
        type=suffixed(".npy", folder=True),
        help="a folder (image-00000.png, ...) or FILE.npy (N, H, W[, C]) uint8",
    )
    common(dp, data=False)

    r = sub.add_parser(
        "reconstruct", help="reconstruct your images (or test images above their reconstructions)"
    )
    r.add_argument("run", type=run_folder, help=RUN_HELP)
    r.add_argument(
        "inputs", nargs="*", metavar="INPUT", help=inputs + "; none: the run's test images"
    )
    r.add_argument(
        "--out",
        required=True,
        type=suffixed(".png", folder=True),
        help="a folder for the results (one file per input, under "
        "its name), or FILE.png without inputs",
    )
    r.add_argument(
        "-n", type=positive_int, default=32, help="number of test images without inputs (32)"
    )
    add_input_options(r)
    common(r)

    s = sub.add_parser("sample", help="draw new images")
    s.add_argument("run", type=run_folder, help=RUN_HELP)
    s.add_argument(
        "--out",
        required=True,
        type=suffixed(".png", ".npy", folder=True),
        help="FILE.png (a grid), FILE.npy (N, H, W[, C]) uint8, or a folder (one PNG per sample)",
    )
    s.add_argument(
        "-n",
        type=number(
            int, "a whole number", lambda v: 1 <= v <= MAX_SAMPLES, f"must be 1 to {MAX_SAMPLES:,}"
        ),
        default=64,
        help="number of samples (64)",
    )
    s.add_argument(
        "--digit",
        "--label",
        dest="digit",
        type=label,
        help="draw this digit (this label on your own data; conditional models)",
    )
    s.add_argument(
        "--temperature", type=positive_float, default=1.0, help="scale of the prior noise (1.0)"
    )
    s.add_argument(
        "--guidance",
        type=positive_float,
        default=None,
        help="a VQ-VAE with a prior, with --digit: classifier-free guidance, 1 = none (default "
        "GUIDANCE in latentzoo/models/prior.py)",
    )
    s.add_argument("--seed", type=nonneg_int, default=0)
    common(s, data=False)

    d = sub.add_parser(
        "denoise", help="denoise your images (or test images: rows clean, noisy, denoised)"
    )
    d.add_argument("run", type=run_folder, help=RUN_HELP)
    d.add_argument(
        "inputs",
        nargs="*",
        metavar="INPUT",
        help=inputs + "; none: the run's test images, with --noise",
    )
    d.add_argument(
        "--noise",
        help="corrupt the inputs first, e.g. gaussian:0.5 (a demonstration; needed without "
        "inputs); a recording is corrupted once, before it is cut into windows",
    )
    d.add_argument(
        "--no-safeguard",
        action="store_true",
        help="the raw output: no blending back towards each input by how much more the model "
        "changed it than clean validation examples (photos: its own output; a decoded JPEG of a "
        "quality it learned is moved into its quantisation cells instead), which keeps clean or "
        "lightly corrupted inputs from being made worse (sound is never blended so)",
    )
    d.add_argument(
        "--keep-input",
        type=share,
        metavar="F",
        help="mix the fraction F of each input back into its output, less noise removed for "
        "fewer artefacts (default: 0, and for sound the fraction chosen on unheard voices)",
    )
    d.add_argument(
        "--self-ensemble",
        type=positive_int,
        default=1,
        metavar="N",
        help="average the outputs over N flips and turns of each input, N times slower (photos: 1 "
        "to 8; other kinds: 1)",
    )
    d.add_argument(
        "--out",
        required=True,
        type=suffixed(".png", folder=True),
        help="a folder for the denoised images (one file per input, under its name), or FILE.png "
        "without inputs",
    )
    d.add_argument(
        "-n", type=positive_int, default=8, help="number of test images without inputs (8)"
    )
    d.add_argument("--seed", type=nonneg_int, default=0)
    add_input_options(d)
    common(d)

    i = sub.add_parser("interpolate", help="decode walks between pairs of test digits")
    i.add_argument("run", type=run_folder, help=RUN_HELP)
    i.add_argument("--out", required=True, type=png_path)
    i.add_argument(
        "--pairs", type=positive_int, default=6, help="number of pairs, one row each (6)"
    )
    i.add_argument(
        "--steps",
        type=number(int, "a whole number", lambda v: 2 <= v <= 1000, "must be 2 to 1000"),
        default=10,
        help="images per row, ends included (10)",
    )
    common(i)

    sub.add_parser("zoo", help="the trained models shipped with latentzoo, and their test metrics")

    ap = sub.add_parser(
        "app", help="a web page to draw digits and see the models at work (pip install '.[app]')"
    )
    ap.add_argument(
        "runs", nargs="*", type=run_folder, metavar="RUN", help=RUN_HELP + " (default: the zoo)"
    )
    ap.add_argument("--host", default="127.0.0.1", help="address to serve on (127.0.0.1)")
    ap.add_argument(
        "--port", type=positive_int, default=None, help="port (default: a free one from 7860)"
    )
    ap.add_argument(
        "--fpr",
        type=fraction,
        default=DEFAULT_FPR,
        help=f"false-positive rate that sets the anomaly threshold ({DEFAULT_FPR})",
    )
    common(ap)

    m = sub.add_parser(
        "demo", help="train a small VAE and write pictures (MNIST, else the bundled digits)"
    )
    m.add_argument("--out", type=Path, default=Path("runs/demo"))
    m.add_argument("--epochs", type=positive_int, default=5)
    common(m)
    return p
