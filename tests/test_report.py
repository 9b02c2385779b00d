"""The HTML report: every plot for the kind, and the page as a browser shows it (headless Chromium)."""

import shutil

import pytest

from latentzoo.cli import main
from latentzoo.config import make_config
from latentzoo.report import make_report
from latentzoo.training import train

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def vq_run(tmp_path_factory, small_splits):
    run = tmp_path_factory.mktemp("report") / "vq"
    return train(make_config("vqvae", epochs=1, codebook_size=64), run, splits=small_splits, progress=False,
                 log=lambda m: None)


def test_report_command_writes_a_page(vq_run, tmp_path, capsys):
    assert main(["report", str(vq_run), "--out", str(tmp_path / "page.html")]) == 0
    page = (tmp_path / "page.html").read_text()
    assert page.count("<img") == 6 and 'id="metrics"' in page and "data:image/png;base64," in page
    assert main(["report", str(vq_run), "--out", str(tmp_path / "page.txt")]) == 2
    assert "should end in .html" in capsys.readouterr().err


@pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="Chromium not installed (Debian: apt-get install chromium "
                                                      "chromium-driver); the browser check is skipped")
def test_report_renders_in_headless_chromium(vq_run, tmp_path):
    pytest.importorskip("selenium", reason="selenium is in the test extras: pip install -e '.[test]'")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    page = make_report(vq_run, tmp_path / "report.html")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,2000"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    try:
        driver.get(page.resolve().as_uri())
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight])")
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
