"""Runs shared by the evaluation tests: trained once per session, on tiny data."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest

from tunelab.data import make_synthetic_folder
from tunelab.runs import Run


@pytest.fixture(scope="session")
def folder_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 classes x 10 grey 12x12 PNGs in class sub-folders."""
    return make_synthetic_folder(tmp_path_factory.mktemp("data") / "syn", classes=3, per_class=10)


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="session")
def folder_run(folder_data: Path, store: Path) -> Run:
    from tunelab.training.trainer import train

    return train(
        folder_data, store=store, name="syn", epochs=4, batch_size=8, learning_rate=0.01, threads=1
    )


@pytest.fixture(scope="session")
def digits_run(store: Path) -> Run:
    from tunelab.training.trainer import train

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return train("digits", store=store, name="digits", epochs=2, threads=1)


@pytest.fixture
def flat_images(folder_data: Path, tmp_path: Path) -> Path:
    """An unlabelled flat folder: the first two images of every class, renamed."""
    flat = tmp_path / "unlabelled"
    flat.mkdir()
    for k, folder in enumerate(sorted(folder_data.iterdir())):
        for i, image in enumerate(sorted(folder.iterdir())[:2]):
            shutil.copy(image, flat / f"{k}-{i}.png")
    return flat
