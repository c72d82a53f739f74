// Shared helpers for every tunelab page (the workbench and the playground).
// A page opened as /?token=T (or /playground?token=T) passes T on to every API call.
"use strict";

window.tunelab = (function () {
  const token = new URLSearchParams(window.location.search).get("token");

  function withToken(url) {
    if (!token) return url;
    return url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token);
  }

  // fetch JSON from the API; throws Error(message) with the server's one-line error.
  async function api(path, options) {
    const opts = Object.assign({ headers: {} }, options || {});
    opts.headers = Object.assign({}, opts.headers);
    if (token) opts.headers["Authorization"] = "Bearer " + token;
    if (opts.json !== undefined) {
      opts.body = JSON.stringify(opts.json);
      opts.headers["Content-Type"] = "application/json";
      delete opts.json;
    }
    const response = await fetch(path, opts);
    const type = response.headers.get("content-type") || "";
    const body = type.includes("application/json") ? await response.json() : await response.text();
    if (!response.ok) {
      const message = body && body.error ? body.error : response.status + " " + response.statusText;
      const err = new Error(message);
      err.status = response.status;
      err.body = body;
      throw err;
    }
    return body;
  }

  // Follow a job's server-sent events: handlers = {batch(data), epoch(data), end(data), ...}.
  // Returns the EventSource; it is closed after the job's "end" event.
  function events(jobId, handlers) {
    const source = new EventSource(withToken("/api/jobs/" + encodeURIComponent(jobId) + "/events"));
    const types = ["status", "run", "train-start", "batch", "epoch", "row", "study", "end"];
    for (const type of types) {
      source.addEventListener(type, (event) => {
        const data = JSON.parse(event.data);
        if (handlers[type]) handlers[type](data);
        if (handlers.any) handlers.any(type, data);
        if (type === "end") source.close();
      });
    }
    return source;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function fmt(value, digits) {
    if (value === null || value === undefined) return "-";
    if (typeof value === "number") {
      if (Number.isInteger(value)) return String(value);
      return value.toPrecision(digits || 4).replace(/\.?0+(e|$)/, "$1");
    }
    return String(value);
  }

  return { token, withToken, api, events, el, fmt };
})();
