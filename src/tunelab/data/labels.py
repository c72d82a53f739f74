"""Labelling images by moving them into their class folder, with a log that undoes it.

This is Piximi's review loop on a folder data set: a model predicts the unlabelled
images, the user accepts or corrects each prediction, and the image moves into
``<dataset>/<class>/``. Every move is appended to ``<dataset>/.tunelab-labels.jsonl``
(time, from, to, label), so the last moves can be undone in order and what was labelled
by hand stays on record.

>>> move = assign_label("labelled", "unlabelled/cell-7.png", "mitosis")  # doctest: +SKIP
>>> undo_last("labelled").source  # doctest: +SKIP
'.../unlabelled/cell-7.png'
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tunelab.errors import TunelabError

LOG_NAME = ".tunelab-labels.jsonl"
_CLASS_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._+-]{0,63}")


@dataclass(frozen=True)
class Move:
    """One image moved from ``source`` to ``target`` as class ``label``."""

    source: str
    target: str
    label: str
    time: float


def check_class_name(label: str) -> str:
    """A class name that is safe as a folder name, or a one-line error."""
    if not isinstance(label, str) or not _CLASS_NAME.fullmatch(label):
        raise TunelabError(
            f"invalid class name {label!r}: use 1 to 64 letters, digits, spaces or ._+- "
            "starting with a letter or digit (it becomes a folder name)."
        )
    return label


def assign_label(dataset: str | Path, image: str | Path, label: str) -> Move:
    """Move ``image`` into ``dataset/label/`` (made if new) and record the move.

    A file of that name already in the class gets a numbered name (``cell-7-2.png``);
    nothing is overwritten. An image already in that class is left where it is.
    """
    root = Path(dataset).resolve()
    source = Path(image).resolve()
    check_class_name(label)
    if not root.is_dir():
        raise TunelabError(
            f"data set folder {str(dataset)!r} does not exist. Give the folder that holds "
            "one sub-folder per class."
        )
    if not source.is_file():
        raise TunelabError(f"image {str(image)!r} does not exist (moved or deleted already?).")
    folder = root / label
    if source.parent == folder:
        return Move(str(source), str(source), label, time.time())
    folder.mkdir(exist_ok=True)
    target = _free_name(folder, source.name)
    os.replace(source, target)  # same file system within a data root: atomic
    move = Move(str(source), str(target), label, time.time())
    with open(root / LOG_NAME, "a", encoding="utf-8") as log:
        log.write(json.dumps(asdict(move)) + "\n")
    return move


def moves(dataset: str | Path) -> list[Move]:
    """Every move recorded for ``dataset``, oldest first (undone ones are gone)."""
    path = Path(dataset) / LOG_NAME
    if not path.is_file():
        return []
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            found.append(Move(**json.loads(line)))
        except (ValueError, TypeError):
            continue  # a line cut short by a crash: the move itself is on disk
    return found


def undo_last(dataset: str | Path) -> Move | None:
    """Move the last labelled image back where it came from; None when nothing is left."""
    root = Path(dataset).resolve()
    recorded = moves(root)
    if not recorded:
        return None
    last = recorded[-1]
    target, source = Path(last.target), Path(last.source)
    if target.is_file():
        if source.exists():
            raise TunelabError(
                f"cannot undo: {last.source!r} exists again. Move or rename it, then undo."
            )
        source.parent.mkdir(parents=True, exist_ok=True)
        os.replace(target, source)
    rest = "".join(json.dumps(asdict(m)) + "\n" for m in recorded[:-1])
    temporary = root / (LOG_NAME + ".tmp")
    temporary.write_text(rest, encoding="utf-8")
    os.replace(temporary, root / LOG_NAME)
    return last


def _free_name(folder: Path, name: str) -> Path:
    candidate = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    counter = 2
    while candidate.exists():
        candidate = folder / f"{stem}-{counter}{suffix}"
        counter += 1
    return candidate
