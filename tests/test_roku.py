"""The Roku ECP adapter through the daemon's HTTP API, against fake Rokus of every recorded kind:
the matrices in-process (tests/inproc.py), a restart and the event stream through the daemon
process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import Daemon
from tests.fakeroku import FakeRoku
from tests.helpers import Events, wait_for
from tests.inproc import Api, InProcDaemon

# Keys only a Roku TV has; volume and power are refused only where the device says it cannot.
TV_ONLY = {"input-hdmi1", "input-hdmi2", "input-hdmi3", "input-hdmi4", "input-av", "input-tuner",
           "channel-up", "channel-down"}
SAID_BY_FLAGS = {"volume-up", "volume-down", "mute", "power", "power-on", "power-off"}


@pytest.fixture
def dev(inproc: InProcDaemon, any_roku: FakeRoku) -> Iterator[dict[str, Any]]:
    """The fake (of each kind) registered in the shared daemon; yields the device record."""
    device = inproc.add(any_roku)
    any_roku.clear()
    yield device


def key(d: Api, dev_id: str, body: dict[str, Any]) -> httpx.Response:
    return d.http("POST", f"/v1/devices/{dev_id}/remote/key", json=body)


# -- keys ----------------------------------------------------------------------------------------
# Every common key name and the ECP key it must send (reference §4; play, pause and power-on
# look at the device first and are tested below).
ECP_FOR = {
    "home": "Home", "back": "Back", "up": "Up", "down": "Down", "left": "Left", "right": "Right",
    "select": "Select", "play-pause": "Play", "stop": "Back", "rewind": "Rev", "fast-forward": "Fwd",
    "replay": "InstantReplay", "skip": "Fwd", "volume-up": "VolumeUp", "volume-down": "VolumeDown",
    "mute": "VolumeMute", "power": "Power", "power-off": "PowerOff", "channel-up": "ChannelUp",
    "channel-down": "ChannelDown", "input-hdmi1": "InputHDMI1", "input-hdmi2": "InputHDMI2",
    "input-hdmi3": "InputHDMI3", "input-hdmi4": "InputHDMI4", "input-av": "InputAV1", "input-tuner": "InputTuner",
    "search": "Search", "info": "Info", "options": "Info", "backspace": "Backspace", "enter": "Enter",
    "find-remote": "FindRemote",
}  # fmt: skip


def test_every_key_name(inproc: InProcDaemon, any_roku: FakeRoku, dev: dict[str, Any]) -> None:
    for name, ecp in ECP_FOR.items():
        any_roku.clear()
        r = key(inproc, dev["id"], {"key": name})
        # the TCL TV of the ecp2 captures says supports-find-remote false; the others can find theirs
        refused = (name in TV_ONLY and not any_roku.kind.is_tv) or (name, any_roku.kind.name) == ("find-remote", "tcl")
        if refused:
            assert r.status_code == 400, (name, r.text)
            assert r.json()["error"]["code"] == "unsupported_operation"
            assert any_roku.paths() == []  # nothing reached the device
            continue
        assert r.status_code == 200, (name, r.text)
        assert any_roku.paths() == [f"/keypress/{ecp}"], name
        req = any_roku.requests[-1]
        assert req.body == b"" and req.headers.get("Content-Length") == "0"
        assert req.headers["Host"] == f"127.0.0.1:{any_roku.port}"  # an IP literal, as ECP demands


def test_tv_only_keys_follow_the_device_kind(inproc: InProcDaemon, any_roku: FakeRoku, dev: dict[str, Any]) -> None:
    for name in sorted(TV_ONLY):
        r = key(inproc, dev["id"], {"key": name})
        if any_roku.kind.is_tv:
            assert r.status_code == 200, (name, r.text)
        else:
            assert r.status_code == 400 and r.json()["error"]["code"] == "unsupported_operation", name
            assert "not a Roku TV" in r.json()["error"]["message"]
    # none of the recorded devices says anything about volume or power control: all are sent
    for name in sorted(SAID_BY_FLAGS - {"power-on"}):
        any_roku.clear()
        r = key(inproc, dev["id"], {"key": name})
        assert r.status_code == 200 and len(any_roku.paths()) == 1, (name, r.text)


@pytest.mark.parametrize(("flags", "sent"), [
    ("", True),  # older firmware, streambars, HDMI-CEC players: nothing said, so sent
    ("<supports-audio-volume-control>true</supports-audio-volume-control>"
     "<supports-tv-power-control>true</supports-tv-power-control>", True),
    ("<supports-audio-volume-control>false</supports-audio-volume-control>"
     "<supports-tv-power-control>false</supports-tv-power-control>", False),
])  # fmt: skip
def test_volume_and_power_are_refused_only_when_the_device_says_so(inproc: InProcDaemon, flags: str,
                                                                   sent: bool) -> None:
    roku = FakeRoku("box", serial=f"FLAGS{len(flags)}")
    roku.device_info_xml = roku.device_info_xml.replace(b"</device-info>", flags.encode() + b"</device-info>")
    roku.start()
    try:
        dev = inproc.add(roku)
        roku.clear()
        for name, ecp in (("volume-up", "VolumeUp"), ("mute", "VolumeMute"), ("power-off", "PowerOff"),
                          ("power-on", "PowerOn"), ("power", "Power")):
            r = key(inproc, dev["id"], {"key": name})
            if sent:
                assert r.status_code == 200 and roku.paths()[-1] == f"/keypress/{ecp}", (name, r.text)
            else:
                assert r.status_code == 400 and r.json()["error"]["code"] == "unsupported_operation", name
                assert "is false" in r.json()["error"]["message"]
        if not sent:
            assert roku.paths() == []  # power off and power on answer alike
    finally:
        roku.stop()


@pytest.mark.parametrize(("text", "expected"), [
    ("hi there", ["Lit_h", "Lit_i", "Lit_%20", "Lit_t", "Lit_h", "Lit_e", "Lit_r", "Lit_e"]),
    ("Café & 50%", ["Lit_C", "Lit_a", "Lit_f", "Lit_%C3%A9", "Lit_%20", "Lit_%26", "Lit_%20", "Lit_5", "Lit_0",
                    "Lit_%25"]),
    ("a/b?c#d+e", ["Lit_a", "Lit_%2F", "Lit_b", "Lit_%3F", "Lit_c", "Lit_%23", "Lit_d", "Lit_%2B", "Lit_e"]),
    ("🙂€", ["Lit_%F0%9F%99%82", "Lit_%E2%82%AC"]),
    ("@$=;:,~-._", ["Lit_%40", "Lit_%24", "Lit_%3D", "Lit_%3B", "Lit_%3A", "Lit_%2C", "Lit_~", "Lit_-", "Lit_.",
                    "Lit__"]),
])  # fmt: skip
def test_literal_text_arrives_exactly(inproc: InProcDaemon, any_roku: FakeRoku, dev: dict[str, Any],
                                      text: str, expected: list[str]) -> None:
    r = key(inproc, dev["id"], {"key": f"literal:{text}"})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["sent"] == len(expected)
    assert any_roku.paths() == [f"/keypress/{e}" for e in expected]


def test_escaped_surrogate_pairs_are_text(inproc: InProcDaemon, roku: FakeRoku) -> None:
    """ASCII-only JSON (what json.dumps sends by default) escapes 🙂 as a surrogate pair: accepted."""
    device = inproc.add(roku)
    roku.clear()
    r = inproc.http("POST", f"/v1/devices/{device['id']}/remote/key",
                    content=b'{"key": "literal:\\ud83d\\ude42"}', headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    assert roku.paths() == ["/keypress/Lit_%F0%9F%99%82"]


@pytest.mark.parametrize(("body", "code"), [
    ({"key": "jump"}, "invalid_key"),
    ({"key": ""}, "invalid_key"),
    ({"key": "literal:"}, "invalid_key"),
    ({"key": 5}, "invalid_payload"),
    ({}, "invalid_payload"),
    ({"key": "home", "hold_ms": -1}, "invalid_payload"),
    ({"key": "home", "hold_ms": 60_000}, "invalid_payload"),
    ({"key": "home", "repeat": 0}, "invalid_payload"),
    ({"key": "home", "repeat": 500}, "invalid_payload"),
    ({"key": "home", "bogus": 1}, "invalid_payload"),
])  # fmt: skip
def test_bad_key_requests(inproc: InProcDaemon, roku: FakeRoku, body: dict[str, Any], code: str) -> None:
    device = inproc.add(roku)
    roku.clear()
    r = key(inproc, device["id"], body)
    assert r.status_code == 400 and r.json()["error"]["code"] == code
    assert r.json()["error"]["hint"]
    assert roku.paths() == []


def test_invalid_key_hint_names_the_closest_or_the_list(inproc: InProcDaemon, roku: FakeRoku) -> None:
    device = inproc.add(roku)
    err = key(inproc, device["id"], {"key": "jump"}).json()["error"]
    assert err["hint"] == "tvctl key --help and docs/api.md list the key names; literal:<text> types text."
    err = key(inproc, device["id"], {"key": "hom"}).json()["error"]
    assert err["hint"].startswith("Did you mean home?")


def test_hold_and_repeat(inproc: InProcDaemon, any_roku: FakeRoku, dev: dict[str, Any]) -> None:
    r = key(inproc, dev["id"], {"key": "right", "hold_ms": 300})
    assert r.status_code == 200, r.text
    assert any_roku.paths() == ["/keydown/Right", "/keyup/Right"]
    down, up = any_roku.requests
    assert up.at - down.at >= 0.28
    any_roku.clear()
    assert key(inproc, dev["id"], {"key": "down", "repeat": 3}).status_code == 200
    assert any_roku.paths() == ["/keypress/Down"] * 3


def test_sequence(inproc: InProcDaemon, any_roku: FakeRoku, dev: dict[str, Any]) -> None:
    url = f"/v1/devices/{dev['id']}/remote/sequence"
    data = inproc.ok("POST", url, json={"keys": ["home", "home", "up", "literal:ok"], "delay_ms": 0})
    assert data["sent"] == 4
    assert any_roku.paths() == ["/keypress/Home", "/keypress/Home", "/keypress/Up", "/keypress/Lit_o",
                                "/keypress/Lit_k"]
    any_roku.clear()
    inproc.ok("POST", url, json={"keys": ["left", "right"], "delay_ms": 250})
    a, b = any_roku.requests
    assert b.at - a.at >= 0.23
    any_roku.clear()
    inproc.ok("POST", url, json={"keys": ["up", "down"]})  # default delay 200 ms
    a, b = any_roku.requests
    assert b.at - a.at >= 0.18


@pytest.mark.parametrize(("body", "code"), [
    ({"keys": []}, "invalid_payload"),
    ({"keys": ["up"] * 101}, "invalid_payload"),
    ({"keys": ["up"], "delay_ms": -5}, "invalid_payload"),
    ({"keys": ["up"], "delay_ms": 20_000}, "invalid_payload"),
    ({"keys": ["up", "nope"]}, "invalid_key"),
    ({"keys": "up"}, "invalid_payload"),
])  # fmt: skip
def test_sequence_bounds(inproc: InProcDaemon, roku: FakeRoku, body: dict[str, Any], code: str) -> None:
    device = inproc.add(roku)
    roku.clear()
    r = inproc.http("POST", f"/v1/devices/{device['id']}/remote/sequence", json=body)
    assert r.status_code == 400 and r.json()["error"]["code"] == code, r.text
    assert roku.paths() == []  # validated before anything is sent


def test_sequence_failure_midway_says_how_many_were_sent(inproc: InProcDaemon) -> None:
    stick = FakeRoku("stick").start()
    try:
        device = inproc.add(stick)
        stick.clear()
        r = inproc.http("POST", f"/v1/devices/{device['id']}/remote/sequence",
                        json={"keys": ["up", "down", "input-hdmi1", "up"], "delay_ms": 0})
        assert r.status_code == 400
        err = r.json()["error"]
        assert err["code"] == "unsupported_operation"
        assert err["details"] == {"sent": 2, "total": 4}
        assert "after 2 were sent" in err["message"]
        assert stick.paths() == ["/keypress/Up", "/keypress/Down"]
    finally:
        stick.stop()


def test_play_pause_are_state_aware(inproc: InProcDaemon, any_roku: FakeRoku, dev: dict[str, Any]) -> None:
    inproc.ok("POST", f"/v1/devices/{dev['id']}/apps/launch", json={"app": "netflix"})
    assert any_roku.media_state == "play"
    any_roku.clear()
    assert key(inproc, dev["id"], {"key": "play"}).json()["data"]["skipped"]
    assert any_roku.paths() == []
    assert "skipped" not in key(inproc, dev["id"], {"key": "pause"}).json()["data"]
    assert any_roku.paths() == ["/keypress/Play"] and any_roku.media_state == "pause"
    any_roku.clear()
    assert key(inproc, dev["id"], {"key": "pause"}).json()["data"]["skipped"]
    assert any_roku.paths() == []
    key(inproc, dev["id"], {"key": "play"})
    assert any_roku.media_state == "play"
    key(inproc, dev["id"], {"key": "play-pause"})
    assert any_roku.media_state == "pause"
    key(inproc, dev["id"], {"key": "play-pause"})
    assert any_roku.media_state == "play"


def test_power_on_with_wake_on_lan_fallback(inproc: InProcDaemon, roku: FakeRoku) -> None:
    device = inproc.add(roku)
    inproc.ok("PATCH", "/v1/config", json={"roku.wol_port": roku.wol_port, "roku.wol_wait_s": 10})
    # awake: a plain PowerOn, no packet
    assert key(inproc, device["id"], {"key": "power-on"}).json()["data"]["wol"] is False
    assert roku.wol_packets == []
    roku.mode = "asleep"
    roku.clear()
    data = inproc.ok("POST", f"/v1/devices/{device['id']}/remote/key", json={"key": "power-on"})
    assert data["wol"] is True and data["mac"] == device["wake_mac"]
    mac = bytes.fromhex(device["wake_mac"].replace(":", ""))
    assert roku.wol_packets and roku.wol_packets[0] == b"\xff" * 6 + mac * 16
    assert roku.paths()[-1] == "/keypress/PowerOn" and roku.power_mode == "PowerOn"


def test_power_on_gives_up_with_a_hint(inproc: InProcDaemon, roku: FakeRoku) -> None:
    device = inproc.add(roku)
    inproc.ok("PATCH", "/v1/config", json={"roku.wol_port": 9, "roku.wol_wait_s": 1})  # nobody listens
    roku.mode = "asleep"
    t0 = time.monotonic()
    err = inproc.err("POST", f"/v1/devices/{device['id']}/remote/key", 500, "device_unreachable",
                     json={"key": "power-on"})
    assert time.monotonic() - t0 < 8
    assert "Wake-on-LAN" in err["message"] and "Fast TV start" in err["hint"]


# -- apps ----------------------------------------------------------------------------------------
def test_apps_list_launch_stop(inproc: InProcDaemon, any_roku: FakeRoku, dev: dict[str, Any]) -> None:
    base = f"/v1/devices/{dev['id']}/apps"
    inproc.ok("POST", base + "/refresh", json={"clear": True})
    data = inproc.ok("GET", base)
    assert data["platform"] == "roku" and data["cached"] is True
    by_pid = {a["platform_id"]: a for a in data["apps"]}
    assert by_pid["12"] == {"id": "netflix", "name": "Netflix", "platform_id": "12",
                            "type": by_pid["12"]["type"], "version": by_pid["12"]["version"]}
    for query in ("netflix", "NETFLIX", "12", "Netflix"):
        any_roku.clear()
        out = inproc.ok("POST", base + "/launch", json={"app": query})
        assert out["launched"]["platform_id"] == "12"
        assert any_roku.paths() == ["/launch/12"]
    state = inproc.ok("GET", f"/v1/devices/{dev['id']}/state")["state"]
    assert state["active_app"]["id"] == "netflix" and state["active_app"]["kind"] == "app"
    any_roku.clear()
    out = inproc.ok("POST", base + "/stop")
    if any_roku.kind.dev:
        assert out["method"] == "exit-app" and any_roku.paths() == ["/exit-app/12"]
    else:
        assert out["method"] == "home" and any_roku.paths() == ["/keypress/Home"]
    assert any_roku.active[0] is None
    assert inproc.ok("POST", base + "/stop")["method"] == "none"


def test_launch_params_pass_through(inproc: InProcDaemon, roku: FakeRoku) -> None:
    device = inproc.add(roku)
    roku.clear()
    inproc.ok("POST", f"/v1/devices/{device['id']}/apps/launch",
              json={"app": "netflix", "params": {"contentId": "tt 1&2", "mediaType": "movie"}})
    assert roku.paths() == ["/launch/12?contentId=tt%201%262&mediaType=movie"]


def test_launch_unknown_and_ambiguous(inproc: InProcDaemon) -> None:
    apps = (b'<?xml version="1.0" encoding="UTF-8" ?>\n<apps>\n'
            b'<app id="592369" type="appl" version="1.6.2">Jellyfin</app>\n'
            b'<app id="777" type="appl" version="0.1">Jellyfin</app>\n'
            b'<app id="12" type="appl" version="4.1">Netflix</app>\n</apps>\n')
    r = FakeRoku("box", apps=apps).start()
    try:
        device = inproc.add(r)
        base = f"/v1/devices/{device['id']}/apps"
        inproc.ok("POST", base + "/refresh", json={"clear": True})
        err = inproc.err("POST", base + "/launch", 400, "ambiguous_app", json={"app": "jellyfin"})
        assert {m["platform_id"] for m in err["details"]["matches"]} == {"592369", "777"}
        assert "592369" in err["message"]
        assert inproc.ok("POST", base + "/launch", json={"app": "592369"})["launched"]["name"] == "Jellyfin"
        inproc.err("POST", base + "/launch", 404, "app_not_found", json={"app": "hulu"})
        inproc.err("POST", base + "/launch", 400, "invalid_payload", json={"app": "netflix", "params": [1]})
    finally:
        r.stop()


def test_apps_refresh_merges_and_clear(inproc: InProcDaemon, roku: FakeRoku) -> None:
    device = inproc.add(roku)
    base = f"/v1/devices/{device['id']}/apps"
    inproc.ok("POST", base + "/refresh", json={"clear": True})
    roku.apps_xml = roku.apps_xml.replace(b"<app id=\"28\">Pandora</app>", b"<app id=\"99\">Plex</app>")
    assert {a["platform_id"] for a in inproc.ok("GET", base)["apps"]} >= {"28"}  # still cached
    out = inproc.ok("POST", base + "/refresh")
    assert out["added"] == ["99"] and out["removed"] == ["28"] and out["cleared"] is False
    out = inproc.ok("POST", base + "/refresh", json={"clear": True})
    assert out["cleared"] is True and out["added"] == []
    inproc.err("POST", base + "/refresh", 400, "invalid_payload", json={"clear": "yes"})


def test_app_cache_survives_restart(daemon: Daemon, roku: FakeRoku) -> None:
    device = daemon.add(roku)
    daemon.ok("GET", f"/v1/devices/{device['id']}/apps")
    daemon.stop()
    daemon.start()
    roku.clear()
    data = daemon.ok("GET", f"/v1/devices/{device['id']}/apps")
    assert data["cached"] is True and roku.paths("GET") == []


def test_app_icon_with_etag(inproc: InProcDaemon, roku: FakeRoku) -> None:
    device = inproc.add(roku)
    url = f"/v1/devices/{device['id']}/apps/netflix/icon"
    r = inproc.http("GET", url)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content.startswith(b"\x89PNG") and r.headers["etag"]
    roku.clear()
    r2 = inproc.http("GET", url, headers={"If-None-Match": r.headers["etag"]})
    assert r2.status_code == 304
    assert roku.paths("GET") == []  # served from the cache


# -- state ---------------------------------------------------------------------------------------
def test_state_of_every_kind(inproc: InProcDaemon, any_roku: FakeRoku, dev: dict[str, Any]) -> None:
    any_roku.active = (None, "Roku")
    data = inproc.ok("GET", f"/v1/devices/{dev['id']}/state")
    assert data["device"]["id"] == dev["id"]
    s = data["state"]
    assert s["power"] == "on" and s["active_app"]["kind"] == "home"
    assert s["media"]["state"] == "close" and s["unavailable"] == []
    if any_roku.kind.is_tv:
        inproc.ok("POST", f"/v1/devices/{dev['id']}/apps/launch", json={"app": "tvinput.dtv"})
        s = inproc.ok("GET", f"/v1/devices/{dev['id']}/state")["state"]
        assert s["active_app"]["kind"] == "tv-input"
        assert s["tv"]["number"] == "14.3" and s["tv"]["program_title"] == "Airwolf"
        assert s["media"] is None  # meaningless on a TV input; not fetched


def test_state_with_parts_refused(inproc: InProcDaemon, roku: FakeRoku) -> None:
    device = inproc.add(roku)
    # plain ECP only: a part Limited mode refuses is reported missing (with control auto the
    # mobile-app session would carry it: tests/test_roku_session.py)
    inproc.ok("PATCH", f"/v1/devices/{device['id']}", json={"options": {"control": "http"}})
    roku.mode = "limited"
    s = inproc.ok("GET", f"/v1/devices/{device['id']}/state")["state"]
    assert s["active_app"] is not None and s["media"] is None
    assert s["unavailable"][0]["part"] == "media" and s["unavailable"][0]["code"] == "ecp_limited_mode"


def test_state_in_standby(inproc: InProcDaemon) -> None:
    from tests.fakeroku import fx

    r = FakeRoku("box", device_info=fx("device-info/box_roku3-4200X_os7.5.0_power-ready.xml")).start()
    try:
        device = inproc.add(r)
        s = inproc.ok("GET", f"/v1/devices/{device['id']}/state")["state"]
        assert s["power"] == "standby" and s["power_mode"] == "Ready" and s["media"] is None
        assert any(u["code"] == "standby" for u in s["unavailable"])
    finally:
        r.stop()


# -- failures ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("mode", "code"), [
    ("limited", "ecp_limited_mode"),
    ("hang", "device_timeout"),
    ("garbage", "device_bad_response"),
    ("refuse", "device_unreachable"),
])  # fmt: skip
def test_failure_codes(inproc: InProcDaemon, roku: FakeRoku, mode: str, code: str) -> None:
    device = inproc.add(roku)
    # plain ECP only, so Limited mode's refusal is the answer (auto moves to the session instead)
    inproc.ok("PATCH", f"/v1/devices/{device['id']}", json={"options": {"control": "http"}})
    if mode == "refuse":
        roku.refuse()
    else:
        roku.mode = mode
    url = f"/v1/devices/{device['id']}"
    t0 = time.monotonic()
    if mode == "garbage":  # a command's body is ignored; a query's must parse
        err = inproc.err("GET", url + "/state", 500, code)
        inproc.err("POST", url + "/apps/refresh", 500, code)  # the cache is bypassed
    else:
        err = inproc.err("POST", url + "/remote/key", 500, code, json={"key": "home"})
    assert time.monotonic() - t0 < 6  # bounded by roku.request_timeout_s (2 s in tests)
    if mode == "limited":
        assert "Control by mobile apps" in err["hint"] and "Enabled" in err["hint"]
        # launch and device-info stay allowed in Limited mode
        assert inproc.http("POST", url + "/apps/launch", json={"app": "12"}).status_code in (200, 500)
    if mode == "refuse":
        assert inproc.ok("GET", url)["online"] is False
        roku.restart()


def test_add_by_address_errors(inproc: InProcDaemon, roku: FakeRoku) -> None:
    roku.refuse()
    err = inproc.err("POST", "/v1/devices", 500, "device_unreachable",
                     json={"host": "127.0.0.1", "port": roku.port})
    assert f"127.0.0.1:{roku.port}" in err["hint"]
    roku.restart()
    roku.mode = "garbage"
    inproc.err("POST", "/v1/devices", 500, "device_bad_response", json={"host": "127.0.0.1", "port": roku.port})
    inproc.err("POST", "/v1/devices", 400, "invalid_payload", json={"host": "127.0.0.1", "port": 70000})


# -- events --------------------------------------------------------------------------------------
def test_state_changed_events_after_commands(daemon: Daemon, roku: FakeRoku) -> None:
    device = daemon.add(roku)
    events = Events(daemon.url + "/v1/events")
    daemon.ok("POST", f"/v1/devices/{device['id']}/apps/launch", json={"app": "netflix"})
    change = wait_for(lambda: [d for d in events.of("state_changed") if d["state"]["active_app"]["id"] == "netflix"],
                      what="state_changed for netflix")[-1]
    assert change["id"] == device["id"] and change["state"]["media"]["state"] == "play"


def test_state_changed_by_polling_while_someone_listens(daemon: Daemon, roku: FakeRoku) -> None:
    device = daemon.add(roku)
    daemon.ok("PATCH", "/v1/config", json={"state.poll_interval_s": 0.2})
    events = Events(daemon.url + "/v1/events")
    roku.active = ("28", "Pandora")  # changed on the TV itself, not through tvctl
    change = wait_for(lambda: [d for d in events.of("state_changed") if d["state"]["active_app"]["name"] == "Pandora"],
                      what="state_changed from polling")[-1]
    assert change["id"] == device["id"] and change["state"]["active_app"]["platform_id"] == "28"
