"""Run folders written before the layered package (tests/fixtures/v1, by make_v1_runs.py at commit
1c21757) load with today's code and give the numbers that code computed from them, exactly."""

import json
from pathlib import Path

import pytest
import torch

import latentzoo
from latentzoo.data import load_dataset
from latentzoo.eval import evaluate

FIXTURES = Path(__file__).parent / "fixtures" / "v1"


@pytest.mark.parametrize("kind", ["ae", "dae", "vae", "cvae", "vqvae"])
def test_old_run_folders_evaluate_to_the_same_numbers(kind):
    run = FIXTURES / kind
    expected = json.loads((run / "expected.json").read_text())
    model = latentzoo.load(run)
    test = load_dataset("digits").test
    assert evaluate(model, test) == expected["evaluate"]
    x, y = test.tensors(slice(0, 16))
    with torch.no_grad():
        assert float(model.reconstruct(x, y).double().sum()) == expected["recon_sum"]
        yy = torch.arange(8) % 10 if model.conditional else None
        assert (
            float(model.sample(8, y=yy, generator=torch.Generator().manual_seed(0)).double().sum())
            == expected["sample_sum"]
        )
    if model.has_codes:
        # composed with its prior
        assert model.encode(x).tolist() == expected["codes"] and model.guided
