"""What a Piximi project holds, read from either of its file formats."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tunelab.errors import TunelabError

#: the category Piximi gives images without a class (its "Unknown" category)
UNKNOWN_CATEGORY_ID = "00000000-0000-0000-0000-000000000000"
PARTITIONS = ("Training", "Validation", "Inference", "Unassigned")


class ProjectError(TunelabError):
    """A Piximi project file that cannot be read: one line saying what is wrong."""

    def __init__(self, path: str | Path, problem: str) -> None:
        super().__init__(
            f"cannot import Piximi project {str(path)!r}: {problem}. Re-save it from Piximi "
            "(Save project, a .zip), or give the .json of an older project."
        )


@dataclass
class PiximiImage:
    """One image: ``(C, H, W)`` uint8 or uint16 pixels, its class (None: unlabelled) and
    Piximi's partition (Training, Validation, Inference or Unassigned)."""

    name: str
    pixels: np.ndarray
    category: str | None
    partition: str
    planes: int = 1  # z-planes in the project; only the active one is kept


@dataclass
class PiximiProject:
    name: str
    version: str
    format: str  # "zarr" or "json"
    images: list[PiximiImage]
    ignored_objects: int = 0  # annotation objects (not whole images), left out


def to_integers(values: np.ndarray, bit_depth: int, name: str, path: Path) -> np.ndarray:
    """Piximi's float pixels in [0, 1] back to 8- or 16-bit integers."""
    if bit_depth not in (8, 16):
        raise ProjectError(
            path, f"image {name!r} has bit depth {bit_depth}; Piximi stores 8 or 16 bits"
        )
    values = np.asarray(values, dtype=np.float64)
    if not np.isfinite(values).all():
        raise ProjectError(path, f"image {name!r} has NaN or infinite pixel values")
    top = 255 if bit_depth == 8 else 65535
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    return np.clip(np.rint(values * top), 0, top).astype(dtype)


def partition_name(value: object) -> str:
    """Piximi's partition, also from the numbers (0, 1, 2) very old projects used."""
    numbered = {"0": "Training", "1": "Validation", "2": "Inference"}
    text = str(value).strip()
    for known in PARTITIONS:
        if text.lower() == known.lower():
            return known
    return numbered.get(text, "Unassigned")
