// The tvctl web remote: talks to the daemon that served it, same origin, no third-party code.
"use strict";

const $ = (id) => document.getElementById(id);
let device = null; // the chosen device record
let shotTimer = null;

function say(text) { $("feedback").textContent = text; } // what the last action did
function sayState(text) { $("status").textContent = text; } // what the device is doing

// An error envelope is thrown as an Error whose message is "code: message"; it also carries the
// envelope's code, message (text) and hint. timeoutS: give up waiting after that many seconds.
async function api(method, path, body, timeoutS) {
  const init = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (timeoutS) init.signal = AbortSignal.timeout(timeoutS * 1000);
  const r = await fetch(path, init);
  if (r.status === 401) { showLogin(); throw new Error("sign in with the API token"); }
  const doc = await r.json();
  if (!doc.ok) {
    const { code, message, hint } = doc.error;
    throw Object.assign(new Error(`${code}: ${message}`), { code, text: message, hint });
  }
  return doc.data;
}

function base(d = device) { return `/v1/devices/${encodeURIComponent(d.id)}`; }

function showLogin() { $("login").hidden = false; }

async function signIn(event) {
  event.preventDefault();
  const r = await fetch("/v1/session", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token: $("token").value }),
  });
  if (!r.ok) {
    const doc = await r.json().catch(() => null);
    $("login-error").textContent = r.status === 401 ? "wrong token" : (doc && doc.error ? doc.error.message : `HTTP ${r.status}`);
    return;
  }
  $("token").value = "";
  $("login").hidden = true;
  $("login-error").textContent = "";
  await loadDevices();
  listen();
  await loadActions();
}

async function press(key) {
  if (!device) return;
  try {
    await api("POST", base() + "/remote/key", { key });
    say(`${device.name}: sent ${key.startsWith("literal:") ? "text" : key}`);
  } catch (e) { say(`${device.name}: ${e.message}`); }
}

function applyCapabilities() {
  const caps = new Set(device ? device.capabilities : []);
  document.querySelectorAll("[data-cap]").forEach((el) => { el.hidden = !caps.has(el.dataset.cap); });
  $("actions").hidden = !document.querySelector("#action-forms > form:not([hidden])");
  $("shot").toggleAttribute("data-pointer", caps.has("pointer")); // a click on the screenshot clicks the screen
}

// -- actions: a form for each operation the daemon's table offers the web remote ---------------------
// GET /v1/operations lists every device operation with its request fields; those marked "remote"
// get a form here, shown (like any [data-cap] element) only for a device with the capability.
let actionsLoaded = false;
const JSON_TYPES = new Set(["array", "object"]);

// "Search for a title: the device's search …" -> "Search for a title"
function shortSummary(summary) { return summary.split(/[:.](?:\s|$)/)[0]; }

// The submit button's word: the summary's verb ("Tune the TV tuner …" -> "Tune").
function verb(summary) {
  const word = summary.split(/\s/)[0];
  return /^[A-Z][a-z]+$/.test(word) && !["A", "An", "The"].includes(word) ? word : "Run";
}

// The lines a known result reads as; keyed on the fields it has.
const RESULT_LINES = [
  [["channel"], (r) => `tuned to ${r.channel}${r.name ? ` (${r.name})` : ""}`],
  [["url", "type"], (r) => `playing ${r.type} ${r.title ? `“${r.title}”` : r.url}`],
  [["keyword", "strategy", "changed"], (r) => {
    const parts = [`searched ${r.app ? `${r.app.name} ` : ""}for “${r.keyword}” (${r.strategy})`];
    if (!r.changed) parts.push("the app in front did not change");
    else if (r.active_app) parts.push(`${r.active_app.name} is in front`);
    if (r.note) parts.push(r.note);
    return parts.join("; ");
  }],
];

function resultLine(op, result) {
  if (result === null || typeof result !== "object") return `${shortSummary(op.summary)}: ${result ?? "done"}`;
  for (const [keys, line] of RESULT_LINES) if (keys.every((k) => k in result)) return line(result);
  const shown = Object.entries(result).filter(([k, v]) => k !== "device" && v !== null && typeof v !== "object");
  return shown.length ? `${shortSummary(op.summary)} — ${shown.map(([k, v]) => `${k}: ${v}`).join(", ")}`
    : `${shortSummary(op.summary)}: done`;
}

function problem(e) {
  if (e.name === "TimeoutError") return "no answer in time";
  if (!e.text) return e.message;
  return e.hint ? `${e.text}${/[.!?]$/.test(e.text) ? "" : "."} ${e.hint}` : e.text;
}

function parseJson(text, type) {
  const value = JSON.parse(text);
  if (type === "array" ? !Array.isArray(value) : (value === null || typeof value !== "object" || Array.isArray(value))) {
    throw new TypeError(`not a JSON ${type}`);
  }
  return value;
}

// One field's control: a select for choices, a number box, a checkbox, else a text box. The
// pattern (a search, as JSON Schema means it) is checked here, not with the pattern attribute,
// which must match the whole value and compiles with flags some of the table's patterns fail.
function fieldControl(op, field) {
  let input;
  if (field.choices) {
    input = document.createElement("select");
    const values = field.required ? field.choices : ["", ...field.choices];
    input.append(...values.map((value) => {
      const o = document.createElement("option");
      o.value = value;
      o.textContent = value === "" ? "—" : value;
      return o;
    }));
  } else {
    input = document.createElement("input");
    if (field.type === "boolean") input.type = "checkbox";
    else if (field.type === "integer" || field.type === "number") {
      input.type = "number";
      input.step = field.type === "integer" ? "1" : "any";
      if (field.minimum != null) input.min = String(field.minimum);
      if (field.maximum != null) input.max = String(field.maximum);
    } else {
      input.type = "text";
      input.autocomplete = "off";
      input.spellcheck = false;
    }
    if (field.description && input.type !== "checkbox") input.placeholder = field.description;
  }
  input.id = `op-${op.name}-${field.name}`;
  input.name = field.name;
  if (field.description) input.title = field.description;
  if (field.required && field.type !== "boolean") input.required = true;
  let pattern = null;
  try { pattern = field.pattern ? new RegExp(field.pattern, "u") : null; } catch { /* the daemon checks it */ }
  const check = () => {
    const text = input.value;
    let wrong = "";
    if (text !== "" && pattern && !pattern.test(text)) wrong = field.description || `must match ${field.pattern}`;
    else if (text.trim() !== "" && JSON_TYPES.has(field.type)) {
      try { parseJson(text, field.type); } catch { wrong = `a JSON ${field.type}`; }
    }
    input.setCustomValidity(wrong && `${field.name}: ${wrong}`);
  };
  if (input.type === "text") input.addEventListener("input", check);
  const label = document.createElement("label");
  label.htmlFor = input.id;
  label.textContent = field.name;
  return { field, input, label };
}

// The field's value for the request: numbers as numbers, booleans as booleans; undefined leaves
// it out (an empty optional field, an optional checkbox left clear).
function fieldValue({ field, input }) {
  if (field.type === "boolean") return input.checked ? true : field.required ? false : undefined;
  if (input.value.trim() === "") return undefined;
  if (field.type === "integer" || field.type === "number") return input.valueAsNumber;
  if (JSON_TYPES.has(field.type)) return parseJson(input.value, field.type);
  return input.value;
}

function actionForm(op) {
  const form = document.createElement("form");
  form.className = "op";
  form.dataset.op = op.name;
  if (op.capability) form.dataset.cap = op.capability;
  const heading = document.createElement("h3");
  heading.id = `op-${op.name}`;
  heading.textContent = shortSummary(op.summary);
  if (heading.textContent !== op.summary) heading.title = op.summary;
  form.setAttribute("aria-labelledby", heading.id);
  const controls = op.fields.map((field) => fieldControl(op, field));
  const submit = document.createElement("button");
  submit.type = "submit";
  submit.textContent = verb(op.summary);
  form.append(heading, ...controls.flatMap((c) => [c.label, c.input]), submit);
  form.addEventListener("submit", (ev) => { ev.preventDefault(); runAction(op, form, controls); });
  return form;
}

async function runAction(op, form, controls) {
  if (!device) { say("no device"); return; }
  const target = device; // the answer names the device it was sent to, even if another is chosen meanwhile
  const values = {};
  for (const c of controls) {
    const value = fieldValue(c);
    if (value !== undefined) values[c.field.name] = value;
  }
  let path = op.path.replaceAll("{id}", encodeURIComponent(target.id));
  let body = op.fields.length ? values : undefined;
  if (op.method === "GET") { // a GET's request is its query string
    const query = new URLSearchParams(Object.entries(values).map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : String(v)]))
      .toString();
    if (query) path += `?${query}`;
    body = undefined;
  }
  if (op.destructive && !confirm(`${target.name}: ${op.summary}`)) return;
  const submit = form.querySelector("button[type=submit]");
  submit.disabled = true;
  form.setAttribute("aria-busy", "true");
  say(`${target.name}: ${shortSummary(op.summary)}…`);
  try {
    say(`${target.name}: ${resultLine(op, await api(op.method, path, body, op.timeout_s))}`);
  } catch (e) {
    say(`${target.name}: ${problem(e)}`);
  } finally {
    submit.disabled = false;
    form.removeAttribute("aria-busy");
  }
}

// Build the forms once (after signing in, when a token is set); the rest of the page works without them.
async function loadActions() {
  if (actionsLoaded) return;
  try {
    const ops = await api("GET", "/v1/operations");
    // a path with a parameter other than the device's cannot be filled in from a form
    const offered = ops.filter((op) => op.remote && !/\{(?!id\})/.test(op.path));
    $("action-forms").replaceChildren(...offered.map(actionForm));
    actionsLoaded = true;
  } catch (e) { say(`actions unavailable: ${e.message}`); }
  applyCapabilities();
}

let appsAsked = 0; // which loadApps call is the latest: an earlier one's answer is dropped
async function loadApps() {
  const grid = $("grid");
  grid.replaceChildren();
  const asked = ++appsAsked;
  if (!device || !device.capabilities.includes("apps")) return;
  const target = device;
  try {
    const list = await api("GET", base(target) + "/apps");
    if (asked !== appsAsked) return; // another device was chosen meanwhile
    for (const app of list.apps) {
      const b = document.createElement("button");
      b.dataset.app = app.platform_id;
      b.setAttribute("aria-label", `Launch ${app.name}`);
      const img = document.createElement("img");
      img.alt = "";
      img.loading = "lazy";
      if (target.capabilities.includes("app-icons")) {
        img.src = `${base(target)}/apps/${encodeURIComponent(app.platform_id)}/icon`;
      }
      const label = document.createElement("span");
      label.textContent = app.name;
      b.append(img, label);
      b.addEventListener("click", () => launch(app));
      grid.append(b);
    }
  } catch (e) { if (asked === appsAsked) say(e.message); }
}

async function launch(app) {
  try {
    await api("POST", base() + "/apps/launch", { app: app.platform_id });
    say(`${device.name}: launched ${app.name}`);
  } catch (e) { say(`${device.name}: ${e.message}`); }
}

async function refreshState() {
  if (!device) return;
  const target = device;
  try {
    const report = await api("GET", base(target) + "/state");
    if (device === target) showState(report.state, report.device.online);
  } catch (e) { say(`${target.name}: ${e.message}`); }
}

function showState(state, online) {
  const app = state.active_app ? state.active_app.name : null;
  let media = "";
  if (state.media && state.media.state !== "close") {
    media = `, ${state.media.state}`;
    const ms = state.media.position_ms;
    if (typeof ms === "number") {
      const s = Math.floor(ms / 1000);
      media += ` ${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
    }
  }
  const parts = [device.name, online === false ? "offline" : "online"];
  if (app) parts.push(app + media);
  if (state.control_note) parts.push(state.control_note);
  sayState(parts.join(" · "));
}

async function screenshot() {
  if (!device) return;
  try {
    const r = await fetch(base() + "/screenshot", { credentials: "same-origin" });
    if (!r.ok) { const doc = await r.json(); throw new Error(doc.error.message); }
    const url = URL.createObjectURL(await r.blob());
    const img = $("shot-img");
    if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
    img.src = url;
  } catch (e) { say(`screenshot: ${e.message}`); }
}

// On a device with a pointer, a click on its screenshot clicks the screen there (a right-click
// right-clicks), then the screenshot is taken again to show what it did.
async function clickScreen(event) {
  if (!device || !device.capabilities.includes("pointer")) return;
  event.preventDefault();
  const img = $("shot-img");
  const box = img.getBoundingClientRect();
  if (!box.width || !box.height) return;
  const x = Math.min(Math.max((event.clientX - box.left) / box.width, 0), 1);
  const y = Math.min(Math.max((event.clientY - box.top) / box.height, 0), 1);
  const action = event.type === "contextmenu" ? "right-click" : "click";
  try {
    const out = await api("POST", base() + "/pointer", { x, y, unit: "fraction", action });
    say(`${device.name}: ${action === "click" ? "clicked" : "right-clicked"} at ${Math.round(out.x * 100)}%, ${Math.round(out.y * 100)}%`);
    await screenshot();
  } catch (e) { say(`${device.name}: ${e.message}`); }
}

function upload(event) {
  event.preventDefault();
  const file = $("zip").files[0];
  if (!file || !device) return;
  const form = new FormData();
  form.append("archive", file, file.name);
  const xhr = new XMLHttpRequest(); // fetch cannot report upload progress
  xhr.open("POST", base() + "/dev/install");
  xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) $("upload-progress").value = (100 * ev.loaded) / ev.total; };
  xhr.onload = () => {
    const doc = JSON.parse(xhr.responseText);
    say(doc.ok ? `${device.name}: ${doc.data.result} ${file.name}` : `${device.name}: ${doc.error.message}`);
  };
  xhr.onerror = () => say("upload failed: the daemon closed the connection");
  xhr.send(form);
}

async function reload() {
  try {
    const out = await api("POST", base() + "/dev/reload");
    say(`${device.name}: reloaded (left via ${out.left_via})`);
  } catch (e) { say(`${device.name}: ${e.message}`); }
}

let logStream = null;
function followLogs() {
  const button = $("logs-follow");
  if (logStream) { logStream.close(); logStream = null; button.setAttribute("aria-pressed", "false"); return; }
  button.setAttribute("aria-pressed", "true");
  logStream = new EventSource(`${base()}/dev/logs?follow=true&lines=200`);
  logStream.addEventListener("log", (ev) => {
    const pre = $("logs");
    pre.textContent += JSON.parse(ev.data).text + "\n";
    pre.scrollTop = pre.scrollHeight;
  });
}

async function choose(id, devices) {
  if (logStream) followLogs(); // stop following the previous device
  device = devices.find((d) => d.id === id) || null;
  applyCapabilities();
  await loadApps();
  await refreshState();
}

async function loadDevices() {
  const devices = await api("GET", "/v1/devices");
  const select = $("device");
  select.replaceChildren(...devices.map((d) => {
    const o = document.createElement("option");
    o.value = d.id;
    o.textContent = `${d.name} (${d.platform})`;
    return o;
  }));
  select.onchange = () => choose(select.value, devices);
  if (devices.length) await choose(devices[0].id, devices);
  else say("no devices: add one with tvctl device add <address>");
}

function listen() {
  const events = new EventSource("/v1/events");
  events.addEventListener("state_changed", (ev) => {
    const data = JSON.parse(ev.data);
    if (device && data.id === device.id) showState(data.state, true);
  });
  events.addEventListener("device_updated", (ev) => {
    const d = JSON.parse(ev.data);
    if (device && d.id === device.id && !d.online) sayState(`${device.name} · offline`);
  });
  events.onopen = () => refreshState();
  events.onerror = () => sayState("daemon unreachable; reconnecting…"); // EventSource retries by itself
}

function shortcuts(event) {
  if (event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement) return;
  if (event.target instanceof Element && event.target.closest("#actions")) return; // Enter/space submit the form
  const keys = { ArrowUp: "up", ArrowDown: "down", ArrowLeft: "left", ArrowRight: "right", Enter: "select",
                 Backspace: "back", Escape: "back", " ": "play-pause" };
  if (keys[event.key]) { event.preventDefault(); press(keys[event.key]); }
}

document.addEventListener("DOMContentLoaded", async () => {
  document.querySelectorAll("button[data-key]").forEach((b) => b.addEventListener("click", () => press(b.dataset.key)));
  $("type").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = $("text").value;
    if (text) { press(`literal:${text}`); $("text").value = ""; }
  });
  $("login").addEventListener("submit", signIn);
  $("shot-refresh").addEventListener("click", screenshot);
  $("shot-img").addEventListener("click", clickScreen);
  $("shot-img").addEventListener("contextmenu", clickScreen);
  $("upload").addEventListener("submit", upload);
  $("upload").addEventListener("dragover", (ev) => ev.preventDefault());
  $("upload").addEventListener("drop", (ev) => { // a zip dropped on the form is installed at once
    ev.preventDefault();
    if (ev.dataTransfer && ev.dataTransfer.files.length) { $("zip").files = ev.dataTransfer.files; upload(ev); }
  });
  $("reload").addEventListener("click", reload);
  $("logs-follow").addEventListener("click", followLogs);
  $("shot-auto").addEventListener("change", (ev) => {
    clearInterval(shotTimer);
    if (ev.target.checked) shotTimer = setInterval(screenshot, 2000);
  });
  document.addEventListener("keydown", shortcuts);
  try {
    await loadDevices();
    listen();
  } catch (e) { say(e.message); return; }
  await loadActions();
});
