"""The LCBench surrogate (YAHPO Gym): learning curves of MLPs on 34 OpenML tasks.

For a configuration and a task it predicts, per epoch 1..52, the validation accuracy and
the *cumulative* training time in seconds, so a tuner can be run in simulated time.

Uses ``yahpo_gym`` when it imports (``pip install yahpo-gym``; its ``numpy<2`` and
``ConfigSpace<=0.6.1`` pins clash with numpy 2, where it fails on import). Otherwise it
runs the same ONNX model with ``onnxruntime`` directly, feeding it exactly what
``yahpo_gym.BenchmarkSet.objective_function`` feeds it for scenario ``lcbench``: the
continuous inputs in the order of ``yahpo_gym/benchmarks/lcbench.py`` as float32 and the
task id integer-encoded through ``encoding.json``. Both paths give the same numbers.

Data: the folder with ``model.onnx``, ``encoding.json`` and ``config_space.json``
(default ``/work/shared/benchmarks/yahpo-lcbench``, or ``$TUNELAB_LCBENCH``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_DATA = Path(os.environ.get("TUNELAB_LCBENCH", "/work/shared/benchmarks/yahpo-lcbench"))
EPOCHS = 52
# yahpo_gym/benchmarks/lcbench.py: cont_names, y_names.
CONT_NAMES = (
    "epoch",
    "batch_size",
    "learning_rate",
    "momentum",
    "weight_decay",
    "num_layers",
    "max_units",
    "max_dropout",
)
Y_NAMES = (
    "time",
    "val_accuracy",
    "val_cross_entropy",
    "val_balanced_accuracy",
    "test_cross_entropy",
    "test_balanced_accuracy",
)
INT_PARAMS = ("batch_size", "num_layers", "max_units")


class LCBench:
    """``curve(task, config) -> (val_accuracy[52], cumulative_time[52])``, cached."""

    def __init__(self, data: Path = DEFAULT_DATA, backend: str = "auto") -> None:
        if not (data / "model.onnx").is_file():
            raise FileNotFoundError(f"no LCBench surrogate in {data} (model.onnx missing)")
        self.data = data
        self.config_space = json.loads((data / "config_space.json").read_text())
        self.backend = self._open(backend)
        self._cache: dict[tuple[Any, ...], tuple[np.ndarray, np.ndarray]] = {}

    @property
    def tasks(self) -> list[str]:
        return list(self.hyperparameter("OpenML_task_id")["choices"])

    def hyperparameter(self, name: str) -> dict[str, Any]:
        return next(h for h in self.config_space["hyperparameters"] if h["name"] == name)

    def _open(self, backend: str) -> str:
        if backend in ("auto", "yahpo"):
            try:
                self._open_yahpo()
                return "yahpo_gym"
            except Exception as exc:  # ImportError, or numpy-2 binary mismatch (ValueError)
                if backend == "yahpo":
                    raise
                self.fallback_reason = f"{type(exc).__name__}: {exc}"
        import onnxruntime as rt

        options = rt.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = rt.InferenceSession(
            str(self.data / "model.onnx"), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.encoding = json.loads((self.data / "encoding.json").read_text())["OpenML_task_id"]
        return "onnxruntime"

    def _open_yahpo(self) -> None:
        from yahpo_gym import BenchmarkSet, local_config

        # yahpo_gym looks for <data_path>/lcbench/; the shared folder is read-only and
        # named differently, so give it a private copy.
        root = Path(tempfile.mkdtemp(prefix="tunelab-yahpo-"))
        shutil.copytree(self.data, root / "lcbench")
        local_config.init_config()
        local_config.set_data_path(str(root))
        self.yahpo = BenchmarkSet("lcbench", active_session=True, multithread=False)

    def curve(self, task: str, config: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        key = (task, *sorted(config.items()))
        if key not in self._cache:
            rows = [self._row(config, epoch) for epoch in range(1, EPOCHS + 1)]
            if self.backend == "yahpo_gym":
                self.yahpo.set_instance(task)
                configs = [
                    {**config, "OpenML_task_id": task, "epoch": e} for e in range(1, EPOCHS + 1)
                ]
                out = self.yahpo.objective_function(configs)
                y = np.array([[o[name] for name in Y_NAMES] for o in out], dtype=np.float64)
            else:
                x_cont = np.array(rows, dtype=np.float32)
                x_cat = np.full((EPOCHS, 1), self.encoding[task], dtype=np.int32)
                names = [i.name for i in self.session.get_inputs()]
                y = self.session.run(None, {names[0]: x_cat, names[1]: x_cont})[0]
            accuracy = np.asarray(y[:, Y_NAMES.index("val_accuracy")], dtype=np.float64)
            seconds = np.maximum.accumulate(np.maximum(y[:, Y_NAMES.index("time")], 0.0))
            self._cache[key] = (accuracy, np.asarray(seconds, dtype=np.float64))
        return self._cache[key]

    @staticmethod
    def _row(config: dict[str, Any], epoch: int) -> list[float]:
        return [float(epoch if name == "epoch" else config[name]) for name in CONT_NAMES]

    def curves(self, task: str, configs: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """``curve`` for many configs in batches (uncached): arrays of shape (n, 52)."""
        if self.backend == "yahpo_gym":
            pairs = [self.curve(task, c) for c in configs]
            self._cache.clear()
            return np.array([a for a, _ in pairs]), np.array([t for _, t in pairs])
        accuracy, seconds = [], []
        names = [i.name for i in self.session.get_inputs()]
        for start in range(0, len(configs), 100):
            chunk = configs[start : start + 100]
            x_cont = np.array(
                [self._row(c, e) for c in chunk for e in range(1, EPOCHS + 1)], dtype=np.float32
            )
            x_cat = np.full((len(x_cont), 1), self.encoding[task], dtype=np.int32)
            y = self.session.run(None, {names[0]: x_cat, names[1]: x_cont})[0]
            y = y.reshape(len(chunk), EPOCHS, len(Y_NAMES)).astype(np.float64)
            accuracy.append(y[:, :, Y_NAMES.index("val_accuracy")])
            time = np.maximum(y[:, :, Y_NAMES.index("time")], 0.0)
            seconds.append(np.maximum.accumulate(time, axis=1))
        return np.concatenate(accuracy), np.concatenate(seconds)

    def default_config(self) -> dict[str, Any]:
        """The config space's defaults (the centre of each range)."""
        return {
            h["name"]: h["default"]
            for h in self.config_space["hyperparameters"]
            if h["name"] not in ("OpenML_task_id", "epoch")
        }


def random_configs(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` configurations drawn uniformly (log-uniformly where the space says log)."""
    rng = np.random.default_rng(seed)

    def draw(low: float, high: float, log: bool) -> float:
        if log:
            return float(np.exp(rng.uniform(np.log(low), np.log(high))))
        return float(rng.uniform(low, high))

    configs = []
    for _ in range(n):
        configs.append(
            {
                "batch_size": int(round(draw(16, 512, True))),
                "learning_rate": draw(1e-4, 1e-1, True),
                "max_dropout": draw(0.0, 1.0, False),
                "max_units": int(round(draw(64, 1024, True))),
                "momentum": draw(0.1, 0.99, False),
                "num_layers": int(rng.integers(1, 6)),
                "weight_decay": draw(1e-5, 0.1, False),
            }
        )
    return configs


#: The reference: this many random configurations per task, trained fully, drawn with this seed.
REFERENCE_SIZE, REFERENCE_SEED = 3000, 20260101
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tunelab-bench"


def reference(bench: LCBench, task: str) -> dict[str, float]:
    """``{"R", "best", "median"}`` of the task's reference (cached on disk).

    R is the median cost of one full 52-epoch run; best and median are the final
    validation accuracies of the reference's configurations.
    """
    path = CACHE / f"lcbench-reference-{REFERENCE_SIZE}-{REFERENCE_SEED}-{task}.json"
    if path.is_file():
        return dict(json.loads(path.read_text()))
    accuracy, seconds = bench.curves(task, random_configs(REFERENCE_SIZE, REFERENCE_SEED))
    final = accuracy[:, -1]
    out = {
        "R": float(np.median(seconds[:, -1])),
        "best": float(final.max()),
        "median": float(np.median(final)),
    }
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(out))
    tmp.replace(path)
    return out
