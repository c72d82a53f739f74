"""Bad command lines: one line, a non-zero exit, no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["train", "digits", "--learning-rate", "-0.01"], "invalid learning_rate: got -0.01"),
        (["train", "digits", "--learning-rate", "fast"], "invalid learning_rate: got 'fast'"),
        (["train", "digits", "--batch-size", "0"], "invalid batch_size: got 0"),
        (["train", "digits", "--optimizer", "adma"], 'Did you mean "adam"'),
        (["train", "digits", "--loss", "crossentropy"], 'Did you mean "cross-entropy"'),
        (["train", "digits", "--activation", "swish"], "allowed: relu, leaky-relu"),
        (["train", "digits", "--model", "vgg"], "invalid model: got 'vgg'"),
        (["train", "digits", "--validation-fraction", "1"], "validation_fraction"),
        (["train", "digits", "--augment", "flip,zoom"], "invalid augment: got 'zoom'"),
        (["train", "digits", "--learnig-rate", "0.1"], "--learning-rate"),
        (["train", "digits", "--config", "missing.yaml"], "config file not found"),
        (["train"], "missing DATA"),
        (["runs", "show", "nothing-here"], "no run named 'nothing-here'"),
        (["runs", "show", "../../etc"], "invalid run name"),
        (["runs", "delete", "-y", "a/b"], "invalid run name"),
        (["frobnicate"], "No such command"),
        (["import-piximi", "missing.zip", "out"], "Piximi project 'missing.zip' does not exist"),
    ],
)
def test_bad_command_lines(cli, args: list[str], expected: str) -> None:
    code, out, err = cli(*args)
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert expected in lines[0]
    assert "Traceback" not in err + out


def test_bad_config_values_from_file(cli, tmp_path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("optimiser: adam\n")
    code, _, err = cli("train", "digits", "--config", str(config))
    assert code == 1
    assert 'Did you mean "optimizer"' in err


def test_help_is_fast_and_does_not_import_torch() -> None:
    script = (
        "import sys; from tunelab.cli.main import run; code = run(['--help']); "
        "print('torch' in sys.modules, 'optuna' in sys.modules, 'matplotlib' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "False False False"


def test_train_help_lists_every_knob(cli) -> None:
    from tunelab.knobs import Hyperparameters

    code, out, _ = cli("train", "--help")
    assert code == 0
    for field in Hyperparameters.model_fields:
        assert "--" + field.replace("_", "-") in out
