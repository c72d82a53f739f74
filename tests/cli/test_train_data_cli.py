"""What `tunelab train` says about its data: project layouts, unlabelled rows, the split,
the input size, and bad files summarised in one line; `predict` on a manifest."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from tunelab.data import make_synthetic_folder

Invoke = Callable[..., tuple[int, str, str]]
FAST = ("--epochs", "1", "--batch-size", "8", "--threads", "1", "--quiet")


def _summary(runs: Path) -> dict:
    (run,) = [p for p in runs.iterdir() if p.is_dir()]
    return json.loads((run / "summary.json").read_text())


def test_train_on_a_project_folder_trains_its_classes_and_says_so(
    cli: Invoke, tmp_path: Path
) -> None:
    root = tmp_path / "proj"
    make_synthetic_folder(root / "labelled", classes=3, per_class=6, vary_size=True)
    (root / "unlabelled").mkdir()
    for i in range(3):
        Image.fromarray(np.full((12, 12), 9 * i, np.uint8)).save(root / "unlabelled" / f"{i}.png")
    code, out, err = cli("train", str(root), *FAST, "--runs-dir", str(tmp_path / "runs"))
    assert code == 0, err
    lines = out.splitlines()
    assert any("is a project folder" in line and "3 classes" in line for line in lines)
    size = next(line for line in lines if line.startswith("input size"))
    assert "chosen automatically" in size
    assert any(line.startswith("validation split:") for line in lines)
    summary = _summary(tmp_path / "runs")
    assert summary["classes"] == ["class0", "class1", "class2"]
    assert f"input size {summary['input_size'][0]}x{summary['input_size'][1]}" in size
    assert any("project folder" in note for note in summary["data_notes"])
    assert "-proj-" in summary["run"]  # named after the data set, not "labelled"


def test_manifest_split_and_unlabelled_rows_and_bad_files(cli: Invoke, tmp_path: Path) -> None:
    data = make_synthetic_folder(tmp_path / "d", classes=2, per_class=6)
    rows = ["path,label,piximi_partition"]
    for k in range(2):
        for i in range(6):
            side = "Validation" if i < 2 else "Training"
            rows.append(f"class{k}/img{i:03d}.png,class{k},{side}")
    rows += [f"unlabelled/u{i}.png,,Inference" for i in range(40)]
    rows += [f"gone/g{i}.png,class0,Training" for i in range(30)]  # bad: missing files
    (data / "unlabelled").mkdir()
    for i in range(40):
        Image.fromarray(np.full((12, 12), i, np.uint8)).save(data / "unlabelled" / f"u{i}.png")
    manifest = data / "m.csv"
    manifest.write_text("\n".join(rows) + "\n")
    runs = tmp_path / "runs"
    code, out, err = cli("train", str(manifest), *FAST, "--skip-bad", "--runs-dir", str(runs))
    assert code == 0, err
    assert sum("unlabelled rows skipped" in line for line in out.splitlines()) == 1
    assert "40 unlabelled rows skipped: images to predict" in out
    assert "from the manifest's split column, 8 training and 4 validation images" in out
    skipped = [line for line in err.splitlines() if "skipped" in line]
    assert len(skipped) == 1 and skipped[0].startswith("skipped 30 bad files: g0.png")
    assert "and 27 more" in skipped[0] and "summary.json" in skipped[0]
    summary = _summary(runs)
    assert (summary["n_train"], summary["n_val"]) == (8, 4)
    assert len(summary["skipped"]) == 30

    # the same manifest without its split: a random split at validation_fraction
    code, out, _ = cli(
        "train", str(manifest), *FAST, "--skip-bad", "--no-use-manifest-split",
        "--runs-dir", str(tmp_path / "runs2"),
    )  # fmt: skip
    assert code == 0 and "stratified" in out

    # predict on the manifest classifies its unlabelled rows
    run_name = summary["run"]
    out_csv = tmp_path / "pred.csv"
    code, out, err = cli(
        "predict", run_name, str(manifest), "--runs-dir", str(runs), "-o", str(out_csv)
    )
    assert code == 0, err
    with out_csv.open() as handle:
        predicted = [row["path"] for row in csv.DictReader(handle)]
    assert len(predicted) == 40 and all("unlabelled" in path for path in predicted)

    # predict --skip-bad: one line, and the full list beside the predictions
    bad = tmp_path / "to-predict"
    bad.mkdir()
    Image.fromarray(np.full((12, 12), 5, np.uint8)).save(bad / "good.png")
    for i in range(5):
        (bad / f"broken{i}.png").write_bytes(b"not a png")
    code, out, err = cli(
        "predict", run_name, str(bad), "--runs-dir", str(runs), "--skip-bad",
        "-o", str(tmp_path / "p2.csv"),
    )  # fmt: skip
    assert code == 0, err
    skipped = [line for line in err.splitlines() if "skipped" in line]
    assert len(skipped) == 1 and skipped[0].startswith("skipped 5 bad files: broken0.png")
    listed = tmp_path / "p2.skipped.csv"
    assert f"Full list: {listed}" in skipped[0]
    with listed.open() as handle:
        assert len(list(csv.DictReader(handle))) == 5


def test_tune_and_lr_find_say_how_they_read_the_data(cli: Invoke, tmp_path: Path) -> None:
    data = make_synthetic_folder(tmp_path / "d", classes=2, per_class=8, vary_size=True)
    (data / "class1" / "broken.png").write_bytes(b"not a png")
    code, out, err = cli(
        "lr-find", str(data), "--threads", "1", "--steps", "10", "--skip-bad",
        "--plot", str(tmp_path / "lr.png"),
    )  # fmt: skip
    assert code == 0, err
    size = next(line for line in out.splitlines() if line.startswith("input size"))
    assert "chosen automatically" in size
    assert any(line.startswith("validation split:") for line in out.splitlines())
    assert "skipped 1 bad file: broken.png (" in err and "Full list" not in err
    tune = ("tune", str(data), "--trials", "1", "--epochs", "1", "--threads", "1")
    code, out, err = cli(*tune, "--runs-dir", str(tmp_path / "runs0"))
    assert code != 0 and "Traceback" not in err
    assert "broken.png" in err and "--skip-bad" in err  # the hint names a flag tune has
    code, out, err = cli(*tune, "--skip-bad", "--runs-dir", str(tmp_path / "runs"), "--json")
    assert code == 0, err
    assert "skipped" not in err  # --json: stdout is the JSON, nothing else is printed
    (trial,) = json.loads(out)["trials"]
    summary = json.loads((tmp_path / "runs" / trial["run"] / "summary.json").read_text())
    assert [Path(path).name for path, _ in summary["skipped"]] == ["broken.png"]
    code, out, err = cli(*tune, "--skip-bad", "--runs-dir", str(tmp_path / "runs"))
    assert code == 0, err
    assert "skipped 1 bad file: broken.png (" in err and "summary.json" in err
    lines = out.splitlines()
    assert lines[0].startswith("tuning ") and "learning_rate" in lines[0]
    assert "freeze_epochs" not in lines[0]  # no init_from: the transfer knobs are not tuned
    assert lines[1].startswith("input size") and "chosen automatically" in lines[1]
    assert lines[2].startswith("validation split:")
