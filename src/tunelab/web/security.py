"""The server's guards: the token, data paths kept inside the allowed roots, body sizes.

* Token: ``Authorization: Bearer <token>`` or ``?token=<token>`` (pages and server-sent
  events cannot set headers), compared in constant time.
* Paths: a data path is resolved (symlinks followed) and must stay inside one of the
  data roots; ``..`` components are refused before anything is resolved.
* Sizes: a request body larger than the limit is refused with 413 before the route
  reads it, whether or not it declares its length.
* Origins: the ``Host`` header must name this server (loopback names unless ``serve
  --host`` says otherwise), so a page on another site cannot reach it by DNS rebinding;
  a request that changes something (POST, PUT, PATCH, DELETE) is refused when it comes
  from another origin (``Origin``, ``Sec-Fetch-Site``), and a POST when its body has a
  type that a page may send cross-origin without asking (``text/plain``, forms, or none).
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from fastapi import Request

from tunelab.web.settings import WebSettings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class WebError(Exception):
    """A refusal with an HTTP status and one line for the user."""

    def __init__(self, status: int, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details  # more keys for the JSON body, e.g. every refused field


def new_token() -> str:
    return secrets.token_urlsafe(24)


def check_token(request: Request) -> None:
    """Dependency: refuse the request unless it carries the server's token (when it has one)."""
    settings: WebSettings = request.app.state.settings
    if settings.token is None:
        return
    given = request.query_params.get("token")
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise WebError(
                401,
                f"malformed Authorization header (got {scheme!r} ...); send "
                "'Authorization: Bearer <token>' with the token `tunelab serve` printed.",
            )
        given = value.strip()
    if not given:
        raise WebError(
            401,
            "missing token: this server needs the token `tunelab serve` printed at start. "
            "Send 'Authorization: Bearer <token>' or add ?token=<token> to the address.",
        )
    if not secrets.compare_digest(given.encode(), settings.token.encode()):
        raise WebError(
            403,
            "wrong token: it does not match this server's. Use the token `tunelab serve` "
            "printed at start (or the one given with --token).",
        )


def confine(path_text: str, roots: tuple[Path, ...]) -> Path:
    """``path_text`` resolved, if it lies inside one of ``roots``; a WebError otherwise.

    A relative path is taken relative to the first root. ``..`` anywhere is refused, and
    the resolved path (symlinks followed) must still be inside a root, so a link that
    points out of the roots is refused too.
    """
    allowed = ", ".join(str(root) for root in roots) or "none (start with --data-root DIR)"
    text = path_text.strip()
    if not text:
        raise WebError(400, f"empty data path. Choose a folder under the data roots: {allowed}.")
    if "\x00" in text:
        raise WebError(400, "invalid data path: it contains a NUL character.")
    parts = set(PurePosixPath(text).parts) | set(PureWindowsPath(text).parts)
    if ".." in parts:
        raise WebError(
            400,
            f"invalid data path {text!r}: '..' is not allowed. Give a folder under the "
            f"data roots: {allowed}.",
        )
    if not roots:
        raise WebError(
            403,
            f"data path {text!r} refused: this server has no data roots. Restart it with "
            "`tunelab serve --data-root DIR`.",
        )
    given = Path(text).expanduser()
    candidate = given if given.is_absolute() else roots[0] / given
    try:
        resolved = candidate.resolve()
    except (RuntimeError, OSError) as err:  # a symlink loop (RuntimeError before 3.13)
        raise WebError(
            400,
            f"data path {text!r} cannot be followed: it is a symlink loop or unreadable "
            f"({type(err).__name__}). Remove the looping link or choose another folder.",
        ) from None
    for root in roots:
        if resolved == root or resolved.is_relative_to(root):
            return resolved
    raise WebError(
        403,
        f"data path {text!r} is outside the allowed data roots ({allowed}). Choose a folder "
        "under one of them, or restart with another --data-root.",
    )


class BodyLimit:
    """ASGI middleware: 413 for bodies over the limit (uploads get the larger limit)."""

    def __init__(self, app: ASGIApp, settings: WebSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope.get("path", "").startswith(self.settings.upload_paths)
        limit = self.settings.max_upload_bytes if upload else self.settings.max_json_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _send_error(send, 413, _too_large(declared, limit, upload))
            return
        received = 0
        started = False
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Answer now: the app may catch the error below and try to answer itself.
                    if not started and not refused:
                        refused = True
                        await _send_error(send, 413, _too_large(received, limit, upload))
                    raise _BodyTooLarge(received)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 has been sent; drop whatever the app says after it
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            pass


class _BodyTooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(size: int, limit: int, upload: bool) -> str:
    what = "upload" if upload else "request body"
    return f"{what} too large: {size} bytes (at least) given, at most {limit} bytes allowed. " + (
        "Send a smaller file." if upload else "Send only the fields the endpoint needs."
    )


async def _send_error(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# What a page on another site may send without a CORS preflight (which this app never grants).
SIMPLE_TYPES = frozenset({"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"})


def host_name(host_header: str) -> str:
    """The name in a ``Host`` header or an origin's authority, without port or brackets."""
    text = host_header.strip().lower()
    if text.startswith("["):
        return text[1:].partition("]")[0]
    if text.count(":") > 1:  # a bare IPv6 address
        return text
    return text.partition(":")[0]


def is_loopback_name(name: str) -> bool:
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_allowed(name: str, allowed: tuple[str, ...] | None) -> bool:
    """Whether a request naming host ``name`` may be served (``allowed=None``: any)."""
    if allowed is None:
        return True
    return is_loopback_name(name) or name in allowed


class OriginGuard:
    """ASGI middleware: refuse foreign ``Host`` names and cross-origin changes (one line)."""

    def __init__(self, app: ASGIApp, settings: WebSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self.refusal(scope)
            if refusal is not None:
                await _send_error(send, *refusal)
                return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope) -> tuple[int, str] | None:
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        host = headers.get("host", "")
        allowed = self.settings.allowed_hosts
        if host and not host_allowed(host_name(host), allowed):
            names = ", ".join(["localhost", "127.0.0.1", "::1", *(allowed or ())])
            return (
                421,
                f"refused: the Host header names {host_name(host)[:100]!r}, which is not this "
                f"server (allowed: {names}). Open the address `tunelab serve` printed, or "
                "restart it with --host NAME.",
            )
        if scope.get("method", "GET") not in UNSAFE_METHODS:
            return None
        site = headers.get("sec-fetch-site", "").lower()
        if site and site not in ("same-origin", "none"):
            return (
                403,
                f"refused: a {site} request may not change anything here. Use the web app's "
                "own pages (the address `tunelab serve` printed).",
            )
        origin = headers.get("origin")
        if origin is not None:
            authority = origin.partition("://")[2].rstrip("/").lower()
            if not authority or authority != host.strip().lower():
                return (
                    403,
                    f"refused: a request from origin {origin[:100]!r} may not change anything "
                    f"on {host[:100]!r}. Use the web app's own pages (the address `tunelab "
                    "serve` printed).",
                )
        kind = headers.get("content-type", "").partition(";")[0].strip().lower()
        has_body = headers.get("content-length", "0") not in ("", "0") or (
            "transfer-encoding" in headers
        )
        # Only POST can be sent cross-site without a preflight; PUT, PATCH, DELETE cannot.
        if scope.get("method") == "POST" and (kind in SIMPLE_TYPES or (has_body and not kind)):
            return (
                415,
                f"refused: Content-Type {kind or 'missing'!r} is not accepted for "
                f"{scope.get('method')} {scope.get('path', '')[:100]}. Send the body as "
                "application/json (a config file as application/yaml or application/json).",
            )
        return None
