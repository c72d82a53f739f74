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
  const render = { data: renderData, train: renderTrain, runs: renderRuns, search: renderSearch, jobs: renderJobs, review: renderReview };
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
const marks = {}; // chart id -> the diagnosis drawn on it (shapes and annotations)
function plot(id, traces, layout) {
  const node = document.getElementById(id);
  revision += 1; // arrays grow in place: a new revision makes Plotly.react redraw them
  const base = {
    datarevision: revision,
    margin: { l: 50, r: 50, t: 30, b: 50 },
    height: 320,
    legend: { orientation: "h", y: -0.3 },
  };
  const full = Object.assign(base, layout || {});
  // round ticks: accuracy axes in steps of 0.2, a few epochs one tick each
  const longest = traces.reduce((n, tr) => Math.max(n, tr.x ? tr.x.length : 0), 0);
  for (const [key, axis] of Object.entries(full)) {
    if (!/^[xy]axis\d*$/.test(key) || !axis) continue;
    if (Array.isArray(axis.range) && axis.range[0] === 0 && axis.range[1] === 1.05) Object.assign(axis, { tickmode: "linear", tick0: 0, dtick: 0.2 });
    if (axis.title && axis.title.text === "epoch" && longest <= 15) Object.assign(axis, { tickmode: "linear", tick0: 1, dtick: 1 });
  }
  if (marks[id] && !full.shapes) Object.assign(full, marks[id]); // a redraw keeps the diagnosis mark
  Plotly.react(node, traces, full, { displaylogo: false, responsive: true });
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
    listing.path ? uploadZone(listing.path) : el("p", { class: "muted", text: "Open a data root to upload images into it." }),
  );
}

// Drag and drop (or pick) images, folders of class folders, a CSV or a Piximi project.
function uploadZone(folder) {
  const files = el("input", { id: "upload-files", type: "file", multiple: true, onchange: (e) => guarded(() => uploadAll(folder, [...e.target.files])) });
  const dirs = el("input", { id: "upload-folder", type: "file", webkitdirectory: true, onchange: (e) => guarded(() => uploadAll(folder, [...e.target.files])) });
  const zone = el("div", { id: "upload-zone", class: "upload-zone" },
    el("b", { text: "Add images here" }), " - drop files or folders (one sub-folder per class), a CSV manifest or a Piximi project (.zip, .json), or pick ",
    el("label", { class: "pick" }, "files", files), " / ", el("label", { class: "pick" }, "a folder", dirs),
    el("div", {}, el("progress", { id: "upload-progress", max: 1, value: 0, hidden: true }), " ", el("span", { id: "upload-status", class: "muted" })),
    el("ul", { id: "upload-refused", class: "refused" }));
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    guarded(async () => uploadAll(folder, await droppedFiles(e.dataTransfer)));
  });
  return zone;
}

async function droppedFiles(transfer) {
  // folders dropped keep their relative paths (class folders), read through the entries API
  const out = [];
  const walk = async (entry, prefix) => {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      out.push({ file, path: prefix + file.name });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      let batch;
      do {
        batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        for (const child of batch) await walk(child, prefix + entry.name + "/");
      } while (batch.length);
    }
  };
  const entries = [...transfer.items].map((item) => item.webkitGetAsEntry && item.webkitGetAsEntry()).filter(Boolean);
  if (!entries.length) return [...transfer.files];
  for (const entry of entries) await walk(entry, "");
  return out;
}

async function uploadAll(folder, picked) {
  const items = picked.map((f) => (f.file ? f : { file: f, path: f.webkitRelativePath || f.name }));
  const total = items.reduce((n, i) => n + i.file.size, 0) || 1;
  const bar = document.getElementById("upload-progress");
  const status = document.getElementById("upload-status");
  const refused = document.getElementById("upload-refused");
  refused.replaceChildren();
  bar.hidden = false;
  let sent = 0;
  let done = 0;
  for (const item of items) {
    try {
      const start = await api("/api/uploads", { method: "POST", json: { folder, path: item.path, size: item.file.size } });
      for (let offset = 0; offset < item.file.size; offset += start.chunk_bytes) {
        const chunk = item.file.slice(offset, offset + start.chunk_bytes);
        await api("/api/uploads/" + start.id + "?offset=" + offset, { method: "PUT", body: chunk, headers: { "Content-Type": "application/octet-stream" } });
        sent += chunk.size;
        bar.value = sent / total;
        status.textContent = "uploading " + item.path + " (" + Math.round(100 * sent / total) + " %)";
      }
      const finished = await api("/api/uploads/" + start.id + "/finish", { method: "POST" });
      if (finished.lines) for (const line of finished.lines) refused.append(el("li", { class: "note", text: line }));
      done += 1;
    } catch (err) {
      refused.append(el("li", { class: "error-line", text: item.path + ": " + err.message }));
    }
  }
  const lines = [...refused.childNodes];
  await browse(folder); // the listing shows the new files; its upload zone is new too
  const after = document.getElementById("upload-progress");
  after.hidden = false;
  after.value = 1;
  document.getElementById("upload-status").textContent = done + " of " + items.length + " files added to " + folder;
  document.getElementById("upload-refused").replaceChildren(...lines);
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
  const channelCount = Math.max(1, ...Object.keys(info.channels).map(Number));
  const visible = new Set([...Array(channelCount).keys()]);
  const withChannels = (url, side) => withToken(url + (visible.size < channelCount ? "&channels=" + [...visible].sort().join(",") : "") + (side ? "&side=" + side : ""));
  const thumbs = [];
  const rows = info.classes.map((cls) =>
    el("tr", { class: "class-row" },
      el("td", { text: cls.name }),
      el("td", { class: "num", text: cls.count }),
      el("td", {}, cls.thumbnails.map((url, i) => {
        const img = el("img", { class: "thumb", src: withChannels(url), alt: cls.name + " " + (i + 1), loading: "lazy", title: "click to enlarge", onclick: () => enlarge(withChannels(url, 512), cls.name + ", image " + (i + 1)) });
        thumbs.push([img, url]);
        return img;
      })),
    ),
  );
  const COLOURS = ["red", "green", "blue", "magenta", "cyan", "yellow"];
  const toggles = channelCount > 1 ? el("div", { class: "row", id: "channel-toggles" }, "channels shown: ",
    ...[...Array(channelCount).keys()].map((c) => el("label", { class: "channel-toggle" },
      el("input", { type: "checkbox", checked: true, "data-channel": String(c), onchange: (e) => {
        if (e.target.checked) visible.add(c); else if (visible.size > 1) visible.delete(c); else e.target.checked = true;
        for (const [img, url] of thumbs) img.src = withChannels(url);
      } }),
      el("span", { class: "swatch", style: "background:" + COLOURS[c % COLOURS.length] }), " " + c))) : null;
  document.getElementById("dataset-info").replaceChildren(
    el("h3", { id: "dataset-name", text: info.path }),
    el("table", { class: "facts" }, facts.map(([k, v]) => el("tr", {}, el("th", { text: k }), el("td", { text: String(v) })))),
    toggles,
    ...((info.notes || []).length ? [el("ul", { id: "dataset-notes" }, info.notes.map((note) => el("li", { class: "note", text: note })))] : []),
    el("table", { id: "class-table" }, el("tr", {}, el("th", { text: "class" }), el("th", { text: "images" }), el("th", { text: "examples" })), rows),
    el("button", { id: "use-dataset", onclick: () => { window.location.hash = "#train"; } }, "Train on this data set"),
  );
}

function enlarge(src, caption) {
  document.getElementById("enlarged")?.remove();
  const close = () => document.getElementById("enlarged")?.remove();
  const overlay = el("div", { id: "enlarged", class: "overlay", onclick: close },
    el("figure", {}, el("img", { src, alt: caption }), el("figcaption", { text: caption + " (click to close)" })));
  document.body.append(overlay);
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
  if (knob.input === "text") {
    return el("input", { id, name: knob.name, type: "text", size: 24, value: value === null || value === undefined ? "" : String(value),
      placeholder: knob.nullable ? "unset" : "", oninput: (e) => onchange(e.target.value.trim() === "" && knob.nullable ? null : e.target.value.trim()) });
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
    ...(knob.name === "learning_rate" || knob.name === "batch_size" ? (() => {
      const factor = knob.name === "learning_rate" ? "3" : "2";
      return [
        el("button", { type: "button", class: "ladder", id: "ladder-down-" + knob.name, title: "one rung down the ladder", onclick: () => guarded(() => ladderStep(knob.name, "down")) }, "/" + factor),
        el("button", { type: "button", class: "ladder", id: "ladder-up-" + knob.name, title: "one rung up the ladder", onclick: () => guarded(() => ladderStep(knob.name, "up")) }, "x" + factor),
      ];
    })() : []),
    knob.name === "learning_rate" ? el("button", { id: "lr-find", type: "button", title: "run the learning-rate range test on the data with the other knobs", onclick: () => guarded(startLrFind) }, "find") : null,
    knob.name === "learning_rate" ? el("div", { id: "lr-find-result" }) : null,
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
// Hide the knobs that do nothing for the current choices (momentum with Adam, ...).
function updateApplies() {
  for (const [name, condition] of Object.entries(state.applies || {})) {
    const box = document.querySelector(".knob[data-knob='" + name + "']");
    if (!box) continue;
    const value = state.values[condition.knob];
    const on = "in" in condition ? condition.in.includes(value) : !condition.not_in.includes(value);
    box.hidden = !on;
    box.dataset.applies = String(on);
  }
}

async function ladderStep(knob, direction) {
  const step = await api("/api/ladder?knob=" + encodeURIComponent(knob) + "&value=" + encodeURIComponent(String(state.values[knob])));
  const next = step[direction];
  if (next === null || next === undefined) return;
  state.values[knob] = next;
  document.getElementById("knob-" + knob).value = String(next);
  scheduleValidation();
}

function scheduleValidation() {
  updateApplies();
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
    const layout = await api("/api/form");
    state.applies = layout.applies;
    const essential = layout.essential.map((name) => state.knobs.find((k) => k.name === name)).filter(Boolean);
    const rest = state.knobs.filter((k) => !layout.essential.includes(k.name));
    const groups = state.groups.map((group) => {
      const knobs = rest.filter((k) => k.group === group);
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
        el("p", { class: "muted", text: "Jobs queue and run one at a time on this server (see Jobs); training runs in the background and keeps going if you leave this page." }),
        el("div", { class: "charts" }, el("div", { id: "chart-batch", class: "chart" }), el("div", { id: "chart-epoch", class: "chart" })),
        el("div", { id: "train-result" }),
        el("fieldset", { class: "group essentials", id: "essentials" }, el("legend", { text: "the knobs that matter most" }), essential.map(knobField)),
        el("details", { id: "advanced", class: "advanced" },
          el("summary", { text: "Advanced: " + rest.length + " more knobs (architecture details, loss, schedule, data, transfer, runtime); those that do nothing for the current choices are hidden" }),
          el("div", { class: "groups" }, groups)),
      ),
    );
    updateApplies();
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
  delete marks["chart-epoch"]; // a new run: the last one's diagnosis goes
  curves.batches = { x: [], loss: [], acc: [] };
  curves.epochs = { x: [], tl: [], vl: [], ta: [], va: [] };
}

function drawTrainCurves() {
  const b = curves.batches;
  const e = curves.epochs;
  plot("chart-batch", [
    { x: b.x, y: b.loss, name: "batch loss", mode: "lines" },
    { x: b.x, y: b.acc, name: "batch accuracy", mode: "lines", yaxis: "y2" },
  ], { title: { text: "per batch" }, xaxis: { title: { text: "step" } }, yaxis: { title: { text: "loss" } }, yaxis2: { title: { text: "accuracy" }, overlaying: "y", side: "right", range: [0, 1.05] } });
  plot("chart-epoch", [
    { x: e.x, y: e.tl, name: "train loss", mode: "lines+markers" },
    { x: e.x, y: e.vl, name: "validation loss", mode: "lines+markers" },
    { x: e.x, y: e.ta, name: "train accuracy", mode: "lines+markers", yaxis: "y2" },
    { x: e.x, y: e.va, name: "validation accuracy", mode: "lines+markers", yaxis: "y2" },
  ], { title: { text: "per epoch" }, xaxis: { title: { text: "epoch" } }, yaxis: { title: { text: "loss" } }, yaxis2: { title: { text: "accuracy" }, overlaying: "y", side: "right", range: [0, 1.05] } });
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

const ENDED = ["completed", "stopped", "failed", "cancelled"];

function setJobUi(job, status, note) {
  const running = !ENDED.includes(status);
  const text = job.kind + " " + status + (note ? ": " + note : "");
  document.getElementById("job-banner").textContent = running ? "job: " + text : "";
  const ids = job.kind === "train" ? ["train-status", "start-train", "stop-train"] : ["search-status", null, "stop-search"];
  const statusBox = document.getElementById(ids[0]);
  if (statusBox) { statusBox.textContent = text; statusBox.dataset.status = status; }
  // the page's own start buttons wait for its job; another page may queue one behind it
  const own = job.kind === "train" ? ["start-train"] : ["start-sweep", "start-tune"];
  for (const id of ["start-train", "start-sweep", "start-tune"]) {
    const button = document.getElementById(id);
    if (button) button.disabled = running && own.includes(id);
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
      "; validation accuracy " + accText(summary.final_val_accuracy, summary.n_val) + "; best " + fmt(summary.best_val_accuracy, 3) + " at epoch " + fmt(summary.best_epoch)),
    el("div", { id: "diagnosis", class: "diagnosis" },
      el("b", { text: "Diagnosis: " + (diagnosis.verdict || "-") }), " ", diagnosis.text || "",
      diagnosis.next_step ? el("div", { class: "muted", text: "next: " + Object.entries(diagnosis.next_step).map(([k, v]) => k + " = " + v).join(", ") }) : null),
    el("div", { id: "confusion", class: "chart" }),
  );
  markDiagnosis("chart-epoch", diagnosis);
  if (result.evaluation) drawConfusion("confusion", result.evaluation, result.run);
  else box.append(el("p", { class: "muted", text: result.evaluation_error || "no confusion matrix: the run kept no weights." }));
}

// Draw the diagnosis where it happens: a line at its epoch, labelled with what it means.
function markDiagnosis(id, diagnosis) {
  const node = document.getElementById(id);
  if (!node || !diagnosis || diagnosis.at_epoch === null || diagnosis.at_epoch === undefined || !node.layout) return;
  marks[id] = {
    shapes: [{ type: "line", xref: "x", yref: "paper", x0: diagnosis.at_epoch, x1: diagnosis.at_epoch, y0: 0, y1: 1, line: { color: "#b42318", dash: "dot", width: 2 } }],
    annotations: [{ xref: "x", yref: "paper", x: diagnosis.at_epoch, y: 1, yanchor: "bottom", showarrow: false, text: diagnosis.verdict + ": " + diagnosis.mark, font: { color: "#b42318", size: 12 } }],
  };
  Plotly.relayout(node, marks[id]);
  node.dataset.marked = String(diagnosis.at_epoch);
}

function drawConfusion(id, evaluation, runName) {
  const names = evaluation.class_names;
  const z = evaluation.confusion;
  const node = document.getElementById(id);
  plot(id, [{
    type: "heatmap", z, x: names, y: names, showscale: false,
    colorscale: [[0, "#f7fbff"], [0.5, "#6baed6"], [1, "#08306b"]],
    text: z.map((row, i) => row.map((v, j) => v + " (" + evaluation.confusion_row_percent[i][j] + " %)")),
    texttemplate: "%{text}", hovertemplate: "true %{y}, predicted %{x}: %{text}<br>click to see the images<extra></extra>",
  }], {
    title: { text: "accuracy " + fmt(100 * evaluation.accuracy, 3) + " % of " + evaluation.n_images + " images" },
    xaxis: { title: { text: "predicted class" }, automargin: true, type: "category" },
    yaxis: { title: { text: "true class" }, autorange: "reversed", automargin: true, type: "category" },
    height: Math.max(320, 40 * names.length + 140),
  });
  node.dataset.points = String(names.length * names.length);
  // per-class precision, recall and F1 under the matrix, then the images of a clicked cell
  for (const old of [id + "-per-class", id + "-cell"]) document.getElementById(old)?.remove();
  const table = el("table", { class: "per-class", id: id + "-per-class" },
    el("thead", {}, el("tr", {}, ...["class", "precision", "recall", "F1", "images"].map((h) => el("th", { text: h })))),
    el("tbody", {}, ...(evaluation.per_class || []).map((row) => el("tr", {},
      el("td", { text: row.class }), el("td", { class: "num", text: fmt(row.precision, 3) }),
      el("td", { class: "num", text: fmt(row.recall, 3) }), el("td", { class: "num", text: fmt(row.f1, 3) }),
      el("td", { class: "num", text: String(row.support) })))));
  const cell = el("div", { class: "cell-images", id: id + "-cell" });
  const where = el("p", { class: "muted", id: id + "-where", text: "measured on " + (evaluation.data || "the validation split") + "; click a cell to see its images" });
  document.getElementById(id + "-where")?.remove();
  node.after(where, table, cell);
  if (!runName || !node.on) return;
  node.on("plotly_click", (event) => guarded(async () => {
    const point = event.points[0];
    const found = await api("/api/runs/" + encodeURIComponent(runName) + "/evaluation/cell?true=" +
      encodeURIComponent(point.y) + "&predicted=" + encodeURIComponent(point.x));
    cell.replaceChildren(
      el("h4", { text: "true " + found.true + ", predicted " + found.predicted + ": " + found.count + " images" + (found.count > found.images.length ? " (the " + found.images.length + " most confident shown)" : "") }),
      ...found.images.map((image) => el("figure", { class: "cell-image" },
        el("img", { class: "thumb", src: withToken(image.thumbnail), alt: "validation image " + image.index }),
        el("figcaption", { text: Math.round(100 * image.confidence) + " %" }))));
  }));
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
    el("td", { class: "num", text: accText(run.best_val_accuracy, run.n, run.interval_95) }),
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
  plot("overlay-loss", loss, { title: { text: "validation loss" }, xaxis: { title: { text: "epoch" } }, yaxis: { title: { text: "loss" } } });
  plot("overlay-acc", acc, { title: { text: "validation accuracy" }, xaxis: { title: { text: "epoch" } }, yaxis: { title: { text: "accuracy" }, range: [0, 1.05] } });
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
    el("p", { text: "status " + run.status + "; best validation accuracy " + accText(run.best_val_accuracy, run.n, run.interval_95) }),
    el("p", { class: "diagnosis" }, el("b", { text: "Diagnosis: " + (diagnosis.verdict || "-") + " " }), diagnosis.text || ""),
    el("div", { class: "charts" }, el("div", { id: "detail-curves", class: "chart" }), el("div", { id: "detail-confusion", class: "chart" })),
    el("details", {}, el("summary", { text: "config" }), el("pre", { text: config })),
    el("p", { class: "downloads" }, "Download the model: ",
      ...[["onnx", "ONNX"], ["torchscript", "TorchScript"], ["safetensors", "safetensors + config (.zip)"]].map(([format, label]) =>
        el("a", { class: "export-link", "data-format": format, href: withToken("/api/runs/" + encodeURIComponent(run.name) + "/export?format=" + format), download: "" }, label)),
      el("a", { href: withToken("/api/runs/" + encodeURIComponent(run.name) + "/config"), download: run.name + ".yaml" }, "config.yaml")),
  );
  const x = run.epochs.map((e) => e.epoch);
  plot("detail-curves", [
    { x, y: run.epochs.map((e) => e.train_loss), name: "train loss" },
    { x, y: run.epochs.map((e) => e.val_loss), name: "validation loss" },
    { x, y: run.epochs.map((e) => e.val_accuracy), name: "validation accuracy", yaxis: "y2" },
  ], { title: { text: "curves" }, xaxis: { title: { text: "epoch" } }, yaxis: { title: { text: "loss" } }, yaxis2: { title: { text: "accuracy" }, overlaying: "y", side: "right", range: [0, 1.05] } });
  markDiagnosis("detail-curves", diagnosis);
  try {
    drawConfusion("detail-confusion", await api("/api/runs/" + encodeURIComponent(name) + "/evaluation"), name);
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
    this.drawLeaderboard(this.rows.map(sweepLeader(this.knob)));
    this.drawCurves();
  },
  study(d) {
    this.traces = {};
    for (const t of d.trials) {
      this.traces[t.number] = { x: t.curve.map((p) => p[0]), y: t.curve.map((p) => p[1]), name: "trial " + t.number + " (" + t.status + ")" };
    }
    const order = d.leaderboard.concat(d.trials.filter((t) => !d.leaderboard.includes(t.number)).map((t) => t.number));
    const byNumber = Object.fromEntries(d.trials.map((t) => [t.number, t]));
    this.drawLeaderboard(order.map((n) => byNumber[n]).map((t) => ({ label: "trial " + t.number + (t.warm_start ? " (warm start)" : ""), value: t.value, interval: t.interval_95, n: t.n, status: t.status, params: t.params, epochs: t.curve.length })), d.noise_warning);
    this.drawCurves();
    if (d.importances) {
      const names = Object.keys(d.importances);
      plot("importances", [{ type: "bar", x: names.map((n) => d.importances[n]), y: names, orientation: "h" }],
        { title: { text: "importances (fANOVA)" }, xaxis: { title: { text: "share of the accuracy's variance explained" } }, yaxis: { title: { text: "knob" }, autorange: "reversed", automargin: true }, margin: { l: 140, r: 10, t: 30, b: 50 } });
    } else if (d.importances_note) {
      document.getElementById("importances").textContent = d.importances_note;
    }
  },
  drawCurves() {
    plot("search-curves", Object.values(this.traces).map((t) => Object.assign({ mode: "lines+markers" }, t)),
      { title: { text: "validation accuracy per epoch" }, xaxis: { title: { text: "epoch" } }, yaxis: { title: { text: "validation accuracy" }, range: [0, 1.05] } });
  },
  drawLeaderboard(rows, warning) {
    const head = el("tr", {}, ["", "", "val acc (95% interval, n images)", "status", "epochs", "knobs"].map((h) => el("th", { text: h })));
    const sorted = rows.slice().sort((a, b) => (b.value ?? -1) - (a.value ?? -1));
    const note = warning ? [el("tr", {}, el("td", { colspan: 6, id: "noise-warning", class: "warning", text: "warning: " + warning }))] : [];
    document.getElementById("leaderboard").replaceChildren(head, ...sorted.map((r, i) => el("tr", { class: "leader-row" },
      el("td", { class: "num", text: String(i + 1) }), el("td", { text: r.label }), el("td", { class: "num", text: accText(r.value, r.n, r.interval) }),
      el("td", { text: r.status }), el("td", { class: "num", text: fmt(r.epochs) }),
      el("td", { text: Object.entries(r.params || {}).map(([k, v]) => k + "=" + fmt(v)).join(", ") }))), ...note);
  },
  end(d) {
    const result = d.result || {};
    const link = document.getElementById("best-config");
    if (!link) return;
    let href = null;
    if (this.kind === "tune" && result.best) href = "/api/studies/" + encodeURIComponent(result.study) + "/best-config";
    if (this.kind === "sweep" && result.best_run) href = "/api/runs/" + encodeURIComponent(result.best_run) + "/config";
    if (href) { link.href = withToken(href); link.hidden = false; }
    const ensemble = document.getElementById("ensemble-line");
    if (this.kind === "tune" && result.ensemble_line) { ensemble.textContent = result.ensemble_line; ensemble.hidden = false; }
    if (this.kind === "sweep" && result.rows) this.drawLeaderboard(result.rows.map(sweepLeader(this.knob)), result.noise_warning);
    if (d.error) showError(d.error);
    guarded(loadPast);
  },
};

async function renderSearch() {
  await loadKnobs();
  const page = document.getElementById("page-search");
  if (!state.rendered.search) {
    state.rendered.search = true;
    const tuning = await api("/api/tune/options"); // the library's defaults and registries
    const knobNames = state.knobs.map((k) => el("option", { value: k.name, selected: k.name === "learning_rate" }, k.name));
    page.append(
      el("h2", { text: "Sweep and tune" }),
      el("p", { class: "muted", text: "Both start from the knobs set on the Train page and run in the background, queued as jobs that run one at a time (see Jobs)." }),
      el("div", { class: "row" }, el("label", { for: "search-data" }, "data "), dataInput("search-data")),
      el("fieldset", {}, el("legend", { text: "Sweep one knob" }),
        el("label", { for: "sweep-knob" }, "knob "), el("select", { id: "sweep-knob" }, knobNames),
        el("label", { for: "sweep-values" }, " values "), el("input", { id: "sweep-values", type: "text", placeholder: "recommended ladder", size: 30 }),
        el("button", { id: "start-sweep", onclick: () => guarded(startSweep) }, "Start sweep")),
      el("fieldset", {}, el("legend", { text: "Tune every knob" }),
        el("label", { for: "tune-trials" }, "trials "), el("input", { id: "tune-trials", type: "number", min: 1, value: tuning.trials, size: 5 }),
        el("label", { for: "tune-budget" }, " budget (minutes) "), el("input", { id: "tune-budget", type: "number", min: 0, step: "any", placeholder: "none", size: 5 }),
        el("label", { for: "tune-strategy" }, " strategy "), el("select", { id: "tune-strategy" }, tuning.strategies.map((s) => el("option", { value: s }, s))),
        el("label", { for: "tune-pruner" }, " early stopping "), el("select", { id: "tune-pruner" }, tuning.pruners.map((s) => el("option", { value: s }, s))),
        el("label", { for: "tune-portfolio", title: "Try first a few settings chosen offline on four data sets; unticked, the strategy samples from the first trial." },
          " ", el("input", { id: "tune-portfolio", type: "checkbox", checked: true }), " start from the portfolio "),
        el("button", { id: "start-tune", onclick: () => guarded(startTune) }, "Start tune")),
      el("div", { class: "row" },
        el("button", { id: "stop-search", disabled: true, onclick: () => guarded(stopJob) }, "Stop"),
        el("span", { id: "search-status", class: "status" }),
        el("a", { id: "best-config", hidden: true, download: "best.yaml" }, "Download the best config")),
      el("p", { id: "ensemble-line", class: "muted", hidden: true }),
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
  search.drawLeaderboard(sweep.rows.map(sweepLeader(sweep.knob)), sweep.noise_warning);
}

// A sweep row as a leaderboard row: its best validation accuracy, with interval and n.
function sweepLeader(knob) {
  return (r) => ({ label: r.run, value: r.best_val_accuracy, interval: r.interval_95, n: r.n_val, status: r.status, params: { [knob]: r.value }, epochs: r.epochs_run });
}

// An accuracy as every page shows it: value, 95% Wilson interval (from the API) and n.
function accText(value, n, interval) {
  if (value === null || value === undefined) return "-";
  let text = fmt(value, 3);
  if (interval) text += " (" + fmt(interval[0], 3) + "-" + fmt(interval[1], 3) + ")";
  if (n) text += " n=" + n;
  return text;
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
    portfolio: document.getElementById("tune-portfolio").checked,
  } });
  document.getElementById("best-config").hidden = true;
  document.getElementById("ensemble-line").hidden = true;
  follow(job);
}

// ------------------------------------------------------------------ lr-find

async function startLrFind() {
  const box = document.getElementById("lr-find-result");
  const job = await api("/api/lr-find", { method: "POST", json: { data: state.data, hyperparameters: changedValues() } });
  box.replaceChildren(el("p", { class: "muted", id: "lr-find-status", text: "range test " + job.status + (job.position ? " (position " + job.position + " in the queue)" : "") + "..." }));
  events(job.id, {
    status: (d) => { document.getElementById("lr-find-status").textContent = "range test " + d.status + (d.note ? ": " + d.note : ""); },
    end: (d) => {
      if (d.error) { box.replaceChildren(el("p", { class: "error", text: d.error })); return; }
      if (d.status !== "completed") { box.replaceChildren(el("p", { class: "muted", text: "range test " + d.status })); return; }
      showLrFind(d.result);
    },
  });
}

function showLrFind(result) {
  const box = document.getElementById("lr-find-result");
  const chart = el("div", { id: "lr-find-chart", class: "chart" });
  const choices = Object.entries(result.suggestions).map(([name, lr]) => el("div", { class: "lr-suggestion" },
    el("button", { type: "button", class: "use-lr", "data-name": name, "data-lr": String(lr), onclick: () => {
      const rounded = Number(lr.toPrecision(2));
      state.values.learning_rate = rounded;
      document.getElementById("knob-learning_rate").value = String(rounded);
      scheduleValidation();
    } }, "use " + Number(lr.toPrecision(2))),
    " ", el("b", { text: name + (name === result.recommended ? " (recommended)" : "") }), ": ", result.explanations[name] || ""));
  box.replaceChildren(chart, ...choices);
  const markers = Object.entries(result.suggestions).map(([name, lr]) => ({
    x: [lr], y: [result.smoothed[result.lrs.findIndex((v) => v >= lr)] ?? result.smoothed[result.smoothed.length - 1]],
    mode: "markers", marker: { size: 10 }, name: name + " " + Number(lr.toPrecision(2)),
  }));
  plot("lr-find-chart", [
    { x: result.lrs, y: result.losses, name: "loss per batch", mode: "lines", line: { color: "#bbb" } },
    { x: result.lrs, y: result.smoothed, name: "smoothed loss", mode: "lines" },
    ...markers,
  ], { title: { text: "learning-rate range test (" + result.steps_run + " steps)" }, xaxis: { title: { text: "learning rate" }, type: "log" }, yaxis: { title: { text: "training loss" } } });
}

// ------------------------------------------------------------------ predict and review

const review = { predictions: [], classes: [], labelled: {} };

async function renderReview() {
  const page = document.getElementById("page-review");
  if (!page.dataset.built) {
    page.dataset.built = "true";
    page.append(
      el("h2", {}, "Predict and review"),
      el("p", { class: "muted", text: "A trained run predicts the unlabelled images. Accept a prediction, or pick the right class: the image moves into that class's folder of the data set (every move is recorded and can be undone). Then retrain on the grown data set." }),
      el("div", { class: "row" },
        el("label", { for: "review-run" }, "model (run) "), el("select", { id: "review-run" }),
        el("label", { for: "review-images" }, " unlabelled images "),
        el("input", { id: "review-images", type: "text", size: 40, placeholder: "a folder under the data roots" }),
        el("label", { for: "review-dataset" }, " data set (class folders) "),
        el("input", { id: "review-dataset", type: "text", size: 40, value: state.data })),
      el("div", { class: "row" },
        el("button", { id: "review-predict", type: "button", onclick: () => guarded(predictForReview) }, "Predict"),
        el("label", { for: "review-sort" }, " sort by confidence "),
        el("select", { id: "review-sort", onchange: drawReview },
          el("option", { value: "asc" }, "lowest first"), el("option", { value: "desc" }, "highest first")),
        el("button", { id: "review-undo", type: "button", onclick: () => guarded(undoLabel) }, "Undo last label"),
        el("button", { id: "review-retrain", type: "button", onclick: () => {
          setData(document.getElementById("review-dataset").value); window.location.hash = "#train";
        } }, "Retrain on this data set"),
        el("span", { id: "review-status", class: "status" })),
      el("div", { id: "review-grid", class: "review-grid" }),
    );
  }
  const runs = (await api("/api/runs")).runs.filter((r) => r.status === "completed" || r.status === "stopped-early");
  const select = document.getElementById("review-run");
  const chosen = select.value;
  select.replaceChildren(...runs.map((r) => el("option", { value: r.name, selected: r.name === chosen }, r.name)));
}

async function predictForReview() {
  const run = document.getElementById("review-run").value;
  const images = document.getElementById("review-images").value;
  document.getElementById("review-status").textContent = "predicting...";
  const result = await api("/api/review/predict", { method: "POST", json: { run, images } });
  review.predictions = result.predictions;
  review.classes = result.classes;
  review.labelled = {};
  document.getElementById("review-status").textContent = result.predictions.length + " images" +
    (result.skipped.length ? ", " + result.skipped.length + " unreadable skipped" : "");
  drawReview();
}

function drawReview() {
  const order = document.getElementById("review-sort").value === "asc" ? 1 : -1;
  const rows = [...review.predictions].sort((a, b) => order * (a.probability - b.probability));
  document.getElementById("review-grid").replaceChildren(...rows.map((row) => {
    const done = review.labelled[row.path];
    const choose = el("select", { class: "review-class" }, review.classes.map((c) => el("option", { value: c, selected: c === row.predicted }, c)));
    return el("div", { class: "review-card" + (done ? " done" : ""), "data-path": row.path, "data-probability": String(row.probability) },
      el("img", { src: withToken("/api/review/image?path=" + encodeURIComponent(row.path)), alt: row.path.split("/").pop() }),
      el("div", { class: "review-prediction", text: row.predicted + " " + Math.round(100 * row.probability) + " %" }),
      done ? el("div", { class: "review-done", text: "labelled " + done }) : el("div", {},
        el("button", { class: "review-accept", type: "button", onclick: () => guarded(() => labelImage(row, row.predicted)) }, "Accept"),
        " ", choose, " ",
        el("button", { class: "review-set", type: "button", onclick: () => guarded(() => labelImage(row, choose.value)) }, "Set")),
    );
  }));
}

async function labelImage(row, label) {
  const dataset = document.getElementById("review-dataset").value;
  const moved = await api("/api/review/label", { method: "POST", json: { dataset, image: row.path, label } });
  review.labelled[row.path] = label;
  review.lastMoves = (review.lastMoves || []).concat([{ path: row.path, target: moved.target }]);
  document.getElementById("review-status").textContent = "moved to " + moved.target;
  drawReview();
}

async function undoLabel() {
  const dataset = document.getElementById("review-dataset").value;
  const undone = await api("/api/review/undo", { method: "POST", json: { dataset } });
  delete review.labelled[undone.source];
  document.getElementById("review-status").textContent = "put back " + undone.source;
  drawReview();
}

// ------------------------------------------------------------------ jobs

let jobsTimer = null;
const jobLogs = {};

async function renderJobs() {
  const page = document.getElementById("page-jobs");
  if (!page.dataset.built) {
    page.dataset.built = "true";
    page.append(
      el("h2", {}, "Jobs"),
      el("p", { class: "muted", text: "One job runs at a time; the others wait their turn (position 1 is next). Stop ends the running job (a training run is saved as interrupted, a tune stops between trials); cancel takes a waiting job out of the queue." }),
      el("table", { id: "jobs-table" }, el("thead", {}, el("tr", {},
        ...["position", "job", "kind", "status", "started", ""].map((h) => el("th", { text: h })))), el("tbody")),
      el("h3", { id: "job-log-title", text: "Log" }),
      el("pre", { id: "job-log", class: "log", text: "choose a job's log above" }),
    );
  }
  await loadJobs();
  clearTimeout(jobsTimer);
  jobsTimer = setTimeout(function again() {
    if (!document.getElementById("page-jobs").hidden) guarded(loadJobs).then(() => { jobsTimer = setTimeout(again, 1500); });
  }, 1500);
}

async function loadJobs() {
  const listing = await api("/api/jobs");
  const body = document.querySelector("#jobs-table tbody");
  const order = (job) => (job.position === null || job.position === undefined ? 1e9 - job.started : job.position);
  const jobs = [...listing.jobs].sort((a, b) => order(a) - order(b));
  body.replaceChildren(...jobs.map((job) => el("tr", { class: "job-row", "data-id": job.id, "data-status": job.status },
    el("td", { class: "num job-position", text: job.position === null || job.position === undefined ? "" : job.position === 0 ? "running" : String(job.position) }),
    el("td", { text: job.title }),
    el("td", { text: job.kind }),
    el("td", { class: "job-status", text: job.status + (job.error ? ": " + job.error : "") }),
    el("td", { text: new Date(job.started * 1000).toLocaleTimeString() }),
    el("td", {},
      ENDED.includes(job.status) ? null : el("button", { class: "job-stop", onclick: () => guarded(async () => {
        await api("/api/jobs/" + job.id + "/stop", { method: "POST" });
        await loadJobs();
      }) }, job.status === "queued" ? "Cancel" : "Stop"),
      " ",
      el("button", { class: "job-log", onclick: () => showJobLog(job) }, "Log"),
    ),
  )));
}

function showJobLog(job) {
  const box = document.getElementById("job-log");
  document.getElementById("job-log-title").textContent = "Log of " + job.title + " (" + job.id + ")";
  for (const source of Object.values(jobLogs)) source.close();
  const lines = [];
  const describe = (type, d) => {
    if (type === "batch") return null; // too many to read: the curves show them
    if (type === "status") return "status " + d.status + (d.note ? ": " + d.note : "") + (d.position ? " (position " + d.position + ")" : "");
    if (type === "epoch") return "epoch " + d.epoch + ": train loss " + fmt(d.train_loss, 4) + ", validation loss " + fmt(d.val_loss, 4) + ", validation accuracy " + fmt(d.val_accuracy, 3);
    if (type === "run") return "run " + d.run;
    if (type === "end") return "end " + d.status + (d.error ? ": " + d.error : "");
    return type + " " + JSON.stringify(d).slice(0, 200);
  };
  const add = (type) => (d) => {
    const text = describe(type, d);
    if (text) { lines.push(text); box.textContent = lines.slice(-400).join("\n"); }
  };
  const handlers = {};
  for (const type of ["status", "run", "train-start", "epoch", "row", "study", "end", "batch"]) handlers[type] = add(type);
  box.textContent = "";
  jobLogs[job.id] = events(job.id, handlers);
}

// ------------------------------------------------------------------ start

async function start() {
  window.addEventListener("hashchange", route);
  await guarded(async () => {
    await loadKnobs();
    await Promise.all([renderTrain(), renderSearch()]);
    const current = await api("/api/jobs/current");
    if (current.job && !ENDED.includes(current.job.status) && current.job.kind !== "lr-find") follow(current.job);
  });
  route();
  document.body.dataset.ready = "true";
}

start();
