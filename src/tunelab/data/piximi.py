"""Bring a Piximi project: read its project file, write a data set folder tunelab trains on.

>>> imported = import_piximi("cells.zip", "cells")  # doctest: +SKIP
>>> imported.path  # doctest: +SKIP
PosixPath('cells')

The folder holds ``labelled/<class>/<image>``, ``unlabelled/<image>`` and a
``manifest.csv`` (``path,label,piximi_partition``), so ``tunelab train cells`` trains on
the labelled images with Piximi's own Training/Validation split (see
:mod:`tunelab.data.layout`). Channels and bit depth are kept: 8-bit grey or RGB images
are written as PNG, everything else (16-bit, 2 or 4+ channels) as a ``(C, H, W)`` TIFF.
Both of Piximi's formats are read: the current ``.zip`` (:mod:`tunelab.data.piximi_zarr`)
and the older single ``.json`` (:mod:`tunelab.data.piximi_json`). The folder is written
next to ``out`` first and moved into place at the end, so a failed import leaves nothing.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tunelab.data.decode import IMAGE_EXTENSIONS
from tunelab.data.manifest import PARTITIONS as SPLIT_VALUES
from tunelab.data.piximi_types import PARTITIONS, PiximiImage, PiximiProject, ProjectError
from tunelab.errors import TunelabError


@dataclass
class Imported:
    """Where the data set was written and what it holds."""

    path: Path
    project: str
    version: str
    format: str
    classes: dict[str, int]
    unlabelled: int
    partitions: dict[str, int]
    channels: int
    bit_depth: int
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """What the import did, one line each."""
        labelled = sum(self.classes.values())
        split = ", ".join(f"{n} {name}" for name, n in self.partitions.items())
        fmt = "zip (zarr)" if self.format == "zarr" else "JSON"
        return [
            f"imported Piximi project {self.project!r} ({fmt}, version {self.version or '?'}): "
            f"{labelled} labelled images in {len(self.classes)} classes, {self.unlabelled} "
            f"unlabelled; {self.channels} channel(s), {self.bit_depth}-bit.",
            f"Piximi's partition: {split}; kept in {self.path / 'manifest.csv'}.",
            *self.notes,
            f"train with: tunelab train {self.path}",
        ]


def read_project(project: str | os.PathLike[str]) -> PiximiProject:
    """Read a Piximi project file (``.zip`` or ``.json``) without writing anything."""
    path = Path(project).expanduser()
    if not path.is_file():
        state = "is a folder" if path.is_dir() else "does not exist"
        raise TunelabError(
            f"Piximi project {str(path)!r} {state}. Give the .zip Piximi saves with "
            "'Save project', or an older project's .json."
        )
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head.startswith(b"PK"):
        from tunelab.data.piximi_zarr import read_zarr_project

        return read_zarr_project(path)
    if head.lstrip()[:1] in (b"{", b"") or path.suffix.lower() == ".json":
        from tunelab.data.piximi_json import read_json_project

        return read_json_project(path)
    raise ProjectError(path, "it is neither a zip file nor JSON")


def import_piximi(project: str | os.PathLike[str], out: str | os.PathLike[str]) -> Imported:
    """Write the images of Piximi ``project`` as a data set folder ``out`` (must be new)."""
    target = Path(out).expanduser()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise TunelabError(
            f"output folder {str(target)!r} already exists and is not empty. Give a new "
            "folder name (nothing is overwritten)."
        )
    read = read_project(project)
    if not read.images:
        raise ProjectError(Path(project), "it holds no images")
    channels = {image.pixels.shape[0] for image in read.images}
    if len(channels) > 1:
        raise ProjectError(
            Path(project), f"its images disagree in channel count ({sorted(channels)})"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        rows = _write_images(read.images, staging)
        with open(staging / "manifest.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["path", "label", "piximi_partition"])
            writer.writerows(rows)
        if target.exists():
            target.rmdir()  # empty, checked above
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return _report(read, target)


def _report(read: PiximiProject, target: Path) -> Imported:
    labelled = Counter(image.category for image in read.images if image.category is not None)
    partitions = Counter(image.partition for image in read.images)
    depth = 16 if any(image.pixels.dtype == np.uint16 for image in read.images) else 8
    notes = []
    stacks = sum(1 for image in read.images if image.planes > 1)
    if stacks:
        notes.append(f"{stacks} images are z-stacks: only their active plane was kept.")
    if read.ignored_objects:
        notes.append(f"{read.ignored_objects} annotation objects (not whole images) were left out.")
    unused = [p for p in partitions if p.lower() not in SPLIT_VALUES]
    if unused:
        notes.append(f"unknown partition values {unused} are treated as unassigned.")
    return Imported(
        path=target,
        project=read.name,
        version=read.version,
        format=read.format,
        classes=dict(sorted(labelled.items())),
        unlabelled=sum(1 for image in read.images if image.category is None),
        partitions={
            **{p: partitions[p] for p in PARTITIONS if p in partitions},
            **{p: n for p, n in partitions.items() if p not in PARTITIONS},
        },
        channels=int(read.images[0].pixels.shape[0]),
        bit_depth=depth,
        notes=notes,
    )


def safe_name(text: str, fallback: str) -> str:
    """A file or folder name from ``text``: no separators, no leading dot, not empty."""
    name = re.sub(r"[\\/:*?\"<>|\x00-\x1f]+", "_", text).strip().lstrip(".").strip()
    return name or fallback


def _write_images(images: list[PiximiImage], root: Path) -> list[list[str]]:
    folders: dict[str | None, Path] = {None: root / "unlabelled"}
    used_folders: set[str] = set()
    for category in sorted({i.category for i in images if i.category is not None}):
        name = safe_name(category, "class")
        while name.lower() in used_folders:
            name += "_"
        used_folders.add(name.lower())
        folders[category] = root / "labelled" / name
    taken: dict[Path, set[str]] = {}
    rows = []
    for index, image in enumerate(images):
        folder = folders[image.category]
        folder.mkdir(parents=True, exist_ok=True)
        suffix = ".png" if _fits_png(image.pixels) else ".tif"
        stem = safe_name(image.name, f"image{index}")
        if Path(stem).suffix.lower() in IMAGE_EXTENSIONS:
            stem = Path(stem).stem or f"image{index}"
        names = taken.setdefault(folder, set())
        file, n = stem + suffix, 1
        while file.lower() in names:
            n += 1
            file = f"{stem}-{n}{suffix}"
        names.add(file.lower())
        _save(image.pixels, folder / file)
        label = folder.name if image.category is not None else ""
        rows.append([(folder / file).relative_to(root).as_posix(), label, image.partition])
    return rows


def _fits_png(pixels: np.ndarray) -> bool:
    return pixels.dtype == np.uint8 and pixels.shape[0] in (1, 3)


def _save(pixels: np.ndarray, path: Path) -> None:
    if path.suffix == ".png":
        from PIL import Image

        plane = pixels[0] if pixels.shape[0] == 1 else pixels.transpose(1, 2, 0)
        Image.fromarray(np.ascontiguousarray(plane)).save(path)
        return
    import tifffile

    tifffile.imwrite(path, pixels, photometric="minisblack", metadata={"axes": "CYX"})
