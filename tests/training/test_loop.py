"""The epoch loop: records read back in groups, divergence decided by its callback only,
stops and interrupts that keep what trained, and the memory layout per model."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from tunelab.models import create_model
from tunelab.training.callbacks import Callback, DivergenceCheck, TrainState, standard_callbacks
from tunelab.training.device import resolve_precision
from tunelab.training.loop import Batches, evaluate, fit
from tunelab.training.schedules import create_schedule

CPU = torch.device("cpu")


def images(n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    pixels = rng.integers(0, 60, size=(n, 1, 8, 8)).astype("uint8")
    pixels[np.arange(n), 0, labels * 2, :] = 255  # a bright row per class: learnable
    return pixels, labels


def batches(pixels: np.ndarray, labels: np.ndarray, channels_last: bool = False) -> Batches:
    return Batches.from_arrays(pixels, labels, 255.0, CPU, channels_last=channels_last)


def run_fit(
    train: Batches | None = None,
    val: Batches | None = None,
    *,
    epochs: int = 3,
    batch_size: int = 4,
    callbacks: list[Callback] | None = None,
    read_every: int = 16,
    precision: str = "fp32",
    lr: float = 0.01,
    augment=None,
) -> TrainState:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 3)
    )
    chosen = resolve_precision(precision, CPU).for_model(model)
    if chosen.channels_last:
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    train = train or batches(*images(30, 0))
    val = val or batches(*images(12, 1))
    schedule = create_schedule(
        "cosine", optimizer, epochs=epochs, steps_per_epoch=math.ceil(len(train) / batch_size)
    )
    return fit(
        model,
        nn.CrossEntropyLoss(),
        optimizer,
        schedule,
        train,
        val,
        epochs=epochs,
        batch_size=batch_size,
        device=CPU,
        precision=chosen,
        seed=3,
        augment=augment,
        callbacks=callbacks if callbacks is not None else [DivergenceCheck()],
        read_every=read_every,
    )


def without_seconds(history: list[dict[str, float]]) -> list[dict[str, float]]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


class Recorder(Callback):
    def __init__(self) -> None:
        self.batches: list[dict[str, float]] = []
        self.steps: list[int] = []

    def on_batch_end(self, state: TrainState, record: dict[str, float]) -> None:
        self.batches.append(record)
        self.steps.append(state.step)


@pytest.mark.parametrize("read_every", [1, 3, 16, 1000])
def test_reading_back_in_groups_changes_no_record(read_every: int) -> None:
    reference = run_fit(read_every=1)
    recorder = Recorder()
    state = run_fit(read_every=read_every, callbacks=[DivergenceCheck(), recorder])
    assert state.batches == reference.batches
    assert without_seconds(state.history) == without_seconds(reference.history)
    assert (state.final_val_loss, state.final_val_accuracy) == (
        reference.final_val_loss,
        reference.final_val_accuracy,
    )
    # Every batch is seen once, in order, with the state's step at that record.
    assert recorder.batches == state.batches
    assert recorder.steps == [int(row["step"]) for row in state.batches]
    assert len(state.batches) == 3 * math.ceil(30 / 4)
    assert [row["step"] for row in state.batches] == list(range(1, len(state.batches) + 1))


def test_records_match_a_direct_reading_of_each_batch() -> None:
    """The grouped read-back gives what .item() after each batch would have given."""
    state = run_fit(read_every=5, epochs=1)
    first = state.batches[0]
    assert set(first) == {"epoch", "batch", "step", "loss", "accuracy", "learning_rate"}
    epoch = state.history[0]
    sizes = [4] * 7 + [2]  # 30 images in batches of 4
    loss = sum(row["loss"] * size for row, size in zip(state.batches, sizes, strict=True)) / 30
    hits = sum(row["accuracy"] * size for row, size in zip(state.batches, sizes, strict=True))
    assert epoch["train_loss"] == pytest.approx(loss)
    assert epoch["train_accuracy"] == pytest.approx(hits / 30)
    assert all(0 <= row["accuracy"] <= 1 and math.isfinite(row["loss"]) for row in state.batches)


def test_nan_validation_loss_halts_through_the_divergence_callback() -> None:
    pixels, labels = images(12, 1)
    val = batches(pixels, labels)
    val.images[0, 0, 0, 0] = math.nan
    state = run_fit(val=val)
    assert state.status == "diverged"
    assert state.reason == "validation loss became nan at epoch 1"
    assert len(state.history) == 1 and math.isnan(state.history[0]["val_loss"])
    assert state.final_val_loss is None
    # The loop itself decides nothing: without the callback the run completes.
    val_again = batches(pixels, labels)
    val_again.images[0, 0, 0, 0] = math.nan
    assert run_fit(val=val_again, callbacks=[]).status == "completed"


def test_nan_training_loss_ends_without_validating_the_epoch() -> None:
    pixels, labels = images(30, 0)
    train = batches(pixels, labels)
    train.images[:] = math.nan
    recorder = Recorder()
    state = run_fit(train=train, read_every=3, callbacks=[DivergenceCheck(), recorder])
    assert state.status == "diverged"
    assert state.reason == "loss became nan at step 1"
    assert state.history == [] and state.final_val_loss is None
    # The group that held the NaN batch trained to its end; all of it is recorded.
    assert len(state.batches) == 3 and recorder.batches == state.batches


def test_a_stop_from_a_batch_acts_at_the_end_of_its_group() -> None:
    class StopAtStep(Callback):
        def on_batch_end(self, state: TrainState, record: dict[str, float]) -> None:
            if record["step"] == 2:
                state.halt("interrupted", "asked to stop")

    state = run_fit(read_every=4, callbacks=[StopAtStep()])
    assert state.status == "interrupted" and state.reason == "asked to stop"
    assert [row["step"] for row in state.batches] == [1, 2, 3, 4]
    assert len(state.history) == 1  # the partial epoch is validated and kept
    assert state.history[0]["train_loss"] == pytest.approx(
        sum(row["loss"] for row in state.batches) / 4
    )


def test_ctrl_c_mid_group_keeps_the_batches_that_trained() -> None:
    calls = []

    def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return x

    state = run_fit(read_every=16, augment=augment)
    assert state.status == "interrupted"
    assert [row["step"] for row in state.batches] == [1, 2, 3]
    assert state.history == []


def test_standard_callbacks_keep_the_order_checkpoints_rely_on() -> None:
    callbacks = standard_callbacks(early_stopping_patience=2, keep_best=True)
    assert [type(c).__name__ for c in callbacks] == [
        "BestWeights",
        "EarlyStopping",
        "DivergenceCheck",
    ]
    alone = standard_callbacks(early_stopping_patience=None, keep_best=False)
    assert [type(c).__name__ for c in alone] == ["BestWeights", "DivergenceCheck"]


def test_a_nan_validation_loss_seen_by_every_later_callback() -> None:
    pixels, labels = images(12, 1)
    val = batches(pixels, labels)
    val.images[:] = math.nan
    seen = []

    class Later(Callback):
        def on_epoch_end(self, state: TrainState, record: dict[str, float]) -> None:
            seen.append(state.status)

    state = run_fit(
        val=val, callbacks=[*standard_callbacks(early_stopping_patience=5, keep_best=True), Later()]
    )
    assert state.status == "diverged" and seen == ["diverged"]


def test_batches_are_the_same_sliced_or_gathered() -> None:
    pixels, labels = images(10)
    ready = batches(pixels, labels)
    raw = Batches(torch.from_numpy(pixels), torch.as_tensor(labels), 255.0)
    assert ready.ready and not raw.ready
    order = torch.randperm(10, generator=torch.Generator().manual_seed(0))
    pairs = zip(ready.batches(order, 4, CPU), raw.batches(order, 4, CPU), strict=True)
    for (x1, y1), (x2, y2) in pairs:
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert [len(y) for _, y in ready.batches(order, 4, CPU)] == [4, 4, 2]


def test_channels_last_data_and_results_match_the_default_layout() -> None:
    pixels, labels = images(30)
    cl = batches(pixels, labels, channels_last=True)
    assert cl.images.is_contiguous(memory_format=torch.channels_last)
    x, _ = next(cl.batches(torch.arange(30), 4, CPU))
    assert x.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(cl.images, batches(pixels, labels).images)


def test_conv_models_train_channels_last_on_the_cpu_and_dense_ones_do_not() -> None:
    conv = create_model("simple-cnn", in_channels=1, num_classes=3, input_size=(8, 8))
    dense = create_model("mlp", in_channels=1, num_classes=3, input_size=(8, 8))
    for name in ("fp32", "bf16"):
        precision = resolve_precision(name, CPU)
        assert precision.for_model(conv).channels_last
        assert not precision.for_model(dense).channels_last
        assert precision.for_model(dense).name == name


def test_evaluate_matches_a_plain_pass() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))
    data = batches(*images(21, 2))
    loss, accuracy, logits = evaluate(
        model, nn.CrossEntropyLoss(), data, CPU, resolve_precision("fp32", CPU), batch_size=8
    )
    with torch.no_grad():
        expected = model(data.images)
    assert torch.allclose(logits, expected)
    assert loss == pytest.approx(float(nn.functional.cross_entropy(expected, data.labels)))
    assert accuracy == pytest.approx(float((expected.argmax(1) == data.labels).float().mean()))
