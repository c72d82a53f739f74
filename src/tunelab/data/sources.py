"""Where the images are: a folder of class sub-folders, a CSV manifest, or ``"digits"``.

This module only lists files and labels (and stats them for the cache key); it decodes
nothing. Class names are sorted naturally, so ``"2"`` comes before ``"10"``.

* Folder: every non-hidden sub-folder is a class; images anywhere below it (nested
  folders included) belong to it. Hidden files and folders (``.DS_Store``, ``.git``),
  ``Thumbs.db``, ``desktop.ini`` and ``__MACOSX`` are ignored silently; any other file
  without an image extension is a bad file. Files directly inside the top folder are
  ignored (with a warning when they are images).
* CSV: a header row with columns ``path`` and ``label`` (any order, case-insensitive,
  extra columns allowed); relative paths are resolved against the CSV's folder. Read by
  :mod:`tunelab.data.manifest` (unlabelled rows, split column).
* Project layouts (``labelled/`` + ``unlabelled/``) are resolved by
  :mod:`tunelab.data.layout` before :func:`list_folder` sees a folder of classes.
* The bare string ``"digits"`` always means the built-in data set (write ``./digits`` for
  a folder of that name).
"""

from __future__ import annotations

import errno
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tunelab.data.decode import FORMATS, IMAGE_EXTENSIONS
from tunelab.data.problems import BadFileError
from tunelab.errors import TunelabError, did_you_mean

BUILTIN = ("digits",)
IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini", "__macosx", "icon\r"})
SOURCE_HELP = (
    "Give a folder with one sub-folder per class, a CSV manifest with columns path,label, "
    "or the built-in name 'digits'."
)

Kind = Literal["digits", "folder", "csv"]


@dataclass
class Listing:
    """Candidate image files with their class names, before any decoding."""

    kind: Kind
    source: Path
    files: list[tuple[Path, str]]  # (image path, class name)
    class_names: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    stamp: list[tuple[str, int, int]] = field(default_factory=list)  # (path, size, mtime_ns)
    #: one line each about how the source was read (project layout, unlabelled rows, split)
    notes: list[str] = field(default_factory=list)
    #: per file: "train", "val", "test" or "" (no split given); empty when there is none
    partition: list[str] = field(default_factory=list)
    #: images without a label (manifest rows with an empty label): images to predict
    unlabelled: list[Path] = field(default_factory=list)


def natural_key(text: str) -> tuple[list[int | str], str]:
    """Sort key that orders ``img2`` before ``img10``."""
    parts: list[int | str] = [
        int(part) if i % 2 else part.lower() for i, part in enumerate(re.split(r"(\d+)", text))
    ]
    return parts, text


def resolve_source(source: str | os.PathLike[str]) -> tuple[Kind, Path]:
    """Decide which kind of source ``source`` is; raise if it cannot be one."""
    if isinstance(source, str) and source in BUILTIN:
        return "digits", Path(source)
    path = Path(source).expanduser()
    if path.is_dir():
        return "folder", path
    if path.is_file():
        if path.suffix.lower() == ".csv":
            return "csv", path
        if path.suffix.lower() in (".zip", ".json"):
            raise TunelabError(
                f"data source {str(path)!r} is a {path.suffix} file, not a folder or a CSV "
                "manifest. If it is a Piximi project, turn it into a data set folder first: "
                f"tunelab import-piximi {str(path)!r} OUT, then use OUT."
            )
        raise TunelabError(
            f"data source {str(path)!r} is a file but not a CSV manifest (.csv). {SOURCE_HELP}"
        )
    if not path.exists():
        hint = did_you_mean(str(source), BUILTIN)
        raise TunelabError(f"data source {str(path)!r} does not exist.{hint} {SOURCE_HELP}")
    raise TunelabError(f"data source {str(path)!r} is not a folder or a file. {SOURCE_HELP}")


def _ignored(name: str) -> bool:
    return name.startswith(".") or name.lower() in IGNORED_NAMES


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def _not_image(path: Path, where: str) -> BadFileError:
    return BadFileError(
        path,
        f"not an image file (extension {path.suffix or 'none'!r}; allowed: "
        f"{', '.join(sorted(IMAGE_EXTENSIONS))})",
        f"Move it out of the {where}.",
    )


def _stamp(path: Path) -> tuple[str, int, int]:
    """``(path, size, mtime)`` for the cache key; a BadFileError for a file that cannot be
    stat'ed (a broken symlink, a symlink loop, no permission)."""
    try:
        stat = path.stat()
    except OSError as err:
        if path.is_symlink():
            target = os.readlink(path)
            why = "a symlink loop" if err.errno == errno.ELOOP else "a broken symlink"
            reason = f"is {why} (it points to {target!r})"
        else:
            reason = f"cannot be read ({err.strerror or err})"
        raise BadFileError(path, reason, "Fix or remove the link.") from None
    return str(path), stat.st_size, stat.st_mtime_ns


def list_folder(
    root: Path, skip_bad: bool = False, exclude: frozenset[str] = frozenset()
) -> Listing:
    """List the images of a folder with one sub-folder per class (minus ``exclude`` names)."""
    entries = sorted(
        (e for e in os.scandir(root) if not _ignored(e.name) and e.name not in exclude),
        key=lambda e: natural_key(e.name),
    )
    class_dirs = [Path(e.path) for e in entries if e.is_dir()]
    loose = [Path(e.path) for e in entries if not e.is_dir()]
    example = f"e.g. {str(root / 'cat' / '001.png')!r} and {str(root / 'dog' / '001.png')!r}"
    if not class_dirs:
        if not loose:
            raise TunelabError(
                f"data folder {str(root)!r} is empty. Put each class's images in its own "
                f"sub-folder, {example}."
            )
        raise TunelabError(
            f"data folder {str(root)!r} has no class sub-folders (found {len(loose)} "
            f"file(s) directly inside it, e.g. {loose[0].name!r}). Put each class's images "
            f"in its own sub-folder, {example}."
        )
    loose_images = [p.name for p in loose if _is_image(p)]
    if loose_images:
        warnings.warn(
            f"ignoring {len(loose_images)} image(s) directly inside {str(root)!r} "
            f"(e.g. {loose_images[0]!r}); only images inside class sub-folders are used.",
            stacklevel=3,
        )
    listing = Listing("folder", root, [], [d.name for d in class_dirs])
    for class_dir in class_dirs:
        images = _list_class(class_dir, skip_bad, listing)
        if not images:
            raise TunelabError(
                f"class folder {str(class_dir)!r} has no images. Each class needs at least "
                f"one {FORMATS} image; add images or remove the folder."
            )
        listing.files.extend((path, class_dir.name) for path in images)
    return listing


def _list_class(class_dir: Path, skip_bad: bool, listing: Listing) -> list[Path]:
    images: list[Path] = []
    seen: set[tuple[int, int]] = set()  # (device, inode) of folders walked: links may loop

    def unreadable(err: OSError) -> None:
        raise TunelabError(
            f"class folder {err.filename!r} cannot be read ({err.strerror or err}). Give "
            "yourself read permission on it (chmod -R u+rX), or move it out of the data set."
        )

    for folder, dirs, names in os.walk(class_dir, followlinks=True, onerror=unreadable):
        try:
            info = os.stat(folder)
        except OSError:
            dirs[:] = []
            continue
        if (info.st_dev, info.st_ino) in seen:  # a link back to a folder already listed
            dirs[:] = []
            continue
        seen.add((info.st_dev, info.st_ino))
        dirs[:] = sorted((d for d in dirs if not _ignored(d)), key=natural_key)
        for name in names:
            if _ignored(name):
                continue
            path = Path(folder) / name
            try:
                listing.stamp.append(_stamp(path))
            except BadFileError as unusable:
                if not skip_bad:
                    raise
                listing.skipped.append((unusable.path, unusable.reason))
                continue
            if _is_image(path):
                images.append(path)
                continue
            error = _not_image(path, "class folder")
            if not skip_bad:
                raise error
            listing.skipped.append((error.path, error.reason))
    return sorted(images, key=lambda p: natural_key(str(p.relative_to(class_dir))))
