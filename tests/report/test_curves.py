from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tunelab.report import plot_confusion, plot_run, plot_runs
from tunelab.report.curves import differing_knobs, run_labels
from tunelab.runs import Run
from tunelab.runs.store import to_csv

PNG = b"\x89PNG\r\n\x1a\n"


def fake_run(root: Path, name: str, knobs: dict, losses: list[float], **summary) -> Run:
    """A run folder with config, curves and summary, written by hand (no training)."""
    import yaml

    path = root / name
    path.mkdir(parents=True)
    (path / "config.yaml").write_text(yaml.safe_dump({"model": "simple-cnn", **knobs}))
    epochs = [
        {
            "epoch": i + 1,
            "train_loss": loss,
            "train_accuracy": 1 - loss / 3,
            "val_loss": loss * 1.1,
            "val_accuracy": 1 - loss / 2.5,
            "learning_rate": 0.01,
            "seconds": 0.1,
        }
        for i, loss in enumerate(losses)
    ]
    batches = [
        {
            "epoch": e["epoch"],
            "batch": b,
            "step": i * 5 + b,
            "loss": e["train_loss"] * (1 + b / 20),
            "accuracy": 0.5,
            "learning_rate": 0.01,
        }
        for i, e in enumerate(epochs)
        for b in range(1, 6)
    ]
    (path / "metrics_epoch.csv").write_text(to_csv(epochs))
    (path / "metrics_batch.csv").write_text(to_csv(batches))
    (path / "summary.json").write_text(json.dumps({"status": "completed", **summary}))
    return Run(path)


def test_plot_run_writes_curves_png(tmp_path: Path) -> None:
    # no timing here: a timed assertion fails on a loaded machine, not on slow code
    run = fake_run(tmp_path, "a", {"learning_rate": 0.01}, [2.0, 1.0, 0.5, 0.4], best_epoch=4)
    path = plot_run(run.path)
    assert path == run.path / "curves.png"
    assert path.read_bytes()[:8] == PNG


def test_plot_run_survives_nan_and_empty_curves(tmp_path: Path) -> None:
    run = fake_run(tmp_path, "nan", {}, [2.0, math.nan], status="diverged")
    assert plot_run(run, tmp_path / "x.png").read_bytes()[:8] == PNG
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "config.yaml").write_text("model: mlp\n")
    assert plot_run(empty).read_bytes()[:8] == PNG


def test_runs_are_labelled_by_the_knobs_that_differ(tmp_path: Path) -> None:
    a = fake_run(tmp_path, "a", {"learning_rate": 0.01, "batch_size": 32}, [2, 1, 0.5])
    b = fake_run(tmp_path, "b", {"learning_rate": 0.003, "batch_size": 32}, [2, 1.5, 1])
    assert differing_knobs([{"x": 1, "y": 2}, {"x": 1, "y": 3}]) == ["y"]
    assert run_labels([a, b]) == ["learning_rate=0.01", "learning_rate=0.003"]
    same = fake_run(tmp_path, "c", {"learning_rate": 0.01, "batch_size": 32}, [2, 1, 0.5])
    assert run_labels([a, same]) == ["a", "c"]
    out = plot_runs([a.path, b.path], tmp_path / "cmp" / "x.png")
    assert out.read_bytes()[:8] == PNG


def test_plot_confusion(tmp_path: Path) -> None:
    out = plot_confusion([[3, 1], [0, 0]], ["cat", "dog"], tmp_path / "c.png", title="t")
    assert out.read_bytes()[:8] == PNG


@pytest.mark.parametrize("n", [1, 40])
def test_plot_confusion_sizes(tmp_path: Path, n: int) -> None:
    matrix = [[int(i == j) for j in range(n)] for i in range(n)]
    assert plot_confusion(matrix, [str(i) for i in range(n)], tmp_path / "c.png").is_file()
