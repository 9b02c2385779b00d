"""Sliding windows and overlap-add (latentzoo.windows): every value covered, the input back exactly
when the windows come back unchanged, a processed window's values blended at the seams, and
lengths and sizes that no hop divides."""

import pytest
import torch

from latentzoo.errors import ConfigError
from latentzoo.windows import blend_tiles, overlap_add, starts, tiles, windows


@pytest.mark.parametrize(
    "length, size, hop", [(100, 16, 8), (97, 16, 5), (10, 16, 8), (16, 16, 16)]
)
def test_windows_cover_everything_and_overlap_add_gives_the_input_back(length, size, hop):
    x = torch.randn(3, length, dtype=torch.float64)
    parts = windows(x, size, hop)  # (N, 3, size)
    first = starts(length, size, hop)
    assert parts.shape == (len(first), 3, size) and first[0] == 0
    # every step is `hop` but the last, which ends the last window at the input's end
    assert first[-1] + size == max(length, size) and all(
        b - a <= hop for a, b in zip(first, first[1:])
    )
    assert all(b - a == hop for a, b in zip(first, first[1:-1]))
    assert torch.allclose(overlap_add(parts, hop, length), x, atol=1e-12)


@pytest.mark.parametrize("h, w, size, hop", [(64, 48, 32, 16), (70, 33, 32, 24), (20, 20, 32, 32)])
def test_tiles_blend_back_to_the_image(h, w, size, hop):
    x = torch.rand(3, h, w, dtype=torch.float64)
    parts = tiles(x, size, hop)
    assert parts.shape[1:] == (3, size, size)
    assert torch.allclose(blend_tiles(parts, hop, h, w), x, atol=1e-12)


def test_seams_are_blended_not_cut():
    """Two windows that disagree meet in a ramp: across their overlap the output moves from one
    to the other without a jump."""
    parts = torch.stack([torch.zeros(1, 32), torch.ones(1, 32)])  # two windows at hop 16
    out = overlap_add(parts, 16, 48)[0]
    assert torch.equal(out[:16], torch.zeros(16)) and torch.equal(out[32:], torch.ones(16))
    ramp = out[16:32]
    assert (ramp.diff() > 0).all() and ramp.diff().max() < 0.25


def test_bad_windows_are_one_line_errors():
    with pytest.raises(ConfigError, match="hop <= size"):
        windows(torch.zeros(1, 10), 8, 9)
    with pytest.raises(ConfigError, match="do not cover"):
        overlap_add(torch.zeros(2, 1, 8), 4, 100)


def test_each_position_scores_its_worst_window_and_flags_form_intervals():
    """Known answers: windows of 4 every 2 over 9 positions start at 0, 2, 4 and 5."""
    from latentzoo.windows import intervals, worst_cover

    assert starts(9, 4, 2) == [0, 2, 4, 5]
    per_step = worst_cover(torch.tensor([1.0, 5.0, 2.0, 3.0]), 4, 2, 9)
    assert per_step.tolist() == [1, 1, 5, 5, 5, 5, 3, 3, 3]
    assert intervals(per_step > 2) == [(2, 9)]
    assert intervals(torch.tensor([True, False, True, True, False])) == [(0, 1), (2, 4)]
