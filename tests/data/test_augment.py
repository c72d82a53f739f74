"""augment_batch: shapes, ranges, determinism and what each kind does."""

from __future__ import annotations

import pytest
import torch

from tunelab.data import AUGMENTATIONS, augment_batch
from tunelab.errors import TunelabError


def _batch(n: int = 16, c: int = 3, h: int = 12, w: int = 12) -> torch.Tensor:
    return torch.rand(n, c, h, w, generator=torch.Generator().manual_seed(123))


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_names() -> None:
    assert AUGMENTATIONS == ("flip", "rot90", "crop", "brightness-contrast")


@pytest.mark.parametrize("kinds", [[k] for k in AUGMENTATIONS] + [list(AUGMENTATIONS)])
@pytest.mark.parametrize("size", [(12, 12), (8, 13), (1, 5)])
def test_shape_range_and_determinism(kinds: list[str], size: tuple[int, int]) -> None:
    x = _batch(h=size[0], w=size[1])
    a = augment_batch(x, kinds, _gen(1))
    b = augment_batch(x, kinds, _gen(1))
    assert a.shape == x.shape and a.dtype == x.dtype
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    torch.testing.assert_close(a, b)


def test_different_seeds_differ_and_input_is_untouched() -> None:
    x = _batch()
    before = x.clone()
    a = augment_batch(x, list(AUGMENTATIONS), _gen(1))
    b = augment_batch(x, list(AUGMENTATIONS), _gen(2))
    assert not torch.equal(a, b)
    torch.testing.assert_close(x, before)


def test_empty_kinds_is_identity() -> None:
    x = _batch()
    assert torch.equal(augment_batch(x, [], _gen()), x)


def test_flip_flips_some_samples_only() -> None:
    x = _batch(n=64)
    out = augment_batch(x, ["flip"], _gen())
    flipped = [torch.equal(o, s.flip(-1)) for o, s in zip(out, x, strict=True)]
    kept = [torch.equal(o, s) for o, s in zip(out, x, strict=True)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True))
    assert 10 < sum(flipped) < 54


def test_rot90_square_uses_all_turns() -> None:
    x = _batch(n=64)
    out = augment_batch(x, ["rot90"], _gen())
    turns = []
    for o, s in zip(out, x, strict=True):
        matches = [k for k in range(4) if torch.equal(o, torch.rot90(s, k, dims=(-2, -1)))]
        assert len(matches) == 1
        turns.append(matches[0])
    assert set(turns) == {0, 1, 2, 3}


def test_rot90_non_square_turns_180() -> None:
    x = _batch(n=32, h=6, w=9)
    out = augment_batch(x, ["rot90"], _gen())
    for o, s in zip(out, x, strict=True):
        assert torch.equal(o, s) or torch.equal(o, s.flip(-1, -2))


def test_crop_is_a_shifted_window() -> None:
    x = _batch(n=32, c=1, h=16, w=16)
    out = augment_batch(x, ["crop"], _gen())
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2), mode="reflect")
    shifts = set()
    for i in range(len(x)):
        found = [
            (dy, dx)
            for dy in range(5)
            for dx in range(5)
            if torch.equal(out[i], padded[i, :, dy : dy + 16, dx : dx + 16])
        ]
        assert found
        shifts.add(found[0])
    assert len(shifts) > 5


def test_brightness_contrast_changes_values_within_range() -> None:
    x = _batch() * 0.5 + 0.25
    out = augment_batch(x, ["brightness-contrast"], _gen())
    assert not torch.equal(out, x)
    assert (out - x).abs().max() < 0.3


def test_unknown_kind() -> None:
    with pytest.raises(TunelabError, match="unknown augmentation 'flipp'.*Did you mean"):
        augment_batch(_batch(), ["flipp"], _gen())


def test_needs_float_nchw() -> None:
    with pytest.raises(ValueError, match="float"):
        augment_batch(torch.zeros(2, 3, 4, dtype=torch.float32), ["flip"], _gen())
