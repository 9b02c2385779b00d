"""The bench's table writer: every section, the anchors beside our numbers, quick mode flagged."""

import pytest

from latentzoo.bench import ANCHORS, BUDGETS, FLOOR, markdown


def fake_results(mode="quick"):
    rec = {"mse_per_pixel": 0.01, "mse_per_image": 7.84, "psnr": 21.0, "ssim": 0.9}
    return {
        "info": {
            "mode": mode,
            "budget": BUDGETS[mode],
            "machine": "x86_64, 2 cpus",
            "torch": "2.13.0",
            "commit": "abc1234",
            "wall_seconds": 12.0,
            "device": "cpu",
        },
        "likelihood": {
            "vae-conv": {
                "nll": 91.5,
                "neg_elbo": 95.25,
                "k": 100,
                "n_images": 100,
                "train_seconds": 60,
            },
            "iwae-burda": {
                "nll": 90.25,
                "neg_elbo": 96.0,
                "k": 100,
                "n_images": 10000,
                "train_seconds": 3000,
            },
        },
        "reconstruction": {"ae": rec, "vqvae": rec},
        "samples": {
            "ae": {
                "sample_mnist_fid": 3.5,
                "sample_class_entropy": 0.2,
                "sample_class_diversity": 2.2,
                "sample_digits_covered": 10,
                "classifier_test_accuracy": 0.991,
            },
            "vqvae": {
                "sample_mnist_fid": 80.0,
                "digit_accuracy": 0.99,
                "digit_accuracy_min": 0.97,
                "asked_mnist_fid": 10.75,
                "asked_class_entropy": 0.028,
            },
            FLOOR: {
                "sample_mnist_fid": 0.75,
                "sample_class_entropy": 0.05,
                "sample_class_diversity": 2.3,
                "sample_digits_covered": 10,
            },
        },
        "features": {"raw pixels (784)": {"linear_probe": 0.9, "knn": 0.95}},
        "features_protocol": "train on 2000",
        "anomaly": {
            "0": {"ae_recon": 99.0, "vae_neg_elbo": 98.0, "ensemble": 99.25},
            "1": {"ae_recon": 99.5, "vae_neg_elbo": 99.9, "ensemble": 99.75},
        },
        "foreign": {"letters": {"ae_recon": 86.61, "vae_neg_elbo": 89.6, "ensemble": 95.54}},
        "foreign_protocol": "800 images of each set",
        "denoising": {
            "gaussian:0.5": {
                "noisy": 9.4,
                "dae": 20.1,
                "median_3x3": 14.0,
                "gaussian_blur": 15.0,
                "bm3d": None,
            }
        },
        "denoising_protocol": "first 2,000",
        "denoising_unseen": {
            "JPEG quality 10": {
                "noisy": 23.1,
                "dae": 25.0,
                "median_3x3": 21.08,
                "gaussian_blur": 18.0,
            }
        },
        "codes": {
            "codes_used": 512,
            "grid": [7, 7],
            "n_codes": 512,
            "dimensions": 784,
            "codebook_usage": 1.0,
            "perplexity": 380.0,
            "psnr": 27.0,
            "uniform_bits_per_image": 441.0,
            "prior_bits_per_image": 300.0,
            "prior_bits_per_image_given_label": 295.0,
        },
    }


def test_markdown_has_every_table_with_anchors():
    md = markdown(fake_results())
    for heading in (
        "Likelihood",
        "Reconstruction",
        "Sample quality",
        "Features",
        "Anomaly detection",
        "Out-of-distribution",
        "Denoising",
        "Discrete codes",
    ):
        assert f"## {heading}" in md
    assert (
        "| latentzoo IWAE k=2, Burda's network, 1 epochs | 90.25 | "
        "96.00 | k=100, 10,000 test images | 50 min |" in md
    )
    assert (
        "| latentzoo VAE, default conv network, 1 epochs | 91.50 | "
        "95.25 | k=100, 100 test images | 1 min |" in md
    )
    assert (
        "91.50" in md
        and "84.78" in md
        and "86.76" in md
        and "85.33" in md
        and "78.01" in md
        and "89.78" in md
    )
    assert "33.37" in md and "47.2" in md and "1.29" in md
    # our means (99.25, 98.95) and the published Deep SVDD (98.85) and DCAE (97.95) means over
    # digits 0 and 1
    assert "| mean (2 classes) | 99.2 | 99.0 | 99.5 | 98.8 | 97.9 |" in md
    assert "Quick mode" in md and "n/a" in md and "0.383" in md  # 300 bits / 784
    assert "Quick mode" not in markdown(fake_results("full"))
    assert (
        "each model's default" in markdown(fake_results("full"))
        and "each model's default" not in md
    )
    assert "| 10.75, 0.028 |" in md
    assert (
        f"| {FLOOR} | 0.75 |" in md and "| JPEG quality 10 | 23.10 | 25.00 | 21.08 | 18.00 |" in md
    )
    assert "| letters | 86.6 | 89.6 | 95.5 |" in md
    assert len(ANCHORS["anomaly_deep_svdd"]) == len(ANCHORS["anomaly_cae"]) == 10
    assert "shortfall" not in md  # results with two of the four members cannot tell


def test_markdown_gives_every_member_and_the_ensembles_shortfall():
    res = fake_results()
    four = dict(ae_recon=90.0, ae_code=93.5, vae_neg_elbo=80.0, complexity_bits=40.0)
    res["anomaly"] = {"0": {**four, "ensemble": 92.0}, "1": {**four, "ensemble": 94.0}}
    res["foreign"] = {"letters": {**four, "ensemble": 93.25}}
    md = markdown(res)
    assert "| 0 | 90.0 | 93.5 | 80.0 | 40.0 | 92.0 | 98.0 | 97.6 |" in md
    assert "AE code -log density" in md and "PNG bits" in md
    assert "largest shortfall below its best member: 1.5 points (class 0)" in md
    assert "largest shortfall below its best member: 0.2 points (letters)" in md


def test_the_quick_bench_trains_on_the_limit_its_configs_record(
    small_splits, tmp_path, monkeypatch
):
    """The bench hands train() the full splits; a run's recorded n_train is its config's limit."""
    from latentzoo import bench
    from latentzoo.bench import run as bench_run
    from latentzoo.runs import read_config, read_metrics

    monkeypatch.setattr(bench_run, "load_dataset", lambda *a, **k: small_splits)
    monkeypatch.setitem(bench.BUDGETS["quick"], "limit", 300)
    run, model = bench.Bench(tmp_path, quick=True, log=lambda m: None).model(
        "ae", "ae", backbone="mlp", epochs=1
    )
    n_train = read_metrics(run)["n_train"]
    assert n_train == read_config(run).data.limit == 300 < len(small_splits.train)
    assert (
        bench.Bench(tmp_path, quick=True, log=lambda m: None).model(
            "ae", "ae", backbone="mlp", epochs=1
        )[0]
        == run
    )


def test_the_bench_continues_a_run_it_stopped_midway(small_splits, tmp_path, monkeypatch):
    """A bench stopped during a training picks the run up at its last checkpoint next time; a run
    of another config in its place is refused."""
    from latentzoo import bench
    from latentzoo.bench import run as bench_run
    from latentzoo.errors import RunError
    from latentzoo.runs import HISTORY, METRICS

    monkeypatch.setattr(bench_run, "load_dataset", lambda *a, **k: small_splits)
    monkeypatch.setitem(bench.BUDGETS["quick"], "limit", 300)
    real, logs = bench_run.train_model, []

    def stopped_after_one_epoch(*args, **kw):
        def stop(model, row):
            raise KeyboardInterrupt

        return real(*args, after_epoch=stop, **kw)

    monkeypatch.setattr(bench_run, "train_model", stopped_after_one_epoch)
    b = bench.Bench(tmp_path, quick=True, log=logs.append)
    with pytest.raises(KeyboardInterrupt):
        b.model("ae", "ae", backbone="mlp", epochs=2)
    run = tmp_path / "runs-quick" / "ae"
    assert not (run / METRICS).exists()
    monkeypatch.setattr(bench_run, "train_model", real)
    assert b.model("ae", "ae", backbone="mlp", epochs=2)[0] == run
    assert (run / METRICS).is_file() and "bench: continuing ae" in " ".join(logs)
    assert len((run / HISTORY).read_text().splitlines()) == 3  # a header and two epochs
    with pytest.raises(RunError, match="holds no run of this config"):
        b.model("ae", "ae", backbone="mlp", epochs=3)


def test_a_runs_likelihood_is_measured_once_for_its_weights_k_and_images(
    small_splits, tmp_path, monkeypatch
):
    """run_likelihood keeps its figures in the run folder and reads them back only while the
    weights, k and the number of images are the ones measured."""
    from latentzoo import bench
    from latentzoo.bench import rows as bench_rows
    from latentzoo.bench import run as bench_run
    from latentzoo.runs import BEST, LIKELIHOOD

    monkeypatch.setattr(bench_run, "load_dataset", lambda *a, **k: small_splits)
    run, model = bench.Bench(tmp_path, quick=True, log=lambda m: None).model(
        "v", "vae", backbone="mlp", binarize=True, epochs=1
    )
    first = bench.run_likelihood(run, model, small_splits.test, k=8, n_images=4)
    assert (
        (run / LIKELIHOOD).is_file()
        and first["n_images"] == 4
        and first["k"] == 8
        and "train_seconds" in first
    )
    measured = []
    real = bench_rows.vae_likelihood
    monkeypatch.setattr(
        bench_rows, "vae_likelihood", lambda *a, **kw: measured.append(kw) or real(*a, **kw)
    )
    assert (
        bench.run_likelihood(run, model, small_splits.test, k=8, n_images=4) == first
        and not measured
    )
    bench.run_likelihood(run, model, small_splits.test, k=16, n_images=4)
    bench.run_likelihood(run, model, small_splits.test, k=8, n_images=5)
    assert [(m["k"], m["n_images"]) for m in measured] == [(16, 4), (8, 5)]
    (run / BEST).write_bytes((run / BEST).read_bytes() + b" ")  # other weights, same k and images
    bench.run_likelihood(run, model, small_splits.test, k=8, n_images=4)
    assert len(measured) == 3


def test_the_bench_on_other_labelled_images_measures_them_both_ways_with_mnist(
    small_splits, tmp_path, monkeypatch
):
    """`latentzoo bench --data DIR`: a class of the data per one-class row, MNIST's test digits
    against this data's models and this data's images against MNIST's, no MNIST-only table."""
    import json

    from latentzoo import bench, examples
    from latentzoo.bench import run as bench_run
    from latentzoo.cli import main

    monkeypatch.setattr(bench_run, "load_dataset", lambda *a, **k: small_splits)
    monkeypatch.setitem(bench.BUDGETS["quick"], "limit", 300)
    monkeypatch.setitem(bench.BUDGETS["quick"], "samples", 100)
    data = examples.write_idx_folder(tmp_path / "strokes", n_train=400, n_test=100)
    assert main(["bench", "--quick", "--data", str(data), "--out", str(tmp_path / "out")]) == 0
    res = json.loads((tmp_path / "out" / "results.json").read_text())
    assert res["data"]["name"] == "strokes" and res["data"]["source"] == str(data.resolve())
    assert list(res["anomaly"]) == ["0", "1"] and res["anomaly_anchors"] == {}
    assert {"MNIST test digits", "strokes test images (MNIST's models)"} <= set(res["foreign"])
    assert not {"likelihood", "denoising", "denoising_unseen"} & set(res)
    md = (tmp_path / "out" / "RESULTS.md").read_text()
    assert md.startswith("# latentzoo benchmark on strokes (quick)") and "data-FID" in md
    assert "| mean (2 classes) |" in md and "Likelihood" not in md and "Bit-Swap" not in md
    fids = [res["samples"][name]["sample_data_fid"] for name in ("ae", bench.FLOOR_OWN)]
    assert min(fids) > 0
    assert "vae-mlp-long (32)" in res["features"]
    runs = {p.name for p in (tmp_path / "out" / "runs-quick").iterdir()}
    assert {"mnist-ae", "mnist-vae-mlp", "oneclass-ae-1", "vae-mlp-long"} <= runs
    # a second bench reuses every run (the data's fingerprint is in each config)
    assert main(["bench", "--quick", "--data", str(data), "--out", str(tmp_path / "out")]) == 0


def test_the_bench_measures_the_tables_it_is_told_and_keeps_the_others(
    small_splits, tmp_path, monkeypatch, capsys
):
    """`latentzoo bench --tables features`: that table measured (and only the models it needs
    trained), every other one kept from the folder's results.json with the commit that measured
    it; nothing to keep, another budget or an unknown table: one line, exit 2."""
    import json

    from latentzoo import bench
    from latentzoo.bench import run as bench_run
    from latentzoo.bench.tables import commit
    from latentzoo.cli import main

    monkeypatch.setattr(bench_run, "load_dataset", lambda *a, **k: small_splits)
    monkeypatch.setitem(bench.BUDGETS["quick"], "limit", 300)
    out = tmp_path / "out"
    args = ["bench", "--quick", "--out", str(out), "--tables"]
    assert main([*args, "features"]) == 2
    assert "run the whole bench first" in capsys.readouterr().err
    out.mkdir()
    earlier = fake_results()
    for key in ("grid", "n_codes", "dimensions"):  # a file from before the codes table said these
        del earlier["codes"][key]
    (out / "results.json").write_text(json.dumps(earlier))
    assert main([*args, "colour"]) == 2
    assert "unknown table 'colour'" in capsys.readouterr().err
    assert main([*args, "features"]) == 0
    res = json.loads((out / "results.json").read_text())
    for key in ("likelihood", "reconstruction", "anomaly", "foreign", "denoising", "codes"):
        assert res[key] == earlier[key]
    assert "ae (32)" in res["features"] and "ae (32)" not in earlier["features"]
    assert res["measured"]["likelihood"] == {"commit": "abc1234"}
    assert res["measured"]["features"]["commit"] == commit() and res["info"]["tables"] == [
        "features"
    ]
    assert {p.name for p in (out / "runs-quick").iterdir()} == {"ae", "vae-mlp-bin"}
    md = (out / "RESULTS.md").read_text()
    assert "`latentzoo bench --quick --tables features`" in md
    assert "likelihood (commit abc1234)" in md and "features (commit" not in md
    assert "## Discrete codes: VQ-VAE, 7x7 grid, K=512" in md
    earlier["info"]["budget"] = bench.BUDGETS["full"]
    (out / "results.json").write_text(json.dumps(earlier))
    assert main([*args, "features"]) == 2
    assert "another budget" in capsys.readouterr().err
