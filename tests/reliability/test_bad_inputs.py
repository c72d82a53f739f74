"""Reliability: bad inputs through the real CLI.

Each case gives one line on stderr (``error: ...``) naming what was wrong, a non-zero
exit, no traceback, and leaves the run store exactly as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
        _damaged_runs(store, root / "elsewhere")
        yield {"root": root, "store": store, "good": Path(good), "bad": _bad_data(root / "bad")}


def _damaged_runs(store: Path, elsewhere: Path) -> None:
    """Copies of the real run, each damaged one way (as a crash or a hand edit leaves it)."""
    base = store / BASE_RUN
    for name in ("cut-weights", "bad-model-json", "bad-metrics", "no-summary"):
        shutil.copytree(base, store / name)
    weights = store / "cut-weights" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    info = json.loads((store / "bad-model-json" / "model.json").read_text())
    (store / "bad-model-json" / "model.json").write_text(json.dumps({**info, "input_size": "abc"}))
    (store / "bad-metrics" / "metrics_epoch.csv").write_text("epoch,val_loss\n1,abc\n")
    for name in ("model.json", "model.safetensors", "summary.json"):
        (store / "no-summary" / name).unlink()
    shutil.copytree(base, elsewhere)
    os.symlink(elsewhere, store / "linked")


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
    manifest("empty-path.csv", "path,label", [*rows[:-1], ("", "a")])
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
    _more_bad_data(bad, images, rows)
    return bad


def _laughs() -> str:
    """A "billion laughs": 7 levels of 9 aliases each, 9**7 values from a few hundred bytes."""
    lines = ["a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]"]
    for prev, name in zip("abcdef", "bcdefg", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    return "\n".join([*lines, "dropout: *g"]) + "\n"


LAUGHS = _laughs()


def _more_bad_data(bad: Path, images: Path, rows: list[tuple[str, str]]) -> None:
    """Round two (issue 16): links, stacks, manifests and configs that fooled tunelab."""
    import tifffile

    _class_folder(bad / "symlink-loop", {"a": 3, "b": 3})
    os.symlink(bad / "symlink-loop" / "a" / "self.png", bad / "symlink-loop" / "a" / "self.png")
    _class_folder(bad / "broken-link", {"a": 3, "b": 3})
    os.symlink(bad / "nothing-here.png", bad / "broken-link" / "b" / "gone.png")
    for kind, axes in (("z-stack", "ZYX"), ("time-series", "TYX"), ("pages", None)):
        for name in ("a", "b"):
            for i in range(3):
                path = bad / kind / name / f"{i}.tif"
                path.parent.mkdir(parents=True, exist_ok=True)
                stack = np.random.default_rng(i).integers(0, 255, (40, 16, 16), dtype=np.uint8)
                if axes is None:
                    tifffile.imwrite(path, stack)
                else:
                    tifffile.imwrite(path, stack, imagej=True, metadata={"axes": axes})
    _class_folder(bad / "one-per-class", {"a": 1, "b": 1})

    def manifest(name: str, header: str, body: list[tuple[str, str]]) -> None:
        text = "\n".join([header] + [f"{p},{label}" for p, label in body]) + "\n"
        (bad / name).write_text(text)

    manifest("two-labels.csv", "path,label", [*rows, (rows[0][0], "b")])
    manifest("two-label-columns.csv", "path,label,label", [(p, f"{c},{c}") for p, c in rows])
    manifest("two-path-columns.csv", "path,path,label", [(f"{p},{p}", c) for p, c in rows])
    manifest("newline-label.csv", "path,label", [*rows, (rows[1][0], '"a\nb"')])
    manifest("tab-label.csv", "path,label", [*rows, (rows[2][0], "a\tb")])
    manifest("outside-missing.csv", "path,label", [*rows, ("/etc/nope-nothing.png", "a")])
    # config files
    (bad / "laughs.yaml").write_text(LAUGHS)
    (bad / "alias.yaml").write_text("epochs: &e 3\nbatch_size: *e\n")
    (bad / "dup-key.yaml").write_text("epochs: 2\nlearning_rate: 0.1\nepochs: 3\n")
    (bad / "dup-key.json").write_text('{"epochs": 2, "epochs": 3}')
    (bad / "epochs-true.yaml").write_text("epochs: true\n")
    (bad / "batch-false.json").write_text('{"batch_size": false}')
    (bad / "lr-true.yaml").write_text("learning_rate: yes\n")
    (bad / "dropout-true.yaml").write_text("dropout: true\n")
    (bad / "seed-true.yaml").write_text("seed: true\n")
    (bad / "utf16.yaml").write_bytes("epochs: 2\n".encode("utf-16"))
    (bad / "utf16-be.json").write_bytes('{"epochs": 2}'.encode("utf-16-be"))
    (bad / "latin1.yaml").write_bytes("optimizer: adam # caf\xe9\n".encode("latin-1"))
    (bad / "huge.yaml").write_text("# padding\n" * 120_000)
    (bad / "python-tag.yaml").write_text("epochs: !!python/object/apply:os.system ['true']\n")
    (bad / "long-value.yaml").write_text("dropout: " + "[1, " * 200 + "1" + "]" * 200 + "\n")
    (bad / "nested.yaml").write_text("epochs: {value: 3}\n")
    (bad / "space-alias.yaml").write_text(
        "dropout: &r {low: 0.0, high: 0.5}\nlabel_smoothing: *r\n"
    )
    (bad / "space-dup.yaml").write_text(
        "dropout: {low: 0, high: 0.5}\ndropout: {low: 0, high: 1}\n"
    )
    (bad / "space-utf16.yaml").write_bytes("dropout: {low: 0, high: 0.5}\n".encode("utf-16"))
    (bad / "a-file").write_text("not a folder\n")
    (bad / "garbage.onnx").write_bytes(os.urandom(300))
    (bad / "garbage.pt").write_bytes(os.urandom(300))
    (bad / "out-folder").mkdir()


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
    ("csv-empty-path", ["train", "{bad}/empty-path.csv"], "has an empty path"),
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
    # ---- round two (issue 16) ------------------------------------------------------------
    # -- links, stacks and tiny classes in a data folder
    ("data-symlink-loop", ["train", "{bad}/symlink-loop"], "symlink loop"),
    ("tune-data-symlink-loop", ["tune", "{bad}/symlink-loop", *ONE], "symlink loop"),
    ("sweep-data-symlink-loop", ["sweep", "{bad}/symlink-loop", "--vary", "dropout"], "loop"),
    ("data-broken-link", ["train", "{bad}/broken-link"], "broken symlink"),
    ("evaluate-broken-link", ["evaluate", "{run}", "{bad}/broken-link"], "broken symlink"),
    ("lr-find-broken-link", ["lr-find", "{bad}/broken-link"], "broken symlink"),
    ("data-z-stack", ["train", "{bad}/z-stack"], "z-stack of 40 planes"),
    ("data-time-series", ["train", "{bad}/time-series"], "time series of 40 frames"),
    ("data-many-pages", ["train", "{bad}/pages"], "40 pages of 16 x 16 pixels"),
    ("predict-z-stack", ["predict", "{run}", "{bad}/z-stack/a/0.tif"], "z-stack"),
    ("evaluate-z-stack", ["evaluate", "{run}", "{bad}/z-stack"], "z-stack"),
    ("data-one-per-class", ["train", "{bad}/one-per-class", "--epochs", "1"], "only one image"),
    # -- manifests
    ("csv-two-labels", ["train", "{bad}/two-labels.csv"], "under two labels"),
    ("csv-two-label-columns", ["train", "{bad}/two-label-columns.csv"], "2 'label' columns"),
    ("csv-two-path-columns", ["train", "{bad}/two-path-columns.csv"], "2 'path' columns"),
    ("csv-newline-label", ["train", "{bad}/newline-label.csv"], "line break"),
    ("csv-tab-label", ["train", "{bad}/tab-label.csv"], "tab"),
    ("csv-outside-missing", ["train", "{bad}/outside-missing.csv"], "nope-nothing.png"),
    ("evaluate-csv-two-labels", ["evaluate", "{run}", "{bad}/two-labels.csv"], "two labels"),
    ("tune-csv-newline-label", ["tune", "{bad}/newline-label.csv", *ONE], "line break"),
    # -- config and space files
    ("config-billion-laughs", ["train", "{good}", "--config", "{bad}/laughs.yaml"], "alias"),
    ("config-alias", ["train", "{good}", "--config", "{bad}/alias.yaml"], "YAML alias (*e)"),
    ("config-dup-key-yaml", ["train", "{good}", "--config", "{bad}/dup-key.yaml"], "twice"),
    ("config-dup-key-json", ["train", "{good}", "--config", "{bad}/dup-key.json"], "twice"),
    ("config-epochs-true", ["train", "{good}", "--config", "{bad}/epochs-true.yaml"], "got True"),
    ("config-batch-false", ["train", "{good}", "--config", "{bad}/batch-false.json"], "batch_size"),
    ("config-lr-yes", ["train", "{good}", "--config", "{bad}/lr-true.yaml"], "learning_rate"),
    ("config-dropout-true", ["train", "{good}", "--config", "{bad}/dropout-true.yaml"], "dropout"),
    ("config-seed-true", ["train", "{good}", "--config", "{bad}/seed-true.yaml"], "seed"),
    ("config-utf16", ["train", "{good}", "--config", "{bad}/utf16.yaml"], "UTF-16"),
    ("config-utf16-be", ["train", "{good}", "--config", "{bad}/utf16-be.json"], "UTF-16"),
    ("config-latin1", ["train", "{good}", "--config", "{bad}/latin1.yaml"], "not UTF-8"),
    ("config-huge", ["train", "{good}", "--config", "{bad}/huge.yaml"], "at most 1048576"),
    ("config-python-tag", ["train", "{good}", "--config", "{bad}/python-tag.yaml"], "not valid"),
    ("config-long-value", ["train", "{good}", "--config", "{bad}/long-value.yaml"], "..."),
    ("config-nested", ["train", "{good}", "--config", "{bad}/nested.yaml"], "epochs"),
    (
        "sweep-config-laughs",
        ["sweep", "{good}", "--vary", "dropout", "--config", "{bad}/laughs.yaml"],
        "alias",
    ),
    ("lr-find-config-dup", ["lr-find", "{good}", "--config", "{bad}/dup-key.yaml"], "twice"),
    ("tune-config-utf16", ["tune", "{good}", "--config", "{bad}/utf16.yaml"], "UTF-16"),
    ("tune-config-epochs-true", ["tune", "{good}", "--config", "{bad}/epochs-true.yaml"], "True"),
    ("tune-space-alias", ["tune", "{good}", "--space", "{bad}/space-alias.yaml"], "alias"),
    ("tune-space-dup", ["tune", "{good}", "--space", "{bad}/space-dup.yaml"], "twice"),
    ("tune-space-utf16", ["tune", "{good}", "--space", "{bad}/space-utf16.yaml"], "UTF-16"),
    ("tune-space-laughs", ["tune", "{good}", "--space", "{bad}/laughs.yaml"], "alias"),
    # -- storage URLs and run stores
    ("storage-sqlite-empty", ["tune", "{good}", "--storage", "sqlite:///", *ONE], "no database"),
    (
        "storage-sqlite-two-slashes",
        ["tune", "{good}", "--storage", "sqlite://", *ONE],
        "no database",
    ),
    (
        "storage-sqlite-trailing-slash",
        ["tune", "{good}", "--storage", "sqlite:///{bad}/x/", *ONE],
        "no database",
    ),
    (
        "storage-sqlite-url-folder",
        ["tune", "{good}", "--storage", "sqlite:///{bad}", *ONE],
        "is a folder",
    ),
    (
        "sweep-runs-dir-file",
        [
            "sweep",
            "{good}",
            "--vary",
            "dropout",
            "--values",
            "0.1,0.2",
            "--epochs",
            "1",
            "--runs-dir",
            "{bad}/a-file",
        ],
        "is a file",
    ),
    ("list-runs-dir-file", ["runs", "list", "--runs-dir", "{bad}/a-file"], "is a file"),
    (
        "train-runs-dir-file",
        ["train", "{good}", "--epochs", "1", "--runs-dir", "{bad}/a-file"],
        "is a file",
    ),
    ("tune-runs-dir-file", ["tune", "{good}", "--runs-dir", "{bad}/a-file", *ONE], "is a file"),
    # -- damaged runs
    ("show-bad-metrics", ["runs", "show", "bad-metrics"], "not a number"),
    ("plot-bad-metrics", ["plot", "bad-metrics"], "not a number"),
    ("evaluate-cut-weights", ["evaluate", "cut-weights"], "damaged model.safetensors"),
    ("export-cut-weights", ["export", "cut-weights", "--format", "onnx"], "damaged"),
    ("predict-cut-weights", ["predict", "cut-weights", "{good}"], "damaged"),
    ("evaluate-bad-model-json", ["evaluate", "bad-model-json"], "damaged model.json"),
    (
        "export-bad-model-json",
        ["export", "bad-model-json", "--format", "torchscript"],
        "model.json",
    ),
    ("predict-bad-model-json", ["predict", "bad-model-json", "{good}"], "model.json"),
    ("evaluate-unfinished", ["evaluate", "no-summary"], "no usable model.json"),
    ("export-unfinished", ["export", "no-summary", "--format", "onnx"], "no usable model.json"),
    # -- output paths: a folder, under a file, a run's own files
    (
        "predict-out-folder",
        ["predict", "{run}", "{good}", "--out", "{bad}/out-folder"],
        "is a folder",
    ),
    (
        "predict-out-under-file",
        ["predict", "{run}", "{good}", "--out", "{bad}/a-file/p.csv"],
        "is a file",
    ),
    (
        "predict-out-run-file",
        ["predict", "{run}", "{good}", "--out", "{store}/{run}/summary.json"],
        "own files",
    ),
    (
        "export-out-folder",
        ["export", "{run}", "--format", "onnx", "--out", "{bad}/out-folder"],
        "is a folder",
    ),
    (
        "export-out-run-config",
        ["export", "{run}", "-f", "onnx", "--out", "{store}/{run}/config.yaml"],
        "own files",
    ),
    (
        "export-out-run-weights",
        ["export", "{run}", "-f", "onnx", "--out", "{store}/{run}/model.safetensors"],
        "own files",
    ),
    (
        "export-out-under-file",
        ["export", "{run}", "-f", "onnx", "--out", "{bad}/a-file/m.onnx"],
        "is a file",
    ),
    ("evaluate-plot-folder", ["evaluate", "{run}", "--plot", "{bad}/out-folder"], "is a folder"),
    (
        "evaluate-plot-run-file",
        ["evaluate", "{run}", "--plot", "{store}/{run}/model.json"],
        "own files",
    ),
    ("lr-find-out-folder", ["lr-find", "{good}", "--out", "{bad}/out-folder"], "is a folder"),
    ("lr-find-plot-folder", ["lr-find", "{good}", "--plot", "{bad}/out-folder"], "is a folder"),
    (
        "lr-find-out-run-file",
        ["lr-find", "{good}", "--out", "{store}/{run}/metrics_epoch.csv"],
        "own files",
    ),
    ("predict-garbage-onnx", ["predict", "{bad}/garbage.onnx", "{good}"], "not a readable ONNX"),
    ("predict-garbage-pt", ["predict", "{bad}/garbage.pt", "{good}"], "garbage.pt"),
    # -- names: full-match validation, reserved names
    ("train-name-newline", ["train", "{good}", "--name", "x\n"], "invalid run name"),
    ("train-name-latest", ["train", "{good}", "--name", "latest", "--epochs", "1"], "reserved"),
    ("train-name-all", ["train", "{good}", "--name", "all", "--epochs", "1"], "reserved"),
    ("show-name-newline", ["runs", "show", "base\n"], "invalid run name"),
    ("delete-name-newline", ["runs", "delete", "-y", "base\n"], "invalid run name"),
    ("evaluate-name-newline", ["evaluate", "base\n"], "base"),
    ("tune-study-newline", ["tune", "{good}", "--study", "s\n", *ONE], "invalid study name"),
    ("sweep-name-newline", ["sweep", "{good}", "--vary", "dropout", "--name", "s\n"], "name"),
    # -- search spaces and resuming
    ("tune-range-empty", ["tune", "{good}", "--range", "dropout=0.2:0.2"], "range is empty"),
    ("tune-range-empty-int", ["tune", "{good}", "--range", "epochs=3:3"], "range is empty"),
    (
        "tune-range-and-fix",
        ["tune", "{good}", "--range", "dropout=0.1:0.3", "--fix", "dropout=0.2"],
        "--range and --fix",
    ),
    (
        "tune-range-twice",
        ["tune", "{good}", "--range", "dropout=0.1:0.3", "--range", "dropout=0.2:0.4"],
        "twice",
    ),
    (
        "tune-fix-twice",
        ["tune", "{good}", "--fix", "optimizer=adam", "--fix", "optimizer=sgd"],
        "twice",
    ),
    ("tune-resume-no-study", ["tune", "{good}", "--resume"], "--resume needs --study"),
    # -- the web server's command line
    ("serve-host-bad-ip", ["serve", "--host", "999.1.1.1"], "999.1.1.1"),
    ("serve-host-space", ["serve", "--host", "a b"], "'a b'"),
    ("serve-host-empty", ["serve", "--host", ""], "--host"),
    # -- checked before the run folder is created
    ("train-device-cuda", ["train", "{good}", "--device", "cuda", "--epochs", "1"], "cuda"),
    ("train-device-mps", ["train", "{good}", "--device", "mps", "--epochs", "1"], "mps"),
    (
        "train-fp16-cpu",
        ["train", "{good}", "--precision", "fp16", "--device", "cpu", "--epochs", "1"],
        "fp16",
    ),
]

# Knob values refused the same way by every command that takes knob flags.
KNOB_MISTAKES = [
    ("learning-rate", ["--learning-rate", "-1"], "learning_rate"),
    ("dropout", ["--dropout", "1.5"], "dropout"),
    ("batch-size", ["--batch-size", "0"], "batch_size"),
    ("epochs", ["--epochs", "0"], "epochs"),
    ("momentum", ["--momentum", "2"], "momentum"),
    ("beta1", ["--beta1", "1"], "beta1"),
    ("weight-decay", ["--weight-decay", "-1"], "weight_decay"),
    ("label-smoothing", ["--label-smoothing", "2"], "label_smoothing"),
    ("threads", ["--threads", "0"], "threads"),
    ("optimizer", ["--optimizer", "adma"], 'Did you mean "adam"'),
    ("model", ["--model", "vgg"], "'vgg'"),
    ("val-fraction", ["--validation-fraction", "0"], "validation_fraction"),
]
for _command, _extra in (("tune", []), ("sweep", ["--vary", "dropout"]), ("lr-find", [])):
    for _knob, _flags, _expected in KNOB_MISTAKES:
        if _command == "lr-find" and _knob == "learning-rate":
            continue  # the range test ignores --learning-rate (it sweeps it): not an error
        CASES.append((f"{_command}-{_knob}", [_command, "{good}", *_extra, *_flags], _expected))


def _params() -> list[object]:
    params = []
    for case_id, args, expected in CASES:
        params.append(pytest.param(args, expected, id=case_id))
    return params


def _fill(args: list[str], env: dict[str, Path]) -> list[str]:
    values = {"bad": str(env["bad"]), "good": str(env["good"]), "root": str(env["root"])}
    values["store"] = str(env["store"])
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
    assert len(CASES) + len(WEB_CASES) + len(SUBPROCESS_CASES) >= 250
    assert len({case_id for case_id, _, _ in CASES}) == len(CASES)
    assert len({case[0] for case in WEB_CASES}) == len(WEB_CASES)


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


# --------------------------------------------------------------------------- web requests

WEB_TOKEN = "t0ken-for-the-table"
JSON = {"Content-Type": "application/json"}
# (id, app, method, path, headers, body, status, expected): app "open" binds 127.0.0.1
# without a token, "token" needs one (as any other bind does); body bytes are sent raw.
WebCase = tuple[str, str, str, str, dict[str, str], bytes | None, int, str]
WEB_CASES: list[WebCase] = [
    # -- Host header: loopback names only (DNS rebinding)
    ("host-evil", "open", "GET", "/api/runs", {"Host": "evil.example.com"}, None, 421, "evil"),
    (
        "host-evil-port",
        "open",
        "GET",
        "/api/health",
        {"Host": "evil.example.com:8000"},
        None,
        421,
        "evil.example.com",
    ),
    (
        "host-evil-post",
        "open",
        "POST",
        "/api/train",
        {"Host": "rebind.test", **JSON},
        b"{}",
        421,
        "rebind.test",
    ),
    (
        "host-evil-delete",
        "open",
        "DELETE",
        "/api/runs/base",
        {"Host": "attacker.test"},
        None,
        421,
        "attacker",
    ),
    (
        "host-lan-ip",
        "open",
        "GET",
        "/api/runs",
        {"Host": "192.168.1.9:8000"},
        None,
        421,
        "192.168.1.9",
    ),
    ("host-page", "open", "GET", "/", {"Host": "evil.example.com"}, None, 421, "Host header"),
    (
        "host-localhost-suffix",
        "open",
        "GET",
        "/api/runs",
        {"Host": "localhost.evil.com"},
        None,
        421,
        "localhost.evil.com",
    ),
    # -- cross-origin changes and simple content types
    (
        "origin-foreign-post",
        "open",
        "POST",
        "/api/knobs/validate",
        {"Origin": "http://evil.example.com", **JSON},
        b'{"values": {}}',
        403,
        "origin",
    ),
    (
        "origin-null",
        "open",
        "POST",
        "/api/knobs/validate",
        {"Origin": "null", **JSON},
        b'{"values": {}}',
        403,
        "'null'",
    ),
    (
        "origin-other-port",
        "open",
        "POST",
        "/api/knobs/validate",
        {"Origin": "http://127.0.0.1:9999", **JSON},
        b'{"values": {}}',
        403,
        "127.0.0.1:9999",
    ),
    (
        "origin-foreign-delete",
        "open",
        "DELETE",
        "/api/runs/base",
        {"Origin": "https://evil.example.com"},
        None,
        403,
        "evil.example.com",
    ),
    (
        "origin-foreign-stop",
        "open",
        "POST",
        "/api/jobs/x/stop",
        {"Origin": "http://evil.example.com"},
        None,
        403,
        "may not change",
    ),
    (
        "fetch-cross-site",
        "open",
        "POST",
        "/api/knobs/validate",
        {"Sec-Fetch-Site": "cross-site", **JSON},
        b'{"values": {}}',
        403,
        "cross-site",
    ),
    (
        "fetch-same-site",
        "open",
        "DELETE",
        "/api/runs/base",
        {"Sec-Fetch-Site": "same-site"},
        None,
        403,
        "same-site",
    ),
    (
        "text-plain-config",
        "open",
        "POST",
        "/api/config/parse",
        {"Content-Type": "text/plain"},
        b"epochs: 3\n",
        415,
        "text/plain",
    ),
    (
        "form-train",
        "open",
        "POST",
        "/api/train",
        {"Content-Type": "application/x-www-form-urlencoded"},
        b"data=tiny",
        415,
        "x-www-form-urlencoded",
    ),
    (
        "multipart-config",
        "open",
        "POST",
        "/api/config/parse",
        {"Content-Type": "multipart/form-data; boundary=x"},
        b"--x--",
        415,
        "multipart/form-data",
    ),
    ("no-type-body", "open", "POST", "/api/knobs/validate", {}, b'{"values": {}}', 415, "missing"),
    (
        "text-plain-tune",
        "open",
        "POST",
        "/api/tune",
        {"Content-Type": "text/plain;charset=UTF-8"},
        b'{"data": "tiny"}',
        415,
        "text/plain",
    ),
    # -- the token on every bind but 127.0.0.1
    ("token-missing-delete", "token", "DELETE", "/api/runs/base", {}, None, 401, "missing token"),
    (
        "token-missing-train",
        "token",
        "POST",
        "/api/train",
        JSON,
        b'{"data": "tiny"}',
        401,
        "missing token",
    ),
    (
        "token-wrong-delete",
        "token",
        "DELETE",
        "/api/runs/base",
        {"Authorization": "Bearer nope"},
        None,
        403,
        "wrong token",
    ),
    (
        "token-basic",
        "token",
        "GET",
        "/api/runs",
        {"Authorization": "Basic abc"},
        None,
        401,
        "malformed",
    ),
    # -- no 500s
    ("browse-symlink-loop", "open", "GET", "/api/browse?path=loop", {}, None, 400, "symlink loop"),
    (
        "dataset-symlink-loop",
        "open",
        "GET",
        "/api/datasets?path=loop",
        {},
        None,
        400,
        "symlink loop",
    ),
    (
        "train-symlink-loop",
        "open",
        "POST",
        "/api/train",
        JSON,
        b'{"data": "loop"}',
        400,
        "symlink loop",
    ),
    ("study-empty-file", "open", "GET", "/api/studies/empty", {}, None, 409, "holds no study"),
    ("study-not-a-study", "open", "GET", "/api/studies/nostudy", {}, None, 409, "holds no study"),
    (
        "study-best-config-empty",
        "open",
        "GET",
        "/api/studies/empty/best-config",
        {},
        None,
        409,
        "holds no study",
    ),
    # -- manifests cannot probe outside the roots
    (
        "csv-outside-existing",
        "open",
        "GET",
        "/api/datasets?path=passwd.csv",
        {},
        None,
        403,
        "outside the allowed data roots",
    ),
    (
        "csv-outside-missing",
        "open",
        "GET",
        "/api/datasets?path=missing.csv",
        {},
        None,
        403,
        "outside the allowed data roots",
    ),
    (
        "train-csv-outside-existing",
        "open",
        "POST",
        "/api/train",
        JSON,
        b'{"data": "passwd.csv"}',
        403,
        "outside",
    ),
    (
        "train-csv-outside-missing",
        "open",
        "POST",
        "/api/train",
        JSON,
        b'{"data": "missing.csv"}',
        403,
        "outside",
    ),
    # -- /evaluation reads only data inside the roots
    (
        "evaluate-outside-run",
        "open",
        "GET",
        "/api/runs/outside/evaluation",
        {},
        None,
        403,
        "may not read",
    ),
    # -- run names checked up front
    (
        "train-name-latest",
        "open",
        "POST",
        "/api/train",
        JSON,
        b'{"data": "tiny", "name": "latest"}',
        400,
        "reserved",
    ),
    (
        "train-name-all",
        "open",
        "POST",
        "/api/train",
        JSON,
        b'{"data": "tiny", "name": "all"}',
        400,
        "reserved",
    ),
    (
        "train-name-newline",
        "open",
        "POST",
        "/api/train",
        JSON,
        b'{"data": "tiny", "name": "x\\n"}',
        400,
        "invalid run name",
    ),
    ("run-name-newline", "open", "GET", "/api/runs/base%0A", {}, None, 400, "invalid run name"),
    (
        "sweep-name-newline",
        "open",
        "POST",
        "/api/sweep",
        JSON,
        b'{"data": "tiny", "knob": "dropout", "name": "s\\n"}',
        400,
        "name",
    ),
    # -- config files
    (
        "config-laughs",
        "open",
        "POST",
        "/api/config/parse",
        {"Content-Type": "application/yaml"},
        LAUGHS.encode(),
        400,
        "alias",
    ),
    (
        "config-dup-key",
        "open",
        "POST",
        "/api/config/parse",
        {"Content-Type": "application/yaml"},
        b"epochs: 2\nepochs: 3\n",
        400,
        "twice",
    ),
    (
        "config-utf16",
        "open",
        "POST",
        "/api/config/parse",
        {"Content-Type": "application/yaml"},
        "epochs: 2\n".encode("utf-16"),
        400,
        "UTF-16",
    ),
    (
        "config-epochs-true",
        "open",
        "POST",
        "/api/config/parse",
        JSON,
        b'{"epochs": true}',
        400,
        "got True",
    ),
    (
        "config-long-value",
        "open",
        "POST",
        "/api/config/parse",
        JSON,
        b'{"dropout": [' + b"1," * 5000 + b"1]}",
        400,
        "...",
    ),
]


@pytest.fixture(scope="module")
def web(env: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two apps (no token on 127.0.0.1; a token) over a data root full of traps."""
    import sqlite3

    from fastapi.testclient import TestClient

    from tunelab.web.app import create_app

    root = tmp_path_factory.mktemp("web")
    data, store = root / "data", root / "runs"
    make_synthetic_folder(data / "tiny", classes=2, per_class=4, size=(12, 12))
    os.symlink(data / "loop", data / "loop")
    _class_folder(data / "dirloop", {"a": 2, "b": 2})
    os.symlink(data / "dirloop" / "a", data / "dirloop" / "a" / "up")
    _class_folder(data / "broken", {"a": 2, "b": 2})
    os.symlink(data / "nothing.png", data / "broken" / "a" / "gone.png")
    (data / "passwd.csv").write_text("path,label\n/etc/passwd,a\n/etc/hostname,b\n")
    (data / "missing.csv").write_text("path,label\n/etc/nope-1.png,a\n/etc/nope-2.png,b\n")
    (store / "studies").mkdir(parents=True)
    (store / "studies" / "empty.db").write_bytes(b"")
    with sqlite3.connect(store / "studies" / "nostudy.db") as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    for name in (BASE_RUN, "outside"):
        shutil.copytree(env["store"] / BASE_RUN, store / name)
    info = json.loads((store / "outside" / "model.json").read_text())
    (store / "outside" / "model.json").write_text(json.dumps({**info, "data": str(env["good"])}))
    local = "http://127.0.0.1"
    return {
        "store": store,
        "open": TestClient(create_app(data_roots=[data], runs_dir=store), base_url=local),
        "token": TestClient(
            create_app(data_roots=[data], runs_dir=store, token=WEB_TOKEN), base_url=local
        ),
    }


@pytest.mark.parametrize(
    ("app", "method", "path", "headers", "body", "status", "expected"),
    [pytest.param(*case[1:], id=f"web-{case[0]}") for case in WEB_CASES],
)
def test_bad_web_request(
    web: dict[str, Any],
    app: str,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None,
    status: int,
    expected: str,
) -> None:
    before = _snapshot(web["store"])
    response = web[app].request(method, path, headers=headers, content=body)
    assert response.status_code == status, response.text[:300]
    error = response.json()["error"]
    assert "\n" not in error and len(error) < 1200, error
    assert expected in error, f"{expected!r} not in {error!r}"
    assert _snapshot(web["store"]) == before, "a refused request changed the run store"


def test_good_web_requests_still_pass(web: dict[str, Any]) -> None:
    """The guards refuse the cases above, not the app's own pages."""
    client = web["open"]
    assert client.get("/api/runs").status_code == 200
    same_origin = {"Origin": "http://127.0.0.1", "Sec-Fetch-Site": "same-origin", **JSON}
    ok = client.post("/api/knobs/validate", headers=same_origin, content=b'{"values": {}}')
    assert ok.status_code == 200
    parsed = client.post(
        "/api/config/parse", headers={"Content-Type": "application/yaml"}, content=b"epochs: 3\n"
    )
    assert parsed.status_code == 200 and parsed.json()["hyperparameters"]["epochs"] == 3
    for host in ("localhost:8000", "[::1]:8000", "127.0.0.2"):
        assert client.get("/api/runs", headers={"Host": host}).status_code == 200, host
    # A folder that links back into itself is listed once; a broken link is a bad file.
    looped = client.get("/api/datasets?path=dirloop")
    assert looped.status_code == 200 and looped.json()["n_images"] == 4
    broken = client.get("/api/datasets?path=broken").json()
    assert broken["n_images"] == 4
    assert any("broken symlink" in reason for _, reason in broken["bad_files"])
    authorised = {"Authorization": f"Bearer {WEB_TOKEN}"}
    assert web["token"].get("/api/runs", headers=authorised).status_code == 200
