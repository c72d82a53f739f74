"""A study's outputs without training: intervals, noise warning, importances, weights kept
for the best, plots and the HTML report (built on small hand-made Optuna studies)."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import optuna
import pytest

from tunelab.errors import TunelabError
from tunelab.report.importance import param_importances
from tunelab.report.leaderboard import leaderboard, noise_warning, wilson_interval
from tunelab.report.study_outputs import load_stored_study, study_outputs
from tunelab.search.results import TrialRecord
from tunelab.trials.cv import check_folds, fold_splits
from tunelab.trials.weights import KeepBestWeights, check_keep, drop_weights

optuna.logging.set_verbosity(optuna.logging.WARNING)


def record(number: int, value: float | None, state: str = "complete", **attrs) -> TrialRecord:
    return TrialRecord(
        number=number,
        params={"learning_rate": 0.001 * (number + 1)},
        value=value,
        state=state,
        status=state,
        duration=1.0,
        intermediate_values={1: value or 0.1},
        user_attrs=attrs,
    )


def toy_study(store, name: str = "toy", n_trials: int = 12, n_val: int = 200) -> optuna.Study:
    """learning_rate decides the score, batch_size barely; every 4th trial is pruned."""
    folder = store / "studies"
    folder.mkdir(parents=True, exist_ok=True)
    study = optuna.create_study(
        study_name=name,
        storage=f"sqlite:///{folder / f'{name}.db'}",
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=1),
    )

    def objective(trial: optuna.Trial) -> float:
        lr = trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
        batch = trial.suggest_categorical("batch_size", [16, 32])
        trial.set_user_attr("n_val", n_val)
        score = 0.95 - 0.15 * abs(math.log10(lr) + 2.5) - 0.001 * (batch == 32)
        for epoch in (1, 2, 3):
            trial.report(score * (1 - 0.5**epoch), epoch)
            if trial.number % 4 == 3:
                trial.set_user_attr("status", "pruned")
                raise optuna.TrialPruned()
        trial.set_user_attr("status", "complete")
        return score * (1 - 0.5**3)

    study.optimize(objective, n_trials=n_trials)
    return study


# ---------------------------------------------------------------- uncertainty


def test_wilson_interval_matches_the_formula_and_stays_in_bounds() -> None:
    low, high = wilson_interval(0.5, 100)
    assert (round(low, 4), round(high, 4)) == (0.4038, 0.5962)
    low, high = wilson_interval(1.0, 10)
    assert 0.69 < low < 0.73 and high == pytest.approx(1.0)
    low, high = wilson_interval(0.0, 10)
    assert low == pytest.approx(0.0) and 0.27 < high < 0.31
    # more images, narrower interval
    assert np.diff(wilson_interval(0.9, 1000)) < np.diff(wilson_interval(0.9, 50))
    with pytest.raises(ValueError):
        wilson_interval(0.5, 0)


def test_leaderboard_ranks_complete_trials_with_intervals() -> None:
    records = [
        record(0, 0.80, n_val=50),
        record(1, 0.90, n_val=50),
        record(2, 0.50, state="pruned", n_val=50),
        record(3, 0.70),  # no n_val: no interval
    ]
    rows = leaderboard(records)
    assert [r.number for r in rows] == [1, 0, 3]
    assert rows[0].low is not None and rows[0].low < 0.90 < rows[0].high
    assert rows[2].low is None
    assert rows[0].to_dict()["interval_95"] == [rows[0].low, rows[0].high]


def test_noise_warning_when_the_top_intervals_overlap() -> None:
    close = leaderboard([record(0, 0.90, n_val=40), record(1, 0.87, n_val=40)])
    message = noise_warning(close)
    assert message is not None
    assert "the top 2 are within noise" in message and "--cv 5" in message
    assert "--cv" not in (noise_warning(close, cross_validated=True) or "")
    apart = leaderboard([record(0, 0.95, n_val=5000), record(1, 0.80, n_val=5000)])
    assert noise_warning(apart) is None
    assert noise_warning(leaderboard([record(0, 0.9)])) is None  # no n_val: cannot judge


# ---------------------------------------------------------------- weights for the best


def make_runs(root, names) -> None:
    for name in names:
        (root / name).mkdir(parents=True)
        (root / name / "model.safetensors").write_bytes(b"w")
        (root / name / "summary.json").write_text("{}")


def test_only_the_best_k_trials_keep_their_weights(tmp_path) -> None:
    records = [
        record(0, 0.70, run="s-trial-0000"),
        record(1, 0.90, run="s-trial-0001"),
        record(2, 0.40, state="pruned", run="s-trial-0002"),
        record(3, 0.80, runs=["s-trial-0003-fold-1", "s-trial-0003-fold-2"]),
        record(4, None, state="running", run="s-trial-0004"),
        record(5, None, state="fail", run="../escape"),
    ]
    names = [f"s-trial-000{i}" for i in (0, 1, 2, 4)] + [
        "s-trial-0003-fold-1",
        "s-trial-0003-fold-2",
    ]
    make_runs(tmp_path, names)
    (tmp_path.parent / "escape").mkdir(exist_ok=True)
    (tmp_path.parent / "escape" / "model.safetensors").write_bytes(b"outside")
    removed = drop_weights(records, tmp_path, keep=2)
    has = {n: (tmp_path / n / "model.safetensors").exists() for n in names}
    assert has == {
        "s-trial-0000": False,  # out-ranked
        "s-trial-0001": True,  # best
        "s-trial-0002": False,  # pruned
        "s-trial-0004": True,  # still running
        "s-trial-0003-fold-1": True,  # second best: every fold keeps its weights
        "s-trial-0003-fold-2": True,
    }
    assert len(removed) == 2
    assert all((tmp_path / n / "summary.json").exists() for n in names)
    assert (tmp_path.parent / "escape" / "model.safetensors").exists()
    drop_weights(records, tmp_path, keep=0)
    assert not (tmp_path / "s-trial-0001" / "model.safetensors").exists()


def test_keep_weights_is_checked() -> None:
    assert check_keep(0) == 0
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(TunelabError, match="keep_weights must be a whole number >= 0"):
            check_keep(bad)
    with pytest.raises(TunelabError):
        KeepBestWeights("runs", -2)


# ---------------------------------------------------------------- importances


def test_importances_rank_the_knob_that_matters_first(tmp_path) -> None:
    result = param_importances(toy_study(tmp_path, n_trials=16))
    assert result.note is None
    assert list(result.values)[0] == "learning_rate"
    assert result.values["learning_rate"] > result.values["batch_size"]
    assert sum(result.values.values()) == pytest.approx(1.0)
    assert result.n_trials == 12  # 16 trials, every 4th pruned


def test_too_few_trials_give_a_note_not_an_error(tmp_path) -> None:
    result = param_importances(toy_study(tmp_path, n_trials=3))
    assert result.values == {}
    assert "too few complete trials" in (result.note or "")
    empty = optuna.create_study()
    assert "too few" in (param_importances(empty).note or "")
    with pytest.raises(TunelabError, match="importance evaluator"):
        param_importances(empty, evaluator="shap")


def test_equal_scores_give_a_note(tmp_path) -> None:
    study = optuna.create_study(direction="maximize")
    study.optimize(lambda t: 0.5 + 0 * t.suggest_float("x", 0, 1), n_trials=6)
    assert "scored the same" in (param_importances(study).note or "")


# ---------------------------------------------------------------- plots and the report


def test_study_outputs_write_importances_plots_and_html(tmp_path) -> None:
    study = toy_study(tmp_path, n_trials=12)
    outputs = study_outputs(study, store=tmp_path)
    folder = tmp_path / "studies"
    assert outputs.report == folder / "toy-report.html"
    assert set(outputs.plots) == {"history", "parallel", "curves", "importances"}
    for path in outputs.plots.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.parent == folder / "toy-plots"
    saved = json.loads(outputs.importances_path.read_text())
    assert saved["importances"] == pytest.approx(outputs.importances.values)
    assert outputs.rows[0].value == max(
        t.value for t in study.trials if t.value is not None and t.state.name == "COMPLETE"
    )
    text = outputs.report.read_text()
    assert "Leaderboard" in text and "95% interval" in text and "learning_rate" in text
    from tunelab.report.study_html import plotly_available

    if plotly_available():  # the interactive figures of optuna.visualization
        assert 'id="figure-history"' in text and 'id="figure-parallel"' in text
        # with our labels, not Optuna's stock ones
        assert "best so far" in text and "trial number" in text
        assert "Objective Value" not in text and "Optimization History Plot" not in text
    else:
        assert text.count("data:image/png;base64,") == 4


def test_html_report_embeds_the_pngs_without_plotly(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "plotly", None)  # import plotly now fails
    outputs = study_outputs(toy_study(tmp_path, n_trials=12), store=tmp_path)
    assert outputs.report is not None
    text = outputs.report.read_text()
    assert text.count("data:image/png;base64,") == 4
    assert "figure-history" not in text
    assert "Optimisation history" in text and "Knob importances" in text


def test_no_report_writes_only_the_importances(tmp_path) -> None:
    outputs = study_outputs(toy_study(tmp_path, n_trials=3), store=tmp_path, report=False)
    assert outputs.report is None and outputs.plots == {}
    assert outputs.importances_path.is_file()
    assert not (tmp_path / "studies" / "toy-report.html").exists()


def test_a_stored_study_is_found_by_name_or_refused_in_one_line(tmp_path) -> None:
    toy_study(tmp_path, name="mine", n_trials=2)
    assert load_stored_study("mine", store=tmp_path).study_name == "mine"
    with pytest.raises(TunelabError, match="no study named 'mien'.*Did you mean \"mine\""):
        load_stored_study("mien", store=tmp_path)
    with pytest.raises(TunelabError, match="invalid study name"):
        load_stored_study("../x", store=tmp_path)


# ---------------------------------------------------------------- folds


def test_folds_are_stratified_and_validate_every_image_once() -> None:
    labels = np.array([0] * 6 + [1] * 9)
    splits = fold_splits(labels, 3, seed=0)
    assert len(splits) == 3
    validated = np.concatenate([val for _, val in splits])
    assert sorted(validated) == list(range(15))
    for train, val in splits:
        assert set(train).isdisjoint(val)
        assert np.bincount(labels[val]).tolist() == [2, 3]
    assert [v.tolist() for _, v in fold_splits(labels, 3, seed=0)] == [
        v.tolist() for _, v in splits
    ]


@pytest.mark.parametrize("folds", [1, 0, 7, 2.5, True])
def test_bad_fold_counts_are_refused_in_one_line(folds) -> None:
    labels = [0] * 6 + [1] * 9
    with pytest.raises(TunelabError, match=r"invalid cv .*from 2 to 6") as err:
        check_folds(folds, labels)
    assert "\n" not in str(err.value)


def test_folds_need_two_images_per_class() -> None:
    with pytest.raises(TunelabError, match="smallest class has 1"):
        check_folds(2, [0, 0, 1])


def test_pruned_trials_are_on_the_leaderboard_marked_after_the_complete_ones(tmp_path, cli) -> None:
    study = toy_study(tmp_path / "store", name="marked", n_trials=8)
    outputs = study_outputs(study, store=tmp_path / "store", report=False)
    assert [row.number for row in outputs.stopped] and all(
        row.status == "pruned" and row.rank == 0 and row.epoch == 1 for row in outputs.stopped
    )
    assert {row.number for row in outputs.stopped} == {3, 7}
    data = outputs.to_dict()
    assert [row["number"] for row in data["stopped_early"]] == [
        row.number for row in outputs.stopped
    ]
    code, out, err = cli("tune-report", "marked", "--runs-dir", str(tmp_path / "store"))
    assert code == 0, err
    assert out.count("stopped early") == 2


def test_a_progress_line_names_the_trial_its_value_the_best_and_what_is_left(tmp_path) -> None:
    from tunelab.search.storage import STUDY_ATTR
    from tunelab.trials.progress import trial_line

    study = toy_study(tmp_path, name="lines", n_trials=4)
    study.set_user_attr(STUDY_ATTR, {"n_trials": 10, "deadline": 1000.0})
    records = [TrialRecord.from_frozen(t) for t in study.trials]
    line = trial_line(study, records[0], now=1000.0 - 125)
    assert line.startswith("trial 0 complete: ")
    assert "(95% " in line and "n=200" in line and "after 3 epochs" in line
    assert f"best {study.best_value:.4f} (trial {study.best_trial.number})" in line
    assert "4 of 10 trials" in line and "2m05s of the budget left" in line
    pruned = trial_line(study, records[3])
    assert pruned.startswith("trial 3 pruned: ") and "at its last epoch" in pruned
    assert "after 1 epochs" in pruned
