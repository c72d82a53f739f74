"""`evaluate` says what it scored: the validation split, or a folder checked against the
images the run trained on (content hashes recorded at training time)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tunelab.evaluation import evaluate_run
from tunelab.runs import Run
from tunelab.runs.hashes import HASHES_FILE


def test_a_run_records_hashes_of_its_training_and_validation_images(folder_run: Run) -> None:
    recorded = json.loads((folder_run.path / HASHES_FILE).read_text())
    info = folder_run.model_info
    assert len(recorded["train"]) == len(info["train_indices"])
    assert len(recorded["validation"]) == len(info["val_indices"])
    assert not set(recorded["train"]) & set(recorded["validation"])


def test_evaluating_the_training_folder_reports_the_overlap_and_the_held_out_part(
    folder_run: Run, folder_data: Path
) -> None:
    result = evaluate_run(folder_run, folder_data)
    n_train = len(folder_run.model_info["train_indices"])
    n_val = len(folder_run.model_info["val_indices"])
    assert result.n_images == n_train + n_val
    assert result.overlap_train == n_train
    assert result.held_out is not None and result.held_out["n_images"] == n_val
    alone = evaluate_run(folder_run)  # the validation split: the same images held out
    assert alone.scored == "validation split" and alone.n_images == n_val
    assert result.held_out["accuracy"] == alone.accuracy
    assert any(f"{n_train} of these {n_train + n_val} images" in note for note in result.notes)
    low, high = result.interval_95 or (2.0, -1.0)
    assert low <= result.accuracy <= high


def test_a_folder_of_other_images_has_no_overlap(
    folder_run: Run, folder_data: Path, tmp_path: Path
) -> None:
    held = tmp_path / "held"
    val = set(folder_run.model_info["val_indices"])
    from tunelab.data import load_dataset

    dataset = load_dataset(folder_data)
    for index, path in enumerate(dataset.paths):
        if index in val:
            target = held / Path(path).parent.name / f"renamed-{index}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
    result = evaluate_run(folder_run, held)
    assert result.overlap_train == 0 and result.held_out is None
    assert result.n_images == len(val)
