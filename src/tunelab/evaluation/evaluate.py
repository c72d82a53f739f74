"""How well a stored run classifies labelled images: accuracy, loss, confusion, per class.

Rows of the confusion matrix are the true classes, columns the predicted ones. Precision,
recall and F1 come from scikit-learn with ``zero_division=0``: a class that is never
predicted gets precision 0 (and a note), never NaN. Macro averages are taken over the
classes present in the data; weighted averages weight each class by its support.

>>> result = evaluate_run(resolve_run("latest"))  # doctest: +SKIP
>>> result.accuracy, result.per_class[0]["f1"]  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tunelab.evaluation.load import labelled_data, load_model, run_validation_data
from tunelab.report.leaderboard import accuracy_fields, accuracy_text
from tunelab.runs import Run


@dataclass
class Evaluation:
    """The numbers of one evaluation; ``to_dict()`` is what ``--json`` prints."""

    run: str
    data: str
    n_images: int
    accuracy: float
    loss: float | None
    class_names: list[str]
    confusion: list[list[int]]
    per_class: list[dict[str, Any]]
    macro: dict[str, float]
    weighted: dict[str, float]
    notes: list[str] = field(default_factory=list)
    plot: str | None = None
    #: What was scored: "validation split" (the run's held-out images) or "data".
    scored: str = "data"
    #: 95 % Wilson interval of ``accuracy`` over ``n_images``.
    interval_95: list[float] | None = None
    #: How many of the images the run trained on (None: the run recorded no hashes).
    overlap_train: int | None = None
    #: The images the run did not train on, scored alone (set when some overlap).
    held_out: dict[str, Any] | None = None

    @property
    def row_percentages(self) -> list[list[float]]:
        """Each confusion row as percentages of its true class (0 for an empty row)."""
        return row_percentages(self.confusion)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["confusion_row_percent"] = self.row_percentages
        return data


def row_percentages(confusion: list[list[int]]) -> list[list[float]]:
    matrix = np.asarray(confusion, dtype=np.float64)
    totals = matrix.sum(axis=1, keepdims=True)
    percent = np.divide(100 * matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    return [[round(float(v), 2) for v in row] for row in percent]


def score(labels: np.ndarray, predicted: np.ndarray, class_names: list[str]) -> dict[str, Any]:
    """Confusion matrix, per-class precision/recall/F1/support, macro and weighted averages."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    classes = list(range(len(class_names)))
    matrix = confusion_matrix(labels, predicted, labels=classes)
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=classes, zero_division=0
    )
    predicted_counts = matrix.sum(axis=0)
    per_class, notes = [], []
    for i, name in enumerate(class_names):
        note = ""
        if support[i] == 0:
            note = "no images of this class in the data: recall and F1 are 0"
        elif predicted_counts[i] == 0:
            note = "never predicted: precision is 0"
        if note:
            notes.append(f"class {name!r}: {note}.")
        per_class.append(
            {
                "class": name,
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
                "note": note,
            }
        )
    present = support > 0
    macro = {
        key: float(values[present].mean()) if present.any() else 0.0
        for key, values in (("precision", precision), ("recall", recall), ("f1", f1))
    }
    total = support.sum()
    weighted = {
        key: float((values * support).sum() / total) if total else 0.0
        for key, values in (("precision", precision), ("recall", recall), ("f1", f1))
    }
    if not present.all():
        notes.append(
            f"macro averages are over the {int(present.sum())} classes present in the data."
        )
    return {
        "confusion": matrix.astype(int).tolist(),
        "per_class": per_class,
        "macro": macro,
        "weighted": weighted,
        "notes": notes,
    }


def evaluate_run(
    run: Run,
    data: str | Path | None = None,
    *,
    plot: str | Path | None = None,
    batch_size: int = 256,
) -> Evaluation:
    """Evaluate ``run`` on its own validation split (``data=None``) or on another labelled
    folder or CSV manifest whose class names are among the run's.

    Images of ``data`` that the run trained on (found by content hash, see
    :mod:`tunelab.runs.hashes`) are counted in ``overlap_train``; when there are any, the
    others are scored alone in ``held_out``, the number to trust.

    With ``plot`` a PNG of the confusion matrix (counts and row percentages) is written there.
    """
    import torch

    loaded = load_model(run)
    info = loaded.info
    seen: np.ndarray | None = None
    if data is None:
        dataset, indices = run_validation_data(run, info)
        images = dataset.tensor(indices)
        labels = dataset.labels[indices]
        described = f"the validation split of {info.get('data')} ({len(indices)} held-out images)"
    else:
        dataset, labels = labelled_data(data, info)
        images = dataset.tensor()
        described = str(data)
        seen = trained_on(run, dataset.images)
    logits = loaded.logits(images, batch_size)
    predicted = logits.argmax(dim=1).numpy() if len(logits) else np.zeros(0, dtype=np.int64)
    loss = _loss(run, loaded.loss, logits, torch.as_tensor(labels, dtype=torch.long))
    names = loaded.class_names
    scores = score(np.asarray(labels), predicted, names)
    right = predicted == np.asarray(labels)
    accuracy = float(right.mean()) if len(labels) else 0.0
    result = Evaluation(
        run=run.name,
        data=described,
        n_images=int(len(labels)),
        accuracy=accuracy,
        loss=loss,
        class_names=names,
        **scores,
        scored="validation split" if data is None else "data",
        interval_95=accuracy_fields(accuracy, int(len(labels)))["interval_95"],
    )
    if data is not None and seen is None:
        result.notes.append(
            "this run recorded no image hashes (it was trained by an older tunelab), so "
            "whether these images overlap its training images cannot be checked."
        )
    elif seen is not None:
        result.overlap_train = int(seen.sum())
        if seen.any():
            rest = right[~seen]
            held = float(rest.mean()) if len(rest) else None
            result.held_out = {
                "n_images": int(len(rest)),
                "accuracy": held,
                **accuracy_fields(held, int(len(rest))),
            }
            result.notes.insert(
                0,
                f"{int(seen.sum())} of these {len(labels)} images are images the run trained "
                f"on, so the accuracy over all of them flatters it; on the "
                f"{len(rest)} it did not train on: {accuracy_text(held, int(len(rest)))}.",
            )
    if plot is not None:
        from tunelab.report.confusion import plot_confusion

        title = f"{run.name} on {described}: accuracy {100 * accuracy:.1f} %"
        result.plot = str(plot_confusion(result.confusion, names, plot, title=title))
    return result


def trained_on(run: Run, images: np.ndarray) -> np.ndarray | None:
    """Which of ``images`` (decoded at the run's input size) the run trained on, by
    content hash; None when the run recorded no hashes."""
    from tunelab.runs.hashes import HASHES_FILE, image_hashes

    recorded = run.read_json(HASHES_FILE).get("train")
    if not isinstance(recorded, list):
        return None
    train = set(recorded)
    return np.array([h in train for h in image_hashes(images)], dtype=bool)


def _loss(run: Run, name: str, logits: Any, labels: Any) -> float | None:
    """Mean loss as training measured it (same loss and settings), or None if unavailable."""
    from tunelab.training.losses import create_loss

    if len(labels) == 0:
        return None
    settings: dict[str, float] = {}
    if run.is_ensemble:  # log-probabilities: plain cross-entropy
        return _finite(float(create_loss(name, logits.shape[1])(logits, labels)))
    try:
        hp = run.hyperparameters
        settings = {"label_smoothing": hp.label_smoothing, "focal_gamma": hp.focal_gamma}
    except Exception:  # config.yaml edited by hand: defaults are close enough for a report
        pass
    loss_fn = create_loss(name, logits.shape[1], **settings)
    return _finite(float(loss_fn(logits, labels)))


def _finite(value: float) -> float | None:
    return value if np.isfinite(value) else None
