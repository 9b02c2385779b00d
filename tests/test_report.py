"""The HTML report: every plot for the kind, and the page as a browser shows it (headless
Chromium)."""

import pytest
from conftest import ONE_PER_MODEL, headless_chromium, needs_chromium

from latentzoo.cli import main
from latentzoo.viz.report import make_report

# the pictures each kind's page must show beyond loss curves, reconstructions, interpolation and
# latent map
PICTURES = {
    "ae-mlp": {"samples.png"},
    "dae-conv": {"samples.png", "denoising.png"},
    "vae-conv": {"samples.png"},
    "cvae-mlp": {"samples_per_digit.png"},
    "vqvae": {"codebook_usage.png", "code_grids.png"},
}
COMMON = {"loss_curves.png", "reconstructions.png", "interpolation.png", "latent_map.png"}


@pytest.mark.parametrize("name", ONE_PER_MODEL)
def test_report_shows_what_belongs_to_the_kind(name, trained, small_splits, tmp_path):
    run = trained[name]
    page = make_report(run, tmp_path / "page.html", test=small_splits.test).read_text()
    pictures = {p.name for p in run.glob("*.png")}
    assert COMMON | PICTURES[name] <= pictures
    others = set().union(*PICTURES.values()) - PICTURES[name]
    assert not (others & pictures), f"{name} drew pictures of other kinds: {others & pictures}"
    assert page.count("<img") == len(pictures)
    codebook_settings = ("codebook_size", "dead_threshold", "fsq_levels")
    shows = {k: f"<th>{k}</th>" in page for k in (*codebook_settings, "kl_warmup", "noise", "psnr")}
    assert shows["psnr"] and "dB" in page  # metrics carry their units
    assert (
        all(shows[k] for k in codebook_settings[:2]) == name.startswith("vq")
        and not shows["fsq_levels"]
    )
    assert shows["kl_warmup"] == name.startswith(("vae", "cvae")) and shows[
        "noise"
    ] == name.startswith("dae")


@pytest.fixture(scope="module")
def vq_run(trained):
    return trained["vqvae"]


def test_report_command_writes_a_page(vq_run, tmp_path, capsys):
    assert main(["report", str(vq_run), "--out", str(tmp_path / "page.html")]) == 0
    page = (tmp_path / "page.html").read_text()
    assert page.count("<img") == 6 and 'id="metrics"' in page and "data:image/png;base64," in page
    assert main(["report", str(vq_run), "--out", str(tmp_path / "page.txt")]) == 2
    assert "should end in .html" in capsys.readouterr().err


@needs_chromium
def test_report_renders_in_headless_chromium(vq_run, tmp_path):
    from selenium.webdriver.common.by import By

    page = make_report(vq_run, tmp_path / "report.html")
    driver = headless_chromium(tmp_path / "profile", size="1200,2000")
    try:
        driver.get(page.resolve().as_uri())
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.alt, "
            "i.complete, i.naturalWidth, i.naturalHeight])"
        )
        assert len(images) == 6
        broken = [alt for alt, done, w, h in images if not (done and w > 0 and h > 0)]
        assert not broken, f"images that did not load: {broken}"
        metrics = driver.find_element(By.ID, "metrics")
        names = [th.text for th in metrics.find_elements(By.TAG_NAME, "th")]
        assert {"psnr", "perplexity", "codebook_usage"} <= set(names)
        shot = tmp_path / "report.png"
        assert driver.save_screenshot(str(shot))
        assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 10_000
    finally:
        driver.quit()
