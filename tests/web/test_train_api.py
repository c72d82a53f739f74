"""Training from the API: start, follow (server-sent events), stop, and the runs it leaves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient

TINY = {"epochs": 2, "batch_size": 8, "learning_rate": 0.01}


def test_train_streams_curves_and_ends_with_diagnosis_and_confusion(
    client: TestClient, watch: Any
) -> None:
    started = client.post("/api/train", json={"data": "tiny", "hyperparameters": TINY})
    assert started.status_code == 202
    job = watch.job(started.json()["id"])
    assert job["status"] == "completed", job["error"]
    result = job["result"]
    name = result["run"]
    assert job["runs"] == [name]

    events = watch.events(job["id"])
    kinds = [kind for _, kind, _ in events]
    assert kinds[0] == "status" and kinds[-1] == "end"
    assert [event_id for event_id, _, _ in events] == list(range(len(events)))
    epochs = [data for _, kind, data in events if kind == "epoch"]
    batches = [data for _, kind, data in events if kind == "batch"]
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert len(batches) == 2 * 3  # 18 training images in batches of 8, 8 and 2
    assert {"loss", "accuracy", "step", "learning_rate"} <= set(batches[0])
    assert {"train_loss", "val_loss", "val_accuracy"} <= set(epochs[0])
    # a client that reconnects gets only what it has not seen
    last_epoch_id = next(i for i, kind, _ in events if kind == "epoch")
    replay = watch.events(job["id"], after=last_epoch_id)
    assert [i for i, _, _ in replay] == list(range(last_epoch_id + 1, len(events)))

    assert result["status"] == "completed"
    assert result["diagnosis"]["verdict"] and result["diagnosis"]["text"]
    evaluation = result["evaluation"]
    assert evaluation["class_names"] == ["class0", "class1", "class2"]
    assert sum(map(sum, evaluation["confusion"])) == result["summary"]["n_val"] == 6

    listing = client.get("/api/runs").json()
    assert [row["name"] for row in listing["runs"]] == [name]
    row = listing["runs"][0]
    assert (row["status"], row["epochs_run"], row["batch_size"]) == ("completed", 2, 8)

    shown = client.get(f"/api/runs/{name}").json()
    assert shown["config"]["epochs"] == 2 and len(shown["epochs"]) == 2
    assert "train_indices" not in shown["model_info"]
    metrics = client.get(f"/api/runs/{name}/metrics").json()
    assert len(metrics["epochs"]) == 2 and len(metrics["batches"]) == 6
    again = client.get(f"/api/runs/{name}/evaluation").json()
    assert again["confusion"] == evaluation["confusion"]
    config = client.get(f"/api/runs/{name}/config")
    assert config.headers["content-disposition"] == f'attachment; filename="{name}.yaml"'
    assert yaml.safe_load(config.text)["batch_size"] == 8

    assert client.delete(f"/api/runs/{name}").json() == {"deleted": name}
    assert client.get("/api/runs").json()["runs"] == []
    gone = client.get(f"/api/runs/{name}")
    assert gone.status_code == 404 and "no run named" in gone.json()["error"]


def test_jobs_queue_one_at_a_time_and_stop_keeps_the_run_as_interrupted(
    client: TestClient, watch: Any
) -> None:
    long = {**TINY, "epochs": 5000}
    first = client.post(
        "/api/train", json={"data": "tiny", "hyperparameters": long, "name": "long"}
    )
    assert first.status_code == 202
    job_id = first.json()["id"]
    watch.progress(job_id, "epochs_done", 1)

    # a second start waits in the queue behind the running job
    second = client.post("/api/train", json={"data": "tiny", "hyperparameters": TINY})
    assert second.status_code == 202
    waiting = second.json()
    assert waiting["status"] == "queued" and waiting["position"] == 1
    listing = client.get("/api/jobs").json()
    assert listing["current"]["id"] == job_id and listing["current"]["position"] == 0
    assert [job["id"] for job in listing["queue"]] == [waiting["id"]]
    assert client.get("/api/jobs/current").json()["job"]["id"] == job_id
    busy = client.delete("/api/runs/long")
    assert busy.status_code == 404 or busy.status_code == 409  # not stored yet, or training
    listed = client.get("/api/runs?status=running").json()["runs"]
    assert [row["name"] for row in listed] in ([], ["long"])

    stopping = client.post(f"/api/jobs/{job_id}/stop")
    assert stopping.status_code == 200
    job = watch.job(job_id)
    assert job["status"] == "stopped" and job["position"] is None
    summary = job["result"]["summary"]
    assert summary["status"] == "interrupted" and summary["reason"] == "stopped from the web app"
    assert 1 <= summary["epochs_run"] < 5000
    assert client.get("/api/runs/long").json()["status"] == "interrupted"

    again = client.post(f"/api/jobs/{job_id}/stop")
    assert again.status_code == 409 and "already ended (stopped)" in again.json()["error"]
    # the queued job ran next, on its own
    assert watch.job(waiting["id"])["status"] == "completed"
    assert client.get("/api/jobs/current").json()["job"]["id"] == waiting["id"]


def test_a_queued_job_can_be_cancelled_before_it_starts(client: TestClient, watch: Any) -> None:
    long = {**TINY, "epochs": 5000}
    first = client.post("/api/train", json={"data": "tiny", "hyperparameters": long})
    job_id = first.json()["id"]
    watch.progress(job_id, "epochs_done", 1)
    queued = [
        client.post("/api/train", json={"data": "tiny", "hyperparameters": TINY}).json()
        for _ in range(2)
    ]
    assert [job["position"] for job in queued] == [1, 2]
    cancelled = client.post(f"/api/jobs/{queued[0]['id']}/stop")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert client.get(f"/api/jobs/{queued[1]['id']}").json()["position"] == 1
    events = watch.events(queued[0]["id"])
    assert events[-1][1] == "end" and events[-1][2]["status"] == "cancelled"
    assert client.post(f"/api/jobs/{queued[0]['id']}/stop").status_code == 409
    client.post(f"/api/jobs/{job_id}/stop")
    assert watch.job(queued[1]["id"])["status"] == "completed"
    assert watch.job(queued[0]["id"])["runs"] == []  # it never ran


def test_train_refuses_bad_knobs_paths_and_names_before_starting(client: TestClient) -> None:
    bad_knob = client.post(
        "/api/train", json={"data": "tiny", "hyperparameters": {"batch_size": 0}}
    )
    assert bad_knob.status_code == 422
    assert bad_knob.json()["errors"]["batch_size"].startswith("invalid batch_size: got 0")
    missing = client.post("/api/train", json={"data": "nope"})
    assert missing.status_code == 404 and "no folder or CSV file 'nope'" in missing.json()["error"]
    traversal = client.post("/api/train", json={"data": "../../etc"})
    assert traversal.status_code == 400
    bad_name = client.post("/api/train", json={"data": "tiny", "name": "a/b"})
    assert bad_name.status_code == 400 and "invalid run name" in bad_name.json()["error"]
    no_data = client.post("/api/train", json={"hyperparameters": {}})
    assert no_data.status_code == 422 and "'data'" in no_data.json()["error"]
    assert client.get("/api/jobs").json()["jobs"] == []


def test_an_empty_folder_is_refused_before_starting(client: TestClient, data_root: Path) -> None:
    (data_root / "empty").mkdir()
    response = client.post("/api/train", json={"data": "empty", "hyperparameters": TINY})
    assert response.status_code == 400
    assert "\n" not in response.json()["error"]


def test_a_job_that_fails_reports_one_line(client: TestClient, watch: Any, data_root: Path) -> None:
    (data_root / "tiny" / "class0" / "broken.png").write_bytes(b"not a png at all")
    started = client.post("/api/train", json={"data": "tiny", "hyperparameters": TINY})
    assert started.status_code == 202
    job = watch.job(started.json()["id"])
    assert job["status"] == "failed"
    assert "broken.png" in job["error"] and "\n" not in job["error"]
    end = watch.events(job["id"])[-1]
    assert end[1] == "end" and end[2]["error"] == job["error"]


def test_unknown_jobs_and_runs_are_404s(client: TestClient) -> None:
    for path in ("/api/jobs/nope", "/api/jobs/nope/events", "/api/runs/nope"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "\n" not in response.json()["error"]
    assert client.post("/api/jobs/nope/stop").status_code == 404
    assert client.delete("/api/runs/bad%20name").status_code == 400


def test_init_from_is_a_run_of_this_store_or_a_file_under_the_data_roots(
    client: TestClient, watch: Any, tmp_path: Path
) -> None:
    spec = {f["name"]: f for f in client.get("/api/knobs").json()["knobs"]}
    assert spec["init_from"]["input"] == "text" and spec["init_from"]["nullable"] is True
    assert spec["freeze_epochs"]["group"] == "transfer"
    secret = tmp_path / "outside.pth"
    secret.write_bytes(b"x")
    for outside in (str(secret), "no-such-run"):
        refused = client.post(
            "/api/train",
            json={"data": "tiny", "hyperparameters": {**TINY, "init_from": outside}},
        )
        assert refused.status_code in (403, 404), refused.text
        assert refused.json()["error"].startswith("invalid init_from: ")
    first = client.post("/api/train", json={"data": "tiny", "hyperparameters": TINY, "name": "b"})
    assert watch.job(first.json()["id"])["status"] == "completed"
    tuned = client.post(
        "/api/train",
        json={"data": "tiny", "hyperparameters": {**TINY, "init_from": "b", "freeze_epochs": 1}},
    )
    assert tuned.status_code == 202, tuned.text
    job = watch.job(tuned.json()["id"])
    assert job["status"] == "completed", job["error"]


def test_a_confusion_cell_lists_its_validation_images(client: TestClient, watch: Any) -> None:
    started = client.post(
        "/api/train", json={"data": "tiny", "hyperparameters": TINY, "name": "cells"}
    )
    assert watch.job(started.json()["id"])["status"] == "completed"
    evaluation = client.get("/api/runs/cells/evaluation").json()
    names = evaluation["class_names"]
    total = 0
    for i, true in enumerate(names):
        for j, predicted in enumerate(names):
            cell = client.get(
                "/api/runs/cells/evaluation/cell", params={"true": true, "predicted": predicted}
            ).json()
            assert cell["count"] == evaluation["confusion"][i][j]
            confidences = [image["confidence"] for image in cell["images"]]
            assert confidences == sorted(confidences, reverse=True)
            total += cell["count"]
            for image in cell["images"][:1]:
                png = client.get(image["thumbnail"])
                assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert total == evaluation["n_images"]
    bad = client.get("/api/runs/cells/evaluation/cell", params={"true": "nope", "predicted": "x"})
    assert bad.status_code == 404 and "no class 'nope'" in bad.json()["error"]
    beyond = client.get("/api/runs/cells/evaluation/image", params={"position": 10_000})
    assert beyond.status_code == 404


def test_a_run_downloads_as_onnx_torchscript_and_safetensors(
    client: TestClient, watch: Any
) -> None:
    import io
    import zipfile

    started = client.post(
        "/api/train", json={"data": "tiny", "hyperparameters": TINY, "name": "exported"}
    )
    assert watch.job(started.json()["id"])["status"] == "completed"
    before = sorted(p.name for p in (client.app.state.settings.runs_dir / "exported").iterdir())
    onnx = client.get("/api/runs/exported/export", params={"format": "onnx"})
    assert onnx.status_code == 200
    assert 'filename="exported.onnx"' in onnx.headers["content-disposition"]
    import onnx as onnx_lib

    model = onnx_lib.load_model_from_string(onnx.content)
    assert model.graph.input[0].name == "images"
    script = client.get("/api/runs/exported/export", params={"format": "torchscript"})
    assert script.status_code == 200 and len(script.content) > 1000
    bundle = client.get("/api/runs/exported/export", params={"format": "safetensors"})
    names = zipfile.ZipFile(io.BytesIO(bundle.content)).namelist()
    assert {"model.safetensors", "model.json", "config.yaml"} <= set(names)
    # nothing was written into the run folder
    after = sorted(p.name for p in (client.app.state.settings.runs_dir / "exported").iterdir())
    assert after == before
    bad = client.get("/api/runs/exported/export", params={"format": "tflite"})
    assert bad.status_code == 400 and "onnx" in bad.json()["error"]


def test_lr_find_runs_as_a_job_and_suggests_a_learning_rate(client: TestClient, watch: Any) -> None:
    started = client.post(
        "/api/lr-find", json={"data": "tiny", "hyperparameters": {"batch_size": 8}, "steps": 30}
    )
    assert started.status_code == 202
    job = watch.job(started.json()["id"])
    assert job["status"] == "completed", job["error"]
    result = job["result"]
    assert set(result["suggestions"]) == {"valley", "steep", "minimum"}
    assert result["suggested"] == result["suggestions"]["valley"]
    assert result["steps_run"] <= 30 and len(result["lrs"]) == result["steps_run"]
    assert "a tenth" in result["explanations"]["minimum"]
    bad = client.post("/api/lr-find", json={"data": "tiny", "hyperparameters": {"batch_size": 0}})
    assert bad.status_code == 422
