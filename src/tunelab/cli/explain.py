"""`tunelab explain [KNOB]`: what each hyperparameter does and how to turn it."""

from __future__ import annotations

import typer

from tunelab.cli.console import console, print_json


def explain_command(
    knob: str | None = typer.Argument(
        None,
        help="A hyperparameter, e.g. learning_rate (default: list them all).",
        show_default=False,
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the explanation as JSON."),
) -> None:
    """Explain a hyperparameter: what it does, its range, how to step it, what wrong looks like."""
    from tunelab.explain import explain_all, explain_knob

    if knob is None:
        groups = explain_all()
        if as_json:
            print_json(groups)
            return
        from rich.table import Table

        for group, entries in groups.items():
            table = Table(title=f"{group} knobs", title_justify="left", show_lines=False)
            table.add_column("knob", style="bold", no_wrap=True)
            table.add_column("default")
            table.add_column("what it does")
            table.add_column("typical")
            for entry in entries:
                table.add_row(
                    entry["name"],
                    _default(entry["default"]),
                    entry["help"],
                    str(entry.get("typical", "")),
                )
            console.print(table)
        console.print("`tunelab explain KNOB` says more about one knob.")
        return
    entry = explain_knob(knob)
    if as_json:
        print_json(entry)
        return
    console.print(f"[bold]{entry['name']}[/] ({entry['group']} knob): {entry['help']}")
    console.print(entry["what"])
    lines = [
        ("allowed", entry.get("allowed", "")),
        ("default", _default(entry["default"])),
        ("typical", entry.get("typical", "")),
        ("how to step it", entry["how_to_step"]),
        ("too high looks like", entry["too_high"]),
        ("too low looks like", entry["too_low"]),
        ("flag", f"--{entry['name'].replace('_', '-')} VALUE"),
    ]
    for label, text in lines:
        console.print(f"  [bold]{label}:[/] {text}")


def _default(value: object) -> str:
    if value is None:
        return "unset"
    if isinstance(value, list):
        return ",".join(map(str, value)) or "none"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
