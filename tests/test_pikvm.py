"""PiKVM (kvmd) through the daemon's API: in-process matrices (tests/inproc.py) against a fake
kvmd over HTTPS with a certificate made at test time (tests/fakepikvm.py), and a few end-to-end
tests through the daemon process and the CLI. Expected requests and coordinates are written out
here from pikvm/pikvm docs/api.md and kvmd's handlers, never taken from the adapter."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tvctl_adapters.pikvm import wire

from tests.conftest import Daemon
from tests.fakekvm import JPEG_SCREEN
from tests.fakepikvm import FakePikvm, rfc6238
from tests.inproc import Api, InProcDaemon

TVCTL = str(Path(sys.executable).with_name("tvctl"))
PASSWORD = "s3cret-pi-7781"
TOTP_SECRET = "3OBBOGSJRYRBZH35PGXURM4CMWTH3WSU"  # the document's example
CREDS = {"username": "admin", "password": PASSWORD}


@pytest.fixture
def pikvm(tmp_path: Path) -> Iterator[FakePikvm]:
    fake = FakePikvm(tmp_path / "tls", password=PASSWORD).start()
    try:
        yield fake
    finally:
        fake.stop()


def add(d: Api, fake: FakePikvm, **extra: Any) -> dict[str, Any]:
    body = {"host": "127.0.0.1", "port": fake.port, "platform": "pikvm", "credentials": CREDS, **extra}
    dev: dict[str, Any] = d.ok("POST", "/v1/devices", json=body)
    fake.clear()
    return dev


def key(d: Api, dev: dict[str, Any], name: str, **extra: Any) -> httpx.Response:
    return d.http("POST", f"/v1/devices/{dev['id']}/remote/key", json={"key": name, **extra})


def point(d: Api, dev: dict[str, Any], **body: Any) -> httpx.Response:
    return d.http("POST", f"/v1/devices/{dev['id']}/pointer", json=body)


def press(code: str) -> list[tuple[Any, ...]]:
    return [("key", code, True), ("key", code, False)]


# -- identity ---------------------------------------------------------------------------------------
def test_added_with_its_certificate_pinned(inproc: InProcDaemon, pikvm: FakePikvm) -> None:
    dev = add(inproc, pikvm)
    assert (dev["platform"], dev["kind"], dev["model"]) == ("pikvm", "kvm", "PiKVM")
    assert (dev["name"], dev["serial"], dev["software_version"]) == ("pikvm-lab", "10000000C8DA432D", "4.94")
    assert dev["tls_fingerprint"] == pikvm.fingerprint
    assert set(dev["capabilities"]) == {"keys", "text", "screenshot", "state", "pointer", "power"}
    assert dev["has_credentials"] is True


def test_found_without_naming_the_platform(inproc: InProcDaemon, pikvm: FakePikvm) -> None:
    dev = inproc.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": pikvm.port, "credentials": CREDS})
    assert dev["platform"] == "pikvm"
    assert ("GET", "/api/auth/check") in [(s.method, s.path) for s in pikvm.requests]


def test_without_an_atx_board_there_is_no_power(tmp_path: Path, inproc: InProcDaemon) -> None:
    fake = FakePikvm(tmp_path / "tls", password=PASSWORD, atx=False).start()
    try:
        dev = add(inproc, fake)
        assert "power" not in dev["capabilities"]
        err = inproc.err("POST", f"/v1/devices/{dev['id']}/remote/key", 400, "unsupported_operation",
                         json={"key": "power-on"})
        assert "no ATX board was enabled" in err["message"]
        assert fake.paths() == []
        state = inproc.ok("GET", f"/v1/devices/{dev['id']}/state")["state"]
        assert (state["atx"], state["power"], state["power_led"]) == (False, None, None)
    finally:
        fake.stop()


def test_atx_disabled_later_is_unsupported(inproc: InProcDaemon, pikvm: FakePikvm) -> None:
    dev = add(inproc, pikvm)
    pikvm.atx = False  # the board was unconfigured after the device was added
    err = inproc.err("POST", f"/v1/devices/{dev['id']}/remote/key", 400, "unsupported_operation",
                     json={"key": "power-on"})
    assert err["message"] == f"{dev['name']} has no ATX board enabled: ATX is disabled."
    assert pikvm.events == []


# -- keys -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["en-US", "de-DE"])
@pytest.mark.parametrize(("name", "paths", "events"), [
    ("KeyA", ["POST /api/hid/events/send_key?key=KeyA"], press("KeyA")),
    ("KeyZ", ["POST /api/hid/events/send_key?key=KeyZ"], press("KeyZ")),  # a position: Y on a German keyboard
    ("home", ["POST /api/hid/events/send_key?key=Home"], press("Home")),
    ("up", ["POST /api/hid/events/send_key?key=ArrowUp"], press("ArrowUp")),
    ("select", ["POST /api/hid/events/send_key?key=Enter"], press("Enter")),
    ("back", ["POST /api/hid/events/send_key?key=Escape"], press("Escape")),
    ("F5", ["POST /api/hid/events/send_key?key=F5"], press("F5")),
    ("Pause", ["POST /api/hid/events/send_key?key=Pause"], press("Pause")),
    ("PrintScreen", ["POST /api/hid/events/send_key?key=PrintScreen"], press("PrintScreen")),
    ("ctrl+alt+Delete", ["POST /api/hid/events/send_shortcut?keys=ControlLeft,AltLeft,Delete"],
     [("shortcut", "ControlLeft", "AltLeft", "Delete")]),
    ("shift+KeyA", ["POST /api/hid/events/send_shortcut?keys=ShiftLeft,KeyA"], [("shortcut", "ShiftLeft", "KeyA")]),
    ("rmeta+KeyD", ["POST /api/hid/events/send_shortcut?keys=MetaRight,KeyD"], [("shortcut", "MetaRight", "KeyD")]),
    ("ralt+rctrl+rshift+End", ["POST /api/hid/events/send_shortcut?keys=AltRight,ControlRight,ShiftRight,End"],
     [("shortcut", "AltRight", "ControlRight", "ShiftRight", "End")]),
])  # fmt: skip
def test_keys_and_chords(inproc: InProcDaemon, pikvm: FakePikvm, layout: str, name: str, paths: list[str],
                         events: list[tuple[Any, ...]]) -> None:
    dev = add(inproc, pikvm)
    inproc.ok("PATCH", f"/v1/devices/{dev['id']}", json={"options": {"keyboard_layout": layout}})
    r = key(inproc, dev, name)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["key"] == name
    assert pikvm.paths() == paths
    assert pikvm.events == events
    seen = pikvm.requests[0]
    assert (seen.headers["X-KVMD-User"], seen.headers["X-KVMD-Passwd"]) == ("admin", PASSWORD)


@pytest.mark.parametrize(("name", "code"), [
    ("volume-up", "unsupported_operation"),
    ("play-pause", "unsupported_operation"),
    ("Lit_a", "invalid_key"),
    ("KeyAA", "invalid_key"),
    ("hyper+KeyA", "invalid_key"),
])  # fmt: skip
def test_keys_a_keyboard_lacks_are_refused_unsent(inproc: InProcDaemon, pikvm: FakePikvm, name: str,
                                                  code: str) -> None:
    dev = add(inproc, pikvm)
    r = key(inproc, dev, name)
    assert (r.status_code, r.json()["error"]["code"]) == (400, code), r.text
    assert pikvm.paths() == []


def test_a_held_key_is_down_for_the_hold(inproc: InProcDaemon, pikvm: FakePikvm) -> None:
    dev = add(inproc, pikvm)
    answers: list[httpx.Response] = []
    sender = threading.Thread(target=lambda: answers.append(key(inproc, dev, "ctrl+KeyC", hold_ms=300)))
    pikvm.key_event.clear()
    sender.start()
    while len(pikvm.events) < 2:  # both keys down: the fake signals each event
        assert pikvm.key_event.wait(10)
        pikvm.key_event.clear()
    assert pikvm.down == {"ControlLeft", "KeyC"}  # held while the daemon waits
    sender.join(30)
    assert answers[0].status_code == 200 and answers[0].json()["data"]["hold_ms"] == 300
    assert pikvm.paths() == [
        "POST /api/hid/events/send_key?key=ControlLeft&state=true",
        "POST /api/hid/events/send_key?key=KeyC&state=true",
        "POST /api/hid/events/send_key?key=KeyC&state=false",
        "POST /api/hid/events/send_key?key=ControlLeft&state=false",
    ]
    assert pikvm.down == set()
    assert pikvm.stamps[2] - pikvm.stamps[1] >= 0.29


def test_text_with_the_keymap_of_the_layout(inproc: InProcDaemon, pikvm: FakePikvm) -> None:
    dev = add(inproc, pikvm)
    assert inproc.ok("POST", f"/v1/devices/{dev['id']}/remote/key", json={"key": "literal:Hi, you!"})["sent"] == 8
    assert pikvm.paths() == ["POST /api/hid/print?limit=0&keymap=en-us"]
    assert pikvm.events == [("print", "Hi, you!", "en-us")]
    pikvm.clear()
    inproc.ok("PATCH", f"/v1/devices/{dev['id']}", json={"options": {"keyboard_layout": "de-DE"}})
    inproc.ok("POST", f"/v1/devices/{dev['id']}/remote/key", json={"key": "literal:yz@äÜ€"})
    assert pikvm.events == [("print", "yz@äÜ€", "de")]
    pikvm.clear()
    r = key(inproc, dev, "literal:a€b£")  # de-DE has € (AltGr+E) but no £
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_key"
    assert r.json()["error"]["message"] == "The de-DE keyboard layout cannot type '£' (character 4 of the text)."
    assert pikvm.paths() == []


def test_a_sequence(inproc: InProcDaemon, pikvm: FakePikvm) -> None:
    dev = add(inproc, pikvm)
    out = inproc.ok("POST", f"/v1/devices/{dev['id']}/remote/sequence",
                    json={"keys": ["ctrl+KeyL", "literal:ab", "Enter"], "delay_ms": 0})
    assert out["sent"] == 3
    assert pikvm.events == [("shortcut", "ControlLeft", "KeyL"), ("print", "ab", "en-us"), *press("Enter")]


# -- screen and state -------------------------------------------------------------------------------
def test_screenshot_state_and_no_video(inproc: InProcDaemon, pikvm: FakePikvm) -> None:
    dev = add(inproc, pikvm)
    r = inproc.http("GET", f"/v1/devices/{dev['id']}/screenshot")
    assert r.status_code == 200 and r.content == JPEG_SCREEN and r.headers["content-type"] == "image/jpeg"
    state = inproc.ok("GET", f"/v1/devices/{dev['id']}/state")["state"]
    assert {k: state[k] for k in ("video", "resolution", "atx", "power", "power_led", "hdd_led", "host_name",
                                  "hw_platform")} == {
        "video": True, "resolution": "1280x720", "atx": True, "power": "standby", "power_led": False,
        "hdd_led": False, "host_name": "pikvm-lab", "hw_platform": "Raspberry Pi 4 Model B Rev 1.5"}
    pikvm.video = False
    err = inproc.err("GET", f"/v1/devices/{dev['id']}/screenshot", 500, "no_video")
    assert err["message"] == f"{dev['name']} receives no video from its target."
    state = inproc.ok("GET", f"/v1/devices/{dev['id']}/state")["state"]
    assert (state["video"], state["resolution"]) == (False, None)


# -- power ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("led_before", "name", "path", "event", "atx", "led_after"), [
    (False, "power-on", "POST /api/atx/power?action=on&wait=1", ("atx", "on"), "power=on", True),
    (True, "power-on", "POST /api/atx/power?action=on&wait=1", ("atx", "on"), "power=on", True),
    (True, "power-off", "POST /api/atx/power?action=off&wait=1", ("atx", "off"), "power=off", False),
    (True, "power-off-hard", "POST /api/atx/power?action=off_hard&wait=1", ("atx", "off_hard"), "power=off_hard",
     False),
    (True, "reset", "POST /api/atx/power?action=reset_hard&wait=1", ("atx", "reset_hard"), "power=reset_hard", True),
    (False, "power", "POST /api/atx/click?button=power&wait=1", ("atx-click", "power"), "click=power", True),
    (True, "power", "POST /api/atx/click?button=power&wait=1", ("atx-click", "power"), "click=power", False),
])  # fmt: skip
def test_power_through_atx(inproc: InProcDaemon, pikvm: FakePikvm, led_before: bool, name: str, path: str,
                           event: tuple[str, str], atx: str, led_after: bool) -> None:
    dev = add(inproc, pikvm)
    pikvm.power_led = led_before
    out = inproc.ok("POST", f"/v1/devices/{dev['id']}/remote/key", json={"key": name})
    assert (out["key"], out["atx"], out["power_led"]) == (name, atx, led_after)
    assert pikvm.paths() == [path, "GET /api/atx"]
    assert pikvm.events == [event]


def test_power_cannot_be_held(inproc: InProcDaemon, pikvm: FakePikvm) -> None:
    dev = add(inproc, pikvm)
    inproc.err("POST", f"/v1/devices/{dev['id']}/remote/key", 400, "unsupported_operation",
               json={"key": "power-off", "hold_ms": 5000})
    assert pikvm.paths() == []


# -- pointer ----------------------------------------------------------------------------------------
# 1280x720: pixel 0 is -32768, the last pixel (1279, 719) is 32767; fraction f is -32768 + f * 65535, rounded.
@pytest.mark.parametrize(("body", "events", "where"), [
    ({"x": 0, "y": 0, "action": "move"}, [("move", -32768, -32768)], (0.0, 0.0)),
    ({"x": 1279, "y": 719, "action": "move"}, [("move", 32767, 32767)], (1.0, 1.0)),
    ({"x": 640, "y": 360}, [("move", 25, 45), ("button", "left", True), ("button", "left", False)],
     (0.500391, 0.500695)),
    ({"x": 0.5, "y": 0.5, "unit": "fraction", "action": "click"},
     [("move", 0, 0), ("button", "left", True), ("button", "left", False)], (0.5, 0.5)),
    ({"x": 0.25, "y": 0.75, "unit": "fraction", "action": "double-click"},
     [("move", -16384, 16383), ("button", "left", True), ("button", "left", False), ("button", "left", True),
      ("button", "left", False)], (0.25, 0.75)),
    ({"x": 100, "y": 200, "action": "right-click"},
     [("move", -27644, -14539), ("button", "right", True), ("button", "right", False)], (0.078186, 0.278164)),
    ({"x": 1, "y": 0, "unit": "fraction", "action": "scroll", "dy": 3}, [("move", 32767, -32768), ("wheel", 0, -3)],
     (1.0, 0.0)),
    ({"x": 640, "y": 360, "action": "scroll", "dy": -2}, [("move", 25, 45), ("wheel", 0, 2)], (0.500391, 0.500695)),
])  # fmt: skip
def test_pointer(inproc: InProcDaemon, pikvm: FakePikvm, body: dict[str, Any], events: list[tuple[Any, ...]],
                 where: tuple[float, float]) -> None:
    dev = add(inproc, pikvm)
    r = point(inproc, dev, **body)
    assert r.status_code == 200, r.text
    out = r.json()["data"]
    assert (out["action"], out["x"], out["y"]) == (body.get("action", "click"), *where)
    assert out.get("dy") == body.get("dy")
    assert pikvm.events == events
    assert ("GET /api/streamer" in pikvm.paths()) == (body.get("unit", "px") == "px")


def test_pointer_in_pixels_needs_video_and_the_screen(inproc: InProcDaemon, pikvm: FakePikvm) -> None:
    dev = add(inproc, pikvm)
    err = inproc.err("POST", f"/v1/devices/{dev['id']}/pointer", 400, "invalid_payload", json={"x": 1280, "y": 10})
    assert err["message"] == "(1280, 10) is outside the 1280x720 screen."
    pikvm.video = False
    err = inproc.err("POST", f"/v1/devices/{dev['id']}/pointer", 500, "no_video", json={"x": 10, "y": 10})
    assert "fraction" in err["hint"]
    assert point(inproc, dev, x=0.5, y=0.5, unit="fraction").status_code == 200  # fractions need no video
    assert pikvm.events[0] == ("move", 0, 0)
    pikvm.video, pikvm.streamer_running = True, False  # kvmd's streamer stopped: "streamer": null
    pikvm.clear()
    err = inproc.err("POST", f"/v1/devices/{dev['id']}/pointer", 500, "no_video", json={"x": 10, "y": 10})
    assert "streamer is stopped" in err["message"] and pikvm.events == []
    inproc.err("GET", f"/v1/devices/{dev['id']}/screenshot", 500, "no_video")
    state = inproc.ok("GET", f"/v1/devices/{dev['id']}/state")["state"]
    assert (state["video"], state["resolution"]) == (False, None)


# -- credentials and certificate ----------------------------------------------------------------------
def test_wrong_credentials(inproc: InProcDaemon, pikvm: FakePikvm) -> None:
    err = inproc.err("POST", "/v1/devices", 500, "device_auth_failed",
                     json={"host": "127.0.0.1", "port": pikvm.port, "platform": "pikvm",
                           "credentials": {"username": "admin", "password": "wrong-pass-555"}})
    assert err["message"] == "The PiKVM at 127.0.0.1 refused the credentials (HTTP 403): Forbidden."
    err = inproc.err("POST", "/v1/devices", 500, "device_auth_failed",
                     json={"host": "127.0.0.1", "port": pikvm.port, "platform": "pikvm"})
    assert "(HTTP 401)" in err["message"] and "username, password" in err["hint"]
    dev = add(inproc, pikvm)
    inproc.ok("PATCH", f"/v1/devices/{dev['id']}",
              json={"credentials": {"username": "admin", "password": "stale-pass-777"}})
    err = inproc.err("POST", f"/v1/devices/{dev['id']}/remote/key", 500, "device_auth_failed", json={"key": "KeyA"})
    assert "stale-pass-777" not in json.dumps(err) and pikvm.events == []


def test_totp_is_appended_to_the_password(tmp_path: Path, inproc: InProcDaemon) -> None:
    fake = FakePikvm(tmp_path / "tls", password=PASSWORD, totp_secret=TOTP_SECRET).start()
    try:
        inproc.err("POST", "/v1/devices", 500, "device_auth_failed",
                   json={"host": "127.0.0.1", "port": fake.port, "platform": "pikvm", "credentials": CREDS})
        dev = add(fake=fake, d=inproc, credentials={**CREDS, "totp_secret": TOTP_SECRET})
        assert key(inproc, dev, "KeyA").status_code == 200
        sent = fake.requests[0].headers["X-KVMD-Passwd"]
        assert sent.startswith(PASSWORD) and len(sent) == len(PASSWORD) + 6 and sent[-6:].isdigit()
        answers = "".join(inproc.http("GET", p).text for p in (
            "/v1/devices", f"/v1/devices/{dev['id']}", f"/v1/devices/{dev['id']}/credentials", "/v1/config",
            f"/v1/devices/{dev['id']}/state"))
        assert TOTP_SECRET not in answers and PASSWORD not in answers
        # a malformed secret is refused when it is set, without repeating it; what was kept stays
        fake.clear()
        for method, path, body in (
                ("PATCH", f"/v1/devices/{dev['id']}", {"credentials": {**CREDS, "totp_secret": "not base32!"}}),
                ("PATCH", f"/v1/devices/{dev['id']}/credentials", {"totp_secret": "not base32!"}),
                ("POST", "/v1/devices", {"host": "127.0.0.1", "port": fake.port, "platform": "pikvm",
                                         "credentials": {**CREDS, "totp_secret": "not base32!"}})):
            err = inproc.err(method, path, 400, "invalid_payload", json=body)
            assert err["message"] == ("The credential totp_secret was refused (pikvm): it must be a base32 TOTP "
                                      "secret (as in /etc/kvmd/totp.secret).")
            assert "not base32!" not in json.dumps(err)
        assert fake.requests == []  # nothing was probed or sent
        assert key(inproc, dev, "KeyA").status_code == 200  # the kept secret still works
    finally:
        fake.stop()


@pytest.mark.parametrize(("now", "code"), [
    (59, "287082"), (1111111109, "081804"), (1234567890, "005924"), (2000000000, "279037"),
])  # fmt: skip
def test_totp_codes_are_rfc_6238(now: int, code: str) -> None:
    """RFC 6238 appendix B (SHA-1, secret "12345678901234567890"), the last six digits."""
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    assert wire.totp(secret, now) == code == rfc6238(secret, now)


def test_a_changed_certificate_is_refused_unsent(inproc: InProcDaemon, pikvm: FakePikvm) -> None:
    dev = add(inproc, pikvm)
    old, new = pikvm.fingerprint, pikvm.swap_certificate()
    err = inproc.err("POST", f"/v1/devices/{dev['id']}/remote/key", 500, "device_tls_changed", json={"key": "KeyA"})
    assert old in err["message"] and new in err["message"]
    assert f"tvctl device trust {dev['name']} {new}" in err["hint"]
    assert pikvm.requests == []  # nothing reached the new peer
    inproc.ok("PATCH", f"/v1/devices/{dev['id']}", json={"tls_fingerprint": new})
    assert key(inproc, dev, "KeyA").status_code == 200 and pikvm.events == press("KeyA")


def test_keys_reuse_one_tls_connection(inproc: InProcDaemon, pikvm: FakePikvm) -> None:
    dev = add(inproc, pikvm)
    inproc.ok("POST", f"/v1/devices/{dev['id']}/remote/sequence", json={"keys": ["KeyB"] * 10, "delay_ms": 0})
    assert pikvm.events == press("KeyB") * 10


# -- end to end: the daemon process and the CLI -------------------------------------------------------
def test_end_to_end_through_the_daemon_and_cli(daemon: Daemon, pikvm: FakePikvm) -> None:
    dev = daemon.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": pikvm.port, "credentials": CREDS})
    assert dev["platform"] == "pikvm"
    again = daemon.ok("POST", "/v1/devices",
                      json={"host": "127.0.0.1", "port": pikvm.port, "platform": "pikvm", "credentials": CREDS})
    assert again["id"] == dev["id"]
    pikvm.clear()
    assert key(daemon, dev, "ctrl+alt+Delete").status_code == 200
    assert pikvm.events == [("shortcut", "ControlLeft", "AltLeft", "Delete")]
    r = daemon.http("GET", f"/v1/devices/{dev['id']}/screenshot")
    assert r.status_code == 200 and r.content == JPEG_SCREEN
    env = {"XDG_RUNTIME_DIR": str(daemon.runtime), "PATH": "/usr/bin:/bin"}

    def cli(*args: str) -> dict[str, Any]:
        p = subprocess.run([TVCTL, "--json", "-d", dev["name"], *args], capture_output=True, text=True, timeout=60,
                           env=env)
        assert p.returncode == 0, p.stderr
        out: dict[str, Any] = json.loads(p.stdout)
        return out

    pikvm.clear()
    out = cli("power", "on")
    assert (out["atx"], out["power_led"]) == ("power=on", True)
    assert pikvm.events == [("atx", "on")]
    pikvm.clear()
    out = cli("click", "--fraction", "0.5", "0.5")
    assert (out["action"], out["x"], out["y"]) == ("click", 0.5, 0.5)
    assert pikvm.events == [("move", 0, 0), ("button", "left", True), ("button", "left", False)]
    pikvm.clear()
    cli("click", "--right", "1279", "719")
    assert pikvm.events == [("move", 32767, 32767), ("button", "right", True), ("button", "right", False)]
    assert PASSWORD not in daemon.log()
