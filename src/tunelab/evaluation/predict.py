"""Classify image files with a stored run or an exported model (ONNX or TorchScript).

Images are decoded the way the data package decodes them (:func:`tunelab.data.decode.
decode_image`), resized to the model's input size, and scaled by their bit depth (8-bit
by 255, 16-bit by 65535; float images are kept if in [0, 1], otherwise stretched to it).
Their channel count must match the model's.

>>> rows = predict(resolve_predictor("latest"), "unlabelled/", top_k=3)  # doctest: +SKIP
>>> rows[0].predicted, rows[0].probability  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from tunelab.errors import TunelabError
from tunelab.runs.store import atomic_write

EXPORT_SUFFIXES = (".onnx", ".pt", ".torchscript")


class Predictor(Protocol):
    """Anything that turns float images ``(N, C, H, W)`` in [0, 1] into probabilities."""

    @property
    def name(self) -> str: ...

    @property
    def class_names(self) -> list[str]: ...

    @property
    def in_channels(self) -> int: ...

    @property
    def input_size(self) -> tuple[int, int]: ...

    def probabilities(self, images: np.ndarray) -> np.ndarray: ...


@dataclass
class Prediction:
    """One image's predicted class, its probability, and the ``top`` (class, probability)."""

    path: str
    predicted: str
    probability: float
    top: list[tuple[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "predicted": self.predicted,
            "probability": self.probability,
            "top": [{"class": c, "probability": p} for c, p in self.top],
        }


# ---- predictors -----------------------------------------------------------------------


@dataclass
class RunPredictor:
    """A stored run's PyTorch model."""

    loaded: Any  # tunelab.evaluation.load.LoadedModel

    @property
    def name(self) -> str:
        return str(self.loaded.run.name)

    @property
    def class_names(self) -> list[str]:
        return list(self.loaded.class_names)

    @property
    def in_channels(self) -> int:
        return int(self.loaded.in_channels)

    @property
    def input_size(self) -> tuple[int, int]:
        height, width = self.loaded.input_size
        return int(height), int(width)

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        import torch

        return self.loaded.probabilities(torch.from_numpy(images)).numpy()


@dataclass
class ExportedPredictor:
    """A model written by ``tunelab export``: ONNX (onnxruntime) or TorchScript."""

    path: Path
    metadata: dict[str, Any]
    session: Any

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def class_names(self) -> list[str]:
        return [str(c) for c in self.metadata["class_names"]]

    @property
    def in_channels(self) -> int:
        return int(self.metadata["in_channels"])

    @property
    def input_size(self) -> tuple[int, int]:
        height, width = self.metadata["input_size"]
        return int(height), int(width)

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        if self.path.suffix.lower() == ".onnx":
            name = self.session.get_inputs()[0].name
            return np.asarray(self.session.run(None, {name: images})[0])
        import torch

        with torch.no_grad():
            return self.session(torch.from_numpy(images)).numpy()


def load_exported(path: str | Path) -> ExportedPredictor:
    """Open an exported ``.onnx`` or TorchScript ``.pt`` model with its tunelab metadata."""
    from tunelab.evaluation.export import METADATA_KEY

    path = Path(path)
    if path.suffix.lower() == ".onnx":
        import onnx
        import onnxruntime as ort

        try:
            model = onnx.load(str(path), load_external_data=False)
            props = {p.key: p.value for p in model.metadata_props}
            text = props.get(METADATA_KEY)
            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as err:  # protobuf's DecodeError, onnxruntime's Fail, ...
            raise TunelabError(
                f"{str(path)!r} is not a readable ONNX model ({type(err).__name__}). Export "
                "the model again with `tunelab export RUN --format onnx` and use that file."
            ) from None
    else:
        import torch

        extra = {f"{METADATA_KEY}.json": ""}
        try:
            with warnings.catch_warnings():  # TorchScript is deprecated but still loads
                warnings.simplefilter("ignore", DeprecationWarning)
                session = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
        except RuntimeError as err:
            raise TunelabError(
                f"{str(path)!r} is not a TorchScript model ({str(err).splitlines()[0]}). "
                "Give a run name, or a model written by `tunelab export`."
            ) from None
        session.eval()
        text = extra[f"{METADATA_KEY}.json"] or None
    if not text:
        raise TunelabError(
            f"{str(path)!r} has no tunelab metadata (class names, input size). Export the "
            "model with `tunelab export RUN --format onnx` and use that file."
        )
    return ExportedPredictor(path, json.loads(text), session)


def resolve_predictor(model: str | Path, runs_dir: str | Path | None = None) -> Predictor:
    """An exported model file (``.onnx``, ``.pt``), a run folder, or a run name."""
    path = Path(model)
    if path.is_file() and path.suffix.lower() in EXPORT_SUFFIXES:
        return load_exported(path)
    if path.suffix.lower() in EXPORT_SUFFIXES and not path.exists():
        raise TunelabError(
            f"model file {str(path)!r} does not exist. Give an existing exported model or "
            "a run name (`tunelab runs list`)."
        )
    from tunelab.evaluation.load import load_model, resolve_run

    return RunPredictor(load_model(resolve_run(model, runs_dir)))


# ---- images ---------------------------------------------------------------------------


def list_images(source: str | Path) -> list[Path]:
    """One image file, every image in a folder (sub-folders included, naturally sorted), or
    a CSV manifest's unlabelled rows (all its rows when none is unlabelled)."""
    from tunelab.data.decode import IMAGE_EXTENSIONS
    from tunelab.data.sources import natural_key

    path = Path(source).expanduser()
    if path.is_file() and path.suffix.lower() == ".csv":
        from tunelab.data.manifest import read_manifest

        listing = read_manifest(path, skip_bad=True)
        return listing.unlabelled or [file for file, _ in listing.files]
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise TunelabError(
            f"images {str(path)!r} do not exist. Give an image file or a folder of images."
        )
    found: list[Path] = []
    for folder, dirs, names in os.walk(path, followlinks=True):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(
            Path(folder) / n
            for n in names
            if not n.startswith(".") and Path(n).suffix.lower() in IMAGE_EXTENSIONS
        )
    if not found:
        raise TunelabError(
            f"folder {str(path)!r} holds no images (allowed: "
            f"{', '.join(sorted(IMAGE_EXTENSIONS))}). Give a folder of images."
        )
    return sorted(found, key=lambda p: natural_key(str(p.relative_to(path))))


def read_image(path: str | Path, channels: int, input_size: tuple[int, int]) -> np.ndarray:
    """One image as float32 ``(C, H, W)`` in [0, 1], resized to ``input_size``."""
    from tunelab.data.decode import decode_image
    from tunelab.data.resize import resize_image
    from tunelab.evaluation.load import check_channels

    image = decode_image(path)
    check_channels(int(image.shape[0]), channels, str(path))
    image = resize_image(image, input_size)
    if image.dtype == np.uint8:
        return image.astype(np.float32) / np.float32(255)
    if image.dtype == np.uint16:
        return image.astype(np.float32) / np.float32(65535)
    floats = image.astype(np.float32)
    low, high = float(floats.min()), float(floats.max())
    if low < 0.0 or high > 1.0:
        floats = (floats - low) / (high - low) if high > low else np.zeros_like(floats)
    return np.clip(floats, 0.0, 1.0)


def predict(
    predictor: Predictor,
    images: str | Path | list[Path],
    *,
    top_k: int = 1,
    skip_bad: bool = False,
    batch_size: int = 256,
) -> tuple[list[Prediction], list[tuple[str, str]]]:
    """Classify ``images`` (a file, a folder, or a list of files).

    Returns the predictions, one per readable image, and ``(path, reason)`` for files
    skipped as unreadable (only with ``skip_bad=True``; otherwise the first one raises).
    """
    from tunelab.data.problems import BadFileError

    classes = predictor.class_names
    if not 1 <= top_k:
        raise TunelabError(f"top_k must be at least 1 (got {top_k}). Try --top-k 3.")
    top_k = min(top_k, len(classes))
    paths = images if isinstance(images, list) else list_images(images)
    rows: list[Prediction] = []
    skipped: list[tuple[str, str]] = []
    for start in range(0, len(paths), batch_size):
        arrays, kept = [], []
        for path in paths[start : start + batch_size]:
            try:
                arrays.append(read_image(path, predictor.in_channels, predictor.input_size))
            except BadFileError as error:
                if not skip_bad:
                    raise
                skipped.append((error.path, error.reason))
                continue
            kept.append(path)
        if not arrays:
            continue
        probs = predictor.probabilities(np.stack(arrays))
        order = np.argsort(-probs, axis=1, kind="stable")[:, :top_k]
        for path, p, best in zip(kept, probs, order, strict=True):
            top = [(classes[i], float(p[i])) for i in best]
            rows.append(Prediction(str(path), top[0][0], top[0][1], top))
    return rows, skipped


def write_predictions(rows: list[Prediction], out: str | Path, top_k: int = 1) -> Path:
    """CSV with ``path,predicted,probability`` and, for top-k > 1, ``class_2,probability_2``..."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    extra = max((len(r.top) for r in rows), default=1) if top_k > 1 else 1
    header = ["path", "predicted", "probability"]
    for rank in range(2, extra + 1):
        header += [f"class_{rank}", f"probability_{rank}"]
    handle = io.StringIO()
    writer = csv.writer(handle)
    writer.writerow(header)
    for row in rows:
        cells: list[Any] = [row.path, row.predicted, f"{row.probability:.6f}"]
        for name, prob in row.top[1:extra]:
            cells += [name, f"{prob:.6f}"]
        writer.writerow(cells)
    atomic_write(out, handle.getvalue())  # never a half-written CSV
    return out


def write_skipped(skipped: list[tuple[str, str]], out: str | Path) -> Path:
    """``<out>.skipped.csv`` beside the predictions: ``path,reason`` per skipped image."""
    out = Path(out)
    path = out.with_name(f"{out.stem}.skipped.csv")
    handle = io.StringIO()
    writer = csv.writer(handle)
    writer.writerow(["path", "reason"])
    writer.writerows(skipped)
    atomic_write(path, handle.getvalue())
    return path
