"""Which folder holds the classes: a plain folder of classes, or a project layout.

A *project layout* is a folder whose sub-folders are not classes themselves, such as a
Piximi export (``labelled/<class>/...`` next to ``unlabelled/``, often with a
``manifest.csv``). Its sub-folders are never taken for classes:

* ``labelled/`` (or ``labeled/``) present: its sub-folders are the classes. When the folder
  also has a ``manifest.csv``, that manifest is read instead, so its split column (Piximi's
  train/validation/inference partition) is used.
* a sub-folder named ``unlabelled``, ``unlabeled`` or ``Unknown`` (any case) next to class
  folders holds images without a class: it is left out, and said so.
* a single sub-folder that itself holds two or more folders (``project/images/<class>``):
  that sub-folder is the folder of classes.
* split folders (``train/<class>``, ``val/<class>``): refused, with the fix.

Every choice adds one line to ``Listing.notes``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from tunelab.data.decode import IMAGE_EXTENSIONS
from tunelab.data.manifest import read_manifest
from tunelab.data.sources import Kind, Listing, _ignored, list_folder
from tunelab.errors import TunelabError

LABELLED = ("labelled", "labeled")
UNLABELLED = ("unlabelled", "unlabeled", "unknown")
SPLITS = frozenset(
    {"train", "training", "val", "valid", "validation", "test", "testing", "inference"}
)
MANIFEST = "manifest.csv"
PEEK = 50  # entries looked at per folder when guessing a layout


@dataclass
class Layout:
    """Where the classes of ``root`` are, decided from folder names only (cheap)."""

    root: Path
    kind: str  # "classes" | "project" | "split" | "none"
    class_root: Path
    excluded: list[Path] = field(default_factory=list)  # unlabelled folders left out
    manifest: Path | None = None


def _subdirs(folder: Path) -> list[Path]:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return sorted(
        (Path(e.path) for e in entries if not _ignored(e.name) and e.is_dir()),
        key=lambda p: p.name.lower(),
    )


def _has_images(folder: Path) -> bool:
    try:
        return any(
            Path(e.name).suffix.lower() in IMAGE_EXTENSIONS
            for _, e in zip(range(PEEK), os.scandir(folder), strict=False)
            if e.is_file()
        )
    except OSError:
        return False


def inspect_folder(root: Path) -> Layout:
    """Decide the layout of ``root`` from its sub-folder names (no image is decoded)."""
    subdirs = _subdirs(root)
    by_name = {d.name.lower(): d for d in subdirs}
    labelled = next((by_name[n] for n in LABELLED if n in by_name), None)
    unlabelled = [d for d in subdirs if d.name.lower() in UNLABELLED]
    manifest = root / MANIFEST if (root / MANIFEST).is_file() else None
    if labelled is not None:
        return Layout(root, "project", labelled, unlabelled, manifest)
    if (
        subdirs
        and {d.name.lower() for d in subdirs} <= SPLITS
        and any(_subdirs(d) for d in subdirs)
    ):
        return Layout(root, "split", root)
    classes = [d for d in subdirs if d not in unlabelled]
    if len(classes) == 1 and len(_subdirs(classes[0])) >= 2 and not _has_images(classes[0]):
        return Layout(root, "project", classes[0], unlabelled, manifest)
    if unlabelled:
        return Layout(root, "project", root, unlabelled, manifest)
    return Layout(root, "classes" if subdirs else "none", root)


def list_source(kind: Kind, path: Path, skip_bad: bool = False) -> Listing:
    """The listing of a folder (project layouts resolved) or a CSV manifest."""
    if kind == "csv":
        return read_manifest(path, skip_bad)
    return list_data_folder(path, skip_bad)


def list_data_folder(root: Path, skip_bad: bool = False) -> Listing:
    """List a folder of classes, or the labelled part of a project layout (with a note)."""
    layout = inspect_folder(root)
    if layout.kind == "split":
        names = ", ".join(f"{d.name}/" for d in _subdirs(root))
        raise TunelabError(
            f"data folder {str(root)!r} holds split folders ({names}), each with class "
            "folders, not classes. Give one folder of classes (e.g. "
            f"{str(_subdirs(root)[0])!r}; tunelab makes its own validation split), or a CSV "
            "manifest with columns path,label,split to keep this split."
        )
    if layout.kind != "project":
        return list_folder(root, skip_bad)
    unlabelled = sum(_count_images(d) for d in layout.excluded)
    where = ", ".join(f"{d.name}/" for d in layout.excluded)
    predict = (
        f"; its {unlabelled} images in {where} are not used (predict them with "
        f"`tunelab predict RUN {str(layout.excluded[0])!r}`)"
        if layout.excluded
        else ""
    )
    if layout.manifest is not None and layout.class_root != root:
        listing = read_manifest(layout.manifest, skip_bad)
        listing.notes.insert(
            0,
            f"{str(root)!r} is a project folder, not a folder of classes: reading its "
            f"{MANIFEST} (labels and split) instead of its sub-folders.",
        )
        listing.source = root
        return listing
    inside = layout.class_root == root  # unlabelled folders sit among the classes
    excluded = frozenset(d.name for d in layout.excluded) if inside else frozenset()
    listing = list_folder(layout.class_root, skip_bad, exclude=excluded)
    if inside:
        listing.notes.append(
            f"{where} in {str(root)!r} holds {unlabelled} images without a class: left out "
            f"of training, not taken for a class (predict them with `tunelab predict RUN "
            f"{str(layout.excluded[0])!r}`)."
        )
    else:
        listing.notes.append(
            f"{str(root)!r} is a project folder, not a folder of classes: training on "
            f"{str(layout.class_root)!r} ({len(listing.class_names)} classes){predict}."
        )
    listing.source = root
    return listing


def _count_images(folder: Path) -> int:
    count = 0
    for _, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not _ignored(d)]
        count += sum(1 for n in names if Path(n).suffix.lower() in IMAGE_EXTENSIONS)
    return count
