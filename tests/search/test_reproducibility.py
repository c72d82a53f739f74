"""The same seed gives the same tune; any trial of a parallel tune re-runs alone exactly."""

from __future__ import annotations

import functools
from pathlib import Path

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
                       known_good=False, **kwargs)  # fmt: skip


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
