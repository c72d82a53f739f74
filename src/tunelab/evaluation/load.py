"""Load what a stored run needs to be used again: its model and the data it was judged on.

A run folder holds ``model.json`` (how to rebuild the model and read images for it) and
``model.safetensors`` (the weights). :func:`load_model` rebuilds the network in
evaluation mode; :func:`run_validation_data` reloads the run's own validation split and
:func:`labelled_data` any other labelled folder or manifest, with its classes mapped by
name onto the run's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tunelab.errors import TunelabError, did_you_mean
from tunelab.runs import Run, RunStore

if TYPE_CHECKING:
    import torch

    from tunelab.data import ImageDataset


def resolve_run(name: str | Path, runs_dir: str | Path | None = None) -> Run:
    """A run by name in the store (``latest`` works), or a run folder given by path."""
    path = Path(name)
    if (path / "model.json").is_file() or Run(path).config_path.is_file():
        return Run(path)
    return RunStore(runs_dir).get(str(name))


@dataclass
class LoadedModel:
    """A trained network in evaluation mode with what is needed to feed it images."""

    model: torch.nn.Module
    info: dict[str, Any]
    run: Run

    @property
    def class_names(self) -> list[str]:
        return [str(name) for name in self.info["class_names"]]

    @property
    def in_channels(self) -> int:
        return int(self.info["in_channels"])

    @property
    def input_size(self) -> tuple[int, int]:
        height, width = self.info["input_size"]
        return int(height), int(width)

    @property
    def loss(self) -> str:
        return str(self.info.get("loss", "cross-entropy"))

    def logits(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Logits ``(N, num_classes)`` for float images ``(N, C, H, W)`` in [0, 1]."""
        import torch

        outputs = []
        with torch.no_grad():
            for start in range(0, len(images), batch_size):
                outputs.append(self.model(images[start : start + batch_size]).float())
        if not outputs:
            return torch.empty(0, len(self.class_names))
        return torch.cat(outputs)

    def probabilities(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Class probabilities ``(N, num_classes)``, as the run's loss interprets logits."""
        from tunelab.training.losses import probabilities

        return probabilities(self.loss, self.logits(images, batch_size))


def model_info(run: Run) -> dict[str, Any]:
    """The run's ``model.json``, or an error saying why the run has no usable model."""
    info = run.model_info
    needed = ("model", "in_channels", "num_classes", "input_size", "class_names")
    if not info or any(key not in info for key in needed):
        raise TunelabError(
            f"run {run.name!r} has no usable model.json (status {run.status}): it did not "
            "finish training. Train it again, or pick another run with `tunelab runs list`."
        )
    return info


def load_model(run: Run) -> LoadedModel:
    """Rebuild the run's network from ``model.json`` and load ``model.safetensors``."""
    info = model_info(run)
    if not run.weights_path.is_file():
        note = run.path / "weights-removed.txt"  # written by the tuner's --keep-weights
        if note.is_file():
            raise TunelabError(
                f"run {run.name!r} has no saved weights: the tuner removed them "
                f"({note.read_text().strip()}). Retrain its knobs with `tunelab train --config "
                f"{run.config_path}`, or pick one of the best trials."
            )
        why = "it diverged, so no weights were kept" if run.status == "diverged" else "missing"
        raise TunelabError(
            f"run {run.name!r} has no saved weights ({run.weights_path.name}: {why}). "
            "Train it again with a lower learning rate, or pick another run."
        )
    from safetensors.torch import load_file

    try:
        model = rebuild(info)
    except (ValueError, TypeError, IndexError, KeyError) as err:
        raise TunelabError(
            f"run {run.name!r} has a damaged model.json ({type(err).__name__}: "
            f"{' '.join(str(err).split())[:120]}). Restore it, or train the run again."
        ) from None
    try:
        weights = load_file(str(run.weights_path))
    except Exception as err:  # safetensors raises its own SafetensorError for a cut file
        raise TunelabError(
            f"run {run.name!r} has a damaged {run.weights_path.name} ("
            f"{' '.join(str(err).split())[:120] or type(err).__name__}): it was cut short or "
            "changed. Train the run again."
        ) from None
    try:
        model.load_state_dict(weights)
    except (RuntimeError, OSError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise TunelabError(
            f"the weights of run {run.name!r} do not fit its model {info['model']!r} "
            f"({first}). The run folder was changed by hand; train it again."
        ) from None
    model.eval()
    return LoadedModel(model, info, run)


def rebuild(info: dict[str, Any]) -> torch.nn.Module:
    """The untrained network ``model.json`` describes (an ensemble: each member's)."""
    from tunelab.models import create_model

    if info["model"] == "ensemble":
        from tunelab.evaluation.ensemble import Ensemble

        members = [{**info, **spec} for spec in info["members"]]
        return Ensemble(
            [rebuild(m) for m in members],
            [str(m.get("loss", "cross-entropy")) for m in members],
            [float(m["weight"]) for m in members],
        )
    return create_model(
        str(info["model"]),
        in_channels=int(info["in_channels"]),
        num_classes=int(info["num_classes"]),
        input_size=(int(info["input_size"][0]), int(info["input_size"][1])),
        activation=str(info.get("activation", "relu")),
        dropout=float(info.get("dropout", 0.0)),
    )


def run_validation_data(run: Run, info: dict[str, Any]) -> tuple[ImageDataset, np.ndarray]:
    """The run's data set, reloaded as it was trained, and its validation indices."""
    from tunelab.data import load_dataset

    source = str(info.get("data", ""))
    try:
        dataset = load_dataset(source, input_size=tuple(info["input_size"]))
    except TunelabError as err:
        raise TunelabError(
            f"cannot reload the data of run {run.name!r} ({err}). Give the data to "
            "evaluate on: `tunelab evaluate RUN DATA`."
        ) from None
    if list(dataset.class_names) != [str(c) for c in info["class_names"]]:
        raise TunelabError(
            f"the data of run {run.name!r} ({source!r}) has changed since training: its "
            f"classes are now {', '.join(dataset.class_names)} (the run knows "
            f"{', '.join(map(str, info['class_names']))}). Give the data to evaluate on: "
            "`tunelab evaluate RUN DATA`."
        )
    indices = np.asarray(info.get("val_indices", []), dtype=np.int64)
    if indices.size == 0 or indices.max() >= len(dataset):
        raise TunelabError(
            f"the data of run {run.name!r} ({source!r}) has changed since training: its "
            f"validation images no longer exist ({len(dataset)} images now). Give the data "
            "to evaluate on: `tunelab evaluate RUN DATA`."
        )
    return dataset, indices


def labelled_data(source: str | Path, info: dict[str, Any]) -> tuple[ImageDataset, np.ndarray]:
    """Another labelled data set, resized for the run, with labels in the run's numbering.

    Its class names must be among the run's (matched by name; it may hold fewer).
    Returns the data set and its labels mapped to the run's class indices.
    """
    from tunelab.data import load_dataset

    dataset = load_dataset(source, input_size=tuple(info["input_size"]))
    known = [str(c) for c in info["class_names"]]
    unknown = [name for name in dataset.class_names if name not in known]
    if unknown:
        raise TunelabError(
            f"class {unknown[0]!r} of {str(source)!r} is not one the run was trained on."
            f"{did_you_mean(unknown[0], known)} The run's classes: {', '.join(known)}. "
            "Rename or remove that class folder."
        )
    check_channels(dataset.channels, int(info["in_channels"]), str(source))
    index = {name: i for i, name in enumerate(known)}
    mapping = np.array([index[name] for name in dataset.class_names], dtype=np.int64)
    return dataset, mapping[dataset.labels]


def check_channels(found: int, expected: int, where: str) -> None:
    if found != expected:
        raise TunelabError(
            f"{where!r} has {found}-channel images but the model expects {expected} "
            f"channel{'s' if expected != 1 else ''}. Convert the images (e.g. "
            f"{'to grayscale' if expected == 1 else f'to {expected} channels'}) or use a model "
            "trained on images like these."
        )
