"""Resize images, keeping their dtype and channels (bilinear with antialiasing)."""

from __future__ import annotations

import numpy as np


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Return a ``(C, H, W)`` or ``(N, C, H, W)`` array resized to ``size = (height, width)``.

    Integer images are rounded and clipped to their dtype's range; an image already at
    ``size`` is returned as it is.
    """
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    import torch
    import torch.nn.functional as F

    floats = torch.from_numpy(np.array(image, dtype=np.float32))
    batch = floats if image.ndim == 4 else floats[None]
    resized = F.interpolate(
        batch, size=tuple(size), mode="bilinear", antialias=True, align_corners=False
    ).numpy()
    if image.ndim != 4:
        resized = resized[0]
    if image.dtype.kind in "ui":
        top = np.iinfo(image.dtype).max
        return np.clip(np.rint(resized), 0, top).astype(image.dtype)
    return resized.astype(image.dtype, copy=False)
