"""`train()`: data + hyperparameters in, a stored run out.

This composes the pieces - data loading and split, model, loss, optimizer, schedule,
the epoch loop and its callbacks, the run store - and holds no training logic itself.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tunelab.data import ImageDataset
from tunelab.errors import TunelabError
from tunelab.knobs import Hyperparameters, is_auto
from tunelab.runs import Run, RunStore
from tunelab.runs.store import usual_mode
from tunelab.training.callbacks import Callback, standard_callbacks
from tunelab.training.device import choose_device, precision_warning, resolve_precision, set_threads
from tunelab.training.loop import Batches, fit
from tunelab.training.schedules import create_schedule
from tunelab.training.setup import build_training, resolve_dataset
from tunelab.training.step import augmenter
from tunelab.training.summary import model_info, summarise


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
    run = store.create(_prefix(data, hp), name)
    run.write_config(hp)
    set_threads(hp.threads)
    if split is None:
        train_idx, val_idx, split_note = dataset.split(
            hp.validation_fraction, hp.seed, hp.use_manifest_split
        )
    else:
        (train_idx, val_idx), split_note = split, "validation split: given by the caller."
    device = choose_device(hp.device)
    precision = resolve_precision(hp.precision, device)
    if warning := precision_warning(precision, device):
        run.warnings.append(warning)
    batch_size = hp.batch_size
    if batch_size > len(train_idx):
        batch_size = len(train_idx)
        message = (
            f"batch_size {hp.batch_size} is larger than the training set "
            f"({len(train_idx)} images); using {batch_size}."
        )
        run.warnings.append(message)
        warnings.warn(message, stacklevel=2)

    model, loss_fn, optimizer = build_training(dataset, hp, device, precision, lr=hp.learning_rate)
    precision = precision.for_model(model)
    store.check_space(_bytes_needed(model, hp.epochs, len(train_idx), batch_size), run)
    train_data, val_data = (
        Batches.from_arrays(
            dataset.images[idx],
            dataset.labels[idx],
            dataset.max_value,
            device,
            channels_last=precision.channels_last,
        )
        for idx in (train_idx, val_idx)
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
    stoppers = standard_callbacks(
        early_stopping_patience=hp.early_stopping_patience, keep_best=hp.restore_best_weights
    )

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

    run.model = model
    try:
        run.write_json("model.json", model_info(hp, dataset, data, train_idx, val_idx))
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
    sizes = (len(train_data), len(val_data), batch_size)
    summary = summarise(hp, state, dataset, run, seconds, device, precision, sizes)
    summary["input_size"] = [int(side) for side in dataset.images.shape[2:]]
    summary["data_notes"] = [*dataset.notes, split_note]
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


def _prefix(data: Any, hp: Hyperparameters) -> str:
    if isinstance(data, ImageDataset):
        stem = Path(data.source).name or "data"
    else:
        stem = Path(str(data)).name or "data"
    return f"{stem}-{hp.model}-{hp.optimizer}"
