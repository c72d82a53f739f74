"""Use a trained run: evaluate it, predict with it, export it.

>>> from tunelab.evaluation import evaluate_run, resolve_run
>>> result = evaluate_run(resolve_run("latest"))  # doctest: +SKIP

Importing this package does not import torch, onnx or scikit-learn; the functions do.
"""

from tunelab.evaluation.evaluate import Evaluation, evaluate_run
from tunelab.evaluation.export import export_model
from tunelab.evaluation.load import LoadedModel, load_model, resolve_run
from tunelab.evaluation.predict import Prediction, load_exported, predict, resolve_predictor

__all__ = [
    "Evaluation",
    "LoadedModel",
    "Prediction",
    "evaluate_run",
    "export_model",
    "load_exported",
    "load_model",
    "predict",
    "resolve_predictor",
    "resolve_run",
]
