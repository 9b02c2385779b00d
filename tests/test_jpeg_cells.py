"""A decoded JPEG recognised by its quantisation: the standard table, the quality estimated from the
pixels, the projection into the input's cells, and `denoise` keeping a photo DAE's output on a JPEG
of a quality it learned (generated textures, saved by Pillow)."""

import pytest
import torch

from latentzoo import jobs, make_config
from latentzoo.examples import texture
from latentzoo.jpeg_cells import (
    STANDARD_LUMA,
    dct_matrix,
    into_cells,
    jpeg_quality,
    luma,
    standard_table,
    to_blocks,
)
from latentzoo.kinds import data_kind
from latentzoo.models import build_model
from latentzoo.noise import parse_noise
from latentzoo.photo_noise import jpeg_round_trip


def photo(seed: int = 0, grey: bool = False) -> torch.Tensor:
    """A generated texture (C, 128, 128) in [0, 1] with fine detail (uniform noise, 8-bit)."""
    x = torch.from_numpy(texture(128, 128, seed).transpose(2, 0, 1).copy()).float() / 255
    g = torch.Generator().manual_seed(seed)
    x = (x + 0.08 * torch.rand(x.shape, generator=g)).clamp(0, 1)
    x = x.mean(0, keepdim=True) if grey else x
    return (x * 255).round() / 255


def test_the_standard_table_and_the_block_transform():
    assert torch.equal(standard_table(50), torch.tensor(STANDARD_LUMA, dtype=torch.float32))
    assert torch.equal(standard_table(100), torch.ones(8, 8))
    assert (standard_table(10) >= standard_table(30)).all()  # lower quality, coarser steps
    d = dct_matrix()
    assert torch.allclose(d @ d.T, torch.eye(8), atol=1e-6)


@pytest.mark.parametrize("grey", [False, True])
@pytest.mark.parametrize("quality", [10, 30, 50, 75])
def test_the_quality_of_a_decoded_jpeg_is_read_from_its_pixels(quality, grey):
    x = photo(quality, grey)
    decoded = jpeg_round_trip(x[None], quality)[0]
    got = jpeg_quality(decoded)
    assert got is not None and quality - 2 <= got <= quality  # neighbours share most steps
    assert jpeg_quality(decoded, highest=quality - 5) is None  # a finer table is not reported


def test_a_photo_that_never_was_a_jpeg_is_not_taken_for_one():
    x = photo(1)
    assert jpeg_quality(x) is None
    g = torch.Generator().manual_seed(0)
    noisy = jpeg_round_trip(x[None], 20)[0] + 0.02 * torch.randn(x.shape, generator=g)
    assert jpeg_quality((noisy.clamp(0, 1) * 255).round() / 255) is None  # noise after: gone
    assert jpeg_quality(jpeg_round_trip(x[None, :, 3:, 5:], 20)[0][:, 5:, 3:]) is None  # off grid


def test_into_cells_moves_the_luma_into_the_inputs_cells_and_no_further_from_the_clean_one():
    clean = photo(2)
    decoded = jpeg_round_trip(clean[None], 20)[0]
    table = standard_table(20)
    g = torch.Generator().manual_seed(0)
    out = (clean + 0.05 * torch.randn(clean.shape, generator=g)).clamp(0, 1)
    moved = into_cells(out, decoded, 20)
    cell = (to_blocks(luma(decoded)) / table).round() * table
    assert ((to_blocks(luma(moved)) - cell).abs() <= table / 2 + 1e-3).all()
    before = (luma(out) - luma(clean)).pow(2).sum()
    assert (luma(moved) - luma(clean)).pow(2).sum() < before
    chroma = moved - luma(moved)[None] / 255  # each channel less its luma: unchanged
    assert torch.allclose(chroma, out - luma(out)[None] / 255, atol=1e-5)


def test_the_photo_kind_recognises_only_the_jpegs_a_model_learned():
    kind, x = data_kind("photo"), photo(3)
    inputs = torch.stack(
        [jpeg_round_trip(x[None], 20)[0], jpeg_round_trip(x[None], 75)[0], x]
    )  # (3, C, H, W)
    out = inputs.flip(3)  # any restoration
    which, moved = kind.recognised(inputs, out, parse_noise("gaussian:0.1|jpeg:10|jpeg:40"))
    assert which.tolist() == [True, False, False]
    assert torch.equal(moved[1:], out[1:]) and not torch.equal(moved[0], out[0])
    which, _ = kind.recognised(inputs, out, parse_noise("gaussian:0.1|jpeg:30+gaussian:0.01"))
    assert not which.any()  # JPEG only under noise: a clean JPEG is not what it learned
    assert not data_kind("image").recognised(inputs, out, parse_noise("gaussian:0.1"))[0].any()


def test_denoise_keeps_the_output_in_the_cells_on_a_jpeg_the_model_learned(tmp_path):
    """The photo DAE's defaults learn JPEG artefacts: on a decoded JPEG of such a quality `denoise`
    keeps the model's output, moved into the input's cells, where the safeguard alone would blend
    it back towards the input; other inputs are safeguarded as before."""
    cfg = make_config("dae", source=str(tmp_path), data_kind="photo", patch=32, shape=(3, 32, 32))
    model = build_model(cfg)
    g = torch.Generator().manual_seed(0)
    for p in model.parameters():  # a model that changes its input (a new one hands it back)
        torch.nn.init.normal_(p, std=0.05, generator=g)
    x = photo(4)
    noisy = torch.stack([jpeg_round_trip(x[None], 20)[0], x])  # (2, 3, 128, 128)
    out = jobs.reconstruct(model, noisy)
    residuals = torch.full((20,), 1.0)  # clean residuals so large that the safeguard hands back
    _, got = jobs.denoise(model, noisy, residuals=residuals)
    assert torch.allclose(got[0], into_cells(out[0], noisy[0], jpeg_quality(noisy[0])))
    assert torch.allclose(got[1], noisy[1])
