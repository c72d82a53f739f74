"""The Data sets endpoints: browsing the roots, describing a data set, thumbnails."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import quote

from fastapi.testclient import TestClient
from PIL import Image

from tunelab.data import make_synthetic_folder


def test_health_and_roots(client: TestClient, data_root: Path) -> None:
    health = client.get("/api/health").json()
    assert health["ok"] is True and health["auth"] is False
    assert health["data_roots"] == [str(data_root.resolve())]
    assert client.get("/api/roots").json() == {
        "roots": [str(data_root.resolve())],
        "builtin": ["digits"],
    }


def test_browse_lists_the_roots_then_their_folders(client: TestClient, data_root: Path) -> None:
    top = client.get("/api/browse").json()
    assert [f["path"] for f in top["folders"]] == [str(data_root.resolve())]
    inside = client.get("/api/browse", params={"path": str(data_root)}).json()
    assert inside["parent"] is None  # a root has no parent the app may show
    assert [(f["name"], f["is_dataset"]) for f in inside["folders"]] == [("tiny", True)]
    tiny = client.get("/api/browse", params={"path": "tiny"}).json()
    assert tiny["is_dataset"] is True
    assert tiny["parent"] == str(data_root.resolve())
    assert [f["name"] for f in tiny["folders"]] == ["class0", "class1", "class2"]


def test_browse_refuses_a_missing_folder(client: TestClient) -> None:
    response = client.get("/api/browse", params={"path": "nope"})
    assert response.status_code == 404
    assert "no folder 'nope'" in response.json()["error"]


def test_describe_counts_classes_channels_depth_and_sizes(client: TestClient) -> None:
    info = client.get("/api/datasets", params={"path": "tiny"}).json()
    assert info["n_images"] == 24 and info["n_classes"] == 3
    assert [(c["name"], c["count"]) for c in info["classes"]] == [
        ("class0", 8),
        ("class1", 8),
        ("class2", 8),
    ]
    assert info["channels"] == {"1": 24}
    assert info["bit_depths"] == {"8-bit": 24}
    assert info["sizes"]["most_common"] == [12, 12] and info["sizes"]["distinct"] == 1
    assert all(len(c["thumbnails"]) == 6 for c in info["classes"])


def test_describe_reports_16_bit_multichannel_images_of_mixed_sizes(
    client: TestClient, data_root: Path
) -> None:
    make_synthetic_folder(
        data_root / "stacks",
        classes=2,
        per_class=4,
        size=(16, 16),
        channels=2,
        dtype="uint16",
        fmt="tif",
        vary_size=True,
    )
    info = client.get("/api/datasets", params={"path": "stacks"}).json()
    assert info["channels"] == {"2": 8}
    assert info["bit_depths"] == {"16-bit": 8}
    assert info["sizes"]["most_common"] == [16, 16] and info["sizes"]["distinct"] > 1


def test_thumbnails_are_pngs_of_the_right_class(client: TestClient) -> None:
    info = client.get("/api/datasets", params={"path": "tiny"}).json()
    pictures = []
    for cls in info["classes"]:
        response = client.get(cls["thumbnails"][0])
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/png"
        image = Image.open(io.BytesIO(response.content))
        assert image.mode == "L" and image.size == (96, 96)  # 12x12 scaled up 8x
        pictures.append(image.tobytes())
    assert len(set(pictures)) == 3  # each class lights up a different cell


def test_a_thumbnail_of_a_missing_class_or_index_is_a_404(client: TestClient) -> None:
    base = "/api/datasets/thumbnail?path=tiny"
    wrong_class = client.get(f"{base}&cls=clas0&index=0")
    assert wrong_class.status_code == 404
    assert 'Did you mean "class0"?' in wrong_class.json()["error"]
    wrong_index = client.get(f"{base}&cls=class0&index=8")
    assert wrong_index.status_code == 404
    assert "indices 0 to 7" in wrong_index.json()["error"]
    negative = client.get(f"{base}&cls=class0&index=-1")
    assert negative.status_code == 422


def test_digits_is_available_built_in(client: TestClient) -> None:
    info = client.get("/api/datasets", params={"path": "digits"}).json()
    assert info["n_images"] == 1797 and info["n_classes"] == 10
    assert info["sizes"]["most_common"] == [8, 8]
    png = client.get(info["classes"][3]["thumbnails"][0])
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_file_that_is_not_a_data_set_is_refused(client: TestClient, data_root: Path) -> None:
    (data_root / "notes.txt").write_text("hello")
    response = client.get(f"/api/datasets?path={quote('notes.txt')}")
    assert response.status_code == 400
    assert "neither a folder nor a .csv manifest" in response.json()["error"]


def test_a_project_folder_opens_as_its_labelled_classes(
    client: TestClient, data_root: Path
) -> None:
    project = data_root / "proj"
    make_synthetic_folder(project / "labelled", classes=2, per_class=3)
    (project / "unlabelled").mkdir()
    Image.new("L", (12, 12)).save(project / "unlabelled" / "u.png")
    make_synthetic_folder(data_root / "splits" / "train", classes=2, per_class=2)
    make_synthetic_folder(data_root / "splits" / "val", classes=2, per_class=2)
    listing = client.get("/api/browse", params={"path": str(data_root)}).json()
    flags = {f["name"]: f["is_dataset"] for f in listing["folders"]}
    assert flags["proj"] is True and flags["splits"] is False  # what training would accept
    info = client.get("/api/datasets", params={"path": "proj"}).json()
    assert [c["name"] for c in info["classes"]] == ["class0", "class1"]  # not labelled/unlabelled
    assert info["n_images"] == 6
    assert any(
        "project folder" in note and "1 images in unlabelled/" in note for note in info["notes"]
    )
    thumb = client.get(info["classes"][0]["thumbnails"][0])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"


def test_multichannel_thumbnails_colour_each_channel_and_toggle(
    client: TestClient, data_root: Path
) -> None:
    import io

    import numpy as np
    import tifffile
    from PIL import Image

    folder = data_root / "two"
    (folder / "a").mkdir(parents=True)
    (folder / "b").mkdir()
    image = np.zeros((2, 8, 8), np.uint16)
    image[0, :, :4] = 4000  # channel 0 bright on the left
    image[1, :, 4:] = 4000  # channel 1 bright on the right
    for cls in ("a", "b"):
        tifffile.imwrite(folder / cls / "x.tif", image)
    base = "/api/datasets/thumbnail?path=two&cls=a&index=0"

    def rgb(query: str = "") -> np.ndarray:
        response = client.get(base + query)
        assert response.status_code == 200, response.text
        return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))

    both = rgb()
    assert both.shape[0] == 96  # scaled up to the thumbnail side
    left, right = both[:, 10], both[:, -10]
    assert left[:, 0].min() == 255 and left[:, 1].max() == 0  # channel 0 in red
    assert right[:, 1].min() == 255 and right[:, 0].max() == 0  # channel 1 in green
    only_second = rgb("&channels=1")
    assert only_second[:, 10].max() == 0 and only_second[:, -10, 1].min() == 255
    big = rgb("&side=512")
    assert big.shape[0] >= 500
    missing = client.get(base + "&channels=5")
    assert missing.status_code == 400 and "channels 0 to 1" in missing.json()["error"]
    assert client.get(base + "&channels=x").status_code == 422
