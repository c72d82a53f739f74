"use strict";

/*
 * tunelab playground: a small fully connected network, trained in the page by hand-written
 * backprop and minibatch SGD on 2-D toy data, in the spirit of TensorFlow Playground (nn.ts).
 *
 * Sections: seeded randomness, data sets, input features, the network, knobs and the URL,
 * drawing, the page. Nothing leaves the browser; the whole state lives in the query string,
 * so a link reproduces the same points, the same starting weights and therefore the same run.
 * Tests reach the pure pieces through `window.playground`.
 */
(() => {
  // ---------------------------------------------------------------- seeded randomness

  /** mulberry32 (static/seeded.js): good enough for toy data, and reproducible from a seed. */
  const mulberry32 = window.seededRandom;

  function makeRng(seed) {
    const next = mulberry32(seed);
    return {
      random: next,
      uniform: (lo, hi) => lo + (hi - lo) * next(),
      normal(mean, variance) {
        let u = 0;
        while (u === 0) u = next(); // Box-Muller needs u in (0, 1]
        const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
        return mean + Math.sqrt(variance) * z;
      },
      shuffle(items) {
        for (let i = items.length - 1; i > 0; i--) {
          const j = Math.floor(next() * (i + 1));
          [items[i], items[j]] = [items[j], items[i]];
        }
        return items;
      },
    };
  }

  // ---------------------------------------------------------------- data sets

  // Points live in [-DOMAIN, DOMAIN]^2 and carry a label of +1 or -1 (TF Playground's
  // conventions, so its intuitions carry over).
  const DOMAIN = 6;
  const NUM_SAMPLES = 500;

  /** Each generator returns `n` points {x, y, label}; `noise` is a fraction in [0, 0.5]. */
  const DATASETS = {
    circle(n, noise, rng) {
      const radius = 5;
      const points = [];
      const ring = (rMin, rMax) => {
        for (let i = 0; i < n / 2; i++) {
          const r = rng.uniform(rMin, rMax);
          const angle = rng.uniform(0, 2 * Math.PI);
          const x = r * Math.sin(angle);
          const y = r * Math.cos(angle);
          // The label comes from a jittered position: noise flips points near the boundary.
          const nx = rng.uniform(-radius, radius) * noise;
          const ny = rng.uniform(-radius, radius) * noise;
          points.push({ x, y, label: Math.hypot(x + nx, y + ny) < radius / 2 ? 1 : -1 });
        }
      };
      ring(0, radius * 0.5);
      ring(radius * 0.7, radius);
      return points;
    },
    xor(n, noise, rng) {
      const padding = 0.3; // keeps points off the axes, where the label is ambiguous
      const points = [];
      for (let i = 0; i < n; i++) {
        let x = rng.uniform(-5, 5);
        let y = rng.uniform(-5, 5);
        x += x > 0 ? padding : -padding;
        y += y > 0 ? padding : -padding;
        const nx = rng.uniform(-5, 5) * noise;
        const ny = rng.uniform(-5, 5) * noise;
        points.push({ x, y, label: (x + nx) * (y + ny) >= 0 ? 1 : -1 });
      }
      return points;
    },
    gauss(n, noise, rng) {
      const variance = 0.5 + (noise / 0.5) * 3.5; // noise 0..0.5 -> variance 0.5..4
      const points = [];
      for (const [cx, cy, label] of [
        [2, 2, 1],
        [-2, -2, -1],
      ]) {
        for (let i = 0; i < n / 2; i++) {
          points.push({ x: rng.normal(cx, variance), y: rng.normal(cy, variance), label });
        }
      }
      return points;
    },
    spiral(n, noise, rng) {
      const points = [];
      const arm = (deltaT, label) => {
        const m = n / 2;
        for (let i = 0; i < m; i++) {
          const r = (i / m) * 5;
          const t = ((1.75 * i) / m) * 2 * Math.PI + deltaT;
          const x = r * Math.sin(t) + rng.uniform(-1, 1) * noise;
          const y = r * Math.cos(t) + rng.uniform(-1, 1) * noise;
          points.push({ x, y, label });
        }
      };
      arm(0, 1);
      arm(Math.PI, -1);
      return points;
    },
  };

  /** The points of a data set, shuffled and split into {train, test}; all from `seed`. */
  function generateData(name, noisePercent, trainPercent, seed) {
    const rng = makeRng(seed);
    const points = rng.shuffle(DATASETS[name](NUM_SAMPLES, noisePercent / 100, rng));
    const cut = Math.round((points.length * trainPercent) / 100);
    return { train: points.slice(0, cut), test: points.slice(cut) };
  }

  // ---------------------------------------------------------------- input features

  const FEATURES = {
    x1: { label: "x₁", f: (x) => x },
    x2: { label: "x₂", f: (x, y) => y },
    x1sq: { label: "x₁²", f: (x) => x * x },
    x2sq: { label: "x₂²", f: (x, y) => y * y },
    x1x2: { label: "x₁·x₂", f: (x, y) => x * y },
    sinx1: { label: "sin(x₁)", f: (x) => Math.sin(x) },
    sinx2: { label: "sin(x₂)", f: (x, y) => Math.sin(y) },
  };

  function featurize(features, x, y) {
    return features.map((name) => FEATURES[name].f(x, y));
  }

  // ---------------------------------------------------------------- the network

  const ACTIVATIONS = {
    relu: { f: (z) => Math.max(0, z), df: (z) => (z > 0 ? 1 : 0) },
    tanh: {
      f: Math.tanh,
      df: (z) => {
        const t = Math.tanh(z);
        return 1 - t * t;
      },
    },
    sigmoid: {
      f: (z) => 1 / (1 + Math.exp(-z)),
      df: (z) => {
        const s = 1 / (1 + Math.exp(-z));
        return s * (1 - s);
      },
    },
    linear: { f: (z) => z, df: () => 1 },
  };

  // Penalties on weights (never biases), as a value and its derivative per weight.
  const REGULARIZERS = {
    none: { r: () => 0, dr: () => 0 },
    L1: { r: (w) => Math.abs(w), dr: (w) => Math.sign(w) },
    L2: { r: (w) => 0.5 * w * w, dr: (w) => w },
  };

  /**
   * A network with layer sizes `sizes` ([inputs, ...hidden, 1]). Hidden units use
   * `activation`; the single output uses tanh, so it predicts a label in (-1, 1).
   * Learned state is `layers[l].W[j][i]` (from unit i of layer l to unit j of layer l+1)
   * and `layers[l].b[j]`.
   */
  function buildNetwork(sizes, activation, rng) {
    const layers = [];
    for (let l = 1; l < sizes.length; l++) {
      const W = [];
      for (let j = 0; j < sizes[l]; j++) {
        const row = [];
        for (let i = 0; i < sizes[l - 1]; i++) row.push(rng.uniform(-0.5, 0.5));
        W.push(row);
      }
      layers.push({ W, b: new Array(sizes[l]).fill(0.1) });
    }
    return { sizes: sizes.slice(), activation, layers };
  }

  /** Forward pass; keeps every pre-activation `zs[l]` and activation `as[l]` for backprop. */
  function forward(net, input) {
    const act = ACTIVATIONS[net.activation];
    const zs = [];
    const as = [input];
    net.layers.forEach((layer, l) => {
      const isOutput = l === net.layers.length - 1;
      const prev = as[l];
      const z = layer.b.slice();
      for (let j = 0; j < z.length; j++) {
        const row = layer.W[j];
        for (let i = 0; i < prev.length; i++) z[j] += row[i] * prev[i];
      }
      zs.push(z);
      as.push(z.map(isOutput ? Math.tanh : act.f));
    });
    return { zs, as, output: as[as.length - 1][0] };
  }

  function zeroGradients(net) {
    return net.layers.map((layer) => ({
      W: layer.W.map((row) => new Array(row.length).fill(0)),
      b: new Array(layer.b.length).fill(0),
    }));
  }

  /** Adds d(0.5 * (output - target)^2)/d(parameter) for one example into `grads`. */
  function backward(net, trace, target, grads) {
    const act = ACTIVATIONS[net.activation];
    const out = trace.output;
    let dz = [(out - target) * (1 - out * out)]; // through the tanh output
    for (let l = net.layers.length - 1; l >= 0; l--) {
      const layer = net.layers[l];
      const prev = trace.as[l];
      const g = grads[l];
      const dPrev = new Array(prev.length).fill(0);
      for (let j = 0; j < dz.length; j++) {
        g.b[j] += dz[j];
        for (let i = 0; i < prev.length; i++) {
          g.W[j][i] += dz[j] * prev[i];
          dPrev[i] += layer.W[j][i] * dz[j];
        }
      }
      if (l > 0) dz = dPrev.map((d, i) => d * act.df(trace.zs[l - 1][i]));
    }
  }

  /** Mean squared-error data loss, 0.5 * (output - target)^2 averaged over `examples`. */
  function dataLoss(net, examples) {
    if (examples.length === 0) return 0;
    let total = 0;
    for (const { input, target } of examples) {
      const d = forward(net, input).output - target;
      total += 0.5 * d * d;
    }
    return total / examples.length;
  }

  function penalty(net, reg, rate) {
    const r = REGULARIZERS[reg].r;
    let total = 0;
    for (const layer of net.layers) for (const row of layer.W) for (const w of row) total += r(w);
    return rate * total;
  }

  /** The quantity SGD descends: data loss on `examples` plus the weight penalty. */
  function objective(net, examples, reg, rate) {
    return dataLoss(net, examples) + penalty(net, reg, rate);
  }

  /** Exact gradient of `objective` with respect to every weight and bias. */
  function gradients(net, examples, reg, rate) {
    const grads = zeroGradients(net);
    for (const { input, target } of examples) backward(net, forward(net, input), target, grads);
    const dr = REGULARIZERS[reg].dr;
    const n = Math.max(1, examples.length);
    grads.forEach((g, l) => {
      g.b = g.b.map((v) => v / n);
      g.W = g.W.map((row, j) => row.map((v, i) => v / n + rate * dr(net.layers[l].W[j][i])));
    });
    return grads;
  }

  /** One epoch of minibatch SGD over `examples`, in order (the data is shuffled once). */
  function trainEpoch(net, examples, { batchSize, learningRate, reg, rate }) {
    for (let start = 0; start < examples.length; start += batchSize) {
      const grads = gradients(net, examples.slice(start, start + batchSize), reg, rate);
      net.layers.forEach((layer, l) => {
        layer.b = layer.b.map((b, j) => b - learningRate * grads[l].b[j]);
        layer.W.forEach((row, j) => {
          for (let i = 0; i < row.length; i++) {
            const w = row[i] - learningRate * grads[l].W[j][i];
            // L1's pull is constant, so a plain step overshoots zero and the weight
            // oscillates around it; clipping at zero gives L1 its sparse weights.
            row[i] = reg === "L1" && rate > 0 && w * row[i] < 0 ? 0 : w;
          }
        });
      });
    }
  }

  // ---------------------------------------------------------------- knobs and the URL

  const LEARNING_RATES = [
    0.00001, 0.00003, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10,
  ];
  const REG_RATES = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
  const MAX_LAYERS = 6;
  const MAX_NEURONS = 8;

  /**
   * Every scalar knob, declared once: its URL key, the id of its control, its allowed values
   * and default, and whether changing it starts training over. Selects get their options
   * and sliders their range from here.
   */
  const KNOBS = {
    dataset: { id: "dataset", choices: Object.keys(DATASETS), initial: "circle" },
    noise: { id: "noise", min: 0, max: 50, step: 5, initial: 0 },
    ratio: { id: "ratio", min: 10, max: 90, step: 10, initial: 50 },
    seed: { id: "seed", min: 0, max: 999999, step: 1, initial: 1 },
    batch: { id: "batch-size", min: 1, max: 30, step: 1, initial: 10 },
    // The learning rate alone can change mid-run without a reset, to try a schedule by hand.
    lr: { id: "learning-rate", choices: LEARNING_RATES, initial: 0.03, keepsRun: true },
    activation: { id: "activation", choices: Object.keys(ACTIVATIONS), initial: "tanh" },
    reg: { id: "regularization", choices: Object.keys(REGULARIZERS), initial: "none" },
    rate: { id: "reg-rate", choices: REG_RATES, initial: 0 },
  };
  const DEFAULT_LAYERS = [4, 2];
  const DEFAULT_FEATURES = ["x1", "x2"];

  function warnIgnored(key, raw, allowed) {
    console.warn(`playground: ignored ${key}=${raw}; allowed: ${allowed}.`);
  }

  /** The value of knob `key` from text `raw`, or `fallback` (with a warning). */
  function parseKnob(key, raw, fallback = KNOBS[key].initial) {
    const knob = KNOBS[key];
    if (raw === null) return fallback;
    if (knob.choices) {
      const hit = knob.choices.find((c) => String(c) === raw || c === Number(raw));
      if (hit !== undefined) return hit;
      warnIgnored(key, raw, knob.choices.join(", "));
      return fallback;
    }
    const value = Number(raw);
    const onStep = Number.isInteger((value - knob.min) / knob.step);
    if (raw !== "" && onStep && value >= knob.min && value <= knob.max) return value;
    warnIgnored(key, raw, `${knob.min} to ${knob.max} in steps of ${knob.step}`);
    return fallback;
  }

  function parseLayers(raw) {
    if (raw === null) return DEFAULT_LAYERS.slice();
    const sizes = raw === "" ? [] : raw.split(",").map(Number);
    const ok = sizes.length <= MAX_LAYERS;
    if (ok && sizes.every((n) => Number.isInteger(n) && n >= 1 && n <= MAX_NEURONS)) return sizes;
    warnIgnored("layers", raw, `up to ${MAX_LAYERS} sizes from 1 to ${MAX_NEURONS}, e.g. 4,2`);
    return DEFAULT_LAYERS.slice();
  }

  function parseFeatures(raw) {
    if (raw === null) return DEFAULT_FEATURES.slice();
    const names = raw.split(",");
    if (raw !== "" && names.every((n) => n in FEATURES)) {
      return Object.keys(FEATURES).filter((n) => names.includes(n)); // canonical order
    }
    warnIgnored("features", raw, Object.keys(FEATURES).join(", "));
    return DEFAULT_FEATURES.slice();
  }

  /** The whole playground state from a query string; anything missing takes its default. */
  function parseState(search) {
    const params = new URLSearchParams(search);
    const state = {};
    for (const key of Object.keys(KNOBS)) state[key] = parseKnob(key, params.get(key));
    state.layers = parseLayers(params.get("layers"));
    state.features = parseFeatures(params.get("features"));
    return state;
  }

  /** The query string for `state`; every knob is written, so a link survives new defaults. */
  function stateToQuery(state) {
    const pairs = Object.keys(KNOBS).map((key) => [key, String(state[key])]);
    pairs.push(["layers", state.layers.join(",")], ["features", state.features.join(",")]);
    // Commas are legal in a query string; leaving them bare keeps the link readable.
    return "?" + pairs.map(([k, v]) => `${k}=${encodeURIComponent(v).replace(/%2C/g, ",")}`).join("&");
  }

  // ---------------------------------------------------------------- drawing

  const GRID = 50; // the decision boundary is sampled on GRID x GRID points
  const NEGATIVE = [245, 147, 34]; // label -1: orange
  const NEUTRAL = [232, 234, 235];
  const POSITIVE = [8, 119, 189]; // label +1: blue

  /** Colour of a value in [-1, 1] (clipped), as [r, g, b]. */
  function colour(value) {
    const v = Math.max(-1, Math.min(1, value));
    const [from, t] = v < 0 ? [NEGATIVE, -v] : [POSITIVE, v];
    return NEUTRAL.map((c, k) => Math.round(c + (from[k] - c) * t));
  }

  const css = ([r, g, b]) => `rgb(${r}, ${g}, ${b})`;

  /**
   * Samples the network over the domain once and fills an image per unit: `images[0]` is
   * the output's, `images[1 + h][j]` the j-th unit of hidden layer h.
   */
  function sampleNetwork(net, features) {
    const hidden = net.sizes.slice(1, -1);
    const blank = () => new ImageData(GRID, GRID);
    const output = blank();
    const units = hidden.map((n) => Array.from({ length: n }, blank));
    const step = (2 * DOMAIN) / GRID;
    for (let r = 0; r < GRID; r++) {
      for (let c = 0; c < GRID; c++) {
        const x = -DOMAIN + (c + 0.5) * step;
        const y = DOMAIN - (r + 0.5) * step;
        const trace = forward(net, featurize(features, x, y));
        const at = 4 * (r * GRID + c);
        const paint = (image, value) => {
          image.data.set(colour(value), at);
          image.data[at + 3] = 255;
        };
        paint(output, trace.output);
        units.forEach((layer, h) => layer.forEach((image, j) => paint(image, trace.as[h + 1][j])));
      }
    }
    return { output, units };
  }

  const scratch = document.createElement("canvas");
  scratch.width = GRID;
  scratch.height = GRID;

  /** Draws a GRID x GRID image stretched (and smoothed) over the whole of `canvas`. */
  function drawImage(canvas, image) {
    scratch.getContext("2d").putImageData(image, 0, 0);
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(scratch, 0, 0, canvas.width, canvas.height);
  }

  function drawPoints(canvas, points, outline) {
    const ctx = canvas.getContext("2d");
    const scale = canvas.width / (2 * DOMAIN);
    ctx.lineWidth = 1;
    ctx.strokeStyle = outline;
    for (const p of points) {
      ctx.beginPath();
      ctx.arc((p.x + DOMAIN) * scale, (DOMAIN - p.y) * scale, 3.5, 0, 2 * Math.PI);
      ctx.fillStyle = css(p.label > 0 ? POSITIVE : NEGATIVE);
      ctx.fill();
      ctx.stroke();
    }
  }

  function drawLossChart(canvas, trainLosses, testLosses) {
    const ctx = canvas.getContext("2d");
    const { width, height } = canvas;
    const pad = { left: 38, right: 8, top: 8, bottom: 18 };
    ctx.clearRect(0, 0, width, height);
    const top = Math.max(0.05, ...trainLosses, ...testLosses);
    const epochs = Math.max(1, trainLosses.length - 1);
    const px = (e) => pad.left + (e / epochs) * (width - pad.left - pad.right);
    const py = (v) => pad.top + (1 - v / top) * (height - pad.top - pad.bottom);
    ctx.strokeStyle = "#bbb";
    ctx.beginPath();
    ctx.moveTo(pad.left, pad.top);
    ctx.lineTo(pad.left, height - pad.bottom);
    ctx.lineTo(width - pad.right, height - pad.bottom);
    ctx.stroke();
    ctx.fillStyle = "#555";
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "right";
    ctx.fillText(top.toFixed(2), pad.left - 4, pad.top + 9);
    ctx.fillText("0", pad.left - 4, height - pad.bottom);
    ctx.textAlign = "center";
    ctx.fillText(`epoch ${epochs}`, width - 40, height - 4);
    const line = (values, style, dash) => {
      ctx.strokeStyle = style;
      ctx.setLineDash(dash);
      ctx.lineWidth = 2;
      ctx.beginPath();
      values.forEach((v, e) => (e === 0 ? ctx.moveTo(px(e), py(v)) : ctx.lineTo(px(e), py(v))));
      ctx.stroke();
      ctx.setLineDash([]);
    };
    line(trainLosses, "#7a7a7a", []);
    line(testLosses, "#1d1d1d", [5, 3]);
  }

  // ---------------------------------------------------------------- the page

  const $ = (id) => document.getElementById(id);

  const page = {
    state: parseState(window.location.search),
    data: null, // {train, test} points
    examples: null, // {train, test} as {input, target} for the current features
    net: null,
    epoch: 0,
    trainLosses: [],
    testLosses: [],
    running: false,
    frame: 0,
  };

  function toExamples(points) {
    return points.map((p) => ({ input: featurize(page.state.features, p.x, p.y), target: p.label }));
  }

  /** Regenerates the data and the starting weights from the state; back to epoch 0. */
  function restart() {
    const { dataset, noise, ratio, seed, activation, layers, features } = page.state;
    page.data = generateData(dataset, noise, ratio, seed);
    page.examples = { train: toExamples(page.data.train), test: toExamples(page.data.test) };
    // A second stream from the same seed: the weights do not shift when the data changes.
    const sizes = [features.length, ...layers, 1];
    page.net = buildNetwork(sizes, activation, makeRng((seed * 2654435761 + 1) >>> 0));
    page.epoch = 0;
    page.trainLosses = [];
    page.testLosses = [];
    recordLosses();
    renderNetworkPanel();
    render();
  }

  function recordLosses() {
    page.trainLosses.push(dataLoss(page.net, page.examples.train));
    page.testLosses.push(dataLoss(page.net, page.examples.test));
  }

  function runEpoch() {
    const { batch, lr, reg, rate } = page.state;
    trainEpoch(page.net, page.examples.train, {
      batchSize: batch,
      learningRate: lr,
      reg,
      rate,
    });
    page.epoch += 1;
    recordLosses();
  }

  function showLoss(id, value) {
    const el = $(id);
    el.textContent = value.toFixed(3);
    el.dataset.value = String(value); // full precision, for tests and tooltips
    el.title = String(value);
  }

  function render() {
    $("epoch").textContent = String(page.epoch);
    showLoss("train-loss", page.trainLosses[page.trainLosses.length - 1]);
    showLoss("test-loss", page.testLosses[page.testLosses.length - 1]);
    const images = sampleNetwork(page.net, page.state.features);
    const heatmap = $("heatmap");
    drawImage(heatmap, images.output);
    drawPoints(heatmap, page.data.train, "#fff");
    if ($("show-test").checked) drawPoints(heatmap, page.data.test, "#000");
    images.units.forEach((layer, h) =>
      layer.forEach((image, j) => drawImage($(`neuron-${h + 1}-${j + 1}`), image)),
    );
    drawLossChart($("loss-chart"), page.trainLosses, page.testLosses);
  }

  function setRunning(running) {
    page.running = running;
    $("play").disabled = running;
    $("pause").disabled = !running;
    document.body.dataset.running = String(running);
    $("status").textContent = running ? "Training." : `Paused at epoch ${page.epoch}.`;
    cancelAnimationFrame(page.frame);
    if (running) page.frame = requestAnimationFrame(tick);
  }

  function tick() {
    if (!page.running) return;
    runEpoch();
    render();
    page.frame = requestAnimationFrame(tick);
  }

  function saveToUrl() {
    window.history.replaceState(null, "", window.location.pathname + stateToQuery(page.state));
  }

  /** Shows the state in the controls (after load, or after a change in code). */
  function syncControls() {
    for (const [key, knob] of Object.entries(KNOBS)) {
      $(knob.id).value = String(page.state[key]);
      const shown = $(`${knob.id}-value`);
      if (shown) shown.textContent = String(page.state[key]);
    }
    for (const name of Object.keys(FEATURES)) {
      $(`feature-${name}`).checked = page.state.features.includes(name);
    }
    $("reg-rate").disabled = page.state.reg === "none";
  }

  function changed({ keepsRun = false } = {}) {
    syncControls();
    saveToUrl();
    if (keepsRun) return;
    restart();
    if (!page.running) $("status").textContent = "Reset to epoch 0.";
  }

  function setUpKnobs() {
    for (const [key, knob] of Object.entries(KNOBS)) {
      const el = $(knob.id);
      if (knob.choices) {
        for (const choice of knob.choices) el.add(new Option(String(choice), String(choice)));
      } else {
        Object.assign(el, { min: knob.min, max: knob.max, step: knob.step });
      }
      // Sliders report while dragging ("input"); selects and number boxes on "change".
      const event = el.type === "range" ? "input" : "change";
      el.addEventListener(event, () => {
        // A typed value out of range is put back to the current one, not the default.
        const value = parseKnob(key, el.value, page.state[key]);
        if (value === page.state[key]) {
          el.value = String(value);
          return;
        }
        page.state[key] = value;
        changed({ keepsRun: knob.keepsRun });
      });
    }
    $("new-seed").addEventListener("click", () => {
      page.state.seed = Math.floor(Math.random() * (KNOBS.seed.max + 1));
      changed();
    });
  }

  function setUpFeatures() {
    const box = $("features");
    for (const [name, feature] of Object.entries(FEATURES)) {
      const label = document.createElement("label");
      label.className = "feature";
      const input = document.createElement("input");
      Object.assign(input, { type: "checkbox", id: `feature-${name}`, value: name });
      input.addEventListener("change", () => {
        const chosen = Object.keys(FEATURES).filter((n) => $(`feature-${n}`).checked);
        if (chosen.length === 0) {
          input.checked = true; // the network needs at least one input
          return;
        }
        page.state.features = chosen;
        changed();
      });
      label.append(input, ` ${feature.label}`);
      box.append(label);
    }
  }

  function button(id, text, ariaLabel, onClick, disabled) {
    const b = document.createElement("button");
    Object.assign(b, { id, type: "button", textContent: text, disabled });
    b.setAttribute("aria-label", ariaLabel);
    b.addEventListener("click", onClick);
    return b;
  }

  /** Rebuilds the hidden-layer columns: +/- buttons, a count and one small map per unit. */
  function renderNetworkPanel() {
    const { layers, features } = page.state;
    $("layer-count").textContent = String(layers.length);
    $("add-layer").disabled = layers.length >= MAX_LAYERS;
    $("remove-layer").disabled = layers.length === 0;
    $("network-shape").textContent = [features.length, ...layers, 1].join(" → ");
    const box = $("layers");
    box.replaceChildren();
    layers.forEach((n, h) => {
      const k = h + 1;
      const column = document.createElement("div");
      column.className = "layer";
      column.setAttribute("role", "group");
      column.setAttribute("aria-label", `Hidden layer ${k}`);
      const count = document.createElement("output");
      count.id = `layer-${k}-neurons`;
      count.textContent = String(n);
      count.setAttribute("aria-label", `Neurons in hidden layer ${k}`);
      const resize = (delta) => () => {
        page.state.layers[h] = n + delta;
        changed();
      };
      const controls = document.createElement("div");
      controls.className = "neuron-controls";
      controls.append(
        button(`layer-${k}-remove`, "−", `Remove a neuron from hidden layer ${k}`, resize(-1), n <= 1),
        count,
        button(`layer-${k}-add`, "+", `Add a neuron to hidden layer ${k}`, resize(1), n >= MAX_NEURONS),
      );
      const units = document.createElement("div");
      units.className = "units";
      for (let j = 1; j <= n; j++) {
        const canvas = document.createElement("canvas");
        Object.assign(canvas, { id: `neuron-${k}-${j}`, width: 32, height: 32 });
        canvas.setAttribute("role", "img");
        canvas.setAttribute("aria-label", `Output of neuron ${j} in hidden layer ${k}`);
        units.append(canvas);
      }
      const title = document.createElement("span");
      title.className = "layer-title";
      title.textContent = `Layer ${k}`;
      column.append(title, controls, units);
      box.append(column);
    });
  }

  function setUpLayers() {
    $("add-layer").addEventListener("click", () => {
      if (page.state.layers.length >= MAX_LAYERS) return;
      page.state.layers.push(2);
      changed();
    });
    $("remove-layer").addEventListener("click", () => {
      if (page.state.layers.length === 0) return;
      page.state.layers.pop();
      changed();
    });
  }

  function setUpRunControls() {
    $("play").addEventListener("click", () => setRunning(true));
    $("pause").addEventListener("click", () => setRunning(false));
    $("step").addEventListener("click", () => {
      setRunning(false);
      runEpoch();
      render();
      $("status").textContent = `Stepped to epoch ${page.epoch}.`;
    });
    $("reset").addEventListener("click", () => {
      setRunning(false);
      restart();
      $("status").textContent = "Reset to epoch 0.";
    });
    $("show-test").addEventListener("change", render);
  }

  setUpKnobs();
  setUpFeatures();
  setUpLayers();
  setUpRunControls();
  syncControls();
  saveToUrl(); // a bare /playground becomes a full, shareable link at once
  restart();
  setRunning(false);
  $("status").textContent = "";

  // The pure pieces, for tests and for poking at from the console.
  window.playground = {
    makeRng,
    generateData,
    featurize,
    nn: { buildNetwork, forward, dataLoss, objective, gradients, trainEpoch },
    parseState,
    stateToQuery,
    get state() {
      return structuredClone(page.state);
    },
    get epoch() {
      return page.epoch;
    },
    get network() {
      return page.net;
    },
    get losses() {
      return { train: page.trainLosses.slice(), test: page.testLosses.slice() };
    },
  };
  document.body.dataset.ready = "true";
})();
