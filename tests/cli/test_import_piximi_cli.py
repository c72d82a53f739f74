"""`tunelab import-piximi PROJECT OUT`, through the real entry point."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

Invoke = Callable[..., tuple[int, str, str]]


def test_import_then_train_on_the_folder(cli: Invoke, px: Any, tmp_path: Path) -> None:
    project = px.write_zarr_project(tmp_path / "cells.zip", px.images())
    code, out, err = cli("import-piximi", str(project), str(tmp_path / "cells"))
    assert code == 0, err
    assert "imported Piximi project 'cells' (zip (zarr), version 1.1.0): 6 labelled images" in out
    assert "Piximi's partition: 4 Training, 2 Validation, 2 Inference" in out
    assert f"train with: tunelab train {tmp_path / 'cells'}" in out
    code, out, err = cli(
        "train", str(tmp_path / "cells"), "--epochs", "1", "--threads", "1", "--quiet",
        "--runs-dir", str(tmp_path / "runs"),
    )  # fmt: skip
    assert code == 0, err
    assert "reading its manifest.csv" in out
    assert "from the manifest's split column, 4 training and 2 validation images" in out


def test_import_json_output(cli: Invoke, px: Any, tmp_path: Path) -> None:
    project = px.write_json_project(tmp_path / "old.json", px.images())
    code, out, _ = cli("import-piximi", str(project), str(tmp_path / "o"), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["classes"] == {"alpha": 3, "beta": 3} and report["format"] == "json"


def test_a_bad_project_is_one_line(cli: Invoke, px: Any, tmp_path: Path) -> None:
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04 truncated")
    code, out, err = cli("import-piximi", str(tmp_path / "bad.zip"), str(tmp_path / "o"))
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1 and len(lines) == 1 and "Traceback" not in out + err
    assert lines[0].startswith("error: cannot import Piximi project") and "zip" in lines[0]
