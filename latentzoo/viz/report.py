"""One self-contained HTML page per run: the settings that apply, metrics with units, every picture.

`make_report(run_dir)` draws the plots into the run folder (a zoo model's into a temporary folder:
the installed package is never written into) and writes `run_dir/report.html` (or `out`), with the
pictures embedded as base64 PNG so the page can be mailed or opened anywhere.
Which plots a run gets follows what its model can do (`REPORT_CONTENTS`); the config table lists
only the settings that mean something for the run (`Config.applicable`).
"""

from __future__ import annotations

import base64
import html
import json
import tempfile
from pathlib import Path

import torch

from ..data import ImageSet
from ..eval import METRIC_INFO, code_histogram
from ..files import atomic_write, read_csv
from ..jobs import kept
from ..kinds import data_kind
from ..runs import HISTORY, PRIOR_METRICS, load, read_metrics, run_data
from ..zoo import is_zoo
from . import plots

PLOT_SEED = 7
REPORT_CONTENTS = (
    "every run: loss curves, reconstructions, interpolation, latent map; a model that samples: "
    "samples (per digit when conditional); a denoiser: denoising rows per noise type; a model "
    "with codes: codebook usage and code grids; a VAE with a 2-d latent: the decoded manifold"
)


PLANE_N = 15  # points per side of the decoded latent plane


def make_plots(
    run_dir: Path, model, test: ImageSet, tsne: bool = False, into: Path | None = None
) -> list[tuple[str, Path]]:
    """Draw every plot that applies to the model into the run folder (or `into`); returns (title,
    path) pairs."""
    cfg, out = model.cfg, into or run_dir
    kind = data_kind(cfg.data.data_kind)
    pic = kind.pictures  # examples as the kind draws them
    made: list[tuple[str, Path]] = []
    gen = torch.Generator().manual_seed(PLOT_SEED)

    if (run_dir / HISTORY).is_file():
        made.append(
            (
                "Loss curves",
                plots.loss_curves(out / "loss_curves.png", read_csv(run_dir / HISTORY, ("epoch",))),
            )
        )
    x, y = test.tensors(slice(0, 32), model.device)
    labels = (lambda t: t) if model.needs_labels else (lambda t: None)
    with torch.no_grad():
        groups = kind.reconstruction_rows(x, model.reconstruct(x, y))
        made.append(
            (
                f"Reconstructions (rows of {', '.join(groups)})",
                plots.save_reconstructions(out / "reconstructions.png", list(groups.values())),
            )
        )
        if model.noise:
            rows = [pic(x[:10])]
            for spec in kind.example_noises:
                noisy = model.corrupt(x[:10], spec, gen)
                rows += [pic(noisy), pic(model.reconstruct(noisy))]
            made.append(
                (
                    "Denoising: clean, then noisy / denoised for " + ", ".join(kind.example_noises),
                    plots.save_rows(out / "denoising.png", rows),
                )
            )
        if model.can_sample:
            if model.conditional:
                k = min(cfg.data.n_classes, 10)  # the first ten labels, ten samples each
                digits = torch.arange(k).repeat_interleave(10)
                made.append(
                    (
                        "Samples per label (one row per label)",
                        plots.save_grid(
                            out / "samples_per_digit.png",
                            pic(model.sample(10 * k, y=digits, generator=gen)),
                            nrow=10,
                        ),
                    )
                )
            if not model.needs_labels:
                made.append(
                    (
                        "Samples",
                        plots.save_grid(out / "samples.png", pic(model.sample(64, generator=gen))),
                    )
                )
        pairs = min(6, x.shape[0] // 2) if model.can_decode else 0
        if pairs:
            walks = model.interpolate(
                x[0 : 2 * pairs : 2], x[1 : 2 * pairs : 2], 10, y=labels(y[0 : 2 * pairs : 2])
            )
            made.append(
                (
                    "Interpolation between pairs of test images",
                    plots.save_grid(out / "interpolation.png", pic(walks.flatten(0, 1)), nrow=10),
                )
            )
        xs, ys = test.tensors(slice(0, 2000), model.device)
        feats = torch.cat(
            [model.features(xs[i : i + 500], ys[i : i + 500]) for i in range(0, len(xs), 500)]
        )
    made.append(
        (
            "Test latents coloured by digit",
            plots.latent_map(out / "latent_map.png", feats, ys, "tsne" if tsne else "pca"),
        )
    )
    if model.has_plane:
        made.append(
            ("Decoded manifold of the 2-d latent space", manifold(model, out / "manifold.png"))
        )
    if model.has_codes:
        with torch.no_grad():
            counts = sum(
                code_histogram(model.encode(xb), model.n_codes)
                for xb, _ in test.batches(1000, device=model.device)
            )
            made.append(
                (
                    "Codebook usage over the test set",
                    plots.codebook_histogram(out / "codebook_usage.png", counts),
                )
            )
            made.append(
                (
                    "Code grids of a few test digits",
                    plots.code_grids(out / "code_grids.png", pic(x[:6]), model.encode(x[:6])),
                )
            )
    return made


def plane_points(n: int = PLANE_N) -> torch.Tensor:
    """A grid of n x n points z of a 2-d latent at Gaussian quantiles (n * n, 2), row by row from
    the top left, the second coordinate growing upwards (Kingma & Welling 2014, figure 4)."""
    q = torch.distributions.Normal(0.0, 1.0).icdf(torch.linspace(0.05, 0.95, n))
    return torch.stack(torch.meshgrid(q, q.flip(0), indexing="xy"), -1).reshape(-1, 2)


@torch.no_grad()
def plane_pictures(model, z: torch.Tensor) -> torch.Tensor:
    """The pictures (N, C, H, W) that a model with a latent plane decodes from points z (N, 2)."""
    y = torch.zeros(len(z), dtype=torch.long) if model.needs_labels else None
    return data_kind(model.cfg.data.data_kind).pictures(model.decode(z.to(model.device), y))


def manifold(model, path: Path, n: int = PLANE_N) -> Path:
    """The decoded `plane_points` as one picture."""
    return plots.save_grid(path, plane_pictures(model, plane_points(n)), nrow=n)


def _fmt(v) -> str:
    return (
        f"{v:.6g}"
        if isinstance(v, float)
        else json.dumps(v)
        if isinstance(v, (list, dict))
        else str(v)
    )


def metrics_table(metrics: dict) -> str:
    cells = []
    for k, v in metrics.items():
        unit, meaning = METRIC_INFO.get(k.removeprefix("prior_"), ("", ""))
        cells.append(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(_fmt(v))}</td><td>{html.escape(unit)}</td>"
            f"<td>{html.escape(meaning)}</td></tr>"
        )
    head = "<tr><th>metric</th><td>value</td><td>unit</td><td>meaning</td></tr>"
    return f'<table id="metrics">{head}{"".join(cells)}</table>'


def config_table(rows: dict) -> str:
    cells = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(_fmt(v))}</td></tr>"
        for k, v in rows.items()
    )
    return f'<table id="config">{cells}</table>'


LISTEN = 24  # consecutive test examples played as one clip


def listening(model, test: ImageSet) -> str:
    """The report's players, where the run's examples can be heard: the first test examples as one
    clip, their reconstruction and, for a denoiser, the clip under white noise and denoised."""
    kind, data = data_kind(model.cfg.data.data_kind), model.cfg.data
    if not kind.heard:
        return ""
    x, _ = test.tensors(slice(0, LISTEN), model.device)
    with torch.no_grad():
        clips = {"test clip": x, "reconstruction": model.reconstruct(x)}
        if model.noise:
            noisy = model.corrupt(x, "white:5", torch.Generator().manual_seed(PLOT_SEED))
            denoised = kept(noisy, model.reconstruct(noisy), kind.kept_input)  # as `denoise` gives
            clips.update({"under white noise (5 dB)": noisy, "denoised": denoised})
    players = "".join(
        f'<figure><audio controls src="data:audio/wav;base64,'
        f'{base64.b64encode(kind.clip(c, data) or b"").decode()}"></audio>'
        f"<figcaption>{html.escape(name)}</figcaption></figure>"
        for name, c in clips.items()
    )
    return f"<h2>Listen</h2>\n{players}"


def make_report(
    run_dir: str | Path,
    out: str | Path | None = None,
    test: ImageSet | None = None,
    data_dir=None,
    device=None,
    tsne: bool = False,
) -> Path:
    """Write the HTML report of a run (default `run_dir/report.html`); returns its path."""
    run_dir = Path(run_dir)
    model = load(run_dir, device=device)
    cfg = model.cfg
    test = test if test is not None else run_data(cfg, data_dir).test
    with tempfile.TemporaryDirectory() as scratch:
        into = Path(scratch) if is_zoo(run_dir) else None
        plots_made = make_plots(run_dir, model, test, tsne, into)
        figures = "".join(
            f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,'
            f'{base64.b64encode(path.read_bytes()).decode()}"><figcaption>{html.escape(title)}'
            "</figcaption></figure>"
            for title, path in plots_made
        )
    metrics = read_metrics(run_dir)
    metrics.update({f"prior_{k}": v for k, v in read_metrics(run_dir, PRIOR_METRICS).items()})
    heard = listening(model, test)
    title = f"latentzoo: {cfg.kind} run {run_dir.name}"
    parts = (cfg.kind.upper(), f"{cfg.model.backbone} backbone", cfg.data.dataset)
    heading = " &middot; ".join(html.escape(s) for s in parts)
    pictures = ", ".join(t for t, _ in plots_made)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 1100px; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 2px 8px; text-align: left; font-size: 90%; }}
figure {{ display: inline-block; margin: 0 1.5em 1.5em 0; vertical-align: top; }}
figure img {{ max-width: 100%; image-rendering: pixelated; }}
.cols {{ display: flex; gap: 3em; flex-wrap: wrap; }}
</style></head><body>
<h1>{heading}</h1>
<p>Run folder <code>{html.escape(str(run_dir))}</code>.
{len(plots_made)} pictures: {html.escape(pictures)}.</p>
<div class="cols"><div><h2>Metrics (test set)</h2>{metrics_table(metrics)}</div>
<div><h2>Settings</h2>{config_table(cfg.applicable())}</div></div>
<h2>Pictures</h2>
{figures}
{heard}
</body></html>
"""
    target = Path(out) if out else run_dir / "report.html"
    return atomic_write(target, page)
