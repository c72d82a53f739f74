"""What the Data sets page shows: folders to choose from, class counts, image facts, thumbnails.

Nothing here trains or caches: folders are listed and image headers probed (the first
``MAX_PROBED`` files), and a thumbnail decodes exactly one file.
"""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from tunelab.data.decode import IMAGE_EXTENSIONS
from tunelab.web.security import WebError, confine
from tunelab.web.settings import WebSettings

MAX_PROBED = 2000
MAX_FOLDERS = 500
THUMB_SIDE = 96
DIGITS = "digits"


def browse(settings: WebSettings, path: str | None) -> dict[str, Any]:
    """The sub-folders of ``path`` (the roots when None), marking those that look like data."""
    if not path:
        folders = [_entry(root, str(root)) for root in settings.data_roots]
        return {"path": None, "parent": None, "folders": folders, "builtin": _builtin(settings)}
    folder = confine(path, settings.data_roots)
    if not folder.is_dir():
        raise WebError(404, f"no folder {path!r} under the data roots. Choose an existing folder.")
    at_root = folder in settings.data_roots
    children = sorted(
        (p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.name.lower(),
    )
    return {
        "path": str(folder),
        "parent": None if at_root else str(folder.parent),
        "folders": [_entry(child, child.name) for child in children[:MAX_FOLDERS]],
        "truncated": len(children) > MAX_FOLDERS,
        "is_dataset": _looks_like_data(folder),
        "builtin": _builtin(settings),
    }


def _builtin(settings: WebSettings) -> list[str]:
    return [DIGITS] if settings.allow_digits else []


def _entry(path: Path, name: str) -> dict[str, Any]:
    return {"name": name, "path": str(path), "is_dataset": _looks_like_data(path)}


def _looks_like_data(folder: Path) -> bool:
    """True when ``folder`` opens as a data set the way training reads it: a folder of
    classes, or the labelled part of a project layout (checking a few entries only)."""
    from tunelab.data.layout import inspect_folder

    layout = inspect_folder(folder)
    if layout.kind not in ("classes", "project"):
        return False
    if layout.manifest is not None and layout.class_root != folder:
        return True  # read through its manifest.csv, as training does
    skip = {d.name for d in layout.excluded}
    try:
        for child in list(layout.class_root.iterdir())[:50]:
            if child.is_dir() and not child.name.startswith(".") and child.name not in skip:
                for item in list(child.iterdir())[:50]:
                    if item.suffix.lower() in IMAGE_EXTENSIONS:
                        return True
    except OSError:
        return False
    return False


def resolve_data(settings: WebSettings, path: str, check_files: bool = True) -> str:
    """The data source a request names: ``digits`` or a folder/CSV inside the roots.

    With ``check_files`` every image the source lists must resolve inside the roots too.
    """
    if path.strip() == DIGITS and settings.allow_digits:
        return DIGITS
    resolved = confine(path, settings.data_roots)
    if not resolved.exists():
        raise WebError(
            404,
            f"no folder or CSV file {path!r} under the data roots. Choose one on the Data "
            "sets page (GET /api/browse).",
        )
    if not resolved.is_dir() and resolved.suffix.lower() != ".csv":
        raise WebError(
            400,
            f"{path!r} is neither a folder nor a .csv manifest. Choose a folder with one "
            "sub-folder per class, or a CSV file with path,label columns.",
        )
    if check_files:
        # A manifest row or a symlinked file could point out of the roots: refuse it too,
        # listed or skipped (missing, not an image), so no answer tells whether a file
        # outside the roots exists.
        listing = _listing(resolved)
        listed = [file for file, _ in listing.files] + [file for file, _ in listing.skipped]
        for file in [*listed, *listing.unlabelled]:
            confine(str(file), settings.data_roots)
    return str(resolved)


def _listing(target: Path) -> Any:
    """The files training would read from ``target`` (project layouts resolved the same way)."""
    from tunelab.data.layout import list_source

    return list_source("folder" if target.is_dir() else "csv", target, True)


def describe(settings: WebSettings, path: str) -> dict[str, Any]:
    """Class counts, channels, bit depths and sizes of a data set, with thumbnail links."""
    source = resolve_data(settings, path)
    if source == DIGITS:
        return _describe_digits(settings)
    from tunelab.data.decode import probe_image
    from tunelab.data.problems import BadFileError

    listing = _listing(Path(source))
    by_class: dict[str, list[Path]] = {name: [] for name in listing.class_names}
    for file, label in listing.files:
        by_class.setdefault(label, []).append(file)
    channels: Counter[int] = Counter()
    depths: Counter[str] = Counter()
    sizes: Counter[tuple[int, int]] = Counter()
    bad: list[list[str]] = [list(item) for item in listing.skipped]
    for file, _ in listing.files[:MAX_PROBED]:
        try:
            info = probe_image(file)
        except BadFileError as err:
            bad.append([str(file), str(err)])
            continue
        channels[info.channels] += 1
        depths[info.dtype] += 1
        sizes[(info.height, info.width)] += 1
    classes = [
        {
            "name": name,
            "count": len(files),
            "thumbnails": [
                thumbnail_url(source, name, i)
                for i in range(min(len(files), settings.thumbnails_per_class))
            ],
        }
        for name, files in by_class.items()
    ]
    facts = _facts(source, classes, channels, depths, sizes, bad, len(listing.files))
    facts["notes"] = list(listing.notes)
    if sizes:  # the line training prints, from the probed images
        from tunelab.data.loader import size_note

        facts["notes"].append(size_note(sizes.most_common(1)[0][0], sizes, auto=True))
    facts["n_unlabelled"] = len(listing.unlabelled)
    return facts


def _describe_digits(settings: WebSettings) -> dict[str, Any]:
    from tunelab.data import load_dataset

    dataset = load_dataset(DIGITS)
    counts = dataset.class_counts()
    classes = [
        {
            "name": name,
            "count": int(counts[k]),
            "thumbnails": [
                thumbnail_url(DIGITS, name, i)
                for i in range(min(int(counts[k]), settings.thumbnails_per_class))
            ],
        }
        for k, name in enumerate(dataset.class_names)
    ]
    n = len(dataset)
    return _facts(
        DIGITS,
        classes,
        Counter({dataset.channels: n}),
        Counter({"4-bit (0 to 16)": n}),
        Counter({dataset.input_size: n}),
        [],
        n,
    )


def _facts(
    source: str,
    classes: list[dict[str, Any]],
    channels: Counter[int],
    depths: Counter[str],
    sizes: Counter[tuple[int, int]],
    bad: list[list[str]],
    total: int,
) -> dict[str, Any]:
    probed = sum(sizes.values())
    heights = [h for h, _ in sizes] or [0]
    widths = [w for _, w in sizes] or [0]
    common = sizes.most_common(1)[0][0] if sizes else None
    return {
        "path": source,
        "n_images": total,
        "n_classes": len(classes),
        "classes": classes,
        "channels": {str(k): v for k, v in sorted(channels.items())},
        "bit_depths": {_depth_name(k): v for k, v in depths.most_common()},
        "sizes": {
            "most_common": list(common) if common else None,
            "min": [min(heights), min(widths)],
            "max": [max(heights), max(widths)],
            "distinct": len(sizes),
            "counts": [{"size": list(s), "count": c} for s, c in sizes.most_common(10)],
        },
        "probed": probed,
        "bad_files": bad[:50],
        "n_bad_files": len(bad),
    }


def _depth_name(dtype: str) -> str:
    return {"uint8": "8-bit", "uint16": "16-bit", "float32": "32-bit float"}.get(dtype, dtype)


def thumbnail_url(source: str, class_name: str, index: int) -> str:
    return (
        f"/api/datasets/thumbnail?path={quote(source, safe='')}"
        f"&cls={quote(class_name, safe='')}&index={index}"
    )


def thumbnail(
    settings: WebSettings,
    path: str,
    class_name: str,
    index: int,
    channels: list[int] | None = None,
    side: int | None = None,
) -> bytes:
    """A PNG of image ``index`` of class ``class_name`` (nearest-neighbour scaled, 8-bit),
    its ``channels`` composited in colour, ``side`` pixels on its longest side."""
    source = resolve_data(settings, path, check_files=False)
    if source == DIGITS:
        from tunelab.data import load_dataset

        dataset = load_dataset(DIGITS)
        if class_name not in dataset.class_names:
            raise _no_class(class_name, dataset.class_names)
        members = np.flatnonzero(dataset.labels == dataset.class_names.index(class_name))
        _check_index(index, len(members), class_name)
        return to_png(dataset.images[members[index]], float(dataset.max_value), channels, side)
    from tunelab.data.decode import decode_image

    listing = _listing(Path(source))
    if class_name not in listing.class_names:
        raise _no_class(class_name, listing.class_names)
    files = [file for file, label in listing.files if label == class_name]
    _check_index(index, len(files), class_name)
    image = decode_image(confine(str(files[index]), settings.data_roots))
    return to_png(image, None, channels, side)


def _no_class(name: str, names: list[str]) -> WebError:
    from tunelab.errors import did_you_mean

    return WebError(
        404,
        f"no class {name!r} in this data set.{did_you_mean(name, names)} "
        f"Classes: {', '.join(names[:20])}.",
    )


def _check_index(index: int, count: int, name: str) -> None:
    if not 0 <= index < count:
        raise WebError(
            404,
            f"no image {index} in class {name!r}: it has {count} images (indices 0 to "
            f"{count - 1}).",
        )


#: The colour each channel is shown in (Piximi's order): red, green, blue, then the rest.
CHANNEL_COLOURS = (
    (1.0, 0.0, 0.0),
    (0.0, 1.0, 0.0),
    (0.0, 0.0, 1.0),
    (1.0, 0.0, 1.0),
    (0.0, 1.0, 1.0),
    (1.0, 1.0, 0.0),
)


def to_png(
    image: np.ndarray,
    max_value: float | None,
    channels: list[int] | None = None,
    side: int | None = None,
) -> bytes:
    """``(C, H, W)`` pixels as an 8-bit PNG.

    One channel is grey; several are composited, each in its colour (red, green, blue,
    magenta, cyan, yellow, ...), each scaled to its own range unless ``max_value`` is
    given. ``channels`` picks the visible ones (the toggle on the Data sets page);
    ``side`` is the longest side of the picture (96 by default; up to 512 to enlarge).
    """
    from PIL import Image

    if max_value is None and np.asarray(image).dtype == np.uint8:
        max_value = 255.0  # 8-bit photos as they are; deeper data is stretched to be seen
    data = np.asarray(image, dtype=np.float64)
    shown = list(range(data.shape[0])) if channels is None else channels
    bad = [c for c in shown if not 0 <= c < data.shape[0]]
    if bad or not shown:
        raise WebError(
            400,
            f"channels {shown} do not exist: this image has channels 0 to {data.shape[0] - 1}.",
        )
    planes = data[shown]
    if max_value is None:  # stretch each channel to its own range, so 12-bit data is visible
        low = planes.min(axis=(1, 2), keepdims=True)
        high = planes.max(axis=(1, 2), keepdims=True)
        planes = np.divide(planes - low, high - low, out=np.zeros_like(planes), where=high > low)
    else:
        planes = planes / max_value
    if data.shape[0] == 1:  # a greyscale image stays grey
        pixels = np.clip(np.rint(planes[0] * 255), 0, 255).astype(np.uint8)
        picture = Image.fromarray(pixels, "L")
    else:
        colours = np.asarray([CHANNEL_COLOURS[c % len(CHANNEL_COLOURS)] for c in shown])
        rgb = np.einsum("chw,ck->hwk", np.clip(planes, 0, 1), colours)
        pixels = np.clip(np.rint(np.minimum(rgb, 1.0) * 255), 0, 255).astype(np.uint8)
        picture = Image.fromarray(np.ascontiguousarray(pixels), "RGB")
    target = side or THUMB_SIDE
    scale = max(1, target // max(picture.size))
    if scale > 1:
        picture = picture.resize(
            (picture.width * scale, picture.height * scale), Image.Resampling.NEAREST
        )
    elif max(picture.size) > target:
        picture.thumbnail((target, target))
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()
