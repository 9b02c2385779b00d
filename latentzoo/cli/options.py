"""The command line's building blocks: argument types that fail in one line, the parser that exits
with 2, and options generated from settings classes (latentzoo.config): their names, help, and
defaults per model kind come from the fields; their bounds are checked by the settings."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from ..bench.tables import TABLE_KEYS
from ..config import (
    MODELS,
    default_text,
    field_type,
    kinds_with,
    option_fields,
)
from ..zoo import locate


def one_line(msg: str) -> str:
    """A message with line breaks and unprintable text escaped: a value the user typed may hold
    either."""
    return (
        msg.replace("\r", "\\r")
        .replace("\n", "\\n")
        .encode("utf-8", "backslashreplace")
        .decode("utf-8")
    )


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line (and exits with 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"latentzoo: error: {one_line(message)} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)

    def parse_known_args(self, args=None, namespace=None):
        for a in sys.argv[1:] if args is None else args:
            # argparse would drop the value
            if isinstance(a, str) and a.startswith("-") and a.endswith("=--"):
                self.error(f"argument {a[:-3]}: '--' is not a value")
        return super().parse_known_args(args, namespace)


def number(cast, what: str, ok=lambda v: True, rule: str = ""):
    """An argparse type: `cast` the text (finite numbers only), then check `ok`; mistakes are one
    line."""

    def parse(s: str):
        try:
            if not s.isascii():  # int() and float() also read other scripts' digits
                raise ValueError
            v = cast(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{s}' is not {what}") from None
        if not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"'{s}' is not a finite number")
        if not ok(v):
            raise argparse.ArgumentTypeError(f"{rule}, got {s}")
        return v

    return parse


positive_int = number(int, "a whole number", lambda v: v >= 1, "must be at least 1")
nonneg_int = number(int, "a whole number", lambda v: v >= 0, "must be 0 or more")
positive_float = number(float, "a number", lambda v: v > 0, "must be a positive number")
label = number(
    int, "a label (a digit 0-9 for MNIST)", lambda v: 0 <= v < 100_000, "must be 0 or more"
)
fraction = number(float, "a number", lambda v: 0 < v < 1, "must be between 0 and 1")
share = number(float, "a number", lambda v: 0 <= v < 1, "must be at least 0 and below 1")
MAX_SAMPLES = 10_000  # one PNG grid: 10,000 digits already make it 75,000 pixels tall


def suffixed(*suffixes: str, folder: bool = False):
    """An argparse type: a path ending in one of `suffixes` (or, with `folder`, one without a
    suffix)."""

    def path_with_suffix(s: str) -> Path:
        p = Path(s)
        if p.suffix.lower() not in suffixes and not (folder and not p.suffix):
            ends = " or ".join(suffixes) + (", or a folder" if folder else "")
            raise argparse.ArgumentTypeError(f"'{s}' should end in {ends}")
        return p

    path_with_suffix.suffixes = suffixes  # type: ignore[attr-defined]  # read by the fuzz tests
    path_with_suffix.folder = folder  # type: ignore[attr-defined]
    return path_with_suffix


png_path = suffixed(".png")
RUN_HELP = "a run folder, or the name of a model of the zoo (`latentzoo zoo` lists them)"


def run_folder(s: str) -> Path:
    """An argparse type: a run folder, or the folder of the zoo model that `s` names."""
    return locate(s)


def add_input_options(sp) -> None:
    sp.add_argument(
        "--resize",
        action="store_true",
        help="resize inputs of another size to the run's (bilinear)",
    )
    sp.add_argument(
        "--convert",
        action="store_true",
        help="convert inputs to the run's colour mode (grey or rgb)",
    )
    sp.add_argument(
        "--hop",
        type=positive_int,
        help="samples between the windows of a recording (a run trained with --window; default: "
        "the run's hop)",
    )


def add_bench_options(b) -> None:
    """`latentzoo bench`'s own options."""
    b.add_argument("--quick", action="store_true", help="small budgets, recorded as such")
    b.add_argument(
        "--out", type=Path, help="folder (default benchmarks/results[-NAME of --data][-quick])"
    )
    b.add_argument(
        "--data",
        type=Path,
        help="your labelled images instead of MNIST (as `train --data`): every table but "
        "likelihood and denoising, one class per label, foreign sets both ways",
    )
    tables = ", ".join(TABLE_KEYS)
    kept = "keep the others from --out's results.json (same budget and data), each with its commit"
    b.add_argument("--tables", metavar="NAMES", help=f"measure only these ({tables}); {kept}")


def option_flag(name: str) -> str:
    """A setting's command-line option: `source` is --data, `data_kind` --kind; others their name
    with dashes."""
    return "--" + OPTION_NAMES.get(name, name).replace("_", "-")


OPTION_NAMES = {"source": "data", "data_kind": "kind"}


def add_settings_options(p: argparse.ArgumentParser, settings: dict, help_of) -> None:
    """One option per settings field (name -> field), its help `help_of(name, field)`. Values are
    checked by the settings' `validate` (one line, exit 2), so the bounds live in one place."""
    for name, f in settings.items():
        kind, _ = field_type(f)
        meta, flag, help_ = f.metadata, option_flag(name), help_of(name, f)
        if kind is bool:
            p.add_argument(
                flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=help_
            )
        elif meta["choices"]:
            p.add_argument(flag, dest=name, choices=meta["choices"], help=help_)
        else:
            casts = {int: number(int, "a whole number"), float: number(float, "a number")}
            p.add_argument(flag, dest=name, type=casts.get(kind, str), help=help_)


def add_config_options(p: argparse.ArgumentParser) -> None:
    """`train`'s options: every model kind's, the data's and training's settings, each once; a
    setting of only some kinds names them. `--beta`, an earlier name, stays as an alias."""

    def help_of(name: str, f) -> str:
        kinds = kinds_with(name)
        text = f"{f.metadata['help']} (default {default_text(name)})"
        return text if kinds == MODELS else f"{', '.join(kinds)}: {text}"

    add_settings_options(p, option_fields(), help_of)
    p.add_argument(
        "--beta",
        type=number(float, "a number"),
        help="earlier name of --kl-weight (vae, cvae) and --commitment (vqvae)",
    )
