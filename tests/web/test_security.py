"""The server's guards: the token, data paths confined to the roots, request size limits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tunelab.data import make_synthetic_folder
from tunelab.web.app import create_app
from tunelab.web.settings import WebSettings

TOKEN = "s3cret-token"
LOCAL = "http://127.0.0.1"
YAML = {"Content-Type": "application/yaml"}


@pytest.fixture
def guarded(data_root: Path, runs_dir: Path) -> TestClient:
    return TestClient(
        create_app(data_roots=[data_root], runs_dir=runs_dir, token=TOKEN), base_url=LOCAL
    )


# ---------------------------------------------------------------- token


@pytest.mark.parametrize("path", ["/api/health", "/api/runs", "/api/knobs", "/", "/playground"])
def test_missing_token_is_refused_with_one_line(guarded: TestClient, path: str) -> None:
    response = guarded.get(path)
    assert response.status_code == 401
    error = response.json()["error"]
    assert "missing token" in error and "Authorization: Bearer" in error and "\n" not in error


def test_wrong_token_is_refused(guarded: TestClient) -> None:
    response = guarded.get("/api/health", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 403
    assert "wrong token" in response.json()["error"]
    assert guarded.get("/api/health?token=nope").status_code == 403


def test_malformed_authorization_header_is_refused(guarded: TestClient) -> None:
    response = guarded.get("/api/health", headers={"Authorization": f"Basic {TOKEN}"})
    assert response.status_code == 401
    assert "malformed Authorization header" in response.json()["error"]


def test_right_token_in_header_or_query_is_accepted(guarded: TestClient) -> None:
    by_header = guarded.get("/api/health", headers={"Authorization": f"Bearer {TOKEN}"})
    assert by_header.status_code == 200 and by_header.json()["auth"] is True
    assert guarded.get(f"/api/runs?token={TOKEN}").status_code == 200
    page = guarded.get(f"/?token={TOKEN}")
    assert page.status_code == 200 and "<title>tunelab</title>" in page.text


def test_static_files_need_no_token(guarded: TestClient) -> None:
    # They hold no data; pages load them with plain <script> tags.
    assert guarded.get("/static/tunelab.js").status_code == 200
    assert guarded.get("/static/app.js").status_code == 200


def test_event_stream_needs_the_token_too(guarded: TestClient) -> None:
    response = guarded.get("/api/jobs/abc/events")
    assert response.status_code == 401
    response = guarded.get(f"/api/jobs/abc/events?token={TOKEN}")
    assert response.status_code == 404  # past the token check: the job does not exist


# ---------------------------------------------------------------- paths


@pytest.mark.parametrize(
    "endpoint",
    ["/api/browse?path={}", "/api/datasets?path={}", "/api/datasets/thumbnail?path={}&cls=a"],
)
@pytest.mark.parametrize("bad", ["../", "tiny/../../etc", "..", "/etc/../tmp"])
def test_dotdot_is_refused_everywhere(client: TestClient, endpoint: str, bad: str) -> None:
    response = client.get(endpoint.format(bad))
    assert response.status_code == 400
    assert "'..' is not allowed" in response.json()["error"]


@pytest.mark.parametrize("outside", ["/etc", "/", "/tmp"])
def test_paths_outside_the_roots_are_refused(client: TestClient, outside: str) -> None:
    response = client.get(f"/api/datasets?path={outside}")
    assert response.status_code == 403
    error = response.json()["error"]
    assert "outside the allowed data roots" in error and outside in error


def test_a_symlink_out_of_the_roots_is_refused(
    client: TestClient, data_root: Path, tmp_path: Path
) -> None:
    elsewhere = make_synthetic_folder(tmp_path / "elsewhere", classes=2, per_class=2)
    os.symlink(elsewhere, data_root / "escape")
    for endpoint in ("/api/browse", "/api/datasets"):
        response = client.get(f"{endpoint}?path=escape")
        assert response.status_code == 403, endpoint
    refused = client.post("/api/train", json={"data": "escape"})
    assert refused.status_code == 403
    assert "outside the allowed data roots" in refused.json()["error"]


def test_a_symlinked_file_out_of_the_roots_is_refused(
    client: TestClient, data_root: Path, tmp_path: Path
) -> None:
    secret = make_synthetic_folder(tmp_path / "secret", classes=1, per_class=1)
    os.symlink(secret / "class0" / "img000.png", data_root / "tiny" / "class0" / "zzz.png")
    response = client.post("/api/train", json={"data": "tiny"})
    assert response.status_code == 403
    error = response.json()["error"]
    assert "zzz.png" in error and "outside the allowed data roots" in error


def test_a_manifest_pointing_out_of_the_roots_is_refused(
    client: TestClient, data_root: Path, tmp_path: Path
) -> None:
    outside = make_synthetic_folder(tmp_path / "outside", classes=2, per_class=2)
    rows = ["path,label"] + [f"{p},{p.parent.name}" for p in sorted(outside.rglob("*.png"))]
    (data_root / "list.csv").write_text("\n".join(rows) + "\n")
    response = client.post("/api/train", json={"data": "list.csv"})
    assert response.status_code == 403
    assert "outside the allowed data roots" in response.json()["error"]


def test_a_server_without_roots_refuses_every_path(runs_dir: Path) -> None:
    client = TestClient(create_app(data_roots=[], runs_dir=runs_dir), base_url=LOCAL)
    response = client.get("/api/datasets?path=tiny")
    assert response.status_code == 403
    assert "--data-root" in response.json()["error"]


# ---------------------------------------------------------------- sizes


@pytest.fixture
def small_limits(data_root: Path, runs_dir: Path) -> TestClient:
    settings = WebSettings.build([data_root], runs_dir, None, max_json_bytes=2000)
    object.__setattr__(settings, "max_upload_bytes", 5000)
    return TestClient(create_app(data_roots=[], settings=settings), base_url=LOCAL)


def test_an_oversize_json_body_is_refused_with_413(small_limits: TestClient) -> None:
    values = {f"knob{i}": "x" * 50 for i in range(100)}
    response = small_limits.post("/api/knobs/validate", json={"values": values})
    assert response.status_code == 413
    error = response.json()["error"]
    assert "request body too large" in error and "at most 2000 bytes" in error


def test_an_oversize_body_without_a_length_is_refused_too(small_limits: TestClient) -> None:
    def chunks():  # sent chunked: no Content-Length to check up front
        for _ in range(10):
            yield b" " * 500

    response = small_limits.post(
        "/api/knobs/validate", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert "too large" in response.json()["error"]


def test_uploads_have_their_own_limit(small_limits: TestClient) -> None:
    ok = small_limits.post("/api/config/parse", content=b"epochs: 3\n" + b"#" * 3000, headers=YAML)
    assert ok.status_code == 200 and ok.json()["hyperparameters"]["epochs"] == 3
    big = small_limits.post("/api/config/parse", content=b"#" * 6000, headers=YAML)
    assert big.status_code == 413
    assert "upload too large" in big.json()["error"]


def test_long_query_values_are_refused(client: TestClient) -> None:
    response = client.get("/api/datasets?path=" + "a" * 5000)
    assert response.status_code == 422
    assert "path" in response.json()["error"]


# ---------------------------------------------------------------- hosts and origins


def test_a_foreign_host_header_is_refused(client: TestClient) -> None:
    # DNS rebinding: a page on evil.example.com resolves its name to 127.0.0.1.
    response = client.get("/api/runs", headers={"Host": "evil.example.com"})
    assert response.status_code == 421
    error = response.json()["error"]
    assert "'evil.example.com'" in error and "--host" in error and "\n" not in error
    for host in ("127.0.0.1:8000", "localhost", "[::1]:8000"):
        assert client.get("/api/runs", headers={"Host": host}).status_code == 200, host


def test_the_bound_name_is_allowed_and_a_wildcard_bind_takes_any(
    data_root: Path, runs_dir: Path
) -> None:
    named = TestClient(
        create_app(data_roots=[data_root], runs_dir=runs_dir, allowed_hosts=("lab.local",)),
        base_url="http://lab.local",
    )
    assert named.get("/api/runs").status_code == 200
    assert named.get("/api/runs", headers={"Host": "other.local"}).status_code == 421
    anywhere = TestClient(
        create_app(data_roots=[data_root], runs_dir=runs_dir, token=TOKEN, allowed_hosts=None),
        base_url="http://203.0.113.7:8000",
    )
    assert anywhere.get(f"/api/runs?token={TOKEN}").status_code == 200


def test_cross_origin_changes_are_refused_and_same_origin_ones_pass(client: TestClient) -> None:
    body = b'{"values": {"epochs": 3}}'
    same = {"Origin": "http://127.0.0.1", "Content-Type": "application/json"}
    assert client.post("/api/knobs/validate", content=body, headers=same).status_code == 200
    other = {**same, "Origin": "http://evil.example.com"}
    refused = client.post("/api/knobs/validate", content=body, headers=other)
    assert refused.status_code == 403 and "evil.example.com" in refused.json()["error"]
    site = {"Sec-Fetch-Site": "cross-site", "Content-Type": "application/json"}
    assert client.post("/api/knobs/validate", content=body, headers=site).status_code == 403
    plain = client.post(
        "/api/config/parse", content=b"epochs: 3\n", headers={"Content-Type": "text/plain"}
    )
    assert plain.status_code == 415 and "text/plain" in plain.json()["error"]


def test_a_config_file_is_parsed_off_the_event_loop(data_root: Path, runs_dir: Path) -> None:
    # A slow parse must not stall other requests: the route hands it to a worker thread.
    import threading

    from tunelab.web.routes import knobs as knob_routes

    started, release = threading.Event(), threading.Event()
    real = knob_routes._parse_config

    def slow(raw: bytes) -> object:
        started.set()
        release.wait(30)
        return real(raw)

    client = TestClient(create_app(data_roots=[data_root], runs_dir=runs_dir), base_url=LOCAL)
    knob_routes._parse_config = slow  # type: ignore[assignment]
    try:
        with client:
            results: list[int] = []
            thread = threading.Thread(
                target=lambda: results.append(
                    client.post(
                        "/api/config/parse", content=b"epochs: 2\n", headers=YAML
                    ).status_code
                )
            )
            thread.start()
            assert started.wait(30)
            assert client.get("/api/knobs").status_code == 200  # answered while parsing
            release.set()
            thread.join(30)
            assert results == [200]
    finally:
        knob_routes._parse_config = real  # type: ignore[assignment]
        release.set()


def test_every_bind_but_127_0_0_1_needs_the_token(data_root: Path, runs_dir: Path) -> None:
    from tunelab.cli.serve import allowed_hosts, resolve_token

    for host in ("127.0.0.2", "::1", "0.0.0.0"):
        token, generated = resolve_token(host, None)
        assert token and generated, host
        app = create_app(
            data_roots=[data_root],
            runs_dir=runs_dir,
            token=token,
            allowed_hosts=allowed_hosts(host),
        )
        client = TestClient(app, base_url=LOCAL)
        assert client.delete("/api/runs/anything").status_code == 401, host
