"""Predict and review from the API: predictions on unlabelled images, one-click labels, undo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

TINY = {"epochs": 2, "batch_size": 8, "learning_rate": 0.01}


@pytest.fixture
def trained(client: TestClient, watch: Any) -> str:
    started = client.post(
        "/api/train", json={"data": "tiny", "hyperparameters": TINY, "name": "model"}
    )
    assert watch.job(started.json()["id"])["status"] == "completed"
    return "model"


@pytest.fixture
def unlabelled(data_root: Path) -> Path:
    folder = data_root / "unlabelled"
    folder.mkdir()
    source = sorted((data_root / "tiny" / "class1").iterdir())
    for index, path in enumerate(source[:3]):
        Image.open(path).save(folder / f"new-{index}.png")
    return folder


def test_predict_lists_every_unlabelled_image_with_its_confidence(
    client: TestClient, trained: str, unlabelled: Path
) -> None:
    response = client.post("/api/review/predict", json={"run": trained, "images": "unlabelled"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["classes"] == ["class0", "class1", "class2"]
    names = sorted(Path(p["path"]).name for p in body["predictions"])
    assert names == ["new-0.png", "new-1.png", "new-2.png"]
    for row in body["predictions"]:
        assert row["predicted"] in body["classes"] and 0.0 <= row["probability"] <= 1.0
        assert len(row["top"]) == 3
        assert sum(t["probability"] for t in row["top"]) == pytest.approx(1.0, abs=1e-4)
    image = client.get("/api/review/image", params={"path": body["predictions"][0]["path"]})
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")


def test_label_moves_the_image_into_its_class_and_undo_moves_it_back(
    client: TestClient, data_root: Path, unlabelled: Path
) -> None:
    image = unlabelled / "new-0.png"
    moved = client.post(
        "/api/review/label", json={"dataset": "tiny", "image": str(image), "label": "class2"}
    )
    assert moved.status_code == 200, moved.text
    target = data_root / "tiny" / "class2" / "new-0.png"
    assert target.is_file() and not image.exists()
    assert moved.json()["target"] == str(target)
    # a second image of the same name gets its own name; a new class makes its folder
    (unlabelled / "again").mkdir()
    Image.open(target).save(unlabelled / "again" / "new-0.png")
    second = client.post(
        "/api/review/label",
        json={
            "dataset": "tiny",
            "image": str(unlabelled / "again" / "new-0.png"),
            "label": "class2",
        },
    )
    assert Path(second.json()["target"]).name == "new-0-2.png"
    log = (data_root / "tiny" / ".tunelab-labels.jsonl").read_text().splitlines()
    assert [json.loads(line)["label"] for line in log] == ["class2", "class2"]
    listed = client.get("/api/review/moves", params={"dataset": "tiny"}).json()["moves"]
    assert len(listed) == 2

    assert client.post("/api/review/undo", json={"dataset": "tiny"}).status_code == 200
    assert (unlabelled / "again" / "new-0.png").is_file()
    assert client.post("/api/review/undo", json={"dataset": "tiny"}).status_code == 200
    assert image.is_file() and not target.exists()
    nothing = client.post("/api/review/undo", json={"dataset": "tiny"})
    assert nothing.status_code == 409 and "nothing to undo" in nothing.json()["error"]
    # the data set still loads with its three classes (the log file is not an image)
    from tunelab.data import load_dataset

    assert load_dataset(data_root / "tiny").class_names == ["class0", "class1", "class2"]


def test_review_refuses_paths_outside_the_roots_and_bad_labels(
    client: TestClient, data_root: Path, unlabelled: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.png"
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(outside)
    escaped = client.post(
        "/api/review/label", json={"dataset": "tiny", "image": str(outside), "label": "class0"}
    )
    assert escaped.status_code == 403 and outside.is_file()
    for label in ("../x", "a/b", "", ".hidden"):
        bad = client.post(
            "/api/review/label",
            json={"dataset": "tiny", "image": str(unlabelled / "new-1.png"), "label": label},
        )
        assert bad.status_code in (400, 422), label
        assert (unlabelled / "new-1.png").is_file()
    image = client.get("/api/review/image", params={"path": str(outside)})
    assert image.status_code == 403
    missing = client.post("/api/review/predict", json={"run": "nope", "images": "unlabelled"})
    assert missing.status_code in (400, 404) and "\n" not in missing.json()["error"]
