"""Small Piximi project files written the way Piximi writes them (no zarr library used).

The zarr ``.zip`` follows Piximi's ``serializeProject`` (``src/utils/file-io/serialize``):
a ``<name>.zarr/`` folder of zarr v2 groups (``.zgroup`` + ``.zattrs``) and arrays written
with ``chunks: false`` (one chunk, key ``0.0.0.0``, no compressor), pixels float32
``(planes, height, width, channels)`` in [0, 1] with a ``bit_depth`` attribute; the TF.js
model files sit next to the ``.zarr`` folder. The old JSON follows the example projects
(``mnistExampleProject.json``): base64 PNG planes per channel.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

UNKNOWN = "00000000-0000-0000-0000-000000000000"


@dataclass
class Img:
    name: str
    pixels: np.ndarray  # (C, H, W) uint8 or uint16
    category: str  # category id (UNKNOWN: unlabelled)
    partition: str = "Unassigned"


def images(channels: int = 1, dtype: str = "uint8", seed: int = 0) -> list[Img]:
    """Two classes (ids 'cat-a', 'cat-b'), 3 images each, plus 2 unlabelled images."""
    rng = np.random.default_rng(seed)
    top = 255 if dtype == "uint8" else 65535
    out = []
    for k, cat in enumerate(
        ["cat-a", "cat-a", "cat-a", "cat-b", "cat-b", "cat-b", UNKNOWN, UNKNOWN]
    ):
        pixels = rng.integers(0, top + 1, size=(channels, 6, 7)).astype(dtype)
        part = "Inference" if cat == UNKNOWN else ("Validation" if k in (2, 5) else "Training")
        out.append(Img(f"img{k}.png", pixels, cat, part))
    return out


CATEGORIES = [("cat-a", "alpha"), ("cat-b", "beta"), (UNKNOWN, "Unknown")]


class _Zarr:
    def __init__(self, zip_file: zipfile.ZipFile, root: str) -> None:
        self.zip, self.root = zip_file, root
        zip_file.writestr(f"{root}/", "")

    def group(self, path: str, attrs: dict) -> None:
        key = f"{self.root}/{path}".rstrip("/")
        if path:  # JSZip adds an entry for every folder (createFolders)
            self.zip.writestr(f"{key}/", "")
        self.zip.writestr(f"{key}/.zgroup", json.dumps({"zarr_format": 2}))
        self.zip.writestr(f"{key}/.zattrs", json.dumps(attrs))

    def array(self, path: str, data: np.ndarray, attrs: dict | None = None) -> None:
        key = f"{self.root}/{path}"
        meta = {
            "zarr_format": 2,
            "shape": list(data.shape),
            "chunks": list(data.shape),
            "dtype": data.dtype.str,
            "compressor": None,
            "fill_value": 0.0,
            "order": "C",
            "filters": None,
        }
        self.zip.writestr(f"{key}/.zarray", json.dumps(meta))
        self.zip.writestr(f"{key}/.zattrs", json.dumps(attrs or {}))
        self.zip.writestr(f"{key}/" + ".".join("0" * data.ndim), data.tobytes())


def _tensor(image: Img) -> tuple[np.ndarray, int]:
    depth = 8 if image.pixels.dtype == np.uint8 else 16
    scaled = image.pixels.astype(np.float32) / np.float32(2**depth - 1)
    return np.ascontiguousarray(scaled.transpose(1, 2, 0)[None]).astype("<f4"), depth


def _colors(store: _Zarr, path: str, channels: int) -> None:
    store.group(path, {})
    store.array(f"{path}/range_min", np.zeros(channels, "<f4"))
    store.array(f"{path}/range_max", np.ones(channels, "<f4"))
    store.array(f"{path}/visible_B", np.ones(channels, "|u1"))
    store.array(f"{path}/color", np.ones((channels, 3), "<f4"))


def write_zarr_project(
    path: Path,
    imgs: list[Img],
    version: str = "1.1.0",
    name: str = "cells",
    annotations: int = 0,
) -> Path:
    """A Piximi ``.zip``; ``version`` 0.1.0 uses the images layout, later ones things."""
    with zipfile.ZipFile(path, "w") as archive:
        store = _Zarr(archive, f"{name}.zarr")
        store.group("", {"version": version})
        channels = imgs[0].pixels.shape[0]
        store.group("project", {"name": name, "imageChannels": channels})
        if version == "0.1.0":
            store.group("project/images", {"image_names": [i.name for i in imgs]})
            for i, image in enumerate(imgs):
                attrs = {
                    "image_id": f"id{i}",
                    "active_plane": 0,
                    "class_category_id": image.category,
                }
                store.group(f"project/images/{image.name}", attrs)
                data, depth = _tensor(image)
                store.array(f"project/images/{image.name}/{image.name}", data, {"bit_depth": depth})
                _colors(store, f"project/images/{image.name}/colors", channels)
            cats = {"category_id": [c for c, _ in CATEGORIES], "color": ["#fff"] * 3,
                    "name": [n for _, n in CATEGORIES]}  # fmt: skip
            store.group("project/categories", cats)
            store.group("project/annotations", {"image_id": [], "annotation_id": []})
            store.group(
                "project/annotationCategories", {"category_id": [], "color": [], "name": []}
            )
        else:
            names = [i.name for i in imgs] + [f"obj{k}" for k in range(annotations)]
            store.group("project/things", {"thing_names": names})
            for i, image in enumerate(imgs):
                attrs = {
                    "thing_id": f"id{i}",
                    "active_plane": 0,
                    "class_category_id": image.category,
                    "classifier_partition": image.partition,
                    "kind": "Image",
                    "contents": [],
                }
                store.group(f"project/things/{image.name}", attrs)
                data, depth = _tensor(image)
                store.array(f"project/things/{image.name}/{image.name}", data, {"bit_depth": depth})
                _colors(store, f"project/things/{image.name}/colors", channels)
            for k in range(annotations):
                attrs = {"thing_id": f"o{k}", "active_plane": 0, "class_category_id": UNKNOWN,
                         "classifier_partition": "Unassigned", "kind": "nucleus",
                         "bbox": [0, 0, 2, 2], "mask": [1], "image_id": "id0"}  # fmt: skip
                store.group(f"project/things/obj{k}", attrs)
                data, depth = _tensor(Img("o", imgs[0].pixels[:, :2, :2], UNKNOWN))
                store.array(f"project/things/obj{k}/obj{k}", data, {"bit_depth": depth})
            kinds = {"kind_id": ["Image", "nucleus"], "contents": [[], []],
                     "categories": [["cat-a", "cat-b", UNKNOWN], []],
                     "unknown_category_id": [UNKNOWN, "nucleus-unknown"]}  # fmt: skip
            if version >= "1.1":
                kinds["display_name"] = ["Image", "nucleus"]
            store.group("project/kinds", kinds)
            cats = {"category_id": [c for c, _ in CATEGORIES], "color": ["#fff"] * 3,
                    "name": [n for _, n in CATEGORIES], "kind": ["Image"] * 3,
                    "contents": [[], [], []]}  # fmt: skip
            store.group("project/categories", cats)
        store.group("classifier", {"classifier_kinds": []})
        store.group("segmenter", {"name": "Cellpose"})
        archive.writestr("model.json", "{}")  # a TF.js model next to the store
        archive.writestr("model.weights.bin", b"\0")
    return path


def _png_uri(plane: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(plane).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def write_json_project(path: Path, imgs: list[Img], name: str = "old") -> Path:
    """An old single-JSON project: per image, one grey PNG per channel (one plane)."""
    serialized = [
        {
            "imageId": f"id{i}",
            "imagePlanes": 1,
            "imagePartition": image.partition,
            "annotations": [],
            "imageData": [[_png_uri(channel) for channel in image.pixels]],
            "imageChannels": image.pixels.shape[0],
            "imageHeight": image.pixels.shape[1],
            "imageFrames": 1,
            "imageWidth": image.pixels.shape[2],
            "imageFilename": image.name,
            "imageCategoryId": image.category,
        }
        for i, image in enumerate(imgs)
    ]
    categories = [{"color": "#fff", "visible": True, "id": c, "name": n} for c, n in CATEGORIES]
    document = {
        "classifier": {"inputShape": {"height": 6, "width": 7, "channels": 1, "planes": 1}},
        "version": "0.0.0",
        "project": {"serializedImages": serialized, "categories": categories, "name": name},
    }
    path.write_text(json.dumps(document))
    return path


def write_zarr_v2_project(path: Path, imgs: list[Img], version: str = "2.0.0") -> Path:
    """A project in Piximi 2's layout (``writeV2``): parallel attribute arrays per entity,
    one 8/16-bit ``(height, width)`` array per channel under ``data/channels/<id>/data``."""
    with zipfile.ZipFile(path, "w") as archive:
        store = _Zarr(archive, "cells.zarr")
        store.group("", {"version": version, "app_version": version})
        store.group("data", {"experiment_id": "e", "experiment_name": "cells2",
                             "experiment_channels": None})  # fmt: skip
        shapes = {
            "shape_planes": [1] * len(imgs),
            "shape_height": [i.pixels.shape[1] for i in imgs],
            "shape_width": [i.pixels.shape[2] for i in imgs],
            "shape_channels": [i.pixels.shape[0] for i in imgs],
        }
        store.group("data/images", {
            "image_id": [f"id{k}" for k in range(len(imgs))],
            "name": [i.name for i in imgs],
            "series_id": [f"s{k}" for k in range(len(imgs))],
            "category_id": [i.category for i in imgs],
            "active_plane_id": [f"p{k}" for k in range(len(imgs))],
            "timepoint": [0] * len(imgs),
            "bit_depth": [8 if i.pixels.dtype == np.uint8 else 16 for i in imgs],
            "partition": [i.partition for i in imgs],
            **shapes,
        })  # fmt: skip
        store.group("data/planes", {"plane_id": [f"p{k}" for k in range(len(imgs))],
                                    "image_id": [f"id{k}" for k in range(len(imgs))],
                                    "z_index": [0] * len(imgs)})  # fmt: skip
        store.group("data/kinds", {"kind_id": ["k-unknown"], "name": ["Unknown"],
                                   "unknown_category_id": ["k-unknown-cat"]})  # fmt: skip
        cats = [*CATEGORIES, ("k-unknown-cat", "Unknown")]
        store.group("data/categories", {
            "category_id": [c for c, _ in cats], "name": [n for _, n in cats],
            "color": ["#fff"] * len(cats), "is_unknown_B": [0, 0, 1, 1],
            "type": ["image", "image", "image", "annotation"],
            "kind_id": [None, None, None, "k-unknown"],
        })  # fmt: skip
        ids, planes, depths = [], [], []
        for k, image in enumerate(imgs):
            for c in range(image.pixels.shape[0]):
                ids.append(f"c{k}-{c}")
                planes.append(f"p{k}")
                depths.append(8 if image.pixels.dtype == np.uint8 else 16)
        store.group("data/channels", {"channel_id": ids, "plane_id": planes,
                                      "bit_depth": depths})  # fmt: skip
        for k, image in enumerate(imgs):
            for c in range(image.pixels.shape[0]):
                store.group(f"data/channels/c{k}-{c}", {})
                store.array(f"data/channels/c{k}-{c}/data", np.ascontiguousarray(image.pixels[c]))
                store.array(f"data/channels/c{k}-{c}/histogram", np.zeros(4, "<u4"))
        store.group("data/annotations", {"annotation_id": ["a1", "a2"]})
        store.group("classifier", {"classifier_kinds": []})
    return path
