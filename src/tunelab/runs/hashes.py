"""What a run trained on, as content hashes: ``images.json`` in the run folder.

One hash per image, of its decoded array as the run saw it (after resizing), for the
training and the validation images. ``tunelab evaluate RUN DATA`` hashes DATA's images
the same way and so finds the images the run trained on, whatever their file names.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

#: The run file holding the hashes.
HASHES_FILE = "images.json"


def image_hashes(images: np.ndarray) -> list[str]:
    """SHA-1 of each image's array bytes (shape and dtype included), 16 hex digits each."""
    hashes = []
    for image in images:
        array = np.ascontiguousarray(image)
        digest = hashlib.sha1(f"{array.shape}{array.dtype}".encode())
        digest.update(array.tobytes())
        hashes.append(digest.hexdigest()[:16])
    return hashes


def split_hashes(images: np.ndarray, train_idx: Any, val_idx: Any) -> dict[str, Any]:
    """The content of ``images.json``: the hashes of the training and validation images."""
    return {
        "hash": "sha1 of the decoded image array (16 hex digits)",
        "train": image_hashes(images[np.asarray(train_idx, dtype=np.int64)]),
        "validation": image_hashes(images[np.asarray(val_idx, dtype=np.int64)]),
    }
