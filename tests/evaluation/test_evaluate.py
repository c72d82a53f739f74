from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from tunelab.data import make_synthetic_folder
from tunelab.errors import TunelabError
from tunelab.evaluation import evaluate_run, load_model, resolve_run
from tunelab.evaluation.evaluate import row_percentages, score
from tunelab.runs import Run


def test_score_rows_are_true_labels_and_never_nan() -> None:
    labels = np.array([0, 0, 1, 1, 2])
    predicted = np.array([0, 1, 1, 1, 1])  # class 2 is never predicted
    result = score(labels, predicted, ["a", "b", "c"])
    assert result["confusion"] == [[1, 1, 0], [0, 2, 0], [0, 1, 0]]
    a, b, c = result["per_class"]
    assert (a["precision"], a["recall"], a["support"]) == (1.0, 0.5, 2)
    assert b["precision"] == pytest.approx(0.5) and b["recall"] == 1.0
    assert b["f1"] == pytest.approx(2 * 0.5 * 1.0 / 1.5)
    assert (c["precision"], c["recall"], c["f1"], c["support"]) == (0.0, 0.0, 0.0, 1)
    assert "never predicted" in c["note"]
    assert any("'c'" in note for note in result["notes"])
    assert result["macro"]["precision"] == pytest.approx((1.0 + 0.5 + 0.0) / 3)
    assert result["weighted"]["recall"] == pytest.approx((0.5 * 2 + 1.0 * 2 + 0.0) / 5)
    values = [v for row in result["per_class"] for v in row.values() if isinstance(v, float)]
    assert all(math.isfinite(v) for v in values)


def test_score_macro_is_over_classes_present() -> None:
    result = score(np.array([0, 0, 1]), np.array([0, 1, 1]), ["a", "b", "c"])
    assert result["per_class"][2]["support"] == 0
    assert "no images" in result["per_class"][2]["note"]
    assert result["macro"]["recall"] == pytest.approx((0.5 + 1.0) / 2)
    assert any("2 classes present" in note for note in result["notes"])


def test_row_percentages_handle_empty_rows() -> None:
    assert row_percentages([[1, 3], [0, 0]]) == [[25.0, 75.0], [0.0, 0.0]]


def test_evaluate_on_own_validation_split_matches_training(digits_run: Run, tmp_path) -> None:
    result = evaluate_run(digits_run, plot=tmp_path / "c.png")
    summary = digits_run.summary
    assert result.n_images == summary["n_val"]
    assert result.accuracy == pytest.approx(summary["final_val_accuracy"])
    assert result.loss == pytest.approx(summary["final_val_loss"], rel=1e-4)
    assert sum(map(sum, result.confusion)) == result.n_images
    assert sum(np.diag(result.confusion)) == round(result.accuracy * result.n_images)
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = result.to_dict()
    json.dumps(data, allow_nan=False)
    assert len(data["confusion_row_percent"]) == 10


def test_evaluate_on_another_folder_maps_classes_by_name(folder_run: Run, tmp_path) -> None:
    other = make_synthetic_folder(tmp_path / "other", classes=3, per_class=4, seed=5)
    shutil.rmtree(other / "class0")  # fewer classes is fine; class names map by name
    result = evaluate_run(folder_run, other)
    assert result.class_names == ["class0", "class1", "class2"]
    assert result.n_images == 8
    assert result.confusion[0] == [0, 0, 0]
    assert [row["support"] for row in result.per_class] == [0, 4, 4]
    assert result.per_class[0]["note"]


def test_unknown_class_in_other_folder_is_a_clear_error(folder_run: Run, tmp_path) -> None:
    other = make_synthetic_folder(tmp_path / "other", classes=3, per_class=2)
    (other / "class2").rename(other / "class7")
    with pytest.raises(TunelabError, match="'class7' .* not one the run was trained on"):
        evaluate_run(folder_run, other)


def test_channel_mismatch_is_a_clear_error(folder_run: Run, tmp_path) -> None:
    other = make_synthetic_folder(tmp_path / "rgb", classes=3, per_class=2, channels=3)
    with pytest.raises(TunelabError, match="3-channel images but the model expects 1"):
        evaluate_run(folder_run, other)


def test_run_without_weights_is_a_clear_error(folder_run: Run, tmp_path) -> None:
    copy = Path(shutil.copytree(folder_run.path, tmp_path / "copy"))
    (copy / "model.safetensors").unlink()
    with pytest.raises(TunelabError, match="no saved weights"):
        load_model(Run(copy))


def test_resolve_run_by_name_path_and_typo(folder_run: Run, store: Path) -> None:
    assert resolve_run("syn", store).path == folder_run.path
    assert resolve_run(str(folder_run.path)).path == folder_run.path
    with pytest.raises(TunelabError, match='Did you mean "syn"'):
        resolve_run("sym", store)
