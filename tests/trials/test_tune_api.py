"""`tunelab.tune_images` has the CLI's defaults: keyword knobs, a limit, tunelab's lines."""

from __future__ import annotations

import pytest

import tunelab
from tunelab.data import make_synthetic_folder


@pytest.fixture
def data(tmp_path):
    return make_synthetic_folder(tmp_path / "data", classes=2, per_class=8, size=(8, 8))


def test_keyword_knobs_set_the_base_and_fix_searched_knobs(data, tmp_path, capsys) -> None:
    result = tunelab.tune_images(
        data,
        store=tmp_path / "runs",
        study_name="kw",
        n_trials=2,
        epochs=1,
        threads=1,
        model="mlp",
        optimizer="adam",
        batch_size=8,
    )
    assert len(result.trials) == 2
    for trial in result.trials:
        assert trial.params["model"] == "mlp" and trial.params["optimizer"] == "adam"
        assert trial.user_attrs["knobs"]["epochs"] == 1
        assert len(trial.intermediate_values) == 1
    err = capsys.readouterr().err
    assert err.count("trial ") >= 2 and "of 2 trials" in err  # tunelab's own lines
    assert "Trial 0 finished" not in err  # not Optuna's INFO lines


def test_a_bad_keyword_knob_is_one_clear_error(data, tmp_path) -> None:
    with pytest.raises(tunelab.TunelabError, match="epochs"):
        tunelab.tune_images(data, store=tmp_path / "runs", n_trials=1, epochs=0)
