// Gradient descent on a 2-parameter loss surface: a line fit y = w*x + b, mean squared
// error, optimised from one start by several optimizers at once. Runs in the browser only.
"use strict";

const DATA_SIZE = 64;
const START = { w: -1.0, b: 3.0 };
const VIEW = { w: [-2.5, 4.5], b: [-5.5, 4.5] };
const RATES = [0.003, 0.01, 0.03, 0.1, 0.3, 0.35, 1];
const BATCHES = [1, 4, 16, DATA_SIZE];
const OPTIMIZERS = ["sgd", "momentum", "adam"];
const COLOURS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"];
const MAX_PATHS = COLOURS.length;
const DIVERGED = 1e6; // a loss above this (or not finite) ends the path as diverged
const DEFAULT_PATHS = "0.01:64:sgd,0.1:64:sgd,0.35:64:sgd";

// mulberry32 (static/seeded.js): a link replays the same data and batches
const rng = window.seededRandom;

function makeData(seed) {
  const random = rng(seed);
  const xs = [];
  const ys = [];
  for (let i = 0; i < DATA_SIZE; i += 1) {
    const x = 4 * random();
    const noise = (random() + random() + random() - 1.5) * 0.8;
    xs.push(x);
    ys.push(1.5 * x - 2 + noise);
  }
  return { xs, ys };
}

function loss(data, w, b, index) {
  const rows = index || data.xs.map((_, i) => i);
  let total = 0;
  for (const i of rows) {
    const err = w * data.xs[i] + b - data.ys[i];
    total += err * err;
  }
  return total / (2 * rows.length);
}

function gradient(data, w, b, rows) {
  let gw = 0;
  let gb = 0;
  for (const i of rows) {
    const err = w * data.xs[i] + b - data.ys[i];
    gw += err * data.xs[i];
    gb += err;
  }
  return [gw / rows.length, gb / rows.length];
}

function minimum(data) {
  // least squares in closed form: where every path is heading
  const n = data.xs.length;
  const mx = data.xs.reduce((s, x) => s + x, 0) / n;
  const my = data.ys.reduce((s, y) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i += 1) {
    sxy += (data.xs[i] - mx) * (data.ys[i] - my);
    sxx += (data.xs[i] - mx) ** 2;
  }
  const w = sxy / sxx;
  return { w, b: my - w * mx };
}

function newPath(spec, index, seed) {
  return {
    lr: spec.lr,
    batch: spec.batch,
    optimizer: spec.optimizer,
    colour: COLOURS[index % COLOURS.length],
    w: START.w,
    b: START.b,
    points: [[START.w, START.b]],
    losses: [],
    state: { mw: 0, mb: 0, vw: 0, vb: 0, t: 0 },
    order: [],
    random: rng(seed * 7919 + index + 1),
    diverged: false,
  };
}

function nextBatch(path) {
  // a new shuffled pass when the current one runs out (full batches only)
  if (path.order.length < path.batch) {
    const order = [...Array(DATA_SIZE).keys()];
    for (let i = order.length - 1; i > 0; i -= 1) {
      const j = Math.floor(path.random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    path.order = order;
  }
  return path.order.splice(0, path.batch);
}

function step(path, data) {
  if (path.diverged) return;
  const [gw, gb] = gradient(data, path.w, path.b, nextBatch(path));
  const s = path.state;
  if (path.optimizer === "momentum") {
    s.mw = 0.9 * s.mw + gw;
    s.mb = 0.9 * s.mb + gb;
    path.w -= path.lr * s.mw;
    path.b -= path.lr * s.mb;
  } else if (path.optimizer === "adam") {
    s.t += 1;
    s.mw = 0.9 * s.mw + 0.1 * gw;
    s.mb = 0.9 * s.mb + 0.1 * gb;
    s.vw = 0.999 * s.vw + 0.001 * gw * gw;
    s.vb = 0.999 * s.vb + 0.001 * gb * gb;
    const c1 = 1 - 0.9 ** s.t;
    const c2 = 1 - 0.999 ** s.t;
    path.w -= (path.lr * (s.mw / c1)) / (Math.sqrt(s.vw / c2) + 1e-8);
    path.b -= (path.lr * (s.mb / c1)) / (Math.sqrt(s.vb / c2) + 1e-8);
  } else {
    path.w -= path.lr * gw;
    path.b -= path.lr * gb;
  }
  const value = loss(data, path.w, path.b);
  path.losses.push(value);
  path.points.push([path.w, path.b]);
  if (!Number.isFinite(value) || value > DIVERGED) path.diverged = true;
}

function verdict(path, data, best) {
  const start = loss(data, START.w, START.b);
  if (path.diverged) return "diverged: the steps overshoot and grow";
  if (!path.losses.length) return "not started";
  const last = path.losses[path.losses.length - 1];
  const recent = path.losses.slice(-10);
  const rises = recent.slice(1).filter((v, i) => v > recent[i]).length;
  if (last > start) return "the loss grows: learning rate too large";
  if (last < best * 1.05) return rises > 3 ? "at the minimum, jittering (noisy batches)" : "reached the minimum";
  if (rises > 3) return "oscillating: learning rate near its limit, or noisy batches";
  return "still descending: a larger learning rate would get there sooner";
}

function parsePaths(text) {
  const specs = [];
  for (const part of (text || "").split(",")) {
    const [lr, batch, optimizer] = part.split(":");
    const spec = { lr: Number(lr), batch: Number(batch), optimizer };
    if (!(spec.lr > 0 && spec.lr <= 10)) continue;
    if (!BATCHES.includes(spec.batch) || !OPTIMIZERS.includes(spec.optimizer)) continue;
    specs.push(spec);
    if (specs.length === MAX_PATHS) break;
  }
  return specs;
}

function readState(search) {
  const params = new URLSearchParams(search);
  const seed = Number.parseInt(params.get("seed") || "1", 10);
  const steps = Number.parseInt(params.get("steps") || "0", 10);
  return {
    seed: Number.isFinite(seed) && seed >= 0 ? seed : 1,
    steps: Number.isFinite(steps) && steps >= 0 ? Math.min(steps, 5000) : 0,
    specs: parsePaths(params.has("paths") ? params.get("paths") : DEFAULT_PATHS),
  };
}

function stateQuery(page) {
  const paths = page.paths.map((p) => `${p.lr}:${p.batch}:${p.optimizer}`).join(",");
  return `?paths=${paths}&steps=${page.steps}&seed=${page.seed}`;
}

// ------------------------------------------------------------------ drawing

function toPixel(canvas, w, b) {
  const x = ((w - VIEW.w[0]) / (VIEW.w[1] - VIEW.w[0])) * canvas.width;
  const y = canvas.height - ((b - VIEW.b[0]) / (VIEW.b[1] - VIEW.b[0])) * canvas.height;
  return [x, y];
}

function drawSurface(page) {
  const canvas = page.surface;
  const ctx = canvas.getContext("2d");
  if (!page.background) {
    // contour bands of log(loss), computed once per data set
    const image = ctx.createImageData(canvas.width, canvas.height);
    const levels = [];
    for (let py = 0; py < canvas.height; py += 1) {
      const b = VIEW.b[0] + ((canvas.height - py) / canvas.height) * (VIEW.b[1] - VIEW.b[0]);
      for (let px = 0; px < canvas.width; px += 1) {
        const w = VIEW.w[0] + (px / canvas.width) * (VIEW.w[1] - VIEW.w[0]);
        levels.push(Math.log(loss(page.data, w, b)));
      }
    }
    let low = Infinity;
    let high = -Infinity;
    for (const level of levels) {
      low = Math.min(low, level);
      high = Math.max(high, level);
    }
    for (let i = 0; i < levels.length; i += 1) {
      const t = (levels[i] - low) / (high - low);
      const band = Math.floor(t * 14);
      const right = i % canvas.width < canvas.width - 1 ? levels[i + 1] : levels[i];
      const below = i + canvas.width < levels.length ? levels[i + canvas.width] : levels[i];
      const edge =
        Math.floor(((right - low) / (high - low)) * 14) !== band ||
        Math.floor(((below - low) / (high - low)) * 14) !== band;
      const shade = edge ? 120 : 255 - Math.round(150 * (1 - t));
      image.data[4 * i] = shade;
      image.data[4 * i + 1] = edge ? 120 : Math.round(shade * 0.97);
      image.data[4 * i + 2] = edge ? 140 : 255;
      image.data[4 * i + 3] = 255;
    }
    page.background = image;
  }
  ctx.putImageData(page.background, 0, 0);
  const [mx, my] = toPixel(canvas, page.best.w, page.best.b);
  for (const [colour, width] of [["#fff", 4], ["#111", 2]]) {
    ctx.strokeStyle = colour;
    ctx.lineWidth = width;
    ctx.beginPath();
    ctx.moveTo(mx - 6, my - 6);
    ctx.lineTo(mx + 6, my + 6);
    ctx.moveTo(mx + 6, my - 6);
    ctx.lineTo(mx - 6, my + 6);
    ctx.stroke();
  }
  for (const path of page.paths) {
    ctx.strokeStyle = path.colour;
    ctx.lineWidth = 1.6;
    ctx.beginPath();
    // a diverging path is drawn until it leaves the view by far (its steps grow without bound)
    const shown = path.points.filter(([w, b]) => Math.abs(w) < 50 && Math.abs(b) < 50);
    shown.forEach(([w, b], i) => {
      const [x, y] = toPixel(canvas, w, b);
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.stroke();
    const [x, y] = toPixel(canvas, path.w, path.b);
    ctx.fillStyle = path.colour;
    ctx.beginPath();
    ctx.arc(x, y, 4, 0, 2 * Math.PI);
    ctx.fill();
  }
  ticks(ctx, canvas, VIEW.w, VIEW.b, "w", "b");
  const [sx, sy] = toPixel(canvas, START.w, START.b);
  ctx.fillStyle = "#111";
  ctx.fillRect(sx - 3, sy - 3, 6, 6);
}

function drawCurves(page) {
  const canvas = page.curves;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const values = page.paths.flatMap((p) => p.losses.filter((v) => Number.isFinite(v) && v > 0));
  if (!values.length) return;
  const low = Math.log10(values.reduce((a, v) => Math.min(a, v), page.bestLoss));
  const high = Math.log10(Math.min(values.reduce((a, v) => Math.max(a, v), 0), DIVERGED));
  const span = Math.max(high - low, 1e-6);
  const steps = Math.max(page.steps, 1);
  ctx.strokeStyle = "#ccc";
  ctx.strokeRect(0.5, 0.5, canvas.width - 1, canvas.height - 1);
  ticks(ctx, canvas, [0, steps], [low, high], "step", "log10 loss");
  for (const path of page.paths) {
    ctx.strokeStyle = path.colour;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    path.losses.forEach((v, i) => {
      const value = Math.log10(Math.min(Math.max(v, 1e-12), DIVERGED));
      const x = ((i + 1) / steps) * canvas.width;
      const y = canvas.height - ((value - low) / span) * (canvas.height - 4) - 2;
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }
}

function ticks(ctx, canvas, across, up, acrossName, upName) {
  // round tick labels on the left and bottom edges, and the axis names
  ctx.fillStyle = "#333";
  ctx.font = "11px system-ui, sans-serif";
  const nice = (low, high) => {
    const raw = (high - low) / 5;
    const power = 10 ** Math.floor(Math.log10(raw));
    const unit = [1, 2, 5, 10].map((m) => m * power).find((u) => u >= raw) || raw;
    const values = [];
    for (let v = Math.ceil(low / unit) * unit; v <= high + 1e-9; v += unit) values.push(v);
    return values;
  };
  for (const v of nice(across[0], across[1])) {
    const x = ((v - across[0]) / (across[1] - across[0])) * canvas.width;
    ctx.fillText(String(Number(v.toPrecision(3))), x + 2, canvas.height - 4);
  }
  for (const v of nice(up[0], up[1])) {
    const y = canvas.height - ((v - up[0]) / (up[1] - up[0])) * canvas.height;
    ctx.fillText(String(Number(v.toPrecision(3))), 3, y - 2);
  }
  ctx.font = "bold 12px system-ui, sans-serif";
  ctx.fillText(acrossName, canvas.width - ctx.measureText(acrossName).width - 6, canvas.height - 16);
  ctx.fillText(upName, 28, 14);
}

function drawTable(page) {
  const body = page.table.querySelector("tbody");
  body.textContent = "";
  page.paths.forEach((path, i) => {
    const row = document.createElement("tr");
    row.className = "path-row";
    row.dataset.lr = String(path.lr);
    row.dataset.batch = String(path.batch);
    row.dataset.optimizer = path.optimizer;
    const current = path.losses.length ? path.losses[path.losses.length - 1] : loss(page.data, START.w, START.b);
    row.dataset.loss = String(current);
    row.dataset.diverged = String(path.diverged);
    row.dataset.length = String(pathLength(path));
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = path.colour;
    const cells = [
      [swatch, ` ${i + 1}`],
      [String(path.lr)],
      [path.batch === DATA_SIZE ? `${DATA_SIZE} (all)` : String(path.batch)],
      [path.optimizer],
      [path.diverged ? "diverged" : current.toPrecision(3)],
      [verdict(path, page.data, page.bestLoss)],
    ];
    for (const parts of cells) {
      const cell = document.createElement("td");
      cell.append(...parts);
      row.append(cell);
    }
    body.append(row);
  });
}

function pathLength(path) {
  let total = 0;
  for (let i = 1; i < path.points.length; i += 1) {
    const [w0, b0] = path.points[i - 1];
    const [w1, b1] = path.points[i];
    total += Math.hypot(w1 - w0, b1 - b0);
  }
  return Number.isFinite(total) ? total : Number.MAX_VALUE;
}

function render(page) {
  page.stepsOut.textContent = String(page.steps);
  drawSurface(page);
  drawCurves(page);
  drawTable(page);
  window.history.replaceState(null, "", window.location.pathname + stateQuery(page));
}

// ------------------------------------------------------------------ wiring

function fill(select, values, chosen, label) {
  for (const value of values) {
    const option = document.createElement("option");
    option.value = String(value);
    option.textContent = label ? label(value) : String(value);
    if (value === chosen) option.selected = true;
    select.append(option);
  }
}

function advance(page, count) {
  for (let i = 0; i < count; i += 1) {
    for (const path of page.paths) step(path, page.data);
    page.steps += 1;
  }
}

function start() {
  const state = readState(window.location.search);
  const page = {
    seed: state.seed,
    data: makeData(state.seed),
    steps: 0,
    paths: [],
    timer: null,
    background: null,
    surface: document.getElementById("d-surface"),
    curves: document.getElementById("d-curves"),
    table: document.getElementById("d-paths"),
    stepsOut: document.getElementById("d-steps"),
  };
  page.best = minimum(page.data);
  page.bestLoss = loss(page.data, page.best.w, page.best.b);
  page.paths = state.specs.map((spec, i) => newPath(spec, i, page.seed));
  advance(page, state.steps);

  const rate = document.getElementById("d-learning-rate");
  const batch = document.getElementById("d-batch");
  const optimizer = document.getElementById("d-optimizer");
  fill(rate, RATES, 0.1);
  fill(batch, BATCHES, DATA_SIZE, (b) => (b === 1 ? "1 (SGD)" : b === DATA_SIZE ? `${b} (full batch)` : `${b} (mini-batch)`));
  fill(optimizer, OPTIMIZERS, "sgd");
  const play = document.getElementById("d-play");
  const pause = document.getElementById("d-pause");

  const replay = () => {
    // every path restarts from the same start, so a new one is compared fairly
    const steps = page.steps;
    page.paths = page.paths.map((p, i) => newPath(p, i, page.seed));
    page.steps = 0;
    advance(page, steps);
  };
  document.getElementById("d-add").addEventListener("click", () => {
    const spec = { lr: Number(rate.value), batch: Number(batch.value), optimizer: optimizer.value };
    if (page.paths.length === MAX_PATHS) page.paths.shift();
    page.paths.push(spec);
    replay();
    render(page);
  });
  document.getElementById("d-step").addEventListener("click", () => {
    advance(page, 1);
    render(page);
  });
  document.getElementById("d-clear").addEventListener("click", () => {
    page.paths = [];
    page.steps = 0;
    render(page);
  });
  play.addEventListener("click", () => {
    play.disabled = true;
    pause.disabled = false;
    page.timer = window.setInterval(() => {
      advance(page, 1);
      render(page);
      if (page.steps >= 5000) pause.click();
    }, 40);
  });
  pause.addEventListener("click", () => {
    window.clearInterval(page.timer);
    play.disabled = false;
    pause.disabled = true;
  });
  render(page);
  document.body.dataset.ready = "true";
}

document.addEventListener("DOMContentLoaded", start);
