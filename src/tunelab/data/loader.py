"""``load_dataset``: source -> file list -> cache or (probe, decode, resize) -> ImageDataset.

Every header is read before any pixel is decoded, so structural problems (one class,
images that disagree in channel count) show up at once, and the auto input size (the most
common ``(height, width)``; ties go to the size met first in sorted file order) is known
before decoding. Images are then decoded one at a time straight into the output array.

Bit depths: a data set of 8-bit images stays uint8 (``max_value`` 255); if any image is
16-bit, 8-bit images are multiplied by 257 and all are uint16 (65535); if any image is
float, all become float32 in [0, 1] (``max_value`` 1.0). Float values already in [0, 1]
are kept; otherwise the whole data set is rescaled linearly with its global minimum and
maximum, so relative brightness between images survives.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from tunelab.data import cache, decode
from tunelab.data.dataset import ImageDataset
from tunelab.data.decode import MAX_SIDE, ImageInfo
from tunelab.data.digits import load_digits_dataset
from tunelab.data.layout import list_source
from tunelab.data.problems import BadFileError
from tunelab.data.resize import resize_image
from tunelab.data.sources import Listing, resolve_source
from tunelab.errors import TunelabError

MAX_VALUES = {"uint8": 255.0, "uint16": 65535.0, "float32": 1.0}


def load_dataset(
    source: str | os.PathLike[str],
    *,
    input_size: Sequence[int] | None = None,
    skip_bad: bool = False,
    cache_dir: str | os.PathLike[str] | None = None,
) -> ImageDataset:
    """Load a folder of class sub-folders, a CSV manifest (``path,label``) or ``"digits"``.

    A project folder (``labelled/`` + ``unlabelled/``, as Piximi exports) loads its labelled
    part; manifest rows without a label are left out; a manifest's split column is kept in
    ``ImageDataset.partition``. Each such choice is one line in ``ImageDataset.notes``
    (see :mod:`tunelab.data.layout` and :mod:`tunelab.data.manifest`).

    Images are resized to ``input_size = (height, width)`` (None: the most common size)
    and decoded only once: later loads of unchanged files read the cache in ``cache_dir``
    (default ``$TUNELAB_CACHE_DIR`` or ``~/.cache/tunelab/datasets``). With
    ``skip_bad=True`` unreadable or non-image files are left out and listed in
    ``ImageDataset.skipped``; otherwise the first one raises :class:`TunelabError`.

    >>> ds = load_dataset("digits")  # doctest: +SKIP
    >>> ds.images.shape, ds.max_value  # doctest: +SKIP
    ((1797, 1, 8, 8), 16.0)
    """
    size = check_input_size(input_size)
    kind, path = resolve_source(source)
    if kind == "digits":
        return load_digits_dataset(size)
    listing = list_source(kind, path, skip_bad)
    check_classes(listing, [label for _, label in listing.files])
    file, fingerprint = cache.cache_file(
        cache.cache_dir(cache_dir),
        source=path,
        input_size=size,
        skip_bad=skip_bad,
        stamp=listing.stamp,
    )
    cached = cache.read_cache(file, fingerprint)
    if cached is not None:
        return cached
    dataset = build_dataset(listing, size, skip_bad)
    cache.write_cache(file, dataset, fingerprint)
    return dataset


def check_input_size(input_size: Sequence[int] | None) -> tuple[int, int] | None:
    """Validate ``(height, width)``; None stays None (auto)."""
    if input_size is None:
        return None
    height = width = 0
    if not isinstance(input_size, (str, bytes)):
        try:
            height, width = (int(n) for n in input_size)
            if any(float(n) != int(n) for n in input_size):
                height = 0
        except (TypeError, ValueError):
            pass
    if not (1 <= min(height, width) and max(height, width) <= MAX_SIDE):
        raise TunelabError(
            f"input_size must be None or (height, width) with whole numbers from 1 to "
            f"{MAX_SIDE} (got {input_size!r}). Try (32, 32), or None for the most common size."
        )
    return height, width


def check_classes(listing: Listing, labels: Sequence[str]) -> None:
    """Raise unless there are at least two classes, each with at least one image."""
    source = str(listing.source)
    if not labels and listing.unlabelled and not listing.skipped:
        raise TunelabError(
            f"data set {source!r} has no labelled images: all {len(listing.unlabelled)} rows "
            "have an empty label. Fill in the label column of the rows to train on (predict "
            f"the others with `tunelab predict RUN {source}`)."
        )
    if not labels:
        first = (
            f" (first: {listing.skipped[0][0]}: {listing.skipped[0][1]})" if listing.skipped else ""
        )
        raise TunelabError(
            f"data set {source!r} has no usable images: all {len(listing.skipped)} files were "
            f"skipped as bad{first}. Fix or replace the files."
        )
    if len(listing.class_names) < 2:
        what = "sub-folder per class" if listing.kind == "folder" else "label per class"
        raise TunelabError(
            f"data set {source!r} has only one class ({listing.class_names[0]!r}); a "
            f"classifier needs at least 2. Add images of another class (one {what})."
        )
    if len(labels) < len(listing.class_names):
        raise TunelabError(
            f"data set {source!r} has fewer images ({len(labels)}) than classes "
            f"({len(listing.class_names)}); every class needs at least one image. Add images."
        )
    counts = Counter(labels)
    empty = [name for name in listing.class_names if counts[name] == 0]
    if empty:
        raise TunelabError(
            f"class {empty[0]!r} of {source!r} has no usable images: all its files were "
            "skipped as bad (see ImageDataset.skipped). Fix its images or remove the class."
        )


def _check_channels(infos: list[tuple[Path, str, ImageInfo]]) -> int:
    first: dict[int, Path] = {}
    counts: Counter[int] = Counter()
    for path, _, info in infos:
        first.setdefault(info.channels, path)
        counts[info.channels] += 1
    if len(first) > 1:
        kinds = "; ".join(
            f"{str(path)!r} has {channels} channel{'s' if channels != 1 else ''} "
            f"(like {counts[channels]} image{'s' if counts[channels] != 1 else ''})"
            for channels, path in first.items()
        )
        raise TunelabError(
            f"images disagree in channel count: {kinds}. All images of a data set need the "
            "same number of channels; convert them to one kind (e.g. all grayscale or all RGB)."
        )
    return next(iter(first))


def _convert(image: np.ndarray, dtype: str) -> np.ndarray:
    if image.dtype == dtype:
        return image
    if dtype == "uint16":  # from uint8: 255 -> 65535
        return image.astype(np.uint16) * np.uint16(257)
    return image.astype(np.float32) / np.float32(MAX_VALUES[str(image.dtype)])


def build_dataset(
    listing: Listing, input_size: tuple[int, int] | None, skip_bad: bool
) -> ImageDataset:
    """Decode and resize every listed image (no cache involved)."""
    skipped = list(listing.skipped)
    infos: list[tuple[Path, str, ImageInfo]] = []
    sides: list[str] = []
    for index, (path, label) in enumerate(listing.files):
        try:
            infos.append((path, label, decode.probe_image(path)))
        except BadFileError as error:
            if not skip_bad:
                raise
            skipped.append((error.path, error.reason))
            continue
        if listing.partition:
            sides.append(listing.partition[index])
    check_classes(listing, [label for _, label, _ in infos])
    channels = _check_channels(infos)
    dtypes = {info.dtype for _, _, info in infos}
    dtype = next(d for d in ("float32", "uint16", "uint8") if d in dtypes)
    sizes = Counter((i.height, i.width) for _, _, i in infos)
    size = input_size or sizes.most_common(1)[0][0]
    images = np.empty((len(infos), channels, *size), dtype=dtype)

    def load_one(index: int) -> BadFileError | None:
        try:
            image = decode.decode_image(infos[index][0])
        except BadFileError as error:
            return error
        images[index] = resize_image(_convert(image, dtype), size)
        return None

    keep = np.ones(len(infos), dtype=bool)
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        for index, problem in enumerate(pool.map(load_one, range(len(infos)))):
            if problem is not None:
                if not skip_bad:
                    raise problem
                skipped.append((problem.path, problem.reason))
                keep[index] = False
    if not keep.all():
        images = images[keep]
        infos = [info for info, kept in zip(infos, keep, strict=True) if kept]
        sides = [side for side, kept in zip(sides, keep, strict=False) if kept]
        check_classes(listing, [label for _, label, _ in infos])
    if dtype == "float32":
        _fit_unit_range(images)
    index_of = {name: i for i, name in enumerate(listing.class_names)}
    return ImageDataset(
        images=images,
        labels=np.array([index_of[label] for _, label, _ in infos], dtype=np.int64),
        class_names=list(listing.class_names),
        max_value=MAX_VALUES[dtype],
        paths=[str(path) for path, _, _ in infos],
        skipped=skipped,
        source=str(listing.source),
        notes=[*listing.notes, size_note(size, sizes, input_size is None)],
        partition=np.array(sides, dtype="<U5") if listing.partition else None,
        unlabelled=[str(path) for path in listing.unlabelled],
    )


def _fit_unit_range(images: np.ndarray) -> None:
    low, high = float(images.min()), float(images.max())
    if low >= 0.0 and high <= 1.0:
        return
    if high > low:
        images -= np.float32(low)
        images /= np.float32(high - low)
    np.clip(images, 0.0, 1.0, out=images)


def size_note(size: tuple[int, int], sizes: Counter[tuple[int, int]], auto: bool) -> str:
    """One line saying which input size the images get and why."""
    height, width = size
    n = sum(sizes.values())
    if len(sizes) == 1 and size in sizes:
        return f"input size {height}x{width} (height x width): every image has this size."
    low = min(sizes, key=lambda s: s[0] * s[1])
    high = max(sizes, key=lambda s: s[0] * s[1])
    spread = f"{len(sizes)} sizes from {low[0]}x{low[1]} to {high[0]}x{high[1]}"
    if not auto:
        return (
            f"input size {height}x{width} (height x width), as set by input_height/"
            f"input_width: all {n} images ({spread}) are resized to it."
        )
    return (
        f"input size {height}x{width} (height x width), chosen automatically: the most "
        f"common size ({sizes[size]} of {n} images; {spread}); the others are resized to "
        "it. Set input_height/input_width to choose another."
    )
