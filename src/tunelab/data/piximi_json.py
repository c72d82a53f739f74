"""Piximi's older single-JSON project (the format of its example projects).

``{"project": {"serializedImages": [...], "categories": [...], "name": ...}, ...}``. Each
image has ``imageData``: per plane, per channel, a ``data:image/png;base64,...`` PNG (one
grey plane per channel); ``imageCategoryId``, ``imagePartition`` (``Training``,
``Validation``, ``Inference``), ``imageFilename``. Older files hold one PNG data URI as
``imageData`` (RGB or grey): its channels are kept as they are. Categories are
``{id, name, ...}``; the all-zero id is Piximi's "Unknown" (unlabelled).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from tunelab.data.piximi_types import (
    UNKNOWN_CATEGORY_ID,
    PiximiImage,
    PiximiProject,
    ProjectError,
    partition_name,
)


def read_json_project(path: Path) -> PiximiProject:
    """Read an old Piximi ``.json`` project; raise :class:`ProjectError` on a bad one."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ProjectError(
            path, f"it is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(path, f"it cannot be read as UTF-8 text ({exc})") from None
    project = document.get("project") if isinstance(document, dict) else None
    if not isinstance(project, dict) or not isinstance(project.get("serializedImages"), list):
        raise ProjectError(path, "it has no 'project.serializedImages' list")
    categories = {
        str(c.get("id")): str(c.get("name"))
        for c in project.get("categories", [])
        if isinstance(c, dict) and c.get("id") is not None
    }
    images = [
        _image(entry, index, categories, path)
        for index, entry in enumerate(project["serializedImages"])
    ]
    return PiximiProject(
        name=str(project.get("name", path.stem)),
        version=str(document.get("version", "")),
        format="json",
        images=images,
    )


def _image(entry: Any, index: int, categories: dict[str, str], path: Path) -> PiximiImage:
    if not isinstance(entry, dict):
        raise ProjectError(path, f"serializedImages[{index}] is not an object")
    name = str(entry.get("imageFilename") or entry.get("imageId") or f"image{index}")
    data = entry.get("imageData")
    if isinstance(data, str):
        pixels = _decode_png(data, name, path, grey=False)
    elif isinstance(data, list) and data and isinstance(data[0], list) and data[0]:
        planes_ = [_decode_png(src, name, path, grey=True) for src in data[0]]
        if len({p.shape[1:] for p in planes_}) > 1:
            raise ProjectError(path, f"image {name!r} has channels of different sizes")
        if any(p.dtype == np.uint16 for p in planes_):  # 8-bit channels join 16-bit ones
            planes_ = [p.astype(np.uint16) * (257 if p.dtype == np.uint8 else 1) for p in planes_]
        pixels = np.concatenate(planes_)
    else:
        raise ProjectError(path, f"image {name!r} has no imageData PNGs")
    planes = len(data) if isinstance(data, list) else 1
    category = str(entry.get("imageCategoryId", UNKNOWN_CATEGORY_ID))
    known = category != UNKNOWN_CATEGORY_ID and category in categories
    return PiximiImage(
        name=name,
        pixels=pixels,
        category=categories[category] if known else None,
        partition=partition_name(entry.get("imagePartition", "Unassigned")),
        planes=planes,
    )


def _decode_png(src: Any, name: str, path: Path, grey: bool) -> np.ndarray:
    """A ``data:image/...;base64,`` URI -> ``(C, H, W)`` uint8/uint16 pixels."""
    from PIL import Image, UnidentifiedImageError

    text = str(src)
    payload = text.split(",", 1)[1] if text.startswith("data:") and "," in text else text
    try:
        with Image.open(io.BytesIO(base64.b64decode(payload, validate=True))) as opened:
            opened.load()
            array = _plane_array(opened, grey)
    except (binascii.Error, ValueError, OSError, UnidentifiedImageError) as exc:
        raise ProjectError(
            path, f"image {name!r} has a PNG that cannot be decoded ({exc})"
        ) from None
    return np.ascontiguousarray(array)


def _plane_array(image: Any, grey: bool) -> np.ndarray:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        return np.asarray(image, dtype=np.uint16)[None]
    if grey and image.mode != "L":
        image = image.convert("L")
    elif image.mode not in ("L", "RGB", "RGBA"):
        image = image.convert("RGB")
    array = np.asarray(image)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
