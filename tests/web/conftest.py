"""Fixtures for the web app: an app over a tiny data set, a live server, a browser page.

``live_server`` runs uvicorn in a background thread on a free port and yields its base
URL; ``page`` is a Playwright page in the system's headless Chromium (/usr/bin/chromium,
installed by scripts/install; `playwright install` is never needed). A screenshot of every
browser test is kept in ``test-artifacts/`` (named after the test, ``-FAILED`` on failure).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tunelab.data import make_synthetic_folder

LOCAL = (
    "http://127.0.0.1"  # the address `tunelab serve` prints; TestClient's default host is refused
)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SERVER_START_SECONDS = 30
JOB_DEADLINE_SECONDS = 240  # a guard against a hung job, not a speed requirement


class JobWatcher:
    """Waits on the jobs of ``client`` and reads their server-sent events."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def job(self, job_id: str) -> dict[str, Any]:
        """The job once it has ended (polling its status)."""
        deadline = time.monotonic() + JOB_DEADLINE_SECONDS
        while True:
            job: dict[str, Any] = self.client.get(f"/api/jobs/{job_id}").json()
            if job["status"] in ("completed", "stopped", "failed", "cancelled"):
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} did not end: {job}")
            time.sleep(0.1)

    def progress(self, job_id: str, key: str, at_least: int) -> dict[str, Any]:
        """The job once its ``progress[key]`` reaches ``at_least`` (or it stopped running)."""
        deadline = time.monotonic() + JOB_DEADLINE_SECONDS
        while True:
            job: dict[str, Any] = self.client.get(f"/api/jobs/{job_id}").json()
            if job["progress"].get(key, 0) >= at_least or job["status"] != "running":
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} never reached {key} {at_least}: {job}")
            time.sleep(0.05)

    def events(self, job_id: str, after: int = -1) -> list[tuple[int, str, Any]]:
        """Every ``(id, type, data)`` of an ended job's event stream after ``after``."""
        with self.client.stream("GET", f"/api/jobs/{job_id}/events?after={after}") as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            text = "".join(stream.iter_text())
        events = []
        for block in text.split("\n\n"):
            lines = [line for line in block.splitlines() if ": " in line and line[0] != ":"]
            fields = dict(line.split(": ", 1) for line in lines)
            if "event" in fields:
                events.append((int(fields["id"]), fields["event"], json.loads(fields["data"])))
        return events


@pytest.fixture
def watch(client: Any) -> JobWatcher:
    return JobWatcher(client)


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    """A data root holding ``tiny/``: 3 classes x 8 greyscale 12x12 PNGs."""
    root = tmp_path / "data"
    make_synthetic_folder(root / "tiny", classes=3, per_class=8, size=(12, 12))
    return root


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    return tmp_path / "runs"


@pytest.fixture
def app(data_root: Path, runs_dir: Path) -> Any:
    from tunelab.web.app import create_app

    return create_app(data_roots=[data_root], runs_dir=runs_dir)


@pytest.fixture
def client(app: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    with TestClient(app, base_url=LOCAL) as test_client:
        yield test_client


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """uvicorn serving ``app`` on 127.0.0.1 in a daemon thread, stopped on exit."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on port {self.port}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=SERVER_START_SECONDS)


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT``) of the app served by uvicorn in a thread."""
    with ServerThread(app) as server:
        yield server.url


@pytest.fixture
def serve() -> Iterator[Callable[[Any], str]]:
    """``serve(app)`` starts another live server for ``app`` and returns its base URL."""
    with contextlib.ExitStack() as stack:
        yield lambda app: stack.enter_context(ServerThread(app)).url


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call":
        item.stash[_FAILED] = report.failed


_FAILED = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run scripts/install (it installs chromium).")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser page; its screenshot is saved in test-artifacts/ when the test ends.

    Console errors of the page are collected in ``page.console_errors`` (a list of str).
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    new_page = context.new_page()
    errors: list[str] = []
    new_page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    new_page.on("pageerror", lambda exc: errors.append(str(exc)))
    new_page.console_errors = errors
    yield new_page
    failed = request.node.stash.get(_FAILED, False)
    ARTIFACTS.mkdir(exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    try:
        new_page.screenshot(
            path=str(ARTIFACTS / f"{name}{'-FAILED' if failed else ''}.png"), full_page=True
        )
    finally:
        context.close()
