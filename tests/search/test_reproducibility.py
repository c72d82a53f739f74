"""The same seed gives the same tune; any trial of a parallel tune re-runs alone exactly."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from tunelab.data import make_synthetic_folder
from tunelab.knobs import Hyperparameters
from tunelab.search import Categorical, Float, rerun
from tunelab.trials.images import image_objective, tune_images

SPACE = {
    "learning_rate": Float(1e-3, 1e-1, log=True),
    "batch_size": Categorical([4, 8]),
}


def _tune(data: Path, store: Path, **kwargs):
    hp = Hyperparameters(epochs=2, threads=1)
    return tune_images(data, hp, space=SPACE, store=store, study_name="s", pruner="none",
                       portfolio=False, **kwargs)  # fmt: skip


def test_one_worker_same_seed_same_study(tmp_path) -> None:
    data = make_synthetic_folder(tmp_path / "d", classes=3, per_class=8)
    first = _tune(data, tmp_path / "a", n_trials=2)
    second = _tune(data, tmp_path / "b", n_trials=2)
    assert [t.params for t in first.trials] == [t.params for t in second.trials]
    assert [t.value for t in first.trials] == [t.value for t in second.trials]
    assert [t.intermediate_values for t in first.trials] == [
        t.intermediate_values for t in second.trials
    ]


def test_every_trial_of_a_two_worker_tune_reruns_alone_to_the_same_result(tmp_path) -> None:
    data = make_synthetic_folder(tmp_path / "d", classes=3, per_class=8)
    result = _tune(data, tmp_path / "w", n_trials=4, workers=2)
    assert len({t.user_attrs["pid"] for t in result.trials}) == 2
    base = Hyperparameters(epochs=2, threads=1).model_dump()
    for key in SPACE:
        base.pop(key)
    objective = functools.partial(image_objective, data=str(Path(data).resolve()), base=base,
                                  store=str(tmp_path / "alone"), study="alone")  # fmt: skip
    complete = [t for t in result.trials if t.state == "complete"]
    assert len(complete) == 4
    for trial in complete:
        assert rerun(objective, trial) == trial.value


def _two_worker_study(url: str, strategy: str, pruner: str, reproducible: bool = True):
    from tunelab.search import tune
    from tunelab.search.toy import curve

    space = {"x": Float(-1.0, 1.0), "y": Categorical([0.0, 0.5, 1.0])}
    if strategy == "grid":
        space = {"x": Categorical([-1.0, 0.0, 1.0]), "y": Categorical([0.0, 0.5, 1.0])}
    objective = functools.partial(curve, epochs=6, sleep=0.01)
    n_trials = 9 if strategy == "grid" else 12  # the grid's size
    result = tune(objective, space, strategy=strategy, pruner=pruner, n_trials=n_trials, workers=2,
                  seed=5, storage=url, study_name="s", reproducible=reproducible)  # fmt: skip
    return [(t.number, t.state, t.params, t.value, t.intermediate_values) for t in result.trials]


@pytest.mark.parametrize(("strategy", "pruner"), [("tpe", "asha"), ("grid", "median")])
def test_two_workers_with_a_seed_give_the_same_study(tmp_path, strategy, pruner) -> None:
    first = _two_worker_study(f"sqlite:///{tmp_path / 'a.db'}", strategy, pruner)
    second = _two_worker_study(f"sqlite:///{tmp_path / 'b.db'}", strategy, pruner)
    assert len(first) == (9 if strategy == "grid" else 12)
    assert first == second
    if strategy == "grid":  # every point once: each trial waited for the one before it
        assert len({tuple(params.values()) for _, _, params, _, _ in first}) == 9


def test_a_seeded_two_worker_cli_tune_gives_the_same_trials(cli, tmp_path) -> None:
    """The issue's case: `tune --workers 2` twice with one seed, trial by trial."""

    def tune_once(runs: str) -> list[tuple[int, str, dict, float]]:
        code, out, err = cli("tune", "digits", "--workers", "2", "--trials", "8", "--epochs",
                             "2", "--threads", "1", "--fix", "model=mlp", "--fix",
                             "batch_size=64", "--seed", "7", "--study", "s", "--runs-dir",
                             runs, "--no-report", "--keep-weights", "1", "--json")  # fmt: skip
        assert code == 0, err
        trials = json.loads(out)["trials"]
        return sorted((t["number"], t["status"], t["params"], t["value"]) for t in trials)

    first = tune_once(str(tmp_path / "a"))
    second = tune_once(str(tmp_path / "b"))
    assert [t[0] for t in first] == list(range(8))
    assert first == second
