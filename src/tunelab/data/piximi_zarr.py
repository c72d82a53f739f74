"""Piximi's current project file: the ``.zip`` from "Save project", a zarr (v2) store.

The zip holds one ``<name>.zarr/`` folder (Piximi also puts the TF.js model files next to
it). The root group's ``version`` attribute selects the layout, as in Piximi's own
``deserializeProject`` (``src/utils/file-io/deserialize/``):

* ``0.1.0``: ``project/images`` (attr ``image_names``), one group per image with
  ``image_id``, ``active_plane``, ``class_category_id`` and the pixels in a dataset named
  like the image (``bit_depth`` attr); ``project/categories`` (``category_id``, ``name``).
  An image is unlabelled when its category is Piximi's unknown id; there is no partition.
* ``0.2`` up to ``1.0``: ``project/things`` (attr ``thing_names``), each with ``thing_id``,
  ``active_plane``, ``class_category_id``, ``classifier_partition`` and ``kind``;
  ``project/kinds`` (``kind_id``, ``unknown_category_id``) and ``project/categories``.
* ``1.1``: as 0.2, and ``project/kinds`` has ``display_name``.
* Piximi 2's layout (``readV2``/``writeV2``, versions from 1.2): a ``data`` group whose
  sub-groups hold parallel attribute arrays (``images``: ``image_id``, ``name``,
  ``category_id``, ``active_plane_id``, ``partition``; ``planes``; ``categories`` with
  ``is_unknown_B`` and ``type``; ``channels``: ``channel_id``, ``plane_id``,
  ``bit_depth``), and one ``data/channels/<channel_id>/data`` array of 8- or 16-bit
  integers ``(height, width)`` per channel of each plane.

Up to 1.1, pixels are float32 ``(planes, height, width, channels)`` scaled to [0, 1];
they are turned back into 8- or 16-bit integers by their ``bit_depth``. Things of other kinds than
``Image`` (annotation objects) are left out.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from tunelab.data.piximi_types import (
    UNKNOWN_CATEGORY_ID,
    PiximiImage,
    PiximiProject,
    ProjectError,
    to_integers,
)


def parse_version(text: Any) -> tuple[int, int, int] | None:
    """``"1.1.0"`` (or ``"v1.1"``) -> ``(1, 1, 0)``; None when it is not a version."""
    match = re.fullmatch(r"\s*[=v]*(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+].*)?\s*", str(text))
    if match is None:
        return None
    return tuple(int(part or 0) for part in match.groups())  # type: ignore[return-value]


def read_zarr_project(path: Path) -> PiximiProject:
    """Read a Piximi ``.zip`` project; raise :class:`ProjectError` naming what is wrong."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ProjectError(path, f"it is not a readable zip file ({exc})") from None
    roots = sorted({n.split("/")[0] for n in names if n.split("/")[0].endswith(".zarr")})
    if len(roots) != 1:
        raise ProjectError(
            path,
            f"it holds {len(roots)} '<name>.zarr/' folders, Piximi's project files hold "
            "exactly one",
        )
    import zarr

    try:
        store = zarr.storage.ZipStore(path, mode="r")
        try:
            root = zarr.open_group(store=store, path=roots[0], mode="r", zarr_format=2)
        except TypeError:  # zarr 2 (Python 3.10) reads format 2 without being told
            root = zarr.open_group(store=store, path=roots[0], mode="r")
        raw_version = root.attrs.get("version")
    except Exception as exc:  # a damaged store: say so in one line
        raise ProjectError(path, f"its zarr store cannot be opened ({_why(exc)})") from None
    version = parse_version(raw_version)
    if raw_version is None:
        raise ProjectError(path, "its root has no 'version' attribute")
    if version is None or version < (0, 1, 0):
        raise ProjectError(
            path, f"its version {raw_version!r} is not one Piximi reads (0.1.0 and later)"
        )
    if version >= (3, 0, 0):
        raise ProjectError(
            path, f"its version {raw_version} is newer than the layouts tunelab reads (0.1 to 2.x)"
        )
    try:
        name = roots[0][: -len(".zarr")]
        if "project" not in root and "data" in root:  # Piximi 2's layout (1.2 and later)
            data = _group(root, "data", path)
            name = str(data.attrs.get("experiment_name") or name)
            images, ignored = _read_v2(data, path)
        else:
            project = _group(root, "project", path)
            name = str(project.attrs.get("name") or name)
            if version == (0, 1, 0):
                images, ignored = _read_v01(project, path)
            else:
                images, ignored = _read_things(project, path, version >= (1, 1, 0))
    except ProjectError:
        raise
    except Exception as exc:  # truncated chunks, wrong shapes, missing keys deep inside
        raise ProjectError(path, f"its data cannot be read ({_why(exc)})") from None
    finally:
        store.close()
    return PiximiProject(
        name=name,
        version=str(raw_version),
        format="zarr",
        images=images,
        ignored_objects=ignored,
    )


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _group(parent: Any, key: str, path: Path) -> Any:
    import zarr

    if key not in parent or not isinstance(parent[key], zarr.Group):
        where = parent.path or "the root"
        raise ProjectError(path, f"group {where}/{key} is missing")
    return parent[key]


def _attr(node: Any, key: str, path: Path) -> Any:
    if key not in node.attrs:
        raise ProjectError(path, f"attribute {key!r} of {node.path!r} is missing")
    return node.attrs[key]


def _pixels(group: Any, name: str, plane: int, path: Path) -> tuple[np.ndarray, int]:
    if name not in group:
        raise ProjectError(path, f"image {name!r} has no pixel dataset")
    dataset = group[name]
    bit_depth = int(_attr(dataset, "bit_depth", path))
    data = np.asarray(dataset[...])
    if data.ndim != 4:
        raise ProjectError(
            path, f"image {name!r} has pixels of shape {data.shape}, not (planes, h, w, c)"
        )
    plane = min(max(int(plane or 0), 0), data.shape[0] - 1)
    return to_integers(data[plane].transpose(2, 0, 1), bit_depth, name, path), data.shape[0]


def _categories(project: Any, path: Path) -> dict[str, str]:
    group = _group(project, "categories", path)
    ids = list(_attr(group, "category_id", path))
    names = list(_attr(group, "name", path))
    if len(ids) != len(names):
        raise ProjectError(path, f"its categories list {len(ids)} ids but {len(names)} names")
    return {str(i): str(n) for i, n in zip(ids, names, strict=True)}


def _read_v01(project: Any, path: Path) -> tuple[list[PiximiImage], int]:
    group = _group(project, "images", path)
    categories = _categories(project, path)
    images = []
    for name in _attr(group, "image_names", path):
        image = _group(group, str(name), path)
        category = str(_attr(image, "class_category_id", path))
        pixels, planes = _pixels(image, str(name), image.attrs.get("active_plane", 0), path)
        known = category != UNKNOWN_CATEGORY_ID and category in categories
        images.append(
            PiximiImage(
                name=str(name),
                pixels=pixels,
                category=categories[category] if known else None,
                partition="Unassigned" if known else "Inference",
                planes=planes,
            )
        )
    return images, 0


def _read_things(
    project: Any, path: Path, with_display_names: bool
) -> tuple[list[PiximiImage], int]:
    group = _group(project, "things", path)
    kinds = _group(project, "kinds", path)
    kind_ids = [str(k) for k in _attr(kinds, "kind_id", path)]
    shown = _attr(kinds, "display_name", path) if with_display_names else kind_ids
    display = dict(zip(kind_ids, (str(s) for s in shown), strict=False))
    unknown = {str(u) for u in _attr(kinds, "unknown_category_id", path)} | {UNKNOWN_CATEGORY_ID}
    categories = _categories(project, path)
    images, ignored = [], 0
    for name in _attr(group, "thing_names", path):
        thing = _group(group, str(name), path)
        kind = str(_attr(thing, "kind", path))
        if display.get(kind, kind) != "Image":
            ignored += 1
            continue
        category = str(_attr(thing, "class_category_id", path))
        pixels, planes = _pixels(thing, str(name), thing.attrs.get("active_plane", 0), path)
        known = category not in unknown and category in categories
        images.append(
            PiximiImage(
                name=str(name),
                pixels=pixels,
                category=categories[category] if known else None,
                partition=str(thing.attrs.get("classifier_partition", "Unassigned")),
                planes=planes,
            )
        )
    return images, ignored


def _columns(group: Any, keys: tuple[str, ...], path: Path) -> list[dict[str, Any]]:
    """A v2 group's parallel attribute arrays as one dict per entry."""
    values = [list(_attr(group, key, path)) for key in keys]
    if len({len(v) for v in values}) > 1:
        raise ProjectError(path, f"the attribute arrays of {group.path!r} differ in length")
    return [dict(zip(keys, row, strict=True)) for row in zip(*values, strict=True)]


def _read_v2(data: Any, path: Path) -> tuple[list[PiximiImage], int]:
    images = _columns(
        _group(data, "images", path),
        ("image_id", "name", "category_id", "active_plane_id", "partition"),
        path,
    )
    planes = _columns(_group(data, "planes", path), ("plane_id", "image_id", "z_index"), path)
    categories = _columns(
        _group(data, "categories", path), ("category_id", "name", "is_unknown_B", "type"), path
    )
    named = {
        str(c["category_id"]): str(c["name"])
        for c in categories
        if not c["is_unknown_B"] and c["type"] == "image"
    }
    group = _group(data, "channels", path)
    by_plane: dict[str, list[dict[str, Any]]] = {}
    for channel in _columns(group, ("channel_id", "plane_id", "bit_depth"), path):
        by_plane.setdefault(str(channel["plane_id"]), []).append(channel)
    plane_count: dict[str, int] = {}
    for plane in planes:
        plane_count[str(plane["image_id"])] = plane_count.get(str(plane["image_id"]), 0) + 1
    out = []
    for image in images:
        name, plane_id = str(image["name"]), str(image["active_plane_id"])
        channels = by_plane.get(plane_id)
        if not channels:
            raise ProjectError(path, f"image {name!r} has no channels for its active plane")
        arrays = []
        for channel in channels:
            key = str(channel["channel_id"])
            pixels = np.asarray(_group(group, key, path)["data"][...])
            depth = int(channel["bit_depth"])
            if depth not in (8, 16) or pixels.ndim != 2:
                raise ProjectError(
                    path, f"channel {key!r} of image {name!r} is not an 8- or 16-bit plane"
                )
            arrays.append(pixels.astype(np.uint8 if depth == 8 else np.uint16))
        if len({a.dtype for a in arrays}) > 1:
            arrays = [a.astype(np.uint16) * (257 if a.dtype == np.uint8 else 1) for a in arrays]
        category = str(image["category_id"])
        out.append(
            PiximiImage(
                name=name,
                pixels=np.stack(arrays),
                category=named.get(category),
                partition=str(image["partition"] or "Unassigned"),
                planes=plane_count.get(str(image["image_id"]), 1),
            )
        )
    annotations = (
        data["annotations"].attrs.get("annotation_id", []) if "annotations" in data else []
    )
    return out, len(annotations)
