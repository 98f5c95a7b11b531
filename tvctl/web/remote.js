// The tvctl web remote: talks to the daemon that served it, same origin, no third-party code.
"use strict";

let device = null; // the chosen device record
let shotTimer = null;
let shotSession = null; // {id, name}: the session of the chosen device whose screen the Screen panel shows
let lastState = null; // the chosen device's state as last read (null: not yet)
let stateAt = 0; // when it was read (performance.now()), to move the progress bar on between reads
const CHOSEN = "tvctl.device"; // localStorage: the id of the device chosen last

// What the last action did, in the bar at the foot of the page; it shows again on each message.
function say(text, tone) {
  const bar = $("feedback");
  bar.textContent = text;
  if (tone) bar.dataset.tone = tone;
  else delete bar.dataset.tone;
  bar.classList.add("again");
  void bar.offsetWidth; // restart its fade
  bar.classList.remove("again");
}
function sayError(text) { say(text, "error"); }

// What the device is doing; online: true, false, or undefined when not known.
function sayState(text, online) {
  const line = $("status");
  line.textContent = text;
  if (online === undefined) delete line.dataset.online;
  else line.dataset.online = online ? "yes" : "no";
}

// An SVG icon of the page's own (the <symbol>s at the top of index.html).
function icon(name) {
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("class", "i");
  svg.setAttribute("aria-hidden", "true");
  const use = document.createElementNS(NS, "use");
  use.setAttribute("href", `#i-${name}`);
  svg.append(use);
  return svg;
}

// api(), problem(), words() and sendToken() are common.js's.
function base(d = device) { return `/v1/devices/${encodeURIComponent(d.id)}`; }

function showLogin() {
  if (!$("login").hidden) return;
  $("login").hidden = false;
  sayState("sign in to reach the devices");
  $("token").focus();
}

async function signIn(event) {
  event.preventDefault();
  if (!await sendToken()) return;
  await loadDevices();
  listen();
  await loadActions();
}

async function press(key) {
  if (!device) return;
  try {
    await api("POST", base() + "/remote/key", { key });
    say(`${device.name}: sent ${key.startsWith("literal:") ? "text" : key}`);
  } catch (e) { sayError(`${device.name}: ${problem(e)}`); }
}

function applyCapabilities() {
  const caps = new Set(device ? device.capabilities : []);
  document.querySelectorAll("[data-cap]").forEach((el) => { el.hidden = !caps.has(el.dataset.cap); });
  $("actions").hidden = !document.querySelector("#action-forms > form:not([hidden])");
  $("shot").toggleAttribute("data-pointer", caps.has("pointer")); // a click on the screenshot clicks the screen
  // without keys, the device's health is what the page is for; with them, a line under the remote
  $("health-title").textContent = caps.has("keys") ? "Device" : "Health";
  $("health").classList.toggle("compact", caps.has("keys"));
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

// An error as a person reads it: the message and its hint, never the code.
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
    sayError(`${target.name}: ${problem(e)}`);
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
  } catch (e) { sayError(`actions unavailable: ${problem(e)}`); }
  applyCapabilities();
}

let appsAsked = 0; // which loadApps call is the latest: an earlier one's answer is dropped
let appIcons = new Map(); // platform_id -> icon URL of the chosen device's listed apps
// -- live TV: the tuner's channel line-up, a button each (tv_channels; a click is tv_tune) -------------
let channelsAsked = 0; // which loadChannels call is the latest
async function loadChannels() {
  const list = $("channel-list");
  list.replaceChildren();
  $("channels-empty").hidden = true;
  const asked = ++channelsAsked;
  if (!device || !device.capabilities.includes("channels")) return;
  const target = device;
  try {
    const lineup = await api("GET", base(target) + "/tv/channels");
    if (asked !== channelsAsked) return; // another device was chosen meanwhile
    const shown = lineup.channels.filter((ch) => !ch.hidden);
    for (const ch of shown) {
      const b = document.createElement("button");
      b.type = "button";
      b.setAttribute("role", "listitem");
      b.dataset.channel = ch.number;
      const num = document.createElement("strong");
      num.textContent = ch.number;
      b.append(num);
      if (ch.name) {
        const name = document.createElement("span");
        name.textContent = ch.name;
        b.append(name);
      }
      b.setAttribute("aria-label", `Tune to ${ch.number}${ch.name ? ` ${ch.name}` : ""}`);
      b.addEventListener("click", () => tune(target, ch));
      list.append(b);
    }
    $("channels-empty").hidden = shown.length > 0;
  } catch (e) {
    if (asked === channelsAsked) sayError(`${target.name}: channels: ${problem(e)}`);
  }
}

async function tune(target, ch) {
  try {
    const r = await api("POST", base(target) + "/tv/tune", { channel: ch.number });
    if (device === target) say(`${target.name}: tuned to ${r.channel}${r.name ? ` (${r.name})` : ""}`);
  } catch (e) { sayError(`${target.name}: ${problem(e)}`); }
}

async function loadApps() {
  const grid = $("grid");
  grid.replaceChildren();
  appIcons = new Map();
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
      if (target.capabilities.includes("app-icons")) { // else no empty picture frame (a bookmark)
        const img = document.createElement("img");
        img.alt = "";
        img.width = 290; // a TV app icon's usual size: the box is kept while the picture loads (CSS: aspect-ratio)
        img.height = 218;
        img.loading = "lazy";
        img.decoding = "async";
        img.addEventListener("error", () => img.classList.add("broken"), { once: true }); // the box stays, empty
        img.src = `${base(target)}/apps/${encodeURIComponent(app.platform_id)}/icon`;
        appIcons.set(app.platform_id, img.src);
        b.append(img);
      }
      const label = document.createElement("span");
      label.textContent = app.name;
      b.title = app.name;
      b.append(label);
      b.addEventListener("click", () => launch(app));
      grid.append(b);
    }
    markFront();
    if (lastState) showNow(lastState); // its icon, now that the list says which apps have one
  } catch (e) { if (asked === appsAsked) sayError(`${target.name}: ${problem(e)}`); }
}

// The app in front, marked in the grid.
function markFront() {
  const app = lastState && lastState.active_app;
  const front = app && app.kind !== "home" ? app.platform_id : null;
  document.querySelectorAll("#grid button").forEach((b) => {
    if (front !== null && b.dataset.app === front) b.setAttribute("aria-current", "true");
    else b.removeAttribute("aria-current");
  });
}

async function launch(app) {
  if (!device) return;
  const target = device; // the answer names the device it was sent to, even if another is chosen meanwhile
  try {
    const out = await api("POST", base(target) + "/apps/launch", { app: app.platform_id });
    if (!out.session) { say(`${target.name}: launched ${app.name}`); return; }
    // a server of sessions started a session from a bookmark: say which, and list it
    say(`${target.name}: launched ${app.name} as the session “${out.session.name}”`);
    if (device === target) await Promise.all([loadSessions(), refreshState()]);
  } catch (e) { sayError(`${target.name}: ${problem(e)}`); }
}

// -- sessions: a server whose screens are its sessions (a remote-desktop server) ---------------------
// Each session is listed with its user, geometry and clients, with a button to show its screen in
// the Screen panel and one to end it. Session names come from the server: they are only ever text.
let sessionsAsked = 0; // which loadSessions call is the latest: an earlier one's answer is dropped
let sessionsOf = null; // the id of the device whose sessions the list shows
let sessionsShown = null; // how many sessions it shows (null: not loaded)

function textSpan(className, text) {
  const span = document.createElement("span");
  span.className = className;
  span.textContent = text;
  return span;
}

function sessionButton(className, text, label, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = className;
  b.textContent = text;
  b.setAttribute("aria-label", label);
  b.addEventListener("click", onClick);
  return b;
}

function sessionItem(target, s) {
  const li = document.createElement("li");
  li.dataset.session = s.id;
  li.title = [s.display && `display ${s.display}`, s.started && `started ${s.started}`, `id ${s.id}`]
    .filter(Boolean).join(", ");
  const meta = document.createElement("div");
  meta.className = "s-meta";
  const clients = s.clients == null ? "—" : `${s.clients} client${s.clients === 1 ? "" : "s"}`;
  meta.append(textSpan("s-user", s.user ?? "—"), textSpan("s-geometry", s.geometry ?? "—"), textSpan("s-clients", clients));
  const buttons = document.createElement("div");
  buttons.className = "s-do";
  if (target.capabilities.includes("screenshot")) {
    buttons.append(sessionButton("s-shot", "Screenshot", `Screenshot of ${s.name}`, () => showSession(target, s)));
  }
  buttons.append(sessionButton("s-terminate", "Terminate", `Terminate ${s.name}`,
    (ev) => terminate(target, s, ev.currentTarget)));
  const info = document.createElement("div");
  info.className = "s-info";
  info.append(textSpan("s-name", s.name), meta);
  li.append(info, buttons);
  return li;
}

// Marks the session the Screen panel shows.
function markShown() {
  document.querySelectorAll("#session-list li").forEach((li) => {
    li.toggleAttribute("aria-current", shotSession !== null && li.dataset.session === shotSession.id);
  });
}

async function loadSessions() {
  const list = $("session-list");
  const asked = ++sessionsAsked;
  const target = device;
  if (!target || target.id !== sessionsOf) { // another device's sessions are never shown, not even while loading
    list.replaceChildren();
    $("sessions-empty").hidden = true;
    sessionsOf = null;
    sessionsShown = null;
  }
  if (!target || !target.capabilities.includes("sessions")) return;
  list.setAttribute("aria-busy", "true");
  try {
    const out = await api("GET", base(target) + "/sessions");
    if (asked !== sessionsAsked) return; // another device was chosen, or the list asked for again, meanwhile
    list.replaceChildren(...out.sessions.map((s) => sessionItem(target, s)));
    $("sessions-empty").hidden = out.sessions.length > 0;
    sessionsOf = target.id;
    sessionsShown = out.sessions.length;
    markShown();
  } catch (e) {
    if (asked === sessionsAsked) sayError(`${target.name}: ${problem(e)}`);
  } finally {
    if (asked === sessionsAsked) list.removeAttribute("aria-busy");
  }
}

async function showSession(target, s) {
  if (device !== target) return;
  shotSession = { id: s.id, name: s.name };
  markShown();
  if (await screenshot()) say(`${target.name}: screenshot of “${s.name}”`);
}

// Ending a session ends what runs in it: asked first.
async function terminate(target, s, button) {
  if (device !== target) return;
  if (!confirm(`${target.name}: terminate the session “${s.name}” of ${s.user}? Whatever runs in it ends.`)) return;
  button.disabled = true;
  say(`${target.name}: terminating “${s.name}”…`);
  try {
    const out = await api("POST", `${base(target)}/sessions/${encodeURIComponent(s.id)}/terminate`);
    say(`${target.name}: terminated “${out.terminated.name}”`);
    if (device === target && shotSession && shotSession.id === s.id) {
      shotSession = null;
      $("shot-of").textContent = `${s.name} (terminated)`;
    }
  } catch (e) {
    sayError(`${target.name}: ${problem(e)}`);
    button.disabled = false;
  }
  if (device === target) await Promise.all([loadSessions(), refreshState()]); // the list, and the state's count
}

// The state counts a server's sessions: when the count changes (another client started or ended
// one), the list is read again.
function followSessions(state) {
  if (device && device.capabilities.includes("sessions") && sessionsOf === device.id &&
      typeof state.session_count === "number" && state.session_count !== sessionsShown) loadSessions();
}

async function refreshState() {
  if (!device) return;
  const target = device;
  try {
    const report = await api("GET", base(target) + "/state");
    if (device === target) { showState(report.state, report.device.online); followSessions(report.state); }
  } catch (e) { if (device === target) sayError(`${target.name}: ${problem(e)}`); }
}

function showState(state, online) {
  lastState = state;
  stateAt = performance.now();
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
  if (typeof state.session_count === "number") parts.push(`${state.session_count} session${state.session_count === 1 ? "" : "s"}`);
  if (state.control_note) parts.push(state.control_note);
  sayState(parts.join(" · "), online !== false);
  showNow(state);
  showHealth(state);
  showVolume(state);
  markFront();
}

// -- now playing: the app in front, its channel, the player's state and position --------------------
const KIND_WORDS = { app: "Now playing", "tv-input": "Watching", home: "Home screen", screensaver: "Screensaver" };
const MEDIA_WORDS = { play: "Playing", pause: "Paused", buffer: "Loading", startup: "Starting", open: "Opening",
                      stop: "Stopped" };
const MEDIA_ICONS = { play: "play", pause: "pause" };
let nowTimer = null;
let nowIcon = null; // the URL of the icon the card shows (or is loading)

function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const two = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

// state null: the chosen device's state is not read yet. The card's room is kept for a device that
// has apps and keys (a TV, a player) so nothing moves when the state comes.
function showNow(state) {
  const card = $("now");
  const caps = device ? device.capabilities : [];
  const app = state ? state.active_app : null;
  card.hidden = !caps.includes("apps") || (state ? !app : !caps.includes("keys"));
  clearInterval(nowTimer);
  nowTimer = null;
  $("now-kind").textContent = state && state.power === "standby" ? "Standby"
    : app ? KIND_WORDS[app.kind] || "Now playing" : "Now playing";
  $("now-title").textContent = !app ? "…" : app.kind === "screensaver" && app.screensaver ? app.screensaver : app.name;
  const tv = state && state.tv;
  const channel = tv ? [[tv.number, tv.name].filter(Boolean).join(" "), tv.program_title].filter(Boolean).join(" — ") : "";
  $("now-channel").textContent = channel;
  $("now-channel").hidden = !channel;
  // the grid's picture of the app (an app the list does not name, a sideloaded one, has none)
  const iconOf = app && app.kind !== "home" ? appIcons.get(app.platform_id) || null : null;
  if (iconOf !== nowIcon) {
    nowIcon = iconOf;
    const img = $("now-icon");
    img.hidden = true; // until it has loaded: never a broken picture
    if (iconOf) img.src = iconOf;
    else img.removeAttribute("src");
  }
  const media = state && state.media && MEDIA_WORDS[state.media.state] ? state.media : null;
  card.dataset.media = media ? media.state : "none";
  const pill = $("now-state");
  pill.hidden = !media;
  if (media) {
    const word = media.live && media.state === "play" ? "Live" : MEDIA_WORDS[media.state];
    pill.replaceChildren(...(MEDIA_ICONS[media.state] ? [icon(MEDIA_ICONS[media.state])] : []), word);
  }
  const timed = media && typeof media.duration_ms === "number" && media.duration_ms > 0 &&
    typeof media.position_ms === "number";
  $("now-progress").hidden = !timed;
  if (timed) {
    showPosition();
    if (media.state === "play") nowTimer = setInterval(showPosition, 1000);
  }
}

// The player's position: as last read, moved on by the time since while it plays.
function showPosition() {
  const media = lastState && lastState.media;
  if (!media || !(media.duration_ms > 0)) return;
  const moved = media.state === "play" ? performance.now() - stateAt : 0;
  const at = Math.min(media.position_ms + moved, media.duration_ms);
  $("now-fill").style.width = `${((100 * at) / media.duration_ms).toFixed(2)}%`;
  const bar = $("now-bar");
  bar.setAttribute("aria-valuemax", String(Math.floor(media.duration_ms / 1000)));
  bar.setAttribute("aria-valuenow", String(Math.floor(at / 1000)));
  bar.setAttribute("aria-valuetext", `${clock(at)} of ${clock(media.duration_ms)}`);
  $("now-pos").textContent = clock(at);
  $("now-dur").textContent = clock(media.duration_ms);
}

// -- health: the fields a platform's state has beyond the common ones, shown as they come ------------
const SHOWN_ELSEWHERE = new Set(["session_count", "volume", "muted"]); // the status line, the volume keys
const ACRONYMS = new Set(["cpu", "gpu", "os", "id", "ip", "url", "tv", "mac", "hdmi", "ram", "usb"]);
const UNITS = { celsius: "°C", fahrenheit: "°F", volt: "V", volts: "V", watt: "W", watts: "W", ampere: "A",
                percent: "%" };
const SCALAR = new Set(["string", "number", "boolean"]);

function fieldName(key) {
  const text = key.replace(/_(s|ms|percent|pct)$/, "").split("_").filter(Boolean)
    .map((w) => (ACRONYMS.has(w) ? w.toUpperCase() : w)).join(" ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function span(seconds) {
  const s = Math.round(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d} d ${h} h`;
  if (h) return `${h} h ${m} min`;
  return m ? `${m} min` : `${s} s`;
}

function amount(n) { return n.toLocaleString(undefined, { maximumFractionDigits: 1 }); }

function scalarText(v) { return typeof v === "boolean" ? (v ? "yes" : "no") : typeof v === "number" ? amount(v) : String(v); }

// A reading ({name, value, unit}) as "CPU 50.1 °C".
function readingText(r) {
  const unit = r.unit ? UNITS[String(r.unit).toLowerCase()] || String(r.unit) : "";
  return `${r.name} ${scalarText(r.value)}${unit ? ` ${unit}` : ""}`;
}

// {text, percent} for a field, or null when there is nothing to show.
function healthValue(key, v) {
  if (v === null || v === undefined || v === "") return null;
  if (typeof v === "number" && /_(percent|pct)$/.test(key)) return { text: `${amount(v)} %`, percent: v };
  if (typeof v === "number" && key.endsWith("_ms")) return { text: span(v / 1000) };
  if (typeof v === "number" && key.endsWith("_s")) return { text: span(v) };
  if (SCALAR.has(typeof v)) return { text: scalarText(v) };
  if (Array.isArray(v)) {
    if (!v.length) return null;
    if (v.every((x) => SCALAR.has(typeof x))) return { text: v.map(scalarText).join(", ") };
    if (v.every((x) => x && typeof x === "object" && "name" in x && "value" in x)) return { items: v.map(readingText) };
    return null;
  }
  if (typeof v === "object") {
    const plain = Object.entries(v).filter(([, x]) => SCALAR.has(typeof x));
    return plain.length ? { items: plain.map(([k, x]) => `${k} ${scalarText(x)}`) } : null;
  }
  return null;
}

function showHealth(state) {
  const list = $("health-list");
  const rows = [];
  for (const [key, v] of Object.entries(state || {})) {
    if (COMMON_STATE.has(key) || SHOWN_ELSEWHERE.has(key)) continue;
    const shown = healthValue(key, v);
    if (!shown) continue;
    const row = document.createElement("div");
    row.className = "stat";
    row.dataset.field = key;
    const dt = document.createElement("dt");
    dt.textContent = fieldName(key);
    const dd = document.createElement("dd");
    if (shown.items) {
      dd.className = "chips";
      dd.append(...shown.items.map((t) => textSpan("chip", t)));
    } else dd.textContent = shown.text;
    row.append(dt, dd);
    if ((shown.text || shown.items.join(" · ")).length > 13) row.classList.add("wide"); // a long value: a whole row
    if (shown.percent !== undefined) {
      const meter = document.createElement("div");
      meter.className = "meter";
      meter.dataset.level = shown.percent >= 90 ? "full" : shown.percent >= 70 ? "high" : "ok";
      const fill = document.createElement("span");
      fill.style.width = `${Math.min(Math.max(shown.percent, 0), 100)}%`;
      meter.append(fill);
      row.append(meter);
    }
    rows.push(row);
  }
  list.replaceChildren(...rows);
  $("health").hidden = rows.length === 0;
}

// The set's own volume, where its state says it.
function showVolume(state) {
  const level = $("vol-level");
  const known = state && typeof state.volume === "number";
  level.hidden = !known;
  level.textContent = known ? (state.muted ? "muted" : String(state.volume)) : "";
  level.toggleAttribute("data-muted", Boolean(known && state.muted));
}

// -- screen ------------------------------------------------------------------------------------------
let shotAsked = 0; // which screenshot call is the latest: an earlier one's image is dropped

// The chosen device's screen, or on a server of sessions the session chosen in the Sessions panel
// (shotSession); true when it is shown.
async function screenshot() {
  if (!device) return false;
  const target = device;
  const session = shotSession;
  const asked = ++shotAsked;
  const path = base(target) + "/screenshot" + (session ? `?session=${encodeURIComponent(session.id)}` : "");
  try {
    const r = await fetch(path, { credentials: "same-origin" });
    if (r.status === 401) { showLogin(); throw new Error("sign in with the API token"); }
    if (!r.ok) {
      const doc = await r.json().catch(() => null);
      const err = doc && doc.error ? doc.error : { message: "the daemon could not take the screenshot" };
      throw Object.assign(new Error(err.message), { text: err.message, hint: err.hint });
    }
    const blob = await r.blob();
    if (asked !== shotAsked || device !== target) return false; // another screen was asked for meanwhile
    const img = $("shot-img");
    if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
    img.src = URL.createObjectURL(blob); // shown once it has loaded
    img.alt = session ? `The screen of the session ${session.name}` : "The device's screen";
    $("shot-of").textContent = session ? session.name : "";
    return true;
  } catch (e) {
    if (asked === shotAsked && device === target) {
      sayError(session ? `${target.name}: screenshot of “${session.name}”: ${problem(e)}`
        : `${target.name}: screenshot: ${problem(e)}`);
    }
    return false;
  }
}

function clearScreenshot() {
  shotSession = null;
  shotAsked++; // an image still on its way is another device's
  const img = $("shot-img");
  if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
  img.removeAttribute("src");
  img.hidden = true;
  img.alt = "The device's screen";
  $("shot-empty").hidden = false;
  $("shot-of").textContent = "";
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
  const target = device;
  try {
    const out = await api("POST", base(target) + "/pointer", { x, y, unit: "fraction", action });
    say(`${target.name}: ${action === "click" ? "clicked" : "right-clicked"} at ${Math.round(out.x * 100)}%, ${Math.round(out.y * 100)}%`);
    if (device === target) await screenshot();
  } catch (e) { sayError(`${target.name}: ${problem(e)}`); }
}

// -- developer ---------------------------------------------------------------------------------------
function showChosenZip() {
  const file = $("zip").files[0];
  const text = $("drop-text");
  if (!file) {
    const strong = document.createElement("strong");
    strong.textContent = "Drop a channel zip here";
    text.replaceChildren(strong, " or choose one");
    return;
  }
  const strong = document.createElement("strong");
  strong.textContent = file.name;
  text.replaceChildren(strong, ` · ${Math.max(1, Math.round(file.size / 1024)).toLocaleString()} KB: Install sends it`);
}

function upload(event) {
  event.preventDefault();
  const file = $("zip").files[0];
  if (!device) return;
  if (!file) { sayError(`${device.name}: choose a channel zip first, or drop one on the box`); return; }
  const target = device;
  const form = new FormData();
  form.append("archive", file, file.name);
  $("upload-progress").value = 0;
  const xhr = new XMLHttpRequest(); // fetch cannot report upload progress
  xhr.open("POST", base(target) + "/dev/install");
  xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) $("upload-progress").value = (100 * ev.loaded) / ev.total; };
  xhr.onload = () => {
    let doc = null;
    try { doc = JSON.parse(xhr.responseText); } catch { /* not an envelope: said below */ }
    if (xhr.status === 401) { showLogin(); sayError("sign in with the API token"); }
    else if (doc && doc.ok) say(`${target.name}: ${doc.data.result} ${file.name}`);
    else if (doc && doc.error) sayError(`${target.name}: ${words(doc.error.message, doc.error.hint)}`);
    else sayError(`${target.name}: the daemon did not take the upload`);
  };
  xhr.onerror = () => sayError("upload failed: the daemon closed the connection");
  xhr.send(form);
}

async function reload() {
  if (!device) return;
  const target = device;
  try {
    const out = await api("POST", base(target) + "/dev/reload");
    say(`${target.name}: reloaded (left via ${out.left_via})`);
  } catch (e) { sayError(`${target.name}: ${problem(e)}`); }
}

let logStream = null;
function followLogs() {
  const button = $("logs-follow");
  if (logStream) { logStream.close(); logStream = null; button.setAttribute("aria-pressed", "false"); return; }
  if (!device) return;
  button.setAttribute("aria-pressed", "true");
  logStream = new EventSource(`${base()}/dev/logs?follow=true&lines=200`);
  logStream.addEventListener("log", (ev) => {
    const pre = $("logs");
    pre.textContent += JSON.parse(ev.data).text + "\n";
    pre.scrollTop = pre.scrollHeight;
  });
}

// -- the device ------------------------------------------------------------------------------------
async function choose(id, devices) {
  if (logStream) followLogs(); // stop following the previous device
  device = devices.find((d) => d.id === id) || null;
  say(""); // what was done to the previous device is not news about this one
  lastState = null;
  clearScreenshot();
  $("logs").textContent = "";
  sayState(device ? `${device.name} · …` : "no device");
  showNow(null);
  showHealth(null);
  showVolume(null);
  applyCapabilities();
  await Promise.all([loadApps(), loadSessions(), loadChannels()]);
  await refreshState();
}

function remembered() {
  try { return localStorage.getItem(CHOSEN); } catch { return null; } // storage may be off
}

function remember(id) {
  try { localStorage.setItem(CHOSEN, id); } catch { /* the choice is only not kept */ }
}

// The device the page opens on: the one its address names (?device=, as the wall's tiles link), else
// the daemon's default device, else the one chosen last here, else the first.
function opening(devices, defaultDevice) {
  const named = (ident) => {
    if (!ident) return null;
    const low = ident.toLowerCase();
    return devices.find((d) => d.id.toLowerCase() === low || d.name === low) || null;
  };
  const asked = named(new URLSearchParams(location.search).get("device"));
  if (asked) remember(asked.id);
  return asked || named(defaultDevice) || named(remembered()) || devices[0];
}

async function loadDevices() {
  const [devices, status] = await Promise.all([
    api("GET", "/v1/devices"),
    api("GET", "/v1/daemon/status").catch(() => null), // only for its default device
  ]);
  const select = $("device");
  select.replaceChildren(...devices.map((d) => {
    const o = document.createElement("option");
    o.value = d.id;
    o.textContent = `${d.name} (${d.platform})`;
    return o;
  }));
  select.onchange = () => { remember(select.value); choose(select.value, devices); };
  if (!devices.length) { sayState("no devices", undefined); say("no devices: add one with tvctl device add <address>"); return; }
  const first = opening(devices, status && status.default_device);
  select.value = first.id;
  await choose(first.id, devices);
}

function listen() {
  const events = new EventSource("/v1/events");
  events.addEventListener("state_changed", (ev) => {
    const data = JSON.parse(ev.data);
    if (device && data.id === device.id) { showState(data.state, true); followSessions(data.state); }
  });
  events.addEventListener("device_updated", (ev) => {
    const d = JSON.parse(ev.data);
    if (device && d.id === device.id && !d.online) sayState(`${device.name} · offline`, false);
  });
  events.onopen = () => refreshState();
  events.onerror = () => sayState("daemon unreachable; reconnecting…"); // EventSource retries by itself
}

function shortcuts(event) {
  if (event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement) return;
  // Enter/space submit an action's form, press a session's button
  if (event.target instanceof Element && event.target.closest("#actions, #sessions, #dev, #shot")) return;
  const keys = { ArrowUp: "up", ArrowDown: "down", ArrowLeft: "left", ArrowRight: "right", Enter: "select",
                 Backspace: "back", Escape: "back", " ": "play-pause" };
  if (keys[event.key] && device && device.capabilities.includes("keys")) { event.preventDefault(); press(keys[event.key]); }
}

document.addEventListener("DOMContentLoaded", async () => {
  applyCapabilities(); // no device yet: no panel of one
  document.querySelectorAll("button[data-key]").forEach((b) => b.addEventListener("click", () => press(b.dataset.key)));
  $("type").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = $("text").value;
    if (text) { press(`literal:${text}`); $("text").value = ""; }
  });
  $("login").addEventListener("submit", signIn);
  $("shot-refresh").addEventListener("click", () => screenshot());
  $("sessions-refresh").addEventListener("click", () => loadSessions());
  const shot = $("shot-img");
  shot.addEventListener("click", clickScreen);
  shot.addEventListener("contextmenu", clickScreen);
  shot.addEventListener("load", () => { if (shot.getAttribute("src")) { shot.hidden = false; $("shot-empty").hidden = true; } });
  shot.addEventListener("error", () => { shot.hidden = true; $("shot-empty").hidden = false; });
  const nowIconImg = $("now-icon");
  nowIconImg.addEventListener("load", () => { nowIconImg.hidden = !nowIconImg.getAttribute("src"); });
  $("upload").addEventListener("submit", upload);
  $("zip").addEventListener("change", showChosenZip);
  const drop = $("drop");
  $("upload").addEventListener("dragover", (ev) => { ev.preventDefault(); drop.classList.add("over"); });
  $("upload").addEventListener("dragleave", (ev) => {
    if (!(ev.relatedTarget instanceof Node) || !$("upload").contains(ev.relatedTarget)) drop.classList.remove("over");
  });
  $("upload").addEventListener("drop", (ev) => { // a zip dropped on the form is installed at once
    ev.preventDefault();
    drop.classList.remove("over");
    if (ev.dataTransfer && ev.dataTransfer.files.length) { $("zip").files = ev.dataTransfer.files; showChosenZip(); upload(ev); }
  });
  $("reload").addEventListener("click", reload);
  $("logs-follow").addEventListener("click", followLogs);
  $("shot-auto").addEventListener("change", (ev) => {
    clearInterval(shotTimer);
    if (ev.target.checked) shotTimer = setInterval(() => screenshot(), 2000);
  });
  document.addEventListener("keydown", shortcuts);
  try {
    await loadDevices();
    listen();
  } catch (e) {
    if ($("login").hidden) sayError(problem(e)); // else the sign-in form says what to do
    return;
  }
  await loadActions();
});
