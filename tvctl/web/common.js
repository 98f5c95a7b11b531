// What the remote and the wall both need to talk to the daemon: the API call that turns an error
// envelope into an Error carrying the envelope's code, message (text) and hint, the wording of an
// error for people (never a bare code), and trading the API token for a session cookie. Loaded
// before each page's own script; the page defines showLogin(), called when the daemon asks for
// the token.
"use strict";

const $ = (id) => document.getElementById(id);

// The fields every device's state has (the daemon's DeviceState); whatever else a platform's state
// adds is shown as it comes, by name, so no page names a platform.
const COMMON_STATE = new Set(["power", "power_mode", "active_app", "media", "tv", "unavailable", "control_note"]);

// timeoutS: give up waiting after that many seconds (an AbortSignal timeout).
async function api(method, path, body, timeoutS) {
  const init = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (timeoutS) init.signal = AbortSignal.timeout(timeoutS * 1000);
  const r = await fetch(path, init);
  if (r.status === 401) { showLogin(); throw new Error("sign in with the API token"); }
  const doc = await r.json().catch(() => null);
  if (!doc) throw new Error(`the daemon answered HTTP ${r.status}`);
  if (!doc.ok) throw envelopeError(doc.error);
  return doc.data;
}

function envelopeError(error) {
  const { code, message, hint } = error || {};
  return Object.assign(new Error(message || "failed"), { code, text: message, hint });
}

// A message and what to do about it, as one line.
function words(text, hint) {
  return hint ? `${text}${/[.!?]$/.test(text) ? "" : "."} ${hint}` : text;
}

// An error in words: the message and its hint, never a bare code.
function problem(e) {
  if (e && (e.name === "TimeoutError" || e.name === "AbortError")) return "no answer in time";
  if (e instanceof TypeError && /fetch|network/i.test(e.message)) return "the daemon did not answer; is it running?";
  const text = (e && (e.text || e.message)) || "it failed";
  return e && e.hint ? words(text, e.hint) : text;
}

// POST /v1/session with the token typed into #token; true once signed in, else the reason shown in
// #login-error and false.
async function sendToken() {
  const r = await fetch("/v1/session", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token: $("token").value }),
  });
  if (!r.ok) {
    const doc = await r.json().catch(() => null);
    $("login-error").textContent = r.status === 401 ? "wrong token"
      : (doc && doc.error ? doc.error.message : `HTTP ${r.status}`);
    return false;
  }
  $("token").value = "";
  $("login").hidden = true;
  $("login-error").textContent = "";
  return true;
}
