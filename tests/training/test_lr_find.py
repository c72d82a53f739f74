"""The learning-rate range test: restores the model, suggests sensible rates, plots."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tunelab.data import load_dataset, stratified_split
from tunelab.errors import TunelabError
from tunelab.knobs import Hyperparameters
from tunelab.training.device import resolve_precision
from tunelab.training.loop import Batches
from tunelab.training.lr_find import (
    build_training,
    check_range,
    find_lr,
    minimum,
    range_test,
    resolve_auto_learning_rate,
    steep,
    suggest,
    valley,
)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def digits_result(digits):
    return find_lr(digits, threads=1)


def test_range_test_restores_weights_and_optimizer_state(digits) -> None:
    hp = Hyperparameters(optimizer="momentum", threads=1)
    device = torch.device("cpu")
    precision = resolve_precision("fp32", device)
    model, loss_fn, optimizer = build_training(digits, hp, device, precision, lr=0.05)
    train_idx, _ = stratified_split(digits.labels, 0.25, 0)
    batches = Batches.from_arrays(
        digits.images[train_idx], digits.labels[train_idx], digits.max_value, device
    )
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    lrs, losses, smoothed, _ = range_test(
        model, loss_fn, optimizer, batches, start=1e-5, end=1.0, steps=30, batch_size=64
    )
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not model.training  # the mode is restored too
    assert optimizer.param_groups[0]["lr"] == 0.05
    assert optimizer.state_dict()["state"] == {}
    assert len(lrs) == len(losses) == len(smoothed) and 2 <= len(lrs) <= 30
    assert lrs[0] == pytest.approx(1e-5)
    assert all(b > a for a, b in zip(lrs, lrs[1:], strict=False))  # exponential, increasing


def test_suggestions_lie_in_the_range_and_are_sensible_on_digits(digits_result) -> None:
    result = digits_result
    assert set(result.suggestions) == {"valley", "steep", "minimum"}
    for lr in result.suggestions.values():
        assert result.start <= lr <= result.end
    assert result.suggested == result.suggestions["valley"]
    assert 1e-4 <= result.suggested <= 1.0
    assert len(result.lrs) <= 100
    assert result.lrs[0] == pytest.approx(1e-7)


def test_smoothing_is_the_bias_corrected_moving_average(digits_result) -> None:
    losses, smoothed, beta = digits_result.losses, digits_result.smoothed, 0.98
    average = 0.0
    for i, loss in enumerate(losses):
        average = beta * average + (1 - beta) * loss
        assert smoothed[i] == pytest.approx(average / (1 - beta ** (i + 1)))
    assert smoothed[0] == pytest.approx(losses[0])


def test_stops_once_the_loss_diverges(digits) -> None:
    result = find_lr(digits, optimizer="sgd", start=1e-3, end=1e4, steps=60, threads=1)
    assert result.diverged
    assert len(result.lrs) < 60
    assert all(math.isfinite(v) for v in result.losses)
    assert result.smoothed[-1] > 4 * min(result.smoothed) or len(result.lrs) < 60


def test_plot_and_dict(digits_result, tmp_path) -> None:
    from tunelab.report.lr_find import plot_lr_find

    path = plot_lr_find(digits_result, tmp_path / "sub" / "lr.png")
    assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = digits_result.to_dict()
    assert data["recommended"] == "valley" and data["suggested"] == digits_result.suggested
    assert data["steps_run"] == len(digits_result.lrs)


def test_valley_steep_minimum_on_a_known_curve() -> None:
    lrs = np.logspace(-6, 0, 61)
    # flat, then falling from index 20 to 40, then rising steeply
    losses = np.concatenate([np.full(20, 2.0), np.linspace(2.0, 0.5, 21), np.linspace(0.6, 5, 20)])
    losses[31:41] -= 0.3  # the steepest step: from index 30 to 31
    assert len(losses) == len(lrs)
    # the longest descending run is 19..40; two thirds of the way down is index 19 + 7 + 3
    assert valley(lrs, losses) == pytest.approx(lrs[29])
    assert steep(lrs, losses) == pytest.approx(lrs[30])
    assert minimum(lrs, losses) == pytest.approx(lrs[40] / 10)
    found = suggest(list(lrs), list(losses), 61, 1e-6, 1.0)
    assert all(1e-6 <= lr <= 1.0 for lr in found.values())


def test_suggestions_are_clipped_to_the_range() -> None:
    lrs = list(np.logspace(-7, -6, 20))
    losses = list(np.linspace(1.0, 2.0, 20))  # lowest at the very start: minimum/10 < start
    found = suggest(lrs, losses, 20, 1e-7, 1e-6)
    assert found["minimum"] == 1e-7


@pytest.mark.parametrize(
    ("start", "end", "steps", "message"),
    [
        (1e-7, 10.0, 0, r"steps must be an integer >= 2 \(got 0\)"),
        (1e-7, 10.0, 1, "steps must be an integer >= 2"),
        (1.0, 0.1, 100, "start must be below end"),
        (1.0, 1.0, 100, "start must be below end"),
        (0.0, 1.0, 100, "start must be a learning rate > 0"),
        (1e-7, math.inf, 100, "end must be a learning rate > 0"),
    ],
)
def test_bad_ranges(start: float, end: float, steps: int, message: str) -> None:
    with pytest.raises(TunelabError, match=message):
        check_range(start, end, steps)
    with pytest.raises(TunelabError, match=message):
        find_lr("digits", start=start, end=end, steps=steps)


def test_learning_rate_knob_is_ignored_and_others_are_validated(digits) -> None:
    with pytest.raises(TunelabError, match="invalid batch_size"):
        find_lr(digits, batch_size=0)
    result = find_lr(digits, learning_rate="whatever", steps=20, threads=1)
    assert len(result.lrs) == 20


def test_resolve_auto_learning_rate(digits) -> None:
    lr = resolve_auto_learning_rate(digits, {"learning_rate": "auto", "threads": 1})
    assert 1e-4 <= lr <= 1.0
    assert lr == float(f"{lr:.2g}")
    with pytest.raises(TunelabError, match="invalid dropout"):
        resolve_auto_learning_rate(digits, {"learning_rate": "auto", "dropout": 2})
