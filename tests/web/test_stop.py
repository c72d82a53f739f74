"""The web app's stop reaches a training run at once, not when the next group of batch
records is read back (every 16 batches)."""

from __future__ import annotations

import torch
from tests.training.test_loop import Recorder, run_fit

from tunelab.web.jobs import Job
from tunelab.web.tasks import STOPPED_REASON, Stream


def test_a_stop_asked_during_a_batch_ends_the_run_after_that_batch() -> None:
    job = Job("train", "t", {})
    calls = []

    def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        calls.append(1)
        if len(calls) == 3:  # the user presses stop while batch 3 trains
            job.request_stop()
        return x

    recorder = Recorder()
    state = run_fit(
        epochs=2, batch_size=2, callbacks=[Stream(job), recorder], read_every=16, augment=augment
    )
    assert len(calls) == 3  # not 16: no batch trained after the one the stop came in
    assert state.status == "interrupted" and state.reason == STOPPED_REASON
    assert [r["batch"] for r in recorder.batches] == [1, 2, 3]  # each trained batch recorded
    assert len(state.history) == 1  # the epoch it stopped in is validated and kept


def test_a_stop_asked_before_the_run_starts_stops_it_after_its_first_batch() -> None:
    job = Job("train", "t", {})
    job.request_stop()
    calls = []
    state = run_fit(callbacks=[Stream(job)], augment=lambda x, g: calls.append(1) or x)
    assert len(calls) == 1  # one batch, so that the run has an epoch to keep
    assert state.status == "interrupted" and len(state.history) == 1
