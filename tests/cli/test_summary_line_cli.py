"""The train summary line gives the validation accuracy with its interval and image count."""

from __future__ import annotations

from tunelab.data import make_synthetic_folder


def test_train_prints_the_accuracy_with_its_interval_and_image_count(cli, tmp_path) -> None:
    data = make_synthetic_folder(tmp_path / "data", classes=2, per_class=8, size=(8, 8))
    code, out, err = cli("train", str(data), "--epochs", "1", "--threads", "1", "--model",
                         "mlp", "-q")  # fmt: skip
    assert code == 0, err
    line = next(line for line in out.splitlines() if line.startswith("validation accuracy"))
    assert "(95% " in line and "n=4)" in line


def test_small_numbers_keep_their_figures() -> None:
    from tunelab.cli.console import fmt, fmt_knob

    assert fmt(1e-05) == "1e-05" and fmt(0.94) == "0.9400" and fmt(0.897, 1) == "0.9"
    assert fmt_knob(1e-05) == "1e-05" and fmt_knob(0.003) == "0.003" and fmt_knob(0.0) == "0"
