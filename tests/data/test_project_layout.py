"""Project layouts (a Piximi export: labelled/<class>/ + unlabelled/) are never taken for
classes: their labelled part is used and a note says so, or they are refused with the fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tunelab.data import load_dataset, make_synthetic_folder
from tunelab.data.layout import inspect_folder
from tunelab.errors import TunelabError


def _png(path: Path, value: int = 90) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((12, 12), value, np.uint8)).save(path)
    return path


def _project(root: Path, unlabelled: int = 4) -> Path:
    make_synthetic_folder(root / "labelled", classes=3, per_class=5)
    for i in range(unlabelled):
        _png(root / "unlabelled" / f"u{i}.png", 10 * i)
    return root


def test_project_folder_trains_on_its_labelled_classes(tmp_path: Path) -> None:
    root = _project(tmp_path / "proj")
    ds = load_dataset(root)
    assert ds.class_names == ["class0", "class1", "class2"]  # never "labelled"/"unlabelled"
    assert len(ds) == 15
    assert ds.source == str(root)
    note = next(n for n in ds.notes if "project folder" in n)
    assert "labelled" in note and "3 classes" in note and "4 images in unlabelled/" in note
    assert "tunelab predict" in note and "\n" not in note


def test_project_folder_with_a_manifest_uses_the_manifest(tmp_path: Path) -> None:
    root = _project(tmp_path / "proj", unlabelled=2)
    rows = ["path,label,piximi_partition"]
    for k in range(3):
        for i in range(5):
            side = "Validation" if i == 0 else "Training"
            rows.append(f"labelled/class{k}/img{i:03d}.png,class{k},{side}")
    rows += ["unlabelled/u0.png,,Inference", "unlabelled/u1.png,,Inference"]
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    ds = load_dataset(root)
    assert ds.class_names == ["class0", "class1", "class2"] and len(ds) == 15
    assert ds.partition is not None and (ds.partition == "val").sum() == 3
    assert len(ds.unlabelled) == 2
    assert "reading its manifest.csv" in ds.notes[0]


@pytest.mark.parametrize("name", ["Unknown", "unlabelled", "UNLABELED"])
def test_an_unknown_folder_next_to_classes_is_not_a_class(tmp_path: Path, name: str) -> None:
    root = make_synthetic_folder(tmp_path / "data", classes=2, per_class=4)
    _png(root / name / "x.png")
    _png(root / name / "y.png")
    ds = load_dataset(root)
    assert ds.class_names == ["class0", "class1"]
    assert any(f"{name}/" in n and "2 images without a class" in n for n in ds.notes)


def test_a_single_folder_of_classes_inside_is_used(tmp_path: Path) -> None:
    make_synthetic_folder(tmp_path / "proj" / "images", classes=2, per_class=3)
    ds = load_dataset(tmp_path / "proj")
    assert ds.class_names == ["class0", "class1"]
    assert any("training on" in n and "images" in n for n in ds.notes)


def test_split_folders_are_refused_with_the_fix(tmp_path: Path) -> None:
    make_synthetic_folder(tmp_path / "proj" / "train", classes=2, per_class=3)
    make_synthetic_folder(tmp_path / "proj" / "val", classes=2, per_class=2)
    with pytest.raises(TunelabError) as error:
        load_dataset(tmp_path / "proj")
    message = str(error.value)
    assert "\n" not in message and "split folders (train/, val/)" in message
    assert "path,label,split" in message


def test_plain_class_folders_with_nested_subfolders_stay_classes(tmp_path: Path) -> None:
    # class/plate/ sub-folders are part of a class, not a project layout
    for cls in ("cat", "dog"):
        for plate in ("plate1", "plate2"):
            _png(tmp_path / "data" / cls / plate / "a.png")
    ds = load_dataset(tmp_path / "data")
    assert ds.class_names == ["cat", "dog"] and len(ds) == 4
    assert inspect_folder(tmp_path / "data").kind == "classes"


def test_notes_survive_the_cache(tmp_path: Path) -> None:
    root = _project(tmp_path / "proj")
    first = load_dataset(root)
    again = load_dataset(root)
    assert again.from_cache and again.notes == first.notes


def test_a_project_file_given_as_data_points_to_import_piximi(tmp_path: Path) -> None:
    project = tmp_path / "cells.zip"
    project.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    with pytest.raises(TunelabError, match="tunelab import-piximi"):
        load_dataset(project)


def test_input_size_is_said_when_chosen_automatically(tmp_path: Path) -> None:
    root = make_synthetic_folder(tmp_path / "d", classes=2, per_class=4, vary_size=True)
    ds = load_dataset(root)
    h, w = ds.input_size
    line = next(n for n in ds.notes if n.startswith("input size"))
    assert f"input size {h}x{w}" in line and "chosen automatically" in line
    assert "input size 9x9" in next(
        n for n in load_dataset(root, input_size=(9, 9)).notes if n.startswith("input size")
    )
    shutil.rmtree(root)
