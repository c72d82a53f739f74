"""The gradient-descent page, driven in headless Chromium: paths on a 2-parameter loss surface."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(autouse=True)
def _no_console_errors(page: Page) -> Iterator[None]:
    yield
    assert page.console_errors == []  # type: ignore[attr-defined]


def open_descent(page: Page, live_server: str, query: str = "") -> None:
    page.goto(f"{live_server}/descent{query}")
    page.wait_for_selector("body[data-ready=true]")


def rows(page: Page) -> list[dict[str, str]]:
    return page.eval_on_selector_all(
        "#d-paths tbody tr", "rows => rows.map(r => Object.assign({}, r.dataset))"
    )


def start_loss(page: Page, live_server: str) -> float:
    open_descent(page, live_server, "?paths=0.1:64:sgd&steps=0&seed=1")
    return float(rows(page)[0]["loss"])


def test_good_rate_descends_small_crawls_large_diverges(page: Page, live_server: str) -> None:
    start = start_loss(page, live_server)
    open_descent(page, live_server, "?paths=0.01:64:sgd,0.1:64:sgd,0.35:64:sgd&steps=150&seed=1")
    small, good, large = rows(page)
    assert good["diverged"] == "false" and float(good["loss"]) < 0.2 * start
    assert small["diverged"] == "false" and float(good["loss"]) < float(small["loss"]) < start
    assert large["diverged"] == "true"
    verdicts = page.locator("#d-paths tbody tr td:last-child").all_inner_texts()
    assert "diverged" in verdicts[2] and "still descending" in verdicts[0]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "descent.png"), full_page=True)


def test_sgd_path_is_noisier_than_the_full_batch_path(page: Page, live_server: str) -> None:
    open_descent(page, live_server, "?paths=0.03:1:sgd,0.03:64:sgd&steps=300&seed=1")
    sgd, full = rows(page)
    # same start, same learning rate: batch-1 steps wander, so the path is much longer
    assert float(sgd["length"]) > 1.5 * float(full["length"])
    assert sgd["diverged"] == full["diverged"] == "false"


def test_adding_a_path_replays_and_the_url_holds_it(page: Page, live_server: str) -> None:
    open_descent(page, live_server, "?paths=0.1:64:sgd&steps=20&seed=3")
    page.select_option("#d-learning-rate", "0.03")
    page.select_option("#d-batch", "4")
    page.select_option("#d-optimizer", "momentum")
    page.click("#d-add")
    found = rows(page)
    assert [(r["lr"], r["batch"], r["optimizer"]) for r in found] == [
        ("0.1", "64", "sgd"),
        ("0.03", "4", "momentum"),
    ]
    expect(page.locator("#d-steps")).to_have_text("20")
    url = page.url
    assert "paths=0.1:64:sgd,0.03:4:momentum" in url and "steps=20" in url and "seed=3" in url
    before = rows(page)
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]")
    assert rows(page) == before  # the link replays the same paths to the same losses
    page.click("#d-step")
    expect(page.locator("#d-steps")).to_have_text("21")


def test_bad_values_in_the_link_are_ignored_not_fatal(page: Page, live_server: str) -> None:
    open_descent(page, live_server, "?paths=-1:64:sgd,0.1:7:sgd,0.1:64:lbfgs,0.1:1:adam&steps=x")
    found = rows(page)
    assert [(r["lr"], r["batch"], r["optimizer"]) for r in found] == [("0.1", "1", "adam")]
    expect(page.locator("#d-steps")).to_have_text("0")


def test_the_playground_links_to_it(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/playground")
    page.click("#descent-link")
    page.wait_for_selector("body[data-ready=true]")
    assert page.url.split("?")[0].endswith("/descent")
