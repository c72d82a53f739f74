"""The workbench in real headless Chromium: data sets, training from the form, runs, sweeps.

Screenshots of each test land in test-artifacts/ (see conftest.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tunelab.web.app import create_app

WAIT_MS = 120_000  # a guard against a hung page on a busy machine, not a speed requirement


def open_page(page: Page, url: str, hash_: str) -> None:
    page.goto(f"{url}/{hash_}")
    page.wait_for_selector("body[data-ready=true]")


def points(page: Page, selector: str) -> int:
    return int(page.get_attribute(selector, "data-points") or 0)


def test_data_page_shows_classes_facts_and_thumbnails(page: Page, live_server: str) -> None:
    open_page(page, live_server, "#data")
    page.click("#browse-list a.folder")  # into the data root
    page.click("button.open-dataset[data-path$='/tiny']")
    expect(page.locator(".class-row")).to_have_count(3)
    expect(page.locator("#dataset-info")).to_contain_text("8-bit")
    expect(page.locator("#dataset-info")).to_contain_text("12 x 12")
    expect(page.locator("#dataset-notes")).to_contain_text("input size 12x12")  # data notes
    rows = page.locator(".class-row")
    expect(rows.nth(1)).to_contain_text("class1")
    expect(rows.nth(1).locator("td").nth(1)).to_have_text("8")
    thumbs = page.locator("img.thumb")
    expect(thumbs).to_have_count(18)
    page.wait_for_function(
        "[...document.querySelectorAll('img.thumb')].every(i => i.complete && i.naturalWidth)",
        timeout=WAIT_MS,
    )
    assert page.evaluate("document.querySelector('img.thumb').naturalWidth") == 96
    page.click("#use-dataset")
    expect(page.locator("#train-data")).to_have_value(str(Path(page.inner_text("#dataset-name"))))
    assert page.console_errors == []


def fill_knob(page: Page, name: str, value: str) -> None:
    page.fill(f"#knob-{name}", value)


def test_train_from_the_form_shows_curves_diagnosis_and_confusion(
    page: Page, live_server: str, data_root: Path
) -> None:
    open_page(page, live_server, "#train")
    page.fill("#train-data", str(data_root / "tiny"))
    fill_knob(page, "learning_rate", "-0.01")
    expect(page.locator("#error-learning_rate")).to_contain_text(
        "invalid learning_rate: got -0.01; allowed: learning_rate > 0"
    )
    expect(page.locator("#train-form")).to_have_attribute("data-valid", "false")
    fill_knob(page, "learning_rate", "0.01")
    fill_knob(page, "epochs", "2")
    fill_knob(page, "batch_size", "8")
    expect(page.locator("#error-learning_rate")).to_have_text("")
    expect(page.locator("#train-form")).to_have_attribute("data-valid", "true")

    page.click("#start-train")
    expect(page.locator("#train-status")).to_have_attribute(
        "data-status", "completed", timeout=WAIT_MS
    )
    assert points(page, "#chart-batch") == 2 * 6  # loss and accuracy for each of 6 batches
    assert points(page, "#chart-epoch") == 4 * 2  # four curves over 2 epochs
    expect(page.locator("#diagnosis")).to_contain_text("Diagnosis:")
    page.wait_for_selector("#confusion[data-points='9']")
    expect(page.locator("#confusion")).to_contain_text("predicted")
    run = page.inner_text("#result-run")
    # the diagnosis is drawn on the epoch curve where it happens
    import httpx

    diagnosis = httpx.get(f"{live_server}/api/runs/{run}").json()["summary"]["diagnosis"]
    if diagnosis["at_epoch"] is not None:
        expect(page.locator("#chart-epoch")).to_have_attribute(
            "data-marked", str(diagnosis["at_epoch"])
        )
        expect(page.locator("#chart-epoch")).to_contain_text(diagnosis["mark"])

    open_page(page, live_server, "#runs")
    expect(page.locator(".run-row")).to_have_count(1)
    expect(page.locator(".run-row")).to_contain_text(run)
    expect(page.locator(".run-row")).to_contain_text("completed")
    assert [e for e in page.console_errors if "422" not in e] == []  # 422: the bad knob


def test_curves_update_live_and_stop_ends_the_run(
    page: Page, live_server: str, data_root: Path
) -> None:
    open_page(page, live_server, "#train")
    page.fill("#train-data", str(data_root / "tiny"))
    fill_knob(page, "epochs", "5000")
    fill_knob(page, "batch_size", "8")
    expect(page.locator("#train-form")).to_have_attribute("data-valid", "true")
    page.click("#start-train")
    page.wait_for_function(
        "Number(document.querySelector('#chart-epoch').dataset.points || 0) >= 4 * 2",
        timeout=WAIT_MS,
    )
    seen = points(page, "#chart-epoch")
    page.wait_for_function(
        f"Number(document.querySelector('#chart-epoch').dataset.points || 0) > {seen}",
        timeout=WAIT_MS,
    )
    expect(page.locator("#stop-train")).to_be_enabled()
    expect(page.locator("#start-train")).to_be_disabled()
    page.click("#stop-train")
    expect(page.locator("#train-status")).to_have_attribute(
        "data-status", "stopped", timeout=WAIT_MS
    )
    expect(page.locator("#result-summary")).to_contain_text("status interrupted")
    expect(page.locator("#result-summary")).to_contain_text("stopped from the web app")
    expect(page.locator("#start-train")).to_be_enabled()
    assert page.console_errors == []


def test_runs_page_filters_overlays_and_deletes(
    page: Page, live_server: str, client: Any, watch: Any
) -> None:
    for name, lr in (("first", 0.01), ("second", 0.003)):
        job = client.post(
            "/api/train",
            json={
                "data": "tiny",
                "name": name,
                "hyperparameters": {"epochs": 2, "learning_rate": lr},
            },
        ).json()
        assert watch.job(job["id"])["status"] == "completed"
    open_page(page, live_server, "#runs")
    expect(page.locator(".run-row")).to_have_count(2)
    page.fill("#runs-filter", "seco")
    expect(page.locator(".run-row")).to_have_count(1)
    page.fill("#runs-filter", "")
    expect(page.locator(".run-row")).to_have_count(2)

    page.check(".run-row[data-run=first] .run-select")
    page.check(".run-row[data-run=second] .run-select")
    page.click("#runs-overlay")
    page.wait_for_selector("#overlay-acc[data-points='4']")  # 2 runs x 2 epochs
    expect(page.locator("#overlay-acc .legendtext")).to_have_count(2)

    page.click(".run-row[data-run=second] .run-link")
    page.wait_for_selector("#detail-confusion[data-points='9']")
    expect(page.locator("#run-detail-name")).to_have_text("second")
    expect(page.locator("#detail-confusion-per-class tbody tr")).to_have_count(3)
    # click the top-left cell (true class0, predicted class0): its images appear
    cell = page.locator("#detail-confusion .nsewdrag").first
    box = cell.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 6, box["y"] + box["height"] / 6)
    expect(page.locator("#detail-confusion-cell h4")).to_contain_text(
        "true class0, predicted class0", timeout=WAIT_MS
    )
    heading = page.inner_text("#detail-confusion-cell h4")
    shown = int(heading.split(": ")[1].split(" ")[0])
    expect(page.locator("#detail-confusion-cell img.thumb")).to_have_count(shown)

    page.on("dialog", lambda dialog: dialog.accept())
    page.uncheck(".run-row[data-run=first] .run-select")
    page.click("#runs-delete")
    expect(page.locator(".run-row")).to_have_count(1)
    expect(page.locator(".run-row")).to_contain_text("first")
    assert [row["name"] for row in client.get("/api/runs").json()["runs"]] == ["first"]
    assert page.console_errors == []


def open_search_page(page: Page, live_server: str, data_root: Path) -> None:
    """The search page on the tiny data set, with 2 epochs of batch 8 set on the Train page."""
    open_page(page, live_server, "#train")
    fill_knob(page, "epochs", "2")
    fill_knob(page, "batch_size", "8")
    expect(page.locator("#train-form")).to_have_attribute("data-valid", "true")
    page.click("nav a[data-page=search]")
    page.fill("#search-data", str(data_root / "tiny"))


def test_a_sweep_from_the_page_fills_the_leaderboard(
    page: Page, live_server: str, data_root: Path
) -> None:
    open_search_page(page, live_server, data_root)
    page.select_option("#sweep-knob", "learning_rate")
    page.fill("#sweep-values", "0.003,0.03")
    page.click("#start-sweep")
    expect(page.locator("#search-status")).to_have_attribute(
        "data-status", "completed", timeout=WAIT_MS
    )
    expect(page.locator(".leader-row")).to_have_count(2)
    assert points(page, "#search-curves") == 2 * 2
    expect(page.locator("#best-config")).to_be_visible()
    assert "/config" in (page.get_attribute("#best-config", "href") or "")
    expect(page.locator("#past-searches")).to_contain_text("sweep-")
    assert page.console_errors == []


def test_pages_carry_the_token(page: Page, serve: Any, data_root: Path, runs_dir: Path) -> None:
    url = serve(create_app(data_roots=[data_root], runs_dir=runs_dir, token="tok"))
    refused = page.goto(f"{url}/")
    assert refused is not None and refused.status == 401
    assert "missing token" in page.inner_text("body")
    open_page(page, url, "?token=tok#data")
    page.click("#browse-list a.folder")
    page.click("button.open-dataset[data-path$='/tiny']")
    expect(page.locator(".class-row")).to_have_count(3)
    page.wait_for_function(
        "[...document.querySelectorAll('img.thumb')].every(i => i.complete && i.naturalWidth)",
        timeout=WAIT_MS,
    )
    expect(page.locator("#error")).to_be_hidden()


def test_jobs_page_shows_the_queue_cancels_streams_a_log_and_stops(
    page: Page, live_server: str, data_root: Path
) -> None:
    import httpx

    long = {"epochs": 5000, "batch_size": 8}
    tiny = str(data_root / "tiny")
    first = httpx.post(f"{live_server}/api/train", json={"data": tiny, "hyperparameters": long})
    second = httpx.post(
        f"{live_server}/api/train", json={"data": tiny, "hyperparameters": {"epochs": 1}}
    )
    running, waiting = first.json()["id"], second.json()["id"]
    open_page(page, live_server, "#jobs")
    row = page.locator(f"tr.job-row[data-id='{waiting}']")
    expect(row.locator(".job-position")).to_have_text("1", timeout=WAIT_MS)
    expect(page.locator(f"tr.job-row[data-id='{running}'] .job-position")).to_have_text(
        "running", timeout=WAIT_MS
    )
    row.locator("button.job-stop").click()  # "Cancel" on the waiting job
    expect(row).to_have_attribute("data-status", "cancelled", timeout=WAIT_MS)

    first_row = page.locator(f"tr.job-row[data-id='{running}']")
    first_row.locator("button.job-log").click()
    expect(page.locator("#job-log")).to_contain_text("validation accuracy", timeout=WAIT_MS)
    first_row.locator("button.job-stop").click()
    expect(first_row).to_have_attribute("data-status", "stopped", timeout=WAIT_MS)
    expect(page.locator("#job-log")).to_contain_text("end stopped", timeout=WAIT_MS)
    assert page.console_errors == []


def test_predict_and_review_labels_an_image_with_one_click_and_undoes_it(
    page: Page, live_server: str, data_root: Path
) -> None:
    import time

    import httpx
    from PIL import Image

    tiny = data_root / "tiny"
    started = httpx.post(
        f"{live_server}/api/train",
        json={"data": str(tiny), "hyperparameters": {"epochs": 2, "batch_size": 8}, "name": "m"},
    ).json()
    deadline = time.monotonic() + WAIT_MS / 1000
    while httpx.get(f"{live_server}/api/jobs/{started['id']}").json()["status"] != "completed":
        assert time.monotonic() < deadline, "training did not finish"
        time.sleep(0.2)
    unlabelled = data_root / "unlabelled"
    unlabelled.mkdir()
    for index, path in enumerate(sorted((tiny / "class2").iterdir())[:3]):
        Image.open(path).save(unlabelled / f"u{index}.png")

    open_page(page, live_server, "#review")
    page.select_option("#review-run", "m")
    page.fill("#review-images", str(unlabelled))
    page.fill("#review-dataset", str(tiny))
    page.click("#review-predict")
    cards = page.locator(".review-card")
    expect(cards).to_have_count(3, timeout=WAIT_MS)
    page.wait_for_function(
        "[...document.querySelectorAll('.review-card img')]"
        ".every(i => i.complete && i.naturalWidth)",
        timeout=WAIT_MS,
    )
    confidences = [float(c.get_attribute("data-probability") or 0) for c in cards.all()]
    assert confidences == sorted(confidences)  # lowest first: the doubtful ones lead
    first = cards.nth(0)
    path = Path(first.get_attribute("data-path") or "")
    first.locator("select.review-class").select_option("class0")
    first.locator("button.review-set").click()
    expect(page.locator(f".review-card[data-path='{path}'] .review-done")).to_have_text(
        "labelled class0", timeout=WAIT_MS
    )
    assert (tiny / "class0" / path.name).is_file() and not path.exists()
    page.click("#review-undo")
    expect(page.locator("#review-status")).to_contain_text("put back", timeout=WAIT_MS)
    assert path.is_file() and not (tiny / "class0" / path.name).exists()
    page.click("#review-retrain")
    expect(page.locator("#train-data")).to_have_value(str(tiny))
    assert page.console_errors == []


def test_find_a_learning_rate_from_the_form_and_use_it(
    page: Page, live_server: str, data_root: Path
) -> None:
    open_page(page, live_server, "#train")
    page.fill("#train-data", str(data_root / "tiny"))
    fill_knob(page, "batch_size", "8")
    page.click("#lr-find")
    buttons = page.locator("#lr-find-result button.use-lr")
    expect(buttons).to_have_count(3, timeout=WAIT_MS)
    page.wait_for_selector("#lr-find-chart[data-points]")
    valley = page.locator("#lr-find-result button.use-lr[data-name=valley]")
    suggested = float(valley.get_attribute("data-lr") or "nan")
    valley.click()
    value = float(page.input_value("#knob-learning_rate"))
    assert value == float(f"{suggested:.2g}")
    expect(page.locator("#lr-find-result")).to_contain_text("a tenth of the learning rate")
    assert page.console_errors == []


def test_upload_images_with_progress_and_a_line_per_refused_file(
    page: Page, live_server: str, data_root: Path, tmp_path: Path
) -> None:
    import numpy as np
    from PIL import Image

    picked = tmp_path / "picked"
    picked.mkdir()
    for index in range(3):
        Image.fromarray(np.full((10, 10), 40 * index, np.uint8)).save(picked / f"p{index}.png")
    (picked / "notes.sh").write_text("echo hi")
    (data_root / "inbox").mkdir()
    open_page(page, live_server, "#data")
    page.click("#browse-list a.folder")  # into the data root
    page.click("#browse-list a.folder[data-path$='/inbox']")
    expect(page.locator("#browse-path")).to_have_text(str(data_root / "inbox"))
    page.set_input_files("#upload-files", [str(p) for p in sorted(picked.iterdir())])
    expect(page.locator("#upload-status")).to_contain_text("3 of 4 files added", timeout=WAIT_MS)
    expect(page.locator("#upload-refused .error-line")).to_have_count(1)
    expect(page.locator("#upload-refused .error-line")).to_contain_text("notes.sh")
    assert sorted(p.name for p in (data_root / "inbox").iterdir()) == ["p0.png", "p1.png", "p2.png"]
    assert page.evaluate("document.getElementById('upload-progress').value") == 1


def test_multichannel_images_toggle_channels_and_enlarge(
    page: Page, live_server: str, data_root: Path
) -> None:
    import numpy as np
    import tifffile

    folder = data_root / "cells2"
    for cls in ("a", "b"):
        (folder / cls).mkdir(parents=True)
        for index in range(2):
            image = np.zeros((2, 10, 10), np.uint16)
            image[index % 2] = 3000
            tifffile.imwrite(folder / cls / f"{index}.tif", image)
    open_page(page, live_server, "#data")
    page.click("#browse-list a.folder")
    page.click("button.open-dataset[data-path$='/cells2']")
    toggles = page.locator("#channel-toggles input[type=checkbox]")
    expect(toggles).to_have_count(2)
    first = page.locator("img.thumb").first
    before = first.get_attribute("src") or ""
    assert "channels=" not in before
    toggles.nth(1).uncheck()
    expect(first).to_have_attribute("src", re.compile(r"channels=0"))
    first.click()
    overlay = page.locator("#enlarged img")
    expect(overlay).to_be_visible()
    page.wait_for_function("document.querySelector('#enlarged img').naturalWidth >= 256")
    page.locator("#enlarged").click()
    expect(page.locator("#enlarged")).to_have_count(0)
    assert page.console_errors == []


def test_export_downloads_the_model_from_the_run_page(
    page: Page, live_server: str, client: Any, watch: Any, tmp_path: Path
) -> None:
    job = client.post(
        "/api/train", json={"data": "tiny", "name": "dl", "hyperparameters": {"epochs": 1}}
    ).json()
    assert watch.job(job["id"])["status"] == "completed"
    open_page(page, live_server, "#runs")
    page.click(".run-row[data-run=dl] .run-link")
    for fmt, suffix in (("onnx", ".onnx"), ("torchscript", ".pt"), ("safetensors", ".zip")):
        with page.expect_download() as info:
            page.click(f"a.export-link[data-format={fmt}]")
        download = info.value
        assert download.suggested_filename == f"dl{suffix}"
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        assert saved.stat().st_size > 1000
    import onnxruntime

    session = onnxruntime.InferenceSession(str(tmp_path / "dl.onnx"))
    assert session.get_inputs()[0].name == "images"
    assert page.console_errors == []


def test_the_form_shows_essentials_first_and_knobs_when_they_apply(
    page: Page, live_server: str
) -> None:
    open_page(page, live_server, "#train")
    essentials = page.locator("#essentials .knob")
    expect(essentials).to_have_count(6)
    expect(page.locator("#advanced")).not_to_have_attribute("open", "")
    page.click("#advanced > summary")
    momentum = page.locator(".knob[data-knob=momentum]")
    focal = page.locator(".knob[data-knob=focal_gamma]")
    expect(momentum).to_be_hidden()
    expect(page.locator(".knob[data-knob=beta1]")).to_be_visible()
    page.select_option("#knob-optimizer", "momentum")
    expect(momentum).to_be_visible()
    expect(page.locator(".knob[data-knob=beta1]")).to_be_hidden()
    expect(focal).to_be_hidden()
    page.select_option("#knob-loss", "focal")
    expect(focal).to_be_visible()
    # the ladders are one click away
    page.fill("#knob-learning_rate", "0.01")
    page.click("#ladder-up-learning_rate")
    expect(page.locator("#knob-learning_rate")).to_have_value("0.03")
    page.click("#ladder-down-learning_rate")
    page.click("#ladder-down-learning_rate")
    expect(page.locator("#knob-learning_rate")).to_have_value("0.003")
    page.fill("#knob-batch_size", "32")
    page.click("#ladder-up-batch_size")
    expect(page.locator("#knob-batch_size")).to_have_value("64")
    assert page.console_errors == []


def test_a_tune_from_the_page_names_its_ensemble(
    page: Page, live_server: str, data_root: Path
) -> None:
    open_search_page(page, live_server, data_root)
    page.fill("#tune-trials", "3")
    page.select_option("#tune-pruner", "none")
    page.click("#start-tune")
    expect(page.locator("#search-status")).to_have_attribute(
        "data-status", "completed", timeout=WAIT_MS
    )
    expect(page.locator("#ensemble-line")).to_be_visible()
    expect(page.locator("#ensemble-line")).to_contain_text("-ensemble:")
    expect(page.locator("#ensemble-line")).to_contain_text("chosen on: optimistic")
    expect(page.locator("#best-config")).to_be_visible()
    # the 3 trials are the portfolio's first settings (the form's box is ticked by default)
    expect(page.locator(".leader-row", has_text="(warm start)")).to_have_count(3)
    assert page.console_errors == []
