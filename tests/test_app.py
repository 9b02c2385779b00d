"""The app (latentzoo.app): pictures are fitted as MNIST's digits were made; the showcase gives the
library's own answers; the page, served on a free port, answers gradio_client with the same
pixels and numbers, refuses bad uploads with a message, and works in headless Chromium as a user
meets it (a drawn stroke, the plane's map clicked, a bad upload), leaving a screenshot in
test-artefacts/."""

import json
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import headless_chromium, needs_chromium, needs_mnist
from PIL import Image

from latentzoo import build_model, codec, jobs, load_dataset, make_config
from latentzoo.app import Showcase
from latentzoo.app.showcase import MAX_PIXELS, fit, read_upload, shown
from latentzoo.cli import main
from latentzoo.errors import ConfigError, DataError
from latentzoo.eval import psnr
from latentzoo.runs import run_data
from latentzoo.viz.report import PLANE_N, plane_pictures, plane_points
from latentzoo.zoo import names

ARTEFACTS = Path(__file__).resolve().parents[1] / "test-artefacts"


def digits(n: int) -> torch.Tensor:
    """The first n MNIST test digits (n, 1, 28, 28)."""
    return load_dataset("mnist").test.tensors(slice(0, n))[0]


def as_uint8(x: torch.Tensor) -> np.ndarray:
    return (x[0].numpy() * 255).round().astype(np.uint8)  # (H, W)


def test_a_picture_of_the_models_size_is_taken_as_it_is():
    a = np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)
    x = fit(a, (1, 28, 28))
    assert x.shape == (1, 1, 28, 28) and torch.equal(x[0, 0], torch.from_numpy(a / 255).float())


@needs_mnist
def test_a_drawn_digit_is_made_like_an_mnist_digit():
    """MNIST digits drawn large, dark on a light ground, off centre on a wider canvas (and once on
    a transparent ground, as the canvas sends it) come back close to the digits themselves; a plain
    resize of the canvas does not."""
    x = digits(20)
    fitted, resized = [], []
    for i, d in enumerate(x):
        big = Image.fromarray(255 - as_uint8(d)).resize((280, 280), Image.BILINEAR)
        canvas = Image.new("L", (500, 360), 255)
        canvas.paste(big, (30 + 7 * i, 40))
        picture = np.asarray(canvas)
        if i == 0:  # black ink on a transparent ground
            picture = np.stack([np.zeros_like(picture)] * 3 + [255 - picture], -1)
        fitted.append(fit(picture, (1, 28, 28)))
        resized.append(torch.from_numpy(1 - np.asarray(canvas.resize((28, 28))) / 255).float())
    fitted_psnr = psnr(x, torch.cat(fitted))
    resized_psnr = psnr(x, torch.stack(resized)[:, None])
    assert fitted_psnr.median() > 17 and (fitted_psnr > resized_psnr + 5).all(), (
        fitted_psnr,
        resized_psnr,
    )


def test_bad_uploads_are_refused_in_one_line(tmp_path):
    text = tmp_path / "digit.png"
    text.write_text("not a picture")
    with pytest.raises(DataError, match="not an image"):
        read_upload(str(text))
    side = int(MAX_PIXELS**0.5) + 1
    huge = tmp_path / "huge.png"
    Image.new("L", (side, side)).save(huge)
    with pytest.raises(DataError, match="at most"):
        read_upload(str(huge))
    with pytest.raises(DataError, match="not a picture"):
        fit(np.zeros((4, 4, 5)), (1, 28, 28))


def test_the_app_refuses_models_that_are_not_of_whole_pictures():
    photo = build_model(make_config("ae", data_kind="photo", latent="grid", source="photos"))
    with pytest.raises(ConfigError, match="whole pictures"):
        Showcase.of({"photo-ae": photo})


@pytest.fixture(scope="module")
def show():
    return Showcase.load(names())


@needs_mnist
def test_the_showcase_gives_the_librarys_answers(show):
    m = show.models
    assert list(show.denoisers()) == ["mnist-dae"] and list(show.coders()) == ["mnist-vqvae"]
    assert list(show.samplers()) == ["mnist-cvae", "mnist-vqvae"]
    assert list(show.planes()) == ["mnist-vae2d"]
    assert "mnist-cvae" not in show.walkers() and "mnist-vae" in show.walkers()
    val = run_data(m["mnist-ae"].cfg).val
    score = jobs.scorer(m["mnist-ae"], m["mnist-vae"], val)
    assert show.threshold == jobs.calibrate(m["mnist-ae"], val, jobs.DEFAULT_FPR, score=score)
    x = digits(1)
    got = show.anomaly(x)
    assert got["score"] == pytest.approx(float(score(x)[0]), rel=1e-9)
    assert got["flagged"] == (got["score"] > show.threshold)
    noise = torch.rand_like(x)  # nothing like a digit
    assert show.anomaly(noise)["flagged"]
    grid, size = show.codes(x)["mnist-vqvae"]
    assert np.array_equal(grid, codec.encode_images(m["mnist-vqvae"], x)[0].numpy())
    assert size == len(codec.compress(m["mnist-vqvae"], x))
    for name, picture in show.reconstructions(x).items():
        assert np.array_equal(picture, shown(jobs.reconstruct(m[name], x)))
    residuals = jobs.clean_residuals(m["mnist-dae"], *val.tensors(slice(0, jobs.SAFEGUARD_N)))
    noisy, clean = jobs.denoise(m["mnist-dae"], x, noise="gaussian:0.5", residuals=residuals)
    assert [p.tobytes() for p in show.denoise(x, "gaussian:0.5")["mnist-dae"]] == [
        shown(noisy).tobytes(),
        shown(clean).tobytes(),
    ]
    gen = torch.Generator().manual_seed(0)
    sevens = m["mnist-cvae"].sample(4, y=torch.full((4,), 7), generator=gen, temperature=0.8)
    assert np.array_equal(show.samples(7, 4, temperature=0.8)["mnist-cvae"], shown(sevens))
    with pytest.raises(DataError, match="labels 0 to 9"):
        show.samples(10)


@needs_mnist
def test_a_click_on_the_plane_map_finds_the_point_drawn_there(show):
    name = "mnist-vae2d"
    picture, points = show.plane_map(name), plane_points()
    cell = picture.shape[0] / PLANE_N
    for i, j in [(0, 0), (3, 11), (PLANE_N - 1, PLANE_N - 1)]:
        z = show.point_at(int((i + 0.5) * cell), int((j + 0.5) * cell))
        assert z == pytest.approx(tuple(points[i * PLANE_N + j].tolist()))
    z = points[3 * PLANE_N + 11]
    expected = shown(plane_pictures(show.models[name], z[None]))
    assert np.array_equal(show.plane_point(name, *z.tolist()), expected)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(show):
    pytest.importorskip("gradio", reason="the app is an extra: pip install -e '.[test]'")
    from latentzoo.app import serve

    page, url = serve(show, port=free_port(), block=False)
    yield url
    page.close()


def png(path) -> np.ndarray:
    return np.asarray(Image.open(path))


@needs_mnist
def test_the_endpoints_answer_with_the_showcases_pixels_and_numbers(show, served, tmp_path):
    from gradio_client import Client, handle_file

    client = Client(served, verbose=False)
    x = digits(2)
    Image.fromarray(as_uint8(x[0])).save(tmp_path / "d0.png")
    out = client.predict(
        None, handle_file(tmp_path / "d0.png"), "gaussian:0.5", 0, api_name="/look"
    )
    n = len(show.models)
    seen, recon, denoised, (verdict, score, codes) = (
        out[0],
        out[1 : 1 + n],
        out[1 + n : -3],
        out[-3:],
    )
    assert np.array_equal(png(seen), shown(x[:1]))
    expected = [*show.reconstructions(x[:1]).values()]
    assert len(recon) == n and all(np.array_equal(png(r), e) for r, e in zip(recon, expected))
    assert [png(d).tobytes() for d in denoised] == [
        p.tobytes() for p in show.denoise(x[:1], "gaussian:0.5")["mnist-dae"]
    ]
    assert score == pytest.approx(show.anomaly(x[:1])) and "not flagged" in verdict
    grid, size = show.codes(x[:1])["mnist-vqvae"]
    assert codes == {"mnist-vqvae": {"codes": grid.tolist(), "bytes": size}}
    rows = client.predict(3, 2.0, 0.9, 5, 1, api_name="/sample")
    expected = [*show.samples(3, 5, 2.0, 0.9, 1).values()]
    assert len(rows) == 2 and all(np.array_equal(png(r), e) for r, e in zip(rows, expected))
    # a drawing: what the canvas sends, a composite on a transparent ground
    for i in range(2):
        ink = 255 - as_uint8(x[i])
        rgba = np.stack([ink] * 3 + [255 - ink], -1)
        Image.fromarray(rgba).resize((280, 280)).save(tmp_path / f"draw{i}.png")
    drawn = [
        {"background": None, "layers": [], "composite": handle_file(tmp_path / f"draw{i}.png")}
        for i in range(2)
    ]
    walks = client.predict(*drawn, 6, api_name="/walk")
    assert len(walks) == len(show.walkers())
    assert png(walks[0]).shape == shown(torch.zeros(6, 1, 28, 28)).shape
    point = client.predict(0.5, -1.0, api_name="/plane")
    assert np.array_equal(png(point), show.plane_point("mnist-vae2d", 0.5, -1.0))
    # the median answer of a look, recorded beside the screenshot (benchmarks/app_latency.py
    # measures every endpoint; a test asserts no time)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        client.predict(None, handle_file(tmp_path / "d0.png"), "gaussian:0.5", 0, api_name="/look")
        times.append(time.perf_counter() - start)
    ARTEFACTS.mkdir(exist_ok=True)
    (ARTEFACTS / "app-latency.json").write_text(
        json.dumps({"look_median_s": statistics.median(times), "calls": len(times)}) + "\n"
    )


@needs_mnist
def test_the_page_refuses_bad_uploads_with_a_message(served, tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    client = Client(served, verbose=False)
    fake = tmp_path / "fake.png"
    fake.write_text("not a picture")
    huge = tmp_path / "huge.png"
    Image.new("L", (4100, 4100)).save(huge)
    for upload, message in [
        (None, "draw a digit or upload a picture first"),
        (handle_file(fake), "not an image"),
        (handle_file(huge), "at most"),
    ]:
        with pytest.raises(AppError, match=message):
            client.predict(None, upload, "", 0, api_name="/look")


def stop_app(port: int, when: str, tmp_path) -> tuple[int, str, str]:
    """`latentzoo app` stopped by Ctrl-C (SIGINT) once it says it loads its runs ("start": not
    before, when a busy machine may still be importing the package) or once it has said where it
    serves and the page answers there ("served"): (exit status, stdout, stderr)."""
    cmd = [sys.executable, "-m", "latentzoo", "app", "mnist-ae", "mnist-vae", "--port", str(port)]
    proc = subprocess.Popen(
        cmd,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # as a terminal would have it: a shell's background job (CI's, maybe) ignores SIGINT, and
        # its children inherit that
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    said = proc.stdout.readline().decode()  # printed once the package is imported: loading
    try:
        if when == "served":
            said += proc.stdout.readline().decode()  # printed once the server is up
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
                assert "latentzoo" in r.read().decode()
        else:
            time.sleep(0.5)  # loading the models, before the server starts
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    return proc.returncode, said + out.decode(), err.decode()


@needs_mnist
@pytest.mark.parametrize("when", ["start", "served"])
def test_ctrl_c_stops_the_command_and_its_server(when, tmp_path):
    pytest.importorskip("gradio", reason="the app is an extra: pip install -e '.[test]'")
    port = free_port()
    code, out, err = stop_app(port, when, tmp_path)
    assert code == 0 and "latentzoo app stopped" in out and "Traceback" not in err, err[-2000:]
    if when == "served":
        assert f"latentzoo app on http://127.0.0.1:{port}/" in out
    with socket.socket() as s:  # nothing serves there any more
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_the_command_names_a_missing_run_in_one_line(capsys):
    assert main(["app", "mnist-ae", "no-such-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no-such-run and no zoo model of that name" in err[0]


def tab(driver, text: str):
    """The tab that reads `text` (Gradio keeps a hidden copy of each tab's button)."""
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.XPATH, f"//button[@role='tab'][normalize-space()='{text}']")
    return next(b for b in found if b.is_displayed())


@needs_mnist
@needs_chromium
def test_a_user_draws_a_digit_clicks_the_plane_and_uploads_a_bad_file(served, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    driver = headless_chromium(tmp_path / "profile")
    wait = WebDriverWait(driver, 30)
    try:
        driver.get(served)
        brush = wait.until(seen.element_to_be_clickable((By.CSS_SELECTOR, "[aria-label=Brush]")))
        brush.click()
        board = next(c for c in driver.find_elements(By.TAG_NAME, "canvas") if c.is_displayed())
        stroke = ActionChains(driver).move_to_element_with_offset(board, -50, -80).click_and_hold()
        for dx, dy in [(35, 0)] * 3 + [(-12, 40)] * 4:  # a seven: across, then down to the left
            stroke = stroke.move_by_offset(dx, dy)
        stroke.release().perform()
        driver.find_element(By.ID, "look").click()
        wait.until(lambda d: "flagged" in d.find_element(By.ID, "verdict").text)

        def pictures(d, where: str) -> list:
            return d.execute_script(
                f"return Array.from(document.querySelectorAll('{where} img'))"
                ".map(i => i.complete && i.naturalWidth > 0)"
            )

        wait.until(lambda d: len(pictures(d, ".reconstructions")) == len(names()))
        wait.until(lambda d: len(pictures(d, ".denoised")) == 2)  # noisy, then denoised
        wait.until(lambda d: all(pictures(d, ".reconstructions") + pictures(d, ".denoised")))
        ARTEFACTS.mkdir(exist_ok=True)
        shot = ARTEFACTS / "app.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
        # the plane: a click on the map moves the sliders to the point drawn there
        tab(driver, "Latent plane").click()
        where = (By.CSS_SELECTOR, "#plane-map img")
        area = wait.until(seen.visibility_of_element_located(where))
        # a third of the way in from the left, half-way down: z1 < 0, z2 near 0
        left = -area.size["width"] // 6
        ActionChains(driver).move_to_element_with_offset(area, left, 0).click().perform()

        def z(d, name: str) -> float:
            return float(
                d.find_element(By.CSS_SELECTOR, f"#{name} input[type=number]").get_attribute(
                    "value"
                )
            )

        wait.until(lambda d: z(d, "z1") < -0.1)
        assert abs(z(driver, "z2")) < 0.2
        # a file that is not an image: a message on the page, never a stack trace
        tab(driver, "Look at a digit").click()
        fake = tmp_path / "fake.png"
        fake.write_text("not a picture")
        driver.find_element(By.CSS_SELECTOR, "#upload input[type=file]").send_keys(str(fake))
        time.sleep(1)
        driver.find_element(By.ID, "look").click()
        wait.until(lambda d: "not an image" in d.find_element(By.TAG_NAME, "body").text)
        assert "Traceback" not in driver.page_source
    finally:
        driver.quit()
