"""`train()`: data + hyperparameters in, a stored run out.

This composes the pieces - data loading and split, model, loss, optimizer, schedule,
the epoch loop and its callbacks, the run store - and holds no training logic itself.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tunelab.data import ImageDataset, stratified_split
from tunelab.errors import TunelabError
from tunelab.knobs import Hyperparameters, is_auto
from tunelab.runs import Run, RunStore
from tunelab.runs.store import usual_mode
from tunelab.training.callbacks import (
    BestWeights,
    Callback,
    DivergenceCheck,
    EarlyStopping,
    TrainState,
)
from tunelab.training.device import (
    Precision,
    choose_device,
    cpu_supports_bf16,
    resolve_precision,
    set_threads,
)
from tunelab.training.loop import Batches, evaluate, fit
from tunelab.training.schedules import create_schedule
from tunelab.training.setup import build_training, resolve_dataset
from tunelab.training.step import augmenter


def as_hyperparameters(
    hyperparameters: Hyperparameters | dict[str, Any] | None,
    knobs: dict[str, Any],
    data: str | Path | ImageDataset | None = None,
    skip_bad: bool = False,
) -> Hyperparameters:
    """Merge a base (model, mapping or nothing) with keyword knobs, validated once.

    ``learning_rate: auto`` is replaced by the learning-rate range test's suggestion on
    ``data`` (see :mod:`tunelab.training.lr_find`).
    """
    if isinstance(hyperparameters, Hyperparameters):
        base = hyperparameters.model_dump()
    else:
        base = dict(hyperparameters or {})
    values = {**base, **knobs}
    if data is not None and is_auto(values.get("learning_rate")):
        from tunelab.training.lr_find import resolve_auto_learning_rate

        values["learning_rate"] = resolve_auto_learning_rate(data, values, skip_bad=skip_bad)
    return Hyperparameters.parse(values)


def train(
    data: str | Path | ImageDataset,
    hyperparameters: Hyperparameters | dict[str, Any] | None = None,
    *,
    store: RunStore | str | Path | None = None,
    name: str | None = None,
    callbacks: Sequence[Callback] = (),
    skip_bad: bool = False,
    split: tuple[np.ndarray, np.ndarray] | None = None,
    **knobs: Any,
) -> Run:
    """Train a classifier on ``data`` and store the run; return it.

    ``data`` is a folder of class sub-folders, a CSV manifest, ``"digits"`` or a loaded
    :class:`~tunelab.data.ImageDataset`. Knobs are :class:`Hyperparameters` fields.
    ``callbacks`` see every batch and epoch, and the stored run at the end
    (:meth:`~tunelab.training.callbacks.Callback.on_run_saved`): the learning-curve PNG
    is such a callback (:class:`tunelab.report.curves.PlotCurves`, added by
    :func:`tunelab.train`).

    >>> run = train("digits", epochs=2, learning_rate=0.003)  # doctest: +SKIP
    >>> run.summary["best_val_accuracy"]  # doctest: +SKIP
    """
    hp = as_hyperparameters(hyperparameters, knobs, data, skip_bad)
    store = store if isinstance(store, RunStore) else RunStore(store)
    dataset = resolve_dataset(data, hp, skip_bad)
    # What can be checked is checked before the run folder exists.
    device = choose_device(hp.device)
    precision = resolve_precision(hp.precision, device)
    train_idx, val_idx = split or stratified_split(dataset.labels, hp.validation_fraction, hp.seed)
    run = store.create(_prefix(data, hp), name)
    try:
        return _train_into(
            run, store, data, dataset, hp, callbacks, (train_idx, val_idx), device, precision
        )
    except BaseException as err:  # the run says why it stopped, not "running" forever
        run.mark_stopped(err)
        raise


def _train_into(
    run: Run,
    store: RunStore,
    data: str | Path | ImageDataset,
    dataset: ImageDataset,
    hp: Hyperparameters,
    callbacks: Sequence[Callback],
    split: tuple[np.ndarray, np.ndarray],
    device: torch.device,
    precision: Precision,
) -> Run:
    run.write_config(hp)
    set_threads(hp.threads)
    train_idx, val_idx = split

    if precision.name == "bf16" and device.type == "cpu" and not cpu_supports_bf16():
        run.warnings.append(
            "this CPU has no native bf16 arithmetic (AVX512-BF16 or AMX), so bf16 is emulated "
            "and slower than fp32 here; use --precision fp32 (or auto)."
        )
    batch_size = hp.batch_size
    if batch_size > len(train_idx):
        batch_size = len(train_idx)
        message = (
            f"batch_size {hp.batch_size} is larger than the training set "
            f"({len(train_idx)} images); using {batch_size}."
        )
        run.warnings.append(message)
        warnings.warn(message, stacklevel=2)

    _, channels, height, width = dataset.images.shape
    num_classes = len(dataset.class_names)
    model, loss_fn, optimizer = build_training(dataset, hp, device, precision, lr=hp.learning_rate)
    store.check_space(_bytes_needed(model, hp.epochs, len(train_idx), batch_size), run)
    train_data = Batches.from_arrays(
        dataset.images[train_idx], dataset.labels[train_idx], dataset.max_value, device
    )
    val_data = Batches.from_arrays(
        dataset.images[val_idx], dataset.labels[val_idx], dataset.max_value, device
    )
    steps = math.ceil(len(train_data) / batch_size)
    schedule = create_schedule(
        hp.schedule,
        optimizer,
        epochs=hp.epochs,
        steps_per_epoch=steps,
        step_epochs=hp.schedule_step_epochs,
        gamma=hp.schedule_gamma,
        plateau_patience=hp.plateau_patience,
        max_lr=hp.learning_rate,
    )
    augment = augmenter(list(hp.augment))

    stoppers: list[Callback] = [BestWeights(keep_weights=hp.restore_best_weights)]
    if hp.early_stopping_patience:
        stoppers.append(EarlyStopping(hp.early_stopping_patience))
    stoppers.append(DivergenceCheck())

    started = time.perf_counter()
    state = fit(
        model,
        loss_fn,
        optimizer,
        schedule,
        train_data,
        val_data,
        epochs=hp.epochs,
        batch_size=batch_size,
        device=device,
        precision=precision,
        seed=hp.seed,
        gradient_clip=hp.gradient_clip,
        augment=augment,
        callbacks=[*stoppers, *callbacks],
    )
    seconds = time.perf_counter() - started

    if state.status == "stopped-early" and hp.restore_best_weights and state.best_state:
        model.load_state_dict(state.best_state)
    run.model = model
    info = {
        "model": hp.model,
        "activation": hp.activation,
        "dropout": hp.dropout,
        "loss": hp.loss,
        "in_channels": channels,
        "num_classes": num_classes,
        "input_size": [height, width],
        "class_names": list(dataset.class_names),
        "max_value": float(dataset.max_value),
        "data": resolved_source(data if not isinstance(data, ImageDataset) else dataset.source),
        "train_indices": [int(i) for i in train_idx],
        "val_indices": [int(i) for i in val_idx],
    }
    try:
        run.write_json("model.json", info)
        run.write_metrics(state.history, state.batches)
        if state.status != "diverged":
            from safetensors.torch import save_file

            tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
            save_file(tensors, str(run.weights_path))
            usual_mode(run.weights_path)
    except OSError as err:
        raise TunelabError(
            f"could not save run {run.name!r} in {str(run.path.parent)!r}: "
            f"{err.strerror or err}. Free some space or fix the folder's permissions, then "
            f"train again (or choose another store with --runs-dir)."
        ) from None
    final_val: tuple[float | None, float | None] = (None, None)
    if state.status != "diverged" and state.history:
        final_val = evaluate(model, loss_fn, val_data, device, precision)[:2]
    summary = _summary(
        hp,
        state,
        dataset,
        run,
        seconds,
        device,
        precision,
        len(train_data),
        len(val_data),
        batch_size,
        final_val,
    )
    from tunelab.diagnosis import diagnose

    summary["diagnosis"] = diagnose(
        state.history, state.batches, summary, hp.model_dump()
    ).to_dict()
    run.write_json("summary.json", summary)
    for callback in callbacks:
        callback.on_run_saved(run)
    if state.status == "interrupted":
        raise KeyboardInterrupt
    return run


def _bytes_needed(model: torch.nn.Module, epochs: int, n_train: int, batch_size: int) -> int:
    """A generous estimate of a run's size: weights (twice, for the atomic write), the
    per-batch metrics (about 100 bytes a row) and 1 MB for the rest (curves, JSON)."""
    weights = sum(p.numel() * p.element_size() for p in model.state_dict().values())
    rows = epochs * math.ceil(n_train / max(batch_size, 1))
    return 2 * weights + 100 * rows + 1_000_000


def resolved_source(data: Any) -> str:
    """The data source as an absolute path (a run trained from ``./images`` is evaluated
    from any folder later); built-in names such as ``digits`` stay as they are."""
    text = str(data)
    path = Path(text).expanduser()
    return str(path.resolve()) if path.exists() else text


def _prefix(data: Any, hp: Hyperparameters) -> str:
    if isinstance(data, ImageDataset):
        stem = Path(data.source).name or "data"
    else:
        stem = Path(str(data)).name or "data"
    return f"{stem}-{hp.model}-{hp.optimizer}"


def _summary(
    hp: Hyperparameters,
    state: TrainState,
    dataset: ImageDataset,
    run: Run,
    seconds: float,
    device: torch.device,
    precision: Any,
    n_train: int,
    n_val: int,
    batch_size: int,
    final_val: tuple[float | None, float | None],
) -> dict[str, Any]:
    history = state.history
    last = history[-1] if history else {}
    finite = [h for h in history if math.isfinite(h.get("val_loss", math.nan))]
    best_loss = min(finite, key=lambda h: h["val_loss"]) if finite else {}
    best_acc = max(finite, key=lambda h: h["val_accuracy"]) if finite else {}
    images = len(state.batches) * batch_size
    return {
        "run": run.name,
        "status": state.status,
        "reason": state.reason,
        "data": resolved_source(dataset.source),
        "classes": list(dataset.class_names),
        "n_train": n_train,
        "n_val": n_val,
        "skipped": [list(item) for item in dataset.skipped],
        "epochs_run": len(history),
        "epochs_planned": hp.epochs,
        "batch_size_used": batch_size,
        "final_train_loss": last.get("train_loss"),
        "final_train_accuracy": last.get("train_accuracy"),
        "final_val_loss": final_val[0],
        "final_val_accuracy": final_val[1],
        "best_epoch": best_loss.get("epoch"),
        "best_val_loss": best_loss.get("val_loss"),
        "best_val_accuracy": best_acc.get("val_accuracy"),
        "train_seconds": round(seconds, 3),
        "images_per_second": round(images / seconds, 1) if seconds > 0 else None,
        "device": str(device),
        "precision": precision.name,
        "threads": torch.get_num_threads(),
        "warnings": run.warnings,
        "pid": os.getpid(),
    }
