"""Predict and review (Piximi's core loop): a model predicts unlabelled images, the user
accepts or corrects each label with one click, the image moves into its class folder
(recorded, undoable), and the data set is ready to retrain on.

Every path is confined to the data roots; the moves are :mod:`tunelab.data.labels`'.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from tunelab.errors import TunelabError
from tunelab.web.routes.deps import settings_of
from tunelab.web.security import WebError, confine

router = APIRouter(tags=["review"])
MAX_IMAGES = 2000


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    run: str = Field(..., max_length=200)
    images: str = Field(..., max_length=4096)


class LabelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dataset: str = Field(..., max_length=4096)
    image: str = Field(..., max_length=4096)
    label: str = Field(..., max_length=64)


class UndoRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dataset: str = Field(..., max_length=4096)


@router.post("/review/predict")
def predict_images(request: Request, body: PredictRequest) -> dict[str, Any]:
    """Every image under ``images`` with its predicted class and confidence (top 3)."""
    from tunelab.evaluation.predict import list_images, predict, resolve_predictor
    from tunelab.runs.store import check_name

    settings = settings_of(request)
    check_name(body.run)
    folder = confine(body.images, settings.data_roots)
    paths = [confine(str(path), settings.data_roots) for path in list_images(folder)]
    if len(paths) > MAX_IMAGES:
        raise WebError(
            413,
            f"{len(paths)} images under {body.images!r}; at most {MAX_IMAGES} are reviewed at "
            "once. Choose a smaller folder.",
        )
    predictor = resolve_predictor(body.run, settings.runs_dir)
    rows, skipped = predict(predictor, paths, top_k=3, skip_bad=True)
    return {
        "run": body.run,
        "images": str(folder),
        "classes": list(predictor.class_names),
        "predictions": [row.to_dict() for row in rows],
        "skipped": [{"path": path, "reason": reason} for path, reason in skipped],
    }


@router.get("/review/image")
def review_image(request: Request, path: str = Query(..., max_length=4096)) -> Response:
    """One image under the data roots as a PNG (scaled up for small crops)."""
    from tunelab.data.decode import decode_image
    from tunelab.data.problems import BadFileError
    from tunelab.web.datasets import to_png

    file = confine(path, settings_of(request).data_roots)
    if not file.is_file():
        raise WebError(404, f"no image {path!r} under the data roots (moved or deleted?).")
    try:
        image = decode_image(file)
    except BadFileError as err:
        raise WebError(400, f"cannot show {path!r}: {err.reason}.") from None
    return Response(to_png(image, None), media_type="image/png")


@router.post("/review/label")
def label_image(request: Request, body: LabelRequest) -> dict[str, Any]:
    """Move the image into ``dataset/<label>/``; the move is recorded and can be undone."""
    from tunelab.data.labels import assign_label

    roots = settings_of(request).data_roots
    dataset = confine(body.dataset, roots)
    image = confine(body.image, roots)
    target = dataset / body.label
    confine(str(target), roots)  # a label cannot lead out of the data set
    try:
        move = assign_label(dataset, image, body.label)
    except TunelabError as err:
        raise WebError(400, str(err)) from None
    return {"source": move.source, "target": move.target, "label": move.label}


@router.post("/review/undo")
def undo_label(request: Request, body: UndoRequest) -> dict[str, Any]:
    """Undo the data set's last label move (the image goes back where it was)."""
    from tunelab.data.labels import undo_last

    dataset = confine(body.dataset, settings_of(request).data_roots)
    try:
        move = undo_last(dataset)
    except TunelabError as err:
        raise WebError(409, str(err)) from None
    if move is None:
        raise WebError(409, f"nothing to undo: no label moves are recorded in {body.dataset!r}.")
    return {"source": move.source, "target": move.target, "label": move.label}


@router.get("/review/moves")
def label_moves(request: Request, dataset: str = Query(..., max_length=4096)) -> dict[str, Any]:
    """The label moves recorded for a data set, oldest first."""
    from tunelab.data.labels import moves

    folder = confine(dataset, settings_of(request).data_roots)
    return {"dataset": str(folder), "moves": [vars(move) for move in moves(Path(folder))]}
