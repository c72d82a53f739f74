"""The warm-start portfolio: settings a tune tries first, before its strategy samples.

A tune's first trials decide what it can return early, and a random first draw is as
likely to be poor as good. So ``tune_images`` starts from :data:`PORTFOLIO`, a few complete
settings chosen offline by ``benchmarks/image_portfolio.py``: a pool of configurations (the
two hand-picked starts used before it, Piximi's defaults and random draws over the default
space) was trained fully on four data sets (piximi-mnist digits, synthetic two-channel
cells, scikit-learn's 8x8 digits, synthetic RGB shapes), the best eight again with two more
seeds; the portfolio is the order of five finalists with the lowest mean normalised
test-set regret (mean over the seeds) at 1, 2.5, 5 and 10 times the median training cost over
the pool, when they run one after another (every order tried). So a cheap setting comes
first (it gives an early answer and delays the rest little), then the best one that finishes
soon after, then ones that cover the data sets where those are weak. The benchmarks use
portfolios chosen without the data set they are scored on.

Each point is cut to the knobs actually searched (:func:`starting_points`); after them the
strategy (``auto``: TPE) samples as usual. The pruner does not stop them (each was chosen
for its result after the full training, and a slow starter such as the batch-norm CNN was
stopped after one epoch behind a cheap one); it judges the sampled trials.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

_PLAIN = {"activation": "relu", "dropout": 0.0, "weight_decay": 0.0, "batch_size": 32}

#: Chosen on all four data sets by ``benchmarks/image_portfolio.py`` (its printed output:
#: ``benchmarks/results-image-portfolio.txt``), in the order they are tried.
PORTFOLIO: tuple[dict[str, Any], ...] = (
    # Piximi's defaults: cheap (0.1 R); 0.90 and 0.97 on the two digit sets, 0.72 on the
    # shapes, at chance on the cells on 2 seeds of 3 (means over 3 seeds); the CNN after it
    # ends at about 2.5 R
    {"model": "simple-cnn", "optimizer": "adam", "learning_rate": 0.01, **_PLAIN},
    # the batch-norm CNN with Adam: the best finalist that finishes within 2.5 R (2.4 R)
    {"model": "cnn", "optimizer": "adam", "learning_rate": 0.001, **_PLAIN},
    # a small ResNet: strong on the cells (0.853 mean over 3 seeds, against the CNN's 0.793)
    {
        "model": "resnet",
        "activation": "gelu",
        "dropout": 0.47,
        "optimizer": "adam",
        "learning_rate": 0.0103,
        "weight_decay": 1e-05,
        "batch_size": 8,
    },
    {
        "model": "cnn",
        "activation": "relu",
        "dropout": 0.11,
        "optimizer": "nadam",
        "learning_rate": 0.0012,
        "weight_decay": 0.0,
        "batch_size": 8,
    },
    {
        "model": "cnn",
        "activation": "elu",
        "dropout": 0.44,
        "optimizer": "nadam",
        "learning_rate": 0.004,
        "weight_decay": 0.0001,
        "batch_size": 8,
    },
)


def starting_points(
    space: Mapping[str, Any], points: Iterable[Mapping[str, Any]] = PORTFOLIO
) -> list[dict[str, Any]]:
    """``points`` restricted to the searched knobs that can take their values.

    A knob the space fixes or does not search is dropped from every point (the tune's
    own value stands); a point left empty, or equal to an earlier one, is not tried.
    """
    from tunelab.search.space import Fixed

    kept_points: list[dict[str, Any]] = []
    for point in points:
        kept = {
            key: value
            for key, value in point.items()
            if key in space and not isinstance(space[key], Fixed) and space[key].contains(value)
        }
        if kept and kept not in kept_points:
            kept_points.append(kept)
    return kept_points
