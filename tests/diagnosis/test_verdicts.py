"""Hand-made curves for the two wrong verdicts seen on real runs, the new verdicts, and
a second problem named beside the main one."""

from __future__ import annotations

import math

import numpy as np

from tunelab.diagnosis import Diagnosis, diagnose

HP = {
    "learning_rate": 0.01,
    "batch_size": 32,
    "optimizer": "adam",
    "model": "simple-cnn",
    "dropout": 0.0,
    "weight_decay": 0.0,
    "early_stopping_patience": 0,
    "augment": [],
}


def run(
    train: list[float],
    val: list[float],
    train_acc: list[float],
    val_acc: list[float],
    first_batches: list[float],
    *,
    per_epoch: int = 10,
    noise: float = 0.05,
    classes: int = 10,
) -> tuple[list[dict], list[dict], dict]:
    """Epoch rows as given; batch losses around each epoch's mean after ``first_batches``."""
    epochs = [
        {
            "epoch": i + 1,
            "train_loss": train[i],
            "train_accuracy": train_acc[i],
            "val_loss": val[i],
            "val_accuracy": val_acc[i],
        }
        for i in range(len(train))
    ]
    rng = np.random.default_rng(0)
    losses = list(first_batches)
    for i in range(len(train)):
        while len(losses) < (i + 1) * per_epoch:
            losses.append(train[i] * float(np.exp(noise * rng.standard_normal())))
    batches = [
        {"epoch": 1 + s // per_epoch, "step": s + 1, "loss": x} for s, x in enumerate(losses)
    ]
    return epochs, batches, {"status": "completed", "classes": [str(k) for k in range(classes)]}


def test_adam_at_chance_with_a_rising_validation_loss_is_not_told_to_train_longer() -> None:
    # Seen: Adam at 0.1; the loss blew up in the first batches and then came down to the
    # level of guessing; validation accuracy sat at chance for 5 epochs while validation
    # loss rose. It was told "still learning, train longer".
    epochs, batches, summary = run(
        [8.0, 4.0, 3.0, 2.6, 2.4],
        [2.31, 2.33, 2.35, 2.37, 2.40],
        [0.1, 0.1, 0.11, 0.1, 0.1],
        [0.1, 0.1, 0.1, 0.1, 0.1],
        [2.3, 40.0, 30.0, 20.0, 10.0, 8.0, 6.0, 5.0, 4.0, 3.0],
    )
    d = diagnose(epochs, batches, summary, {**HP, "learning_rate": 0.1})
    assert d.verdict == "diverged", d.text
    assert "train longer" not in d.text.lower() and "epochs" not in d.next_step
    assert d.next_step == {"learning_rate": 0.01}
    assert "chance is 10.0 %" in d.text


def _memorised_crops() -> tuple[list[dict], list[dict], dict]:
    # Seen: 60 epochs on 148 microscopy crops; training accuracy 100 %, loss 0.003,
    # validation 90 %, validation loss up from 0.30 to 0.74 in zigzags (a validation set
    # of 30 crops). It was told "the loss oscillates".
    n = 60
    train = [max(0.003, 1.0 * 0.85**i) for i in range(n)]
    train_acc = [min(1.0, 0.6 + 0.03 * i) for i in range(n)]
    val = [1.0 - 0.07 * i for i in range(10)]  # down to 0.37 ...
    val[-1] = 0.30
    rising = [0.30 + 0.44 * (i + 1) / (n - 10) for i in range(n - 10)]
    val += [v * (1.3 if i % 2 == 0 else 1.0) for i, v in enumerate(rising)]
    val[-1] = 0.74
    val_acc = [min(0.9, 0.6 + 0.03 * i) for i in range(n)]
    return run(train, val, train_acc, val_acc, [1.1], per_epoch=5, classes=3)


def test_memorised_training_set_with_a_zigzagging_validation_loss_is_overfitting() -> None:
    epochs, batches, summary = _memorised_crops()
    d = diagnose(epochs, batches, summary, {**HP, "batch_size": 16})
    assert d.verdict == "overfitting", d.text
    assert d.evidence["best_val_loss"] == 0.3 and d.evidence["final_val_loss"] == 0.74
    assert d.next_step == {"early_stopping_patience": 3}


def test_a_second_problem_is_named_after_the_main_one() -> None:
    # Adam at 0.05: the validation loss swings and training accuracy plateaus at 72 %.
    epochs, batches, summary = run(
        [2.0, 1.0, 0.8, 0.84, 0.8, 0.82],
        [1.0, 0.8, 1.1, 0.78, 1.05, 0.76],
        [0.4, 0.65, 0.7, 0.71, 0.72, 0.72],
        [0.6, 0.7, 0.6, 0.7, 0.62, 0.7],
        [2.3],
    )
    d = diagnose(epochs, batches, summary, {**HP, "learning_rate": 0.05})
    assert d.verdict == "oscillating", d.text
    assert [s["verdict"] for s in d.secondary] == ["too-high"]
    assert d.secondary[0]["next_step"] == {"learning_rate": 0.03}
    assert "Also: learning rate 0.05 is high for adam" in d.text
    assert d.to_dict()["secondary"] == d.secondary


def test_one_problem_has_no_secondary() -> None:
    epochs, batches, summary = run(
        [0.9, 0.3, 0.1, 0.06, 0.05, 0.045],
        [0.8, 0.3, 0.12, 0.1, 0.098, 0.1],
        [0.8, 0.92, 0.97, 0.98, 0.985, 0.99],
        [0.8, 0.91, 0.96, 0.97, 0.97, 0.97],
        [2.3],
    )
    d = diagnose(epochs, batches, summary, HP)
    assert d.verdict == "good-fit" and d.secondary == [] and "Also" not in d.text


def test_flat_below_95_percent_with_a_high_learning_rate_is_too_high() -> None:
    epochs, batches, summary = run(
        [1.8, 0.64, 0.42, 0.28, 0.3, 0.28],
        [0.96, 0.49, 0.43, 0.33, 0.36, 0.36],
        [0.33, 0.78, 0.86, 0.9, 0.9, 0.91],
        [0.67, 0.83, 0.86, 0.91, 0.89, 0.87],
        [2.3],
    )
    d = diagnose(epochs, batches, summary, {**HP, "learning_rate": 0.05})
    assert d.verdict == "too-high", d.text
    assert d.next_step == {"learning_rate": 0.03}
    d = diagnose(epochs, batches, summary, {**HP, "learning_rate": 0.003})
    assert d.verdict == "underfitting", d.text


def test_very_noisy_small_batches_that_plateau_are_noisy_batch() -> None:
    epochs, batches, summary = run(
        [0.8, 0.31, 0.19, 0.2, 0.19, 0.19],
        [0.33, 0.22, 0.3, 0.25, 0.26, 0.26],
        [0.73, 0.9, 0.93, 0.92, 0.93, 0.93],
        [0.89, 0.93, 0.91, 0.92, 0.92, 0.92],
        [2.3],
        per_epoch=100,
        noise=2.0,
    )
    d = diagnose(epochs, batches, summary, {**HP, "batch_size": 2})
    assert d.verdict == "noisy-batch", d.text
    assert d.next_step == {"batch_size": 4}
    assert d.evidence["batch_noise"] > 1.5


def test_no_verdict_for_a_nan_in_the_curves_but_diverged() -> None:
    epochs, batches, summary = run(
        [2.0, 1.0, math.nan], [2.0, 1.0, math.nan], [0.3] * 3, [0.3] * 3, [2.3]
    )
    d: Diagnosis = diagnose(epochs, batches, summary, HP)
    assert d.verdict == "diverged" and d.secondary == []


def test_the_diagnosis_says_where_on_the_curve_it_shows() -> None:
    from tunelab.diagnosis import diagnose

    val = [1.0, 0.6, 0.5, 0.55, 0.7, 0.9, 1.1, 1.3]
    epochs = [
        {
            "epoch": i + 1,
            "train_loss": 1 / (i + 2),
            "val_loss": v,
            "train_accuracy": min(1.0, 0.6 + 0.1 * i),
            "val_accuracy": 0.8,
            "learning_rate": 0.01,
        }
        for i, v in enumerate(val)
    ]
    found = diagnose(epochs, [], {"status": "completed", "classes": ["a", "b"]}, {})
    assert found.verdict == "overfitting"
    assert found.at_epoch == 3 and "turns up" in found.mark
    assert found.to_dict()["at_epoch"] == 3
