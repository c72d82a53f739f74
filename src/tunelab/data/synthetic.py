"""A tiny, learnable image folder for tests and examples.

Class ``k`` lights up cell ``k`` of a roughly square grid over the image (relative to the
image's own size, so it survives resizing) on a dim noisy background. A small model
learns it in a few epochs.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from tunelab.errors import TunelabError

_FORMATS = {
    "png": ".png",
    "tif": ".tif",
    "tiff": ".tif",
    "jpg": ".jpg",
    "jpeg": ".jpg",
    "bmp": ".bmp",
}
_MAX = {"uint8": 255, "uint16": 65535, "float32": 1.0}


def make_synthetic_folder(
    root: str | Path,
    *,
    classes: int = 3,
    per_class: int = 8,
    size: tuple[int, int] = (12, 12),
    channels: int = 1,
    dtype: str = "uint8",
    fmt: str = "png",
    vary_size: bool = False,
    seed: int = 0,
) -> Path:
    """Write ``root/class{k}/img{i:03d}.<fmt>`` images and return ``root``.

    ``fmt``: png (uint8 with 1-4 channels, or 1-channel uint16), tif (any channels, uint8,
    uint16 or float32; multi-channel images are written as ``(C, H, W)`` page stacks, or
    as samples per pixel when a side is not longer than the channel count), jpg and bmp
    (uint8, 1 or 3 channels). With ``vary_size=True`` every other image has a random size
    between 3/4 and 3/2 of ``size``; the rest keep ``size``, so ``size`` stays the most
    common one.

    >>> make_synthetic_folder(tmp_path / "data", fmt="tif", dtype="uint16", channels=2,
    ...                       vary_size=True)  # doctest: +SKIP
    """
    ext = _FORMATS.get(fmt)
    if ext is None or dtype not in _MAX or not 1 <= channels <= 16:
        raise TunelabError(
            f"make_synthetic_folder: unsupported fmt={fmt!r}, dtype={dtype!r} or "
            f"channels={channels} (allowed: fmt {sorted(_FORMATS)}, dtype {sorted(_MAX)}, "
            "channels 1 to 16)."
        )
    pil_ok = {
        ".png": (dtype == "uint8" and channels <= 4) or (dtype == "uint16" and channels == 1),
        ".jpg": dtype == "uint8" and channels in (1, 3),
        ".bmp": dtype == "uint8" and channels in (1, 3),
        ".tif": True,
    }
    if not pil_ok[ext]:
        raise TunelabError(
            f"make_synthetic_folder: fmt={fmt!r} cannot store {channels}-channel {dtype} "
            "images; use fmt='tif'."
        )
    root = Path(root)
    rng = np.random.default_rng(seed)
    grid = max(1, math.ceil(math.sqrt(classes)))
    for k in range(classes):
        folder = root / f"class{k}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            h, w = size
            if vary_size and i % 2 == 1:
                h = int(rng.integers(max(1, 3 * h // 4), 3 * h // 2 + 1))
                w = int(rng.integers(max(1, 3 * w // 4), 3 * w // 2 + 1))
            image = _pattern(rng, k, grid, (h, w), channels)
            _write(folder / f"img{i:03d}{ext}", image, dtype)
    return root


def _pattern(
    rng: np.random.Generator, k: int, grid: int, size: tuple[int, int], channels: int
) -> np.ndarray:
    h, w = size
    image = rng.uniform(0.0, 0.25, size=(channels, h, w))
    row, col = divmod(k, grid)
    top, bottom = row * h // grid, max(row * h // grid + 1, (row + 1) * h // grid)
    left, right = col * w // grid, max(col * w // grid + 1, (col + 1) * w // grid)
    brightness = rng.uniform(0.7, 1.0)
    for c in range(channels):
        image[c, top:bottom, left:right] = brightness * (1.0 - 0.1 * (c % 3))
    return image


def _write(path: Path, image: np.ndarray, dtype: str) -> None:
    top = _MAX[dtype]
    data = image.astype(np.float32) if dtype == "float32" else np.rint(image * top).astype(dtype)
    if path.suffix == ".tif":
        import tifffile

        if len(data) == 1:
            tifffile.imwrite(path, data[0], photometric="minisblack")
        elif min(data.shape[1:]) > len(data):  # a page stack; its smallest axis is channels
            tifffile.imwrite(path, data, photometric="minisblack")
        else:  # too small to tell channels by size: store them as samples per pixel
            tifffile.imwrite(
                path, data.transpose(1, 2, 0), photometric="minisblack", planarconfig="contig"
            )
        return
    from PIL import Image

    pixels = data[0] if len(data) == 1 else data.transpose(1, 2, 0)
    Image.fromarray(pixels).save(path)
