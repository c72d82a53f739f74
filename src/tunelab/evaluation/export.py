"""Export a run's model to ONNX or TorchScript, with what is needed to use it.

Both formats take float32 images ``(N, C, H, W)`` scaled to [0, 1] (8-bit pixels divided
by 255, 16-bit by 65535) and return class probabilities ``(N, num_classes)`` (the run's
loss decides softmax or normalised sigmoid), so no post-processing is needed. The batch
size is free. The metadata (class names, input size, channels, scaling) travels inside
the file - ONNX ``metadata_props["tunelab"]`` as JSON, TorchScript extra file
``tunelab.json`` - and in a sidecar ``<file>.json``.

>>> export_model(resolve_run("latest"), "onnx")  # doctest: +SKIP
PosixPath('tunelab-runs/.../model.onnx')
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

from tunelab.errors import unknown_choice
from tunelab.evaluation.load import LoadedModel, load_model
from tunelab.runs import Run
from tunelab.runs.store import atomic_write, usual_mode

FORMATS = {"onnx": ".onnx", "torchscript": ".pt"}
METADATA_KEY = "tunelab"
INPUT_NAME = "images"
OUTPUT_NAME = "probabilities"
OPSET = 17


def metadata(loaded: LoadedModel) -> dict[str, Any]:
    """What a user of the exported file needs to know, as plain JSON-able data."""
    from tunelab import __version__

    info = loaded.info
    height, width = loaded.input_size
    return {
        "format": "tunelab-model",
        "tunelab_version": __version__,
        "run": loaded.run.name,
        "model": info["model"],
        "activation": info.get("activation"),
        "loss": loaded.loss,
        "class_names": loaded.class_names,
        "num_classes": len(loaded.class_names),
        "in_channels": loaded.in_channels,
        "input_size": [height, width],
        "input": {
            "name": INPUT_NAME,
            "shape": ["batch", loaded.in_channels, height, width],
            "dtype": "float32",
            "layout": "NCHW",
        },
        "output": {"name": OUTPUT_NAME, "shape": ["batch", len(loaded.class_names)]},
        "scaling": (
            "resize each image to input_size (bilinear), then divide 8-bit pixels by 255 "
            "and 16-bit pixels by 65535 (float images: values in [0, 1])"
        ),
        "training_data": info.get("data"),
        "training_max_value": info.get("max_value"),
    }


def _with_probabilities(loaded: LoadedModel) -> Any:
    import torch

    from tunelab.training.losses import probabilities

    class WithProbabilities(torch.nn.Module):
        def __init__(self, model: torch.nn.Module, loss: str) -> None:
            super().__init__()
            self.model = model
            self.loss = loss

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            return probabilities(self.loss, self.model(images))

    return WithProbabilities(loaded.model, loaded.loss).eval()


def default_path(run: Run, fmt: str) -> Path:
    return run.path / f"model{FORMATS[fmt]}"


def export_model(run: Run, fmt: str, out: str | Path | None = None) -> Path:
    """Write the run's model as ``fmt`` (``onnx`` or ``torchscript``) plus ``<out>.json``.

    ``out`` defaults to ``model.onnx`` / ``model.pt`` in the run folder.
    """
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise unknown_choice("export format", fmt, FORMATS)
    loaded = load_model(run)
    path = Path(out) if out is not None else default_path(run, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = metadata(loaded)
    # Written beside the target and renamed over it: a failed export leaves no half file.
    partial = path.with_name(f".{path.name}.partial{path.suffix}")
    try:
        if fmt == "onnx":
            _export_onnx(loaded, partial, meta)
        else:
            _export_torchscript(loaded, partial, meta)
        usual_mode(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    sidecar = path.with_name(path.name + ".json")
    atomic_write(sidecar, json.dumps({**meta, "file": path.name}, indent=2) + "\n")
    return path


def _example(loaded: LoadedModel) -> Any:
    import torch

    height, width = loaded.input_size
    return torch.rand(
        2, loaded.in_channels, height, width, generator=torch.Generator().manual_seed(0)
    )


def _export_onnx(loaded: LoadedModel, path: Path, meta: dict[str, Any]) -> None:
    import onnx
    import torch

    module = _with_probabilities(loaded)
    with warnings.catch_warnings():
        # The TorchScript-based exporter is deprecated but needs no onnxscript.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (_example(loaded),),
            str(path),
            dynamo=False,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=OPSET,
        )
    model = onnx.load(str(path))
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(meta)
    model.doc_string = (
        f"tunelab {meta['model']} classifier for {meta['num_classes']} classes: "
        f"{', '.join(meta['class_names'][:10])}"
    )
    onnx.save(model, str(path))


def _export_torchscript(loaded: LoadedModel, path: Path, meta: dict[str, Any]) -> None:
    import torch

    module = _with_probabilities(loaded)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(module, (_example(loaded),))
        torch.jit.save(traced, str(path), _extra_files={f"{METADATA_KEY}.json": json.dumps(meta)})
