"""One self-contained HTML page per run: config, metrics, and every picture that applies.

`make_report(run_dir)` draws the plots into the run folder and writes `run_dir/report.html` (or
`out`), with the pictures embedded as base64 PNG so the page can be mailed or opened anywhere.
Which plots a model gets is decided by `PLOTS_BY_KIND` (also shown in `latentzoo report --help`).
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import torch

from .data import ImageSet, load_dataset
from .noise import corrupt
from .runs import HISTORY, atomic_write, load, read_config, read_csv, read_metrics

REPORT_NOISES = ("gaussian:0.5", "mask:0.5", "salt_pepper:0.2")
PLOT_SEED = 7
PLOTS_BY_KIND = {
    "ae": "loss curves, reconstructions, samples (Gaussian fitted to training latents), interpolation, latent map",
    "dae": "loss curves, reconstructions, denoising rows per noise type, samples, interpolation, latent map",
    "vae": "loss curves, reconstructions, samples from the prior, interpolation, latent map, "
           "decoded manifold (2-d latent only)",
    "cvae": "loss curves, reconstructions, samples per digit, interpolation, latent map, decoded manifold (2-d only)",
    "vqvae": "loss curves, reconstructions, codebook usage histogram, code grids, interpolation, latent map, "
             "samples and samples per digit (once a prior is trained)",
}


def make_plots(run_dir: Path, test: ImageSet | None = None, data_dir=None, device=None,
               tsne: bool = False) -> list[tuple[str, Path]]:
    """Draw every plot that applies to the run into the run folder; returns (title, path) pairs."""
    from . import plots
    from .metrics import can_sample, code_histogram

    cfg = read_config(run_dir)
    model = load(run_dir, device=device)
    test = test if test is not None else load_dataset(cfg.dataset, data_dir).test
    out = run_dir
    made: list[tuple[str, Path]] = []
    gen = torch.Generator().manual_seed(PLOT_SEED)

    if (run_dir / HISTORY).is_file():
        made.append(("Loss curves", plots.loss_curves(out / "loss_curves.png", read_csv(run_dir / HISTORY))))
    x, y = test.tensors(slice(0, 32), model.device)
    with torch.no_grad():
        made.append(("Reconstructions (inputs above outputs)",
                     plots.save_reconstructions(out / "reconstructions.png", x, model.reconstruct(x, y))))
        if cfg.model == "dae":
            rows = [x[:10]]
            for spec in REPORT_NOISES:
                noisy = corrupt(x[:10], spec, gen)
                rows += [noisy, model.reconstruct(noisy)]
            made.append(("Denoising: clean, then noisy / denoised for " + ", ".join(REPORT_NOISES),
                         plots.save_rows(out / "denoising.png", rows)))
        if can_sample(model):
            if cfg.model == "cvae" or getattr(model, "conditional", False):
                digits = torch.arange(10).repeat_interleave(10)
                made.append(("Samples per digit (one row per digit)",
                             plots.save_grid(out / "samples_per_digit.png",
                                             model.sample(100, y=digits, generator=gen), nrow=10)))
            if cfg.model != "cvae":
                made.append(("Samples", plots.save_grid(out / "samples.png", model.sample(64, generator=gen))))
        walks = model.interpolate(x[0:12:2], x[1:12:2], 10, y=y[0:12:2] if cfg.model == "cvae" else None)
        made.append(("Interpolation between pairs of test digits",
                     plots.save_grid(out / "interpolation.png", walks.flatten(0, 1), nrow=10)))
        xs, ys = test.tensors(slice(0, 2000), model.device)
        feats = torch.cat([model.features(xs[i:i + 500], ys[i:i + 500]) for i in range(0, len(xs), 500)])
    made.append(("Test latents coloured by digit", plots.latent_map(out / "latent_map.png", feats, ys,
                                                                   "tsne" if tsne else "pca")))
    if cfg.model in ("vae", "cvae") and cfg.latent_dim == 2:
        made.append(("Decoded manifold of the 2-d latent space", manifold(model, out / "manifold.png")))
    if cfg.model == "vqvae":
        with torch.no_grad():
            counts = sum(code_histogram(model.encode(xb), cfg.n_codes) for xb, _ in test.batches(1000, device=model.device))
            made.append(("Codebook usage over the test set", plots.codebook_histogram(out / "codebook_usage.png", counts)))
            made.append(("Code grids of a few test digits", plots.code_grids(out / "code_grids.png", x[:6], model.encode(x[:6]))))
    return made


@torch.no_grad()
def manifold(model, path: Path, n: int = 15) -> Path:
    """Decode a grid of z at Gaussian quantiles (Kingma & Welling 2014, figure 4)."""
    from . import plots

    q = torch.distributions.Normal(0.0, 1.0).icdf(torch.linspace(0.05, 0.95, n))
    z = torch.stack(torch.meshgrid(q, q.flip(0), indexing="xy"), -1).reshape(-1, 2).to(model.device)  # (n*n, 2)
    y = torch.zeros(n * n, dtype=torch.long) if model.cfg.model == "cvae" else None
    return plots.save_grid(path, model.decode(z, y), nrow=n)


def _table(rows: dict, table_id: str) -> str:
    cells = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>" for k, v in rows.items())
    return f'<table id="{table_id}">{cells}</table>'


def _fmt(v) -> str:
    return f"{v:.6g}" if isinstance(v, float) else json.dumps(v) if isinstance(v, (list, dict)) else str(v)


def make_report(run_dir: str | Path, out: str | Path | None = None, test: ImageSet | None = None, data_dir=None,
                device=None, tsne: bool = False) -> Path:
    """Write the HTML report of a run (default `run_dir/report.html`); returns its path."""
    run_dir = Path(run_dir)
    cfg = read_config(run_dir)
    plots_made = make_plots(run_dir, test, data_dir, device, tsne)
    metrics = read_metrics(run_dir)
    prior_path = run_dir / "prior_metrics.json"
    if prior_path.is_file():
        metrics.update({f"prior_{k}": v for k, v in json.loads(prior_path.read_text()).items()})
    figures = "".join(
        f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,'
        f'{base64.b64encode(path.read_bytes()).decode()}"><figcaption>{html.escape(title)}</figcaption></figure>'
        for title, path in plots_made)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>latentzoo: {html.escape(cfg.model)} run {html.escape(run_dir.name)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 1100px; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 2px 8px; text-align: left; font-size: 90%; }}
figure {{ display: inline-block; margin: 0 1.5em 1.5em 0; vertical-align: top; }}
figure img {{ max-width: 100%; image-rendering: pixelated; }}
.cols {{ display: flex; gap: 3em; flex-wrap: wrap; }}
</style></head><body>
<h1>{html.escape(cfg.model.upper())} &middot; {html.escape(cfg.backbone)} backbone &middot; {html.escape(cfg.dataset)}</h1>
<p>Run folder <code>{html.escape(str(run_dir))}</code>. Plots for this kind: {html.escape(PLOTS_BY_KIND[cfg.model])}.</p>
<div class="cols"><div><h2>Metrics (test set)</h2>{_table(metrics, "metrics")}</div>
<div><h2>Config</h2>{_table(json.loads(cfg.to_json()), "config")}</div></div>
<h2>Pictures</h2>
{figures}
</body></html>
"""
    target = Path(out) if out else run_dir / "report.html"
    return atomic_write(target, page)
