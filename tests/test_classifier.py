"""The project's MNIST classifier and the numbers built on it, against known answers."""

import math

import pytest
import torch
import torch.nn.functional as F

from latentzoo.eval.classifier import Classifier, accuracy, sample_quality
from latentzoo.eval.metrics import frechet_distance


def test_frechet_distance_known_answers():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(20000, 4, generator=g)
    assert abs(frechet_distance(a, a)) < 1e-6
    shift = torch.tensor([3.0, 0.0, 0.0, 4.0])
    b = torch.randn(20000, 4, generator=g) + shift  # same covariance, mean moved by |shift|^2 = 25
    assert abs(frechet_distance(a, b) - 25.0) < 0.5
    c = torch.randn(20000, 4, generator=g) * 2  # covariance 4I vs I: trace(I + 4I - 2*2I) = 4
    assert abs(frechet_distance(a, c) - 4.0) < 0.3


@pytest.fixture(scope="module")
def small_classifier(small_splits):
    """A classifier fitted to the 512 training images of the small split (seconds, not a minute)."""
    torch.manual_seed(0)
    model = Classifier()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    for _ in range(8):
        for x, y in small_splits.train.batches(
            64, shuffle=True, generator=torch.Generator().manual_seed(0)
        ):
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


def test_classifier_fits_its_own_training_data(small_classifier, small_splits):
    model, data = small_classifier, small_splits.train
    assert accuracy(model, data) > 0.97
    # real digits against themselves: FID 0, confident, all ten digits present
    x, _ = data.tensors()
    q = sample_quality(model, x, x)
    assert abs(q["mnist_fid"]) < 1e-6 and q["digits_covered"] == 10
    assert q["class_diversity"] > 0.95 * math.log(10) and q["class_entropy"] < 0.3
    # blank images: far from real digits, and all given the same class
    blank = sample_quality(model, torch.zeros(200, 1, 28, 28), x)
    assert blank["mnist_fid"] > 10 and blank["digits_covered"] == 1


def test_generation_metrics_of_a_conditional_model(small_classifier, small_splits, monkeypatch):
    from latentzoo.config import make_config
    from latentzoo.eval import evaluation
    from latentzoo.eval.evaluation import generation_metrics
    from latentzoo.models import build_model

    monkeypatch.setattr(
        evaluation, "get_classifier", lambda *a, **k: (small_classifier, {"test_accuracy": 0.5})
    )
    torch.manual_seed(0)
    cvae = build_model(make_config("cvae", backbone="mlp"))
    m = generation_metrics(cvae, small_splits.test, n=100)
    assert m["classifier_test_accuracy"] == 0.5 and m["sample_n_samples"] == 100
    assert m["sample_mnist_fid"] > 0 and 0 <= m["digit_accuracy_min"] <= m["digit_accuracy"] <= 1
    assert (
        m["asked_mnist_fid"] > 0
        and m["asked_mnist_fid"] != m["sample_mnist_fid"]
        and m["asked_class_entropy"] >= 0
    )
    ae = build_model(make_config("ae", backbone="mlp"))
    # no fitted Gaussian: cannot sample
    assert generation_metrics(ae, small_splits.test, n=10) == {}


def test_the_real_data_floor_is_held_out_digits_against_the_test_set(
    small_classifier, small_splits, monkeypatch
):
    from latentzoo.config import make_config
    from latentzoo.eval import evaluation
    from latentzoo.eval.evaluation import generation_metrics, real_data_floor
    from latentzoo.models import build_model

    monkeypatch.setattr(
        evaluation, "get_classifier", lambda *a, **k: (small_classifier, {"test_accuracy": 0.5})
    )
    floor = real_data_floor(small_splits.val, small_splits.test, n=200)
    assert floor["sample_n_samples"] == 200 and floor["sample_digits_covered"] == 10
    torch.manual_seed(0)
    untrained = generation_metrics(
        build_model(make_config("vae", backbone="mlp")), small_splits.test, n=200
    )
    assert 0 < floor["sample_mnist_fid"] < untrained["sample_mnist_fid"] / 10
