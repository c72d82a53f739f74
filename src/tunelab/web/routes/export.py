"""Downloads: a run's model as ONNX, TorchScript, or safetensors with its config, in one file."""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from tunelab.errors import TunelabError
from tunelab.web.routes.deps import jobs_of
from tunelab.web.routes.runs import get_run
from tunelab.web.security import WebError

router = APIRouter(tags=["export"])
#: Download format -> (file suffix, media type, what the user gets).
FORMATS = {
    "onnx": (".onnx", "application/octet-stream", "ONNX model (onnxruntime, `tunelab predict`)"),
    "torchscript": (".pt", "application/octet-stream", "TorchScript model (torch.jit.load)"),
    "safetensors": (
        ".zip",
        "application/zip",
        "model.safetensors + model.json + config.yaml (tunelab, `--init-from`)",
    ),
}


@router.get("/export/formats")
def export_formats() -> dict[str, Any]:
    return {"formats": {name: about for name, (_, _, about) in FORMATS.items()}}


@router.get("/runs/{name}/export")
def export_run(request: Request, name: str, format: str = Query("onnx", max_length=20)) -> Response:
    """The run's model in ``format`` as a download (written to a temporary folder, never
    into the run folder)."""
    from tunelab.errors import unknown_choice

    if format not in FORMATS:
        raise WebError(400, str(unknown_choice("export format", format, FORMATS)))
    run = get_run(request, name)
    if name in jobs_of(request).running_runs():
        raise WebError(409, f"run {name!r} is still training. Export it when it has ended.")
    if not run.weights_path.is_file():
        raise WebError(
            409, f"run {name!r} kept no weights (it diverged, or a tune dropped them): no model."
        )
    suffix, media, _ = FORMATS[format]
    filename = f"{name}{suffix}"
    if format == "safetensors":
        body = _bundle(run.path)
    else:
        from tunelab.evaluation.export import export_model

        folder = Path(tempfile.mkdtemp(prefix="tunelab-export-"))
        try:
            path = export_model(run, format, folder / filename)
            body = path.read_bytes()
        except TunelabError as err:
            raise WebError(400, str(err)) from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _bundle(folder: Path) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for part in ("model.safetensors", "model.json", "config.yaml", "summary.json"):
            if (folder / part).is_file():
                archive.write(folder / part, part)
    return out.getvalue()
