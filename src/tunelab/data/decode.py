"""One image file -> a ``(C, H, W)`` numpy array, with its bit depth kept.

Rules (the user-visible contract of the loader):

* A 2-D image has 1 channel. Grayscale+alpha (``LA``) keeps 2 channels and ``RGBA`` keeps
  4; a palette image becomes RGB, or RGBA when the palette has transparency; CMYK, YCbCr,
  HSV become RGB; 1-bit images become 0/255 grayscale. EXIF orientation is applied.
* TIFFs are read with tifffile. Axes of size 1 are dropped. A 3-D array's channel axis is
  the samples axis when the file declares one (contiguous RGB/extra samples, tifffile's
  ``S``); otherwise it is the **smallest axis**, which must have at most
  :data:`MAX_CHANNELS` entries (``(2, 64, 64)`` and ``(64, 64, 2)`` are both 2-channel
  images; a ``(40, 64, 64)`` z-stack is refused).
* Sample types: 8-bit stays ``uint8`` (scale 255), 16-bit stays ``uint16`` (scale 65535);
  1-bit TIFFs become 0/255 ``uint8``; other integer TIFFs must hold values in 0..65535 and
  are stored as ``uint16``; float images are stored as ``float32`` (the loader keeps them
  if all values lie in [0, 1] and otherwise rescales the whole data set, see
  :mod:`tunelab.data.loader`); NaN or infinite values make the file bad.
* Pillow reads colour PNGs with 16 bits per sample as 8-bit; save such images as TIFF
  to keep 16 bits (16-bit grayscale PNGs stay 16-bit).
* Sizes are checked from the header before any pixel is decoded: more than
  :data:`MAX_SIDE` pixels a side or :data:`MAX_PIXELS` values in all is refused.

PIL and tifffile are imported inside the functions so that importing tunelab stays fast.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tunelab.data.problems import BadFileError

IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp", ".ppm", ".pgm", ".pbm"}
)
TIFF_EXTENSIONS = frozenset({".tif", ".tiff"})
FORMATS = "PNG, JPEG, BMP, GIF, WebP or TIFF"
MAX_SIDE = 16384
MAX_PIXELS = 2**28
MAX_CHANNELS = 16

_FIX_FILE = "Re-export the image or delete it."

# PIL mode -> (channels, dtype, mode to convert to first or None)
_PIL_MODES: dict[str, tuple[int, str, str | None]] = {
    "1": (1, "uint8", "L"),
    "L": (1, "uint8", None),
    "LA": (2, "uint8", None),
    "La": (2, "uint8", "LA"),
    "PA": (4, "uint8", "RGBA"),
    "RGB": (3, "uint8", None),
    "RGBX": (3, "uint8", "RGB"),
    "RGBA": (4, "uint8", None),
    "RGBa": (4, "uint8", "RGBA"),
    "CMYK": (3, "uint8", "RGB"),
    "YCbCr": (3, "uint8", "RGB"),
    "HSV": (3, "uint8", "RGB"),
    "LAB": (3, "uint8", None),
    "I;16": (1, "uint16", None),
    "I;16L": (1, "uint16", None),
    "I;16B": (1, "uint16", None),
    "I;16N": (1, "uint16", None),
    "I": (1, "uint16", None),
    "F": (1, "float32", None),
}


@dataclass(frozen=True)
class ImageInfo:
    """What the header says: the decoded array will be ``(channels, height, width)``."""

    channels: int
    height: int
    width: int
    dtype: str  # "uint8" | "uint16" | "float32"


def probe_image(path: str | Path) -> ImageInfo:
    """Read only the header of ``path``; raise :class:`BadFileError` if it is unusable."""
    path = Path(path)
    _check_not_empty(path)
    if path.suffix.lower() in TIFF_EXTENSIONS:
        try:
            info = _probe_tiff(path)
        except BadFileError:
            raise
        except Exception as exc:  # not readable by tifffile: PIL may still read it
            info = _probe_pil(path, tiff_error=exc)
    else:
        info = _probe_pil(path)
    _check_size(path, info)
    return info


def decode_image(path: str | Path) -> np.ndarray:
    """Decode ``path`` into a ``(C, H, W)`` array of dtype uint8, uint16 or float32."""
    path = Path(path)
    info = probe_image(path)
    if path.suffix.lower() in TIFF_EXTENSIONS:
        try:
            image = _decode_tiff(path)
        except BadFileError:
            raise
        except Exception as exc:
            image = _decode_pil(path, tiff_error=exc)
    else:
        image = _decode_pil(path)
    if image.shape != (info.channels, info.height, info.width):
        raise BadFileError(
            path,
            f"decoded shape {image.shape} differs from the header's "
            f"{(info.channels, info.height, info.width)}",
            _FIX_FILE,
        )
    if image.dtype.kind == "f" and not np.isfinite(image).all():
        raise BadFileError(path, "the image contains NaN or infinite values", _FIX_FILE)
    return image


def _check_not_empty(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise BadFileError(
            path, f"the file cannot be read ({exc})", "Check that it exists."
        ) from None
    if size == 0:
        raise BadFileError(path, "the file is empty (0 bytes)", _FIX_FILE)


def _check_size(path: Path, info: ImageInfo) -> None:
    if info.height == 0 or info.width == 0:
        raise BadFileError(
            path, f"the image has zero size ({info.width}x{info.height} pixels)", _FIX_FILE
        )
    if max(info.height, info.width) > MAX_SIDE or info.height * info.width > MAX_PIXELS:
        raise _too_large(path, f"{info.width}x{info.height} pixels")
    if info.channels * info.height * info.width > MAX_PIXELS:
        raise _too_large(path, f"{info.width}x{info.height} pixels x {info.channels} channels")


def _too_large(path: Path, size: str) -> BadFileError:
    return BadFileError(
        path,
        f"the image is too large ({size}; allowed: at most {MAX_SIDE} pixels a side "
        f"and {MAX_PIXELS} values)",
        "Downscale it before loading.",
    )


def _failed(path: Path, exc: BaseException) -> BadFileError:
    if isinstance(exc, MemoryError):
        raise exc
    detail = str(exc) or type(exc).__name__
    if "truncated" in detail.lower():
        reason = f"the image is truncated ({detail})"
    else:
        reason = f"not a readable {FORMATS} image ({detail})"
    return BadFileError(path, reason, _FIX_FILE)


# ---- PIL -------------------------------------------------------------------------------


@functools.cache
def _quiet_pil_warnings() -> None:
    """No warning per image from Pillow (large images, odd EXIF, palettes): bad files fail
    with a clear error instead, and large microscopy images are normal here.

    Process-wide filters, installed once: ``warnings.catch_warnings`` is not thread-safe,
    and images are decoded on a thread pool (racing ``catch_warnings`` blocks once left an
    "ignore every warning" filter behind for the rest of the process).
    """
    from PIL import Image

    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    warnings.filterwarnings("ignore", module=r"PIL(\.|$)")


def _open_pil(path: Path, tiff_error: BaseException | None) -> Any:
    from PIL import Image

    _quiet_pil_warnings()
    try:
        return Image.open(path)
    except Image.DecompressionBombError as exc:
        raise BadFileError(
            path,
            f"the image is too large to open safely ({exc})",
            "Downscale it before loading.",
        ) from None
    except Exception as exc:
        raise _failed(path, tiff_error or exc) from None


def _pil_layout(image: Any) -> tuple[int, str, str | None]:
    mode = image.mode
    if mode == "P":
        return (4, "uint8", "RGBA") if "transparency" in image.info else (3, "uint8", "RGB")
    return _PIL_MODES.get(mode, (3, "uint8", "RGB"))


def _probe_pil(path: Path, tiff_error: BaseException | None = None) -> ImageInfo:
    image = _open_pil(path, tiff_error)
    with image:
        channels, dtype, _ = _pil_layout(image)
        width, height = image.size
        try:
            orientation = image.getexif().get(0x0112, 1)
        except Exception:  # a broken EXIF block is not worth refusing the image for
            orientation = 1
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return ImageInfo(channels, height, width, dtype)


def _decode_pil(path: Path, tiff_error: BaseException | None = None) -> np.ndarray:
    from PIL import ImageOps

    image = _open_pil(path, tiff_error)
    with image:
        try:
            channels, dtype, convert = _pil_layout(image)
            image.load()
            oriented = ImageOps.exif_transpose(image)
            if convert is not None:
                oriented = oriented.convert(convert)
            array = np.asarray(oriented)
        except BadFileError:
            raise
        except Exception as exc:
            raise _failed(path, exc) from None
    if dtype == "uint16":
        array = _as_uint16(path, array)
    else:
        array = array.astype(dtype, copy=False)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


# ---- TIFF ------------------------------------------------------------------------------


def _tiff_series(path: Path) -> tuple[tuple[int, ...], str, np.dtype[Any]]:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        return tuple(int(n) for n in series.shape), str(series.axes), np.dtype(series.dtype)


def _tiff_dtype(path: Path, dtype: np.dtype[Any]) -> str:
    if dtype == np.uint8 or dtype == np.bool_:
        return "uint8"
    if dtype.kind in "ui":
        return "uint16"
    if dtype.kind == "f":
        return "float32"
    raise BadFileError(
        path,
        f"unsupported TIFF sample type {dtype} (allowed: 8/16-bit integers or floats)",
        "Save it as 8-bit, 16-bit or float.",
    )


def tiff_axes(
    path: str | Path, shape: Sequence[int], axes: str
) -> tuple[int | None, int, int, tuple[int, ...]]:
    """Return ``(channel_axis, y_axis, x_axis, dropped_axes)`` for a TIFF array.

    Axis numbers refer to the array after ``dropped_axes`` (size-1 axes) are squeezed.
    """
    yx = {i for i, a in enumerate(axes) if a in "YX"} if len(axes) == len(shape) else set()
    dropped = tuple(i for i, n in enumerate(shape) if n == 1 and i not in yx)
    kept = [i for i in range(len(shape)) if i not in dropped]
    if len(kept) < 2:
        kept = list(range(len(shape)))[-2:]
        dropped = tuple(i for i in range(len(shape)) if i not in kept)
    sizes = [shape[i] for i in kept]
    labels = [axes[i] if len(axes) == len(shape) else "?" for i in kept]
    if len(kept) == 2:
        return None, 0, 1, dropped
    if len(kept) > 3:
        raise BadFileError(
            path,
            f"the TIFF has {len(kept)} dimensions (shape {tuple(shape)}, axes {axes!r}); "
            "allowed: a 2-D image or a 3-D stack of channels",
            "Save one image (or one channel stack) per file.",
        )
    other = [i for i, label in enumerate(labels) if label not in "YX"]
    if "S" in labels or "C" in labels:
        channel = labels.index("S" if "S" in labels else "C")
    elif len(other) == 1 and labels[other[0]] in "ZT":
        what = "a z-stack" if labels[other[0]] == "Z" else "a time series"
        unit = "planes" if labels[other[0]] == "Z" else "frames"
        raise BadFileError(
            path,
            f"the TIFF is {what} of {sizes[other[0]]} {unit} (shape {tuple(shape)}, axes "
            f"{axes!r}), not one 2-D image; tunelab classifies 2-D images",
            f"Save one {unit[:-1]} (or a projection of the stack) per file.",
        )
    else:
        smallest = min(sizes)
        candidates = [i for i, n in enumerate(sizes) if n == smallest]
        channel = next((i for i in candidates if labels[i] not in "YX"), candidates[0])
        if len(other) == 1 and {labels[i] for i in candidates} == {"Y", "X"}:
            # (40, 16, 16): the two image axes tie for smallest; taking one of them as 16
            # channels would train a 40 x 16 image. 40 pages of 16 x 16 is a stack.
            raise BadFileError(
                path,
                f"cannot tell which axis of the TIFF stack holds channels (shape "
                f"{tuple(shape)}, axes {axes!r}): {sizes[other[0]]} pages of "
                f"{smallest} x {smallest} pixels are likely a z-stack or a time series, not "
                f"one image of {smallest} channels (channels: at most {MAX_CHANNELS})",
                "Save one plane (or a projection of the stack) per file; save channels with "
                "the samples axis (photometric) set.",
            )
    if sizes[channel] > MAX_CHANNELS:
        raise BadFileError(
            path,
            f"cannot tell which axis of the TIFF stack holds channels (shape {tuple(shape)}); "
            f"the smallest axis is taken as channels and may have at most {MAX_CHANNELS}, so "
            "it is likely a z-stack or a time series",
            "Save one plane (or a projection of the stack) per file.",
        )
    y, x = (i for i in range(3) if i != channel)
    return channel, y, x, dropped


def _probe_tiff(path: Path) -> ImageInfo:
    shape, axes, dtype = _tiff_series(path)
    channel, y, x, dropped = tiff_axes(path, shape, axes)
    sizes = [n for i, n in enumerate(shape) if i not in dropped]
    channels = 1 if channel is None else sizes[channel]
    return ImageInfo(channels, sizes[y], sizes[x], _tiff_dtype(path, dtype))


def _decode_tiff(path: Path) -> np.ndarray:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        shape, axes = tuple(int(n) for n in series.shape), str(series.axes)
        array = np.asarray(series.asarray()).reshape(shape)
    channel, y, x, dropped = tiff_axes(path, shape, axes)
    if dropped:
        array = array.squeeze(axis=dropped)
    array = array[None] if channel is None else array.transpose(channel, y, x)
    dtype = _tiff_dtype(path, array.dtype)
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * np.uint8(255)
    if dtype == "uint16":
        return _as_uint16(path, array)
    return np.ascontiguousarray(array, dtype=dtype)


def _as_uint16(path: Path, array: np.ndarray) -> np.ndarray:
    if array.dtype != np.uint16 and array.size and (array.min() < 0 or array.max() > 65535):
        raise BadFileError(
            path,
            f"integer values from {array.min()} to {array.max()} do not fit 16 bits "
            "(allowed: 0 to 65535)",
            "Save it as 8-bit, 16-bit or float.",
        )
    return np.ascontiguousarray(array, dtype=np.uint16)
