"""stratified_split: proportions, determinism, small classes and impossible splits."""

from __future__ import annotations

import numpy as np
import pytest

from tunelab.data import stratified_split
from tunelab.errors import TunelabError


def _check_partition(train: np.ndarray, val: np.ndarray, n: int) -> None:
    assert train.dtype == np.int64 and val.dtype == np.int64
    assert len(np.intersect1d(train, val)) == 0
    assert sorted([*train, *val]) == list(range(n))
    assert list(train) == sorted(train) and list(val) == sorted(val)


def test_stratified_proportions() -> None:
    labels = np.repeat([0, 1, 2], [40, 20, 40])
    train, val = stratified_split(labels, 0.25, seed=0)
    _check_partition(train, val, 100)
    assert len(val) == 25
    assert np.bincount(labels[val]).tolist() == [10, 5, 10]


def test_deterministic_by_seed() -> None:
    labels = np.repeat([0, 1], 30)
    a = stratified_split(labels, 0.3, seed=7)
    b = stratified_split(labels, 0.3, seed=7)
    c = stratified_split(labels, 0.3, seed=8)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_singleton_class_falls_back_and_stays_in_training() -> None:
    labels = np.array([0] * 10 + [1] * 10 + [2])
    for seed in range(5):
        train, val = stratified_split(labels, 0.25, seed=seed)
        _check_partition(train, val, 21)
        assert 20 in train  # the only image of class 2
        assert set(labels[train]) == {0, 1, 2} and len(val) == 6


def test_more_classes_than_validation_images() -> None:
    labels = np.repeat(np.arange(10), 2)
    train, val = stratified_split(labels, 0.1, seed=0)
    _check_partition(train, val, 20)
    assert len(val) == 2 and set(labels[train]) == set(range(10))


def test_validation_never_empties_a_class_from_training() -> None:
    labels = np.array([0, 0, 1, 1])
    train, val = stratified_split(labels, 0.9, seed=0)
    assert len(val) == 2 and set(labels[train]) == {0, 1}


def test_at_least_one_validation_image() -> None:
    train, val = stratified_split([0, 0, 0, 1, 1, 1], 0.01, seed=0)
    assert len(val) == 1 and len(train) == 5


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5, float("nan")])
def test_bad_fraction(fraction: float) -> None:
    with pytest.raises(TunelabError, match="validation_fraction must be between 0 and 1"):
        stratified_split([0, 1, 0, 1], fraction, seed=0)


def test_too_few_images() -> None:
    with pytest.raises(TunelabError, match="at least 2 are needed"):
        stratified_split([0], 0.25, seed=0)
    with pytest.raises(TunelabError, match="each of the 3 classes has only one image"):
        stratified_split([0, 1, 2], 0.25, seed=0)


def test_large_seed_is_accepted() -> None:
    train, val = stratified_split(np.repeat([0, 1], 4), 0.25, seed=2**40)
    assert len(val) == 2
