"""Every registered schedule moves the learning rate as documented."""

from __future__ import annotations

import math

import pytest
import torch

from tunelab.errors import TunelabError
from tunelab.training.schedules import SCHEDULES, Schedule, create_schedule

LR = 0.1


def optimizer(name: str = "sgd") -> torch.optim.Optimizer:
    params = [torch.nn.Parameter(torch.zeros(2))]
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=LR)
    return torch.optim.SGD(params, lr=LR, momentum=0.0)


def run(schedule: Schedule, epochs: int, steps_per_epoch: int, val_loss=None) -> list[float]:
    """The lr in use during each epoch, driving the hooks like the training loop does."""
    lrs = []
    for _ in range(epochs):
        lrs.append(schedule.current_lr())
        for _ in range(steps_per_epoch):
            schedule.optimizer.step()
            schedule.after_batch()
        schedule.after_epoch(val_loss)
    return lrs


def test_registry_matches_contract():
    assert set(SCHEDULES) == {"constant", "step", "cosine", "one-cycle", "reduce-on-plateau"}
    assert all(info.description for info in SCHEDULES.values())


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_every_schedule_runs_with_default_knobs(name):
    schedule = create_schedule(name, optimizer(), epochs=4, steps_per_epoch=3)
    lrs = run(schedule, 4, 3, val_loss=1.0)
    assert all(lr > 0 and math.isfinite(lr) for lr in lrs)
    assert schedule.current_lr() == schedule.optimizer.param_groups[0]["lr"]


def test_constant_stays():
    schedule = create_schedule("constant", optimizer(), epochs=5, steps_per_epoch=4)
    assert run(schedule, 5, 4, val_loss=1.0) == [LR] * 5
    assert schedule.current_lr() == LR


def test_step_drops_by_gamma_every_step_epochs():
    schedule = create_schedule(
        "step", optimizer(), epochs=7, steps_per_epoch=2, step_epochs=3, gamma=0.5
    )
    lrs = run(schedule, 7, 2)
    assert lrs == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025])


def test_cosine_decreases_to_zero_over_epochs():
    schedule = create_schedule("cosine", optimizer(), epochs=5, steps_per_epoch=3)
    lrs = run(schedule, 5, 3)
    assert lrs[0] == pytest.approx(LR)
    assert all(a > b for a, b in zip(lrs, lrs[1:], strict=False))
    assert lrs[-1] > 0
    assert schedule.current_lr() == pytest.approx(0.0, abs=1e-12)
    # Only epochs move it: batches alone leave the lr where it is.
    fresh = create_schedule("cosine", optimizer(), epochs=5, steps_per_epoch=3)
    for _ in range(10):
        fresh.after_batch()
    assert fresh.current_lr() == pytest.approx(LR)


@pytest.mark.parametrize("max_lr", [None, 0.5])
def test_one_cycle_rises_then_falls_per_batch(max_lr):
    epochs, steps = 4, 10
    schedule = create_schedule(
        "one-cycle", optimizer(), epochs=epochs, steps_per_epoch=steps, max_lr=max_lr
    )
    peak_expected = max_lr or LR
    lrs = []
    for _ in range(epochs):
        for _ in range(steps):
            lrs.append(schedule.current_lr())
            schedule.optimizer.step()
            schedule.after_batch()
        schedule.after_epoch(None)
    peak = lrs.index(max(lrs))
    assert 0 < peak < len(lrs) - 1
    assert max(lrs) == pytest.approx(peak_expected)
    assert lrs[0] < peak_expected / 10 and lrs[-1] < lrs[0]
    assert all(a <= b for a, b in zip(lrs[: peak + 1], lrs[1 : peak + 1], strict=False))
    assert all(a >= b for a, b in zip(lrs[peak:], lrs[peak + 1 :], strict=False))
    # Extra batches past the plan keep the final lr instead of raising.
    final = schedule.current_lr()
    for _ in range(5):
        schedule.after_batch()
    assert schedule.current_lr() == final


def test_one_cycle_leaves_momentum_alone_and_works_without_momentum():
    sgd = optimizer()
    schedule = create_schedule("one-cycle", sgd, epochs=2, steps_per_epoch=2)
    sgd.step()
    schedule.after_batch()
    assert sgd.param_groups[0]["momentum"] == 0.0
    adagrad = create_schedule("one-cycle", optimizer("adagrad"), epochs=2, steps_per_epoch=2)
    adagrad.optimizer.step()
    adagrad.after_batch()
    assert adagrad.current_lr() > 0


def test_plateau_reduces_after_patience_on_flat_val_loss():
    schedule = create_schedule(
        "reduce-on-plateau",
        optimizer(),
        epochs=10,
        steps_per_epoch=2,
        plateau_patience=2,
        gamma=0.1,
    )
    lrs = run(schedule, 5, 2, val_loss=1.0)
    # Epoch 0 sets the best; epochs 1-2 are within patience; epoch 3 is the third bad one.
    assert lrs == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.01])


def test_plateau_keeps_lr_while_improving_and_ignores_missing_val_loss():
    schedule = create_schedule(
        "reduce-on-plateau", optimizer(), epochs=10, steps_per_epoch=1, plateau_patience=0
    )
    for loss in (1.0, 0.9, 0.8, 0.7):
        schedule.after_epoch(loss)
    for _ in range(5):
        schedule.after_epoch(None)
    assert schedule.current_lr() == pytest.approx(LR)


def test_state_dict_round_trip():
    first = create_schedule("step", optimizer(), epochs=6, steps_per_epoch=1, step_epochs=1)
    first.optimizer.step()
    first.after_epoch(None)
    second = create_schedule("step", optimizer(), epochs=6, steps_per_epoch=1, step_epochs=1)
    second.load_state_dict(first.state_dict())
    assert second.state_dict()["last_epoch"] == 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"epochs": 0}, "epochs"),
        ({"steps_per_epoch": 0}, "steps_per_epoch"),
        ({"step_epochs": 0}, "step_epochs"),
        ({"gamma": 0.0}, "gamma"),
        ({"gamma": 1.5}, "gamma"),
        ({"plateau_patience": -1}, "plateau_patience"),
        ({"max_lr": -1.0}, "max_lr"),
    ],
)
def test_bad_knobs(kwargs, match):
    args = {"epochs": 3, "steps_per_epoch": 2} | kwargs
    with pytest.raises(TunelabError, match=match):
        create_schedule("step", optimizer(), **args)


def test_unknown_schedule_lists_choices_and_suggests():
    with pytest.raises(TunelabError) as info:
        create_schedule("one_cycle", optimizer(), epochs=1, steps_per_epoch=1)
    assert 'Did you mean "one-cycle"?' in str(info.value)
    assert all(name in str(info.value) for name in SCHEDULES)
