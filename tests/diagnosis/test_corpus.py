"""The diagnosis on a labelled corpus of real learning curves (tests/diagnosis/corpus.json.gz).

The corpus holds real runs on four data sets (digits, piximi-mnist, synthetic cells, a
synthetic grid folder), each labelled by the written rules of
``benchmarks/diagnosis_corpus.py`` on its curves; ``tests/diagnosis/README.md`` has them.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import pytest

from tunelab.diagnosis import VERDICTS, Diagnosis, diagnose

HERE = Path(__file__).parent
CORPUS = HERE / "corpus.json.gz"
GENERATOR = HERE.parents[1] / "benchmarks" / "diagnosis_corpus.py"

with gzip.open(CORPUS, "rt", encoding="utf-8") as _handle:
    RUNS: list[dict[str, Any]] = json.load(_handle)["runs"]


def generator() -> Any:
    """benchmarks/diagnosis_corpus.py, which holds the labelling rules."""
    spec = importlib.util.spec_from_file_location("diagnosis_corpus", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_diagnosis(record: dict[str, Any]) -> Diagnosis:
    summary = {
        **record["summary"],
        "classes": [str(i) for i in range(record["summary"]["num_classes"])],
    }
    return diagnose(record["epochs"], record["batches"], summary, record["knobs"])


def at_chance(record: dict[str, Any]) -> bool:
    rows = record["epochs"]
    return (
        bool(rows)
        and float(rows[-1]["val_accuracy"]) <= 1 / record["summary"]["num_classes"] + 0.05
    )


def start_loss(record: dict[str, Any]) -> float:
    losses = [float(b["loss"]) for b in record["batches"][:5]]
    return min(losses[0], sorted(losses)[len(losses) // 2])


def memorised(record: dict[str, Any]) -> bool:
    """Training accuracy near 100 % and validation loss well above its minimum (1.5x, and
    by at least 0.05 x the starting loss: 0.001 -> 0.003 on a solved task is not it)."""
    rows = record["epochs"]
    val = [float(r["val_loss"]) for r in rows]
    return (
        bool(rows)
        and all(math.isfinite(v) for v in val)
        and float(rows[-1]["train_accuracy"]) >= 0.99
        and val[-1] >= 1.5 * min(val)
        and val[-1] - min(val) >= 0.05 * start_loss(record)
    )


def test_the_corpus_is_large_varied_and_small() -> None:
    assert len(RUNS) >= 60
    assert len({r["data"].split("-")[0] for r in RUNS}) >= 3
    labels = {r["label"] for r in RUNS}
    assert labels == set(VERDICTS), set(VERDICTS) - labels
    assert CORPUS.stat().st_size < 1_000_000
    assert len({r["id"] for r in RUNS}) == len(RUNS)


def test_the_labels_follow_the_written_rules() -> None:
    """Every stored label is what the generator's rules say on the stored curves."""
    module = generator()
    for record in RUNS:
        assert module.label(record)[:2] == (record["label"], record["also"]), record["id"]


@pytest.mark.parametrize("record", RUNS, ids=[r["id"] for r in RUNS])
def test_every_run_gets_a_verdict_that_does_not_contradict_its_curves(
    record: dict[str, Any],
) -> None:
    d = run_diagnosis(record)
    assert d.verdict in VERDICTS
    json.dumps(d.to_dict(), allow_nan=False)
    assert any(ch.isdigit() for ch in d.text)
    if at_chance(record):
        assert "epochs" not in d.next_step and "train longer" not in d.text.lower(), d.text
    if memorised(record):
        assert d.verdict == "overfitting", d.text


def test_the_corpus_holds_both_rules_cases() -> None:
    """The two rules above are exercised by real runs, not vacuously true."""
    assert sum(map(at_chance, RUNS)) >= 5
    assert sum(map(memorised, RUNS)) >= 1


def test_accuracy_on_the_corpus_is_at_least_95_percent() -> None:
    wrong = [
        f"{r['id']}: label {r['label']}, got {d.verdict}"
        for r in RUNS
        if (d := run_diagnosis(r)).verdict != r["label"]
    ]
    accuracy = 1 - len(wrong) / len(RUNS)
    assert accuracy >= 0.95, "\n".join(wrong)


def test_labelled_second_problems_are_mostly_named() -> None:
    pairs = [(r, run_diagnosis(r)) for r in RUNS if r["also"]]
    assert pairs, "the corpus has no run with two problems"
    named = sum(
        1
        for r, d in pairs
        if d.verdict == r["label"] and r["also"][0] in [s["verdict"] for s in d.secondary]
    )
    assert named >= 0.9 * len(pairs)


def test_the_readme_states_the_rules_the_generator_applies() -> None:
    module = generator()
    doc = module.__doc__
    rules = doc[doc.index("Data sets:") : doc.index("    python benchmarks")].rstrip()
    assert rules in (HERE / "README.md").read_text(encoding="utf-8")
