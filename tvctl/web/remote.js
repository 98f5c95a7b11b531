// The tvctl web remote: talks to the daemon that served it, same origin, no third-party code.
"use strict";

const $ = (id) => document.getElementById(id);
let device = null; // the chosen device record
let shotTimer = null;

function say(text) { $("feedback").textContent = text; } // what the last action did
function sayState(text) { $("status").textContent = text; } // what the device is doing

async function api(method, path, body) {
  const init = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  if (r.status === 401) { showLogin(); throw new Error("sign in with the API token"); }
  const doc = await r.json();
  if (!doc.ok) throw new Error(`${doc.error.code}: ${doc.error.message}`);
  return doc.data;
}

function base() { return `/v1/devices/${encodeURIComponent(device.id)}`; }

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
}

async function loadApps() {
  const grid = $("grid");
  grid.replaceChildren();
  if (!device || !device.capabilities.includes("apps")) return;
  try {
    const list = await api("GET", base() + "/apps");
    for (const app of list.apps) {
      const b = document.createElement("button");
      b.dataset.app = app.platform_id;
      b.setAttribute("aria-label", `Launch ${app.name}`);
      const img = document.createElement("img");
      img.alt = "";
      img.loading = "lazy";
      if (device.capabilities.includes("app-icons")) {
        img.src = `${base()}/apps/${encodeURIComponent(app.platform_id)}/icon`;
      }
      const label = document.createElement("span");
      label.textContent = app.name;
      b.append(img, label);
      b.addEventListener("click", () => launch(app));
      grid.append(b);
    }
  } catch (e) { say(e.message); }
}

async function launch(app) {
  try {
    await api("POST", base() + "/apps/launch", { app: app.platform_id });
    say(`${device.name}: launched ${app.name}`);
  } catch (e) { say(`${device.name}: ${e.message}`); }
}

async function refreshState() {
  if (!device) return;
  try {
    const report = await api("GET", base() + "/state");
    showState(report.state, report.device.online);
  } catch (e) { say(`${device.name}: ${e.message}`); }
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
  } catch (e) { say(e.message); }
});
