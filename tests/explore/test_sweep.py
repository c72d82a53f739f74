"""Sweeping one knob: runs in the store, table rows, winner, plot, workers, Ctrl-C."""

from __future__ import annotations

import json

import pytest

from tunelab.data import load_dataset
from tunelab.errors import TunelabError
from tunelab.explore.sweep import standard_layout, sweep
from tunelab.explore.sweep_rows import SweepInterrupted, SweepRow, budget_rows, pick_winner
from tunelab.runs import RunStore
from tunelab.training.callbacks import Callback
from tunelab.training.trainer import train

FAST = {"epochs": 1, "threads": 1, "device": "cpu"}
METRICS = ("final_val_accuracy", "best_val_accuracy", "best_val_loss", "best_epoch", "status")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def lr_sweep(digits, tmp_path_factory):
    store = tmp_path_factory.mktemp("runs")
    return sweep(digits, "learning_rate", [0.001, 0.01, 0.1], store=store, workers=1, **FAST)


def test_sweep_trains_one_stored_run_per_value(lr_sweep) -> None:
    result = lr_sweep
    assert result.knob == "learning_rate" and result.values == [0.001, 0.01, 0.1]
    assert [row.value for row in result.rows] == [0.001, 0.01, 0.1]
    store = RunStore(result.store)
    for row in result.rows:
        assert row.status == "completed"
        assert row.run == f"{result.sweep}-learning_rate-{row.value}"
        run = store.get(row.run)
        assert run.hyperparameters.learning_rate == row.value
        assert run.hyperparameters.seed == 0  # the same seed for every value
        assert run.summary["best_val_accuracy"] == row.best_val_accuracy
        assert run.read_json("sweep.json") == {
            "sweep": result.sweep,
            "knob": "learning_rate",
            "value": row.value,
        }
        assert len(row.curve) == 1 and row.best_epoch == 1 and row.seconds is not None
    assert store.names() == sorted(row.run for row in result.rows)  # sweeps/ is not a run


def test_sweep_picks_the_winner_and_writes_summary_and_plot(lr_sweep) -> None:
    result = lr_sweep
    best = max(result.rows, key=lambda row: row.best_val_accuracy or 0)
    assert result.winner is best and result.winner.value == 0.01
    assert result.plot_path == result.store / "sweeps" / f"{result.sweep}.png"
    assert result.plot_path.read_bytes()[:4] == b"\x89PNG"
    assert result.summary_path is not None
    summary = json.loads(result.summary_path.read_text())
    assert summary["winner"] == {"value": 0.01, "run": best.run}
    assert summary["mode"] == "separate" and summary["interrupted"] is False
    assert [row["value"] for row in summary["rows"]] == [0.001, 0.01, 0.1]
    assert summary["hyperparameters"]["epochs"] == 1


def test_two_workers_give_the_same_results_as_one(digits, lr_sweep, tmp_path) -> None:
    parallel = sweep(
        digits, "learning_rate", "0.001,0.01,0.1", store=tmp_path, workers=2, name="p", **FAST
    )
    assert parallel.workers == 2
    for one, two in zip(lr_sweep.rows, parallel.rows, strict=True):
        assert [getattr(one, m) for m in METRICS] == [getattr(two, m) for m in METRICS]
        assert one.curve[0]["val_loss"] == two.curve[0]["val_loss"]
    assert parallel.winner is not None and parallel.winner.value == 0.01
    pids = {RunStore(tmp_path).get(row.run).summary["pid"] for row in parallel.rows}
    assert len(pids) == 2  # really ran in two worker processes


def test_epochs_sweep_reads_shorter_budgets_from_one_curve(digits, tmp_path) -> None:
    result = sweep(digits, "epochs", [1, 2], store=tmp_path, threads=1, device="cpu")
    assert result.mode == "shared-curve"
    assert RunStore(tmp_path).names() == [f"{result.sweep}-epochs-2"]
    assert [row.from_curve for row in result.rows] == [True, False]
    # exact: the first epoch of the 2-epoch run is the 1-epoch run
    same = standard_layout(digits)  # what the sweep trains on; see standard_layout
    alone = train(same, store=tmp_path / "alone", epochs=1, threads=1, device="cpu").summary
    one = result.rows[0]
    assert one.status == "completed" and one.epochs_run == 1
    assert one.final_val_accuracy == alone["final_val_accuracy"]
    assert one.best_val_loss == alone["best_val_loss"]
    assert one.best_val_accuracy == alone["best_val_accuracy"]


def test_epochs_sweep_with_a_lookahead_schedule_trains_each_budget(digits, tmp_path) -> None:
    result = sweep(digits, "epochs", "1,2", store=tmp_path, schedule="cosine", threads=1)
    assert result.mode == "separate"
    assert len(RunStore(tmp_path).names()) == 2
    assert [row.epochs_run for row in result.rows] == [1, 2]


def _curve(losses: list[float]) -> list[dict[str, float]]:
    return [
        {"epoch": i + 1, "val_loss": loss, "val_accuracy": 1 - loss / 10, "seconds": 1.0}
        for i, loss in enumerate(losses)
    ]


def test_budget_rows_after_early_stopping() -> None:
    full = SweepRow(
        value=10,
        run="r",
        status="stopped-early",
        final_val_accuracy=0.9,
        best_val_accuracy=0.9,
        best_val_loss=1.0,
        best_epoch=2,
        epochs_run=4,
        curve=_curve([3.0, 1.0, 2.0, 2.5]),
    )
    rows = budget_rows(full, [1, 2, 4, 10])
    assert [r.status for r in rows] == ["completed", "completed", "stopped-early", "stopped-early"]
    assert rows[0].best_val_loss == 3.0 and rows[0].seconds == 1.0 and rows[0].from_curve
    assert rows[1].best_epoch == 2 and rows[1].final_val_accuracy == pytest.approx(0.9)
    assert rows[3].value == 10 and not rows[3].from_curve and rows[2].from_curve


def test_budget_rows_after_divergence() -> None:
    finite = SweepRow(value=8, run="r", status="diverged", epochs_run=2, curve=_curve([3.0, 2.0]))
    assert [r.status for r in budget_rows(finite, [2, 3])] == ["completed", "diverged"]
    nan = SweepRow(
        value=8, run="r", status="diverged", epochs_run=2, curve=_curve([3.0, float("nan")])
    )
    assert [r.status for r in budget_rows(nan, [1, 2])] == ["completed", "diverged"]


def test_winner_ties_go_to_the_lower_loss_and_failures_never_win() -> None:
    rows = [
        SweepRow(1, "a", "completed", best_val_accuracy=0.9, best_val_loss=0.5),
        SweepRow(2, "b", "completed", best_val_accuracy=0.9, best_val_loss=0.3),
        SweepRow(3, "c", "diverged", best_val_accuracy=0.95, best_val_loss=0.1),
        SweepRow(4, "d", "interrupted", best_val_accuracy=0.99, best_val_loss=0.1),
        SweepRow(5, "e", "error"),
    ]
    assert pick_winner(rows) is rows[1]
    assert pick_winner(rows[2:]) is None


def test_a_failing_value_does_not_stop_the_others(digits, tmp_path) -> None:
    result = sweep(digits, "precision", "fp32,fp16", store=tmp_path, workers=1, **FAST)
    assert [row.status for row in result.rows] == ["completed", "error"]
    assert "fp16" in (result.rows[1].error or "")
    assert result.winner is result.rows[0]


class InterruptSecondRun(Callback):
    """Acts like Ctrl-C during the second run."""

    def __init__(self) -> None:
        self.runs = 0

    def on_train_start(self, state) -> None:
        self.runs += 1

    def on_batch_end(self, state, record) -> None:
        if self.runs == 2:
            raise KeyboardInterrupt


def test_ctrl_c_keeps_finished_runs_and_saves_a_partial_sweep(digits, tmp_path) -> None:
    with pytest.raises(SweepInterrupted) as caught:
        sweep(
            digits,
            "batch_size",
            "32,64,128",
            store=tmp_path,
            workers=1,
            name="stop",
            callbacks=[InterruptSecondRun()],
            **FAST,
        )
    result = caught.value.result
    assert [row.status for row in result.rows] == ["completed", "interrupted", "not-run"]
    assert result.interrupted and result.winner is result.rows[0]
    assert RunStore(tmp_path).names() == ["stop-batch_size-32", "stop-batch_size-64"]
    summary = json.loads((tmp_path / "sweeps" / "stop.json").read_text())
    assert summary["interrupted"] is True and summary["winner"]["value"] == 32


def test_ctrl_c_with_workers_stops_the_pool(digits, tmp_path) -> None:
    def interrupt(row: SweepRow) -> None:
        raise KeyboardInterrupt

    with pytest.raises(SweepInterrupted) as caught:
        sweep(
            digits,
            "learning_rate",
            "0.001,0.003,0.01,0.03",
            store=tmp_path,
            workers=2,
            on_row=interrupt,
            epochs=3,
            threads=1,
        )
    statuses = [row.status for row in caught.value.result.rows]
    assert statuses.count("completed") >= 1
    assert statuses[-1] in ("not-run", "interrupted")  # picked up after the stop at the latest
    assert set(statuses) <= {"completed", "interrupted", "not-run"}


def test_errors_before_anything_runs(digits, tmp_path) -> None:
    with pytest.raises(TunelabError, match='Did you mean "batch_size"'):
        sweep(digits, "bach_size", store=tmp_path)
    with pytest.raises(TunelabError, match="invalid learning_rate: got -0.1"):
        sweep(digits, "learning_rate", [0.1, -0.1], store=tmp_path)
    with pytest.raises(TunelabError, match="workers must be an integer >= 1"):
        sweep(digits, "learning_rate", [0.1], store=tmp_path, workers=0)
    with pytest.raises(TunelabError, match="needs the data's source"):
        sweep(digits, "input_height", [8, 16], store=tmp_path)
    with pytest.raises(TunelabError, match="invalid dropout"):
        sweep(digits, "learning_rate", [0.1], store=tmp_path, dropout=3)
    assert not (tmp_path / "sweeps").exists() and RunStore(tmp_path).names() == []


def test_a_name_already_used_is_refused(digits, tmp_path) -> None:
    sweep(digits, "learning_rate", [0.01], store=tmp_path, name="again", **FAST)
    with pytest.raises(TunelabError, match="a sweep named 'again' already exists"):
        sweep(digits, "learning_rate", [0.03], store=tmp_path, name="again", **FAST)
    with pytest.raises(TunelabError, match="invalid sweep name"):
        sweep(digits, "learning_rate", [0.03], store=tmp_path, name="../x", **FAST)


def test_standard_layout_copies_only_odd_strides(digits) -> None:
    fixed = standard_layout(digits)
    assert fixed.images.strides == (64, 64, 8, 1)
    assert (fixed.images == digits.images).all() and fixed.labels is digits.labels
    assert standard_layout(fixed) is fixed


def test_sweep_rows_carry_their_interval_and_image_count(lr_sweep) -> None:
    n_val = RunStore(lr_sweep.store).get(lr_sweep.rows[0].run).summary["n_val"]
    for row in lr_sweep.rows:
        assert row.n_val == n_val
        low, high = row.interval or (2.0, -1.0)
        assert low <= (row.best_val_accuracy or 0.0) <= high
    summary = json.loads((lr_sweep.summary_path or lr_sweep.store).read_text())
    assert all(row["interval_95"] and row["n_val"] == n_val for row in summary["rows"])
    assert "noise_warning" in summary


def test_a_winner_within_noise_of_the_runner_up_is_called_so() -> None:
    from tunelab.explore.sweep_rows import sweep_noise_warning

    close = [
        SweepRow(0.01, "a", "completed", best_val_accuracy=0.90, best_val_loss=0.3, n_val=50),
        SweepRow(0.03, "b", "completed", best_val_accuracy=0.88, best_val_loss=0.3, n_val=50),
    ]
    warning = sweep_noise_warning(close, "learning_rate")
    assert warning is not None and "learning_rate=0.01" in warning and "within noise" in warning
    apart = [
        SweepRow(0.01, "a", "completed", best_val_accuracy=0.95, best_val_loss=0.3, n_val=2000),
        SweepRow(0.1, "b", "completed", best_val_accuracy=0.50, best_val_loss=0.9, n_val=2000),
    ]
    assert sweep_noise_warning(apart, "learning_rate") is None
