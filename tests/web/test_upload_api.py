"""Chunked uploads into a data root: images, folders, Piximi projects; refusals leave nothing."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image


def png_bytes(value: int = 128, size: int = 12) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.full((size, size), value, np.uint8)).save(out, format="PNG")
    return out.getvalue()


def upload(client: TestClient, folder: str, path: str, body: bytes, chunk: int = 100) -> dict:
    started = client.post("/api/uploads", json={"folder": folder, "path": path, "size": len(body)})
    assert started.status_code == 201, started.text
    upload_id = started.json()["id"]
    for offset in range(0, len(body), chunk):
        sent = client.put(
            f"/api/uploads/{upload_id}",
            params={"offset": offset},
            content=body[offset : offset + chunk],
        )
        assert sent.status_code == 200, sent.text
    return client.post(f"/api/uploads/{upload_id}/finish").json()


def hidden_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*") if p.is_file()]


def test_a_folder_upload_keeps_its_class_folders_and_loads(
    client: TestClient, data_root: Path
) -> None:
    (data_root / "new").mkdir()
    for cls, value in (("a", 30), ("b", 220)):
        for index in range(4):
            done = upload(client, "new", f"set/{cls}/{index}.png", png_bytes(value))
            assert done["kind"] == "file"
    from tunelab.data import load_dataset

    dataset = load_dataset(data_root / "new" / "set")
    assert dataset.class_names == ["a", "b"] and len(dataset) == 8
    assert hidden_files(data_root / "new") == []  # no part files left


def test_chunks_out_of_order_are_refused_and_a_retry_is_harmless(
    client: TestClient, data_root: Path
) -> None:
    body = png_bytes()
    started = client.post(
        "/api/uploads", json={"folder": "tiny", "path": "x.png", "size": len(body)}
    )
    upload_id = started.json()["id"]
    first = client.put(f"/api/uploads/{upload_id}", params={"offset": 0}, content=body[:50])
    assert first.json()["received"] == 50
    again = client.put(f"/api/uploads/{upload_id}", params={"offset": 0}, content=body[:50])
    assert again.json()["received"] == 50  # the same chunk twice: taken once
    skipped = client.put(f"/api/uploads/{upload_id}", params={"offset": 80}, content=body[80:])
    assert skipped.status_code == 409 and "offset 50" in skipped.json()["error"]
    early = client.post(f"/api/uploads/{upload_id}/finish")
    assert early.status_code == 400 and "50 of" in early.json()["error"]
    assert not (data_root / "tiny" / "x.png").exists() and hidden_files(data_root / "tiny") == []


def test_refusals_say_why_and_write_nothing(client: TestClient, data_root: Path) -> None:
    def start(folder: str, path: str, size: int = 10) -> tuple[int, str]:
        response = client.post("/api/uploads", json={"folder": folder, "path": path, "size": size})
        return response.status_code, response.json().get("error", "")

    assert start("tiny", "../escape.png")[0] == 400
    assert start("tiny", "/etc/passwd.png")[0] == 400
    assert start("tiny", ".hidden.png")[0] == 400
    code, message = start("tiny", "script.sh")
    assert code == 415 and ".png" in message
    assert start("tiny", "big.png", size=10**12)[0] == 413
    assert start("../..", "a.png")[0] == 400
    existing = next((data_root / "tiny" / "class0").iterdir()).name
    code, message = start("tiny", f"class0/{existing}")
    assert code == 409 and "nothing is overwritten" in message
    # a file that says .png but is not an image is refused at the end, and removed
    done = client.post("/api/uploads", json={"folder": "tiny", "path": "fake.png", "size": 5})
    upload_id = done.json()["id"]
    client.put(f"/api/uploads/{upload_id}", params={"offset": 0}, content=b"hello")
    refused = client.post(f"/api/uploads/{upload_id}/finish")
    assert refused.status_code == 415 and "not a readable image" in refused.json()["error"]
    assert not (data_root / "tiny" / "fake.png").exists()
    assert hidden_files(data_root / "tiny") == []


def test_a_piximi_project_upload_is_imported_into_a_data_set(
    client: TestClient, data_root: Path, tmp_path: Path, px: Any
) -> None:
    project = px.write_json_project(tmp_path / "cells.json", px.images())
    done = upload(client, "tiny", "cells.json", project.read_bytes(), chunk=4096)
    assert done["kind"] == "piximi" and done["lines"]
    assert (data_root / "tiny" / "cells" / "manifest.csv").is_file()
    assert not (data_root / "tiny" / "cells.json").exists()
    assert hidden_files(data_root / "tiny") == []
    broken = upload(client, "tiny", "broken.json", b'{"not": "piximi"', chunk=4096)
    assert "broken.json" in broken["error"] and "\n" not in broken["error"]
    assert not (data_root / "tiny" / "broken").exists()
