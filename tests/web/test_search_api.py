"""Sweep and tune from the API: jobs with live rows/leaderboards, studies, best configs."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

BASE = {"epochs": 2, "batch_size": 8}


def test_a_sweep_streams_each_run_and_its_row(client: TestClient, watch: Any) -> None:
    started = client.post(
        "/api/sweep",
        json={
            "data": "tiny",
            "knob": "learning-rate",
            "values": [0.003, 0.03],
            "hyperparameters": BASE,
            "name": "lr",
        },
    )
    assert started.status_code == 202
    job = watch.job(started.json()["id"])
    assert job["status"] == "completed", job["error"]
    events = watch.events(job["id"])
    starts = [data["index"] for _, kind, data in events if kind == "train-start"]
    assert starts == [0, 1]
    epochs = [(data["index"], data["epoch"]) for _, kind, data in events if kind == "epoch"]
    assert epochs == [(0, 1), (0, 2), (1, 1), (1, 2)]
    rows = [data for _, kind, data in events if kind == "row"]
    assert [row["value"] for row in rows] == [0.003, 0.03]
    result = job["result"]
    assert result["knob"] == "learning_rate" and result["best_run"] in job["runs"]
    assert len(job["runs"]) == 2

    assert client.get("/api/sweeps").json() == {"sweeps": ["lr"]}
    saved = client.get("/api/sweeps/lr").json()
    assert [row["value"] for row in saved["rows"]] == [0.003, 0.03]
    assert "noise_warning" in saved and "noise_warning" in result
    for row in [*rows, *saved["rows"]]:  # every accuracy with its interval and image count
        assert row["n_val"] and row["interval_95"][0] <= row["best_val_accuracy"]
    listed = {run["name"]: run for run in client.get("/api/runs").json()["runs"]}
    assert all(listed[name]["n"] and listed[name]["interval_95"] for name in job["runs"])
    best = client.get(f"/api/runs/{result['best_run']}/config")
    assert yaml.safe_load(best.text)["learning_rate"] in (0.003, 0.03)
    taken = client.post("/api/sweep", json={"data": "tiny", "knob": "epochs", "name": "lr"})
    assert taken.status_code == 409 and "already exists" in taken.json()["error"]
    missing = client.get("/api/sweeps/lrr")
    assert missing.status_code == 404 and 'Did you mean "lr"?' in missing.json()["error"]


def test_a_sweep_refuses_bad_values_before_starting(client: TestClient) -> None:
    bad_value = client.post(
        "/api/sweep", json={"data": "tiny", "knob": "learning_rate", "values": [0.01, -1]}
    )
    assert bad_value.status_code == 400
    assert bad_value.json()["error"].startswith("invalid learning_rate: got -1")
    bad_knob = client.post("/api/sweep", json={"data": "tiny", "knob": "learning_rat"})
    assert bad_knob.status_code == 400
    assert "learning_rate" in bad_knob.json()["error"]
    bad_base = client.post(
        "/api/sweep", json={"data": "tiny", "knob": "epochs", "hyperparameters": {"dropout": 2}}
    )
    assert bad_base.status_code == 422 and "dropout" in bad_base.json()["errors"]


def test_a_tune_streams_the_study_and_offers_the_best_config(
    client: TestClient, watch: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    started = client.post(
        "/api/tune",
        json={
            "data": "tiny",
            "hyperparameters": BASE,
            "trials": 3,
            "strategy": "random",
            "pruner": "none",
            "study": "mine",
        },
    )
    assert started.status_code == 202
    job = watch.job(started.json()["id"])
    assert job["status"] == "completed", job["error"]
    assert job["result"]["stopped_reason"] == "n_trials"
    snapshots = [data for _, kind, data in watch.events(job["id"]) if kind == "study"]
    final = snapshots[-1]
    assert len(final["trials"]) == 3
    assert all(trial["state"] == "complete" for trial in final["trials"])
    assert all(len(trial["curve"]) == 2 for trial in final["trials"])  # val accuracy per epoch
    assert final["best"]["number"] == final["leaderboard"][0]
    assert "noise_warning" in final
    for trial in final["trials"]:
        assert trial["n"] and trial["interval_95"][0] <= trial["value"] <= trial["interval_95"][1]
    assert final["importances"] or final["importances_note"]
    assert len(job["runs"]) == 4  # the 3 trials and the ensemble of the best of them
    assert job["result"]["ensemble"] == "mine-ensemble" == job["runs"][-1]
    assert "chosen on: optimistic" in job["result"]["ensemble_line"]
    ensemble = client.get("/api/runs/mine-ensemble").json()
    assert ensemble["summary"]["kind"] == "ensemble"
    assert "trial 0 complete" not in capfd.readouterr().err  # the page shows it, not the log

    assert client.get("/api/studies").json() == {"studies": ["mine"]}
    study = client.get("/api/studies/mine").json()
    assert [t["number"] for t in study["trials"]] == [0, 1, 2]
    download = client.get("/api/studies/mine/best-config")
    assert download.status_code == 200
    assert download.headers["content-disposition"] == 'attachment; filename="mine-best.yaml"'
    best = yaml.safe_load(download.text)
    for name, value in final["best"]["params"].items():
        assert best[name] == value
    assert best["epochs"] == 2
    trained = [t for t in final["trials"] if t["number"] == final["best"]["number"]][0]
    assert best["seed"] != 0 and best["split_seed"] == 0  # the trial's seed, the shared split
    assert download.text.startswith(f"# Best trial {trained['number']} of study mine")
    taken = client.post("/api/tune", json={"data": "tiny", "study": "mine"})
    assert taken.status_code == 409 and "already exists" in taken.json()["error"]


def test_a_tune_refuses_bad_settings_before_starting(client: TestClient) -> None:
    cases = [
        ({"trials": 0}, 422, "trials"),
        ({"strategy": "bayes"}, 422, "strategy"),
        ({"pruner": "asha2"}, 422, "pruner"),
        ({"study": "a b"}, 400, "invalid study name"),
        ({"trials": None}, 422, "give a number of trials or a time budget"),
        ({"hyperparameters": {"learning_rate": "auto"}}, 422, "cannot be tuned from"),
    ]
    for extra, status, expected in cases:
        response = client.post("/api/tune", json={"data": "tiny", **extra})
        assert response.status_code == status, extra
        assert expected in response.json()["error"], extra
    missing = client.get("/api/studies/none-such")
    assert missing.status_code == 404 and "no study" in missing.json()["error"]
    assert client.get("/api/studies/none-such/best-config").status_code == 404


def test_stopping_a_tune_keeps_the_finished_trials(client: TestClient, watch: Any) -> None:
    started = client.post(
        "/api/tune",
        json={
            "data": "tiny",
            "hyperparameters": {"epochs": 3, "batch_size": 8},
            "trials": 500,
            "strategy": "random",
            "pruner": "none",
            "study": "long",
        },
    )
    assert started.status_code == 202
    job_id = started.json()["id"]
    watch.progress(job_id, "trials_done", 1)
    assert client.post(f"/api/jobs/{job_id}/stop").status_code == 200
    job = watch.job(job_id)
    assert job["status"] == "stopped"
    assert job["result"]["stopped_reason"] == "stopped"
    study = client.get("/api/studies/long?importances=false").json()
    states = [trial["state"] for trial in study["trials"]]
    assert 1 <= states.count("complete") < 500
    # stopped cleanly between trials: the running trial finished, none was cut short; the
    # portfolio's points not reached stay queued ("waiting"), for a resume to run first
    assert set(states) <= {"complete", "waiting"}
    assert states == sorted(states)  # every started trial is before every queued one


def test_a_tune_starts_from_the_portfolio_unless_the_form_says_not_to(
    client: TestClient, watch: Any
) -> None:
    from tunelab.trials.portfolio import PORTFOLIO

    firsts = {}
    for flag in (True, False):
        body = {"data": "tiny", "hyperparameters": {"epochs": 1}, "trials": 1,
                "portfolio": flag, "study": f"portfolio-{flag}"}  # fmt: skip
        job = watch.job(client.post("/api/tune", json=body).json()["id"])
        assert job["status"] == "completed", job["error"]
        firsts[flag] = client.get(f"/api/studies/portfolio-{flag}").json()["trials"][0]
    assert firsts[True]["params"] == PORTFOLIO[0]
    assert firsts[True]["warm_start"] is True  # the page marks it "(warm start)"
    assert firsts[False]["params"]["learning_rate"] != PORTFOLIO[0]["learning_rate"]
    assert firsts[False]["warm_start"] is False
