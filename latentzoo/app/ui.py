"""The app's page: a `Showcase` laid out with Gradio (an optional extra: pip install -e '.[app]').

Four tabs, one endpoint each plus the map's click (their names, for gradio_client, in API):
look at a drawn or uploaded picture (reconstructions, denoising, the anomaly score and flag, the
code grid and the codec's bytes); generate samples of a label; walk between two pictures; explore
the plane of a VAE with a 2-d latent. A user's mistake (no picture, a file that is not an image, a
huge one) comes back as a one-line message on the page.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import LatentzooError
from ..models import GUIDANCE
from .showcase import Showcase, read_upload, shown

API = ("look", "sample", "walk", "plane", "plane_click")
CANVAS = 280  # the drawing canvas, ten times an MNIST digit
MAX_UPLOAD = "10mb"
ROW_HEIGHT = 180  # pixels of a picture's box: the picture and its label


def gradio():
    """Gradio, imported when the app starts (it is an optional extra)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        import gradio as gr
    except ImportError:
        raise LatentzooError(
            "the app needs Gradio: pip install -e '.[app]' (or pip install gradio)"
        ) from None
    return gr


def picture_of(drawing, upload):
    """The picture a handler works on: the uploaded file when there is one, else the drawing."""
    if upload:
        return read_upload(upload)
    composite = (drawing or {}).get("composite")
    if composite is None or np.asarray(composite).size == 0:
        raise LatentzooError("draw a digit or upload a picture first")
    return np.asarray(composite)


def answers(fn):
    """A handler whose LatentzooError is shown on the page as one line (gr.Error)."""
    gr = gradio()

    def handler(*args):
        try:
            return fn(*args)
        except LatentzooError as e:
            raise gr.Error(str(e), print_exception=False) from None

    handler.__name__ = fn.__name__
    return handler


def canvas(gr, label: str):
    return gr.Sketchpad(
        label=label,
        type="numpy",
        image_mode="RGBA",
        canvas_size=(CANVAS, CANVAS),
        brush=gr.Brush(default_size=18, colors=["#000000"], color_mode="fixed"),
        layers=False,
    )


def pictures(gr, labels: list[str], group: str, columns: int = 8, height=ROW_HEIGHT) -> list:
    """One picture per label, `columns` to a row, sent as PNG (exact pixels); their elem_ids are
    `group` and a count, for the browser test."""
    made = []
    for start in range(0, len(labels), columns):
        with gr.Row(equal_height=True):
            made += [
                gr.Image(
                    label=label,
                    format="png",
                    interactive=False,
                    height=height,
                    elem_id=f"{group}-{i}",
                    elem_classes=[group],
                    buttons=["download"],
                )
                for i, label in enumerate(labels[start : start + columns], start)
            ]
    return made


def build(show: Showcase):
    """The page (a gr.Blocks) for a showcase."""
    gr = gradio()
    with gr.Blocks(title="latentzoo") as page:
        gr.Markdown(
            "# latentzoo\nDraw a digit (or upload a picture) and see what each autoencoder does "
            f"with it. Models: {', '.join(show.models)}."
        )
        with gr.Tab("Look at a digit"):
            look_tab(gr, show)
        with gr.Tab("Generate"):
            sample_tab(gr, show)
        with gr.Tab("Walk"):
            walk_tab(gr, show)
        with gr.Tab("Latent plane"):
            plane_tab(gr, show)
    return page


def look_tab(gr, show: Showcase) -> None:
    with gr.Row():
        with gr.Column():
            drawing = canvas(gr, "Draw here")
            upload = gr.File(
                label="... or upload a picture",
                file_types=["image"],
                type="filepath",
                elem_id="upload",
            )
        with gr.Column():
            noise = gr.Textbox(value="gaussian:0.5", label="Noise for the denoiser (a noise spec)")
            seed = gr.Number(value=0, precision=0, label="Seed of the noise")
            go = gr.Button("Look", variant="primary", elem_id="look")
            seen = gr.Image(label="As the models see it", elem_id="seen", format="png")
    gr.Markdown("Reconstructions")
    recon = pictures(gr, list(show.models), "reconstructions")
    gr.Markdown("Noisy, then denoised")
    pairs = [f"{n}: {what}" for n in show.denoisers() for what in ("noisy", "denoised")]
    denoised = pictures(gr, pairs, "denoised")
    with gr.Row():
        verdict = gr.Markdown(elem_id="verdict")
        score = gr.JSON(label="Anomaly score", open=True)
        codes = gr.JSON(label="Code grid and compressed bytes", open=True)

    def look(drawing, upload, noise, seed):
        x = show.example(picture_of(drawing, upload))
        s = show.anomaly(x)
        word = "**unusual**: flagged" if s["flagged"] else "**usual**: not flagged"
        text = (
            f"{word} (score {s['score']:.4g}, threshold {s['threshold']:.4g}, which "
            f"{s['fpr']:g} of the validation images exceed; {s['by']} score)"
        )
        grids = {n: {"codes": g.tolist(), "bytes": b} for n, (g, b) in show.codes(x).items()}
        rows = show.denoise(x, noise, int(seed or 0)).values()
        return (
            shown(x),
            *show.reconstructions(x).values(),
            *[p for row in rows for p in row],
            text,
            s,
            grids,
        )

    go.click(
        answers(look),
        [drawing, upload, noise, seed],
        [seen, *recon, *denoised, verdict, score, codes],
        api_name="look",
    )


def sample_tab(gr, show: Showcase) -> None:
    with gr.Row():
        label = gr.Dropdown(list(range(show.n_classes)), value=3, label="Digit (label)")
        guidance = gr.Slider(1.0, 5.0, value=GUIDANCE, step=0.5, label="Guidance (VQ-VAE prior)")
        temperature = gr.Slider(0.1, 1.5, value=1.0, step=0.1, label="Temperature")
        n = gr.Slider(1, 16, value=8, step=1, label="How many")
        seed = gr.Number(value=0, precision=0, label="Seed")
    go = gr.Button("Generate", variant="primary", elem_id="generate")
    out = pictures(gr, list(show.samplers()), "samples", columns=1, height=None)

    def sample(label, guidance, temperature, n, seed):
        rows = show.samples(int(label), int(n), float(guidance), float(temperature), int(seed))
        return tuple(rows.values())

    go.click(answers(sample), [label, guidance, temperature, n, seed], out, api_name="sample")


def walk_tab(gr, show: Showcase) -> None:
    with gr.Row():
        a, b = canvas(gr, "From"), canvas(gr, "To")
    steps = gr.Slider(3, 12, value=8, step=1, label="Steps")
    go = gr.Button("Walk", variant="primary", elem_id="walk")
    out = pictures(gr, list(show.walkers()), "walks", columns=1, height=None)

    def walk(a, b, steps):
        xa, xb = show.example(picture_of(a, None)), show.example(picture_of(b, None))
        return tuple(show.walks(xa, xb, int(steps)).values())

    go.click(answers(walk), [a, b, steps], out, api_name="walk")


def plane_tab(gr, show: Showcase) -> None:
    planes = list(show.planes())
    if not planes:
        gr.Markdown("None of these models has a 2-d latent (train one with `--latent-dim 2`).")
        return
    name = planes[0]
    gr.Markdown(f"The latent plane of {name}: click the map, or move the sliders.")
    with gr.Row():
        area = gr.Image(
            show.plane_map(name),
            label="Decoded plane",
            interactive=False,
            format="png",
            elem_id="plane-map",
        )
        with gr.Column():
            z1 = gr.Slider(-3.0, 3.0, value=0.0, step=0.05, label="z1", elem_id="z1")
            z2 = gr.Slider(-3.0, 3.0, value=0.0, step=0.05, label="z2", elem_id="z2")
            point = gr.Image(
                show.plane_point(name, 0.0, 0.0), label="Decoded at (z1, z2)", format="png"
            )

    def plane(z1, z2):
        return show.plane_point(name, float(z1), float(z2))

    def plane_click(evt):
        col, row = evt.index  # pixels of the map, (x, y)
        u, v = show.point_at(int(row), int(col))
        return u, v, show.plane_point(name, u, v)

    # Gradio passes the click to a parameter annotated with its event class, known only here
    plane_click.__annotations__["evt"] = gr.SelectData

    gr.on([z1.release, z2.release], answers(plane), [z1, z2], point, api_name="plane")
    area.select(plane_click, None, [z1, z2, point], api_name="plane_click")


def serve(show: Showcase, host: str = "127.0.0.1", port: int | None = None, block: bool = True):
    """Start the page on host:port (a free port from 7860 up when None); returns (the page, its
    URL) at once when `block` is False (the caller closes it), else when Ctrl-C stops the server.
    The server's threads outlive an exception in this one, so whatever stops it closes them."""
    page = build(show)
    handed_over = False
    try:
        _, url, _ = page.launch(
            server_name=host,
            server_port=port,
            prevent_thread_lock=True,
            quiet=True,
            max_file_size=MAX_UPLOAD,
            show_error=False,
            footer_links=["api"],
        )
        handed_over = not block
        if block:
            print(f"latentzoo app on {url} (Ctrl-C stops it)", flush=True)
            page.block_thread()  # until Ctrl-C, which Gradio takes as its cue to stop
        return page, url
    finally:
        if not handed_over:
            page.close(verbose=False)
