"""Tuning outputs that need training (tiny data, 2 epochs): weights kept for the best,
k-fold cross-validation with pruning, and retraining the best on all data."""

from __future__ import annotations

import numpy as np
import pytest

from tunelab.data import make_synthetic_folder
from tunelab.errors import TunelabError
from tunelab.knobs import Hyperparameters
from tunelab.runs import RunStore
from tunelab.search.reporter import Pruned
from tunelab.trials.images import build_space, tune_images

FIXES = [
    "model=mlp",
    "activation=relu",
    "dropout=0",
    "weight_decay=0",
    "optimizer=adam",
    "batch_size=8",
]


@pytest.fixture
def data(tmp_path):
    return make_synthetic_folder(tmp_path / "data", classes=3, per_class=10, size=(8, 8))


def small(epochs: int = 2) -> Hyperparameters:
    return Hyperparameters(epochs=epochs, threads=1, model="mlp")


def test_only_the_best_trials_keep_their_weights(data, tmp_path) -> None:
    store = tmp_path / "runs"
    result = tune_images(
        data,
        small(),
        space=build_space(fixes=FIXES),
        store=store,
        study_name="kw",
        n_trials=3,
        pruner="none",
        keep_weights=1,
    )
    runs = RunStore(store)
    with_weights = [n for n in runs.names() if (runs.root / n / "model.safetensors").exists()]
    assert with_weights == [f"kw-trial-{result.best_trial_number:04d}"]
    for name in runs.names():  # curves, metrics and summary stay for every trial
        run = runs.get(name)
        assert run.summary["epochs_run"] == 2 and len(run.epochs) == 2
    ranked = sorted(
        (t for t in result.trials if t.state == "complete"), key=lambda t: -(t.value or 0)
    )
    assert ranked[0].number == result.best_trial_number
    assert all(t.user_attrs["n_val"] == 8 for t in result.trials)  # ceil(30 * 0.25)
    from tunelab.evaluation.evaluate import evaluate_run

    dropped = next(n for n in runs.names() if n not in with_weights)
    with pytest.raises(TunelabError, match=r"the tuner removed them \(not among the best 1 "):
        evaluate_run(runs.get(dropped))


def test_cross_validation_reports_the_mean_over_folds_per_epoch(data, tmp_path) -> None:
    store = tmp_path / "runs"
    result = tune_images(
        data,
        small(),
        space=build_space(fixes=FIXES),
        store=store,
        study_name="cv",
        n_trials=2,
        pruner="none",
        cv=3,
    )
    runs = RunStore(store)
    for trial in result.trials:
        names = [f"cv-trial-{trial.number:04d}-fold-{k}" for k in (1, 2, 3)]
        assert trial.user_attrs["runs"] == names
        assert trial.user_attrs["n_val"] == 30  # every image validated once
        curves = [[row["val_accuracy"] for row in runs.get(n).epochs] for n in names]
        means = np.mean(curves, axis=0)
        assert [trial.intermediate_values[e] for e in (1, 2)] == pytest.approx(means)
        assert trial.value == pytest.approx(means.max())
        assert trial.user_attrs["best_epoch"] == int(np.argmax(means)) + 1
        validated = sorted(i for n in names for i in runs.get(n).model_info["val_indices"])
        assert validated == list(range(30))
    assert result.ensemble is None and "no ensemble with --cv" in result.ensemble_note


def test_a_pruned_cross_validated_trial_stops_every_fold(data, tmp_path) -> None:
    from tunelab.trials.cv import cv_objective
    from tunelab.trials.data import trial_dataset

    class PruneAtOne:
        seed, trial_number = 7, 5

        def __init__(self) -> None:
            self.reported: dict[int, float] = {}
            self.attrs: dict[str, object] = {}

        def report(self, epoch: int, value: float) -> None:
            self.reported[epoch] = value
            raise Pruned("behind its peers")

        def set_user_attr(self, key: str, value: object) -> None:
            self.attrs[key] = value

    trial_dataset(str(data), None)
    reporter = PruneAtOne()
    with pytest.raises(Pruned):
        cv_objective(
            {"learning_rate": 0.01},
            reporter,
            data=str(data),
            base=small(epochs=4).model_dump(),
            store=str(tmp_path / "runs"),
            study="p",
            folds=2,
        )
    assert list(reporter.reported) == [1]
    for name in reporter.attrs["runs"]:  # type: ignore[union-attr]
        run = RunStore(tmp_path / "runs").get(name)
        assert run.summary["epochs_run"] == 1
        assert run.status == "pruned"


def test_cv_larger_than_the_smallest_class_is_refused(data, tmp_path) -> None:
    with pytest.raises(TunelabError, match="from 2 to 10"):
        tune_images(data, small(), store=tmp_path / "runs", study_name="bad", n_trials=1, cv=11)


def test_retrain_best_trains_on_all_images_for_the_best_epoch(data, tmp_path) -> None:
    from tunelab.trials.retrain import best_epoch, check_retrain_target, retrain_best

    store = tmp_path / "runs"
    hp = small(epochs=3)
    result = tune_images(
        data, hp, space=build_space(fixes=FIXES), store=store, study_name="rb", n_trials=2
    )
    best = next(t for t in result.trials if t.number == result.best_trial_number)
    run = retrain_best(result, data, hp, store=store)
    assert run.name == "rb-best"
    assert run.weights_path.is_file()
    assert run.summary["n_train"] == 30
    assert run.summary["epochs_run"] == best_epoch(best)
    assert run.hyperparameters.learning_rate == best.params["learning_rate"]
    assert run.summary["retrained_from"]["trial"] == best.number
    with pytest.raises(TunelabError, match="already exists.*runs delete rb-best"):
        check_retrain_target("rb", store)
