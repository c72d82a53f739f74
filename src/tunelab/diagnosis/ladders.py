"""The ladders a next step climbs: learning rate on 1-3-10, batch size x2, models by size."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Learning-rate ladder: 1e-7, 3e-7, 1e-6, ..., 1, 3, 10 (the knob's upper bound).
LR_LADDER: tuple[float, ...] = tuple(float(f"{m}e{e}") for e in range(-7, 1) for m in (1, 3)) + (
    10.0,
)
# The larger models, one step up from each (mobilenet trades size for speed).
MODEL_LADDER = {"mlp": "simple-cnn", "simple-cnn": "cnn", "cnn": "resnet", "mobilenet": "resnet"}
# Learning rates above these are high for the optimizer family.
HIGH_LR = {
    "adam": 0.01,
    "adamw": 0.01,
    "adamax": 0.03,
    "nadam": 0.01,
    "radam": 0.01,
    "rmsprop": 0.01,
    "adagrad": 0.1,
    "adadelta": 10.0,
    "sgd": 1.0,
    "momentum": 0.3,
}


def lr_up(lr: float, rungs: int = 1) -> float:
    """The next rung(s) of the 1-3-10 ladder above ``lr`` (0.01 -> 0.03 -> 0.1)."""
    for _ in range(rungs):
        lr = next((r for r in LR_LADDER if r >= lr * 1.5), LR_LADDER[-1])
    return lr


def lr_down(lr: float, rungs: int = 1) -> float:
    """The next rung(s) of the 1-3-10 ladder below ``lr`` (0.01 -> 0.003 -> 0.001)."""
    for _ in range(rungs):
        lr = next((r for r in reversed(LR_LADDER) if r <= lr / 1.5), LR_LADDER[0])
    return lr


def batch_up(batch_size: int) -> int:
    """Batch size x2 (at most 65536)."""
    return min(int(batch_size) * 2, 65536)


def high_learning_rate(hp: Mapping[str, Any]) -> bool:
    """Whether the run's learning rate is above the usual range of its optimizer."""
    lr = float(hp.get("learning_rate", 0.01))
    return lr > HIGH_LR.get(str(hp.get("optimizer", "")), 1.0)
