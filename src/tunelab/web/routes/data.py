"""Data sets: browse the allowed roots, describe a data set, thumbnails."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from tunelab.web import datasets
from tunelab.web.routes.deps import settings_of

router = APIRouter(tags=["data"])


@router.get("/roots")
def roots(request: Request) -> dict[str, Any]:
    settings = settings_of(request)
    return {
        "roots": [str(root) for root in settings.data_roots],
        "builtin": ["digits"] if settings.allow_digits else [],
    }


@router.get("/browse")
def browse(request: Request, path: str | None = Query(None, max_length=4096)) -> dict[str, Any]:
    return datasets.browse(settings_of(request), path)


@router.get("/datasets")
async def describe(request: Request, path: str = Query(..., max_length=4096)) -> dict[str, Any]:
    return await run_in_threadpool(datasets.describe, settings_of(request), path)


@router.get("/datasets/thumbnail")
async def thumbnail(
    request: Request,
    path: str = Query(..., max_length=4096),
    cls: str = Query(..., max_length=512),
    index: int = Query(0, ge=0, le=1_000_000),
    channels: str | None = Query(None, max_length=200, pattern=r"^\d{1,3}(,\d{1,3})*$"),
    side: int | None = Query(None, ge=16, le=512),
) -> Response:
    """One image as a PNG: its channels (``channels=0,2`` shows those) composited in colour;
    ``side`` enlarges it (click a thumbnail)."""
    shown = [int(c) for c in channels.split(",")] if channels else None
    png = await run_in_threadpool(
        datasets.thumbnail, settings_of(request), path, cls, index, shown, side
    )
    return Response(png, media_type="image/png", headers={"Cache-Control": "max-age=300"})
