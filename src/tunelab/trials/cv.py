"""k-fold cross-validation for tuning on small data sets (``tunelab tune --cv K``).

With a few hundred images the validation set of a single split is small, and which
trial wins is partly luck. With ``--cv K`` each trial trains K models on stratified
folds (scikit-learn's ``StratifiedKFold``, shuffled with the base seed, so every trial
sees the same folds) and its value is the mean validation accuracy over the folds.

How pruning stays correct: the folds are trained *epoch-interleaved*. Each fold is an
ordinary :func:`tunelab.training.trainer.train` call (an ordinary run,
``<study>-trial-<n>-fold-<k>``) in its own thread, but only one thread computes at a
time: the calling thread hands a turn to fold 1, which trains one epoch and hands it
back, then fold 2, and so on. Once every fold has finished epoch ``e``, the caller reports
the *mean over folds at epoch e* as the trial's value at step ``e``. So step ``e`` means
the same thing in every trial (K folds, ``e`` epochs each), the pruner compares like with
like, and a pruned trial stops all its folds at once, saving the same share of work as a
single split would. Reporting each fold's epochs in turn instead (step = fold x epochs +
epoch) would compare one fold's early epochs against the mean, and reporting only after
all folds finish would prune nothing. Taking turns also keeps the folds off each other's
cores and torch's global random state, so a trial is as repeatable as a single run.

The trial's value is the best mean over epochs (one epoch count for all folds, which is
what :mod:`tunelab.trials.retrain` trains for), not the mean of each fold's own best,
which would be biased upwards. A fold that stops early (early stopping) counts with its
last value in the later epochs' means; a fold that diverges makes the trial diverge.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from tunelab.errors import TunelabError


def check_folds(folds: Any, labels: Sequence[int] | np.ndarray) -> int:
    """``folds`` if it is a whole number from 2 to the smallest class's image count."""
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    smallest = int(np.unique(y, return_counts=True)[1].min()) if len(y) else 0
    if (
        isinstance(folds, bool)
        or not isinstance(folds, (int, np.integer))
        or folds < 2
        or folds > smallest
    ):
        if smallest < 2:
            raise TunelabError(
                f"invalid cv {folds!r}: cross-validation needs at least 2 images in every "
                f"class, and the smallest class has {smallest}. Add images, or tune "
                f"without --cv."
            )
        raise TunelabError(
            f"invalid cv {folds!r}: the number of folds must be from 2 to {smallest} (the "
            f"smallest class's image count, so every fold validates every class). Try "
            f"--cv {min(5, smallest)}."
        )
    return int(folds)


def fold_splits(
    labels: Sequence[int] | np.ndarray, folds: int, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified ``(train_idx, val_idx)`` pairs, one per fold; each image validates once.

    >>> [len(v) for _, v in fold_splits([0, 0, 0, 1, 1, 1], 3)]
    [2, 2, 2]
    """
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    check_folds(folds, y)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=int(seed) % 2**32)
    return [
        (np.sort(train).astype(np.int64), np.sort(val).astype(np.int64))
        for train, val in splitter.split(np.zeros(len(y)), y)
    ]


class FoldTurns:
    """Lets K fold threads train one epoch each in turn, driven by the calling thread.

    A fold thread calls :meth:`wait_first_turn` before training and :meth:`epoch_end`
    after each epoch (which hands the turn back and waits for the next), and
    :meth:`finish` when its training returns. The driver calls :meth:`give_turn` for
    each live fold, then reads :meth:`ready_means`. Setting :attr:`stop` makes every fold
    halt at its next epoch end.
    """

    def __init__(self, folds: int) -> None:
        self._cond = threading.Condition()
        self._turn: int | None = None  # the fold allowed to run; None: the driver's turn
        self.done = [False] * folds
        self.values: list[dict[int, float]] = [{} for _ in range(folds)]
        self.errors: list[BaseException | None] = [None] * folds
        self.stop: BaseException | None = None
        self.reported = 0  # the last epoch whose mean was handed out

    # --- fold side
    def wait_first_turn(self, fold: int) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._turn == fold)

    def epoch_end(self, fold: int, epoch: int, value: float, ending: bool) -> bool:
        """Record a fold's epoch; wait for its next turn unless it is ending. True: halt."""
        with self._cond:
            self.values[fold][epoch] = value
            if not ending:  # an ending fold keeps the turn until finish()
                self._turn = None
                self._cond.notify_all()
                self._cond.wait_for(lambda: self._turn == fold)
            return self.stop is not None

    def finish(self, fold: int, error: BaseException | None) -> None:
        with self._cond:
            self.done[fold] = True
            self.errors[fold] = error
            self._turn = None
            self._cond.notify_all()

    # --- driver side
    def give_turn(self, fold: int) -> None:
        """Let ``fold`` run until its next epoch end (or its end); wait for it."""
        with self._cond:
            self._turn = fold
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._turn is None)

    def wait_idle(self) -> None:
        """Wait until no fold holds the turn (after the driver was interrupted mid-turn)."""
        with self._cond:
            self._cond.wait_for(lambda: self._turn is None)

    def live(self) -> list[int]:
        return [fold for fold, done in enumerate(self.done) if not done]

    def ready_means(self) -> list[tuple[int, float]]:
        """``(epoch, mean over folds)`` for each epoch that every fold has now passed."""
        means: list[tuple[int, float]] = []
        while True:
            epoch = self.reported + 1
            values = []
            for fold, seen in enumerate(self.values):
                if epoch in seen:
                    values.append(seen[epoch])
                elif self.done[fold] and seen and max(seen) < epoch:
                    values.append(seen[max(seen)])  # stopped early: its last value holds
                elif not self.done[fold]:
                    return means
            if not values or all(epoch > max(seen, default=0) for seen in self.values):
                return means
            means.append((epoch, float(np.mean(values))))
            self.reported = epoch


def cv_objective(
    params: dict[str, Any],
    reporter: Any,
    *,
    data: str,
    base: dict[str, Any],
    store: str,
    study: str,
    folds: int,
    skip_bad: bool = False,
) -> float:
    """One trial with k-fold cross-validation; see the module docstring for how.

    Reports the mean validation accuracy over folds per epoch and returns its best.
    """
    from tunelab.knobs import Hyperparameters
    from tunelab.search.reporter import Diverged, Pruned
    from tunelab.trials.data import trial_dataset

    hp = Hyperparameters.parse({**base, **params})
    dataset = trial_dataset(data, hp.input_size, skip_bad)
    splits = fold_splits(dataset.labels, folds, hp.seed)  # the base seed: same folds for all
    hp = hp.replace(seed=reporter.seed)
    number = reporter.trial_number if reporter.trial_number is not None else 0
    names = [f"{study}-trial-{number:04d}-fold-{k + 1}" for k in range(folds)]
    reporter.set_user_attr("runs", names)
    reporter.set_user_attr("cv_folds", folds)
    reporter.set_user_attr("n_val", int(sum(len(val) for _, val in splits)))
    turns = FoldTurns(folds)
    threads = [
        threading.Thread(
            target=_train_fold,
            args=(turns, k, dataset, hp, store, names[k], splits[k]),
            name=f"tunelab-fold-{k + 1}",
            daemon=True,
        )
        for k in range(folds)
    ]
    for thread in threads:
        thread.start()
    means: dict[int, float] = {}
    try:
        while turns.live():
            for fold in turns.live():
                turns.give_turn(fold)
            failed = next((e for e in turns.errors if e is not None), None)
            if failed is not None and turns.stop is None:
                turns.stop = failed
            for epoch, mean in turns.ready_means():
                if turns.stop is not None:
                    break
                means[epoch] = mean
                try:
                    reporter.report(epoch, mean)
                except (Pruned, Diverged) as stop:
                    turns.stop = stop
    except BaseException as exc:  # Ctrl-C, or the storage failed: wind the folds down
        turns.stop = turns.stop or exc
        turns.wait_idle()  # the fold that was running finishes its epoch first
        while turns.live():  # each fold halts at its next epoch end and saves its run
            for fold in turns.live():
                turns.give_turn(fold)
        raise
    for thread in threads:
        thread.join()
    if turns.stop is not None:
        raise turns.stop
    if not means:
        raise Diverged("no fold finished an epoch")
    best = max(means, key=lambda e: (means[e], -e))
    reporter.set_user_attr("best_epoch", best)
    reporter.set_user_attr("value_epoch", best)
    # the best config's source: one run cannot give a mean over folds; it trains to `best`
    reporter.set_user_attr("knobs", {**hp.model_dump(mode="json"), "epochs": best})
    return means[best]


def _train_fold(
    turns: FoldTurns,
    fold: int,
    dataset: Any,
    hp: Any,
    store: str,
    name: str,
    split: tuple[np.ndarray, np.ndarray],
) -> None:
    from tunelab.search.reporter import Diverged
    from tunelab.training.callbacks import Callback
    from tunelab.training.trainer import train

    class TakeTurns(Callback):
        def on_epoch_end(self, state: Any, record: dict[str, float]) -> None:
            if turns.epoch_end(fold, int(record["epoch"]), record["val_accuracy"], state.stop):
                if not state.stop:
                    stop = turns.stop
                    why = "interrupted" if isinstance(stop, KeyboardInterrupt) else "pruned"
                    state.halt(why, f"stopped with its trial: {stop or 'interrupted'}")

    error: BaseException | None = None
    try:
        turns.wait_first_turn(fold)
        if turns.stop is None:
            run = train(
                dataset,
                hp,
                store=store,
                name=name,
                callbacks=[TakeTurns()],
                split=split,
                checkpoint_every_epoch=False,
            )
            if run.status == "diverged":
                error = Diverged(f"fold {fold + 1}: {run.summary.get('reason') or 'diverged'}")
    except BaseException as exc:  # noqa: BLE001 - handed to the driver, which raises it
        error = exc
    finally:
        turns.finish(fold, error)
