"""The README's and the docs' examples run as written: every Python block, and each bash block
named in RUN (the command-line page's block is run once by the `readme_cli` fixture, whose runs the
CLI tests reuse); a block that no test runs says why in a `<!-- not run by the tests: ... -->` line
above it. Their figures are those of the results files, and their prose types none of its own."""

import re
from pathlib import Path

from conftest import ROOT, needs_mnist

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# the bash blocks the tests below run: (page, the heading the block follows)
RUN = {
    "zoo": ("README.md", "## Ready-made models: the zoo"),
    "own": ("README.md", "## Train on your data"),
    "sound": ("README.md", "## Sound"),
    "cli": ("docs/command-line.md", "# Command line"),
    "own-data": ("docs/own-data.md", "# Your own data"),
    "photos": ("docs/own-data.md", "## Photos"),
    "signals": ("docs/own-data.md", "## Signals"),
}
NOT_RUN = "<!-- not run by the tests: "


def blocks(page: Path) -> list[tuple[str, str, str, str]]:
    """Every fenced block of a page: (language, code, the heading above it, the line above it)."""
    text = page.read_text()
    found = []
    for m in re.finditer(r"^```(\w+)\n(.*?)^```", text, flags=re.M | re.S):
        before = text[: m.start()].rstrip().splitlines()
        heading = next((line for line in reversed(before) if line.startswith("#")), "")
        found.append((m.group(1), m.group(2), heading, before[-1] if before else ""))
    return found


def test_every_block_of_the_readme_and_the_docs_is_run_or_says_why_not():
    run = set(RUN.values())
    for page in PAGES:
        name = str(page.relative_to(ROOT))
        for language, _, heading, above in blocks(page):
            if language == "python":
                continue  # test_python_blocks_run runs them all
            assert (name, heading) in run or above.startswith(NOT_RUN), (
                f"{name}: the {language} block under {heading!r} is neither run by a test nor "
                f"marked {NOT_RUN}...-->"
            )
    assert all(any(h == heading for _, _, h, _ in blocks(ROOT / page)) for page, heading in run), (
        "RUN names a block that is gone"
    )


@needs_mnist
def test_python_blocks_run(tmp_path, monkeypatch, capsys):
    code = [(page, c) for page in PAGES for lang, c, _, _ in blocks(page) if lang == "python"]
    assert code, "no Python example"
    monkeypatch.chdir(tmp_path)
    for page, c in code:
        exec(compile(c, str(page.relative_to(ROOT)), "exec"), {})
    assert (tmp_path / "runs" / "readme-vae" / "model.safetensors").is_file()
    assert "recon" in capsys.readouterr().out


@needs_mnist
def test_command_line_block_runs(readme_cli):
    root, results = readme_cli
    assert len(results) >= 10
    failed = [line for line, code in results if code != 0]
    assert not failed, f"README commands that failed: {failed}"
    assert {
        "recon.png",
        "samples.png",
        "sevens.png",
        "denoise.png",
        "walk.png",
        "vq-sevens.png",
        "page.html",
        "samples.lzc",
        "samples-back.npy",
    } <= {p.name for p in root.iterdir()}
    assert (root / "runs" / "vq" / "prior.safetensors").is_file() and (
        root / "runs" / "vae" / "report.html"
    ).is_file()


def test_readme_names_the_two_commands_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    for command in ("bash scripts/setup-and-demo.sh", ".venv/bin/python -m pytest -q -n 2"):
        assert command in readme and command in ci
    assert Path(ROOT / "scripts" / "setup-and-demo.sh").is_file()


def run_block(name: str, tmp_path, monkeypatch) -> list[list[str]]:
    """Run RUN[name], the first bash block after its heading on its page, line by line, in
    `tmp_path`."""
    import shlex

    from latentzoo import examples
    from latentzoo.cli import main

    page, heading = RUN[name]
    block = next(c for lang, c, h, _ in blocks(ROOT / page) if lang == "bash" and h == heading)
    lines = [
        shlex.split(line, comments=True)
        for line in block.splitlines()
        if shlex.split(line, comments=True)
    ]
    monkeypatch.chdir(tmp_path)
    for args in lines:
        if args[:3] == ["python", "-m", "latentzoo.examples"]:
            assert examples.main(args[3:]) == 0
        else:
            assert args[0] == "latentzoo", args
            assert main(args[1:]) == 0, args
    return lines


def test_readme_own_data_block_runs(tmp_path, monkeypatch, capsys):
    run_block("own", tmp_path, monkeypatch)
    assert (tmp_path / "own-recon" / "0003.png").is_file()
    assert (tmp_path / "own-samples.png").is_file()


def test_readme_sound_block_runs(tmp_path, monkeypatch, capsys):
    import soundfile as sf

    run_block("sound", tmp_path, monkeypatch)
    given, got = (sf.info(tmp_path / d / "noisy.wav") for d in ("own", "voice-clean"))
    assert (got.samplerate, got.channels, got.frames) == (
        given.samplerate,
        given.channels,
        given.frames,
    )


def test_own_data_page_block_runs(tmp_path, monkeypatch, capsys):
    lines = run_block("own-data", tmp_path, monkeypatch)
    assert len(lines) >= 10
    assert (tmp_path / "own-recon" / "0003.png").is_file() and (
        tmp_path / "own-denoised" / "photos.npy"
    ).is_file()
    assert (tmp_path / "own-samples" / "sample-00015.png").is_file() and (
        tmp_path / "own-scores.csv"
    ).is_file()


def test_signals_block_runs(tmp_path, monkeypatch, capsys):
    run_block("signals", tmp_path, monkeypatch)
    recon = (tmp_path / "beats-recon" / "beats.csv").read_text().splitlines()
    given = (tmp_path / "own" / "beats.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in recon] == [g.split(",")[0] for g in given]
    clean = (tmp_path / "ecg-clean" / "monitor.csv").read_text().splitlines()
    assert len(clean) == len((tmp_path / "own" / "monitor.csv").read_text().splitlines())
    steps = (tmp_path / "ecg-scores.csv").read_text().splitlines()
    assert steps[0] == "name,sample,seconds,score,threshold,flag" and len(steps) == len(clean)
    found = (tmp_path / "ecg-scores.intervals.csv").read_text().splitlines()
    assert found[0] == "name,start,end,start_seconds,end_seconds,peak"


def figures_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "readme_figures", ROOT / "benchmarks" / "readme_figures.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generated(text: str, begin: str, end: str) -> str:
    assert text.count(begin) == 1 and text.count(end) == 1
    return text[text.index(begin) : text.index(end) + len(end)]


def test_figures_are_those_of_their_results_files():
    """The figures of docs/results.md and the README's headline rows are what
    benchmarks/readme_figures.py makes of the committed results files: a figure edited by hand, or
    a results file rewritten, fails here."""
    script = figures_script()
    page = (ROOT / "docs" / "results.md").read_text()
    assert generated(page, script.BEGIN, script.END) == script.block()
    readme = (ROOT / "README.md").read_text()
    headline = generated(readme, script.HEAD_BEGIN, script.HEAD_END)
    assert headline == script.headline_block(), "run: python benchmarks/readme_figures.py"
    assert len(headline.splitlines()) == len(script.HEADLINES) + 4


# a measured figure: a number with a unit of measure, a percentage, or a named metric's value
MEASURED = re.compile(
    r"\d+(\.\d+)?\s*(%|dB\b|nats\b|min\b|minutes\b|seconds\b|hours?\b|bits\b|bytes\b|GB\b)"
    r"|(FID|AUROC|PSNR|ELBO|NLL|accuracy)\s+(of\s+)?\d"
)


def test_prose_types_no_measured_figure_outside_the_generated_blocks():
    """Measured figures live in the generated blocks; the prose of the README and the docs names
    where they are."""
    script = figures_script()
    for page in PAGES:
        text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # commands and code
        for begin, end in [(script.BEGIN, script.END), (script.HEAD_BEGIN, script.HEAD_END)]:
            if begin in text:
                text = text.replace(generated(text, begin, end), "")
        text = re.sub(r"`[^`\n]*`", "", text)  # options, file names, values in code
        typed = [m.group(0) for m in MEASURED.finditer(text)]
        assert not typed, (page.name, typed)


def test_photos_block_runs(tmp_path, monkeypatch, capsys):
    from PIL import Image

    run_block("photos", tmp_path, monkeypatch)
    size = Image.open(tmp_path / "own" / "scene.png").size
    assert Image.open(tmp_path / "photo-clean" / "scene.png").size == size
    assert Image.open(tmp_path / "photo-recon" / "scene.png").size == size
    assert (tmp_path / "photo-scores.csv").read_text().count("scene[") > 1


@needs_mnist
def test_readme_zoo_block_runs(tmp_path, monkeypatch, capsys):
    """The zoo's commands work on a fresh checkout, with no training."""
    import numpy as np

    run_block("zoo", tmp_path, monkeypatch)
    assert len(list((tmp_path / "threes").glob("*.png"))) == 8
    assert np.load(tmp_path / "threes-back.npy").shape == (8, 28, 28)
    assert len(list((tmp_path / "threes-clean").glob("*.png"))) == 8
    assert (tmp_path / "threes-scores.csv").read_text().count("\n") == 9
    assert (tmp_path / "vae.html").is_file()
