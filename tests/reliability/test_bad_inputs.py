"""Reliability: bad inputs through the real CLI.

Each case gives one line on stderr (``error: ...``) naming what was wrong, a non-zero
exit, no traceback, and leaves the run store exactly as it was.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tunelab.cli.main import run as cli_run
from tunelab.data import make_synthetic_folder

BASE_RUN = "base"


# --------------------------------------------------------------------------- fixtures


def _png(path: Path, size: tuple[int, int] = (12, 12), mode: str = "L", seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    shape = (size[1], size[0]) if mode == "L" else (size[1], size[0], 3)
    Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), mode=mode).save(path)
    return path


def _huge_png(path: Path, side: int = 100_000) -> Path:
    """A 1x1 PNG whose IHDR claims ``side`` x ``side`` pixels (CRC fixed up)."""
    _png(path, size=(1, 1))
    data = bytearray(path.read_bytes())
    # signature (8) + length (4) + b"IHDR" (4) -> width at 16, height at 20, CRC at 29
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", side, side)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    return path


def _class_folder(root: Path, classes: dict[str, int], mode: str = "L") -> Path:
    for index, (name, count) in enumerate(classes.items()):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            _png(root / name / f"{i}.png", mode=mode, seed=10 * index + i)
    return root


def _with_bad_file(root: Path, bad_name: str, content: bytes) -> Path:
    _class_folder(root, {"a": 3, "b": 3})
    (root / "a" / bad_name).write_bytes(content)
    return root


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """A run store with one real run, a folder of bad data sets, and the CLI's env set."""
    root = tmp_path_factory.mktemp("reliability")
    store, cache, work = root / "runs", root / "cache", root / "work"
    work.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TUNELAB_RUNS", str(store))
        mp.setenv("TUNELAB_CACHE_DIR", str(cache))
        mp.setenv("COLUMNS", "200")
        mp.chdir(work)
        good = make_synthetic_folder(root / "good", classes=3, per_class=6, seed=1)
        code = cli_run(
            ["train", str(good), "--epochs", "1", "--name", BASE_RUN, "--quiet", "--device", "cpu"]
        )
        assert code == 0
        yield {"root": root, "store": store, "good": Path(good), "bad": _bad_data(root / "bad")}


def _bad_data(bad: Path) -> Path:
    bad.mkdir()
    (bad / "empty").mkdir()
    _class_folder(bad / "one-class", {"only": 4})
    _class_folder(bad / "empty-class", {"a": 3, "b": 3})
    (bad / "empty-class" / "c").mkdir()
    for name in ("a", "b"):
        (bad / "text-only" / name).mkdir(parents=True)
        (bad / "text-only" / name / "notes.txt").write_text("not an image\n")
    valid = _png(bad / "valid.png").read_bytes()
    _with_bad_file(bad / "corrupt", "bad.png", os.urandom(200))
    _with_bad_file(bad / "truncated", "half.png", valid[: len(valid) // 2])
    _with_bad_file(bad / "zero-byte", "zero.png", b"")
    _with_bad_file(bad / "fake-jpeg", "photo.jpg", b"this is text, not a jpeg\n" * 4)
    _class_folder(bad / "huge", {"a": 3, "b": 3})
    _huge_png(bad / "huge" / "a" / "huge.png")
    _class_folder(bad / "mixed-channels", {"a": 3, "b": 3})
    _png(bad / "mixed-channels" / "a" / "rgb.png", mode="RGB")
    _png(bad / "mixed-channels" / "b" / "rgb.png", mode="RGB", seed=5)
    images = _class_folder(bad / "csv-images", {"a": 3, "b": 3})
    rows = [(str(p), p.parent.name) for p in sorted(images.rglob("*.png"))]

    def manifest(name: str, header: str, body: list[tuple[str, str]]) -> None:
        lines = [header] + [f"{p},{label}" for p, label in body]
        (bad / name).write_text("\n".join(lines) + "\n")

    manifest("missing-file.csv", "path,label", [*rows, (str(bad / "nope.png"), "a")])
    # unlabelled rows are images to predict (not errors): a manifest of only those has
    # nothing to train on
    manifest("empty-label.csv", "path,label", [(path, "") for path, _ in rows])
    manifest("no-label-header.csv", "path,class_name", rows)
    manifest("only-header.csv", "path,label", [])
    (bad / "no-columns.csv").write_text("")
    # config and search-space files
    (bad / "malformed.yaml").write_text("learning_rate: [0.01\noptimizer: adam\n")
    (bad / "malformed.json").write_text('{"learning_rate": 0.01,, }')
    (bad / "unknown-key.yaml").write_text("learning_rate: 0.01\ncolour: blue\n")
    (bad / "unknown-key.json").write_text(json.dumps({"optimiser": "adam"}))
    (bad / "list.yaml").write_text("- 1\n- 2\n")
    (bad / "bad-value.json").write_text(json.dumps({"epochs": -3}))
    (bad / "bad-bool.json").write_text(json.dumps({"nesterov": "maybe"}))
    (bad / "bad-type.yaml").write_text("batch_size: lots\n")
    (bad / "knobs.toml").write_text("learning_rate = 0.01\n")
    (bad / "space-malformed.yaml").write_text("learning_rate: {low: 1e-4, high: [\n")
    (bad / "space-unknown.yaml").write_text("learnig_rate: {low: 0.0001, high: 0.1}\n")
    return bad


def _snapshot(store: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(store)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(store.rglob("*"))
        if p.is_file()
    }


def _run_folders(store: Path) -> set[str]:
    return {p.name for p in store.iterdir() if p.is_dir() and p.name != "studies"}


@pytest.fixture(scope="module")
def snapshot(env: dict[str, Path]) -> dict[str, tuple[bytes, int]]:
    snap = _snapshot(env["store"])
    assert any(name.startswith(f"{BASE_RUN}/") for name in snap)
    return snap


# --------------------------------------------------------------------------- the table

# Placeholders in args: {bad} -> the bad-data folder, {good} -> a valid image folder,
# {root} -> the fixture root, {run} -> the real run's name.
ONE = ["--trials", "1", "--epochs", "1"]  # keeps a tune that wrongly starts short
CASES: list[tuple[str, list[str], str]] = [
    # -- hyperparameter values: every knob, wrong type / out of range / unknown choice
    ("model-unknown", ["train", "{good}", "--model", "vgg"], "'vgg'"),
    ("model-typo", ["train", "{good}", "--model", "resnt"], 'Did you mean "resnet"'),
    ("activation-unknown", ["train", "{good}", "--activation", "swish"], "activation"),
    ("dropout-range", ["train", "{good}", "--dropout", "1.5"], "dropout"),
    ("dropout-type", ["train", "{good}", "--dropout", "half"], "'half'"),
    ("input-height-range", ["train", "{good}", "--input-height", "0"], "input_height"),
    ("input-width-type", ["train", "{good}", "--input-width", "wide"], "input_width"),
    ("optimizer-typo", ["train", "{good}", "--optimizer", "adma"], 'Did you mean "adam"'),
    ("learning-rate-neg", ["train", "{good}", "--learning-rate", "-0.01"], "learning_rate"),
    ("learning-rate-type", ["train", "{good}", "--learning-rate", "fast"], "'fast'"),
    ("learning-rate-nan", ["train", "{good}", "--learning-rate", "nan"], "learning_rate"),
    ("learning-rate-huge", ["train", "{good}", "--learning-rate", "1e6"], "learning_rate"),
    ("momentum-range", ["train", "{good}", "--momentum", "1.5"], "momentum"),
    ("nesterov-value", ["train", "{good}", "--nesterov", "yes"], "yes"),
    ("beta1-range", ["train", "{good}", "--beta1", "1"], "beta1"),
    ("beta2-type", ["train", "{good}", "--beta2", "high"], "beta2"),
    ("weight-decay-neg", ["train", "{good}", "--weight-decay", "-1"], "weight_decay"),
    ("gradient-clip-neg", ["train", "{good}", "--gradient-clip", "-5"], "gradient_clip"),
    ("loss-typo", ["train", "{good}", "--loss", "crossentropy"], 'Did you mean "cross-entropy"'),
    ("label-smoothing-range", ["train", "{good}", "--label-smoothing", "2"], "label_smoothing"),
    ("focal-gamma-neg", ["train", "{good}", "--focal-gamma", "-1"], "focal_gamma"),
    ("batch-size-zero", ["train", "{good}", "--batch-size", "0"], "batch_size"),
    ("batch-size-float", ["train", "{good}", "--batch-size", "3.5"], "batch_size"),
    ("epochs-neg", ["train", "{good}", "--epochs", "-1"], "epochs"),
    ("epochs-type", ["train", "{good}", "--epochs", "ten"], "'ten'"),
    ("val-fraction-one", ["train", "{good}", "--validation-fraction", "1"], "validation_fraction"),
    ("schedule-unknown", ["train", "{good}", "--schedule", "linear"], "schedule"),
    ("schedule-step-zero", ["train", "{good}", "--schedule-step-epochs", "0"], "schedule_step"),
    ("schedule-gamma-range", ["train", "{good}", "--schedule-gamma", "0"], "schedule_gamma"),
    ("plateau-patience-neg", ["train", "{good}", "--plateau-patience", "-2"], "plateau_patience"),
    ("early-stop-neg", ["train", "{good}", "--early-stopping-patience", "-1"], "early_stopping"),
    ("restore-best-value", ["train", "{good}", "--restore-best-weights", "maybe"], "maybe"),
    ("augment-unknown", ["train", "{good}", "--augment", "flip,zoom"], "'zoom'"),
    ("seed-type", ["train", "{good}", "--seed", "abc"], "seed"),
    ("precision-unknown", ["train", "{good}", "--precision", "fp8"], "'fp8'"),
    ("device-unknown", ["train", "{good}", "--device", "tpu"], "'tpu'"),
    ("threads-zero", ["train", "{good}", "--threads", "0"], "threads"),
    # -- misspelt knob names (flags and config keys) and other CLI flag mistakes
    ("flag-misspelt", ["train", "{good}", "--learnig-rate", "0.1"], "--learning-rate"),
    ("flag-misspelt-tune", ["tune", "{good}", "--batchsize", "8"], "--batch-size"),
    ("flag-no-value", ["train", "{good}", "--epochs"], "--epochs"),
    ("missing-data-arg", ["train"], "missing DATA"),
    ("unknown-command", ["frobnicate"], "No such command"),
    ("unknown-subcommand", ["runs", "remove", "x"], "No such command"),
    # -- config files (YAML and JSON)
    ("config-missing", ["train", "{good}", "--config", "{bad}/nope.yaml"], "nope.yaml"),
    ("config-malformed-yaml", ["train", "{good}", "--config", "{bad}/malformed.yaml"], "malformed"),
    ("config-malformed-json", ["train", "{good}", "--config", "{bad}/malformed.json"], "malformed"),
    ("config-unknown-yaml", ["train", "{good}", "--config", "{bad}/unknown-key.yaml"], "colour"),
    ("config-unknown-json", ["train", "{good}", "--config", "{bad}/unknown-key.json"], "optimizer"),
    ("config-not-mapping", ["train", "{good}", "--config", "{bad}/list.yaml"], "list.yaml"),
    ("config-bad-value", ["train", "{good}", "--config", "{bad}/bad-value.json"], "epochs"),
    ("config-bad-bool", ["train", "{good}", "--config", "{bad}/bad-bool.json"], "nesterov"),
    ("config-bad-type", ["train", "{good}", "--config", "{bad}/bad-type.yaml"], "batch_size"),
    ("config-wrong-format", ["train", "{good}", "--config", "{bad}/knobs.toml"], "knobs.toml"),
    ("config-is-folder", ["train", "{good}", "--config", "{bad}"], "config file"),
    ("tune-config-malformed", ["tune", "{good}", "--config", "{bad}/malformed.yaml"], "malformed"),
    # -- data sets
    ("data-hint-names-flag", ["train", "{bad}/truncated"], "--skip-bad"),
    ("data-missing", ["train", "{bad}/nope"], "nope"),
    ("data-empty", ["train", "{bad}/empty"], "empty"),
    ("data-one-class", ["train", "{bad}/one-class"], "class"),
    ("data-empty-class", ["train", "{bad}/empty-class"], "/c' has no images"),
    ("data-non-images", ["train", "{bad}/text-only"], "text-only"),
    ("data-corrupt", ["train", "{bad}/corrupt"], "bad.png"),
    ("data-truncated", ["train", "{bad}/truncated"], "half.png"),
    ("data-zero-byte", ["train", "{bad}/zero-byte"], "zero.png"),
    ("data-fake-jpeg", ["train", "{bad}/fake-jpeg"], "photo.jpg"),
    ("data-huge", ["train", "{bad}/huge"], "huge.png"),
    ("data-mixed-channels", ["train", "{bad}/mixed-channels"], "channel"),
    ("csv-missing-file", ["train", "{bad}/missing-file.csv"], "nope.png"),
    ("csv-empty-label", ["train", "{bad}/empty-label.csv"], "label"),
    ("csv-bad-header", ["train", "{bad}/no-label-header.csv"], "label"),
    ("csv-only-header", ["train", "{bad}/only-header.csv"], "only-header.csv"),
    ("csv-empty-file", ["train", "{bad}/no-columns.csv"], "no-columns.csv"),
    ("tune-data-corrupt", ["tune", "{bad}/corrupt", "--trials", "1"], "bad.png"),
    ("evaluate-data-missing", ["evaluate", "{run}", "{bad}/nope"], "nope"),
    ("evaluate-data-corrupt", ["evaluate", "{run}", "{bad}/truncated"], "half.png"),
    ("evaluate-csv-no-label", ["evaluate", "{run}", "{bad}/no-label-header.csv"], "label"),
    ("predict-images-missing", ["predict", "{run}", "{bad}/nope"], "nope"),
    ("predict-zero-byte", ["predict", "{run}", "{bad}/zero-byte/a/zero.png"], "zero.png"),
    ("predict-huge", ["predict", "{run}", "{bad}/huge/a/huge.png"], "huge.png"),
    ("predict-empty-folder", ["predict", "{run}", "{bad}/empty"], "empty"),
    # -- run and study names
    ("show-unknown", ["runs", "show", "nothing-here"], "nothing-here"),
    ("show-traversal", ["runs", "show", "../../etc"], "../../etc"),
    ("show-reserved", ["runs", "show", "a:b*c?"], "a:b*c?"),
    ("compare-one-unknown", ["runs", "compare", "{run}", "ghost"], "ghost"),
    ("delete-one-unknown", ["runs", "delete", "--yes", "{run}", "ghost"], "ghost"),
    ("delete-traversal", ["runs", "delete", "-y", "../runs"], "../runs"),
    ("delete-slash", ["runs", "delete", "-y", "a/b"], "a/b"),
    ("train-name-traversal", ["train", "{good}", "--name", "../escape"], "../escape"),
    ("train-name-reserved", ["train", "{good}", "--name", "bad|name"], "bad|name"),
    ("train-name-existing", ["train", "{good}", "--name", "{run}", "--epochs", "1"], "base"),
    ("evaluate-unknown", ["evaluate", "ghost-run"], "ghost-run"),
    ("export-unknown", ["export", "ghost-run", "--format", "onnx"], "ghost-run"),
    ("predict-unknown", ["predict", "ghost-run", "{good}"], "ghost-run"),
    ("plot-unknown", ["plot", "ghost-run"], "ghost-run"),
    ("plot-one-unknown", ["plot", "{run}", "ghost"], "ghost"),
    ("explain-unknown", ["explain", "colour"], "colour"),
    ("explain-typo", ["explain", "learning_rat"], 'Did you mean "learning_rate"'),
    ("tune-study-traversal", ["tune", "{good}", "--study", "../x", "--trials", "1"], "../x"),
    ("tune-resume-unknown", ["tune", "{good}", "--study", "nope", "--resume"], "nope"),
    # -- other command options
    ("export-format", ["export", "{run}", "--format", "tflite"], "tflite"),
    ("predict-top-k", ["predict", "{run}", "{good}", "--top-k", "0"], "--top-k"),
    ("predict-model-file", ["predict", "{bad}/knobs.toml", "{good}"], "knobs.toml"),
    ("tune-strategy", ["tune", "{good}", "--strategy", "bayes"], "bayes"),
    ("tune-pruner", ["tune", "{good}", "--pruner", "asah"], 'Did you mean "asha"'),
    ("tune-budget", ["tune", "{good}", "--budget", "20x"], "20x"),
    ("tune-trials-zero", ["tune", "{good}", "--trials", "0"], "--trials"),
    ("tune-workers-negative", ["tune", "{good}", "--workers", "-1", "--trials", "1"], "--workers"),
    ("tune-fix-unknown", ["tune", "{good}", "--fix", "colour=blue"], "colour"),
    ("tune-fix-no-equals", ["tune", "{good}", "--fix", "optimizer"], "optimizer"),
    ("tune-fix-bad-value", ["tune", "{good}", "--fix", "optimizer=adma", *ONE], "adma"),
    ("tune-range-inverted", ["tune", "{good}", "--range", "learning_rate=1:0.1"], "learning_rate"),
    ("tune-range-text", ["tune", "{good}", "--range", "learning_rate=abc"], "abc"),
    ("tune-space-missing", ["tune", "{good}", "--space", "{bad}/nope.yaml"], "nope.yaml"),
    ("tune-space-malformed", ["tune", "{good}", "--space", "{bad}/space-malformed.yaml"], "space"),
    ("tune-space-unknown", ["tune", "{good}", "--space", "{bad}/space-unknown.yaml"], "learnig"),
    # -- storage URLs
    ("storage-unknown-scheme", ["tune", "{good}", "--storage", "nosuchdb://x"], "nosuchdb://x"),
    (
        "storage-sqlite-under-a-file",
        ["tune", "{good}", "--storage", "sqlite:///{bad}/valid.png/x.db", *ONE],
        "valid.png",
    ),
    (
        "storage-postgres-closed",
        ["tune", "{good}", "--storage", "postgresql://u:p@127.0.0.1:1/db", "--trials", "1"],
        "127.0.0.1:1",
    ),
    ("storage-is-folder", ["tune", "{good}", "--storage", "{bad}", *ONE], "is a folder"),
]


def _params() -> list[object]:
    params = []
    for case_id, args, expected in CASES:
        params.append(pytest.param(args, expected, id=case_id))
    return params


def _fill(args: list[str], env: dict[str, Path]) -> list[str]:
    values = {"bad": str(env["bad"]), "good": str(env["good"]), "root": str(env["root"])}
    values["run"] = BASE_RUN
    return [arg.format(**values) for arg in args]


def _check(code: int, out: str, err: str, expected: str) -> None:
    assert code != 0, f"exit 0; out={out!r} err={err!r}"
    assert "Traceback" not in out + err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}: {err!r}"
    assert lines[0].startswith("error: "), lines[0]
    assert expected in lines[0], f"{expected!r} not in {lines[0]!r}"


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 70
    assert len({case_id for case_id, _, _ in CASES}) == len(CASES)


@pytest.mark.parametrize(("args", "expected"), _params())
def test_bad_input(
    env: dict[str, Path],
    snapshot: dict[str, tuple[bytes, int]],
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    expected: str,
) -> None:
    capsys.readouterr()
    runs_before = _run_folders(env["store"])
    code = cli_run(_fill(args, env))
    captured = capsys.readouterr()
    try:
        _check(code, captured.out, captured.err, expected)
        new_runs = _run_folders(env["store"]) - runs_before
        assert not new_runs, f"a failed command left run folders: {sorted(new_runs)}"
    finally:
        after = _snapshot(env["store"])
        lost_or_changed = [name for name, value in snapshot.items() if after.get(name) != value]
        assert not lost_or_changed, f"run store changed: {lost_or_changed}"


SUBPROCESS_CASES = [
    pytest.param(["train", "{good}", "--learning-rate", "-1"], "learning_rate", id="proc-knob"),
    pytest.param(["train", "{bad}/truncated"], "half.png", id="proc-truncated"),
    pytest.param(["runs", "show", "../../etc"], "../../etc", id="proc-traversal"),
]


@pytest.mark.parametrize(("args", "expected"), SUBPROCESS_CASES)
def test_bad_input_in_a_real_process(
    env: dict[str, Path], snapshot: dict[str, tuple[bytes, int]], args: list[str], expected: str
) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tunelab", *_fill(args, env)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
        cwd=env["root"],
    )
    _check(proc.returncode, proc.stdout, proc.stderr, expected)
    after = _snapshot(env["store"])
    assert all(after.get(name) == value for name, value in snapshot.items())
