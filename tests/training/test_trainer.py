"""train(): end to end on tiny data, reproducibility, statuses, and what is stored."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tunelab.data import load_dataset, make_synthetic_folder
from tunelab.errors import TunelabError
from tunelab.runs import RunStore
from tunelab.training.callbacks import Callback
from tunelab.training.trainer import train


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = make_synthetic_folder(
        tmp_path_factory.mktemp("tiny") / "data", classes=3, per_class=12, size=(12, 12)
    )
    return load_dataset(root, cache_dir=tmp_path_factory.mktemp("cache"))


def test_run_folder_holds_config_metrics_summary_weights(tiny, tmp_path) -> None:
    run = train(tiny, store=tmp_path, epochs=3, learning_rate=0.01, threads=1)
    files = {p.name for p in run.path.iterdir()}
    assert {
        "config.yaml",
        "metrics_epoch.csv",
        "metrics_batch.csv",
        "summary.json",
        "model.safetensors",
        "model.json",
    } <= files
    summary = json.loads((run.path / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert summary["epochs_run"] == 3
    assert len(run.epochs) == 3
    assert len(run.batches) == 3 * 1  # 27 training images, batch 32: one batch an epoch
    assert run.hyperparameters.epochs == 3
    assert RunStore(tmp_path).get(run.name).summary["run"] == run.name


def test_learns_tiny_data(tiny, tmp_path) -> None:
    run = train(tiny, store=tmp_path, epochs=15, learning_rate=0.01, batch_size=8, threads=1)
    assert run.summary["best_val_accuracy"] >= 0.9


def test_same_seed_same_metrics(tiny, tmp_path) -> None:
    knobs = dict(
        epochs=2,
        learning_rate=0.01,
        batch_size=8,
        seed=7,
        threads=1,
        dropout=0.2,
        augment=["flip", "crop"],
    )
    first = train(tiny, store=tmp_path, **knobs)
    second = train(tiny, store=tmp_path, **knobs)
    assert first.batches == second.batches
    assert [{k: v for k, v in e.items() if k != "seconds"} for e in first.epochs] == [
        {k: v for k, v in e.items() if k != "seconds"} for e in second.epochs
    ]
    other = train(tiny, store=tmp_path, **{**knobs, "seed": 8})
    assert other.batches != first.batches


def test_batch_larger_than_training_set_is_clipped_with_warning(tiny, tmp_path) -> None:
    with pytest.warns(UserWarning, match="larger than the training set"):
        run = train(tiny, store=tmp_path, epochs=1, batch_size=4096, threads=1)
    assert run.summary["batch_size_used"] == run.summary["n_train"]
    assert run.summary["warnings"]


def test_sgd_with_huge_rate_is_diverged_not_a_crash(tiny, tmp_path) -> None:
    run = train(
        tiny,
        store=tmp_path,
        optimizer="sgd",
        learning_rate=10,
        epochs=5,
        batch_size=4,
        loss="mse",
        model="mlp",
        threads=1,
    )
    if run.status != "diverged":  # mse on probabilities is bounded; use cross-entropy
        run = train(
            tiny,
            store=tmp_path,
            optimizer="sgd",
            learning_rate=10,
            epochs=5,
            batch_size=4,
            threads=1,
        )
    assert run.status == "diverged"
    assert run.summary["reason"]
    assert not run.weights_path.exists()


def test_early_stopping_restores_best_weights(tiny, tmp_path) -> None:
    run = train(
        tiny, store=tmp_path, epochs=60, early_stopping_patience=2, learning_rate=0.03, threads=1
    )
    assert run.status == "stopped-early"
    assert run.summary["epochs_run"] < 60
    assert run.summary["best_epoch"] == run.summary["epochs_run"] - 2


@pytest.mark.parametrize("schedule", ["step", "cosine", "one-cycle", "reduce-on-plateau"])
def test_schedules_change_the_learning_rate(tiny, tmp_path, schedule: str) -> None:
    # At 1e-6 the validation loss is flat, so reduce-on-plateau has a plateau to react to.
    rate = 1e-6 if schedule == "reduce-on-plateau" else 0.01
    run = train(
        tiny,
        store=tmp_path,
        epochs=4,
        schedule=schedule,
        schedule_step_epochs=1,
        plateau_patience=0,
        learning_rate=rate,
        batch_size=8,
        threads=1,
    )
    rates = [row["learning_rate"] for row in run.batches]
    assert len(set(rates)) > 1
    assert rates[-1] < rates[0] or schedule == "one-cycle"


def test_bf16_precision_trains(tiny, tmp_path) -> None:
    run = train(tiny, store=tmp_path, epochs=2, precision="bf16", threads=1)
    assert run.summary["precision"] == "bf16"
    assert run.status == "completed"


def test_fp16_on_cpu_is_refused(tiny, tmp_path) -> None:
    with pytest.raises(TunelabError, match="fp16"):
        train(tiny, store=tmp_path, epochs=1, precision="fp16", device="cpu")


def test_interrupt_keeps_finished_epochs(tiny, tmp_path) -> None:
    class Interrupt(Callback):
        def on_epoch_end(self, state, record) -> None:
            if record["epoch"] == 2:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(tiny, store=tmp_path, epochs=5, callbacks=[Interrupt()], threads=1, name="cut")
    run = RunStore(tmp_path).get("cut")
    assert run.status == "interrupted"
    assert len(run.epochs) == 1 or len(run.epochs) == 2
    assert run.weights_path.exists()


def test_two_channel_16bit_tiffs_of_varying_sizes_train(tmp_path) -> None:
    root = make_synthetic_folder(
        tmp_path / "tiffs",
        classes=2,
        per_class=8,
        size=(16, 16),
        channels=2,
        dtype="uint16",
        fmt="tif",
        vary_size=True,
    )
    run = train(root, store=tmp_path / "runs", epochs=2, threads=1)
    info = run.model_info
    assert info["in_channels"] == 2
    assert info["input_size"] == [16, 16]
    assert info["max_value"] == 65535
    assert run.status == "completed"


def test_split_is_stratified_and_stored(tiny, tmp_path) -> None:
    run = train(tiny, store=tmp_path, epochs=1, validation_fraction=0.25, threads=1)
    val = np.array(run.model_info["val_indices"])
    assert len(val) == 9
    assert sorted(np.bincount(tiny.labels[val]).tolist()) == [3, 3, 3]


def test_unwritable_store_fails_before_training(tiny, tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(TunelabError, match="cannot write to the run store"):
        train(tiny, store=blocker / "runs", epochs=1)


def test_full_disk_is_refused_before_training_and_leaves_the_store_as_it_was(
    tiny, tmp_path, monkeypatch
) -> None:
    import shutil

    from tunelab.training import trainer

    train(tiny, store=tmp_path, epochs=1, threads=1, name="kept")
    before = sorted(p.name for p in tmp_path.iterdir())
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda path: real(path)._replace(free=1000))
    started = []
    monkeypatch.setattr(trainer, "fit", lambda *a, **k: started.append(1))
    with pytest.raises(TunelabError, match=r"has 1000 bytes free; this run needs about .*B\."):
        train(tiny, store=tmp_path, epochs=1, threads=1, name="refused")
    assert not started
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert RunStore(tmp_path).get("kept").weights_path.exists()


def test_disk_full_while_saving_is_one_clear_error(tiny, tmp_path, monkeypatch) -> None:
    import errno

    import safetensors.torch

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safetensors.torch, "save_file", no_space)
    with pytest.raises(TunelabError, match="could not save run 'full'.*No space left on device"):
        train(tiny, store=tmp_path, epochs=1, threads=1, name="full")


def test_run_files_get_the_usual_permissions(tiny, tmp_path) -> None:
    """Run folders are shared (other users, remote workers, the web app): not owner-only."""
    from tunelab.runs.store import UMASK

    run = train(tiny, store=tmp_path, epochs=1, threads=1, name="perm")
    modes = {p.name: p.stat().st_mode & 0o777 for p in run.path.iterdir()}
    assert "model.safetensors" in modes and "summary.json" in modes
    assert set(modes.values()) == {0o666 & ~UMASK}, modes
