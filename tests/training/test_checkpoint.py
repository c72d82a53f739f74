"""Checkpoints and resume: a resumed run ends exactly where an unbroken one does."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from tunelab.data import load_dataset, make_synthetic_folder
from tunelab.errors import TunelabError
from tunelab.runs import RunStore
from tunelab.training.callbacks import Callback
from tunelab.training.checkpoint import FILENAME
from tunelab.training.trainer import resume, train

# Dropout, augmentation and a step schedule make the random state and the schedule's
# position matter: a resume that lost either would end with other numbers.
KNOBS = dict(
    learning_rate=0.003,
    batch_size=16,
    threads=1,
    seed=5,
    dropout=0.2,
    augment=["flip", "crop"],
    schedule="step",
    schedule_step_epochs=3,
    schedule_gamma=0.5,
    optimizer="adamw",
)


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/training/conftest.py


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_synthetic_folder(
        tmp_path_factory.mktemp("ckpt") / "data", classes=3, per_class=16, size=(8, 8)
    )


@pytest.fixture(scope="module")
def straight(data, tmp_path_factory):
    """The reference: 4 epochs without a break."""
    return train(data, store=tmp_path_factory.mktemp("ref"), epochs=4, **KNOBS)


def _same_run(a, b) -> None:
    assert a.summary["final_val_loss"] == b.summary["final_val_loss"]
    assert a.summary["final_val_accuracy"] == b.summary["final_val_accuracy"]
    assert a.summary["epochs_run"] == b.summary["epochs_run"] == 4
    wa, wb = load_file(str(a.weights_path)), load_file(str(b.weights_path))
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    drop = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert drop(a.epochs) == drop(b.epochs)
    assert a.batches == b.batches


def test_resume_to_more_epochs_equals_a_straight_run(data, straight, tmp_path) -> None:
    first = train(data, store=tmp_path, name="half", epochs=2, **KNOBS)
    assert len(first.epochs) == 2
    again = resume("half", store=tmp_path, epochs=4)
    assert again.path == first.path  # the same run, its curves continued
    assert again.summary["resumed_from_epoch"] == 2
    assert again.hyperparameters.epochs == 4
    _same_run(straight, again)


def test_a_trial_writes_its_checkpoint_once_and_still_resumes_exactly(
    data, straight, tmp_path, monkeypatch
) -> None:
    from tunelab.training import checkpoint

    writes: list[int] = []
    save = checkpoint.save_atomically

    def counted(content, path) -> None:
        writes.append(content["epoch"])
        save(content, path)

    monkeypatch.setattr(checkpoint, "save_atomically", counted)
    train(data, store=tmp_path, name="trial", epochs=2, checkpoint_every_epoch=False, **KNOBS)
    assert writes == [2]  # only when training ended, not after epoch 1
    _same_run(straight, resume("trial", store=tmp_path, epochs=4))
    assert writes == [2, 3, 4]  # a resumed run checkpoints every epoch again


def test_a_trial_told_to_stop_checkpoints_the_epoch_it_stopped_at(data, tmp_path) -> None:
    class PruneAfterOne(Callback):
        def on_epoch_end(self, state, record) -> None:
            state.halt("pruned", "pruned")

    run = train(data, store=tmp_path, name="cut", epochs=4, callbacks=[PruneAfterOne()],
                checkpoint_every_epoch=False, **KNOBS)  # fmt: skip
    assert torch.load(run.path / FILENAME, weights_only=False)["epoch"] == 1


class StopAt(Callback):
    """Ctrl-C in the middle of an epoch."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_batch_end(self, state, record) -> None:
        if state.epoch == self.epoch and record["batch"] == 2:
            raise KeyboardInterrupt


def test_resume_after_an_interruption_equals_a_straight_run(data, straight, tmp_path) -> None:
    with pytest.raises(KeyboardInterrupt):
        train(data, store=tmp_path, name="cut", epochs=4, callbacks=[StopAt(3)], **KNOBS)
    cut = RunStore(tmp_path).get("cut")
    assert cut.status == "interrupted"
    assert len(cut.epochs) == 2
    _same_run(straight, resume(cut, store=tmp_path))  # the planned 4 epochs by default


def test_resume_of_a_killed_run_needs_only_config_and_checkpoint(data, straight, tmp_path) -> None:
    # A process killed after epoch 2 leaves config.yaml and checkpoint.pt, nothing else.
    with pytest.raises(KeyboardInterrupt):
        train(data, store=tmp_path, name="killed", epochs=4, callbacks=[StopAt(3)], **KNOBS)
    folder = tmp_path / "killed"
    for path in folder.iterdir():
        if path.name not in {"config.yaml", FILENAME}:
            path.unlink()
    _same_run(straight, resume("killed", store=tmp_path))


def test_checkpoint_is_one_weights_only_file(data, tmp_path) -> None:
    run = train(data, store=tmp_path, epochs=2, **KNOBS)
    assert not [p.name for p in run.path.iterdir() if p.name.endswith(".tmp")]
    content = torch.load(run.path / FILENAME, weights_only=True)
    assert content["epoch"] == 2 and content["step"] == 2 * 3
    assert {"model", "optimizer", "schedule", "generator", "torch_rng"} <= set(content)
    assert content["optimizer"]["state"]  # AdamW's moments, not just the settings
    assert content["schedule"]["last_epoch"] == 2


def test_early_stopping_counters_survive_a_resume(data, tmp_path) -> None:
    knobs = {**KNOBS, "early_stopping_patience": 2, "learning_rate": 0.05}
    whole = train(data, store=tmp_path / "a", epochs=8, **knobs)
    train(data, store=tmp_path / "b", name="part", epochs=3, **knobs)
    resumed = resume("part", store=tmp_path / "b", epochs=8)
    assert resumed.summary["epochs_run"] == whole.summary["epochs_run"]
    assert resumed.summary["status"] == whole.summary["status"]
    assert resumed.summary["final_val_loss"] == whole.summary["final_val_loss"]


def test_nothing_left_to_train_says_how_to_go_on(data, tmp_path) -> None:
    train(data, store=tmp_path, name="done", epochs=2, **KNOBS)
    with pytest.raises(
        TunelabError, match="already trained 2 of its 2 planned epochs; give --epochs above 2"
    ):
        resume("done", store=tmp_path)


def test_cosine_run_cannot_be_extended(data, tmp_path) -> None:
    train(data, store=tmp_path, name="cos", epochs=2, **{**KNOBS, "schedule": "cosine"})
    with pytest.raises(TunelabError, match="cosine schedule planned for 2 epochs.*--init-from cos"):
        resume("cos", store=tmp_path, epochs=4)


def test_run_without_checkpoint_or_with_other_data_is_refused(data, tmp_path) -> None:
    run = train(data, store=tmp_path, name="plain", epochs=2, **KNOBS)
    other = make_synthetic_folder(tmp_path / "other", classes=2, per_class=6, size=(8, 8))
    with pytest.raises(TunelabError, match="does not match run 'plain'"):
        resume("plain", store=tmp_path, epochs=3, data=load_dataset(other))
    (run.path / FILENAME).unlink()
    with pytest.raises(TunelabError, match="has no checkpoint to resume from"):
        resume("plain", store=tmp_path, epochs=3)
    (run.path / FILENAME).write_bytes(b"torn")
    with pytest.raises(TunelabError, match="damaged"):
        resume("plain", store=tmp_path, epochs=3)
