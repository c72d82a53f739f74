"""`tunelab lr-find DATA [knob flags] [--start 1e-7] [--end 10] [--steps 100] [--plot FILE]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from tunelab.cli.console import console, err_console, print_json
from tunelab.cli.knob_flags import cli_knobs, with_knob_flags
from tunelab.knobs import read_config_file


@with_knob_flags
def lr_find_command(
    data: str = typer.Argument(
        ...,
        help="A folder with one sub-folder per class, a CSV manifest (path,label), or "
        "'digits' (built in).",
        show_default=False,
    ),
    start: float = typer.Option(1e-7, "--start", help="Learning rate of the first step."),
    end: float = typer.Option(10.0, "--end", help="Learning rate of the last step."),
    steps: int = typer.Option(100, "--steps", help="Optimizer steps (one batch each)."),
    plot: Path = typer.Option(
        Path("lr-find.png"), "--plot", help="Where to write the PNG (as `sweep --plot`)."
    ),
    out: Path | None = typer.Option(None, "--out", hidden=True),  # the old name of --plot
    config: Path | None = typer.Option(
        None, "--config", help="YAML or JSON file of knobs; flags override it."
    ),
    skip_bad: bool = typer.Option(
        False, "--skip-bad", help="Skip unreadable images (and list them) instead of stopping."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the curve and suggestions as JSON."),
    **knobs: Any,
) -> None:
    """Find a learning rate: the range test (lr grows 1e-7 -> 10), its suggestions and plot.

    The recommended value is 'valley' (fastai's default); `tunelab train
    --learning-rate auto` uses it.
    """
    base = {**(read_config_file(config) if config is not None else {}), **cli_knobs(knobs)}
    if "learning_rate" in base and not as_json:
        err_console.print("[yellow]note:[/] --learning-rate is ignored: the test sweeps it.")
    base.pop("learning_rate", None)
    from tunelab.runs.store import check_output_file
    from tunelab.training.lr_find import check_range, find_lr

    check_range(start, end, steps)
    check_output_file(out if out is not None else plot, "--out" if out else "--plot", "lr-find.png")
    from tunelab.cli.data_notes import show_data_lines
    from tunelab.data import load_dataset
    from tunelab.knobs import Hyperparameters

    hp = Hyperparameters.parse(base)
    dataset = load_dataset(data, input_size=hp.input_size, skip_bad=skip_bad)
    show_data_lines(dataset, hp, quiet=as_json)
    if dataset.skipped and not as_json:
        from tunelab.data.problems import skipped_summary

        where = 'the --json output ("skipped")' if len(dataset.skipped) > 3 else None
        err_console.print(skipped_summary(dataset.skipped, where), markup=False, soft_wrap=True)
    try:
        result = find_lr(dataset, hp, start=start, end=end, steps=steps)
    except KeyboardInterrupt:
        err_console.print("interrupted: nothing was saved.")
        raise typer.Exit(130) from None
    from tunelab.report.lr_find import meaning, plot_lr_find

    path = plot_lr_find(result, out if out is not None else plot)
    if as_json:
        meanings = {name: meaning(name) for name in result.suggestions}
        print_json(
            {
                **result.to_dict(),
                "meanings": meanings,
                "plot": str(path),
                "skipped": [list(item) for item in dataset.skipped],
            }
        )
        return
    ran = len(result.lrs)
    stop = "the loss diverged" if result.diverged else "reached the end"
    console.print(
        f"range test: {ran} steps from {result.start:.2g} to {result.lrs[-1]:.2g} ({stop})"
    )
    for name, lr in result.suggestions.items():
        tag = "  <- recommended" if lr == result.suggested and name == "valley" else ""
        console.print(f"  {name:<8} {lr:<8.2g} {meaning(name)}{tag}")
    console.print(f"suggested learning rate: {result.suggested:.2g}  (--learning-rate auto)")
    console.print(f"plot: {path}")
