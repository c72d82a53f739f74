"""Names that tell runs apart: the data set's name and the knobs a run changed.

>>> dataset_name("project/labelled")
'project'
>>> dataset_name("data/cells.csv")
'cells'
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

#: Folder names that say what a folder holds, not which data set it is: the data set is
#: then named by the folder above (``piximi-project/labelled`` is ``piximi-project``).
GENERIC_FOLDERS = frozenset(
    {"labelled", "labeled", "images", "image", "data", "dataset", "train", "training", "all"}
)

#: Knobs that change how fast a run goes, not what it learns: left out of run names.
RUNTIME_KNOBS = frozenset({"device", "precision", "threads"})


def dataset_name(source: str) -> str:
    """The data set's name as a run name shows it (``digits``, a folder's or a CSV's)."""
    path = PurePath(str(source).rstrip("/"))
    name = path.stem if path.suffix.lower() in (".csv", ".tsv") else path.name
    if name.lower() in GENERIC_FOLDERS and path.parent.name:
        return path.parent.name
    return name or "data"


def changed_knobs(config: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The knobs of ``config`` that differ from ``defaults`` (runtime knobs left out)."""
    return {
        key: value
        for key, value in config.items()
        if key not in RUNTIME_KNOBS and key in defaults and defaults[key] != value
    }


def short_value(value: Any) -> str:
    """A knob value in a name or a table: ``0.003``, ``1e-05``, ``flip+rot90``."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "+".join(str(v) for v in value) or "none"
    return str(value).lower() if isinstance(value, bool) else str(value)
