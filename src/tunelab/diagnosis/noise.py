"""Verdicts about a loss that goes up and down: oscillating, and a batch too noisy.

Both read the same signs: batch losses that jump back towards their start late in
training, a training loss that rises between epochs, a validation loss that rises and
falls back. With batches of 8 images or fewer whose losses in the second half are very
noisy (their spread larger than 1.5 x their mean), and curves that swing or plateau
below 95 % training accuracy, the batches are too small to give a steady direction:
``noisy-batch``, double the batch size. Otherwise the steps are too large:
``oscillating``, a smaller learning rate (or, for batches under 16, a larger batch).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tunelab.diagnosis.base import Diagnosis, num, pct
from tunelab.diagnosis.curves import Curves, rising_steps
from tunelab.diagnosis.ladders import batch_up, lr_down
from tunelab.diagnosis.rate import flat_and_low

SETBACK_REL, SETBACK_ABS = 0.10, 0.02  # a rise of the training loss between epochs
ZIGZAG_REL, ZIGZAG_ABS = 0.25, 0.02  # a rise of the validation loss that later falls back
BIG_SPIKE = 2.0  # a batch loss this many times the start, after the first tenth
NOISY = 1.5  # second-half batch losses: standard deviation over mean above this ...
SMALL_BATCH = 8  # ... with batches of at most this many images (a loss near 0 is spiky)


@dataclass
class Swings:
    spikes: list[float]  # late batch losses that jumped back up
    zigzags: list[int]  # epochs where validation loss rose and later fell back
    setbacks: list[int]  # epochs where training loss rose

    def found(self) -> bool:
        return bool(self.spikes or self.zigzags or self.setbacks)


def swings(c: Curves, small_batches: bool) -> Swings:
    scale = c.start
    half = c.batches[len(c.batches) // 2 :]
    first_half = len(c.batches) - len(half)
    jumps: set[int] = set()
    if len(half) >= 4 and not small_batches:
        # With batches of a few images one batch at the start level is ordinary noise.
        level = sorted(half)[len(half) // 2]
        if level < 0.5 * scale:
            limit = max(0.8 * scale, 3 * level)
            jumps = {first_half + i for i, x in enumerate(half) if x > limit}
    # Anywhere after the first tenth of training, a batch at twice the start is a jump.
    tenth = len(c.batches) // 10
    if not small_batches:
        jumps |= {tenth + i for i, x in enumerate(c.batches[tenth:]) if x > BIG_SPIKE * scale}
    setbacks = [i for i in rising_steps(c.train, SETBACK_REL, SETBACK_ABS * scale) if i >= 2]
    # A rise of validation loss is a zigzag if it later falls below where it rose from,
    # or if the training loss did not fall meanwhile (either way it is not the steady
    # climb of overfitting).
    zigzags = [
        i
        for i in rising_steps(c.val, ZIGZAG_REL, ZIGZAG_ABS * scale)
        if min(c.val[i + 1 :], default=math.inf) < c.val[i - 1] or c.train[i] > 0.9 * c.train[i - 1]
    ]
    return Swings([c.batches[i] for i in sorted(jumps)], zigzags, setbacks)


def _what(c: Curves, s: Swings) -> list[str]:
    parts = []
    if s.spikes:
        parts.append(
            f"the batch loss jumped back up to {num(max(s.spikes))} ({len(s.spikes)} "
            f"time{'s' if len(s.spikes) > 1 else ''}; it started at {num(c.start)})"
        )
    if s.zigzags:
        i = max(s.zigzags, key=lambda j: c.val[j] - c.val[j - 1])
        parts.append(
            f"validation loss went up and down ({num(c.val[i - 1])} -> {num(c.val[i])} at "
            f"epoch {c.epochs[i]}, {len(s.zigzags)} such rise{'s' if len(s.zigzags) > 1 else ''})"
        )
    if s.setbacks:
        i = max(s.setbacks, key=lambda j: c.train[j] - c.train[j - 1])
        parts.append(
            f"training loss rose from {num(c.train[i - 1])} to {num(c.train[i])} at epoch "
            f"{c.epochs[i]}"
        )
    return parts


def _evidence(c: Curves, s: Swings, lr: float, batch: int) -> dict[str, Any]:
    return {
        "late_spikes": len(s.spikes),
        "max_late_spike": max(s.spikes) if s.spikes else None,
        "validation_rises": len(s.zigzags),
        "training_rises": len(s.setbacks),
        "batch_noise": c.batch_noise,
        "start_loss": c.start,
        "learning_rate": lr,
        "batch_size": batch,
    }


def _plateau(c: Curves) -> str:
    return (
        f"training accuracy stays at {pct(c.train_acc[-1])}, the training loss flat at "
        f"{num(c.train[-1])}"
    )


def noisy_batch(c: Curves, hp: Mapping[str, Any]) -> Diagnosis | None:
    """The curves swing and the batch losses are very noisy: the batches are too small."""
    batch = int(hp.get("batch_size", 32))
    if batch > SMALL_BATCH or c.batch_noise <= NOISY:
        return None
    s = swings(c, small_batches=True)
    plateau = flat_and_low(c)
    if not s.found() and not plateau:
        return None
    lr = float(hp.get("learning_rate", 0.01))
    step = {"batch_size": batch_up(batch)}
    return Diagnosis(
        "noisy-batch",
        f"The batches are too small to give a steady direction: the batch loss is very "
        f"noisy (its spread is {c.batch_noise:.1f}x its mean in the second half) and "
        f"{'; '.join(_what(c, s)) or _plateau(c)}. Double the batch size ({batch}): try "
        f"{step['batch_size']}.",
        _evidence(c, s, lr, batch),
        step,
    )


def oscillating(c: Curves, hp: Mapping[str, Any]) -> Diagnosis | None:
    """Batch spikes or epoch-to-epoch swings (not from very noisy batches): steps too large."""
    lr = float(hp.get("learning_rate", 0.01))
    batch = int(hp.get("batch_size", 32))
    s = swings(c, small_batches=batch < 16)
    if not s.found():
        return None
    if batch < 16:
        step: dict[str, Any] = {"batch_size": batch_up(batch)}
        fix = f"double the batch size: try {step['batch_size']}"
    else:
        step = {"learning_rate": lr_down(lr)}
        fix = f"divide the learning rate by 3: try {num(step['learning_rate'])}"
    return Diagnosis(
        "oscillating",
        f"The loss oscillates: {'; '.join(_what(c, s))}. The steps are too large or too "
        f"noisy (learning rate {num(lr)}, batch size {batch}); {fix}.",
        _evidence(c, s, lr, batch),
        step,
    )
