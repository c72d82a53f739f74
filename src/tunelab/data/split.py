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


def dataset_split(
    labels: Sequence[int] | np.ndarray,
    partition: np.ndarray | None,
    validation_fraction: float,
    seed: int = 0,
    use_manifest_split: bool = True,
) -> tuple[np.ndarray, np.ndarray, str]:
    """``(train_idx, val_idx, note)``: the manifest's split when it has one, else stratified.

    ``partition[i]`` is ``"train"``, ``"val"``, ``"test"`` or ``""``
    (:attr:`tunelab.data.ImageDataset.partition`). With a split that has both training and
    validation rows, those are used as given; ``"test"`` rows are left out of both; rows
    without a side are split with ``validation_fraction`` and added to each side. Without
    one (or with ``use_manifest_split=False``) it is :func:`stratified_split`. ``note`` is
    one line saying which split was used and on how many images.

    >>> train, val, note = dataset_split([0, 1, 0, 1], np.array(["train", "train", "val",
    ...                                  "val"]), 0.25)
    >>> train.tolist(), val.tolist()
    ([0, 1], [2, 3])
    """
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    sides = None if partition is None else np.asarray(partition).astype(str)
    if sides is None or not use_manifest_split:
        train, val = stratified_split(y, validation_fraction, seed)
        ignored = " (the manifest's split column is ignored: use_manifest_split is off)"
        return (
            train,
            val,
            (
                f"validation split: {len(val)} of {len(y)} images held out at random, "
                f"stratified (validation_fraction {validation_fraction:g}, seed {seed})"
                + (ignored if sides is not None else "")
                + "."
            ),
        )
    marked_train = np.flatnonzero(sides == "train")
    marked_val = np.flatnonzero(sides == "val")
    test = np.flatnonzero(sides == "test")
    free = np.flatnonzero(sides == "")
    held = f"; {len(test)} test/inference rows left out of both" if len(test) else ""
    if len(marked_train) == 0 or len(marked_val) == 0:
        pool = np.sort(np.concatenate([marked_train, free]))
        train, val = stratified_split(y[pool], validation_fraction, seed)
        return (
            pool[train],
            pool[val],
            (
                f"validation split: the manifest's split column has no "
                f"{'validation' if len(marked_train) else 'training'} rows, so {len(val)} of "
                f"{len(pool)} images are held out at random (validation_fraction "
                f"{validation_fraction:g}){held}."
            ),
        )
    train, val = marked_train, marked_val
    extra = ""
    if len(free) >= 2:
        free_train, free_val = stratified_split(y[free], validation_fraction, seed)
        train = np.concatenate([train, free[free_train]])
        val = np.concatenate([val, free[free_val]])
        extra = f"; {len(free)} rows without a side split at validation_fraction"
    elif len(free):
        train = np.concatenate([train, free])
    note = (
        f"validation split: from the manifest's split column, {len(train)} training and "
        f"{len(val)} validation images{extra}{held} (--no-use-manifest-split to ignore it)."
    )
    missing = sorted(set(y[val].tolist()) - set(y[train].tolist()))
    if missing:
        note = note[:-1] + (
            f"; warning: {len(missing)} class(es) appear only in validation and cannot be learnt."
        )
    return np.sort(train).astype(np.int64), np.sort(val).astype(np.int64), note
