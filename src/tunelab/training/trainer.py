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
from tunelab.knobs import Hyperparameters, as_hyperparameters
from tunelab.runs import Run, RunStore
from tunelab.runs.hashes import HASHES_FILE, split_hashes
from tunelab.runs.store import usual_mode
from tunelab.training.callbacks import Callback, standard_callbacks
from tunelab.training.checkpoint import (
    Checkpoint,
    Restored,
    check_resumable,
    read_checkpoint,
    resume_knobs,
)
from tunelab.training.device import (
    choose_device,
    precision_warning,
    resolve_precision,
    set_threads,
)
from tunelab.training.loop import Batches, fit
from tunelab.training.schedules import create_schedule
from tunelab.training.setup import (
    build_training,
    load_init,
    resolve_dataset,
    transfer_optimizer,
)
from tunelab.training.step import augmenter
from tunelab.training.summary import model_info, summarise
from tunelab.training.transfer import FreezeBackbone, load_source


def train(
    data: str | Path | ImageDataset,
    hyperparameters: Hyperparameters | dict[str, Any] | None = None,
    *,
    store: RunStore | str | Path | None = None,
    name: str | None = None,
    callbacks: Sequence[Callback] = (),
    skip_bad: bool = False,
    split: tuple[np.ndarray, np.ndarray] | None = None,
    checkpoint_every_epoch: bool = True,
    _resume: tuple[Run, Restored] | None = None,
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

    ``init_from`` starts from trained weights and :func:`resume` continues a run; see
    :mod:`tunelab.training.transfer` and :mod:`tunelab.training.checkpoint`. The
    checkpoint is written after every epoch, or with ``checkpoint_every_epoch=False``
    (tuning trials) only when training ends.
    """
    hp = as_hyperparameters(hyperparameters, knobs)  # a model travels as it is
    store = store if isinstance(store, RunStore) else RunStore(store)
    # Set-up first: everything that can refuse the run does so before its folder exists.
    if name is not None and _resume is None:
        store.check_new_name(name)
    dataset = resolve_dataset(data, hp, skip_bad)
    restored = None
    source = None
    if _resume is not None:
        run, restored = _resume
        check_resumable(run, restored, dataset)
        split = tuple(np.asarray(part, dtype=np.int64) for part in restored.split)  # type: ignore[assignment]
    elif hp.init_from:
        source = load_source(hp.init_from, store)
    set_threads(hp.threads)
    if split is None:
        train_idx, val_idx, split_note = dataset.split(
            hp.validation_fraction, hp.validation_seed, hp.use_manifest_split
        )
    else:
        (train_idx, val_idx), split_note = split, "validation split: given by the caller."
    device = choose_device(hp.device)
    precision = resolve_precision(hp.precision, device)
    auto_lr = None
    if hp.auto_learning_rate:  # the one place "auto" becomes a number: the range test
        from tunelab.training.lr_find import resolve_auto_learning_rate

        auto_lr = resolve_auto_learning_rate(dataset, hp, split=(train_idx, val_idx), source=source)
        hp = hp.model_copy(update={"learning_rate": auto_lr})  # in range by construction
    lr = float(hp.learning_rate)
    notes: list[str] = []
    if warning := precision_warning(precision, device):
        notes.append(warning)
    batch_size = hp.batch_size
    if batch_size > len(train_idx):
        batch_size = len(train_idx)
        message = (
            f"batch_size {hp.batch_size} is larger than the training set "
            f"({len(train_idx)} images); using {batch_size}."
        )
        notes.append(message)
        warnings.warn(message, stacklevel=2)

    _, _, height, width = dataset.images.shape
    model, loss_fn, optimizer = build_training(dataset, hp, device, precision, lr=lr)
    precision = precision.for_model(model)
    init_notes = load_init(model, source, hp, dataset) if source is not None else []
    notes.extend(init_notes)
    optimizer = transfer_optimizer(model, hp, lr) or optimizer
    if not hp.init_from and (hp.freeze_epochs or hp.backbone_lr_factor != 1.0):
        notes.append(
            f"freeze_epochs={hp.freeze_epochs} and backbone_lr_factor={hp.backbone_lr_factor:g} "
            "act only with init_from (trained weights to keep); ignored in this run."
        )
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
        # With a backbone group each group peaks at its own lr.
        max_lr=lr if len(optimizer.param_groups) == 1 else None,
    )
    if restored is None:
        run = store.create(_prefix(data, hp), name)
    try:  # from here on, a run that stops says why, not "running" forever
        run.warnings.extend(notes)
        run.write_config(hp)
        run.mark_owner()  # killed without a word, the run reads "interrupted", not "running"
        store.check_space(
            _bytes_needed(model, hp.epochs, len(train_idx), batch_size),
            run if restored is None else None,
        )
        augment = augmenter(list(hp.augment))

        stoppers = standard_callbacks(
            early_stopping_patience=hp.early_stopping_patience, keep_best=hp.restore_best_weights
        )
        generator = torch.Generator().manual_seed(hp.seed)
        start = None
        if restored is not None:
            start = restored.apply(model, optimizer, schedule, generator, stoppers, hp.epochs)
        extra: list[Callback] = []
        if hp.init_from and hp.freeze_epochs:
            extra.append(FreezeBackbone(model, hp.freeze_epochs))
        data_name = _data_name(data, dataset)
        # last, after the caller's callbacks: it sees a stop they asked for this epoch
        last = Checkpoint(
            run,
            optimizer,
            schedule,
            generator,
            stoppers,
            data=data_name,
            split=(train_idx, val_idx),
            class_names=list(dataset.class_names),
            keep_best=bool(hp.early_stopping_patience and hp.restore_best_weights),
            every_epoch=checkpoint_every_epoch,
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
            callbacks=[*stoppers, *extra, *callbacks, last],
            generator=generator,
            state=start,
        )
        seconds = time.perf_counter() - started

        run.model = model
        try:
            run.write_json("model.json", model_info(hp, dataset, data, train_idx, val_idx))
            run.write_json(HASHES_FILE, split_hashes(dataset.images, train_idx, val_idx))
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
        summary["input_size"] = [height, width]
        summary["data_notes"] = [*dataset.notes, split_note]
        from tunelab.diagnosis import diagnose

        summary["learning_rate_auto"] = auto_lr  # what "auto" resolved to (None: a number given)
        if hp.init_from:
            summary["init_from"] = {"source": hp.init_from, "notes": init_notes}
        if restored is not None:
            summary["resumed_from_epoch"] = restored.epoch
        summary["diagnosis"] = diagnose(
            state.history, state.batches, summary, hp.model_dump()
        ).to_dict()
        run.write_json("summary.json", summary)
        for callback in callbacks:
            callback.on_run_saved(run)
        if state.status == "interrupted":
            raise KeyboardInterrupt
        return run

    except BaseException as err:
        run.mark_stopped(err)
        raise


def resume(
    run: Run | str,
    *,
    store: RunStore | str | Path | None = None,
    epochs: int | None = None,
    data: str | Path | ImageDataset | None = None,
    callbacks: Sequence[Callback] = (),
    skip_bad: bool = False,
    threads: int | None = None,
) -> Run:
    """Continue ``run`` from its last checkpoint, in the same run folder, up to ``epochs``
    epochs in all (default: the epochs it planned); the curves continue where they stopped.

    The run's own knobs and data split are used (``data``: the run's data unless given,
    e.g. when it was trained on a data set held in memory). With the same seed, a resumed
    run ends with the same numbers as one trained without the break.

    >>> first = train("digits", epochs=2)  # doctest: +SKIP
    >>> resume(first, epochs=4).summary["epochs_run"]  # doctest: +SKIP
    4
    """
    store = store if isinstance(store, RunStore) else RunStore(store)
    run = store.get(run) if isinstance(run, str) else run
    restored = read_checkpoint(run)
    hp = resume_knobs(run, restored, epochs, threads)
    source = data if data is not None else restored.data
    return train(
        source, hp, store=store, callbacks=callbacks, skip_bad=skip_bad, _resume=(run, restored)
    )


def _bytes_needed(model: torch.nn.Module, epochs: int, n_train: int, batch_size: int) -> int:
    """A generous estimate of a run's size: weights (twice, for the atomic write), the
    checkpoint, the per-batch metrics (about 100 bytes a row) and 1 MB for the rest."""
    weights = sum(p.numel() * p.element_size() for p in model.state_dict().values())
    rows = epochs * math.ceil(n_train / max(batch_size, 1))
    # The checkpoint (weights, optimizer moments, best weights) is also written twice.
    return 2 * weights + 8 * weights + 100 * rows + 1_000_000


def _data_name(data: Any, dataset: ImageDataset) -> str:
    """The data as a run records it; an existing path is made absolute, so that
    :func:`resume` finds it from any folder."""
    text = dataset.source if isinstance(data, ImageDataset) else str(data)
    path = Path(text)
    return str(path.resolve()) if text and path.exists() else text


def _prefix(data: Any, hp: Hyperparameters) -> str:
    """The data set's name, the model, the optimizer, then other knobs set off default."""
    from tunelab.runs.naming import changed_knobs, dataset_name, short_value

    stem = dataset_name(data.source if isinstance(data, ImageDataset) else str(data))
    changed = changed_knobs(hp.model_dump(), Hyperparameters().model_dump())
    extra = [
        f"{_ABBREVIATIONS.get(key, key)}{short_value(value)}"
        for key, value in changed.items()
        if key not in ("model", "optimizer", "seed", "split_seed")
    ]
    return "-".join([stem, hp.model, hp.optimizer, *extra])


_ABBREVIATIONS = {"learning_rate": "lr", "batch_size": "bs", "epochs": "e", "dropout": "do"}
