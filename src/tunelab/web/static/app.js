// The tunelab workbench: Data sets, Train, Runs, Sweep and tune. Plain JS, no build step.
// Every call goes through tunelab.api (static/tunelab.js), which carries the page's token.
"use strict";

const { api, events, el, fmt, withToken } = window.tunelab;

const state = {
  data: localStorage.getItem("tunelab.data") || "",
  knobs: [],
  groups: [],
  values: {},
  job: null,
  source: null,
  rendered: {},
};

// ------------------------------------------------------------------ shell

function showError(message) {
  const box = document.getElementById("error");
  box.textContent = message || "";
  box.hidden = !message;
}

async function guarded(action) {
  try {
    showError("");
    return await action();
  } catch (err) {
    showError(err.message);
    return undefined;
  }
}

function route() {
  const name = (window.location.hash || "#data").slice(1).split("?")[0] || "data";
  for (const page of document.querySelectorAll(".page")) page.hidden = page.id !== "page-" + name;
  for (const link of document.querySelectorAll("nav a[data-page]")) {
    link.classList.toggle("active", link.dataset.page === name);
  }
  const render = { data: renderData, train: renderTrain, runs: renderRuns, search: renderSearch };
  if (render[name]) guarded(render[name]);
}

function setData(path) {
  state.data = path;
  localStorage.setItem("tunelab.data", path);
  for (const input of document.querySelectorAll("input.data-input")) input.value = path;
}

function dataInput(id) {
  return el("input", {
    id,
    class: "data-input",
    type: "text",
    value: state.data,
    placeholder: "a folder under the data roots, or digits",
    size: 50,
    oninput: (e) => setData(e.target.value),
  });
}

let revision = 0;
function plot(id, traces, layout) {
  const node = document.getElementById(id);
  revision += 1; // arrays grow in place: a new revision makes Plotly.react redraw them
  const base = {
    datarevision: revision,
    margin: { l: 50, r: 50, t: 30, b: 50 },
    height: 320,
    legend: { orientation: "h", y: -0.3 },
  };
  Plotly.react(node, traces, Object.assign(base, layout || {}), { displaylogo: false, responsive: true });
  const points = traces.reduce((n, t) => n + (t.x ? t.x.length : 0), 0);
  node.dataset.points = String(points);
}

// ------------------------------------------------------------------ Data sets

async function renderData() {
  const page = document.getElementById("page-data");
  if (!state.rendered.data) {
    state.rendered.data = true;
    page.append(
      el("h2", { text: "Data sets" }),
      el("p", { class: "muted", text: "Choose a folder with one sub-folder per class, under the server's data roots." }),
      el("div", { id: "browse" }),
      el("div", { id: "dataset-info" }),
    );
  }
  await browse(null);
  if (state.data) await guarded(() => openDataset(state.data));
}

async function browse(path) {
  const listing = await api("/api/browse" + (path ? "?path=" + encodeURIComponent(path) : ""));
  const box = document.getElementById("browse");
  const items = [];
  if (listing.parent) {
    items.push(el("li", {}, el("a", { href: "#data", class: "folder", onclick: (e) => { e.preventDefault(); guarded(() => browse(listing.parent)); } }, "..")));
  } else if (listing.path) {
    items.push(el("li", {}, el("a", { href: "#data", class: "folder", onclick: (e) => { e.preventDefault(); guarded(() => browse(null)); } }, "(data roots)")));
  }
  for (const folder of listing.folders) {
    items.push(
      el("li", {},
        el("a", { href: "#data", class: "folder", "data-path": folder.path, onclick: (e) => { e.preventDefault(); guarded(() => browse(folder.path)); } }, folder.name + "/"),
        folder.is_dataset ? el("button", { class: "open-dataset", "data-path": folder.path, onclick: () => guarded(() => openDataset(folder.path)) }, "open") : null,
      ),
    );
  }
  for (const name of listing.builtin || []) {
    items.push(el("li", {}, el("span", { text: name + " (built in) " }), el("button", { class: "open-dataset", "data-path": name, onclick: () => guarded(() => openDataset(name)) }, "open")));
  }
  box.replaceChildren(
    el("p", {}, "Folder: ", el("code", { id: "browse-path", text: listing.path || "data roots" }),
      listing.is_dataset ? el("button", { id: "open-here", onclick: () => guarded(() => openDataset(listing.path)) }, "open this data set") : null),
    el("ul", { id: "browse-list" }, items),
  );
}

async function openDataset(path) {
  const info = await api("/api/datasets?path=" + encodeURIComponent(path));
  setData(info.path);
  const facts = [
    ["images", info.n_images],
    ["classes", info.n_classes],
    ["channels", Object.entries(info.channels).map(([c, n]) => c + " (" + n + " images)").join(", ")],
    ["bit depth", Object.entries(info.bit_depths).map(([d, n]) => d + " (" + n + ")").join(", ")],
    ["most common size", info.sizes.most_common ? info.sizes.most_common.join(" x ") : "-"],
    ["sizes", info.sizes.min.join(" x ") + " to " + info.sizes.max.join(" x ") + " (" + info.sizes.distinct + " distinct)"],
    ["unreadable files", info.n_bad_files],
  ];
  const rows = info.classes.map((cls) =>
    el("tr", { class: "class-row" },
      el("td", { text: cls.name }),
      el("td", { class: "num", text: cls.count }),
      el("td", {}, cls.thumbnails.map((url) => el("img", { class: "thumb", src: withToken(url), alt: cls.name, loading: "lazy" }))),
    ),
  );
  document.getElementById("dataset-info").replaceChildren(
    el("h3", { id: "dataset-name", text: info.path }),
    el("table", { class: "facts" }, facts.map(([k, v]) => el("tr", {}, el("th", { text: k }), el("td", { text: String(v) })))),
    el("table", { id: "class-table" }, el("tr", {}, el("th", { text: "class" }), el("th", { text: "images" }), el("th", { text: "examples" })), rows),
    el("button", { id: "use-dataset", onclick: () => { window.location.hash = "#train"; } }, "Train on this data set"),
  );
}

// ------------------------------------------------------------------ Train

async function loadKnobs() {
  if (state.knobs.length) return;
  const spec = await api("/api/knobs");
  state.knobs = spec.knobs;
  state.groups = spec.groups;
  const saved = JSON.parse(localStorage.getItem("tunelab.values") || "{}");
  for (const knob of state.knobs) state.values[knob.name] = knob.name in saved ? saved[knob.name] : knob.default;
}

function knobInput(knob) {
  const id = "knob-" + knob.name;
  const value = state.values[knob.name];
  const onchange = (v) => { state.values[knob.name] = v; scheduleValidation(); };
  if (knob.input === "bool") {
    return el("input", { id, name: knob.name, type: "checkbox", checked: !!value, onchange: (e) => onchange(e.target.checked) });
  }
  if (knob.input === "choice") {
    return el("select", { id, name: knob.name, onchange: (e) => onchange(e.target.value) },
      knob.choices.map((c) => el("option", { value: c, selected: c === value }, c)));
  }
  if (knob.input === "multi") {
    const chosen = new Set(value || []);
    return el("span", { id, class: "multi" }, knob.choices.map((c) =>
      el("label", {}, el("input", { type: "checkbox", value: c, checked: chosen.has(c), onchange: () => {
        const picked = [...document.querySelectorAll("#" + id + " input:checked")].map((i) => i.value);
        onchange(picked);
      } }), c)));
  }
  const attrs = { id, name: knob.name, type: "text", inputmode: "decimal", size: 10, value: value === null ? "" : String(value) };
  attrs.placeholder = knob.nullable ? "unset" : "";
  attrs.oninput = (e) => onchange(parseNumber(e.target.value, knob));
  return el("input", attrs);
}

function parseNumber(text, knob) {
  const t = text.trim();
  if (t === "") return knob.nullable ? null : t;
  if (knob.accepts_auto && t.toLowerCase() === "auto") return "auto";
  const n = Number(t);
  return Number.isFinite(n) ? n : t; // the server names what is wrong with the text
}

function rangeText(knob) {
  const parts = [];
  if (knob.min !== undefined) parts.push(">= " + knob.min);
  if (knob.min_exclusive !== undefined) parts.push("> " + knob.min_exclusive);
  if (knob.max !== undefined) parts.push("<= " + knob.max);
  if (knob.max_exclusive !== undefined) parts.push("< " + knob.max_exclusive);
  return parts.join(", ");
}

function knobField(knob) {
  return el("div", { class: "knob", "data-knob": knob.name },
    el("label", { for: "knob-" + knob.name }, knob.name),
    knobInput(knob),
    el("span", { class: "knob-error", id: "error-" + knob.name }),
    el("div", { class: "knob-help" },
      el("span", { text: knob.help + ". " }),
      el("span", { class: "muted", text: "Allowed: " + knob.allowed + (rangeText(knob) ? " [" + rangeText(knob) + "]" : "") + ". Typical: " + knob.typical + "." })),
    el("details", {}, el("summary", { text: "explain" }),
      el("p", { text: knob.what }),
      knob.too_high ? el("p", {}, el("b", { text: "Too high: " }), knob.too_high) : null,
      knob.too_low ? el("p", {}, el("b", { text: "Too low: " }), knob.too_low) : null,
      knob.how_to_step ? el("p", {}, el("b", { text: "How to step it: " }), knob.how_to_step) : null),
  );
}

let validationTimer = null;
function scheduleValidation() {
  localStorage.setItem("tunelab.values", JSON.stringify(state.values));
  clearTimeout(validationTimer);
  validationTimer = setTimeout(validateForm, 200);
}

// Ask the server (Hyperparameters.parse) whether the form is valid; mark each bad field.
async function validateForm() {
  let errors = {};
  try {
    await api("/api/knobs/validate", { method: "POST", json: { values: state.values } });
  } catch (err) {
    errors = (err.body && err.body.errors) || { _: err.message };
  }
  for (const knob of state.knobs) {
    const box = document.getElementById("error-" + knob.name);
    if (!box) continue;
    box.textContent = errors[knob.name] || "";
    box.closest(".knob").classList.toggle("invalid", !!errors[knob.name]);
  }
  const valid = Object.keys(errors).length === 0;
  const form = document.getElementById("train-form");
  if (form) form.dataset.valid = String(valid);
  return valid;
}

async function renderTrain() {
  await loadKnobs();
  const page = document.getElementById("page-train");
  if (!state.rendered.train) {
    state.rendered.train = true;
    const groups = state.groups.map((group) => {
      const knobs = state.knobs.filter((k) => k.group === group);
      if (!knobs.length) return null;
      return el("fieldset", { class: "group" }, el("legend", { text: group }), knobs.map(knobField));
    });
    page.append(
      el("h2", { text: "Train" }),
      el("form", { id: "train-form", onsubmit: (e) => { e.preventDefault(); guarded(startTrain); } },
        el("div", { class: "row" }, el("label", { for: "train-data" }, "data "), dataInput("train-data"),
          el("label", { for: "run-name" }, " run name "), el("input", { id: "run-name", type: "text", placeholder: "generated" })),
        el("div", { class: "row" },
          el("button", { id: "start-train", type: "submit" }, "Start training"),
          el("button", { id: "stop-train", type: "button", disabled: true, onclick: () => guarded(stopJob) }, "Stop"),
          el("button", { id: "reset-knobs", type: "button", onclick: resetKnobs }, "Defaults"),
          el("label", { class: "upload" }, " load config ", el("input", { id: "config-file", type: "file", accept: ".yaml,.yml,.json", onchange: (e) => guarded(() => loadConfig(e.target.files[0])) })),
          el("span", { id: "train-status", class: "status" })),
        el("p", { class: "muted", text: "One job runs at a time on this server; training runs in the background and keeps going if you leave this page." }),
        el("div", { class: "charts" }, el("div", { id: "chart-batch", class: "chart" }), el("div", { id: "chart-epoch", class: "chart" })),
        el("div", { id: "train-result" }),
        el("div", { class: "groups" }, groups),
      ),
    );
    validateForm();
  }
  document.getElementById("train-data").value = state.data;
}

function resetKnobs() {
  for (const knob of state.knobs) state.values[knob.name] = knob.default;
  localStorage.removeItem("tunelab.values");
  state.rendered.train = false;
  document.getElementById("page-train").replaceChildren();
  guarded(renderTrain);
}

async function loadConfig(file) {
  if (!file) return;
  const parsed = await api("/api/config/parse", { method: "POST", body: await file.text(), headers: { "Content-Type": "application/yaml" } });
  Object.assign(state.values, parsed.hyperparameters);
  localStorage.setItem("tunelab.values", JSON.stringify(state.values));
  state.rendered.train = false;
  document.getElementById("page-train").replaceChildren();
  await renderTrain();
}

function changedValues() {
  // Only knobs that differ from their defaults travel: the server fills in the rest.
  const out = {};
  for (const knob of state.knobs) {
    const value = state.values[knob.name];
    if (JSON.stringify(value) !== JSON.stringify(knob.default)) out[knob.name] = value;
  }
  return out;
}

async function startTrain() {
  if (!(await validateForm())) throw new Error("fix the marked knobs first.");
  const name = document.getElementById("run-name").value.trim() || null;
  const job = await api("/api/train", { method: "POST", json: { data: state.data, hyperparameters: changedValues(), name } });
  document.getElementById("train-result").replaceChildren();
  follow(job);
}

const curves = { batches: { x: [], loss: [], acc: [] }, epochs: { x: [], tl: [], vl: [], ta: [], va: [] } };

function resetCurves() {
  curves.batches = { x: [], loss: [], acc: [] };
  curves.epochs = { x: [], tl: [], vl: [], ta: [], va: [] };
}

function drawTrainCurves() {
  const b = curves.batches;
  const e = curves.epochs;
  plot("chart-batch", [
    { x: b.x, y: b.loss, name: "batch loss", mode: "lines" },
    { x: b.x, y: b.acc, name: "batch accuracy", mode: "lines", yaxis: "y2" },
  ], { title: { text: "per batch" }, xaxis: { title: { text: "step" } }, yaxis2: { overlaying: "y", side: "right", range: [0, 1.05] } });
  plot("chart-epoch", [
    { x: e.x, y: e.tl, name: "train loss", mode: "lines+markers" },
    { x: e.x, y: e.vl, name: "validation loss", mode: "lines+markers" },
    { x: e.x, y: e.ta, name: "train accuracy", mode: "lines+markers", yaxis: "y2" },
    { x: e.x, y: e.va, name: "validation accuracy", mode: "lines+markers", yaxis: "y2" },
  ], { title: { text: "per epoch" }, xaxis: { title: { text: "epoch" } }, yaxis2: { overlaying: "y", side: "right", range: [0, 1.05] } });
}

let drawPending = false;
function scheduleDraw(draw) {
  if (drawPending) return;
  drawPending = true;
  setTimeout(() => { drawPending = false; draw(); }, 150);
}

// Attach the page to a job: buttons, banner, curves, and the end result.
function follow(job) {
  if (state.source) state.source.close();
  state.job = job;
  resetCurves();
  search.reset(job.kind, job.params);
  setJobUi(job, job.status);
  state.source = events(job.id, {
    status: (d) => setJobUi(job, d.status, d.note),
    run: (d) => { job.runs = [d.run]; setJobUi(job, "running", "run " + d.run); },
    "train-start": (d) => search.trainStart(d),
    batch: (d) => {
      if (job.kind === "train") {
        curves.batches.x.push(d.step); curves.batches.loss.push(d.loss); curves.batches.acc.push(d.accuracy);
        scheduleDraw(drawTrainCurves);
      }
    },
    epoch: (d) => {
      if (job.kind === "train") {
        const e = curves.epochs;
        e.x.push(d.epoch); e.tl.push(d.train_loss); e.vl.push(d.val_loss); e.ta.push(d.train_accuracy); e.va.push(d.val_accuracy);
        scheduleDraw(drawTrainCurves);
        setJobUi(job, "running", "epoch " + d.epoch + ": validation accuracy " + fmt(d.val_accuracy, 3));
      } else {
        search.epoch(d);
      }
    },
    row: (d) => search.row(d),
    study: (d) => search.study(d),
    end: (d) => {
      job.status = d.status;
      setJobUi(job, d.status, d.error || "");
      if (job.kind === "train") { drawTrainCurves(); showTrainResult(d); }
      else search.end(d);
    },
  });
}

function setJobUi(job, status, note) {
  const running = !["completed", "stopped", "failed"].includes(status);
  const text = job.kind + " " + status + (note ? ": " + note : "");
  document.getElementById("job-banner").textContent = running ? "job: " + text : "";
  const ids = job.kind === "train" ? ["train-status", "start-train", "stop-train"] : ["search-status", null, "stop-search"];
  const statusBox = document.getElementById(ids[0]);
  if (statusBox) { statusBox.textContent = text; statusBox.dataset.status = status; }
  for (const id of ["start-train", "start-sweep", "start-tune"]) {
    const button = document.getElementById(id);
    if (button) button.disabled = running;
  }
  for (const id of ["stop-train", "stop-search"]) {
    const button = document.getElementById(id);
    if (button) button.disabled = !running;
  }
}

async function stopJob() {
  if (state.job) await api("/api/jobs/" + state.job.id + "/stop", { method: "POST" });
}

function showTrainResult(end) {
  const box = document.getElementById("train-result");
  if (!box) return;
  if (end.error) { box.replaceChildren(el("p", { class: "error", id: "train-error", text: end.error })); return; }
  const result = end.result || {};
  const diagnosis = result.diagnosis || {};
  const summary = result.summary || {};
  box.replaceChildren(
    el("h3", {}, "Run ", el("a", { href: "#runs", id: "result-run", text: result.run })),
    el("p", { id: "result-summary" }, "status " + result.status + (result.reason ? " (" + result.reason + ")" : "") +
      "; best validation accuracy " + fmt(summary.best_val_accuracy, 3) + " at epoch " + fmt(summary.best_epoch)),
    el("div", { id: "diagnosis", class: "diagnosis" },
      el("b", { text: "Diagnosis: " + (diagnosis.verdict || "-") }), " ", diagnosis.text || "",
      diagnosis.next_step ? el("div", { class: "muted", text: "next: " + Object.entries(diagnosis.next_step).map(([k, v]) => k + " = " + v).join(", ") }) : null),
    el("div", { id: "confusion", class: "chart" }),
  );
  if (result.evaluation) drawConfusion("confusion", result.evaluation);
  else box.append(el("p", { class: "muted", text: result.evaluation_error || "no confusion matrix: the run kept no weights." }));
}

function drawConfusion(id, evaluation) {
  const names = evaluation.class_names;
  const z = evaluation.confusion;
  plot(id, [{
    type: "heatmap", z, x: names, y: names, showscale: false,
    colorscale: [[0, "#f7fbff"], [0.5, "#6baed6"], [1, "#08306b"]],
    text: z.map((row, i) => row.map((v, j) => v + " (" + evaluation.confusion_row_percent[i][j] + " %)")),
    texttemplate: "%{text}", hovertemplate: "true %{y}, predicted %{x}: %{text}<extra></extra>",
  }], {
    title: { text: "confusion on the validation split: accuracy " + fmt(100 * evaluation.accuracy, 3) + " %" },
    xaxis: { title: { text: "predicted" } }, yaxis: { title: { text: "true" }, autorange: "reversed" },
    height: Math.max(300, 40 * names.length + 120),
  });
  document.getElementById(id).dataset.points = String(names.length * names.length);
}

// ------------------------------------------------------------------ Runs

async function renderRuns() {
  const page = document.getElementById("page-runs");
  if (!state.rendered.runs) {
    state.rendered.runs = true;
    page.append(
      el("h2", { text: "Runs" }),
      el("div", { class: "row" },
        el("input", { id: "runs-filter", type: "search", placeholder: "filter by name, data, model", oninput: () => scheduleRuns() }),
        el("select", { id: "runs-status", onchange: () => scheduleRuns() },
          ["", "completed", "stopped-early", "interrupted", "diverged", "running"].map((s) => el("option", { value: s }, s || "any status"))),
        el("button", { id: "runs-overlay", onclick: () => guarded(overlayRuns) }, "Overlay selected"),
        el("button", { id: "runs-delete", onclick: () => guarded(deleteRuns) }, "Delete selected"),
        el("span", { id: "runs-count", class: "muted" })),
      el("table", { id: "runs-table" }),
      el("div", { class: "charts" }, el("div", { id: "overlay-loss", class: "chart" }), el("div", { id: "overlay-acc", class: "chart" })),
      el("div", { id: "run-detail" }),
    );
  }
  await loadRuns();
}

let runsTimer = null;
function scheduleRuns() { clearTimeout(runsTimer); runsTimer = setTimeout(() => guarded(loadRuns), 200); }

async function loadRuns() {
  const q = document.getElementById("runs-filter").value.trim();
  const status = document.getElementById("runs-status").value;
  const params = new URLSearchParams();
  if (q) params.set("q", q);
  if (status) params.set("status", status);
  const listing = await api("/api/runs?" + params);
  document.getElementById("runs-count").textContent = listing.runs.length + " of " + listing.total + " runs";
  const head = el("tr", {}, ["", "run", "status", "data", "model", "optimizer", "learning rate", "epochs", "best val acc", "verdict", ""].map((h) => el("th", { text: h })));
  const rows = listing.runs.map((run) => el("tr", { class: "run-row", "data-run": run.name },
    el("td", {}, el("input", { type: "checkbox", class: "run-select", value: run.name })),
    el("td", {}, el("a", { href: "#runs", class: "run-link", onclick: (e) => { e.preventDefault(); guarded(() => showRun(run.name)); } }, run.name)),
    el("td", { text: run.status }),
    el("td", { text: run.data ? String(run.data).split("/").pop() : "-" }),
    el("td", { text: fmt(run.model) }),
    el("td", { text: fmt(run.optimizer) }),
    el("td", { class: "num", text: fmt(run.learning_rate) }),
    el("td", { class: "num", text: fmt(run.epochs_run) + "/" + fmt(run.epochs_planned) }),
    el("td", { class: "num", text: fmt(run.best_val_accuracy, 3) }),
    el("td", { text: fmt(run.verdict) }),
    el("td", {}, el("a", { href: withToken("/api/runs/" + encodeURIComponent(run.name) + "/config"), download: run.name + ".yaml" }, "config")),
  ));
  document.getElementById("runs-table").replaceChildren(head, ...rows);
}

function selectedRuns() {
  return [...document.querySelectorAll(".run-select:checked")].map((box) => box.value);
}

async function overlayRuns() {
  const names = selectedRuns();
  if (!names.length) throw new Error("select one or more runs (the boxes on the left) to overlay their curves.");
  const metrics = await Promise.all(names.map((n) => api("/api/runs/" + encodeURIComponent(n) + "/metrics?batches=false")));
  const loss = [];
  const acc = [];
  for (const m of metrics) {
    const x = m.epochs.map((e) => e.epoch);
    loss.push({ x, y: m.epochs.map((e) => e.val_loss), name: m.name, mode: "lines+markers" });
    acc.push({ x, y: m.epochs.map((e) => e.val_accuracy), name: m.name, mode: "lines+markers" });
  }
  plot("overlay-loss", loss, { title: { text: "validation loss" }, xaxis: { title: { text: "epoch" } } });
  plot("overlay-acc", acc, { title: { text: "validation accuracy" }, xaxis: { title: { text: "epoch" } }, yaxis: { range: [0, 1.05] } });
}

async function deleteRuns() {
  const names = selectedRuns();
  if (!names.length) throw new Error("select the runs to delete (the boxes on the left).");
  if (!window.confirm("Delete " + names.length + " run(s)? Their folders are removed: " + names.join(", "))) return;
  for (const name of names) await api("/api/runs/" + encodeURIComponent(name), { method: "DELETE" });
  await loadRuns();
}

async function showRun(name) {
  const run = await api("/api/runs/" + encodeURIComponent(name));
  const box = document.getElementById("run-detail");
  const config = Object.entries(run.config).map(([k, v]) => k + ": " + JSON.stringify(v)).join("\n");
  const diagnosis = run.summary.diagnosis || {};
  box.replaceChildren(
    el("h3", { id: "run-detail-name", text: run.name }),
    el("p", { text: "status " + run.status + "; best validation accuracy " + fmt(run.best_val_accuracy, 3) }),
    el("p", { class: "diagnosis" }, el("b", { text: "Diagnosis: " + (diagnosis.verdict || "-") + " " }), diagnosis.text || ""),
    el("div", { class: "charts" }, el("div", { id: "detail-curves", class: "chart" }), el("div", { id: "detail-confusion", class: "chart" })),
    el("details", {}, el("summary", { text: "config" }), el("pre", { text: config })),
  );
  const x = run.epochs.map((e) => e.epoch);
  plot("detail-curves", [
    { x, y: run.epochs.map((e) => e.train_loss), name: "train loss" },
    { x, y: run.epochs.map((e) => e.val_loss), name: "validation loss" },
    { x, y: run.epochs.map((e) => e.val_accuracy), name: "validation accuracy", yaxis: "y2" },
  ], { title: { text: "curves" }, yaxis2: { overlaying: "y", side: "right", range: [0, 1.05] } });
  try {
    drawConfusion("detail-confusion", await api("/api/runs/" + encodeURIComponent(name) + "/evaluation"));
  } catch (err) {
    document.getElementById("detail-confusion").replaceChildren(el("p", { class: "muted", text: err.message }));
  }
}

// ------------------------------------------------------------------ Sweep and tune

const search = {
  kind: null,
  traces: {},
  rows: [],
  reset(kind, params) {
    this.kind = kind;
    this.knob = (params && params.knob) || "value";
    this.traces = {};
    this.rows = [];
    this.labels = [];
  },
  trainStart(d) {
    if (this.kind !== "sweep") return;
    this.traces[d.index] = { x: [], y: [], name: "run " + (d.index + 1) };
  },
  epoch(d) {
    if (this.kind !== "sweep") return;
    const trace = this.traces[d.index] || (this.traces[d.index] = { x: [], y: [], name: "run " + (d.index + 1) });
    trace.x.push(d.epoch); trace.y.push(d.val_accuracy);
    scheduleDraw(() => this.drawCurves());
  },
  row(d) {
    this.rows.push(d);
    const index = this.rows.length - 1;
    if (this.traces[index]) this.traces[index].name = String(d.value);
    this.drawLeaderboard(this.rows.map((r) => ({ label: r.run, value: r.best_val_accuracy, status: r.status, params: { [this.knob]: r.value }, epochs: r.epochs_run })));
    this.drawCurves();
  },
  study(d) {
    this.traces = {};
    for (const t of d.trials) {
      this.traces[t.number] = { x: t.curve.map((p) => p[0]), y: t.curve.map((p) => p[1]), name: "trial " + t.number + " (" + t.status + ")" };
    }
    const order = d.leaderboard.concat(d.trials.filter((t) => !d.leaderboard.includes(t.number)).map((t) => t.number));
    const byNumber = Object.fromEntries(d.trials.map((t) => [t.number, t]));
    this.drawLeaderboard(order.map((n) => byNumber[n]).map((t) => ({ label: "trial " + t.number, value: t.value, status: t.status, params: t.params, epochs: t.curve.length })));
    this.drawCurves();
    if (d.importances) {
      const names = Object.keys(d.importances);
      plot("importances", [{ type: "bar", x: names.map((n) => d.importances[n]), y: names, orientation: "h" }],
        { title: { text: "importances" }, yaxis: { autorange: "reversed" }, margin: { l: 140, r: 10, t: 30, b: 40 } });
    } else if (d.importances_note) {
      document.getElementById("importances").textContent = d.importances_note;
    }
  },
  drawCurves() {
    plot("search-curves", Object.values(this.traces).map((t) => Object.assign({ mode: "lines+markers" }, t)),
      { title: { text: "validation accuracy per epoch" }, xaxis: { title: { text: "epoch" } }, yaxis: { range: [0, 1.05] } });
  },
  drawLeaderboard(rows) {
    const head = el("tr", {}, ["", "", "best val acc", "status", "epochs", "knobs"].map((h) => el("th", { text: h })));
    const sorted = rows.slice().sort((a, b) => (b.value ?? -1) - (a.value ?? -1));
    document.getElementById("leaderboard").replaceChildren(head, ...sorted.map((r, i) => el("tr", { class: "leader-row" },
      el("td", { class: "num", text: String(i + 1) }), el("td", { text: r.label }), el("td", { class: "num", text: fmt(r.value, 3) }),
      el("td", { text: r.status }), el("td", { class: "num", text: fmt(r.epochs) }),
      el("td", { text: Object.entries(r.params || {}).map(([k, v]) => k + "=" + fmt(v)).join(", ") }))));
  },
  end(d) {
    const result = d.result || {};
    const link = document.getElementById("best-config");
    if (!link) return;
    let href = null;
    if (this.kind === "tune" && result.best) href = "/api/studies/" + encodeURIComponent(result.study) + "/best-config";
    if (this.kind === "sweep" && result.best_run) href = "/api/runs/" + encodeURIComponent(result.best_run) + "/config";
    if (href) { link.href = withToken(href); link.hidden = false; }
    if (d.error) showError(d.error);
    guarded(loadPast);
  },
};

async function renderSearch() {
  await loadKnobs();
  const page = document.getElementById("page-search");
  if (!state.rendered.search) {
    state.rendered.search = true;
    const knobNames = state.knobs.map((k) => el("option", { value: k.name, selected: k.name === "learning_rate" }, k.name));
    page.append(
      el("h2", { text: "Sweep and tune" }),
      el("p", { class: "muted", text: "Both start from the knobs set on the Train page and run in the background, one job at a time, one run after another." }),
      el("div", { class: "row" }, el("label", { for: "search-data" }, "data "), dataInput("search-data")),
      el("fieldset", {}, el("legend", { text: "Sweep one knob" }),
        el("label", { for: "sweep-knob" }, "knob "), el("select", { id: "sweep-knob" }, knobNames),
        el("label", { for: "sweep-values" }, " values "), el("input", { id: "sweep-values", type: "text", placeholder: "recommended ladder", size: 30 }),
        el("button", { id: "start-sweep", onclick: () => guarded(startSweep) }, "Start sweep")),
      el("fieldset", {}, el("legend", { text: "Tune every knob" }),
        el("label", { for: "tune-trials" }, "trials "), el("input", { id: "tune-trials", type: "number", min: 1, value: 10, size: 5 }),
        el("label", { for: "tune-budget" }, " budget (minutes) "), el("input", { id: "tune-budget", type: "number", min: 0, step: "any", placeholder: "none", size: 5 }),
        el("label", { for: "tune-strategy" }, " strategy "), el("select", { id: "tune-strategy" }, ["auto", "tpe", "random", "grid", "gp", "cmaes"].map((s) => el("option", { value: s }, s))),
        el("label", { for: "tune-pruner" }, " early stopping "), el("select", { id: "tune-pruner" }, ["auto", "asha", "hyperband", "median", "none"].map((s) => el("option", { value: s }, s))),
        el("button", { id: "start-tune", onclick: () => guarded(startTune) }, "Start tune")),
      el("div", { class: "row" },
        el("button", { id: "stop-search", disabled: true, onclick: () => guarded(stopJob) }, "Stop"),
        el("span", { id: "search-status", class: "status" }),
        el("a", { id: "best-config", hidden: true, download: "best.yaml" }, "Download the best config")),
      el("div", { class: "charts" }, el("div", { id: "search-curves", class: "chart" }), el("div", { id: "importances", class: "chart" })),
      el("table", { id: "leaderboard" }),
      el("h3", { text: "Earlier studies and sweeps" }),
      el("ul", { id: "past-searches" }),
    );
  }
  document.getElementById("search-data").value = state.data;
  await loadPast();
}

async function loadPast() {
  const [studies, sweeps] = await Promise.all([api("/api/studies"), api("/api/sweeps")]);
  const items = [];
  for (const name of studies.studies) {
    items.push(el("li", {}, "study ", el("a", { href: "#search", onclick: (e) => { e.preventDefault(); guarded(() => showStudy(name)); } }, name), " ",
      el("a", { href: withToken("/api/studies/" + encodeURIComponent(name) + "/best-config"), download: name + "-best.yaml" }, "best config")));
  }
  for (const name of sweeps.sweeps) {
    items.push(el("li", {}, "sweep ", el("a", { href: "#search", onclick: (e) => { e.preventDefault(); guarded(() => showSweep(name)); } }, name)));
  }
  const list = document.getElementById("past-searches");
  if (list) list.replaceChildren(...items);
}

async function showStudy(name) {
  search.reset("tune");
  search.study(await api("/api/studies/" + encodeURIComponent(name)));
}

async function showSweep(name) {
  const sweep = await api("/api/sweeps/" + encodeURIComponent(name));
  search.reset("sweep");
  sweep.rows.forEach((row, i) => {
    search.traces[i] = { x: (row.curve || []).map((e) => e.epoch), y: (row.curve || []).map((e) => e.val_accuracy), name: sweep.knob + "=" + row.value };
  });
  search.drawCurves();
  search.drawLeaderboard(sweep.rows.map((r) => ({ label: r.run, value: r.best_val_accuracy, status: r.status, params: { [sweep.knob]: r.value }, epochs: r.epochs_run })));
}

async function startSweep() {
  const text = document.getElementById("sweep-values").value.trim();
  const job = await api("/api/sweep", { method: "POST", json: {
    data: state.data, knob: document.getElementById("sweep-knob").value, values: text || null, hyperparameters: changedValues(),
  } });
  document.getElementById("best-config").hidden = true;
  follow(job);
}

async function startTune() {
  const budget = document.getElementById("tune-budget").value;
  const trials = document.getElementById("tune-trials").value;
  const job = await api("/api/tune", { method: "POST", json: {
    data: state.data, hyperparameters: changedValues(),
    trials: trials ? Number(trials) : null, budget_seconds: budget ? 60 * Number(budget) : null,
    strategy: document.getElementById("tune-strategy").value, pruner: document.getElementById("tune-pruner").value,
  } });
  document.getElementById("best-config").hidden = true;
  follow(job);
}

// ------------------------------------------------------------------ start

async function start() {
  window.addEventListener("hashchange", route);
  await guarded(async () => {
    await loadKnobs();
    await Promise.all([renderTrain(), renderSearch()]);
    const current = await api("/api/jobs/current");
    if (current.job && !["completed", "stopped", "failed"].includes(current.job.status)) follow(current.job);
  });
  route();
  document.body.dataset.ready = "true";
}

start();
