"""Every source kind and every structural error, checked through load_dataset."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tunelab.data import load_dataset, make_synthetic_folder
from tunelab.errors import TunelabError


def _png(path: Path, value: int = 128, size: tuple[int, int] = (6, 6)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(size, value, np.uint8)).save(path)
    return path


def _one_line(error: pytest.ExceptionInfo[TunelabError]) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


# ---- sources that work ----------------------------------------------------------------


def test_folder_source(tmp_path: Path) -> None:
    root = make_synthetic_folder(tmp_path / "data", classes=3, per_class=4)
    ds = load_dataset(root)
    assert ds.images.shape == (12, 1, 12, 12)
    assert ds.images.dtype == np.uint8
    assert ds.class_names == ["class0", "class1", "class2"]
    assert ds.labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert ds.labels.dtype == np.int64
    assert ds.max_value == 255.0
    assert ds.paths[0].endswith(os.path.join("class0", "img000.png"))
    assert ds.skipped == [] and ds.source == str(root)


def test_folder_accepts_str_path_and_nested_folders(tmp_path: Path) -> None:
    _png(tmp_path / "d" / "cat" / "a.png")
    _png(tmp_path / "d" / "cat" / "more" / "b.png")
    _png(tmp_path / "d" / "dog" / "c.png")
    ds = load_dataset(str(tmp_path / "d"))
    assert len(ds) == 3 and ds.class_counts().tolist() == [2, 1]


def test_class_names_sort_naturally(tmp_path: Path) -> None:
    for name in ("10", "2", "1"):
        _png(tmp_path / "d" / name / "a.png")
    assert load_dataset(tmp_path / "d").class_names == ["1", "2", "10"]


def test_hidden_and_system_files_are_ignored(tmp_path: Path) -> None:
    root = make_synthetic_folder(tmp_path / "d", classes=2, per_class=2)
    (root / "class0" / ".DS_Store").write_bytes(b"junk")
    (root / "class0" / "Thumbs.db").write_bytes(b"junk")
    (root / "class1" / "desktop.ini").write_text("junk")
    (root / ".hidden").mkdir()
    _png(root / ".hidden" / "x.png")
    (root / "README.txt").write_text("loose files at the top are ignored")
    ds = load_dataset(root)
    assert len(ds) == 4 and ds.skipped == [] and ds.num_classes == 2


def test_loose_images_at_the_top_warn(tmp_path: Path) -> None:
    root = make_synthetic_folder(tmp_path / "d", classes=2, per_class=2)
    _png(root / "stray.png")
    with pytest.warns(UserWarning, match="ignoring 1 image.*'stray.png'"):
        assert len(load_dataset(root)) == 4


def test_csv_manifest_relative_absolute_and_extra_columns(tmp_path: Path) -> None:
    a = _png(tmp_path / "imgs" / "a.png", 10)
    _png(tmp_path / "imgs" / "b.png", 200)
    c = _png(tmp_path / "elsewhere" / "c.png", 30)
    manifest = tmp_path / "imgs" / "labels.csv"
    manifest.write_text(f"id,Path,label\n1,a.png,cat\n2,b.png,dog\n3,{c},cat\n")
    ds = load_dataset(manifest)
    assert ds.class_names == ["cat", "dog"]
    assert ds.labels.tolist() == [0, 1, 0]
    assert ds.paths[0] == str(a)
    assert ds.images[:, 0, 0, 0].tolist() == [10, 200, 30]


def test_csv_with_bom_and_blank_lines(tmp_path: Path) -> None:
    _png(tmp_path / "a.png")
    _png(tmp_path / "b.png")
    manifest = tmp_path / "m.csv"
    manifest.write_text("\ufeffpath,label\n\na.png,x\nb.png,y\n\n", encoding="utf-8")
    assert len(load_dataset(manifest)) == 2


def test_digits_builtin() -> None:
    ds = load_dataset("digits")
    assert ds.images.shape == (1797, 1, 8, 8)
    assert ds.images.dtype == np.uint8 and ds.images.max() == 16
    assert ds.max_value == 16.0
    assert ds.class_names == [str(i) for i in range(10)]
    x = ds.tensor()
    assert float(x.max()) == 1.0 and float(x.min()) == 0.0


def test_digits_resized() -> None:
    ds = load_dataset("digits", input_size=(16, 16))
    assert ds.images.shape == (1797, 1, 16, 16) and ds.max_value == 255.0


# ---- errors ----------------------------------------------------------------------------


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(TunelabError) as error:
        load_dataset(tmp_path / "nope")
    message = _one_line(error)
    assert "does not exist" in message and "nope" in message and "'digits'" in message


def test_missing_path_suggests_digits() -> None:
    with pytest.raises(TunelabError, match='Did you mean "digits"'):
        load_dataset("digitz")


def test_file_that_is_not_csv(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hi")
    with pytest.raises(TunelabError) as error:
        load_dataset(path)
    assert "is a file but not a CSV manifest" in _one_line(error)
    assert "notes.txt" in str(error.value)


def test_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(TunelabError) as error:
        load_dataset(tmp_path / "empty")
    assert "is empty" in _one_line(error) and "sub-folder" in str(error.value)


def test_folder_without_class_subfolders(tmp_path: Path) -> None:
    _png(tmp_path / "flat" / "a.png")
    with pytest.raises(TunelabError) as error:
        load_dataset(tmp_path / "flat")
    assert "no class sub-folders" in _one_line(error) and "'a.png'" in str(error.value)


def test_empty_class_folder(tmp_path: Path) -> None:
    root = make_synthetic_folder(tmp_path / "d", classes=2, per_class=2)
    (root / "class2").mkdir()
    (root / "class2" / ".DS_Store").write_bytes(b"")
    with pytest.raises(TunelabError) as error:
        load_dataset(root)
    message = _one_line(error)
    assert "class2" in message and "has no images" in message


def test_single_class(tmp_path: Path) -> None:
    root = make_synthetic_folder(tmp_path / "d", classes=1, per_class=3)
    with pytest.raises(TunelabError) as error:
        load_dataset(root)
    message = _one_line(error)
    assert "only one class ('class0')" in message and "at least 2" in message


def test_single_class_still_raises_with_skip_bad(tmp_path: Path) -> None:
    root = make_synthetic_folder(tmp_path / "d", classes=1, per_class=3)
    with pytest.raises(TunelabError, match="only one class"):
        load_dataset(root, skip_bad=True)


def test_single_label_csv(tmp_path: Path) -> None:
    _png(tmp_path / "a.png")
    (tmp_path / "m.csv").write_text("path,label\na.png,cat\n")
    with pytest.raises(TunelabError, match="only one class"):
        load_dataset(tmp_path / "m.csv")


def test_fewer_images_than_classes_is_guarded() -> None:
    from tunelab.data.loader import check_classes
    from tunelab.data.sources import Listing

    listing = Listing("csv", Path("m.csv"), [], ["a", "b", "c"])
    with pytest.raises(TunelabError, match=r"fewer images \(2\) than classes \(3\)"):
        check_classes(listing, ["a", "b"])


def test_non_image_file_in_class_folder(tmp_path: Path) -> None:
    root = make_synthetic_folder(tmp_path / "d", classes=2, per_class=2)
    (root / "class1" / "notes.txt").write_text("hello")
    with pytest.raises(TunelabError) as error:
        load_dataset(root)
    message = _one_line(error)
    assert "notes.txt" in message and "not an image file" in message
    assert "skip_bad=True" in message


def test_non_image_file_skipped(tmp_path: Path) -> None:
    root = make_synthetic_folder(tmp_path / "d", classes=2, per_class=2)
    (root / "class1" / "notes.txt").write_text("hello")
    ds = load_dataset(root, skip_bad=True)
    assert len(ds) == 4
    assert [Path(p).name for p, _ in ds.skipped] == ["notes.txt"]
    assert "not an image file" in ds.skipped[0][1]


def test_csv_missing_file(tmp_path: Path) -> None:
    _png(tmp_path / "a.png")
    _png(tmp_path / "b.png")
    (tmp_path / "m.csv").write_text("path,label\na.png,x\nb.png,y\ngone.png,y\n")
    with pytest.raises(TunelabError) as error:
        load_dataset(tmp_path / "m.csv")
    message = _one_line(error)
    assert "gone.png" in message and "does not exist" in message and "line 4" in message
    ds = load_dataset(tmp_path / "m.csv", skip_bad=True)
    assert len(ds) == 2 and Path(ds.skipped[0][0]).name == "gone.png"


def test_csv_without_header(tmp_path: Path) -> None:
    _png(tmp_path / "a.png")
    (tmp_path / "m.csv").write_text("a.png,x\n")
    with pytest.raises(TunelabError) as error:
        load_dataset(tmp_path / "m.csv")
    message = _one_line(error)
    assert "has no header row" in message and "'path,label'" in message


def test_csv_missing_label_column(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("path,class\na.png,x\n")
    with pytest.raises(TunelabError) as error:
        load_dataset(tmp_path / "m.csv")
    message = _one_line(error)
    assert "missing column(s) label" in message and "path,class" in message


def test_csv_empty_file_and_no_rows(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(TunelabError, match="is empty"):
        load_dataset(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("path,label\n")
    with pytest.raises(TunelabError, match="no rows"):
        load_dataset(tmp_path / "header.csv")


def test_csv_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_bytes(b"path,label\n\xff\xfe\x00bad,x\n")
    with pytest.raises(TunelabError, match="cannot be parsed .* UTF-8"):
        load_dataset(tmp_path / "m.csv")


def test_csv_empty_label_is_an_image_to_predict_not_an_error(tmp_path: Path) -> None:
    for name in "abc":
        _png(tmp_path / f"{name}.png")
    (tmp_path / "m.csv").write_text("path,label\na.png,x\nb.png,\nc.png,y\n")
    ds = load_dataset(tmp_path / "m.csv")
    assert len(ds) == 2 and ds.skipped == []
    assert ds.unlabelled == [str(tmp_path / "b.png")]
    assert any(note.startswith("1 unlabelled rows skipped: images to predict") for note in ds.notes)


def test_csv_empty_path(tmp_path: Path) -> None:
    _png(tmp_path / "a.png")
    (tmp_path / "m.csv").write_text("path,label\n,x\n")
    with pytest.raises(TunelabError, match="line 2 .* has an empty path"):
        load_dataset(tmp_path / "m.csv")


def test_csv_non_image_row(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "m.csv").write_text("path,label\na.txt,x\n")
    with pytest.raises(TunelabError, match="not an image file"):
        load_dataset(tmp_path / "m.csv")


def test_all_rows_bad_with_skip_bad(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("path,label\ngone.png,x\nalso-gone.png,y\n")
    with pytest.raises(TunelabError, match="no usable images: all 2 files were skipped"):
        load_dataset(tmp_path / "m.csv", skip_bad=True)
