"""A manifest's unlabelled rows are images to predict; its split column is the split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tunelab.data import load_dataset
from tunelab.data.split import dataset_split
from tunelab.errors import TunelabError


def _manifest(root: Path, rows: list[tuple[str, str, str]], column: str = "piximi_partition"):
    root.mkdir(parents=True, exist_ok=True)
    for i, (name, label, _) in enumerate(rows):
        value = 40 + 50 * (label == "b") + i % 3
        Image.fromarray(np.full((8, 8), value, np.uint8)).save(root / name)
    lines = [f"path,label,{column}"] + [",".join(row) for row in rows]
    (root / "m.csv").write_text("\n".join(lines) + "\n")
    return root / "m.csv"


PIXIMI_ROWS = [
    *[(f"a{i}.png", "a", "Training") for i in range(4)],
    *[(f"b{i}.png", "b", "Training") for i in range(4)],
    ("a9.png", "a", "Validation"),
    ("b9.png", "b", "Validation"),
    *[(f"u{i}.png", "", "Inference") for i in range(5)],
]


def test_unlabelled_rows_are_skipped_with_one_line(tmp_path: Path) -> None:
    ds = load_dataset(_manifest(tmp_path, PIXIMI_ROWS))
    assert len(ds) == 10 and ds.class_names == ["a", "b"] and ds.skipped == []
    assert len(ds.unlabelled) == 5
    lines = [n for n in ds.notes if "unlabelled" in n]
    assert len(lines) == 1 and lines[0].startswith(
        "5 unlabelled rows skipped: images to predict, see `tunelab predict"
    )


def test_piximi_partition_is_the_split(tmp_path: Path) -> None:
    ds = load_dataset(_manifest(tmp_path, PIXIMI_ROWS))
    train, val, note = ds.split(0.5, seed=3)
    assert [Path(ds.paths[i]).name for i in val] == ["a9.png", "b9.png"]
    assert len(train) == 8
    assert "from the manifest's split column, 8 training and 2 validation" in note
    # ignoring it gives a random stratified split at validation_fraction
    train, val, note = ds.split(0.5, seed=3, use_manifest_split=False)
    assert len(val) == 5 and "stratified" in note and "ignored" in note


@pytest.mark.parametrize(
    ("column", "train_word", "val_word", "test_word"),
    [("split", "train", "val", "test"), ("partition", "TRAIN", "validation", "inference")],
)
def test_other_split_columns(
    tmp_path: Path, column: str, train_word: str, val_word: str, test_word: str
) -> None:
    rows = [
        *[(f"a{i}.png", "a", train_word) for i in range(3)],
        *[(f"b{i}.png", "b", train_word) for i in range(3)],
        ("a8.png", "a", val_word),
        ("b8.png", "b", val_word),
        ("b9.png", "b", test_word),
    ]
    ds = load_dataset(_manifest(tmp_path, rows, column))
    train, val, note = ds.split(0.25)
    names = {Path(ds.paths[i]).name for i in np.concatenate([train, val])}
    assert "b9.png" not in names  # a labelled test row is held out of both
    assert len(train) == 6 and len(val) == 2
    assert "1 test/inference rows left out of both" in note


def test_rows_without_a_side_are_split_and_added(tmp_path: Path) -> None:
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1, 0, 1])
    sides = np.array(["train", "train", "", "", "train", "train", "", "", "val", "val"])
    train, val, note = dataset_split(labels, sides, 0.5, seed=0)
    assert {8, 9} <= set(val.tolist()) and {0, 1, 4, 5} <= set(train.tolist())
    assert len(train) + len(val) == 10 and "4 rows without a side" in note


def test_a_split_without_validation_rows_falls_back_to_a_random_split() -> None:
    labels = np.array([0, 0, 0, 1, 1, 1])
    train, val, note = dataset_split(labels, np.array(["train"] * 6), 0.34, seed=1)
    assert len(val) == 3 and "has no validation rows" in note


def test_an_unknown_split_value_names_row_value_and_allowed(tmp_path: Path) -> None:
    rows = [("a0.png", "a", "Training"), ("b0.png", "b", "Holdout")]
    with pytest.raises(TunelabError) as error:
        load_dataset(_manifest(tmp_path, rows))
    message = str(error.value)
    assert "line 3" in message and "'Holdout'" in message and "train/training" in message


def test_all_rows_unlabelled_is_refused_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(TunelabError, match="no labelled images: all 2 rows have an empty label"):
        load_dataset(_manifest(tmp_path, [("u0.png", "", ""), ("u1.png", "", "")]))


def test_partition_survives_the_cache_and_subsets(tmp_path: Path) -> None:
    path = _manifest(tmp_path, PIXIMI_ROWS)
    first = load_dataset(path)
    again = load_dataset(path)
    assert again.from_cache
    assert again.partition is not None and first.partition is not None
    assert again.partition.tolist() == first.partition.tolist()
    assert again.unlabelled == first.unlabelled
    sub = again.subset([8, 9])
    assert sub.partition is not None and sub.partition.tolist() == ["val", "val"]
