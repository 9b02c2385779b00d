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
    assert {"recon.png", "samples.png", "sevens.png", "denoise.png", "walk.png", "vq-sevens.png", "page.html"} <= \
        {p.name for p in root.iterdir()}
    assert (root / "runs" / "vq" / "prior.safetensors").is_file() and (root / "runs" / "vae" / "report.html").is_file()


def test_readme_names_the_two_commands_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    for command in ("bash scripts/setup-and-demo.sh", ".venv/bin/python -m pytest -q"):
        assert command in readme and command in ci
    assert Path(ROOT / "scripts" / "setup-and-demo.sh").is_file()
