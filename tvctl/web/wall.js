// The tvctl wall: every device as a tile, live from the daemon's event stream, with thumbnails of
// the screens that can be captured and keys for several devices at once. Same origin, no
// third-party code; everything a device or a user named is put in the page as text.
"use strict";

// Thumbnails: never more than this many screenshot requests at once over the whole wall, one per
// device, each device's picture no more often than every SHOT_EVERY_MS (SHOT_BACKOFF_MS after a
// failure), and only while the page is visible.
const SHOTS_AT_ONCE = 2;
const SHOT_EVERY_MS = 10_000;
const SHOT_BACKOFF_MS = 60_000;
const SHOT_TIMEOUT_S = 20;
const KEY_TIMEOUT_S = 30;

const PLAYER_WORDS = { play: "playing", pause: "paused", buffer: "buffering", stop: "stopped", startup: "starting",
                       open: "opening" };
const KEY_WORDS = { select: "OK", "play-pause": "play/pause", "volume-up": "volume +", "volume-down": "volume −" };

const tiles = new Map(); // device id -> tile {device, state, el, parts…, shot}
let groups = []; // [{name, devices: [ids]}], from GET /v1/groups
let picked = new Set(); // ids of the tiles whose checkbox is ticked
let shotsInFlight = 0;
let shotTimer = null;
let events = null;

// -- talking to the daemon (api, problem, sendToken: common.js) ----------------------------------
const devicePath = (id) => `/v1/devices/${encodeURIComponent(id)}`;

function showLogin() { $("login").hidden = false; }

async function signIn(event) {
  event.preventDefault();
  if (await sendToken()) await start();
}

// -- small formatting helpers -------------------------------------------------------------------
function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

function duration(seconds) {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

function number(n) { return Number.isInteger(n) ? String(n) : String(Math.round(n * 100) / 100); }

// A plain field of a platform's state as [label, value]: its name in words, its unit from the
// name's ending (cpu_percent -> "cpu" "25%", uptime_s -> "uptime" "9 d 20 h").
function fact(key, value) {
  let label = key, shown;
  if (typeof value === "number" && key.endsWith("_percent")) { label = key.slice(0, -8); shown = `${number(value)}%`; }
  else if (typeof value === "number" && key.endsWith("_ms")) { label = key.slice(0, -3); shown = duration(value / 1000); }
  else if (typeof value === "number" && key.endsWith("_s")) { label = key.slice(0, -2); shown = duration(value); }
  else if (typeof value === "boolean") shown = value ? "yes" : "no";
  else shown = typeof value === "number" ? number(value) : String(value);
  return [label.replaceAll("_", " "), shown];
}

function plainFacts(state) {
  return Object.entries(state || {})
    .filter(([k, v]) => !COMMON_STATE.has(k) && v !== null && ["string", "number", "boolean"].includes(typeof v) && v !== "")
    .map(([k, v]) => fact(k, v));
}

// What the device shows now: {title, detail, progress (0..1 or null)}, or null when its state
// says nothing of it.
function showing(state) {
  if (!state) return null;
  const app = state.active_app, tv = state.tv, media = state.media;
  if (tv && (tv.number || tv.name) && (!app || app.kind === "tv-input")) {
    const name = tv.name && tv.name !== "Unknown" ? ` ${tv.name}` : "";
    const title = tv.number ? `Channel ${tv.number}${name}` : tv.name;
    return { title, detail: [tv.program_title, app && app.name].filter(Boolean).join(" · "), progress: null };
  }
  if (app) {
    let detail = "", progress = null;
    if (media && media.state && !["close", "none", "unknown"].includes(media.state)) {
      const parts = [PLAYER_WORDS[media.state] || media.state];
      if (typeof media.position_ms === "number") {
        parts.push(typeof media.duration_ms === "number" && media.duration_ms > 0
          ? `${clock(media.position_ms)} / ${clock(media.duration_ms)}` : clock(media.position_ms));
        if (typeof media.duration_ms === "number" && media.duration_ms > 0) {
          progress = Math.min(1, Math.max(0, media.position_ms / media.duration_ms));
        }
      }
      if (media.live) parts.push("live");
      detail = parts.join(" ");
    }
    if (app.screensaver) detail = detail || `screensaver ${app.screensaver}`;
    return { title: app.name, detail, progress };
  }
  if (state.power === "standby") return { title: "Standby", detail: "", progress: null };
  return null;
}

// -- tiles --------------------------------------------------------------------------------------
function makeTile(device) {
  const li = el("li", "tile");
  li.dataset.id = device.id;
  const screen = el("div", "screen");
  const big = el("div", "screen-text");
  const title = el("span", "now-title");
  const detail = el("span", "now-detail");
  const bar = el("progress", "now-progress");
  bar.max = 1;
  big.append(title, detail, bar);
  const note = el("span", "screen-note");
  screen.append(big, note);

  const head = el("div", "head");
  const pick = el("input", "pick");
  pick.type = "checkbox";
  pick.addEventListener("change", () => {
    if (pick.checked) picked.add(device.id); else picked.delete(device.id);
    li.classList.toggle("picked", pick.checked);
    updateBar();
  });
  const link = el("a", "name");
  const online = el("span", "online");
  head.append(pick, link, online);

  const meta = el("p", "meta");
  const platform = el("span", "platform");
  const model = el("span", "model");
  const mode = el("span", "mode");
  meta.append(platform, model, mode);
  const now = el("p", "now");
  const control = el("p", "control");
  const facts = el("dl", "facts");
  const trouble = el("p", "trouble");
  const result = el("p", "result");
  result.setAttribute("role", "status");
  li.append(screen, head, meta, now, control, facts, trouble, result);

  const tile = { device, state: null, el: li, screen, big, title, detail, bar, note, pick, link, online, platform, model,
                 mode, now, control, facts, trouble, result, img: null, asked: 0, acted: 0,
                 shot: { busy: false, due: 0 } };
  renderDevice(tile);
  renderState(tile);
  return tile;
}

function canShoot(tile) { return tile.device.capabilities.includes("screenshot"); }

function renderDevice(tile) {
  const d = tile.device;
  tile.el.dataset.online = String(d.online !== false);
  tile.link.textContent = d.name;
  tile.link.href = `/?device=${encodeURIComponent(d.id)}`;
  tile.link.title = `Open the remote for ${d.name}`;
  tile.pick.setAttribute("aria-label", `Select ${d.name}`);
  tile.online.textContent = d.online === false ? "offline" : "online";
  tile.platform.textContent = d.platform;
  tile.model.textContent = d.display_name && d.display_name !== d.name ? d.display_name : (d.model || "");
  const limited = d.access_mode === "limited" || d.access_mode === "disabled";
  tile.mode.textContent = limited ? `${d.access_mode[0].toUpperCase()}${d.access_mode.slice(1)} mode` : "";
  tile.mode.hidden = !limited;
  if (!canShoot(tile)) dropPicture(tile);
}

function renderState(tile) {
  const state = tile.state;
  const now = showing(state);
  const shots = canShoot(tile);
  // the screen: a picture where there can be one, else what it shows now in large type
  tile.title.textContent = now ? now.title : (state ? tile.device.kind || tile.device.platform : "…");
  tile.detail.textContent = now ? now.detail : "";
  tile.bar.hidden = !now || now.progress === null;
  if (now && now.progress !== null) tile.bar.value = now.progress;
  tile.big.hidden = shots;
  // below it, the same in a line when the screen shows a picture
  const line = shots && now ? [now.title, now.detail].filter(Boolean).join(" · ") : "";
  tile.now.textContent = line;
  tile.now.hidden = !line;
  const power = state && state.power === "standby" ? " · standby" : "";
  tile.online.textContent = (tile.device.online === false ? "offline" : "online") + power;
  tile.control.textContent = (state && state.control_note) || "";
  tile.control.hidden = !tile.control.textContent;
  const facts = plainFacts(state);
  tile.facts.replaceChildren(...facts.map(([k, v]) => {
    const div = el("div");
    div.append(el("dt", "", k), el("dd", "", v));
    return div;
  }));
  tile.facts.hidden = facts.length === 0;
  if (!shots) tile.note.textContent = "";
  else if (!tile.img && !tile.note.textContent) tile.note.textContent = "waiting for a picture…";
}

function setTrouble(tile, text) {
  tile.trouble.textContent = text;
  tile.trouble.hidden = !text;
}

async function readState(tile) {
  const asked = ++tile.asked;
  try {
    const report = await api("GET", `${devicePath(tile.device.id)}/state`);
    if (asked !== tile.asked || !tiles.has(tile.device.id)) return;
    tile.device = report.device;
    tile.state = report.state;
    setTrouble(tile, "");
    renderDevice(tile);
    renderState(tile);
  } catch (e) {
    if (asked === tile.asked) setTrouble(tile, problem(e));
  }
}

function byName(a, b) { return a.device.name.localeCompare(b.device.name); }

// Puts the tiles in the list in name order, keeping the elements (and their pictures) that stay.
function placeTiles() {
  const sorted = [...tiles.values()].sort(byName);
  const list = $("tiles");
  sorted.forEach((tile, i) => {
    if (list.children[i] !== tile.el) list.insertBefore(tile.el, list.children[i] || null);
  });
  $("empty").hidden = tiles.size > 0;
  applyFilter();
}

function addDevice(device) {
  let tile = tiles.get(device.id);
  if (tile) { tile.device = device; renderDevice(tile); placeTiles(); return tile; }
  tile = makeTile(device);
  tiles.set(device.id, tile);
  placeTiles();
  return tile;
}

function removeDevice(id) {
  const tile = tiles.get(id);
  if (!tile) return;
  tiles.delete(id);
  picked.delete(id);
  dropPicture(tile);
  tile.el.remove();
  placeTiles();
  updateBar();
}

// Every device and its state, read again (at start and whenever the event stream opens again).
async function loadAll() {
  const devices = await api("GET", "/v1/devices");
  const seen = new Set(devices.map((d) => d.id));
  for (const id of [...tiles.keys()]) if (!seen.has(id)) removeDevice(id);
  for (const d of devices) addDevice(d);
  await Promise.all([loadGroups(), ...[...tiles.values()].map(readState)]);
  pumpShots();
}

// -- thumbnails ---------------------------------------------------------------------------------
function wantsShot(tile) {
  return canShoot(tile) && tile.device.online !== false && !tile.el.hidden && tile.el.isConnected;
}

// Starts the screenshots that are due, within the bounds; sets a timer for the next one due.
function pumpShots() {
  clearTimeout(shotTimer);
  shotTimer = null;
  if (document.visibilityState !== "visible") return; // visibilitychange calls again
  const now = performance.now();
  const waiting = [...tiles.values()].filter((t) => wantsShot(t) && !t.shot.busy)
    .sort((a, b) => a.shot.due - b.shot.due);
  while (shotsInFlight < SHOTS_AT_ONCE && waiting.length && waiting[0].shot.due <= now) takeShot(waiting.shift());
  if (waiting.length && shotsInFlight < SHOTS_AT_ONCE) { // when full, the next shot to end calls again
    shotTimer = setTimeout(pumpShots, Math.max(0, waiting[0].shot.due - now));
  }
}

async function takeShot(tile) {
  tile.shot.busy = true;
  shotsInFlight++;
  let ok = false;
  try {
    const r = await fetch(`${devicePath(tile.device.id)}/screenshot`, {
      credentials: "same-origin", signal: AbortSignal.timeout(SHOT_TIMEOUT_S * 1000) });
    if (r.status === 401) { showLogin(); throw new Error("sign in with the API token"); }
    if (!r.ok) {
      const doc = await r.json().catch(() => null);
      throw doc && doc.error ? envelopeError(doc.error) : new Error(`HTTP ${r.status}`);
    }
    const blob = await r.blob();
    if (tiles.get(tile.device.id) === tile) { await showPicture(tile, blob); ok = true; }
  } catch (e) {
    tile.note.textContent = `No picture: ${problem(e)}`;
    tile.screen.classList.toggle("stale", Boolean(tile.img));
  } finally {
    tile.shot.busy = false;
    tile.shot.due = performance.now() + (ok ? SHOT_EVERY_MS : SHOT_BACKOFF_MS);
    shotsInFlight--;
    pumpShots();
  }
}

// The picture goes in only once decoded: never a broken image, never a flash of an empty one.
async function showPicture(tile, blob) {
  const url = URL.createObjectURL(blob);
  const img = new Image();
  img.className = "shot";
  img.alt = `The screen of ${tile.device.name}`;
  img.src = url;
  try {
    await img.decode();
  } catch {
    URL.revokeObjectURL(url);
    throw new Error("The device sent a picture that cannot be shown.");
  }
  if (tiles.get(tile.device.id) !== tile) { URL.revokeObjectURL(url); return; }
  const old = tile.img;
  if (old) { old.replaceWith(img); URL.revokeObjectURL(old.src); } else tile.screen.prepend(img);
  tile.img = img;
  tile.note.textContent = "";
  tile.screen.classList.remove("stale");
}

function dropPicture(tile) {
  if (!tile.img) return;
  URL.revokeObjectURL(tile.img.src);
  tile.img.remove();
  tile.img = null;
}

// -- groups and the filter ----------------------------------------------------------------------
async function loadGroups() {
  try {
    groups = await api("GET", "/v1/groups");
  } catch (e) {
    groups = []; // route_not_found: a daemon without groups; anything else: none to offer now
    if (e.code && e.code !== "route_not_found") setStatus(`groups: ${problem(e)}`);
  }
  renderGroups();
}

function renderGroups() {
  const select = $("group");
  const chosen = select.value;
  groups.sort((a, b) => a.name.localeCompare(b.name));
  select.replaceChildren(new Option("All devices", ""), ...groups.map((g) => {
    const o = new Option(`${g.name} (${g.devices.length})`, g.name);
    return o;
  }));
  select.value = groups.some((g) => g.name === chosen) ? chosen : "";
  $("group-pick").hidden = groups.length === 0;
  applyFilter();
}

function chosenGroup() {
  const name = $("group").value;
  return name ? groups.find((g) => g.name === name) || null : null;
}

function applyFilter() {
  const group = chosenGroup();
  const members = group ? new Set(group.devices) : null;
  for (const tile of tiles.values()) tile.el.hidden = members !== null && !members.has(tile.device.id);
  for (const id of [...picked]) { // a hidden tile is never acted on unseen
    const tile = tiles.get(id);
    if (tile && tile.el.hidden) unpick(tile);
  }
  updateBar();
  pumpShots();
}

function unpick(tile) {
  picked.delete(tile.device.id);
  tile.pick.checked = false;
  tile.el.classList.remove("picked");
}

// -- acting on several devices --------------------------------------------------------------------
function updateBar() {
  const group = chosenGroup();
  const n = picked.size;
  $("bar").hidden = n === 0 && !group;
  $("clear").hidden = n === 0;
  $("target").textContent = n ? `${n} selected` : group ? `Group ${group.name} · ${group.devices.length} devices` : "";
}

function showResult(tile, ok, text) {
  tile.result.textContent = `${ok ? "✓" : "✗"} ${text}`;
  tile.result.dataset.ok = String(ok);
  tile.el.dataset.result = ok ? "ok" : "error";
}

function say(text) { $("bar-result").textContent = text; }

function summary(key, results) {
  const good = results.filter((r) => r.ok).length;
  const word = KEY_WORDS[key] || key;
  return good === results.length ? `${word}: sent to ${good}` : `${word}: ${good} of ${results.length} done`;
}

async function send(key) {
  const word = KEY_WORDS[key] || key;
  const group = chosenGroup();
  if (picked.size) {
    const chosen = [...picked].map((id) => tiles.get(id)).filter(Boolean);
    say(`${word}…`);
    const results = await Promise.all(chosen.map(async (tile) => {
      const asked = ++tile.acted;
      try {
        await api("POST", `${devicePath(tile.device.id)}/remote/key`, { key }, KEY_TIMEOUT_S);
        if (asked === tile.acted) showResult(tile, true, `${word} sent`);
        return { ok: true };
      } catch (e) {
        if (asked === tile.acted) showResult(tile, false, problem(e));
        return { ok: false };
      }
    }));
    say(summary(key, results));
  } else if (group) {
    say(`${word} to ${group.name}…`);
    try {
      const out = await api("POST", `/v1/groups/${encodeURIComponent(group.name)}/remote/key`, { key }, KEY_TIMEOUT_S);
      const named = new Map([...tiles.values()].map((t) => [t.device.name, t]));
      for (const r of out.results) {
        const tile = named.get(r.device);
        if (!tile) continue;
        tile.acted++;
        if (r.ok) showResult(tile, true, `${word} sent`);
        else showResult(tile, false, problem(envelopeError(r.error)));
      }
      say(summary(key, out.results));
    } catch (e) { say(`${word}: ${problem(e)}`); }
  }
}

// -- the event stream ---------------------------------------------------------------------------
function setStatus(text, live = false) {
  $("status").textContent = text;
  $("status").toggleAttribute("data-live", live);
}

function listen() {
  if (events) events.close();
  events = new EventSource("/v1/events");
  const on = (type, fn) => events.addEventListener(type, (ev) => {
    let data;
    try { data = JSON.parse(ev.data); } catch { return; }
    fn(data);
  });
  on("state_changed", (data) => {
    const tile = tiles.get(data.id);
    if (!tile) return;
    tile.state = data.state;
    setTrouble(tile, "");
    renderState(tile);
  });
  on("device_added", (d) => { readState(addDevice(d)); pumpShots(); });
  on("device_updated", (d) => {
    const tile = tiles.get(d.id);
    if (!tile) { readState(addDevice(d)); pumpShots(); return; }
    const back = tile.device.online === false && d.online !== false;
    tile.device = d;
    renderDevice(tile);
    renderState(tile);
    placeTiles();
    if (back) { tile.shot.due = 0; readState(tile); }
    pumpShots();
  });
  on("device_removed", (d) => removeDevice(d.id));
  const regroup = (g, gone) => {
    groups = groups.filter((x) => x.name !== g.name);
    if (!gone) groups.push(g);
    renderGroups();
  };
  on("group_added", (g) => regroup(g, false));
  on("group_updated", (g) => regroup(g, false));
  on("group_removed", (g) => regroup(g, true));
  events.onopen = async () => { // the first time, and again after the daemon comes back
    setStatus("live", true);
    try { await loadAll(); } catch (e) { setStatus(problem(e)); }
  };
  events.onerror = () => { // EventSource connects again by itself
    setStatus(events.readyState === EventSource.CLOSED ? "not connected; reload the page" : "daemon unreachable; reconnecting…");
  };
}

// The tiles at once from the device list (which also shows the sign-in form when the daemon wants a
// token, before the stream is opened); their states and the groups when the stream opens.
async function start() {
  try {
    const devices = await api("GET", "/v1/devices");
    for (const d of devices) addDevice(d);
    $("empty").hidden = devices.length > 0;
  } catch (e) { setStatus(problem(e)); return; }
  listen();
}

document.addEventListener("DOMContentLoaded", () => {
  $("login").addEventListener("submit", signIn);
  $("group").addEventListener("change", () => {
    for (const tile of tiles.values()) unpick(tile); // a group, or tiles picked by hand: one at a time
    applyFilter();
  });
  $("clear").addEventListener("click", () => {
    for (const tile of tiles.values()) unpick(tile);
    updateBar();
  });
  document.querySelectorAll("#bar button[data-key]").forEach((b) => b.addEventListener("click", () => send(b.dataset.key)));
  document.addEventListener("visibilitychange", pumpShots);
  start();
});
