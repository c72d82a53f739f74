"""Importing Piximi projects: both file formats, every zarr layout, channels and bit depth
kept, Piximi's partition as the split, one line for a bad file."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tunelab.data import load_dataset
from tunelab.data.decode import decode_image
from tunelab.data.piximi import import_piximi, read_project
from tunelab.errors import TunelabError

# `px`: the writer of small Piximi project files (tests/data/piximi_projects.py, via conftest)


def _rows(out: Path) -> list[dict[str, str]]:
    with open(out / "manifest.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def _check_pixels_kept(out: Path, imgs) -> None:
    rows = _rows(out)
    assert len(rows) == len(imgs)
    for row, image in zip(rows, imgs, strict=True):
        decoded = decode_image(out / row["path"])
        assert decoded.dtype == image.pixels.dtype
        np.testing.assert_array_equal(decoded, image.pixels)


@pytest.mark.parametrize("version", ["0.1.0", "0.2.0", "1.0.0", "1.1.0", "v1.1.4"])
def test_zarr_projects_of_every_layout(px, tmp_path: Path, version: str) -> None:
    imgs = px.images()
    project = px.write_zarr_project(tmp_path / "cells.zip", imgs, version=version)
    imported = import_piximi(project, tmp_path / "out")
    out = imported.path
    assert sorted(p.name for p in (out / "labelled").iterdir()) == ["alpha", "beta"]
    assert len(list((out / "unlabelled").iterdir())) == 2
    assert imported.classes == {"alpha": 3, "beta": 3} and imported.unlabelled == 2
    _check_pixels_kept(out, imgs)
    rows = _rows(out)
    assert rows[0]["path"] == "labelled/alpha/img0.png" and rows[0]["label"] == "alpha"
    assert rows[-1]["label"] == "" and rows[-1]["path"].startswith("unlabelled/")
    if version == "0.1.0":  # 0.1 recorded no partition: labelled images are unassigned
        assert {r["piximi_partition"] for r in rows} == {"Unassigned", "Inference"}
    else:
        assert [r["piximi_partition"] for r in rows].count("Validation") == 2


@pytest.mark.parametrize(("channels", "dtype"), [(1, "uint8"), (2, "uint16")])
def test_zarr_projects_in_piximi_2_layout(px, tmp_path: Path, channels: int, dtype: str) -> None:
    imgs = px.images(channels=channels, dtype=dtype)
    project = px.write_zarr_v2_project(tmp_path / "c.zip", imgs)
    imported = import_piximi(project, tmp_path / "out")
    assert imported.project == "cells2" and imported.classes == {"alpha": 3, "beta": 3}
    assert imported.unlabelled == 2
    _check_pixels_kept(imported.path, imgs)
    assert any("2 annotation objects" in line for line in imported.lines())
    assert [r["piximi_partition"] for r in _rows(imported.path)].count("Validation") == 2


def test_the_imported_folder_trains_with_piximis_split(px, tmp_path: Path) -> None:
    imported = import_piximi(
        px.write_zarr_project(tmp_path / "c.zip", px.images()), tmp_path / "out"
    )
    ds = load_dataset(imported.path)
    assert ds.class_names == ["alpha", "beta"] and len(ds) == 6 and len(ds.unlabelled) == 2
    train, val, note = ds.split(0.25)
    assert sorted(Path(ds.paths[i]).name for i in val) == ["img2.png", "img5.png"]
    assert "from the manifest's split column" in note


@pytest.mark.parametrize(("channels", "dtype"), [(2, "uint8"), (1, "uint16"), (3, "uint16")])
def test_channels_and_bit_depth_are_kept_as_tiff(
    px, tmp_path: Path, channels: int, dtype: str
) -> None:
    imgs = px.images(channels=channels, dtype=dtype)
    imported = import_piximi(px.write_zarr_project(tmp_path / "c.zip", imgs), tmp_path / "out")
    assert all(r["path"].endswith(".tif") for r in _rows(imported.path))
    _check_pixels_kept(imported.path, imgs)
    assert imported.channels == channels and imported.bit_depth == (8 if dtype == "uint8" else 16)
    ds = load_dataset(imported.path)
    assert ds.channels == channels and ds.max_value == (255.0 if dtype == "uint8" else 65535.0)


def test_annotation_objects_are_left_out_and_said(px, tmp_path: Path) -> None:
    project = px.write_zarr_project(tmp_path / "c.zip", px.images(), annotations=3)
    imported = import_piximi(project, tmp_path / "out")
    assert len(_rows(imported.path)) == 8
    assert any("3 annotation objects" in line for line in imported.lines())


@pytest.mark.parametrize(("channels", "dtype"), [(1, "uint8"), (3, "uint8"), (2, "uint16")])
def test_old_json_projects(px, tmp_path: Path, channels: int, dtype: str) -> None:
    imgs = px.images(channels=channels, dtype=dtype, seed=1)
    project = px.write_json_project(tmp_path / "old.json", imgs)
    assert read_project(project).format == "json"
    imported = import_piximi(project, tmp_path / "out")
    assert imported.classes == {"alpha": 3, "beta": 3} and imported.unlabelled == 2
    _check_pixels_kept(imported.path, imgs)
    assert [r["piximi_partition"] for r in _rows(imported.path)].count("Inference") == 2


def _one_line(error: pytest.ExceptionInfo[TunelabError]) -> str:
    message = str(error.value)
    assert "\n" not in message and message.startswith("cannot import Piximi project")
    return message


def test_truncated_zip_is_one_line(px, tmp_path: Path) -> None:
    project = px.write_zarr_project(tmp_path / "c.zip", px.images())
    data = project.read_bytes()
    project.write_bytes(data[: len(data) // 2])
    with pytest.raises(TunelabError) as error:
        import_piximi(project, tmp_path / "out")
    assert "not a readable zip file" in _one_line(error)
    assert not (tmp_path / "out").exists()


def test_truncated_pixels_are_one_line_and_leave_nothing(px, tmp_path: Path) -> None:
    project = px.write_zarr_project(tmp_path / "c.zip", px.images())
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(project) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith("img3.png/img3.png/0.0.0.0"):
                data = data[:10]
            dst.writestr(item, data)
    with pytest.raises(TunelabError) as error:
        import_piximi(broken, tmp_path / "out")
    assert "its data cannot be read" in _one_line(error)
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    ("version", "expected"),
    [("0.0.5", "not one Piximi reads"), ("3.0.1", "newer than"), ("banana", "not one Piximi")],
)
def test_unsupported_versions_are_one_line(px, tmp_path: Path, version: str, expected: str) -> None:
    project = px.write_zarr_project(tmp_path / "c.zip", px.images(), version=version)
    with pytest.raises(TunelabError) as error:
        import_piximi(project, tmp_path / "out")
    assert expected in _one_line(error) and version in str(error.value)


def test_missing_group_is_named(px, tmp_path: Path) -> None:
    project = px.write_zarr_project(tmp_path / "c.zip", px.images())
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(project) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.infolist():
            if "/project/kinds/" not in item.filename:
                dst.writestr(item, src.read(item))
    with pytest.raises(TunelabError) as error:
        import_piximi(broken, tmp_path / "out")
    assert "group cells.zarr/project/kinds is missing" in _one_line(error)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"project": {"serializedImages": [', "not valid JSON (line 1"),
        ('{"classifier": {}}', "no 'project.serializedImages' list"),
        (
            '{"project": {"serializedImages": [{"imageFilename": "a", "imageData": [["data:'
            'image/png;base64,AAAA"]]}]}}',
            "image 'a' has a PNG that cannot be decoded",
        ),
    ],
)
def test_malformed_json_is_one_line(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "p.json").write_text(text)
    with pytest.raises(TunelabError) as error:
        import_piximi(tmp_path / "p.json", tmp_path / "out")
    assert expected in _one_line(error)


def test_output_folder_is_never_overwritten(px, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    project = px.write_zarr_project(tmp_path / "c.zip", px.images())
    with pytest.raises(TunelabError, match="already exists and is not empty"):
        import_piximi(project, tmp_path / "out")
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"
