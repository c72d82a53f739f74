"""Which images fell in each cell of a run's confusion matrix on its validation split.

A confusion matrix says how many; this says which: for a (true, predicted) cell, the
validation images with their confidence, most confident first, so a user can see what
the model confuses and why (mislabelled images, look-alike classes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tunelab.evaluation.load import load_model, run_validation_data
from tunelab.runs import Run


@dataclass
class ValidationPredictions:
    """Every validation image of a run: its index in the data set, true and predicted
    class, and the probability given to the predicted class."""

    class_names: list[str]
    indices: np.ndarray
    true: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray
    images: np.ndarray  # (N, C, H, W) as stored, for thumbnails
    max_value: float

    def cell(self, true: int, predicted: int) -> list[dict[str, float | int]]:
        """The images of one cell, most confident first."""
        members = np.flatnonzero((self.true == true) & (self.predicted == predicted))
        order = members[np.argsort(-self.confidence[members], kind="stable")]
        return [
            {
                "position": int(i),
                "index": int(self.indices[i]),
                "confidence": float(self.confidence[i]),
            }
            for i in order
        ]


def validation_predictions(run: Run, batch_size: int = 256) -> ValidationPredictions:
    """The run's predictions on its own validation split (reloaded as it was trained)."""
    loaded = load_model(run)
    dataset, indices = run_validation_data(run, loaded.info)
    probabilities = loaded.probabilities(dataset.tensor(indices), batch_size).numpy()
    predicted = probabilities.argmax(axis=1) if len(probabilities) else np.zeros(0, np.int64)
    confidence = (
        probabilities[np.arange(len(predicted)), predicted] if len(predicted) else np.zeros(0)
    )
    return ValidationPredictions(
        class_names=list(loaded.class_names),
        indices=indices,
        true=np.asarray(dataset.labels[indices]),
        predicted=np.asarray(predicted),
        confidence=np.asarray(confidence, dtype=np.float64),
        images=dataset.images[indices],
        max_value=float(dataset.max_value),
    )
