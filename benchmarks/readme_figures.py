"""The documentation's figures, each read from a committed results file in benchmarks/results
(written by the script that file names) and, for published numbers, from
latentzoo.bench.settings.ANCHORS: every figure in docs/results.md, a few headline rows in README.md.

    python benchmarks/readme_figures.py           # rewrite both blocks
    python benchmarks/readme_figures.py --check   # exit 1 when a block differs from the files

Each block lies between its two comment lines (`figures:` in docs/results.md, `headline figures:`
in README.md); tests/test_readme.py fails when one differs from what this script makes of the
files, and when the prose outside them types a measured figure of its own.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from latentzoo.bench.settings import ANCHORS  # noqa: E402
from latentzoo.files import atomic_write  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
README = ROOT / "README.md"
PAGE = ROOT / "docs" / "results.md"
BEGIN = "<!-- figures: begin (written by benchmarks/readme_figures.py; edit it there) -->"
END = "<!-- figures: end -->"
HEAD_BEGIN = (
    "<!-- headline figures: begin (written by benchmarks/readme_figures.py; edit it there) -->"
)
HEAD_END = "<!-- headline figures: end -->"
# the README's rows: the first row of the full table whose label holds each
HEADLINES = (
    "IS-NLL, conv VAE",
    "VQ-VAE test PSNR (dB)",
    "MNIST-FID of 5,000 VQ-VAE samples",
    "one-class AUROC, mean: the score chosen",
    "foreign sets, Fashion-MNIST both ways",
    "codec, K = 512",
)


def read(name: str) -> dict:
    return json.loads((RESULTS / name).read_text())


def source(name: str, info: dict) -> str:
    """A results file with the commit that wrote it (and its machine where it recorded one)."""
    return f"`{name}` ({info.get('commit', 'commit not recorded')})"


def metric(name: str, row: str) -> dict:
    return read(name)["results"][row]["metrics"]


def percent(x: float) -> str:
    return f"{100 * x:.1f}%"


def bench_rows() -> list[tuple[str, str, str, str]]:
    """The bench (`latentzoo bench`, results.json): each job beside its published figure."""
    r = read("results.json")

    def src(table: str) -> str:  # the commit that measured the table (`bench --tables` keeps some)
        return source("results.json", r.get("measured", {}).get(table, r["info"]))

    like, burda_vae, burda_iwae = r["likelihood"], ANCHORS["nll"][0], ANCHORS["nll"][1]
    one_class = [v["ensemble"] for v in r["anomaly"].values()]
    svdd = statistics.mean(ANCHORS["anomaly_deep_svdd"])
    foreign = [v["ensemble"] for v in r["foreign"].values()]
    # results that do not name their ensemble measured the max of the three
    ensemble = "ensemble" + ("" if "ensemble_method" in r else " (max of the three)")
    samples = r["samples"]
    floor = samples["held-out real digits (the floor)"]["sample_mnist_fid"]
    return [
        (
            "IS-NLL, conv VAE (nats, k = 5000, all 10,000 test images)",
            f"{like['vae-conv']['nll']:.2f}",
            f"{burda_vae[1]} ({burda_vae[0]})",
            src("likelihood"),
        ),
        (
            "IS-NLL, the same network as an IWAE",
            f"{like['iwae-conv']['nll']:.2f}",
            f"{burda_iwae[1]} ({burda_iwae[0]})",
            src("likelihood"),
        ),
        (
            "VQ-VAE test PSNR (dB)",
            f"{r['codes']['psnr']:.2f}",
            f"{ANCHORS['vq_wae'][1]} ({ANCHORS['vq_wae'][0]})",
            src("codes"),
        ),
        (
            f"one-class anomaly AUROC, {ensemble}: mean (worst digit)",
            f"{statistics.mean(one_class):.1f} ({min(one_class):.1f})",
            f"{svdd:.1f} (Deep SVDD, Ruff et al. 2018)",
            src("anomaly"),
        ),
        (
            f"AUROC against five foreign image sets, {ensemble}",
            f"{min(foreign):.1f} to {max(foreign):.1f}",
            "",
            src("foreign"),
        ),
        (
            "MNIST-FID of 5,000 VQ-VAE samples",
            f"{samples['vqvae']['sample_mnist_fid']:.2f}",
            f"MLP VAE {samples['vae-mlp-bin']['sample_mnist_fid']:.2f}; held-out real digits "
            f"{floor:.2f}",
            src("samples"),
        ),
        (
            "VQ-VAE samples asked for digit d classified as d: mean (worst digit)",
            f"{percent(samples['vqvae']['digit_accuracy'])} "
            f"({percent(samples['vqvae']['digit_accuracy_min'])})",
            "",
            src("samples"),
        ),
    ]


def defaults_rows() -> list[tuple[str, str, str, str]]:
    """Each model kind at its defaults (defaults.json), and the VQ-VAE beside the textbook
    quantizer in one invocation (vq-default-15ep.json)."""
    d = read("defaults.json")
    src = source("defaults.json", d["info"])
    rows = [
        (f"{kind.upper()} test PSNR (dB), defaults of {d['info']['commit']}", f"{m['psnr']:.2f}")
        for kind in ("ae", "dae", "vae", "cvae")
        for m in [d["results"][kind]["metrics"]]
    ]
    out = [(what, value, "", src) for what, value in rows]
    vae = d["results"]["vae"]["metrics"]
    out.append(("VAE test ELBO (nats)", f"{vae['elbo']:.1f}", "", src))
    vq = read("vq-default-15ep.json")
    src = source("vq-default-15ep.json", vq["info"])
    a, b = vq["results"]["vqvae"]["metrics"], vq["results"]["vqvae-textbook"]["metrics"]
    out += [
        (
            "VQ-VAE test PSNR (dB): default quantizer",
            f"{a['psnr']:.2f}",
            f"textbook quantizer {b['psnr']:.2f}",
            src,
        ),
        (
            "codes used of 512 (perplexity)",
            f"{a['codes_used']} ({a['perplexity']:.1f})",
            f"textbook quantizer {b['codes_used']} ({b['perplexity']:.1f})",
            src,
        ),
        (
            "prior: bits per test image (given the label)",
            f"{a['prior_test_bits_per_image']:.1f} "
            f"({a['prior_test_bits_per_image_given_label']:.1f})",
            f"uniform codes {a['prior_uniform_bits_per_image']:.0f}",
            src,
        ),
    ]
    return out


def sampling_rows() -> list[tuple[str, str, str, str]]:
    """The CVAE's obedience against its KL weight and temperature; the prior's "no label" path."""
    beta = read("cvae-beta.json")
    src = source("cvae-beta.json", beta["info"])
    out = []
    for row, weight in (("cvae", 1), ("cvae-beta2", 2), ("cvae-beta4", 4)):
        m = beta["results"][row]["metrics"]
        out.append(
            (
                f"CVAE `--kl-weight {weight}`: samples of the asked digit, mean (worst digit)",
                f"{percent(m['digit_accuracy'])} ({percent(m['digit_accuracy_min'])})",
                f"PSNR {m['psnr']:.2f} dB",
                src,
            )
        )
    temp = read("cvae-temperature.json")
    src = source("cvae-temperature.json", temp["info"])
    runs = sorted(temp["results"].values(), key=lambda r: -r["metrics"]["sample_temperature"])
    plain = runs[0]["metrics"]  # temperature 1: the same run's baseline
    for r in runs[1:]:
        m = r["metrics"]
        out.append(
            (
                f"CVAE `--kl-weight 1` sampled at temperature {m['sample_temperature']:g}: "
                "asked digit, mean (worst digit)",
                f"{percent(m['digit_accuracy'])} ({percent(m['digit_accuracy_min'])})",
                f"the same run at temperature 1: {percent(plain['digit_accuracy'])} "
                f"({percent(plain['digit_accuracy_min'])})",
                src,
            )
        )
    u = read("unconditional-samples.json")
    out.append(
        (
            f"MNIST-FID of {u['n']:,} VQ-VAE samples asked for no digit: the prior's "
            "'no label' path",
            f"{u['rows']['no label']['test']['mnist_fid']:.1f}",
            f"a digit drawn per sample, guidance 1: "
            f"{u['rows']['labels, guidance 1']['test']['mnist_fid']:.1f}",
            "`unconditional-samples.json`",
        )
    )
    return out


def anomaly_rows() -> list[tuple[str, str, str, str]]:
    """The score chosen on validation data (anomaly-study-fashion.json)."""
    s = read("anomaly-study-fashion.json")
    src = f"`anomaly-study-fashion.json` ({s['commit']})"
    chosen = s["chosen_on_validation"]
    foreign = [v[chosen]["test"] for v in s["foreign"].values()]
    return [
        (
            f"one-class AUROC, mean: the score chosen on validation ({chosen})",
            f"{s['mean'][chosen]['test']:.1f}",
            f"AE reconstruction error {s['mean']['ae recon']['test']:.1f}",
            src,
        ),
        (
            f"one-class AUROC on Fashion-MNIST, mean ({chosen})",
            f"{s['mean_fashion'][chosen]['test']:.1f}",
            f"AE reconstruction error {s['mean_fashion']['ae recon']['test']:.1f}",
            src,
        ),
        (
            f"AUROC against {len(foreign)} foreign sets, Fashion-MNIST both ways among them "
            f"({chosen})",
            f"{min(foreign):.1f} to {max(foreign):.1f}",
            "",
            src,
        ),
    ]


def codec_rows() -> list[tuple[str, str, str, str]]:
    c = read("codec.json")
    src = source("codec.json", c["info"])
    out = []
    for point in c["ours"]:
        tiled, files = point["tiled_classical_at_our_psnr"], point["file_classical_at_our_psnr"]
        out.append(
            (
                f"codec, K = {point['codebook_size']}: bytes per digit at {point['psnr']:.2f} dB "
                "(one file per digit)",
                f"{point['bytes_per_digit']:.1f} ({point['file_bytes_per_digit']:.1f})",
                f"AVIF {tiled['AVIF']:.1f}; WebP, one file per digit, {files['WebP']:.1f}",
                src,
            )
        )
    return out


def photo_rows() -> list[tuple[str, str, str, str]]:
    """The photo DAE (the U-Net variant trained on both photo sets with grey photos' noise the same
    in each channel, on batches flipped and turned, as `latentzoo denoise` gives it, safeguarded
    per input, and over the eight views with `--self-ensemble 8`) on the test photos."""
    r = read("photo-denoise-jpeg.json")
    src = source("photo-denoise-jpeg.json", r)
    out = []
    for noise in ("sigma 15", "sigma 25", "sigma 50"):
        t = r["table"][noise]
        mean = {m: statistics.mean(v["psnr"] for v in t[m].values()) for m in t}
        out.append(
            (
                f"photo DAE (`--skip unet`), mean PSNR (dB) over {len(r['photos'])} test photos "
                f"at {noise}",
                f"{mean['DAE unet-views']:.2f}",
                f"`--self-ensemble 8` {mean['DAE unet-views x8']:.2f}; input {mean['input']:.2f}; "
                f"non-local means {mean['non-local means']:.2f}; "
                f"BM3D (true sigma) {mean['BM3D (true sigma)']:.2f}",
                src,
            )
        )
    return out + photo_jpeg_rows(r, src)


def photo_jpeg_rows(r: dict, src: str) -> list[tuple[str, str, str, str]]:
    """The same photo DAE on JPEG artefacts, as `latentzoo denoise` gives it: it recognises a
    decoded JPEG and keeps the output, moved into the input's quantisation cells."""
    out = []
    for noise in ("JPEG 10", "JPEG 30"):
        t = r["table"][noise]
        mean = {m: statistics.mean(v["psnr"] for v in t[m].values()) for m in t}
        worst = min(t["DAE unet-views"][p]["psnr"] - t["input"][p]["psnr"] for p in t["input"])
        out.append(
            (
                f"photo DAE (`--skip unet`), mean PSNR (dB) over {len(r['photos'])} test photos "
                f"at {noise}",
                f"{mean['DAE unet-views']:.2f}",
                f"input {mean['input']:.2f} (the least gain on a photo {worst:+.2f}); non-local "
                f"means {mean['non-local means']:.2f}; BM3D (true sigma) "
                f"{mean['BM3D (true sigma)']:.2f}",
                src,
            )
        )
    return out


def time_rows() -> tuple[list[tuple[str, str, str]], dict[str, str]]:
    """Wall times as the scripts recorded them, and the machine each file names."""
    out, machines = [], {}
    d = read("defaults.json")
    machines["defaults.json"] = f"{d['info']['machine']}, {d['info']['threads']} threads"
    for kind, r in d["results"].items():
        epochs = r["config"].get("train", r["config"]).get("epochs")
        m = r["metrics"]
        out.append(
            (
                f"train {kind}, full MNIST, {epochs} epochs",
                minutes(m["train_seconds"]),
                "`defaults.json`",
            )
        )
        if "prior_train_seconds" in m:
            out.append(
                (f"train the prior of {kind}", minutes(m["prior_train_seconds"]), "`defaults.json`")
            )
    r = read("results.json")
    machines["results.json"] = r["info"]["machine"]
    for name, m in r["likelihood"].items():
        out.append(
            (f"train {name} (a likelihood row)", minutes(m["train_seconds"]), "`results.json`")
        )
        if "eval_seconds" in m:
            out.append(
                (f"IS-NLL of {name}, k = 5000", minutes(m["eval_seconds"]), "`results.json`")
            )
    # an invocation with --tables measured only those tables
    tables = r["info"].get("tables") or list(r.get("measured", {}))
    partial = set(r.get("measured", {})) - set(tables)
    command = "`latentzoo bench" + (f" --tables {','.join(tables)}`" if partial else "`")
    if not partial or "likelihood" in tables:
        command += ", reusing every model and likelihood"
    else:
        command += ", reusing its models"
    out.append((command, minutes(r["info"]["wall_seconds"]), "`results.json`"))
    return out, machines


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


TABLE_HEAD = ["| measured | latentzoo | beside it | results file (commit) |", "|---|---|---|---|"]


def figure_rows() -> list[tuple[str, str, str, str]]:
    return [
        *bench_rows(),
        *defaults_rows(),
        *sampling_rows(),
        *anomaly_rows(),
        *codec_rows(),
        *photo_rows(),
    ]


def headline_block() -> str:
    """The README's rows (HEADLINES), in that order."""
    figures = figure_rows()
    rows = [next(r for r in figures if part in r[0]) for part in HEADLINES]
    return "\n".join(
        [HEAD_BEGIN, *TABLE_HEAD, *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows), HEAD_END]
    )


def block() -> str:
    """docs/results.md's block: every figure, then the recorded wall times."""
    times, machines = time_rows()
    lines = [
        BEGIN,
        *TABLE_HEAD,
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in figure_rows()),
        "",
        "Recorded wall times:",
        "",
        "| job | wall time | record |",
        "|---|---|---|",
        *(f"| {a} | {b} | {c} |" for a, b, c in times),
        "",
        "The machines, as the scripts recorded them: "
        + "; ".join(f"`{name}`: {what}" for name, what in machines.items())
        + ".",
        END,
    ]
    return "\n".join(lines)


def rewritten(path: Path, begin: str, end: str, new_block: str) -> tuple[str, str]:
    """(the file's text, the text with its block between `begin` and `end` replaced)."""
    text = path.read_text()
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    return text, head + new_block + tail


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="exit 1 when a block differs")
    a = p.parse_args()
    for path, begin, end, make in [
        (PAGE, BEGIN, END, block),
        (README, HEAD_BEGIN, HEAD_END, headline_block),
    ]:
        text, new = rewritten(path, begin, end, make())
        if a.check and new != text:
            sys.exit(f"{path.name}'s figures differ from the results files")
        if not a.check:
            atomic_write(path, new)


if __name__ == "__main__":
    main()
