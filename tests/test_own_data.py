"""The user's own images: every model kind trained on a folder of PNG files, a 32x32 colour .npy and
an IDX folder (all written by the tests from scikit-learn's images); encode, reconstruct, denoise
and score on those files; the false-positive rate of the score's threshold; bad input in one
line."""

import csv
import json

import numpy as np
import pytest
import torch
from conftest import KINDS, ONE_PER_MODEL, kind_config
from PIL import Image

from latentzoo import examples, jobs
from latentzoo.cli import main
from latentzoo.eval import Ensemble, ensemble_terms
from latentzoo.inputs import idx_bytes
from latentzoo.runs import load, run_data
from latentzoo.sources import load_source
from latentzoo.training import train_model

quiet = dict(progress=False, log=lambda m: None)
SMALL = dict(epochs=1, batch_size=32, channels=8)


@pytest.fixture(scope="session")
def sources(tmp_path_factory):
    root = tmp_path_factory.mktemp("own")
    return {
        # 28x28 grey, labels from subfolders
        "png": examples.write_digit_folder(root / "digits", n=150),
        "npy": examples.write_photo_tiles(root / "photos.npy", n=120),  # 32x32 colour, unlabelled
        # 28x28 grey, MNIST's layout
        "idx": examples.write_idx_folder(root / "idx", n_train=150, n_test=50),
    }


def job_input(source: str, path):
    """A file or folder of that source's kind to run the jobs on, and the output names it gives."""
    if source == "png":
        return path / "3", sorted(p.stem + ".png" for p in (path / "3").iterdir())
    if source == "npy":
        return path, [path.name]
    return path / "t10k-images-idx3-ubyte", ["t10k-images-idx3-ubyte"]


@pytest.mark.parametrize("source", ["png", "npy", "idx"])
@pytest.mark.parametrize("name", ONE_PER_MODEL)
def test_every_kind_trains_on_each_source_and_the_jobs_run_on_its_files(
    name, source, sources, tmp_path, capsys
):
    widths = {} if KINDS[name]["model"] == "vqvae" else {"hidden": 64}  # conv only
    cfg = kind_config(name, source=str(sources[source]), **SMALL, **widths)
    # unlabelled images: a CVAE has nothing to condition on
    if source == "npy" and name.startswith("cvae"):
        with pytest.raises(Exception, match="conditioned on labels"):
            train_model(cfg, tmp_path / "run", **quiet)
        return
    run = train_model(cfg, tmp_path / "run", **quiet)
    saved = json.loads((run / "config.json").read_text())
    shape = (3, 32, 32) if source == "npy" else (1, 28, 28)
    assert tuple(saved["data"]["shape"]) == shape
    assert saved["data"]["dataset"] == "files" and len(saved["data"]["data_hash"]) == 64
    assert saved["data"]["n_classes"] == (0 if source == "npy" else 10)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["n_test"] == (
        50 if source == "idx" else round(0.1 * (150 if source == "png" else 120))
    )

    given, names = job_input(source, sources[source])
    n = 120 if source == "npy" else 50 if source == "idx" else len(names)
    assert main(["encode", str(run), str(given), "--out", str(tmp_path / "f.npy")]) == 0
    feats = np.load(tmp_path / "f.npy")
    model = load(run)
    expected = (
        (n, shape[1] // 4, shape[2] // 4) if model.has_codes else (n, model.cfg.model.latent_dim)
    )
    assert feats.shape == expected
    assert len((tmp_path / "f.names.txt").read_text().splitlines()) == n
    for job, extra in (
        ("reconstruct", []),
        ("denoise", ["--noise", "gaussian:0.2"] if name.startswith("dae") else []),
    ):
        out = tmp_path / job
        assert main([job, str(run), str(given), "--out", str(out), *extra]) == 0
        assert sorted(p.name for p in out.iterdir()) == names
    if source == "png":
        pic = Image.open(tmp_path / "reconstruct" / names[0])
        assert pic.size == (28, 28) and pic.mode == "L"
    elif source == "npy":
        assert np.load(tmp_path / "denoise" / names[0]).shape == (120, 32, 32, 3)
    else:
        assert (tmp_path / "denoise" / names[0]).read_bytes()[:4] == b"\x00\x00\x08\x03"
    assert main(["score", str(run), str(given), "--out", str(tmp_path / "s.csv")]) == 0
    rows = list(csv.DictReader((tmp_path / "s.csv").open()))
    assert len(rows) == n and set(rows[0]) == {"name", "score", "threshold", "flag"}
    assert all(np.isfinite(float(r["score"])) and r["flag"] in ("0", "1") for r in rows)
    capsys.readouterr()


@pytest.mark.parametrize("source", ["png", "npy", "idx"])
def test_eval_and_the_report_work_for_every_source(source, sources, tmp_path, capsys):
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "vae",
                "--data",
                str(sources[source]),
                "--epochs",
                "1",
                "--channels",
                "8",
                "--out",
                str(run),
                "--no-progress",
            ]
        )
        == 0
    )
    page = (run / "report.html").read_text()
    assert "files" in page and "data_hash" in page and page.count("<img") >= 5
    assert main(["eval", str(run), "--json", "--samples", "200"]) == 0
    out, err = capsys.readouterr()
    metrics = json.loads(out[out.index("{") :])
    # MNIST's classifier: MNIST only
    assert metrics["dataset"] == "files" and "sample_mnist_fid" not in metrics
    if source == "npy":  # unlabelled: no classifier to measure samples with
        assert (
            "notice: sample metrics" in err
            and "no labels" in err
            and "sample_data_fid" not in metrics
        )
    else:  # labelled: a classifier trained on this data, cached under its fingerprint
        assert metrics["sample_data_fid"] > 0 and metrics["sample_n_samples"] == 200
        assert list((tmp_path / "cache").glob("classifier-v2-*/model.safetensors"))


def test_the_score_flags_about_the_chosen_rate_of_held_out_normal_images(tmp_path, capsys):
    images, labels = examples.digits_28()
    np.savez(tmp_path / "digits.npz", images=images, labels=labels)
    cfg = kind_config(
        "ae-mlp",
        source=str(tmp_path / "digits.npz"),
        epochs=3,
        batch_size=32,
        val_fraction=0.3,
        test_fraction=0.2,
    )
    run = train_model(cfg, tmp_path / "run", **quiet)
    test = run_data(load(run).cfg).test  # held out: never seen in training or calibration
    np.save(tmp_path / "held-out.npy", test.images[:, 0].numpy())
    np.save(tmp_path / "photos.npy", examples.photo_tiles()[:200])
    assert (
        main(
            [
                "score",
                str(run),
                str(tmp_path / "held-out.npy"),
                "--fpr",
                "0.1",
                "--out",
                str(tmp_path / "a.csv"),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "score",
                str(run),
                str(tmp_path / "photos.npy"),
                "--fpr",
                "0.1",
                "--resize",
                "--convert",
                "--out",
                str(tmp_path / "b.csv"),
            ]
        )
        == 0
    )
    rate = lambda f: np.mean([r["flag"] == "1" for r in csv.DictReader((tmp_path / f).open())])  # noqa: E731
    n, n_val = len(test), len(run_data(load(run).cfg).val)
    # about 10 %: within three standard deviations of the two samples' binomial noise
    assert rate("a.csv") <= 0.1 + 3 * (0.1 * 0.9 * (1 / n + 1 / n_val)) ** 0.5, (
        rate("a.csv"),
        n,
        n_val,
    )
    assert rate("b.csv") >= 0.9  # photographs are not digits
    model = load(run)
    threshold = jobs.calibrate(model, run_data(model.cfg).val, 0.1)
    assert jobs.false_positive_rate(model, run_data(model.cfg).val, threshold) <= 0.1


def test_splits_are_carved_by_the_seed_and_recorded(sources):
    a = load_source(sources["npy"], split_seed=0)
    b = load_source(sources["npy"], split_seed=0)
    c = load_source(sources["npy"], split_seed=1)
    assert torch.equal(a.test.images, b.test.images) and not torch.equal(
        a.test.images, c.test.images
    )
    assert (len(a.train), len(a.val), len(a.test)) == (
        97,
        11,
        12,
    ) and a.fingerprint == c.fingerprint
    assert load_source(sources["png"]).classes == tuple(str(d) for d in range(10))


def write_png(path, size, mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, 128).save(path)


def bad_sources(tmp_path):
    (tmp_path / "empty").mkdir()
    write_png(tmp_path / "mixed" / "a.png", (28, 28))
    write_png(tmp_path / "mixed" / "b.png", (32, 32))
    write_png(tmp_path / "mixed" / "c.png", (28, 28), "RGB")
    write_png(tmp_path / "modes" / "a.png", (28, 28))
    write_png(tmp_path / "modes" / "b.png", (28, 28), "RGB")
    write_png(tmp_path / "corrupt" / "a.png", (28, 28))
    (tmp_path / "corrupt" / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    np.save(tmp_path / "int64.npy", np.zeros((10, 8, 8), dtype=np.int64))
    np.save(tmp_path / "rank5.npy", np.zeros((10, 8, 8, 1, 1), dtype=np.uint8))
    np.save(tmp_path / "nan.npy", np.full((10, 8, 8), np.nan, dtype=np.float32))
    np.save(tmp_path / "range.npy", np.full((10, 8, 8), 2.0, dtype=np.float32))
    np.savez(
        tmp_path / "labels.npz", images=np.zeros((10, 8, 8), np.uint8), labels=np.zeros(9, np.int64)
    )
    (tmp_path / "idx").mkdir()
    (tmp_path / "idx" / "train-images-idx3-ubyte").write_bytes(
        idx_bytes(np.zeros((10, 8, 8), np.uint8))
    )
    (tmp_path / "idx" / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(9, np.uint8)))
    write_png(tmp_path / "odd" / "a.png", (30, 30))
    write_png(tmp_path / "odd" / "b.png", (30, 30))
    write_png(tmp_path / "odd" / "c.png", (30, 30))


@pytest.mark.parametrize(
    "data, words",
    [
        ("empty", "no image files"),
        ("missing", "no such file or folder"),
        ("mixed", "different sizes; pass --image-size HxW"),
        ("modes", "mixed colour modes; pass --colour"),
        ("corrupt", "b.png: not an image Pillow can read"),
        ("int64.npy", "dtype int64"),
        ("rank5.npy", "expected images (N, H, W)"),
        ("nan.npy", "NaN"),
        ("range.npy", "must lie in [0, 1]"),
        ("labels.npz", "10 images but 9 labels"),
        ("idx", "holds 10 images but"),
        ("odd", "divisible by 4, and these images are 30x30: pass --image-size HxW"),
    ],
)
def test_bad_data_gets_one_line_and_exit_2(data, words, tmp_path, capsys):
    bad_sources(tmp_path)
    code = main(
        [
            "train",
            "ae",
            "--data",
            str(tmp_path / data),
            "--epochs",
            "1",
            "--out",
            str(tmp_path / "run"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and words in err and "Traceback" not in err, err
    if data != "odd":  # the size rule names the sizes, not the source
        assert str(tmp_path / data) in err, err
    assert not (tmp_path / "run").exists()


@pytest.mark.cases(3)
def test_options_fix_sizes_and_modes_and_inputs_must_fit_the_run(tmp_path, capsys):
    bad_sources(tmp_path)
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "ae",
                "--backbone",
                "mlp",
                "--hidden",
                "16",
                "--data",
                str(tmp_path / "mixed"),
                "--image-size",
                "28x28",
                "--colour",
                "grey",
                "--epochs",
                "1",
                "--out",
                str(run),
            ]
        )
        == 0
    )
    assert json.loads((run / "config.json").read_text())["data"]["image_size"] == "28x28"
    write_png(tmp_path / "in" / "big.png", (40, 32), "RGB")
    capsys.readouterr()
    assert main(["encode", str(run), str(tmp_path / "in"), "--out", str(tmp_path / "f.npy")]) == 2
    err = capsys.readouterr().err
    assert "big.png is 32x40 rgb; the run takes 28x28 grey images (1x28x28): pass --convert" in err
    assert (
        main(
            [
                "encode",
                str(run),
                str(tmp_path / "in"),
                "--convert",
                "--out",
                str(tmp_path / "f.npy"),
            ]
        )
        == 2
    )
    assert "pass --resize" in capsys.readouterr().err
    assert (
        main(
            [
                "encode",
                str(run),
                str(tmp_path / "in"),
                "--convert",
                "--resize",
                "--out",
                str(tmp_path / "f.npy"),
            ]
        )
        == 0
    )
    assert np.load(tmp_path / "f.npy").shape == (1, 32)


def test_data_that_changed_since_training_is_refused(tmp_path, capsys):
    arr = examples.photo_tiles()[:40]
    np.save(tmp_path / "p.npy", arr)
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "ae",
                "--backbone",
                "mlp",
                "--hidden",
                "16",
                "--data",
                str(tmp_path / "p.npy"),
                "--epochs",
                "1",
                "--out",
                str(run),
            ]
        )
        == 0
    )
    arr[0, 0, 0, 0] ^= 1
    np.save(tmp_path / "p.npy", arr)
    capsys.readouterr()
    assert main(["eval", str(run)]) == 2
    assert "the data changed since the run was trained" in capsys.readouterr().err


def test_score_with_an_ae_and_a_vae_is_the_validated_ensemble(tmp_path, capsys):
    images, labels = examples.digits_28()
    np.savez(tmp_path / "digits.npz", images=images, labels=labels)
    data = dict(
        source=str(tmp_path / "digits.npz"),
        epochs=3,
        batch_size=32,
        val_fraction=0.3,
        test_fraction=0.2,
    )
    ae_run = train_model(kind_config("ae-mlp", **data), tmp_path / "ae", **quiet)
    vae_run = train_model(kind_config("vae-mlp-mse", **data), tmp_path / "vae", **quiet)
    ae, vae = load(ae_run), load(vae_run)
    splits = run_data(ae.cfg)
    np.save(tmp_path / "held-out.npy", splits.test.images[:, 0].numpy())
    np.save(tmp_path / "photos.npy", examples.photo_tiles()[:200])
    # either order of the two runs gives the same ensemble
    for i, (a, b) in enumerate(((ae_run, vae_run), (vae_run, ae_run))):
        assert (
            main(
                [
                    "score",
                    str(a),
                    str(tmp_path / "held-out.npy"),
                    "--with",
                    str(b),
                    "--fpr",
                    "0.1",
                    "--out",
                    str(tmp_path / f"held-{i}.csv"),
                ]
            )
            == 0
        )
    assert "the ensemble's score" in capsys.readouterr().out
    rows = [list(csv.DictReader((tmp_path / f"held-{i}.csv").open())) for i in range(2)]
    assert rows[0] == rows[1]
    # the scores are the Ensemble of the four views, fitted on the validation images
    x, val_x = splits.test.tensors()[0], splits.val.tensors()[0]
    expected = jobs.scorer(ae, vae, splits.val)(x)
    span = (float(val_x.min()), float(val_x.max()))
    ensemble = Ensemble(ensemble_terms(ae, vae, val_x, span))(ensemble_terms(ae, vae, x, span))
    assert torch.allclose(expected, ensemble)
    assert np.allclose([float(r["score"]) for r in rows[0]], ensemble.numpy(), atol=1e-5)
    rate = lambda f: np.mean([r["flag"] == "1" for r in csv.DictReader((tmp_path / f).open())])  # noqa: E731
    n, n_val = len(splits.test), len(splits.val)
    assert rate("held-0.csv") <= 0.1 + 3 * (0.1 * 0.9 * (1 / n + 1 / n_val)) ** 0.5
    assert (
        main(
            [
                "score",
                str(ae_run),
                str(tmp_path / "photos.npy"),
                "--with",
                str(vae_run),
                "--fpr",
                "0.1",
                "--resize",
                "--convert",
                "--out",
                str(tmp_path / "photos.csv"),
            ]
        )
        == 0
    )
    assert rate("photos.csv") >= 0.9  # photographs are not digits
    # two AEs, or runs on different data: a one-line error, exit 2, no file
    assert (
        main(
            [
                "score",
                str(ae_run),
                str(tmp_path / "held-out.npy"),
                "--with",
                str(ae_run),
                "--out",
                str(tmp_path / "x.csv"),
            ]
        )
        == 2
    )
    assert "an AE (or DAE) and a VAE" in capsys.readouterr().err
    # it needs labels the images lack
    cvae = train_model(kind_config("cvae-mlp", **data), tmp_path / "cvae", **quiet)
    assert (
        main(
            [
                "score",
                str(ae_run),
                str(tmp_path / "held-out.npy"),
                "--with",
                str(cvae),
                "--out",
                str(tmp_path / "x.csv"),
            ]
        )
        == 2
    )
    assert "an AE (or DAE) and a VAE" in capsys.readouterr().err
    other = train_model(
        kind_config("vae-mlp-mse", **{**data, "split_seed": 1}), tmp_path / "other", **quiet
    )
    assert (
        main(
            [
                "score",
                str(ae_run),
                str(tmp_path / "held-out.npy"),
                "--with",
                str(other),
                "--out",
                str(tmp_path / "x.csv"),
            ]
        )
        == 2
    )
    assert (
        "trained on different data" in capsys.readouterr().err and not (tmp_path / "x.csv").exists()
    )
