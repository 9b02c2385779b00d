"""The config: settings split by concern, one home per default, the command line's options and
help generated from the settings (train and train-prior), earlier names kept as aliases, and
config.json files of every version loading (fixtures written by the code of their time)."""

import json
from dataclasses import fields
from pathlib import Path

import pytest

from latentzoo.cli import build_parser
from latentzoo.config import (
    CONFIG_VERSION,
    MODEL_SETTINGS,
    MODELS,
    Config,
    DataSettings,
    PriorConfig,
    TrainSettings,
    make_config,
    migrate,
    option_fields,
)
from latentzoo.config.migrate import V1_VALUES
from latentzoo.errors import ConfigError

FIXTURES = Path(__file__).parent / "fixtures"


def subparser(name):
    return build_parser()._subparsers._group_actions[0].choices[name]


def test_each_setting_has_one_home_and_one_meaning():
    sections = [DataSettings, TrainSettings]
    data_train = [f.name for s in sections for f in fields(s)]
    assert len(data_train) == len(set(data_train))
    for kind, cls in MODEL_SETTINGS.items():
        names = {f.name for f in fields(cls)}
        assert not names & set(data_train), kind
    vae, vq = make_config("vae"), make_config("vqvae")
    assert (vae.model.kl_weight, vq.model.commitment, vq.model.code_dim) == (1.0, 0.25, 16)
    assert not hasattr(vae.model, "commitment") and not hasattr(vq.model, "latent_dim")
    assert not hasattr(vq.model, "hidden")  # a VQ-VAE is conv only: no mlp widths
    assert (vq.train.epochs, vq.train.batch_size, vq.model.act) == (15, 16, "gelu")
    assert make_config("ae").train.epochs == TrainSettings().epochs == 10
    for kind in MODELS:
        cfg = make_config(kind)
        assert Config.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_config_json_holds_the_sections():
    d = make_config("vqvae", epochs=2, codebook_size=64).to_dict()
    assert set(d) == {"config_version", "kind", "model", "data", "train"}
    assert d["kind"] == "vqvae" and d["model"]["codebook_size"] == 64 and d["train"]["epochs"] == 2
    assert d["data"]["shape"] == [1, 28, 28] and d["config_version"] == CONFIG_VERSION


def test_train_options_and_their_help_come_from_the_settings():
    train = subparser("train")
    options = {a.dest: a for a in train._actions}
    assert set(option_fields()) <= set(options)
    assert "(default 10; vqvae 15)" in options["epochs"].help
    assert "(default 0.999; vqvae 0.95)" in options["adam_beta2"].help
    assert options["codebook_size"].help.startswith("vqvae: ")
    assert options["kl_weight"].help.startswith("vae, cvae: ")
    assert "(default off)" in options["cosine"].help and options["act"].choices == (
        "relu",
        "silu",
        "gelu",
        "tanh",
    )
    args = build_parser().parse_args(["train", "vqvae", "--out", "x", "--no-ema", "--lr", "3e-4"])
    assert args.ema is False and args.lr == 3e-4 and args.epochs is None
    assert build_parser().parse_args(["train", "ae", "--out", "x", "--data", "d"]).source == "d"


def test_train_prior_options_come_from_the_prior_settings():
    options = {a.dest: a for a in subparser("train-prior")._actions}
    generated = {f.name for f in PriorConfig.options()}
    assert generated == {
        "d_model",
        "n_layers",
        "n_heads",
        "dropout",
        "label_dropout",
        "epochs",
        "batch_size",
        "lr",
        "seed",
    }
    assert generated <= set(options) and "(default 128)" in options["d_model"].help
    assert not {"n_codes", "length", "grid_width", "n_classes"} & set(options)


@pytest.mark.parametrize(
    "kind, bad, words",
    [
        ("ae", dict(lr=-1.0), "lr must be positive"),
        ("ae", dict(epochs=0), "epochs must be in [1, 100,000]"),
        ("ae", dict(adam_beta2=1.0), "adam_beta2 must be in [0, 1)"),
        ("ae", dict(act="swish"), "unknown act 'swish'"),
        ("vae", dict(kl_weight=float("nan")), "kl_weight must be a finite number"),
        ("ae", dict(limit=2.5), "limit must be int"),
        ("ae", dict(only_digit=12), "only_digit must be in [0, 9]"),
        ("ae", dict(colour="red"), "unknown colour 'red'"),
        ("ae", dict(flavour="red"), "unknown config keys: flavour"),
        ("ae", dict(codebook_size=8), "codebook_size is a setting of vqvae, not of ae"),
        ("ae", dict(beta=1.0), "beta is now kl_weight for a vae"),
        ("vqvae", dict(backbone="mlp"), "a vqvae needs the conv backbone"),
    ],
)
def test_bad_values_are_one_line_config_errors(kind, bad, words):
    with pytest.raises(ConfigError) as e:
        make_config(kind, **bad)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_earlier_names_still_work_with_a_warning():
    with pytest.warns(DeprecationWarning, match="beta is now kl_weight"):
        assert make_config("vae", beta=0.5).model.kl_weight == 0.5
    with pytest.warns(DeprecationWarning):
        vq = make_config("vqvae", beta=0.3, latent_dim=8)
    assert (vq.model.commitment, vq.model.code_dim) == (0.3, 8)
    args = build_parser().parse_args(["train", "vae", "--out", "x", "--beta", "0.5"])
    assert args.beta == 0.5


@pytest.mark.parametrize("version", ["v1", "v5"])
@pytest.mark.parametrize("kind", MODELS)
def test_files_written_by_earlier_versions_load_with_their_values(version, kind):
    raw = json.loads((FIXTURES / version / kind / "config.json").read_text())
    assert raw.get("config_version", 1) == int(version[1:])  # as the code of its time wrote it
    cfg = Config.from_dict(raw)
    settings = cfg.settings()
    assert cfg.config_version == CONFIG_VERSION and cfg.kind == raw["model"]
    renames = {"beta": {"vae": "kl_weight", "cvae": "kl_weight", "vqvae": "commitment"}}
    renames["latent_dim"] = {"vqvae": "code_dim"}
    for k, v in raw.items():
        name = renames.get(k, {}).get(kind, k)
        if name in settings:
            assert settings[name] == v, k
    assert cfg.data.shape == (1, 28, 28) or cfg.data.shape == (1, 8, 8)


def test_older_version_1_files_get_the_values_of_their_time():
    raw = json.loads((FIXTURES / "v1" / "vqvae" / "config.json").read_text())
    # added to the config one by one
    for k in ("fine_blocks", "norm", "act", "adam_beta2", "res_blocks"):
        raw.pop(k)
    cfg = Config.from_dict(raw)
    got = (cfg.model.fine_blocks, cfg.model.norm, cfg.model.act, cfg.model.res_blocks)
    assert got == (0, "none", "relu", 1) and cfg.train.adam_beta2 == 0.999
    assert migrate({})["kind"] == V1_VALUES["model"] == "ae"


def test_a_newer_or_broken_version_is_refused_in_one_line():
    raw = make_config("ae").to_dict()
    with pytest.raises(ConfigError, match="newer latentzoo"):
        Config.from_dict({**raw, "config_version": CONFIG_VERSION + 1})
    with pytest.raises(ConfigError, match="config_version must be a whole number"):
        Config.from_dict({**raw, "config_version": "two"})
    train = {k: v for k, v in raw["train"].items() if k != "lr"}
    with pytest.raises(ConfigError, match="train keys missing: lr"):
        Config.from_dict({**raw, "train": train})
    with pytest.raises(ConfigError, match="unknown model keys: codebook_size"):
        Config.from_dict({**raw, "model": {**raw["model"], "codebook_size": 8}})


def flat_v5(kind: str) -> dict:
    """A config.json as version 5 wrote it (from the v5 fixture of that kind)."""
    return json.loads((FIXTURES / "v5" / kind / "config.json").read_text())


def test_version_3_files_trained_in_fp32():
    raw = flat_v5("vqvae")
    raw.pop("precision")
    cfg = Config.from_dict({**raw, "config_version": 3})
    assert (cfg.train.precision, cfg.config_version) == ("fp32", CONFIG_VERSION)


def test_version_4_files_have_the_tapered_mlp():
    raw = flat_v5("vae")
    raw.pop("hidden2")
    cfg = Config.from_dict({**raw, "config_version": 4})
    assert (cfg.model.hidden2, cfg.config_version) == (0, CONFIG_VERSION)
