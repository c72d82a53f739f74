"""ImageDataset, input_size handling and the public API of tunelab.data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import tunelab.data
from tunelab.data import ImageDataset, load_dataset, make_synthetic_folder
from tunelab.errors import TunelabError


def test_public_api() -> None:
    assert sorted(tunelab.data.__all__) == [
        "AUGMENTATIONS",
        "ImageDataset",
        "augment_batch",
        "load_dataset",
        "make_synthetic_folder",
        "stratified_split",
    ]
    from tunelab.data.augment import augment_batch

    assert augment_batch is tunelab.data.augment_batch


def test_import_does_not_load_heavy_libraries() -> None:
    code = (
        "import sys, tunelab.data; "
        "print(sorted(m for m in ('torch', 'PIL', 'tifffile', 'sklearn') if m in sys.modules))"
    )
    src = str(Path(tunelab.data.__file__).resolve().parents[2])
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": src, "PATH": ""},
    )
    assert result.stdout.strip() == "[]"


def _dataset(dtype: str = "uint8", max_value: float = 255.0) -> ImageDataset:
    images = np.arange(4 * 2 * 3 * 3).reshape(4, 2, 3, 3).astype(dtype)
    return ImageDataset(images, np.array([0, 1, 0, 1]), ["a", "b"], max_value, list("wxyz"))


@pytest.mark.parametrize(("dtype", "max_value"), [("uint8", 255.0), ("uint16", 65535.0)])
def test_tensor_scales_to_unit_range(dtype: str, max_value: float) -> None:
    ds = _dataset(dtype, max_value)
    x = ds.tensor()
    assert x.dtype == torch.float32 and x.shape == (4, 2, 3, 3)
    torch.testing.assert_close(x, torch.from_numpy(ds.images.astype(np.float32) / max_value))
    assert ds.tensor(np.array([3, 1])).shape == (2, 2, 3, 3)
    torch.testing.assert_close(ds.tensor([3])[0], x[3])
    torch.testing.assert_close(ds.tensor(torch.tensor([2])), x[2:3])


def test_properties_and_subset() -> None:
    ds = _dataset()
    assert len(ds) == 4 and ds.num_classes == 2 and ds.channels == 2
    assert ds.input_size == (3, 3) and ds.class_counts().tolist() == [2, 2]
    sub = ds.subset([1, 3])
    assert sub.paths == ["x", "z"] and sub.labels.tolist() == [1, 1]
    assert "4 images" in repr(ds)


def test_mismatched_lengths_rejected() -> None:
    with pytest.raises(ValueError, match="same length"):
        ImageDataset(np.zeros((2, 1, 2, 2), np.uint8), np.array([0]), ["a"], 255.0, ["p", "q"])


def test_auto_input_size_is_most_common(tmp_path: Path) -> None:
    root = make_synthetic_folder(
        tmp_path / "d", classes=2, per_class=5, size=(10, 14), vary_size=True
    )
    ds = load_dataset(root)
    assert ds.input_size == (10, 14)


def test_explicit_input_size_resizes(tmp_path: Path) -> None:
    root = make_synthetic_folder(tmp_path / "d", classes=2, per_class=2, channels=3)
    ds = load_dataset(root, input_size=[20, 7])
    assert ds.images.shape == (4, 3, 20, 7) and ds.images.dtype == np.uint8


@pytest.mark.parametrize("size", [(0, 5), (5,), "32", (4.5, 4), (20000, 20), ("a", 3)])
def test_bad_input_size(tmp_path: Path, size: object) -> None:
    with pytest.raises(TunelabError, match=r"input_size must be None or \(height, width\)"):
        load_dataset("digits", input_size=size)  # type: ignore[arg-type]
