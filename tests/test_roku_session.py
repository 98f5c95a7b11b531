"""Rokus in Enabled, Limited and Disabled mode, through the daemon's API (in-process,
tests/inproc.py; the CLI against the daemon process).

The fake TV plays each mode as the captures of a TCL Roku TV on 15.3.4 show it: in Limited mode
plain ECP refuses keys (403, no body) and most queries (403 with the refusal text), in Disabled
mode everything (401); the authenticated ecp-2 WebSocket session answers in every mode. tvctl
must give the same results in all three, over whichever wire works, and say which it uses.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.conftest import Daemon
from tests.fakeroku import FakeRoku, FakeSsdp
from tests.helpers import wait_for
from tests.inproc import Api, InProcDaemon

MODES = ["enabled", "limited", "disabled"]
TEXT = "/ & ? % é 😀"
SETTING_WORDS = ("Control by mobile apps", "Network access", "Enabled")


def add(d: Api, r: FakeRoku) -> dict[str, Any]:
    return d.add(r)


def ws_keys(r: FakeRoku) -> list[tuple[str, str]]:
    return [(action, key) for wire, action, key in r.key_events() if wire == "ws"]


def http_keys(r: FakeRoku) -> list[tuple[str, str]]:
    return [(action, key) for wire, action, key in r.key_events() if wire == "http"]


@pytest.mark.parametrize("mode", MODES)
def test_every_operation_in_each_mode(inproc: InProcDaemon, tcl: FakeRoku, mode: str) -> None:
    d = inproc
    tcl.access = mode
    dev = add(d, tcl)
    wire = "http" if mode == "enabled" else "session"
    assert (dev["access_mode"], dev["wire"]) == (mode, wire)
    assert dev["serial"] == "X02000EM0025" and dev["kind"] == "tv"
    plain_only = {"search", "play-media", "app-icons"}  # shown only where plain ECP carries them
    assert plain_only <= set(dev["capabilities"]) if mode == "enabled" else not plain_only & set(dev["capabilities"])
    url = f"/v1/devices/{dev['id']}"
    tcl.clear()
    sent = ws_keys if wire == "session" else http_keys

    d.ok("POST", url + "/remote/key", json={"key": "home"})
    d.ok("POST", url + "/remote/key", json={"key": "volume-up", "hold_ms": 30})
    d.ok("POST", url + "/remote/key", json={"key": "right", "repeat": 3})
    d.ok("POST", url + "/remote/sequence", json={"keys": ["down", "select", "volume-up"], "delay_ms": 0})
    typed = d.ok("POST", url + "/remote/key", json={"key": f"literal:{TEXT}"})
    assert typed["sent"] == len(TEXT)
    assert sent(tcl) == [
        ("press", "Home"), ("down", "VolumeUp"), ("up", "VolumeUp"),
        ("press", "Right"), ("press", "Right"), ("press", "Right"), ("press", "Down"), ("press", "Select"),
        ("press", "VolumeUp"), *[("press", f"Lit_{c}") for c in TEXT],
    ]
    other = http_keys if wire == "session" else ws_keys
    assert other(tcl) == []  # nothing reached the TV twice, or over the other wire

    apps = d.ok("POST", url + "/apps/refresh")["apps"]
    assert {"Netflix", "YouTube"} <= {a["name"] for a in apps}
    assert "tvinput.dtv" in {a["platform_id"] for a in apps}
    launched = d.ok("POST", url + "/apps/launch", json={"app": "Netflix"})
    assert launched["launched"]["platform_id"] == "12"
    state = d.ok("GET", url + "/state")["state"]
    assert state["active_app"]["name"] == "Netflix" and state["media"]["state"] == "play"
    assert state["volume"] == 10 and state["muted"] is False  # 9 on the recording, one VolumeUp press since
    assert (state["ecp_mode"], state["wire"]) == (mode, wire)
    if mode == "enabled":
        assert state["control_note"] is None
    else:
        assert state["control_note"] == f"{mode.capitalize()} mode — controlled through the mobile-app session"
    d.ok("POST", url + "/remote/key", json={"key": "home"})
    assert d.ok("GET", url + "/state")["state"]["active_app"]["kind"] == "home"

    channels = d.ok("GET", url + "/tv/channels")["channels"]
    assert channels and channels[0]["number"]
    tuned = d.ok("POST", url + "/tv/tune", json={"channel": channels[0]["number"]})
    assert tuned["channel"] == channels[0]["number"] and tcl.tuned == channels[0]["number"]
    assert d.ok("GET", url + "/state")["state"]["active_app"]["platform_id"] == "tvinput.dtv"

    if mode == "enabled":
        d.ok("POST", url + "/search", json={"keyword": "news", "strategy": "browse"})
        d.ok("POST", url + "/media/play", json={"url": "http://127.0.0.1:9/a.mp4"})
        return
    before = len(tcl.wire_log)
    for path, body in (("/search", {"keyword": "news"}), ("/media/play", {"url": "http://127.0.0.1:9/a.mp4"})):
        err = d.err("POST", url + path, 500, "ecp_limited_mode", json=body)
        assert mode in err["message"] and all(w in err["hint"] for w in SETTING_WORDS), err
    assert tcl.wire_log[before:] == []  # refused without asking the TV


def test_session_dropped_every_3_commands_delivers_each_key_once(shared_daemon: Daemon, tcl: FakeRoku) -> None:
    # the daemon process: in-process, the next key can go out between the fake's reply and its close
    # frame (it is then not sent again: the daemon cannot tell whether the TV took it)
    tcl.access = "limited"
    dev = add(shared_daemon, tcl)
    tcl.clear()
    tcl.drop_every = 3
    opened = tcl.sessions_opened
    names = ["up", "down", "left", "right", "select", "back", "home", "info", "up", "down", "left", "right"]
    for name in names:
        shared_daemon.ok("POST", f"/v1/devices/{dev['id']}/remote/key", json={"key": name})
    assert ws_keys(tcl) == [("press", k) for k in
                            ["Up", "Down", "Left", "Right", "Select", "Back", "Home", "Info", "Up", "Down", "Left",
                             "Right"]]
    assert tcl.sessions_opened - opened >= 4  # a fresh, re-authenticated session after every third


@pytest.mark.parametrize("refusal", ["status", "close"])
def test_refused_handshake_is_a_clear_error(inproc: InProcDaemon, tcl: FakeRoku, refusal: str) -> None:
    tcl.access = "limited"
    dev = add(inproc, tcl)  # device-info still answers over HTTP in Limited mode
    tcl.session_key = "a key a firmware update brought"
    tcl.session_refusal = refusal
    t0 = time.monotonic()
    err = inproc.err("POST", f"/v1/devices/{dev['id']}/remote/key", 500, "ecp_session_refused",
                     json={"key": "home"})
    assert time.monotonic() - t0 < 6
    assert all(w in err["hint"] for w in SETTING_WORDS), err
    assert ws_keys(tcl) == []


def test_silent_session_is_a_timeout(inproc: InProcDaemon, tcl: FakeRoku) -> None:
    tcl.access = "disabled"
    dev = add(inproc, tcl)  # the probe's session is its own: the key opens another
    tcl.session_hang = True
    t0 = time.monotonic()
    inproc.err("POST", f"/v1/devices/{dev['id']}/remote/key", 500, "device_timeout", json={"key": "home"})
    assert time.monotonic() - t0 < 6  # roku.request_timeout_s is 2 s in the tests


def test_switching_modes_moves_the_wire(inproc: InProcDaemon, tcl: FakeRoku) -> None:
    d = inproc
    dev = add(d, tcl)
    url = f"/v1/devices/{dev['id']}"
    assert dev["wire"] == "http"
    tcl.access = "limited"  # switched on the TV: the next key is refused over HTTP, then sent on the session
    tcl.clear()
    d.ok("POST", url + "/remote/key", json={"key": "home"})
    assert ws_keys(tcl) == [("press", "Home")] and http_keys(tcl) == []
    shown = d.ok("GET", url)
    assert (shown["access_mode"], shown["wire"], shown["id"]) == ("limited", "session", dev["id"])
    assert "search" not in shown["capabilities"]
    tcl.access = "disabled"
    again = add(d, tcl)  # probed again: identity from the session, same id
    assert (again["id"], again["access_mode"], again["wire"]) == (dev["id"], "disabled", "session")
    tcl.access = "enabled"  # back to Enabled: the state read sees it and HTTP is used again
    d.ok("GET", url + "/state")
    back = d.ok("GET", url)
    assert back["wire"] == "http" and "search" in back["capabilities"]
    tcl.clear()
    d.ok("POST", url + "/remote/key", json={"key": "back"})
    assert http_keys(tcl) == [("press", "Back")] and ws_keys(tcl) == []


def test_control_setting_and_device_option(inproc: InProcDaemon, tcl: FakeRoku) -> None:
    d = inproc
    dev = add(d, tcl)
    url = f"/v1/devices/{dev['id']}"
    d.ok("PATCH", url, json={"options": {"control": "session"}})
    assert d.ok("GET", url)["wire"] == "session"
    tcl.clear()
    d.ok("POST", url + "/remote/key", json={"key": "home"})
    assert ws_keys(tcl) == [("press", "Home")]
    d.ok("PATCH", url, json={"options": {"control": None}})
    d.ok("PATCH", "/v1/config", json={"roku.control": "http"})
    try:
        tcl.access = "limited"
        err = d.err("POST", url + "/remote/key", 500, "ecp_limited_mode", json={"key": "home"})
        assert all(w in err["hint"] for w in SETTING_WORDS)
        d.err("PATCH", url, 400, "invalid_payload", json={"options": {"control": "carrier-pigeon"}})
    finally:
        d.ok("PATCH", "/v1/config", json={"roku.control": "auto"})


def test_removed_device_leaves_no_session_open(inproc: InProcDaemon, tcl: FakeRoku) -> None:
    tcl.access = "limited"
    dev = add(inproc, tcl)
    inproc.ok("POST", f"/v1/devices/{dev['id']}/remote/key", json={"key": "home"})
    assert tcl.sessions_open == 1
    inproc.ok("DELETE", f"/v1/devices/{dev['id']}")
    wait_for(lambda: tcl.sessions_open == 0, what="the session closed after removal")


@pytest.mark.parametrize("mode", MODES)
def test_found_by_discovery_in_each_mode(inproc: InProcDaemon, tcl: FakeRoku, ssdp_responder: FakeSsdp,
                                         mode: str) -> None:
    tcl.access = mode
    wire = "http" if mode == "enabled" else "session"
    ssdp_responder.add_device(tcl)
    inproc.ok("PATCH", "/v1/config", json={"discovery.ssdp_target": f"127.0.0.1:{ssdp_responder.port}"})
    found = inproc.ok("POST", "/v1/devices/discover")["devices"]
    assert [(f["serial"], f["access_mode"], f["wire"]) for f in found] == [("X02000EM0025", mode, wire)]
    tcl.clear()
    inproc.ok("POST", f"/v1/devices/{found[0]['id']}/remote/key", json={"key": "home"})
    assert (ws_keys if wire == "session" else http_keys)(tcl) == [("press", "Home")]


def test_cli_shows_mode_and_wire(shared_daemon: Daemon, tcl: FakeRoku) -> None:
    from tests.test_cli import run

    tcl.access = "limited"
    dev = add(shared_daemon, tcl)
    shown = run(shared_daemon, "device", "show", dev["name"])
    assert shown.returncode == 0, shown.stderr
    lines = {line.split()[0]: line.split()[1:] for line in shown.stdout.splitlines() if line.strip()}
    assert lines["access_mode"] == ["limited"] and lines["wire"] == ["session"]
    state = run(shared_daemon, "-d", dev["name"], "state")
    assert state.returncode == 0, state.stderr
    assert "control  Limited mode — controlled through the mobile-app session" in state.stdout
