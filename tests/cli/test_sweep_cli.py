"""`tunelab sweep`: the table, winner, plot and JSON; one-line errors; Ctrl-C exits 130."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def tl(cli):
    """The real `tunelab` app (sweep and lr-find are registered in tunelab.cli.main)."""
    return cli


FAST = ("--epochs", "1", "--threads", "1", "--workers", "1")


def test_sweep_prints_table_winner_and_plot(tl, tmp_path) -> None:
    code, out, err = tl("sweep", "digits", "--vary", "learning-rate", "--values", "0.001,0.01",
                        "--name", "lr", *FAST)  # fmt: skip
    assert code == 0, err
    assert "sweep lr: learning_rate" in out
    assert "0.01 *" in out  # the winner's row is marked
    assert "winner: learning_rate = 0.01" in out
    runs = tmp_path / "runs"
    assert f"plot: {runs / 'sweeps' / 'lr.png'}" in out.replace("\n", "")
    assert (runs / "sweeps" / "lr.png").is_file() and (runs / "lr-learning_rate-0.001").is_dir()
    assert err.count("done:") == 2  # a progress line per finished run
    lines = out.splitlines()  # first, what it read: as `train` says it
    assert lines[0] == "input size 8x8 (height x width)." and "validation split:" in lines[1]


def test_a_sweep_of_the_split_does_not_claim_one_split(tl) -> None:
    code, out, err = tl("sweep", "digits", "--vary", "validation-fraction",
                        "--values", "0.2,0.3", *FAST)  # fmt: skip
    assert code == 0, err
    assert out.startswith("input size 8x8") and "validation split:" not in out


def test_sweep_json(tl, tmp_path) -> None:
    code, out, _ = tl("sweep", "digits", "--vary", "optimizer", "--values", "adam,sgd", "--json",
                      "--plot", str(tmp_path / "o.png"), *FAST)  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert [row["value"] for row in data["rows"]] == ["adam", "sgd"]
    assert data["winner"]["value"] in ("adam", "sgd") and data["plot"] == str(tmp_path / "o.png")
    assert (tmp_path / "o.png").is_file()


def test_sweep_ctrl_c_prints_the_partial_table_and_exits_130(tl, monkeypatch) -> None:
    from tunelab.explore import parallel

    real = parallel.run_job

    def run_job(job, *args, **kwargs):
        if job.meta["value"] == 64:
            raise KeyboardInterrupt
        return real(job, *args, **kwargs)

    monkeypatch.setattr(parallel, "run_job", run_job)
    code, out, err = tl("sweep", "digits", "--vary", "batch_size", "--values", "32,64,128",
                        *FAST)  # fmt: skip
    assert code == 130
    assert "completed" in out and "interrupted" in out and "not-run" in out
    assert "winner: batch_size = 32" in out
    assert "the runs that finished are kept" in err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--vary", "learnig_rate"], 'Did you mean "learning_rate"'),
        (["--vary", "learning_rate", "--values", "0.1,fast"], "invalid learning_rate: got 'fast'"),
        (["--vary", "learning_rate", "--values", "0.1,-1"], "invalid learning_rate: got -1"),
        (["--vary", "optimizer", "--values", "adam,adma"], 'Did you mean "adam"'),
        (["--vary", "epochs", "--values", "2,2"], "given twice"),
        (["--vary", "learning_rate", "--values", "0.1,,0.2"], "empty value"),
        (["--vary", "device"], "no recommended ladder of values for device"),
        (["--vary", "learning_rate", "--workers", "0"], "workers must be an integer >= 1"),
        (["--vary", "learning_rate", "--workers", "two"], "'--workers'"),
        (["--vary", "learning_rate", "--dropout", "2"], "invalid dropout: got 2"),
        (["--vary", "learning_rate", "--name", "a/b"], "invalid sweep name"),
        ([], "Missing option '--vary'"),
    ],
)
def test_bad_sweep_command_lines(tl, tmp_path, args: list[str], expected: str) -> None:
    code, out, err = tl("sweep", "digits", *args)
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and expected in lines[0]
    assert "Traceback" not in out + err
    assert not (tmp_path / "runs").exists()  # nothing ran


def test_the_sweep_table_shows_intervals_and_warns_of_a_winner_within_noise(tl) -> None:
    code, out, err = tl("sweep", "digits", "--vary", "learning-rate", "--values", "0.003,0.0031",
                        "--name", "near", *FAST)  # fmt: skip
    assert code == 0, err
    assert "95% interval" in out and "(n=450)" in out
    assert "within noise" in out  # two nearly equal rates cannot be told apart


def test_sweep_skip_bad_says_in_one_line_what_it_left_out(tl, tmp_path) -> None:
    from tunelab.data import make_synthetic_folder

    data = make_synthetic_folder(tmp_path / "d", classes=2, per_class=6, size=(8, 8))
    (data / "class0" / "broken.png").write_bytes(b"not a png")
    code, out, err = tl("sweep", str(data), "--vary", "optimizer", "--values", "adam,sgd",
                        "--skip-bad", *FAST)  # fmt: skip
    assert code == 0, err
    (line,) = [line for line in err.splitlines() if "skipped" in line]
    assert line.startswith("skipped 1 bad file: broken.png (") and "summary.json" in line
