"""The playground page, driven in headless Chromium: training, controls, the URL, the maths."""

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


def open_playground(page: Page, live_server: str, query: str = "") -> None:
    page.goto(f"{live_server}/playground{query}")
    page.wait_for_selector("body[data-ready=true]")


def epoch(page: Page) -> int:
    return int(page.locator("#epoch").inner_text())


def train_loss(page: Page) -> float:
    return float(page.locator("#train-loss").get_attribute("data-value") or "nan")


def test_play_lowers_the_training_loss_and_pause_stops(page: Page, live_server: str) -> None:
    open_playground(page, live_server)
    first = train_loss(page)
    assert epoch(page) == 0

    page.click("#play")
    page.wait_for_function("Number(document.querySelector('#epoch').textContent) >= 60")
    page.click("#pause")
    later = train_loss(page)
    assert later < 0.6 * first, f"training loss went from {first} to {later} in 60+ epochs"

    stopped_at = epoch(page)
    page.wait_for_timeout(300)
    assert epoch(page) == stopped_at
    expect(page.locator("#play")).to_be_enabled()
    expect(page.locator("#pause")).to_be_disabled()

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "playground.png"), full_page=True)


def test_step_trains_exactly_one_epoch(page: Page, live_server: str) -> None:
    open_playground(page, live_server)
    before = train_loss(page)
    page.click("#step")
    expect(page.locator("#epoch")).to_have_text("1")
    assert train_loss(page) != before
    page.click("#step")
    expect(page.locator("#epoch")).to_have_text("2")
    page.wait_for_timeout(200)
    assert epoch(page) == 2

    page.click("#reset")
    expect(page.locator("#epoch")).to_have_text("0")
    assert train_loss(page) == before  # same seed, same starting weights


STATE = (
    "?dataset=spiral&noise=20&ratio=70&seed=7&batch=5&lr=0.003&activation=relu"
    "&reg=L2&rate=0.001&layers=6,3,2&features=x1,x2,sinx1"
)


def test_a_link_reproduces_controls_data_and_run(page: Page, live_server: str) -> None:
    open_playground(page, live_server, STATE)
    controls = {
        "#dataset": "spiral",
        "#noise": "20",
        "#ratio": "70",
        "#seed": "7",
        "#batch-size": "5",
        "#learning-rate": "0.003",
        "#activation": "relu",
        "#regularization": "L2",
        "#reg-rate": "0.001",
    }
    for selector, value in controls.items():
        expect(page.locator(selector)).to_have_value(value)
    expect(page.locator("#layer-count")).to_have_text("3")
    for k, n in enumerate([6, 3, 2], start=1):
        expect(page.locator(f"#layer-{k}-neurons")).to_have_text(str(n))
    for name in ["x1", "x2", "sinx1"]:
        expect(page.locator(f"#feature-{name}")).to_be_checked()
    expect(page.locator("#feature-x1sq")).not_to_be_checked()

    for _ in range(3):
        page.click("#step")
    expect(page.locator("#epoch")).to_have_text("3")
    loss = train_loss(page)
    open_playground(page, live_server, STATE)
    for _ in range(3):
        page.click("#step")
    expect(page.locator("#epoch")).to_have_text("3")
    assert train_loss(page) == loss


def test_changing_a_control_updates_the_url(page: Page, live_server: str) -> None:
    open_playground(page, live_server)
    assert "dataset=circle" in page.url and "layers=4,2" in page.url  # a bare link is filled in

    page.select_option("#dataset", "xor")
    page.select_option("#learning-rate", "0.1")
    page.click("#add-layer")
    page.click("#layer-1-add")
    page.check("#feature-x1x2")
    for part in ["dataset=xor", "lr=0.1", "layers=5,2,2", "features=x1,x2,x1x2"]:
        assert part in page.url
    expect(page.locator("#network-shape")).to_have_text("3 → 5 → 2 → 2 → 1")


def test_bad_values_in_a_link_fall_back_to_defaults(page: Page, live_server: str) -> None:
    open_playground(page, live_server, "?dataset=moons&lr=5&layers=9,9&noise=7")
    expect(page.locator("#dataset")).to_have_value("circle")
    expect(page.locator("#learning-rate")).to_have_value("0.03")
    expect(page.locator("#noise")).to_have_value("0")
    expect(page.locator("#layer-count")).to_have_text("2")


# Central differences of the objective (data loss + penalty) against the hand-written
# backprop, for every weight and bias of a 3-input, 4-3-1 network on random points.
GRADIENT_CHECK = """([activation, reg]) => {
  const { makeRng, featurize, nn } = window.playground;
  const rng = makeRng(42);
  const features = ["x1", "x2", "x1x2"];
  const net = nn.buildNetwork([3, 4, 3, 1], activation, rng);
  const examples = Array.from({ length: 8 }, () => {
    const x = rng.uniform(-3, 3), y = rng.uniform(-3, 3);
    return { input: featurize(features, x, y), target: rng.random() < 0.5 ? -1 : 1 };
  });
  const rate = 0.03, eps = 1e-6;
  const grads = nn.gradients(net, examples, reg, rate);
  const pairs = [];
  const check = (holder, key, analytic) => {
    const kept = holder[key];
    holder[key] = kept + eps;
    const up = nn.objective(net, examples, reg, rate);
    holder[key] = kept - eps;
    const down = nn.objective(net, examples, reg, rate);
    holder[key] = kept;
    pairs.push([analytic, (up - down) / (2 * eps)]);
  };
  net.layers.forEach((layer, l) => {
    layer.b.forEach((_, j) => check(layer.b, j, grads[l].b[j]));
    layer.W.forEach((row, j) => row.forEach((_, i) => check(row, i, grads[l].W[j][i])));
  });
  return pairs;
}"""


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "linear"])
def test_backprop_matches_finite_differences(page: Page, live_server: str, activation: str) -> None:
    open_playground(page, live_server)
    for reg in ["none", "L1", "L2"]:
        pairs = page.evaluate(GRADIENT_CHECK, [activation, reg])
        assert len(pairs) == (3 * 4 + 4) + (4 * 3 + 3) + (3 + 1)
        analytic = [a for a, _ in pairs]
        numeric = [n for _, n in pairs]
        assert any(abs(a) > 1e-4 for a in analytic), "a vanishing gradient proves nothing"
        assert analytic == pytest.approx(numeric, rel=1e-5, abs=1e-8), (activation, reg)
