"""`tunelab evaluate | predict | export`, through the real entry point."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from tunelab.cli.main import run
from tunelab.data import make_synthetic_folder

Invoke = Callable[..., tuple[int, str, str]]


def run_app(argv: list[str]) -> int:
    """The real entry point: one `error:` line and a non-zero exit for user errors."""
    return run(argv)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A run store with run 'syn' trained on a 3-class synthetic folder."""
    from tunelab.training.trainer import train

    root = tmp_path_factory.mktemp("cli")
    data = make_synthetic_folder(root / "data", classes=3, per_class=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train(data, store=root / "runs", name="syn", epochs=3, batch_size=8, threads=1)
    return root / "runs", data


@pytest.fixture
def cli(capsys, monkeypatch, trained) -> Invoke:
    monkeypatch.setenv("TUNELAB_RUNS", str(trained[0]))
    monkeypatch.setenv("COLUMNS", "200")

    def invoke(*args: str) -> tuple[int, str, str]:
        code = run_app(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


def test_evaluate_prints_scores_and_writes_the_png(cli: Invoke, trained) -> None:
    code, out, _ = cli("evaluate", "syn")
    assert code == 0
    assert "accuracy" in out and "macro avg" in out and "weighted avg" in out
    assert "% of each true class" in out
    assert (trained[0] / "syn" / "confusion.png").is_file()


def test_evaluate_json_on_another_folder(cli: Invoke, tmp_path: Path) -> None:
    other = make_synthetic_folder(tmp_path / "other", classes=3, per_class=3, seed=9)
    code, out, _ = cli("evaluate", "syn", str(other), "--json", "--plot", str(tmp_path / "c.png"))
    assert code == 0
    data = json.loads(out)
    assert data["n_images"] == 9 and len(data["per_class"]) == 3
    assert data["plot"] == str(tmp_path / "c.png") and (tmp_path / "c.png").is_file()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["evaluate", "sin"], "no run named 'sin' in .* Did you mean \"syn\""),
        (["evaluate", "syn", "/no/such/folder"], "does not exist"),
        (["export", "syn", "--format", "tflite"], "unknown export format 'tflite'"),
        (["predict", "syn", "/no/such/images"], "do not exist"),
        (["predict", "syn", ".", "--top-k", "0"], "--top-k must be at least 1"),
        (["explain", "learnig-rate"], 'Did you mean "learning_rate"'),
        (["plot", "nope"], "no run named 'nope'"),
    ],
)
def test_errors_are_one_line(cli: Invoke, args: list[str], expected: str) -> None:
    import re

    code, _, err = cli(*args)
    assert code == 1
    assert re.search(expected, one_error_line(err))


def test_evaluate_unknown_class_is_one_line(cli: Invoke, tmp_path: Path) -> None:
    other = make_synthetic_folder(tmp_path / "other", classes=2, per_class=2)
    (other / "class1").rename(other / "dog")
    code, _, err = cli("evaluate", "syn", str(other), "--no-plot")
    assert code == 1
    assert "class 'dog'" in one_error_line(err)


def test_predict_a_flat_folder_to_csv(cli: Invoke, trained, tmp_path: Path) -> None:
    flat = tmp_path / "flat"
    flat.mkdir()
    for i, image in enumerate(sorted((trained[1] / "class1").iterdir())[:3]):
        shutil.copy(image, flat / f"x{i}.png")
    out = tmp_path / "predictions.csv"
    code, stdout, _ = cli("predict", "syn", str(flat), "--out", str(out), "--top-k", "2")
    assert code == 0 and "3 predictions" in stdout
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [Path(r["path"]).name for r in rows] == ["x0.png", "x1.png", "x2.png"]
    assert set(rows[0]) == {"path", "predicted", "probability", "class_2", "probability_2"}
    code, stdout, _ = cli("predict", "syn", str(flat), "--top-k", "3")
    assert code == 0 and "x0.png" in stdout and "top 3" in stdout
    code, stdout, _ = cli("predict", "syn", str(flat), "--json")
    assert len(json.loads(stdout)) == 3


def test_export_onnx_then_predict_with_it(cli: Invoke, trained, tmp_path: Path) -> None:
    target = tmp_path / "exported" / "syn.onnx"
    code, out, _ = cli("export", "syn", "--format", "onnx", "--out", str(target))
    assert code == 0 and target.is_file() and (tmp_path / "exported" / "syn.onnx.json").is_file()
    images = trained[1] / "class2"
    code, by_file, _ = cli("predict", str(target), str(images), "--json")
    assert code == 0
    code, by_run, _ = cli("predict", "syn", str(images), "--json")
    a, b = json.loads(by_file), json.loads(by_run)
    assert [r["predicted"] for r in a] == [r["predicted"] for r in b]


def test_export_torchscript_json(cli: Invoke, trained) -> None:
    code, out, _ = cli("export", "syn", "-f", "torchscript", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["path"].endswith("model.pt")
    assert data["metadata"]["class_names"] == ["class0", "class1", "class2"]


def test_commands_do_not_import_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "import tunelab.cli.evaluate, tunelab.cli.predict, tunelab.cli.export\n"
        "import tunelab.cli.plot, tunelab.cli.explain\n"
        "heavy = [m for m in ('torch', 'matplotlib', 'sklearn', 'onnx', 'onnxruntime')\n"
        "         if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_evaluate_says_what_it_scored(cli, trained) -> None:
    runs, data = trained
    code, out, err = cli("evaluate", "syn", "--runs-dir", str(runs), "--no-plot")
    assert code == 0, err
    assert "scored: the run's validation split" in out and "95%" in out and "n=" in out
    code, out, err = cli("evaluate", "syn", str(data), "--runs-dir", str(runs), "--no-plot")
    assert code == 0, err
    assert "were in the run's training set" in out
    assert "held out: on the" in out
