"""The config: one source of defaults per model kind, the CLI's options generated from it, and
config.json files of every version loading (fixtures written by the code before config_version)."""

import json
from dataclasses import fields
from pathlib import Path

import pytest

from latentzoo.cli import build_parser
from latentzoo.config import (
    CONFIG_VERSION,
    DEFAULTS,
    MODEL_DEFAULTS,
    MODELS,
    V1_VALUES,
    Config,
    cli_fields,
    make_config,
    migrate,
)
from latentzoo.errors import ConfigError

FIXTURES = Path(__file__).parent / "fixtures" / "v1"


def test_defaults_have_one_home():
    assert set(DEFAULTS) == {f.name for f in fields(Config)} - {"model"}
    assert (
        all(set(d) <= set(DEFAULTS) for d in MODEL_DEFAULTS.values())
        and tuple(MODEL_DEFAULTS) == MODELS
    )
    with pytest.raises(TypeError):
        Config(model="vqvae")  # no second set of defaults on the class: every value is given
    vq = make_config("vqvae")
    assert (vq.epochs, vq.batch_size, vq.act, vq.config_version) == (15, 16, "gelu", CONFIG_VERSION)
    assert Config.from_dict(vq.to_dict()) == vq


def test_train_options_and_their_help_come_from_the_config():
    parser = build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]
    options = {a.dest: a for a in train._actions}
    assert {f.name for f in cli_fields()} <= set(options)
    assert "(default 10; vqvae 15)" in options["epochs"].help
    assert "(default 0.999; vqvae 0.95)" in options["adam_beta2"].help
    assert "(default off)" in options["cosine"].help and options["act"].choices == (
        "relu",
        "silu",
        "gelu",
        "tanh",
    )
    args = parser.parse_args(["train", "vqvae", "--out", "x", "--no-ema", "--lr", "3e-4"])
    assert args.ema is False and args.lr == 3e-4 and args.epochs is None


@pytest.mark.parametrize(
    "bad, words",
    [
        (dict(lr=-1.0), "lr must be positive"),
        (dict(epochs=0), "epochs must be in [1, 100,000]"),
        (dict(adam_beta2=1.0), "adam_beta2 must be in [0, 1)"),
        (dict(act="swish"), "unknown act 'swish'"),
        (dict(beta=float("nan")), "beta must be a finite number"),
        (dict(limit=2.5), "limit must be int"),
        (dict(only_digit=12), "only_digit must be in [0, 9]"),
        (dict(colour="red"), "unknown colour 'red'"),
        (dict(flavour="red"), "unknown config keys: flavour"),
    ],
)
def test_bad_values_are_one_line_config_errors(bad, words):
    with pytest.raises(ConfigError) as e:
        make_config("ae", **bad)
    assert words in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("kind", ["ae", "dae", "vae", "cvae", "vqvae"])
def test_version_1_files_written_by_the_code_before_load_unchanged(kind):
    raw = json.loads((FIXTURES / kind / "config.json").read_text())
    assert "config_version" not in raw  # as the code before config_version wrote it
    cfg = Config.from_dict(raw)
    assert cfg.config_version == CONFIG_VERSION and all(
        getattr(cfg, k) == v for k, v in raw.items()
    )


def test_older_version_1_files_get_the_values_of_their_time():
    raw = json.loads((FIXTURES / "vqvae" / "config.json").read_text())
    # added to the config one by one
    for k in ("fine_blocks", "norm", "act", "adam_beta2", "res_blocks"):
        raw.pop(k)
    cfg = Config.from_dict(raw)
    assert (cfg.fine_blocks, cfg.norm, cfg.act, cfg.adam_beta2, cfg.res_blocks) == (
        0,
        "none",
        "relu",
        0.999,
        1,
    )
    assert migrate({})["model"] == V1_VALUES["model"] == "ae"


def test_a_newer_or_broken_version_is_refused_in_one_line():
    raw = make_config("ae").to_dict()
    with pytest.raises(ConfigError, match="newer latentzoo"):
        Config.from_dict({**raw, "config_version": CONFIG_VERSION + 1})
    with pytest.raises(ConfigError, match="config_version must be a whole number"):
        Config.from_dict({**raw, "config_version": "two"})
    with pytest.raises(ConfigError, match="config keys missing: lr"):
        Config.from_dict({k: v for k, v in raw.items() if k != "lr"})


def test_version_3_files_trained_in_fp32():
    raw = make_config("vqvae").to_dict()
    raw.pop("precision")
    cfg = Config.from_dict({**raw, "config_version": 3})
    assert (cfg.precision, cfg.config_version) == ("fp32", CONFIG_VERSION)


def test_version_4_files_have_the_tapered_mlp():
    raw = make_config("vae", backbone="mlp").to_dict()
    raw.pop("hidden2")
    cfg = Config.from_dict({**raw, "config_version": 4})
    assert (cfg.hidden2, cfg.config_version) == (0, CONFIG_VERSION)
