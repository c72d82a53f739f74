"""A CSV manifest: ``path,label`` rows, optionally a split column; unlabelled rows allowed.

* Columns ``path`` and ``label`` (any order, case-insensitive, extra columns allowed);
  relative paths are resolved against the CSV's folder.
* A row with an empty label is an image to predict, not an error: it is left out of
  training (``Listing.unlabelled``; ``tunelab predict RUN manifest.csv`` classifies them).
* A split column, the first of :data:`SPLIT_COLUMNS` present, gives each labelled row its
  side: ``train``/``training``, ``val``/``valid``/``validation``, ``test``/``inference``
  (held out of both), or empty/``unassigned`` (tunelab splits those). Piximi writes
  ``piximi_partition`` with ``Training``, ``Validation``, ``Inference`` and ``Unassigned``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from tunelab.data.problems import BadFileError
from tunelab.data.sources import Listing, _is_image, _not_image, _stamp, natural_key
from tunelab.errors import TunelabError

SPLIT_COLUMNS = ("piximi_partition", "split", "partition")
PARTITIONS = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "dev": "val",
    "test": "test",
    "testing": "test",
    "inference": "test",
    "": "",
    "unassigned": "",
    "none": "",
}
PARTITION_HELP = (
    "train/training, val/validation, test/inference, or empty (tunelab splits those rows)"
)


def read_manifest(csv_path: Path, skip_bad: bool = False) -> Listing:
    """List the images of a CSV manifest with header ``path,label`` (and maybe a split)."""
    try:
        return _read_manifest(csv_path, skip_bad)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise TunelabError(
            f"CSV manifest {str(csv_path)!r} cannot be parsed ({exc}). Allowed: UTF-8 text "
            "with a header row 'path,label'; re-save it as UTF-8 CSV."
        ) from None


def _read_manifest(csv_path: Path, skip_bad: bool) -> Listing:
    listing = Listing("csv", csv_path, [], [], stamp=[_stamp(csv_path)])
    name = str(csv_path)
    with open(csv_path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)
        if header is None:
            raise TunelabError(
                f"CSV manifest {name!r} is empty. It needs a header row 'path,label' and "
                "one row per image, e.g. 'cat/001.png,cat'."
            )
        columns = [cell.strip().lower() for cell in header]
        if "path" not in columns or "label" not in columns:
            first = ",".join(header)
            if any(_is_image(Path(cell.strip())) for cell in header):
                problem = f"has no header row (its first line is {first!r})"
            else:
                missing = [c for c in ("path", "label") if c not in columns]
                problem = f"is missing column(s) {', '.join(missing)} (header: {first!r})"
            raise TunelabError(
                f"CSV manifest {name!r} {problem}. The first line must name the columns "
                "path and label (extra columns are allowed); add a line such as 'path,label'."
            )
        for column in ("path", "label"):
            if columns.count(column) > 1:
                raise TunelabError(
                    f"CSV manifest {name!r} has {columns.count(column)} {column!r} columns "
                    f"(header: {','.join(header)!r}). Keep one; rename the others."
                )
        path_col, label_col = columns.index("path"), columns.index("label")
        labels: dict[Path, tuple[str, int]] = {}  # image -> (label, line) seen first
        split_name = next((c for c in SPLIT_COLUMNS if c in columns), None)
        split_col = columns.index(split_name) if split_name else None
        partition: list[str] = []
        rows = 0
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            rows += 1
            try:
                path, label = _manifest_row(csv_path, reader.line_num, row, path_col, label_col)
                side = _partition(csv_path, reader.line_num, row, split_col, split_name)
            except BadFileError as error:
                if not skip_bad:
                    raise
                listing.skipped.append((error.path, error.reason))
                continue
            if not label:
                listing.unlabelled.append(path)
                continue
            seen_label, seen_line = labels.setdefault(path.resolve(), (label, reader.line_num))
            if seen_label != label:
                raise TunelabError(
                    f"CSV manifest {name!r} lists {str(path)!r} under two labels: {seen_label!r} "
                    f"(line {seen_line}) and {label!r} (line {reader.line_num}). An image has "
                    "one class: keep one of the rows."
                )
            listing.files.append((path, label))
            partition.append(side)
    listing.stamp.extend(_stamp(path) for path, _ in listing.files)
    listing.class_names = sorted({label for _, label in listing.files}, key=natural_key)
    if rows == 0:
        raise TunelabError(
            f"CSV manifest {name!r} has a header but no rows. Add one row per image, "
            "e.g. 'cat/001.png,cat'."
        )
    if listing.unlabelled:
        listing.notes.append(
            f"{len(listing.unlabelled)} unlabelled rows skipped: images to predict, see "
            f"`tunelab predict RUN {name}`."
        )
    if split_name and any(partition):
        listing.partition = partition  # the split line itself comes from dataset_split
    return listing


def _manifest_row(
    csv_path: Path, line: int, row: list[str], path_col: int, label_col: int
) -> tuple[Path, str]:
    cell = row[path_col].strip() if path_col < len(row) else ""
    label = row[label_col].strip() if label_col < len(row) else ""
    where = f"line {line} of {str(csv_path)!r}"
    if not cell:
        raise BadFileError(
            f"{csv_path}:{line}", f"{where} has an empty path", "Fill in the path or remove it."
        )
    path = Path(cell).expanduser()
    if not path.is_absolute():
        path = csv_path.parent / path
    if not label:  # an image to predict: checked by `tunelab predict`, not here
        return path, ""
    if any(c in label for c in "\r\n\t\x00"):
        raise TunelabError(
            f"{where} has the label {label!r}: a label may not hold a line break, tab or NUL. "
            "Fix the label (check the CSV's quoting)."
        )
    if not path.is_file():
        state = "is a folder" if path.is_dir() else "does not exist"
        raise BadFileError(
            path,
            f"the file listed on {where} {state}",
            "Fix the path (relative paths are resolved against the CSV's folder) or "
            "remove the row.",
        )
    if not _is_image(path):
        raise _not_image(path, "manifest")
    return path, label


def _partition(
    csv_path: Path, line: int, row: list[str], split_col: int | None, split_name: str | None
) -> str:
    if split_col is None:
        return ""
    value = row[split_col].strip() if split_col < len(row) else ""
    side = PARTITIONS.get(value.lower())
    if side is None:
        raise BadFileError(
            f"{csv_path}:{line}",
            f"line {line} of {str(csv_path)!r} has {split_name} {value!r}; allowed: "
            f"{PARTITION_HELP}",
            f"Fix the {split_name} cell.",
        )
    return side
