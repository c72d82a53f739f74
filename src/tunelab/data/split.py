"""Train/validation split that keeps class proportions and every class in training."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tunelab.errors import TunelabError


def stratified_split(
    labels: Sequence[int] | np.ndarray, validation_fraction: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Return sorted ``(train_idx, val_idx)`` int64 arrays; the same seed gives the same split.

    The validation set gets ``ceil(n * validation_fraction)`` images, at least 1, but never
    so many that a class would vanish from training. When every class has at least 2
    images and each side can hold one of each class, scikit-learn's stratified
    ``train_test_split`` is used; otherwise one random image per class is kept for
    training and the validation images are drawn at random from the rest.

    >>> train, val = stratified_split([0, 0, 0, 0, 1, 1, 1, 1], 0.25, seed=0)
    >>> len(train), len(val)
    (6, 2)
    """
    if not (isinstance(validation_fraction, (int, float)) and 0 < validation_fraction < 1):
        raise TunelabError(
            f"validation_fraction must be between 0 and 1, exclusive "
            f"(got {validation_fraction!r}). Typical values: 0.1 to 0.3; try 0.25."
        )
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    n = len(y)
    classes, counts = np.unique(y, return_counts=True)
    if n < 2:
        raise TunelabError(
            f"cannot split {n} image(s) into training and validation sets; at least 2 are "
            "needed. Add images."
        )
    n_val = min(max(1, math.ceil(n * validation_fraction)), n - len(classes))
    if n_val < 1:
        raise TunelabError(
            f"cannot make a validation set: each of the {len(classes)} classes has only one "
            "image, and moving any to validation would leave its class out of training. Add "
            "at least one more image to a class."
        )
    state = int(seed) % 2**32
    if counts.min() >= 2 and min(n_val, n - n_val) >= len(classes):
        from sklearn.model_selection import train_test_split

        train, val = train_test_split(np.arange(n), test_size=n_val, stratify=y, random_state=state)
    else:
        rng = np.random.default_rng(state)
        reserved = np.array([rng.choice(np.flatnonzero(y == c)) for c in classes])
        pool = np.setdiff1d(np.arange(n), reserved)
        val = rng.choice(pool, size=n_val, replace=False)
        train = np.setdiff1d(np.arange(n), val)
    return np.sort(train).astype(np.int64), np.sort(val).astype(np.int64)
