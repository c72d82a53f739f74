"""Uploads: start a file, send it in chunks, finish (checked, then moved into place)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from tunelab.web.uploads import CHUNK_BYTES, Uploads

router = APIRouter(tags=["upload"])


class StartUpload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    folder: str = Field(..., max_length=4096)
    path: str = Field(..., max_length=1024)
    size: int = Field(..., ge=0)


def uploads_of(request: Request) -> Uploads:
    uploads: Uploads = request.app.state.uploads
    return uploads


@router.post("/uploads", status_code=201)
def start_upload(request: Request, body: StartUpload) -> dict[str, Any]:
    """Check the file's place, type and size before a byte is sent."""
    upload = uploads_of(request).start(body.folder, body.path, body.size)
    return {"id": upload.id, "chunk_bytes": CHUNK_BYTES, "target": str(upload.target)}


@router.put("/uploads/{upload_id}")
async def upload_chunk(
    request: Request, upload_id: str, offset: int = Query(..., ge=0)
) -> dict[str, Any]:
    from fastapi.concurrency import run_in_threadpool

    data = await request.body()
    upload = await run_in_threadpool(uploads_of(request).chunk, upload_id, offset, data)
    return {"id": upload.id, "received": upload.received, "size": upload.size}


@router.post("/uploads/{upload_id}/finish")
def finish_upload(request: Request, upload_id: str) -> dict[str, Any]:
    return uploads_of(request).finish(upload_id)


@router.delete("/uploads/{upload_id}")
def cancel_upload(request: Request, upload_id: str) -> dict[str, Any]:
    uploads_of(request).cancel(upload_id)
    return {"cancelled": upload_id}
