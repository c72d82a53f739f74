"""What a finished run says about itself: ``model.json`` (how to rebuild the model) and
``summary.json`` (status, final and best figures, speed, where it ran)."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tunelab.data import ImageDataset
from tunelab.knobs import Hyperparameters
from tunelab.runs import Run
from tunelab.training.callbacks import TrainState
from tunelab.training.device import Precision


def model_info(
    hp: Hyperparameters,
    dataset: ImageDataset,
    data: str | Path | ImageDataset,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
) -> dict[str, Any]:
    """``model.json``: the architecture knobs, the input it expects, and the split."""
    _, channels, height, width = dataset.images.shape
    return {
        "model": hp.model,
        "activation": hp.activation,
        "dropout": hp.dropout,
        "loss": hp.loss,
        "in_channels": channels,
        "num_classes": len(dataset.class_names),
        "input_size": [height, width],
        "class_names": list(dataset.class_names),
        "max_value": float(dataset.max_value),
        "data": resolved_source(data if not isinstance(data, ImageDataset) else dataset.source),
        "train_indices": [int(i) for i in train_idx],
        "val_indices": [int(i) for i in val_idx],
    }


def summarise(
    hp: Hyperparameters,
    state: TrainState,
    dataset: ImageDataset,
    run: Run,
    seconds: float,
    device: torch.device,
    precision: Precision,
    sizes: tuple[int, int, int],
) -> dict[str, Any]:
    """``summary.json`` without the diagnosis; ``sizes`` is (n_train, n_val, batch size)."""
    n_train, n_val, batch_size = sizes
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
        "final_val_loss": state.final_val_loss,
        "final_val_accuracy": state.final_val_accuracy,
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


def resolved_source(data: Any) -> str:
    """The data source as an absolute path (a run trained from ``./images`` is evaluated
    from any folder later); built-in names such as ``digits`` stay as they are."""
    text = str(data)
    path = Path(text).expanduser()
    return str(path.resolve()) if path.exists() else text
