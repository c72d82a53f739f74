"""Verdicts about how well the model fits: too short, overfitting, underfitting, good fit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tunelab.diagnosis.base import Diagnosis, num, pct
from tunelab.diagnosis.curves import Curves
from tunelab.diagnosis.ladders import MODEL_LADDER, lr_up
from tunelab.diagnosis.rate import UNDERFIT_ACCURACY, flat_and_low

OVERFIT_RISE = 0.10  # validation loss this far above its best
OVERFIT_TRAIN_FALL = 0.10  # ... while the training loss fell by at least this much
OVERFIT_GAP = 0.04  # accuracy gap (training - validation)
STALL_VAL, STALL_TRAIN = 0.05, 0.30  # last third: val improved < 5 %, train fell > 30 %
MEMORISED = 0.99  # training accuracy at or above this ...
RISEN = 1.5  # ... and validation loss this many times its minimum: overfitting, first
IMPROVING = 0.05  # validation loss fell at least this much over the last third


def too_few(c: Curves, hp: Mapping[str, Any]) -> Diagnosis | None:
    if c.n >= 3:
        return None
    epochs = max(10, 3 * c.n)
    return Diagnosis(
        "too-short",
        f"Only {c.n} epoch{'s' if c.n != 1 else ''}: too few to read a trend (validation "
        f"loss {num(c.val[-1]) if c.n else '-'}). Train for more: epochs {epochs}.",
        {"epochs_run": c.n},
        {"epochs": epochs},
    )


def memorised(c: Curves, hp: Mapping[str, Any]) -> Diagnosis | None:
    """Training accuracy near 100 % and validation loss well above its minimum.

    Checked before the swings: on a small validation set the rising loss zigzags, and
    that is overfitting, not a learning rate to lower.
    """
    b = c.best
    if b == c.n - 1 or c.train_acc[-1] < MEMORISED or c.val[-1] < RISEN * c.val[b]:
        return None
    if c.val[-1] - c.val[b] < 0.05 * c.start:
        return None  # 0.001 -> 0.003 on a solved task is not overfitting
    return _overfit_diagnosis(c, hp, True)


def overfitting(c: Curves, hp: Mapping[str, Any]) -> Diagnosis | None:
    b, last = c.best, c.n - 1
    if b == last:
        return None
    gap = c.train_acc[-1] - c.val_acc[-1]
    split = c.val[-1] >= 2 * c.train[-1] or gap >= OVERFIT_GAP
    turned_up = (
        c.val[-1] >= c.val[b] * (1 + OVERFIT_RISE)
        and c.val[-1] - c.val[b] >= 0.02 * c.start
        and c.train[-1] <= c.train[b] * (1 - OVERFIT_TRAIN_FALL)
    )
    t = c.third
    stalled = (
        min(c.val[t + 1 :]) > c.val[t] * (1 - STALL_VAL)
        and c.train[-1] < c.train[t] * (1 - STALL_TRAIN)
        and gap >= OVERFIT_GAP
    )
    if not (split and (turned_up or stalled)):
        return None
    return _overfit_diagnosis(c, hp, turned_up)


def _overfit_diagnosis(c: Curves, hp: Mapping[str, Any], turned_up: bool) -> Diagnosis:
    b = c.best
    gap = c.train_acc[-1] - c.val_acc[-1]
    patience = int(hp.get("early_stopping_patience") or 0)
    dropout = float(hp.get("dropout") or 0.0)
    if patience == 0:
        step: dict[str, Any] = {"early_stopping_patience": 3}
        fix = "turn on early stopping (early_stopping_patience 3)"
    elif dropout < 0.5:
        step = {"dropout": round(dropout + 0.25, 2)}
        fix = f"add dropout ({step['dropout']:g})"
    elif not hp.get("augment"):
        step = {"augment": ["flip"]}
        fix = "augment the images (flip)"
    else:
        step = {"weight_decay": max(1e-4, float(hp.get("weight_decay") or 0.0) * 10)}
        fix = f"raise weight decay ({step['weight_decay']:g})"
    how = (
        f"rose to {num(c.val[-1])} by epoch {c.epochs[-1]}"
        if turned_up
        else f"stopped improving ({num(c.val[-1])} at epoch {c.epochs[-1]})"
    )
    return Diagnosis(
        "overfitting",
        f"Overfitting: validation loss was lowest at epoch {c.epochs[b]} ({num(c.val[b])}) "
        f"and {how}, while training loss kept falling to {num(c.train[-1])}; training "
        f"accuracy {pct(c.train_acc[-1])} vs validation {pct(c.val_acc[-1])}. Next: {fix}; "
        "more dropout, augmentation or more images also help.",
        {
            "best_epoch": c.epochs[b],
            "best_val_loss": c.val[b],
            "final_val_loss": c.val[-1],
            "final_train_loss": c.train[-1],
            "accuracy_gap": gap,
        },
        step,
    )


def improving(c: Curves) -> bool:
    """Validation loss reached its best in the last epochs, by a margin that matters."""
    t = c.third
    return (
        c.above_chance
        and c.best >= c.n - max(1, c.n // 5)
        and c.val[-1] <= c.val[c.best] * 1.1
        and c.val[c.best] <= c.val[t] * (1 - IMPROVING)
        and c.val[t] - c.val[c.best] >= 0.01 * c.start
    )


def underfitting(c: Curves, hp: Mapping[str, Any]) -> Diagnosis | None:
    if not flat_and_low(c):
        return None
    lr = float(hp.get("learning_rate", 0.01))
    model = str(hp.get("model", ""))
    if model in MODEL_LADDER:
        step: dict[str, Any] = {"model": MODEL_LADDER[model]}
        fix = f"try a larger model: {MODEL_LADDER[model]}"
    else:
        step = {"learning_rate": lr_up(lr)}
        fix = f"try a higher learning rate: {num(step['learning_rate'])}"
    return Diagnosis(
        "underfitting",
        f"Underfitting: training accuracy is only {pct(c.train_acc[-1])} (validation "
        f"{pct(c.val_acc[-1])}) and the training loss is flat at {num(c.train[-1])} "
        f"(down {pct(max(c.train_fall, 0.0))} over the last third). Next: {fix}.",
        {
            "final_train_accuracy": c.train_acc[-1],
            "final_val_accuracy": c.val_acc[-1],
            "final_train_loss": c.train[-1],
            "last_third_fall": c.train_fall,
        },
        step,
    )


def _evidence(c: Curves) -> dict[str, Any]:
    t = c.third
    return {
        "val_loss_then": c.val[t],
        "final_val_loss": c.val[-1],
        "train_loss_then": c.train[t],
        "final_train_loss": c.train[-1],
        "final_train_accuracy": c.train_acc[-1],
        "epochs_run": c.n,
    }


def still_improving(c: Curves, hp: Mapping[str, Any]) -> Diagnosis | None:
    if not improving(c):
        return None
    t, epochs = c.third, min(2 * c.n, 10000)
    return Diagnosis(
        "too-short",
        f"Still improving when training ended: validation loss fell from "
        f"{num(c.val[t])} to {num(c.val[-1])} over the last epochs (accuracy "
        f"{pct(c.val_acc[-1])}). Train longer: epochs {epochs}.",
        _evidence(c),
        {"epochs": epochs},
    )


def still_learning(c: Curves, hp: Mapping[str, Any]) -> Diagnosis | None:
    """Not flat (that is underfitting), not yet fitting the training images, above chance."""
    if c.train_acc[-1] >= UNDERFIT_ACCURACY or not c.above_chance:
        return None
    t, epochs = c.third, min(2 * c.n, 10000)
    return Diagnosis(
        "too-short",
        f"Still learning when training ended: training loss fell from {num(c.train[t])} "
        f"to {num(c.train[-1])} over the last epochs, but training accuracy is only "
        f"{pct(c.train_acc[-1])}. Train longer: epochs {epochs}.",
        _evidence(c),
        {"epochs": epochs},
    )


def good_fit(c: Curves, hp: Mapping[str, Any]) -> Diagnosis:
    b = c.best
    gap = c.train_acc[-1] - c.val_acc[-1]
    step: dict[str, Any] = {}
    tail = ""
    if b + 1 <= 0.6 * c.n and not hp.get("early_stopping_patience"):
        step = {"early_stopping_patience": 3}
        tail = (
            f" Epochs after {c.epochs[b]} added nothing: turn on early stopping "
            "(early_stopping_patience 3) to save time."
        )
    return Diagnosis(
        "good-fit",
        f"A good fit: validation loss was best at epoch {c.epochs[b]} ({num(c.val[b])}, "
        f"accuracy {pct(c.val_acc[b])}) and training and validation agree (accuracy gap "
        f"{pct(gap)}).{tail}",
        {
            "best_epoch": c.epochs[b],
            "best_val_loss": c.val[b],
            "best_val_accuracy": c.val_acc[b],
            "accuracy_gap": gap,
        },
        step,
    )
