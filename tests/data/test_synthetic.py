"""make_synthetic_folder: the formats everyone's tests use, and that it is learnable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tunelab.data import load_dataset, make_synthetic_folder, stratified_split
from tunelab.errors import TunelabError


def test_layout(tmp_path: Path) -> None:
    root = make_synthetic_folder(tmp_path / "d", classes=4, per_class=3, fmt="tif")
    assert root == tmp_path / "d"
    assert sorted(p.name for p in root.iterdir()) == ["class0", "class1", "class2", "class3"]
    assert sorted(p.name for p in (root / "class0").iterdir()) == [
        "img000.tif",
        "img001.tif",
        "img002.tif",
    ]


def test_same_seed_same_files(tmp_path: Path) -> None:
    a = make_synthetic_folder(tmp_path / "a", seed=3)
    b = make_synthetic_folder(tmp_path / "b", seed=3)
    files = sorted(p.relative_to(a) for p in a.rglob("*.png"))
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)


@pytest.mark.parametrize("classes", [2, 3, 10])
def test_learnable_by_nearest_centroid(tmp_path: Path, classes: int) -> None:
    root = make_synthetic_folder(tmp_path / "d", classes=classes, per_class=10, vary_size=True)
    ds = load_dataset(root)
    train, val = stratified_split(ds.labels, 0.3, seed=0)
    x = ds.tensor().reshape(len(ds), -1).numpy()
    centroids = np.stack([x[train][ds.labels[train] == k].mean(0) for k in range(classes)])
    distances = ((x[val][:, None, :] - centroids[None]) ** 2).sum(-1)
    assert (distances.argmin(1) == ds.labels[val]).mean() >= 0.9


def test_float_tiff(tmp_path: Path) -> None:
    ds = load_dataset(make_synthetic_folder(tmp_path / "d", dtype="float32", fmt="tif"))
    assert ds.images.dtype == np.float32 and ds.max_value == 1.0


def test_tiny_multichannel_tiff_stays_unambiguous(tmp_path: Path) -> None:
    root = make_synthetic_folder(tmp_path / "d", channels=4, size=(3, 3), fmt="tif")
    assert load_dataset(root).images.shape == (24, 4, 3, 3)


@pytest.mark.parametrize(
    ("fmt", "channels", "dtype"),
    [("png", 2, "uint16"), ("jpg", 4, "uint8"), ("gif", 1, "uint8"), ("png", 1, "int8")],
)
def test_unsupported_combinations(tmp_path: Path, fmt: str, channels: int, dtype: str) -> None:
    with pytest.raises(TunelabError, match="make_synthetic_folder"):
        make_synthetic_folder(tmp_path / "d", fmt=fmt, channels=channels, dtype=dtype)
