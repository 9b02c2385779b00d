"""The trainer and the loop it shares with the prior and the classifier: resume equivalence, the NaN
guard, run-folder safety, seeding, the config's limit."""

import json
from pathlib import Path

import pytest
import torch

import latentzoo
from latentzoo.config import Config, make_config
from latentzoo.errors import RunError, TrainingDiverged
from latentzoo.files import load_tensors, read_csv
from latentzoo.training import train_model

quiet = dict(progress=False, log=lambda m: None)
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("model", ["vae", "vqvae"])
def test_resume_continues_exactly(model, small_splits, tmp_path):
    kw = dict(batch_size=64, backbone="mlp") if model == "vae" else dict(batch_size=64)
    straight = train_model(
        make_config(model, epochs=2, **kw), tmp_path / "a", splits=small_splits, **quiet
    )

    def interrupt_after_epoch_1(msg):
        if msg.startswith("epoch 1/"):
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C right after epoch 1 was saved

    with pytest.raises(KeyboardInterrupt):
        train_model(
            make_config(model, epochs=2, **kw),
            tmp_path / "b",
            splits=small_splits,
            progress=False,
            log=interrupt_after_epoch_1,
        )
    assert load_tensors(tmp_path / "b" / "last.safetensors")[1]["epoch"] == "1"
    resumed = train_model(
        make_config(model, epochs=2, **kw),
        tmp_path / "b",
        resume=True,
        splits=small_splits,
        **quiet,
    )
    a, _ = load_tensors(straight / "last.safetensors")
    b, meta = load_tensors(resumed / "last.safetensors")
    assert meta["epoch"] == "2"
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    ha, hb = read_csv(straight / "history.csv"), read_csv(resumed / "history.csv")
    assert [r["val_loss"] for r in ha] == [r["val_loss"] for r in hb]
    # the kept checkpoint is the epoch with the lowest validation total (VAE) or reconstruction
    # (VQ-VAE)
    term = "val_recon" if model == "vqvae" else "val_loss"
    assert float(meta["best_val"]) == pytest.approx(min(float(r[term]) for r in ha), abs=1e-5)


def test_nan_loss_stops_without_saving(small_splits, tmp_path, monkeypatch):
    from latentzoo.models import base

    real = base.reconstruction_loss
    calls = {"n": 0}

    def poisoned(out, target, kind):
        calls["n"] += 1
        loss = real(out, target, kind)
        return loss * float("nan") if calls["n"] == 3 else loss

    monkeypatch.setattr(base, "reconstruction_loss", poisoned)
    with pytest.raises(TrainingDiverged, match="loss became nan at epoch 1, step 3"):
        train_model(
            make_config("ae", backbone="mlp", batch_size=64),
            tmp_path / "r",
            splits=small_splits,
            **quiet,
        )
    assert not (tmp_path / "r" / "model.safetensors").exists()
    assert not (tmp_path / "r" / "last.safetensors").exists()


def test_refuses_to_overwrite_and_needs_something_to_resume(small_splits, tmp_path):
    cfg = make_config("ae", backbone="mlp", epochs=1)
    train_model(cfg, tmp_path / "r", splits=small_splits, **quiet)
    with pytest.raises(RunError, match="already holds a run"):
        train_model(cfg, tmp_path / "r", splits=small_splits, **quiet)
    with pytest.raises(RunError, match="nothing to resume"):
        train_model(cfg, tmp_path / "empty", resume=True, splits=small_splits, **quiet)
    assert not list((tmp_path / "r").glob("*.tmp")) and not list((tmp_path / "r").glob(".*tmp"))


def test_seed_fixes_everything(small_splits, tmp_path):
    cfg = make_config("dae", backbone="mlp", epochs=1, seed=5)
    a = train_model(cfg, tmp_path / "a", splits=small_splits, **quiet)
    b = train_model(cfg, tmp_path / "b", splits=small_splits, **quiet)
    ta, _ = load_tensors(a / "model.safetensors")
    tb, _ = load_tensors(b / "model.safetensors")
    assert all(torch.equal(ta[k], tb[k]) for k in ta)
    c = train_model(
        make_config("dae", backbone="mlp", epochs=1, seed=6),
        tmp_path / "c",
        splits=small_splits,
        **quiet,
    )
    tc, _ = load_tensors(c / "model.safetensors")
    assert not torch.equal(ta["encoder.head.weight"], tc["encoder.head.weight"])
    assert latentzoo.load(a).cfg.train.seed == 5


def test_adam_beta2_reaches_the_optimizer_and_old_configs_keep_0_999(small_splits, tmp_path):
    cfg = make_config("ae", backbone="mlp", epochs=1, batch_size=64, adam_beta2=0.5)
    _, meta = load_tensors(
        train_model(cfg, tmp_path / "r", splits=small_splits, **quiet) / "last.safetensors"
    )
    assert json.loads(meta["param_groups"])[0]["betas"] == [0.9, 0.5]
    assert make_config("vqvae").train.adam_beta2 == 0.95
    assert make_config("ae").train.adam_beta2 == 0.999
    old = json.loads((FIXTURES / "v1" / "vqvae" / "config.json").read_text())
    # a v1 config.json written before the option: 0.999, VQ-VAE too
    old.pop("adam_beta2")
    assert Config.from_dict(old).train.adam_beta2 == 0.999
    with pytest.raises(latentzoo.LatentzooError, match="adam_beta2 must be in"):
        make_config("vqvae", adam_beta2=1.0)


def test_vqvae_defaults_to_15_epochs_and_an_explicit_epochs_wins():
    from latentzoo.cli import build_parser

    assert make_config("vqvae").train.epochs == 15 and make_config("ae").train.epochs == 10
    assert (
        make_config("vqvae", epochs=3).train.epochs == 3
        and make_config("vqvae", epochs=None).train.epochs == 15
    )
    # `latentzoo train vqvae` without --epochs hands make_config None, so the model's default
    # applies
    assert build_parser().parse_args(["train", "vqvae", "--out", "x"]).epochs is None
    assert build_parser().parse_args(["train", "vqvae", "--out", "x", "--epochs", "2"]).epochs == 2


def test_a_runs_limit_is_what_it_trains_on(small_splits, tmp_path):
    """The config says what was done: given the full splits, train_model() keeps the first `limit`
    images."""
    run = train_model(
        make_config("ae", backbone="mlp", epochs=1, limit=100),
        tmp_path / "r",
        splits=small_splits,
        **quiet,
    )
    metrics = json.loads((run / "metrics.json").read_text())
    assert (
        metrics["n_train"] == json.loads((run / "config.json").read_text())["data"]["limit"] == 100
    )


def test_the_prior_and_the_classifier_train_in_the_same_loop(monkeypatch, small_splits, tmp_path):
    from latentzoo import loop
    from latentzoo.eval import classifier
    from latentzoo.models import PriorConfig
    from latentzoo.training import train_prior

    seen = []
    real = loop.fit
    monkeypatch.setattr(
        classifier, "fit", lambda *a, **k: seen.append(k["name"]) or real(*a, **{**k, "epochs": 1})
    )
    monkeypatch.setattr(
        classifier, "load_mnist", lambda d=None: (small_splits.train, small_splits.test)
    )
    _, info = classifier.train_classifier(log=lambda m: None)
    assert seen == ["classifier"] and 0 <= info["test_accuracy"] <= 1
    vq = train_model(
        make_config("vqvae", epochs=1, codebook_size=16, limit=256),
        tmp_path / "vq",
        splits=small_splits,
        **quiet,
    )
    import latentzoo.training.prior as prior_module

    monkeypatch.setattr(prior_module, "run_data", lambda *a, **k: small_splits)
    monkeypatch.setattr(
        prior_module, "fit", lambda *a, **k: seen.append(k["name"]) or real(*a, **k)
    )
    train_prior(vq, PriorConfig(epochs=1, d_model=16, n_layers=1, n_heads=2), log=lambda m: None)
    assert seen == ["classifier", "prior"]
    rows = read_csv(vq / "prior_history.csv")
    assert [r["epoch"] for r in rows] == ["1"] and float(rows[0]["val_bits"]) > 0


@pytest.mark.cases(2)
def test_a_collapsed_codebook_is_a_warning_and_a_column(small_splits, tmp_path):
    """The textbook VQ-VAE (no EMA, no k-means, no restarts) collapses onto a few codes; the default
    does not."""
    logs = {}
    for name, kw in {
        "textbook": dict(ema=False, kmeans_init=False, restart_dead=False),
        "default": {},
    }.items():
        logs[name] = []
        run = train_model(
            make_config("vqvae", epochs=1, batch_size=64, **kw),
            tmp_path / name,
            splits=small_splits,
            progress=False,
            log=logs[name].append,
        )
        usage = float(read_csv(run / "history.csv")[0]["val_codebook_usage"])
        logs[name].append(usage)
    assert logs["textbook"][-1] < 0.05 <= logs["default"][-1]
    assert any(
        str(m).startswith("warning: codebook collapse") and "of 512 codes" in m
        for m in logs["textbook"][:-1]
    )
    assert not any("collapse" in str(m) for m in logs["default"])


def test_nan_in_the_input_images_stops_with_the_step_and_keeps_the_last_checkpoint(
    small_splits, tmp_path, monkeypatch
):
    from latentzoo.data import ImageSet

    real = ImageSet.tensors
    calls = {"n": 0}

    def poisoned(self, index=slice(None), device="cpu"):
        x, y = real(self, index, device)
        calls["n"] += 1
        if calls["n"] == 5:  # the fifth training batch holds one NaN pixel
            x[0, 0, 3, 3] = float("nan")
        return x, y

    monkeypatch.setattr(ImageSet, "tensors", poisoned)
    with pytest.raises(TrainingDiverged, match="loss became nan at epoch 1, step 5"):
        train_model(
            make_config("ae", backbone="mlp", batch_size=64),
            tmp_path / "r",
            splits=small_splits,
            checkpoint_every=2,
            **quiet,
        )
    tensors, meta = load_tensors(tmp_path / "r" / "last.safetensors")
    assert meta["step"] == "4" and all(
        torch.isfinite(v).all() for v in tensors.values() if v.is_floating_point()
    )


def test_a_codebook_learned_by_gradients_trains_the_same_twice(small_splits, tmp_path):
    """The textbook codebook's gradient goes through the code lookup; it must not depend on thread
    timing."""
    cfg = make_config(
        "vqvae",
        epochs=1,
        batch_size=64,
        ema=False,
        kmeans_init=False,
        restart_dead=False,
        limit=256,
    )
    a, b = (
        load_tensors(
            train_model(cfg, tmp_path / r, splits=small_splits, **quiet) / "model.safetensors"
        )[0]
        for r in "ab"
    )
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("model", ["ae", "vae", "vqvae"])
def test_bf16_autocast_trains_close_to_fp32_and_keeps_the_codebook_in_fp32(
    model, small_splits, tmp_path, monkeypatch
):
    """--precision bf16: the steps run under bf16 autocast, the codebook distances and EMA updates
    in fp32."""
    from latentzoo.nn.quantizers import VectorQuantizer

    seen = []
    real = VectorQuantizer.forward

    def spy(self, z):
        seen.append((z.dtype, torch.is_autocast_enabled("cpu")))
        return real(self, z)

    monkeypatch.setattr(VectorQuantizer, "forward", spy)
    kw = dict(epochs=1, batch_size=64, limit=256)
    runs = {
        p: train_model(
            make_config(model, precision=p, **kw), tmp_path / p, splits=small_splits, **quiet
        )
        for p in ("fp32", "bf16")
    }
    weights = {p: load_tensors(r / "model.safetensors")[0] for p, r in runs.items()}
    assert all(v.dtype == torch.float32 for v in weights["bf16"].values() if v.is_floating_point())
    # bf16 did run
    assert any(not torch.equal(weights["fp32"][k], weights["bf16"][k]) for k in weights["fp32"])
    mse = {
        p: json.loads((r / "metrics.json").read_text())["mse_per_pixel"] for p, r in runs.items()
    }
    assert mse["bf16"] == pytest.approx(mse["fp32"], rel=0.1)
    assert json.loads((runs["bf16"] / "config.json").read_text())["train"]["precision"] == "bf16"
    if model == "vqvae":
        assert (torch.float32, False) in seen and all(
            d == torch.float32 and not on for d, on in seen
        )


def test_after_epoch_sees_each_epoch_and_stops_training_early(small_splits, tmp_path):
    seen = []

    def stop_after_two(model, row):
        seen.append((row["epoch"], model.training))
        return row["epoch"] == 2

    run = train_model(
        make_config("ae", backbone="mlp", epochs=5),
        tmp_path / "r",
        splits=small_splits,
        **quiet,
        after_epoch=stop_after_two,
    )
    assert [e for e, _ in seen] == [1, 2]
    assert [int(r["epoch"]) for r in read_csv(run / "history.csv")] == [1, 2]
    assert json.loads((run / "metrics.json").read_text())["epochs"] == 2


def test_burdas_mlp_is_two_layers_of_200_with_tanh(small_splits, tmp_path):
    cfg = make_config(
        "vae",
        backbone="mlp",
        hidden=200,
        hidden2=200,
        latent_dim=50,
        act="tanh",
        epochs=1,
        binarize=True,
        iw_samples=5,
    )
    model = latentzoo.load(train_model(cfg, tmp_path / "r", splits=small_splits, **quiet))
    shapes = [tuple(p.shape) for n, p in model.named_parameters() if n.endswith("weight")]
    assert shapes == [(200, 784), (200, 200), (100, 200), (200, 50), (200, 200), (784, 200)]
    assert isinstance(model.encoder.trunk[2], torch.nn.Tanh)
