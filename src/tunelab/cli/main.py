"""The `tunelab` app. Commands import their heavy libraries when they run, not here."""

from __future__ import annotations

import os
import sys

import typer

try:  # typer >= 0.25 ships its own copy of click
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - older typer on top of click
    from click import exceptions as click_errors  # type: ignore[no-redef]

from tunelab.cli import runs
from tunelab.cli.evaluate import evaluate_command
from tunelab.cli.explain import explain_command
from tunelab.cli.export import export_command
from tunelab.cli.import_piximi import import_piximi_command
from tunelab.cli.lr_find import lr_find_command
from tunelab.cli.plot import plot_command
from tunelab.cli.predict import predict_command
from tunelab.cli.serve import serve_command
from tunelab.cli.sweep import sweep_command
from tunelab.cli.train import train_command
from tunelab.cli.tune import tune_command
from tunelab.cli.tune_report import tune_report_command
from tunelab.cli.worker import worker_command
from tunelab.errors import TunelabError

app = typer.Typer(
    name="tunelab",
    help="Train image classifiers and understand, explore and tune their hyperparameters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("train")(train_command)
app.command("tune")(tune_command)
app.command("tune-report")(tune_report_command)
app.command("sweep")(sweep_command)
app.command("lr-find")(lr_find_command)
app.command("evaluate")(evaluate_command)
app.command("predict")(predict_command)
app.command("export")(export_command)
app.command("import-piximi")(import_piximi_command)
app.command("plot")(plot_command)
app.command("explain")(explain_command)
app.command("serve")(serve_command)
app.command("worker")(worker_command)
app.add_typer(runs.app, name="runs")


def run(argv: list[str] | None = None) -> int:
    """Entry point: a one-line message and a non-zero exit for every user error."""
    import warnings

    from tunelab.errors import keep_interrupts

    keep_interrupts()
    # The commands print the run's own warnings as lines; Python's copy would say it twice.
    warnings.filterwarnings("ignore", message=r"batch_size \d+ is larger than the training set")
    try:
        code = app(args=argv, prog_name="tunelab", standalone_mode=False)
    except typer.Exit as stop:
        return stop.exit_code
    except typer.Abort:
        typer.echo("error: aborted.", err=True)
        return 1
    except click_errors.NoArgsIsHelpError as err:
        typer.echo(err.format_message(), err=True)
        return 2
    except click_errors.UsageError as err:
        hint = f" See `{err.ctx.command_path} --help`." if err.ctx else ""
        typer.echo(f"error: {err.format_message()}{hint}", err=True)
        return 2
    except TunelabError as err:
        typer.echo(f"error: {one_line(str(err))}", err=True)
        return 1
    except KeyboardInterrupt:
        typer.echo("interrupted.", err=True)
        return 130
    except OSError as err:  # a full disk, a permission, a file that vanished
        where = f" ({err.filename!r})" if err.filename else ""
        typer.echo(
            f"error: {err.strerror or one_line(str(err))}{where}. Check that the path exists "
            "and is writable, and that the disk has free space.",
            err=True,
        )
        return 1
    except Exception as err:  # a bug: still one line (TUNELAB_DEBUG=1 shows the traceback)
        if os.environ.get("TUNELAB_DEBUG"):
            raise
        said: BaseException = err
        if type(err).__name__ == "StorageInternalError" and err.__cause__ is not None:
            said = err.__cause__  # Optuna's wrapper of the database's own answer
        if type(said).__module__.startswith("sqlalchemy"):  # the study database said no
            cause = one_line(str(getattr(said, "orig", None) or said), 300)
            typer.echo(
                f"error: the study storage refused the operation ({cause}). Check that the "
                "database file and its folder are writable (or the server reachable), or "
                "give another --storage.",
                err=True,
            )
            return 1
        typer.echo(
            f"error: unexpected {type(err).__name__}: {one_line(str(err))}. This is a bug in "
            "tunelab; rerun with TUNELAB_DEBUG=1 for the traceback and report it.",
            err=True,
        )
        return 1
    return code if isinstance(code, int) else 0


def one_line(text: str, limit: int = 1000) -> str:
    """``text`` on one line, cut to ``limit`` characters (messages may quote user input)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
