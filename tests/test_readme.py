"""The README's examples run as written: its Python blocks, and its command-line block (run once by
the `readme_cli` fixture, whose runs the CLI tests reuse)."""

import re
from pathlib import Path

from conftest import ROOT, needs_mnist


@needs_mnist
def test_readme_python_blocks_run(tmp_path, monkeypatch, capsys):
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "the README has no Python example"
    monkeypatch.chdir(tmp_path)
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "runs" / "readme-vae" / "model.safetensors").is_file()
    assert "recon" in capsys.readouterr().out


@needs_mnist
def test_readme_command_line_block_runs(readme_cli):
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
    for command in ("bash scripts/setup-and-demo.sh", ".venv/bin/python -m pytest -q"):
        assert command in readme and command in ci
    assert Path(ROOT / "scripts" / "setup-and-demo.sh").is_file()


def run_block(heading: str, tmp_path, monkeypatch) -> list[list[str]]:
    """Run the first bash block after `heading` in the README, line by line, in `tmp_path`."""
    import shlex

    from latentzoo import examples
    from latentzoo.cli import main

    section = (ROOT / "README.md").read_text().split(heading, 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.S).group(1)
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
    lines = run_block("## Your own data", tmp_path, monkeypatch)
    assert len(lines) >= 10
    assert (tmp_path / "own-recon" / "0003.png").is_file() and (
        tmp_path / "own-denoised" / "photos.npy"
    ).is_file()
    assert (tmp_path / "own-samples" / "sample-00015.png").is_file() and (
        tmp_path / "own-scores.csv"
    ).is_file()


def test_readme_signals_block_runs(tmp_path, monkeypatch, capsys):
    run_block("### Signals", tmp_path, monkeypatch)
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


def test_readme_figures_are_those_of_their_results_files():
    """The README's figures block is what benchmarks/readme_figures.py makes of the committed
    results files: a figure edited by hand, or a results file rewritten, fails here."""
    script = figures_script()
    readme = (ROOT / "README.md").read_text()
    assert readme.count(script.BEGIN) == 1 and readme.count(script.END) == 1
    quoted = readme[readme.index(script.BEGIN) : readme.index(script.END) + len(script.END)]
    assert quoted == script.block(), "run: python benchmarks/readme_figures.py"


# a measured figure: a number with a unit of measure, a percentage, or a named metric's value
MEASURED = re.compile(
    r"\d+(\.\d+)?\s*(%|dB\b|nats\b|min\b|minutes\b|seconds\b|hours?\b|bits\b|bytes\b|GB\b)"
    r"|(FID|AUROC|PSNR|ELBO|NLL|accuracy)\s+(of\s+)?\d"
)


def test_readme_prose_types_no_measured_figure_outside_the_figures_block():
    """Measured figures live in the generated block; the prose names where they are."""
    script = figures_script()
    text = (ROOT / "README.md").read_text()
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # commands and code
    text = text.replace(text[text.index(script.BEGIN) : text.index(script.END)], "")
    text = re.sub(r"`[^`\n]*`", "", text)  # options, file names, values in code
    typed = [m.group(0) for m in MEASURED.finditer(text)]
    assert not typed, typed


def test_readme_photos_block_runs(tmp_path, monkeypatch, capsys):
    from PIL import Image

    run_block("### Photos", tmp_path, monkeypatch)
    size = Image.open(tmp_path / "own" / "scene.png").size
    assert Image.open(tmp_path / "photo-clean" / "scene.png").size == size
    assert Image.open(tmp_path / "photo-recon" / "scene.png").size == size
    assert (tmp_path / "photo-scores.csv").read_text().count("scene[") > 1


@needs_mnist
def test_readme_zoo_block_runs(tmp_path, monkeypatch, capsys):
    """The zoo's commands work on a fresh checkout, with no training."""
    import numpy as np

    run_block("## Ready-made models: the zoo", tmp_path, monkeypatch)
    assert len(list((tmp_path / "threes").glob("*.png"))) == 8
    assert np.load(tmp_path / "threes-back.npy").shape == (8, 28, 28)
    assert len(list((tmp_path / "threes-clean").glob("*.png"))) == 8
    assert (tmp_path / "threes-scores.csv").read_text().count("\n") == 9
    assert (tmp_path / "vae.html").is_file()
