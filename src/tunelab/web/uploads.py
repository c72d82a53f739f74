"""Chunked uploads into a data root: images, folders of images, CSV manifests and Piximi
projects, written next to their target as a hidden part file and moved into place only
when complete and checked.

A file is started (its folder, relative path and size are checked: inside the roots, an
allowed type, within the size limit, not already there), sent in chunks at increasing
offsets (a chunk that repeats the last offset is taken again, so a retry is safe), and
finished: images must decode, a Piximi project (``.zip`` or ``.json``) is imported into a
data set folder beside it. Nothing outside the roots is written; a refused file leaves
nothing behind.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from tunelab.errors import TunelabError
from tunelab.web.security import WebError, confine
from tunelab.web.settings import WebSettings

MAX_FILE_BYTES = 512 * 1024 * 1024
CHUNK_BYTES = 1024 * 1024
PROJECT_SUFFIXES = (".zip", ".json")
OTHER_SUFFIXES = (".csv",)
_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._+()-]{0,127}")


@dataclass
class Upload:
    id: str
    target: Path
    part: Path
    size: int
    received: int = 0


class Uploads:
    """The uploads in progress on one server."""

    def __init__(self, settings: WebSettings) -> None:
        self.settings = settings
        self._open: dict[str, Upload] = {}
        self._lock = threading.Lock()

    def start(self, folder: str, path: str, size: int) -> Upload:
        from tunelab.data.decode import IMAGE_EXTENSIONS

        base = confine(folder, self.settings.data_roots)
        if not base.is_dir():
            raise WebError(404, f"no folder {folder!r} under the data roots to upload into.")
        relative = _relative(path)
        suffix = relative.suffix.lower()
        allowed = sorted(IMAGE_EXTENSIONS) + list(PROJECT_SUFFIXES) + list(OTHER_SUFFIXES)
        if suffix not in allowed:
            raise WebError(
                415,
                f"{path!r}: files of type {suffix or '(none)'!r} are not accepted. Allowed: "
                f"{', '.join(allowed)} (images, a CSV manifest, a Piximi project).",
            )
        if not 0 < size <= MAX_FILE_BYTES:
            raise WebError(
                413,
                f"{path!r}: size {size} bytes is outside 1 byte to {MAX_FILE_BYTES // 2**20} MB.",
            )
        target = base.joinpath(*relative.parts)
        confine(str(target), self.settings.data_roots)
        if target.exists():
            raise WebError(
                409, f"{path!r} already exists in {folder!r}; nothing is overwritten. Rename it."
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        confine(str(target.parent), self.settings.data_roots)  # a symlinked folder stays inside
        upload_id = uuid.uuid4().hex[:16]
        upload = Upload(upload_id, target, target.parent / f".{target.name}.{upload_id}.part", size)
        upload.part.write_bytes(b"")
        with self._lock:
            self._open[upload.id] = upload
        return upload

    def get(self, upload_id: str) -> Upload:
        with self._lock:
            upload = self._open.get(upload_id)
        if upload is None:
            raise WebError(404, f"no upload {upload_id!r} in progress (finished or cancelled?).")
        return upload

    def chunk(self, upload_id: str, offset: int, data: bytes) -> Upload:
        upload = self.get(upload_id)
        with self._lock:
            if offset == upload.received - len(data) and len(data) > 0:
                return upload  # a retry of the chunk just taken
            if offset != upload.received:
                raise WebError(
                    409,
                    f"chunk at offset {offset}, but {upload.received} bytes have arrived; "
                    f"send the chunk at offset {upload.received}.",
                )
            if upload.received + len(data) > upload.size:
                self._drop(upload)
                raise WebError(
                    413, f"{upload.target.name}: more bytes than the {upload.size} announced."
                )
            with open(upload.part, "ab") as handle:
                handle.write(data)
            upload.received += len(data)
        return upload

    def finish(self, upload_id: str) -> dict[str, Any]:
        upload = self.get(upload_id)
        with self._lock:
            self._open.pop(upload_id, None)
        if upload.received != upload.size:
            upload.part.unlink(missing_ok=True)
            raise WebError(
                400,
                f"{upload.target.name}: {upload.received} of {upload.size} bytes arrived; "
                "upload it again.",
            )
        suffix = upload.target.suffix.lower()
        try:
            if suffix in PROJECT_SUFFIXES:
                return self._import_project(upload)
            if suffix not in OTHER_SUFFIXES:
                _check_image(upload.part, upload.target.name)
        except (TunelabError, WebError):
            upload.part.unlink(missing_ok=True)
            raise
        if upload.target.exists():
            upload.part.unlink(missing_ok=True)
            raise WebError(409, f"{upload.target.name} appeared meanwhile; nothing overwritten.")
        os.replace(upload.part, upload.target)
        return {"path": str(upload.target), "bytes": upload.size, "kind": "file"}

    def cancel(self, upload_id: str) -> None:
        upload = self.get(upload_id)
        with self._lock:
            self._drop(upload)

    def _drop(self, upload: Upload) -> None:
        self._open.pop(upload.id, None)
        upload.part.unlink(missing_ok=True)

    def _import_project(self, upload: Upload) -> dict[str, Any]:
        from tunelab.data.piximi import import_piximi

        staged = upload.part.with_name(f".{upload.id}{upload.target.suffix}")
        os.replace(upload.part, staged)  # the reader goes by the file's suffix
        out = upload.target.with_suffix("")
        try:
            imported = import_piximi(staged, out)
        except TunelabError as err:
            raise WebError(400, f"{upload.target.name}: {err}") from None
        finally:
            staged.unlink(missing_ok=True)
        return {"path": str(imported.path), "kind": "piximi", "lines": imported.lines()}


def _relative(path: str) -> PurePosixPath:
    """A relative path of safe parts (a folder upload keeps its class folders)."""
    relative = PurePosixPath(path.replace("\\", "/"))
    parts = relative.parts
    if not parts or relative.is_absolute() or any(not _PART.fullmatch(p) for p in parts):
        raise WebError(
            400,
            f"invalid file name {path!r}: use a relative path of names made of letters, digits, "
            "spaces and ._+-() (no '..', no leading dot or slash).",
        )
    if len(parts) > 4:
        raise WebError(400, f"{path!r} is nested {len(parts)} deep; at most 4 levels are kept.")
    return relative


def _check_image(path: Path, name: str) -> None:
    from tunelab.data.decode import decode_image
    from tunelab.data.problems import BadFileError

    staged = path.with_name(path.name + Path(name).suffix)  # decoders look at the suffix
    os.replace(path, staged)
    try:
        decode_image(staged)
    except BadFileError as err:
        raise WebError(415, f"{name}: not a readable image ({err.reason}).") from None
    finally:
        if staged.exists():
            os.replace(staged, path)
