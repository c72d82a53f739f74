"""Curves in, a verdict and one next step out.

:func:`diagnose` reads a run's per-epoch and per-batch records, its summary and its
hyperparameters, and says in plain words what the curves show, with the numbers that
show it, and which knob to turn next on tunelab's ladders (learning rate x3 or /3 on the
1-3-10 ladder, batch size x2). Verdicts, checked in this order:

``diverged``     NaN/inf, a loss that rose from the start, or one that jumped and then
                 sat at the level of guessing: the learning rate is far too high.
``crawling``     the loss fell steadily but barely (under 10 %): the rate is too low.
``too-short``    too few epochs to see a trend, or validation still improving at the end.
``oscillating``  batch losses that jump back towards their start, or training/validation
                 losses that go up and down between epochs: rate too high or batch too small.
``overfitting``  validation loss turned up (or stalled) while training loss kept falling,
                 with a gap between training and validation.
``underfitting`` training accuracy stays low and the training loss is flat.
``good-fit``     none of the above; the epoch where validation loss was best.

Thresholds were calibrated on real runs (``digits`` and small synthetic folders): SGD at
learning rate 3 sits at the level of guessing after loss spikes, Adam at 1e-5 moves the
loss by under 1 %, a 60-image training set overfits within 40 epochs.

>>> d = diagnose([], [], {"status": "diverged", "reason": "loss became nan at step 3"},
...              {"learning_rate": 0.1})
>>> d.verdict, d.next_step
('diverged', {'learning_rate': 0.01})
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

VERDICTS = (
    "diverged",
    "crawling",
    "too-short",
    "oscillating",
    "overfitting",
    "underfitting",
    "good-fit",
)

# Learning-rate ladder: 1e-7, 3e-7, 1e-6, ..., 1, 3, 10 (the knob's upper bound).
LR_LADDER: tuple[float, ...] = tuple(float(f"{m}e{e}") for e in range(-7, 1) for m in (1, 3)) + (
    10.0,
)
# The larger models, one step up from each (mobilenet trades size for speed).
MODEL_LADDER = {"mlp": "simple-cnn", "simple-cnn": "cnn", "cnn": "resnet", "mobilenet": "resnet"}
# Learning rates above these are high for the optimizer family.
_HIGH_LR = {
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

# Calibrated thresholds (fractions of the starting loss unless said otherwise).
CRAWL_DROP = 0.10  # the loss fell less than this share of its start
STEADY_RISE = 0.002  # epoch-to-epoch rise still counted as steady when crawling
SPIKE_OF_START = 1.25  # a batch this many times the start, in a stuck run, means it blew up
SETBACK_REL, SETBACK_ABS = 0.10, 0.02  # a rise of the training loss between epochs
ZIGZAG_REL, ZIGZAG_ABS = 0.25, 0.02  # a rise of the validation loss that later falls back
SEVERE_ABS = 0.08  # one setback this large is oscillation on its own
BIG_SPIKE = 2.0  # a batch loss this many times the start, after the first tenth
OVERFIT_RISE = 0.10  # validation loss this far above its best
OVERFIT_TRAIN_FALL = 0.10  # ... while the training loss fell by at least this much
OVERFIT_GAP = 0.04  # accuracy gap (training - validation)
STALL_VAL, STALL_TRAIN = 0.05, 0.30  # last third: val improved < 5 %, train fell > 30 %
UNDERFIT_ACCURACY = 0.95  # training accuracy below this ...
FLAT = 0.15  # ... with the training loss falling less than this over the last third
IMPROVING = 0.05  # validation loss fell at least this much over the last third


@dataclass
class Diagnosis:
    """What the curves show: a short ``verdict`` id, plain ``text``, numbers, next step."""

    verdict: str
    text: str
    evidence: dict[str, Any] = field(default_factory=dict)
    next_step: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---- ladders --------------------------------------------------------------------------


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


# ---- helpers --------------------------------------------------------------------------


def _num(value: float) -> str:
    return f"{value:.3g}"


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def _share(value: float) -> str:
    return "less than 0.1 %" if value < 0.001 else f"only {_pct(value)}"


def _series(rows: Sequence[Mapping[str, Any]], key: str) -> list[float]:
    values = []
    for row in rows:
        value = row.get(key)
        values.append(float(value) if isinstance(value, int | float) else math.nan)
    return values


@dataclass
class _Curves:
    """The numbers every check reads, computed once."""

    start: float  # the loss at the start: mean of the first few batches
    end: float  # the training loss now: last epoch's mean or the last batches
    batches: list[float]
    train: list[float]
    val: list[float]
    train_acc: list[float]
    val_acc: list[float]
    epochs: list[int]

    @property
    def n(self) -> int:
        return len(self.train)

    @property
    def drop(self) -> float:
        return (self.start - self.end) / self.start if self.start > 0 else 0.0

    @property
    def best(self) -> int:
        """Index of the epoch with the lowest validation loss."""
        return min(range(self.n), key=lambda i: self.val[i])

    @property
    def third(self) -> int:
        """Index of the epoch where the last third of training begins."""
        return max(0, self.n - 1 - max(1, math.ceil(self.n / 3)))


def _curves(epochs: Sequence[Mapping[str, Any]], batches: Sequence[Mapping[str, Any]]) -> _Curves:
    losses = _series(batches, "loss")
    train = _series(epochs, "train_loss")
    k = max(1, min(5, len(losses) // 10))
    # The median, so that one early spike does not pass for the starting level.
    start = statistics.median(losses[:k]) if losses else (train[0] if train else math.nan)
    recent = [x for x in losses[-k:]] if losses else []
    end = train[-1] if train else (sum(recent) / len(recent) if recent else start)
    if train and recent and len(epochs) == 1:
        # After one epoch the epoch mean still holds the first batches; use the latest.
        end = min(end, sum(recent) / len(recent))
    return _Curves(
        start=start,
        end=end,
        batches=losses,
        train=train,
        val=_series(epochs, "val_loss"),
        train_acc=_series(epochs, "train_accuracy"),
        val_acc=_series(epochs, "val_accuracy"),
        epochs=[int(e.get("epoch", i + 1)) for i, e in enumerate(epochs)],
    )


def _rising_steps(values: Sequence[float], rel: float, abs_: float) -> list[int]:
    """Indices i where values[i] rose above values[i-1] by more than rel and abs_."""
    return [
        i
        for i in range(1, len(values))
        if values[i] - values[i - 1] > max(rel * values[i - 1], abs_)
    ]


# ---- the checks -----------------------------------------------------------------------


def _diverged(c: _Curves, summary: Mapping[str, Any], hp: Mapping[str, Any]) -> Diagnosis | None:
    lr = float(hp.get("learning_rate", 0.01))
    bad_batch = next((i for i, x in enumerate(c.batches) if not math.isfinite(x)), None)
    bad_epoch = next(
        (i for i in range(c.n) if not (math.isfinite(c.train[i]) and math.isfinite(c.val[i]))),
        None,
    )
    if summary.get("status") == "diverged" or bad_batch is not None or bad_epoch is not None:
        early = bad_batch is not None and bad_batch < max(10, len(c.batches) // 4) or c.n <= 1
        step = {"learning_rate": lr_down(lr, 2 if early else 1)}
        reason = str(summary.get("reason") or "")
        if not reason and bad_batch is not None:
            reason = f"the loss became {c.batches[bad_batch]} at step {bad_batch + 1}"
        elif not reason and bad_epoch is not None:
            reason = f"the loss became non-finite at epoch {c.epochs[bad_epoch]}"
        evidence = {"reason": reason, "start_loss": c.start, "learning_rate": lr}
        return Diagnosis(
            "diverged",
            f"Training diverged: {reason or 'the loss blew up'}. The learning rate "
            f"({_num(lr)}) is too high; divide it by {'10' if early else '3'}: "
            f"try {_num(step['learning_rate'])}.",
            evidence,
            step,
        )
    if not math.isfinite(c.start) or c.drop >= CRAWL_DROP or c.n == 0:
        return None
    # The loss is stuck near its start. Steady (crawling) or blown up and stuck?
    peak = max(c.batches[1:], default=c.start)
    rose = c.end > c.start * (1 + 2 * STEADY_RISE) or (c.n >= 2 and c.val[-1] > c.val[0] * 1.02)
    collapsed = c.n >= 2 and max(c.train_acc) > 2 * max(c.train_acc[-1], 0.05) + 0.05
    if peak <= SPIKE_OF_START * c.start and not rose and not collapsed:
        return None
    if _strong_regularisation(hp):
        return None  # too much weight decay or dropout pins the loss at its start
    step = {"learning_rate": lr_down(lr, 2)}
    evidence = {
        "start_loss": c.start,
        "final_train_loss": c.end,
        "peak_batch_loss": peak,
        "final_val_loss": c.val[-1],
        "final_val_accuracy": c.val_acc[-1],
        "learning_rate": lr,
    }
    if peak > SPIKE_OF_START * c.start:
        what = f"the batch loss jumped to {_num(peak)} ({peak / c.start:.1f}x its start)"
    elif collapsed:
        what = f"training accuracy rose to {_pct(max(c.train_acc))} and collapsed"
    else:
        what = f"the loss rose from {_num(c.start)}"
    return Diagnosis(
        "diverged",
        f"Training blew up: {what}, then stayed near {_num(c.end)}, where it started "
        f"(validation accuracy {_pct(c.val_acc[-1])}). The learning rate ({_num(lr)}) is far "
        f"too high; divide it by 10: try {_num(step['learning_rate'])}.",
        evidence,
        step,
    )


def _strong_regularisation(hp: Mapping[str, Any]) -> bool:
    decay = float(hp.get("weight_decay") or 0.0)
    limit = 0.1 if hp.get("optimizer") == "adamw" else 0.01
    return decay >= limit or float(hp.get("dropout") or 0.0) >= 0.5


def _crawling(c: _Curves, hp: Mapping[str, Any]) -> Diagnosis | None:
    if c.n == 0 or c.drop >= CRAWL_DROP:
        return None
    lr = float(hp.get("learning_rate", 0.01))
    if _strong_regularisation(hp):
        return _regularised(c, hp)
    step = {"learning_rate": lr_up(lr)}
    images = f"{len(c.batches)} batches" if c.batches else f"{c.n} epochs"
    return Diagnosis(
        "crawling",
        f"The loss is crawling: after {images} it fell by {_share(c.drop)}, from "
        f"{_num(c.start)} to {_num(c.end)}. The learning rate ({_num(lr)}) is too low; "
        f"multiply it by 3: try {_num(step['learning_rate'])}.",
        {"start_loss": c.start, "final_train_loss": c.end, "drop": c.drop, "learning_rate": lr},
        step,
    )


def _regularised(c: _Curves, hp: Mapping[str, Any]) -> Diagnosis:
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
        f"The model cannot fit even its training images: the loss stayed at {_num(c.end)} "
        f"(it started at {_num(c.start)}), because {cause}. Lower it: {knob} {value:g}.",
        evidence,
        step,
    )


def _too_few(c: _Curves, hp: Mapping[str, Any]) -> Diagnosis | None:
    if c.n >= 3:
        return None
    epochs = max(10, 3 * c.n)
    return Diagnosis(
        "too-short",
        f"Only {c.n} epoch{'s' if c.n != 1 else ''}: too few to read a trend (validation "
        f"loss {_num(c.val[-1]) if c.n else '-'}). Train for more: epochs {epochs}.",
        {"epochs_run": c.n},
        {"epochs": epochs},
    )


def _oscillating(c: _Curves, hp: Mapping[str, Any]) -> Diagnosis | None:
    scale = c.start
    half = c.batches[len(c.batches) // 2 :]
    first_half = len(c.batches) - len(half)
    jumps: set[int] = set()
    if len(half) >= 4:
        level = sorted(half)[len(half) // 2]
        if level < 0.5 * scale:
            limit = max(0.8 * scale, 3 * level)
            jumps = {first_half + i for i, x in enumerate(half) if x > limit}
    # Anywhere after the first tenth of training, a batch at twice the start is a jump.
    tenth = len(c.batches) // 10
    jumps |= {tenth + i for i, x in enumerate(c.batches[tenth:]) if x > BIG_SPIKE * scale}
    spikes = [c.batches[i] for i in sorted(jumps)]
    setbacks = _rising_steps(c.train, SETBACK_REL, SETBACK_ABS * scale)
    # A rise of validation loss is a zigzag if it falls back later, or if training loss
    # did not fall meanwhile (then it is not the steady climb of overfitting).
    zigzags = [
        i
        for i in _rising_steps(c.val, ZIGZAG_REL, ZIGZAG_ABS * scale)
        if min(c.val[i:]) < c.val[i] - 0.5 * (c.val[i] - c.val[i - 1])
        or c.train[i] > c.train[i - 1] * (1 - OVERFIT_TRAIN_FALL)
    ]
    rises = [c.train[i] - c.train[i - 1] for i in setbacks]
    rises += [c.val[i] - c.val[i - 1] for i in zigzags]
    severe = any(r > SEVERE_ABS * scale for r in rises)
    if not spikes and len(rises) < 2 and not severe:
        return None
    lr = float(hp.get("learning_rate", 0.01))
    batch = int(hp.get("batch_size", 32))
    if batch < 16:
        step: dict[str, Any] = {"batch_size": batch_up(batch)}
        fix = f"double the batch size: try {step['batch_size']}"
    else:
        step = {"learning_rate": lr_down(lr)}
        fix = f"divide the learning rate by 3: try {_num(step['learning_rate'])}"
    parts = []
    if spikes:
        parts.append(
            f"the batch loss jumped back up to {_num(max(spikes))} ({len(spikes)} "
            f"time{'s' if len(spikes) > 1 else ''}; it started at {_num(scale)})"
        )
    if zigzags:
        i = max(zigzags, key=lambda j: c.val[j] - c.val[j - 1])
        parts.append(
            f"validation loss went up and down ({_num(c.val[i - 1])} -> {_num(c.val[i])} at "
            f"epoch {c.epochs[i]}, {len(zigzags)} such rise{'s' if len(zigzags) > 1 else ''})"
        )
    if setbacks:
        i = max(setbacks, key=lambda j: c.train[j] - c.train[j - 1])
        parts.append(
            f"training loss rose from {_num(c.train[i - 1])} to {_num(c.train[i])} at epoch "
            f"{c.epochs[i]}"
        )
    evidence = {
        "late_spikes": len(spikes),
        "max_late_spike": max(spikes) if spikes else None,
        "validation_rises": len(zigzags),
        "training_rises": len(setbacks),
        "start_loss": scale,
        "learning_rate": lr,
        "batch_size": batch,
    }
    return Diagnosis(
        "oscillating",
        f"The loss oscillates: {'; '.join(parts)}. The steps are too large or too noisy "
        f"(learning rate {_num(lr)}, batch size {batch}); {fix}.",
        evidence,
        step,
    )


def _overfitting(c: _Curves, hp: Mapping[str, Any]) -> Diagnosis | None:
    b, last = c.best, c.n - 1
    if b == last:
        return None
    gap = c.train_acc[-1] - c.val_acc[-1]
    split = c.val[-1] >= 2 * c.train[-1] or gap >= OVERFIT_GAP
    turned_up = (
        c.val[-1] >= c.val[b] * (1 + OVERFIT_RISE)
        and c.val[-1] - c.val[b] >= 0.01 * c.start
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
        f"rose to {_num(c.val[-1])} by epoch {c.epochs[-1]}"
        if turned_up
        else f"stopped improving ({_num(c.val[-1])} at epoch {c.epochs[-1]})"
    )
    return Diagnosis(
        "overfitting",
        f"Overfitting: validation loss was lowest at epoch {c.epochs[b]} ({_num(c.val[b])}) "
        f"and {how}, while training loss kept falling to {_num(c.train[-1])}; training "
        f"accuracy {_pct(c.train_acc[-1])} vs validation {_pct(c.val_acc[-1])}. Next: {fix}; "
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


def _improving(c: _Curves) -> bool:
    """Validation loss reached its best in the last epochs, by a margin that matters."""
    t = c.third
    return (
        c.best >= c.n - max(1, c.n // 5)
        and c.val[-1] <= c.val[c.best] * 1.1
        and c.val[c.best] <= c.val[t] * (1 - IMPROVING)
        and c.val[t] - c.val[c.best] >= 0.01 * c.start
    )


def _train_fall(c: _Curves) -> float:
    """How much the training loss fell over the last third of the epochs (a fraction)."""
    t = c.third
    return (c.train[t] - c.train[-1]) / c.train[t] if c.train[t] > 0 else 0.0


def _underfitting(c: _Curves, hp: Mapping[str, Any]) -> Diagnosis | None:
    fall = _train_fall(c)
    if c.train_acc[-1] >= UNDERFIT_ACCURACY or fall >= FLAT:
        return None
    if _strong_regularisation(hp):
        return _regularised(c, hp)
    lr = float(hp.get("learning_rate", 0.01))
    model = str(hp.get("model", ""))
    high_lr = lr > _HIGH_LR.get(str(hp.get("optimizer", "")), 1.0)
    if _improving(c):
        epochs = min(2 * c.n, 10000)
        step: dict[str, Any] = {"epochs": epochs}
        fix = f"it is still improving, so train longer: epochs {epochs}"
    elif high_lr:
        step = {"learning_rate": lr_down(lr)}
        fix = (
            f"learning rate {_num(lr)} is high for {hp.get('optimizer')} and keeps it from "
            f"settling: try {_num(step['learning_rate'])}"
        )
    elif model in MODEL_LADDER:
        step = {"model": MODEL_LADDER[model]}
        fix = f"try a larger model: {MODEL_LADDER[model]}"
    else:
        step = {"learning_rate": lr_up(lr)}
        fix = f"try a higher learning rate: {_num(step['learning_rate'])}"
    return Diagnosis(
        "underfitting",
        f"Underfitting: training accuracy is only {_pct(c.train_acc[-1])} (validation "
        f"{_pct(c.val_acc[-1])}) and the training loss is flat at {_num(c.train[-1])} "
        f"(down {_pct(max(fall, 0.0))} over the last third). Next: {fix}.",
        {
            "final_train_accuracy": c.train_acc[-1],
            "final_val_accuracy": c.val_acc[-1],
            "final_train_loss": c.train[-1],
            "last_third_fall": fall,
        },
        step,
    )


def _still_improving(c: _Curves) -> Diagnosis | None:
    t = c.third
    epochs = min(2 * c.n, 10000)
    evidence = {
        "val_loss_then": c.val[t],
        "final_val_loss": c.val[-1],
        "train_loss_then": c.train[t],
        "final_train_loss": c.train[-1],
        "final_train_accuracy": c.train_acc[-1],
        "epochs_run": c.n,
    }
    if _improving(c):
        return Diagnosis(
            "too-short",
            f"Still improving when training ended: validation loss fell from "
            f"{_num(c.val[t])} to {_num(c.val[-1])} over the last epochs (accuracy "
            f"{_pct(c.val_acc[-1])}). Train longer: epochs {epochs}.",
            evidence,
            {"epochs": epochs},
        )
    if c.train_acc[-1] < UNDERFIT_ACCURACY:
        # Not flat (that is underfitting) and not yet fitting the training images.
        return Diagnosis(
            "too-short",
            f"Still learning when training ended: training loss fell from {_num(c.train[t])} "
            f"to {_num(c.train[-1])} over the last epochs, but training accuracy is only "
            f"{_pct(c.train_acc[-1])}. Train longer: epochs {epochs}.",
            evidence,
            {"epochs": epochs},
        )
    return None


def _good_fit(c: _Curves, hp: Mapping[str, Any]) -> Diagnosis:
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
        f"A good fit: validation loss was best at epoch {c.epochs[b]} ({_num(c.val[b])}, "
        f"accuracy {_pct(c.val_acc[b])}) and training and validation agree (accuracy gap "
        f"{_pct(gap)}).{tail}",
        {
            "best_epoch": c.epochs[b],
            "best_val_loss": c.val[b],
            "best_val_accuracy": c.val_acc[b],
            "accuracy_gap": gap,
        },
        step,
    )


def diagnose(
    epochs: Sequence[Mapping[str, Any]],
    batches: Sequence[Mapping[str, Any]],
    summary: Mapping[str, Any] | None = None,
    hyperparameters: Mapping[str, Any] | None = None,
) -> Diagnosis:
    """Read a run's curves and say what they show, with the numbers and one next step.

    ``epochs`` and ``batches`` are the rows of ``metrics_epoch.csv`` and
    ``metrics_batch.csv`` (dicts), ``summary`` the run's summary (its ``status`` and
    ``reason`` are used), ``hyperparameters`` its knobs as a dict.
    """
    summary = summary or {}
    hp = dict(hyperparameters or {})
    c = _curves(epochs, batches)
    found = _diverged(c, summary, hp)
    if found is None and c.n == 0:
        found = Diagnosis(
            "too-short",
            "No epoch finished, so there are no curves to read. Train for at least a few "
            "epochs: epochs 10.",
            {"epochs_run": 0},
            {"epochs": 10},
        )
    for check in (
        lambda: _crawling(c, hp),
        lambda: _too_few(c, hp),
        lambda: _oscillating(c, hp),
        lambda: _overfitting(c, hp),
        lambda: _underfitting(c, hp),
        lambda: _still_improving(c),
    ):
        if found is not None:
            break
        found = check()
    if found is None:
        found = _good_fit(c, hp)
    found.evidence = {key: _clean(value) for key, value in found.evidence.items()}
    return found


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else None
    return value


def diagnose_run(run: Any) -> Diagnosis:
    """:func:`diagnose` for a stored :class:`~tunelab.runs.Run` (reads its files)."""
    try:
        hp = run.hyperparameters.model_dump()
    except Exception:  # a hand-edited config should not stop the diagnosis
        hp = {}
    return diagnose(run.epochs, run.batches, run.summary, hp)
