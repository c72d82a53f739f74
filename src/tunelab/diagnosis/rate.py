"""Verdicts about the learning rate: diverged, too high to settle, crawling (too low).

Also the one about regularisation that pins the loss at its start (an underfitting
verdict): a stuck loss with strong weight decay or dropout is blamed on them, not on the
learning rate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from tunelab.diagnosis.base import Diagnosis, num, pct, share
from tunelab.diagnosis.curves import SPIKE_OF_START, Curves
from tunelab.diagnosis.ladders import high_learning_rate, lr_down, lr_up

UNDERFIT_ACCURACY = 0.95  # training accuracy below this ...
FLAT = 0.15  # ... with the training loss falling less than this over the last third


def strong_regularisation(hp: Mapping[str, Any]) -> bool:
    decay = float(hp.get("weight_decay") or 0.0)
    limit = 0.1 if hp.get("optimizer") == "adamw" else 0.01
    return decay >= limit or float(hp.get("dropout") or 0.0) >= 0.5


def non_finite(c: Curves, summary: Mapping[str, Any], hp: Mapping[str, Any]) -> Diagnosis | None:
    """NaN or infinity anywhere, or a run the loop stopped as diverged."""
    lr = float(hp.get("learning_rate", 0.01))
    bad_batch = next((i for i, x in enumerate(c.batches) if not math.isfinite(x)), None)
    bad_epoch = next(
        (i for i in range(c.n) if not (math.isfinite(c.train[i]) and math.isfinite(c.val[i]))),
        None,
    )
    if summary.get("status") != "diverged" and bad_batch is None and bad_epoch is None:
        return None
    early = bad_batch is not None and bad_batch < max(10, len(c.batches) // 4) or c.n <= 1
    step = {"learning_rate": lr_down(lr, 2 if early else 1)}
    reason = str(summary.get("reason") or "")
    if not reason and bad_batch is not None:
        reason = f"the loss became {c.batches[bad_batch]} at step {bad_batch + 1}"
    elif not reason and bad_epoch is not None:
        reason = f"the loss became non-finite at epoch {c.epochs[bad_epoch]}"
    return Diagnosis(
        "diverged",
        f"Training diverged: {reason or 'the loss blew up'}. The learning rate "
        f"({num(lr)}) is too high; divide it by {'10' if early else '3'}: "
        f"try {num(step['learning_rate'])}.",
        {"reason": reason, "start_loss": c.start, "learning_rate": lr},
        step,
    )


def blown_up(c: Curves, hp: Mapping[str, Any]) -> Diagnosis | None:
    """Stuck at the start (or at chance) after the loss jumped, rose or went up and down."""
    if not c.stuck or c.steady or not math.isfinite(c.start) or strong_regularisation(hp):
        return None
    lr = float(hp.get("learning_rate", 0.01))
    peak = max(c.batches[1:], default=c.start)
    step = {"learning_rate": lr_down(lr, 2)}
    if peak > SPIKE_OF_START * c.start:
        what = f"the batch loss jumped to {num(peak)} ({peak / c.start:.1f}x its start)"
    elif c.n >= 2 and max(c.train_acc) > 2 * max(c.train_acc[-1], 0.05) + 0.05:
        what = f"training accuracy rose to {pct(max(c.train_acc))} and collapsed"
    elif c.n >= 2 and c.val[-1] > c.val[0]:
        what = f"the validation loss rose from {num(c.val[0])} to {num(c.val[-1])}"
    else:
        what = f"the loss went up and down from {num(c.start)}"
    guess = f", chance is {pct(c.chance)}" if c.chance else ""
    return Diagnosis(
        "diverged",
        f"Training blew up: {what}, and the model learned nothing: the loss is "
        f"{num(c.end)} (it started at {num(c.start)}), validation accuracy "
        f"{pct(c.val_acc[-1])}{guess}. The learning rate ({num(lr)}) is far too high; "
        f"divide it by 10: try {num(step['learning_rate'])}.",
        {
            "start_loss": c.start,
            "final_train_loss": c.end,
            "peak_batch_loss": peak,
            "final_val_loss": c.val[-1],
            "final_val_accuracy": c.val_acc[-1],
            "chance_accuracy": c.chance,
            "learning_rate": lr,
        },
        step,
    )


def crawling(c: Curves, hp: Mapping[str, Any]) -> Diagnosis | None:
    """Stuck, but falling steadily: the learning rate is too low."""
    if not c.stuck:
        return None
    if strong_regularisation(hp):
        return regularised(c, hp)
    lr = float(hp.get("learning_rate", 0.01))
    step = {"learning_rate": lr_up(lr)}
    images = f"{len(c.batches)} batches" if c.batches else f"{c.n} epochs"
    if c.drop < 0.1:
        moved = f"it fell by {share(c.drop)}, from {num(c.start)} to {num(c.end)}"
    else:
        moved = (
            f"it fell from {num(c.start)} to {num(c.end)} but the model still guesses "
            f"(validation accuracy {pct(c.val_acc[-1])})"
        )
    return Diagnosis(
        "crawling",
        f"The loss is crawling: after {images} {moved}. The learning rate ({num(lr)}) is "
        f"too low; multiply it by 3: try {num(step['learning_rate'])}.",
        {"start_loss": c.start, "final_train_loss": c.end, "drop": c.drop, "learning_rate": lr},
        step,
    )


def regularised(c: Curves, hp: Mapping[str, Any]) -> Diagnosis:
    decay = float(hp.get("weight_decay") or 0.0)
    dropout = float(hp.get("dropout") or 0.0)
    evidence = {
        "start_loss": c.start,
        "final_train_loss": c.end,
        "drop": c.drop,
        "weight_decay": decay,
        "dropout": dropout,
    }
    if dropout >= 0.5:
        step: dict[str, Any] = {"dropout": round(max(0.0, dropout - 0.25), 2)}
        cause = f"dropout {dropout:g} drops too much of the network"
    else:
        step = {"weight_decay": float(f"{decay / 10:.3g}")}
        cause = f"weight decay {decay:g} pulls the weights back to zero"
    knob, value = next(iter(step.items()))
    return Diagnosis(
        "underfitting",
        f"The model cannot fit even its training images: the loss stayed at {num(c.end)} "
        f"(it started at {num(c.start)}), because {cause}. Lower it: {knob} {value:g}.",
        evidence,
        step,
    )


def flat_and_low(c: Curves) -> bool:
    """Training accuracy below 95 % and a training loss that stopped falling."""
    return c.train_acc[-1] < UNDERFIT_ACCURACY and c.train_fall < FLAT


def too_high(c: Curves, hp: Mapping[str, Any]) -> Diagnosis | None:
    """It learned, then could not settle: flat below 95 % with a high learning rate."""
    if not flat_and_low(c) or not high_learning_rate(hp) or strong_regularisation(hp):
        return None
    lr = float(hp.get("learning_rate", 0.01))
    step = {"learning_rate": lr_down(lr)}
    return Diagnosis(
        "too-high",
        f"The learning rate is too high to settle: training accuracy stays at "
        f"{pct(c.train_acc[-1])} (validation {pct(c.val_acc[-1])}) and the training loss "
        f"is flat at {num(c.train[-1])} (down {pct(max(c.train_fall, 0.0))} over the last "
        f"third); {num(lr)} is high for {hp.get('optimizer')}. Divide it by 3: try "
        f"{num(step['learning_rate'])}.",
        {
            "final_train_accuracy": c.train_acc[-1],
            "final_val_accuracy": c.val_acc[-1],
            "final_train_loss": c.train[-1],
            "last_third_fall": c.train_fall,
            "learning_rate": lr,
        },
        step,
    )
