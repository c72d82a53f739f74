from __future__ import annotations

import pytest

from tunelab.errors import TunelabError
from tunelab.explain import EXPLANATIONS, FIELDS, GROUPS, explain_all, explain_knob
from tunelab.knobs import Hyperparameters


def test_every_knob_has_an_explanation_and_nothing_else_does() -> None:
    assert set(EXPLANATIONS) == set(Hyperparameters.model_fields)


@pytest.mark.parametrize("knob", list(Hyperparameters.model_fields))
def test_each_explanation_has_every_text(knob: str) -> None:
    entry = EXPLANATIONS[knob]
    assert set(entry) == set(FIELDS)
    for name in FIELDS:
        assert isinstance(entry[name], str) and len(entry[name]) > 15, (knob, name)
        assert entry[name].rstrip().endswith((".", ")")), (knob, name)


def test_explain_knob_merges_the_knob_model() -> None:
    entry = explain_knob("learning_rate")
    assert entry["default"] == 0.01
    assert entry["group"] == "optimizer"
    assert "x3" in entry["typical"] or "3" in entry["how_to_step"]
    assert "0.003" in entry["how_to_step"]
    assert explain_knob("Learning-Rate")["name"] == "learning_rate"
    assert (
        "x 2" in explain_knob("batch_size")["how_to_step"]
        or "by 2" in explain_knob("batch_size")["how_to_step"]
    )
    assert "time budget" in explain_knob("epochs")["how_to_step"]


def test_unknown_knob_suggests_the_closest() -> None:
    with pytest.raises(TunelabError, match='Did you mean "learning_rate"'):
        explain_knob("learnig_rate")


def test_explain_all_groups_every_knob_in_order() -> None:
    groups = explain_all()
    assert list(groups) == [g for g in GROUPS if g in groups]
    names = [entry["name"] for entries in groups.values() for entry in entries]
    assert sorted(names) == sorted(Hyperparameters.model_fields)
