"""The ensemble of a study's best trials: greedy selection, the run it writes, and that
evaluate, predict and export use it as one model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tunelab.data import make_synthetic_folder
from tunelab.errors import TunelabError
from tunelab.knobs import Hyperparameters
from tunelab.runs import RunStore
from tunelab.trials.ensemble import check_size, greedy_counts, log_loss
from tunelab.trials.images import build_space, tune_images

FIXES = ["model=mlp", "activation=relu", "weight_decay=0", "optimizer=adam"]


def test_greedy_selection_mixes_models_that_err_on_different_images() -> None:
    labels = np.array([0, 1, 0, 1])
    sure, unsure = 0.9, 0.2  # each model is confidently right on two images, wrong on two
    a = np.array([[sure, 1 - sure], [1 - sure, sure], [unsure, 1 - unsure], [0.5, 0.5]])
    b = np.array([[unsure, 1 - unsure], [0.5, 0.5], [sure, 1 - sure], [1 - sure, sure]])
    counts = greedy_counts([a, b], labels)
    assert counts[0] >= 1 and counts[1] >= 1
    mixed = (counts[0] * a + counts[1] * b) / sum(counts)
    assert log_loss(mixed, labels) < min(log_loss(a, labels), log_loss(b, labels))


def test_greedy_selection_keeps_the_best_alone_when_the_others_only_hurt() -> None:
    labels = np.array([0, 1, 1])
    good = np.array([[0.9, 0.1], [0.2, 0.8], [0.1, 0.9]])
    bad = np.array([[0.3, 0.7], [0.8, 0.2], [0.6, 0.4]])
    assert greedy_counts([good, bad, bad], labels) == [1, 0, 0]


@pytest.mark.parametrize("size", [-1, 1.5, True, "3"])
def test_a_bad_size_is_one_clear_line(size) -> None:
    with pytest.raises(TunelabError, match=r"ensemble must be a whole number >= 0 \(got"):
        check_size(size)


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    root = tmp_path_factory.mktemp("ens")
    data = make_synthetic_folder(root / "data", classes=3, per_class=12, size=(8, 8))
    result = tune_images(
        data,
        Hyperparameters(epochs=2, threads=1, model="mlp"),
        space=build_space(fixes=FIXES),
        store=root / "runs",
        study_name="ens",
        n_trials=4,
        pruner="none",
        progress=False,
    )
    return result, RunStore(root / "runs"), data


def test_the_tune_writes_an_ensemble_run_of_its_best_trials(tuned) -> None:
    result, runs, _ = tuned
    assert result.ensemble == "ens-ensemble", result.ensemble_note
    run = runs.get("ens-ensemble")
    summary = run.summary
    best = f"ens-trial-{result.best_trial_number:04d}"
    assert summary["members"][0]["run"] == best  # the selection starts from the best trial
    assert abs(sum(m["weight"] for m in summary["members"]) - 1) < 1e-3
    assert summary["candidates"] == 4 and summary["n_val"] == 9
    assert "chosen on" in summary["measured_on"]
    # the figures are the mixture's, measured as evaluate measures them
    from tunelab.evaluation.evaluate import evaluate_run

    evaluation = evaluate_run(run)
    assert evaluation.accuracy == pytest.approx(summary["final_val_accuracy"])
    assert evaluation.loss == pytest.approx(summary["final_val_loss"], abs=1e-4)
    # its selection never makes the validation log-loss worse than the best trial's
    assert summary["final_val_loss"] <= summary["best_trial_val_loss"] + 1e-9


def test_the_ensemble_outputs_the_weighted_mean_of_its_members(tuned) -> None:
    _, runs, _ = tuned
    from tunelab.evaluation.load import load_model

    ensemble = load_model(runs.get("ens-ensemble"))
    x = torch.rand(5, ensemble.in_channels, 8, 8)
    expected = sum(
        m["weight"] * load_model(runs.get(m["run"])).probabilities(x)
        for m in ensemble.run.summary["members"]
    )
    assert torch.allclose(ensemble.probabilities(x), expected, atol=1e-5)


def test_the_ensemble_exports_to_onnx_with_the_same_probabilities(tuned, tmp_path) -> None:
    import onnxruntime

    _, runs, _ = tuned
    from tunelab.evaluation.export import export_model
    from tunelab.evaluation.load import load_model

    run = runs.get("ens-ensemble")
    path = export_model(run, "onnx", tmp_path / "ens.onnx")
    x = torch.rand(4, load_model(run).in_channels, 8, 8)
    session = onnxruntime.InferenceSession(str(path))
    name = session.get_inputs()[0].name
    got = session.run(None, {name: x.numpy()})[0]
    assert np.allclose(got, load_model(run).probabilities(x).numpy(), atol=1e-5)
    meta = json.loads((tmp_path / "ens.onnx.json").read_text())
    assert meta["model"] == "ensemble"


def test_a_resumed_tune_replaces_the_ensemble_whole(tuned) -> None:
    result, runs, data = tuned
    before = runs.get("ens-ensemble").summary["candidates"]
    again = tune_images(
        data,
        Hyperparameters(epochs=2, threads=1, model="mlp"),
        space=build_space(fixes=FIXES),
        store=runs.root,
        study_name="ens",
        n_trials=2,
        pruner="none",
        resume=True,
        ensemble=3,
        progress=False,
    )
    assert again.ensemble == "ens-ensemble"
    assert before == 4 and runs.get("ens-ensemble").summary["candidates"] == 3
    assert not list(runs.root.glob(".ens-ensemble.partial"))


def test_no_ensemble_when_asked_for_none_or_one_trial_kept(tmp_path) -> None:
    data = make_synthetic_folder(tmp_path / "data", classes=2, per_class=8, size=(8, 8))
    hp = Hyperparameters(epochs=1, threads=1, model="mlp")
    space = build_space(fixes=["model=mlp", "optimizer=adam"])
    store = tmp_path / "runs"
    off = tune_images(data, hp, space=space, store=store, study_name="off", n_trials=2,
                      pruner="none", ensemble=0, progress=False)  # fmt: skip
    assert off.ensemble is None and not (store / "off-ensemble").exists()
    one = tune_images(data, hp, space=space, store=store, study_name="one", n_trials=2,
                      pruner="none", keep_weights=1, progress=False)  # fmt: skip
    assert one.ensemble is None and "fewer than two" in one.ensemble_note


def test_the_cli_names_the_ensemble_and_says_what_its_figures_were_measured_on(
    cli, tmp_path
) -> None:
    data = make_synthetic_folder(tmp_path / "data", classes=2, per_class=8, size=(8, 8))
    code, out, err = cli("tune", str(data), "--trials", "3", "--epochs", "1", "--study",
                         "c", "--fix", "model=mlp", "--pruner", "none", "--no-report")  # fmt: skip
    assert code == 0, err
    assert "ensemble c-ensemble:" in out and "chosen on: optimistic" in out
    code, out, _ = cli("runs", "list", "--json")
    rows = {row["run"]: row for row in json.loads(out)}
    assert rows["c-ensemble"]["model"].startswith("ensemble of ")
    code, out, _ = cli("evaluate", "c-ensemble")
    assert code == 0 and "the ensemble's members were chosen on (optimistic" in out
    code, out, err = cli("train", str(data), "--init-from", "c-ensemble", "--epochs", "1")
    assert code != 0 and "is an ensemble of" in err and "c-trial-" in err
    again = ["--trials", "4", "--epochs", "1", "--study", "c", "--resume", "--json"]
    code, out, err = cli("tune", str(data), *again, "--fix", "model=mlp", "--pruner", "none")
    assert code == 0, err
    assert json.loads(out)["ensemble_run"] == "c-ensemble"
    code, out, err = cli("tune", str(data), "--ensemble", "-2", "--trials", "1")
    assert code != 0 and "ensemble must be a whole number >= 0 (got -2)" in err
    assert "Traceback" not in err
