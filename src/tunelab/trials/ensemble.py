"""One model from a study's best trials: greedy ensemble selection on the validation split.

After a tune, the best complete trials that kept their weights (at most ``size`` of them,
best first) are the candidates. Their class probabilities on the validation images that
every trial of the study shared are mixed by greedy forward selection with replacement
(Caruana et al., *Ensemble selection from libraries of models*, ICML 2004): start from the
best trial, then add, one at a time, the candidate (again, if it helps) that lowers the
mixture's validation log-loss most, and stop when none does. A member's weight is how
often it was picked. The log-loss, not the accuracy, decides: on a hundred images
accuracy moves in coarse steps and rewards luck; the log-loss moves with every image.

The result is a run folder like any trained run (``<study>-ensemble``), so ``tunelab
evaluate``, ``predict``, ``export`` (ONNX, TorchScript) and the web app use it as they use
one model. Its validation figures were measured on the images it was chosen on, so they
are optimistic; ``tunelab evaluate <study>-ensemble TEST_DATA`` gives the honest number.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tunelab.errors import TunelabError

if TYPE_CHECKING:
    from tunelab.evaluation.load import LoadedModel
    from tunelab.runs import Run
    from tunelab.search.results import TrialRecord

#: How many of the best trials are candidates unless told otherwise (``--ensemble``).
DEFAULT_SIZE = 5
#: At most this many picks (with replacement) in the greedy selection.
MAX_PICKS = 20


@dataclass
class Choice:
    """What the selection chose: member runs (best trial first), weights, figures."""

    runs: list[str]
    weights: list[float]
    val_accuracy: float
    val_loss: float
    single_accuracy: float  # the best trial's own, on the same images
    single_loss: float
    n_val: int
    candidates: int
    #: The chosen members' loaded models, in ``runs`` order (loaded once, for the writing).
    models: list[LoadedModel] = field(default_factory=list, repr=False)


def check_size(size: Any) -> int:
    """``size`` as a whole number >= 0 (0: no ensemble), or a one-line error."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise TunelabError(
            f"ensemble must be a whole number >= 0 (got {size!r}): how many of the best "
            f"trials the ensemble may combine. Try {DEFAULT_SIZE}; 0 builds none."
        )
    return size


def log_loss(probabilities: np.ndarray, labels: np.ndarray) -> float:
    picked = probabilities[np.arange(len(labels)), labels]
    return float(-np.log(np.clip(picked, 1e-12, None)).mean())


def greedy_counts(probabilities: Sequence[np.ndarray], labels: np.ndarray) -> list[int]:
    """How often each candidate is picked; ``probabilities[0]`` (the best trial) starts."""
    counts = [0] * len(probabilities)
    counts[0] = 1
    total = probabilities[0].astype(np.float64)
    best = log_loss(total, labels)
    for picks in range(1, MAX_PICKS):
        losses = [log_loss((total + p) / (picks + 1), labels) for p in probabilities]
        j = int(np.argmin(losses))
        if not losses[j] < best - 1e-9:
            break
        counts[j] += 1
        total = total + probabilities[j]
        best = losses[j]
    return counts


def candidates(records: Iterable[TrialRecord], root: str | Path, size: int) -> list[Run]:
    """The best ``size`` complete trials that kept weights and share the first's data."""
    from tunelab.runs import Run
    from tunelab.runs.store import check_name
    from tunelab.search.results import ranked
    from tunelab.trials.weights import trial_runs

    chosen: list[Run] = []
    same: tuple[Any, ...] | None = None
    for record in ranked(records):
        names = trial_runs(record)
        if len(names) != 1:  # cross-validated trials: one model per fold, none of them "the"
            continue
        try:
            check_name(names[0])
        except TunelabError:
            continue
        run = Run(Path(root) / names[0])
        info = run.model_info
        if not run.weights_path.is_file() or "val_indices" not in info:
            continue
        key = tuple(
            str(info.get(k)) for k in ("class_names", "input_size", "in_channels", "val_indices")
        )
        if same is not None and key != same:
            continue
        same = key
        chosen.append(run)
        if len(chosen) == size:
            break
    return chosen


def choose(runs: Sequence[Run]) -> Choice:
    """Greedy selection over ``runs`` (best first) on their shared validation images."""
    from tunelab.evaluation.load import load_model, run_validation_data

    loaded = [load_model(run) for run in runs]
    dataset, indices = run_validation_data(runs[0], loaded[0].info)
    images, labels = dataset.tensor(indices), np.asarray(dataset.labels[indices])
    probs = [m.probabilities(images).double().numpy() for m in loaded]
    counts = greedy_counts(probs, labels)
    total = sum(counts)
    mixed: np.ndarray = np.sum([c * p for c, p in zip(counts, probs, strict=True)], 0) / total
    members = [(m, c / total) for m, c in zip(loaded, counts, strict=True) if c]
    return Choice(
        runs=[m.run.name for m, _ in members],
        weights=[w for _, w in members],
        val_accuracy=float((mixed.argmax(1) == labels).mean()),
        val_loss=log_loss(mixed, labels),
        single_accuracy=float((probs[0].argmax(1) == labels).mean()),
        single_loss=log_loss(probs[0], labels),
        n_val=int(len(labels)),
        candidates=len(runs),
        models=[m for m, _ in members],
    )


def write_ensemble(choice: Choice, root: str | Path, name: str) -> Run:
    """The chosen mixture as run ``name`` in ``root`` (replacing an older one whole)."""
    from safetensors.torch import save_file

    from tunelab.evaluation.ensemble import Ensemble
    from tunelab.runs import Run
    from tunelab.runs.hashes import HASHES_FILE
    from tunelab.runs.store import CONFIG_FILE

    loaded = choice.models
    members = [m.run for m in loaded]
    module = Ensemble([m.model for m in loaded], [m.loss for m in loaded], choice.weights)
    first = dict(loaded[0].info)
    specs = [
        {k: v for k, v in m.info.items() if not k.endswith("_indices")}
        | {"run": run.name, "weight": w}
        for m, run, w in zip(loaded, members, choice.weights, strict=True)
    ]
    info = {
        **first,
        "model": "ensemble",
        "loss": "cross-entropy",  # its output is log-probabilities
        "members": specs,
    }
    for key in ("activation", "dropout"):
        info.pop(key, None)
    final = Path(root) / name
    partial = Path(root) / f".{name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        run = Run(partial)
        shutil.copy2(members[0].config_path, partial / CONFIG_FILE)  # the best trial's knobs
        if (members[0].path / HASHES_FILE).is_file():
            shutil.copy2(members[0].path / HASHES_FILE, partial / HASHES_FILE)
        run.write_json("model.json", info)
        state = {k: v.contiguous() for k, v in module.state_dict().items()}
        save_file(state, str(partial / "model.safetensors"))
        run.write_json("summary.json", summary(choice, name, first))
        if final.exists():
            shutil.rmtree(final)
        partial.rename(final)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return Run(final)


def summary(choice: Choice, name: str, info: dict[str, Any]) -> dict[str, Any]:
    return {
        "run": name,
        "status": "completed",
        "kind": "ensemble",
        "data": info.get("data"),
        "classes": info.get("class_names"),
        "members": [
            {"run": run, "weight": round(w, 4)}
            for run, w in zip(choice.runs, choice.weights, strict=True)
        ],
        "candidates": choice.candidates,
        "n_val": choice.n_val,
        "final_val_accuracy": choice.val_accuracy,
        "best_val_accuracy": choice.val_accuracy,  # what run lists show; one "epoch" here
        "final_val_loss": choice.val_loss,
        "best_trial_val_accuracy": choice.single_accuracy,
        "best_trial_val_loss": choice.single_loss,
        "measured_on": (
            f"the {choice.n_val} validation images the members were chosen on "
            "(optimistic: evaluate on images no trial saw for an honest figure)"
        ),
    }


def build_ensemble(
    records: Iterable[TrialRecord], root: str | Path, study: str, size: int = DEFAULT_SIZE
) -> Run | None:
    """Choose and write ``<study>-ensemble`` from the best ``size`` trials; None when
    fewer than two trials kept weights (one trial is already its own best model)."""
    runs = candidates(records, root, check_size(size))
    if len(runs) < 2:
        return None
    return write_ensemble(choose(runs), root, f"{study}-ensemble")


def describe(run: Run) -> str:
    """One line for the user: members, weights, and what the figures were measured on."""
    s = run.summary
    members = ", ".join(f"{m['run']} ({m['weight']:.2f})" for m in s.get("members", []))
    return (
        f"ensemble {run.name}: {members}; validation accuracy "
        f"{s.get('final_val_accuracy', 0):.3f} (the best trial alone "
        f"{s.get('best_trial_val_accuracy', 0):.3f}), log-loss {s.get('final_val_loss', 0):.3f} "
        f"({s.get('best_trial_val_loss', 0):.3f}), on the {s.get('n_val')} validation images "
        "it was chosen on: optimistic. `tunelab evaluate "
        f"{run.name} TEST_DATA` scores it on images no trial saw."
    )
