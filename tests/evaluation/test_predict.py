from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from tunelab.data import load_dataset, make_synthetic_folder
from tunelab.errors import TunelabError
from tunelab.evaluation import load_model, predict, resolve_predictor
from tunelab.evaluation.predict import list_images, read_image, write_predictions
from tunelab.runs import Run


def test_predicts_an_unlabelled_flat_folder(folder_run: Run, flat_images: Path) -> None:
    rows, skipped = predict(resolve_predictor(str(folder_run.path)), flat_images, top_k=2)
    assert skipped == []
    assert [Path(r.path).name for r in rows] == sorted(p.name for p in flat_images.iterdir())
    for row in rows:
        assert row.predicted in {"class0", "class1", "class2"}
        assert 0.0 <= row.probability <= 1.0
        assert row.top[0] == (row.predicted, row.probability)
        assert len(row.top) == 2 and row.top[0][1] >= row.top[1][1]


def test_same_decoding_as_the_data_package(folder_run: Run, folder_data: Path) -> None:
    loaded = load_model(folder_run)
    dataset = load_dataset(folder_data, input_size=loaded.input_size)
    expected = loaded.probabilities(dataset.tensor()).numpy()
    rows, _ = predict(resolve_predictor(str(folder_run.path)), folder_data, top_k=3)
    assert [r.path for r in rows] == dataset.paths
    got = np.array([[dict(r.top)[c] for c in loaded.class_names] for r in rows])
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_sixteen_bit_images_are_scaled_by_their_depth(tmp_path: Path) -> None:
    folder = make_synthetic_folder(tmp_path / "d16", classes=2, per_class=1, dtype="uint16")
    image = next((folder / "class0").iterdir())
    floats = read_image(image, 1, (6, 6))
    dataset = load_dataset(folder, input_size=(6, 6))
    assert floats.dtype == np.float32 and floats.shape == (1, 6, 6)
    np.testing.assert_allclose(floats, dataset.tensor([0])[0].numpy(), atol=1e-6)


def test_wrong_channel_count_is_a_clear_error(folder_run: Run, tmp_path: Path) -> None:
    rgb = make_synthetic_folder(tmp_path / "rgb", classes=1, per_class=1, channels=3)
    with pytest.raises(TunelabError, match="3-channel images but the model expects 1 channel"):
        predict(resolve_predictor(str(folder_run.path)), rgb)


def test_bad_files_stop_or_are_skipped(folder_run: Run, flat_images: Path) -> None:
    (flat_images / "broken.png").write_text("not an image")
    predictor = resolve_predictor(str(folder_run.path))
    with pytest.raises(TunelabError, match="broken.png"):
        predict(predictor, flat_images)
    rows, skipped = predict(predictor, flat_images, skip_bad=True)
    assert len(rows) == 6 and len(skipped) == 1 and "broken.png" in skipped[0][0]


def test_no_images_and_missing_paths(tmp_path: Path) -> None:
    with pytest.raises(TunelabError, match="holds no images"):
        list_images(tmp_path)
    with pytest.raises(TunelabError, match="do not exist"):
        list_images(tmp_path / "nope")
    with pytest.raises(TunelabError, match="does not exist"):
        resolve_predictor(tmp_path / "model.onnx")


def test_csv_has_one_row_per_image_and_top_k_columns(
    folder_run: Run, flat_images: Path, tmp_path: Path
) -> None:
    rows, _ = predict(resolve_predictor(str(folder_run.path)), flat_images, top_k=5)
    assert all(len(r.top) == 3 for r in rows)  # top-k is capped at the number of classes
    out = write_predictions(rows, tmp_path / "p.csv", top_k=5)
    with out.open() as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0]) == [
        "path",
        "predicted",
        "probability",
        "class_2",
        "probability_2",
        "class_3",
        "probability_3",
    ]
    assert len(table) == 6
    total = sum(float(table[0][k]) for k in ("probability", "probability_2", "probability_3"))
    assert total == pytest.approx(1.0, abs=1e-5)


def test_top_k_must_be_positive(folder_run: Run, flat_images: Path) -> None:
    with pytest.raises(TunelabError, match="top_k"):
        predict(resolve_predictor(str(folder_run.path)), flat_images, top_k=0)


def test_probabilities_follow_the_runs_loss(folder_run: Run) -> None:
    loaded = load_model(folder_run)
    x = torch.rand(4, 1, 12, 12)
    probs = loaded.probabilities(x)
    torch.testing.assert_close(probs.sum(1), torch.ones(4))
