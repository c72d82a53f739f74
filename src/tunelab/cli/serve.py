"""`tunelab serve`: the web app (data sets, train, runs, sweep and tune) in a browser."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import typer

from tunelab.cli.console import RUNS_DIR
from tunelab.errors import TunelabError

LOOPBACK_NAMES = {"localhost"}
TOKENLESS_HOSTS = {"127.0.0.1", "localhost"}  # as `serve --help` says
WILDCARD_HOSTS = {"0.0.0.0", "::", ""}


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_token(host: str, token: str | None) -> tuple[str | None, bool]:
    """``(token, generated)``: any address but 127.0.0.1/localhost needs a token (other
    loopback addresses too: another local user may reach them); make one if none given."""
    if token is not None or host in TOKENLESS_HOSTS:
        return token, False
    from tunelab.web.security import new_token

    return new_token(), True


def check_host(host: str) -> None:
    """A one-line refusal for an address that cannot be bound: not an IP, not a known name."""
    import socket

    try:
        ipaddress.ip_address(host)
        return
    except ValueError:
        pass
    if not host or any(c.isspace() for c in host) or all(c.isdigit() or c == "." for c in host):
        raise TunelabError(
            f"invalid --host {host!r}: not an IP address or host name. Give an address of "
            "this machine, e.g. --host 127.0.0.1 (this machine only) or --host 0.0.0.0 (all)."
        )
    try:
        socket.getaddrinfo(host, None)
    except (OSError, UnicodeError) as err:
        raise TunelabError(
            f"invalid --host {host!r}: the name does not resolve ({err}). Give an address "
            "of this machine, e.g. --host 127.0.0.1 or --host 0.0.0.0."
        ) from None


def allowed_hosts(host: str) -> tuple[str, ...] | None:
    """The Host names the app answers to: loopback names plus ``host``; any for 0.0.0.0/::."""
    if host in WILDCARD_HOSTS:
        return None
    return (host.lower(),)


def serve_command(
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        help="Address to bind. Anything but 127.0.0.1/localhost requires a token. Requests "
        "must name this address or a loopback name in their Host header.",
    ),
    port: int = typer.Option(8000, "--port", help="Port to listen on (1 to 65535)."),
    data_roots: list[Path] = typer.Option(
        [],
        "--data-root",
        help="A folder the app may read data sets from (repeat for several; default: .).",
        show_default=False,
    ),
    runs_dir: Path | None = RUNS_DIR,
    token: str | None = typer.Option(
        None,
        "--token",
        help="Require this token on every request (generated when binding beyond loopback).",
        show_default=False,
    ),
) -> None:
    """Serve the web app: choose data, train from a form, watch curves, compare runs, tune.

    One job (training, sweep or tune) runs at a time, in the background.
    """
    if not 1 <= port <= 65535:
        raise TunelabError(
            f"invalid --port {port}: allowed 1 to 65535. Use a free port, e.g. --port 8000."
        )
    check_host(host)
    try:
        import uvicorn

        from tunelab.web.app import create_app
    except ImportError as err:
        raise TunelabError(
            f"the web app needs {err.name or 'fastapi and uvicorn'}, which is not installed. "
            "Install it with: pip install 'tunelab[web]'."
        ) from None
    token, generated = resolve_token(host, token)
    roots = data_roots or [Path(".")]
    app = create_app(
        data_roots=roots, runs_dir=runs_dir, token=token, allowed_hosts=allowed_hosts(host)
    )
    settings = app.state.settings
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{port}/"
    if token is not None:
        address += f"?token={token}"
    typer.echo(f"tunelab web app: {address}")
    typer.echo(f"data roots: {', '.join(str(root) for root in settings.data_roots)}")
    typer.echo(f"run store: {settings.runs_dir}")
    if generated:
        why = "is not 127.0.0.1" if is_loopback(host) else "is not loopback"
        typer.echo(
            f"token (generated; needed because {host} {why}): {token}\n"
            "send it as 'Authorization: Bearer <token>' or ?token=<token>."
        )
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    except OSError as err:  # e.g. the port is taken
        raise TunelabError(
            f"cannot listen on {host}:{port} ({err.strerror or err}). Choose another "
            "--port, or stop the program using it."
        ) from None
