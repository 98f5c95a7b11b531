"""KVM-over-IP boxes through the daemon's API (in-process, tests/inproc.py; secrets kept across a
restart, the CLI and the event stream through the daemon process): a fake TinyPilot over HTTPS with
a certificate made at test time (tests/fakekvm.py). Expected keystrokes are written out here from
the TinyPilot document's examples and the keyboard layouts, never taken from the adapter."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Daemon
from tests.fakekvm import JPEG_SCREEN, FakeTinyPilot, make_ca
from tests.inproc import Api, InProcDaemon

TVCTL = str(Path(sys.executable).with_name("tvctl"))


def add(d: Api, fake: FakeTinyPilot, **extra: Any) -> dict[str, Any]:
    dev: dict[str, Any] = d.ok("POST", "/v1/devices",
                               json={"host": "127.0.0.1", "port": fake.port, "platform": "tinypilot", **extra})
    fake.clear()
    return dev


def key(d: Api, dev: dict[str, Any], name: str, **extra: Any) -> httpx.Response:
    return d.http("POST", f"/v1/devices/{dev['id']}/remote/key", json={"key": name, **extra})


def test_added_with_its_certificate_pinned(inproc: InProcDaemon, pilot: FakeTinyPilot) -> None:
    dev = add(inproc, pilot)
    assert (dev["platform"], dev["kind"], dev["model"]) == ("tinypilot", "kvm", "TinyPilot")
    assert dev["tls_fingerprint"] == pilot.fingerprint  # what openssl says of the certificate
    assert set(dev["capabilities"]) == {"keys", "text", "screenshot", "state"}
    assert dev["has_credentials"] is False


def test_found_without_naming_the_platform(inproc: InProcDaemon, pilot: FakeTinyPilot) -> None:
    dev = inproc.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": pilot.port})
    assert dev["platform"] == "tinypilot"
    err = inproc.err("POST", "/v1/devices", 500, "device_unreachable", json={"host": "127.0.0.1", "port": 9})
    assert "roku at 127.0.0.1:9" in err["hint"] and "tinypilot at 127.0.0.1:9" in err["hint"]


@pytest.mark.parametrize(("name", "sent"), [
    ("home", {"code": "Home"}),
    ("up", {"code": "ArrowUp"}),
    ("select", {"code": "Enter"}),
    ("back", {"code": "Escape"}),
    ("KeyA", {"code": "KeyA"}),
    ("F5", {"code": "F5"}),
    ("Pause", {"code": "Pause"}),  # the keyboard's Pause key, not the remote's pause
    ("ctrl+alt+Delete", {"code": "Delete", "ctrlLeft": True, "altLeft": True}),
    ("shift+KeyA", {"code": "KeyA", "shiftLeft": True}),
    ("rmeta+KeyD", {"code": "KeyD", "metaRight": True}),
    ("ralt+rctrl+rshift+End", {"code": "End", "altRight": True, "ctrlRight": True, "shiftRight": True}),
])  # fmt: skip
def test_keys_are_keystrokes(inproc: InProcDaemon, pilot: FakeTinyPilot, name: str, sent: dict[str, Any]) -> None:
    dev = add(inproc, pilot)
    r = key(inproc, dev, name)
    assert r.status_code == 200, r.text
    assert pilot.typed == [sent]
    auth = [s for s in pilot.requests if s.path == "/api/v1/auth"]
    assert all("Origin" not in s.headers for s in auth)


@pytest.mark.parametrize(("name", "status", "code"), [
    ("volume-up", 400, "unsupported_operation"),
    ("play-pause", 400, "unsupported_operation"),
    ("power", 400, "unsupported_operation"),
    ("Lit_a", 400, "invalid_key"),
    ("KeyAA", 400, "invalid_key"),
    ("hyper+KeyA", 400, "invalid_key"),
])  # fmt: skip
def test_keys_a_keyboard_lacks_are_refused_unsent(inproc: InProcDaemon, pilot: FakeTinyPilot, name: str, status: int,
                                                  code: str) -> None:
    dev = add(inproc, pilot)
    r = key(inproc, dev, name)
    assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    assert pilot.paths() == []


def test_hold_is_unsupported_and_sequences_work(inproc: InProcDaemon, pilot: FakeTinyPilot) -> None:
    dev = add(inproc, pilot)
    r = key(inproc, dev, "KeyA", hold_ms=300)
    assert r.status_code == 400 and r.json()["error"]["code"] == "unsupported_operation"
    out = inproc.ok("POST", f"/v1/devices/{dev['id']}/remote/sequence",
                    json={"keys": ["ctrl+KeyL", "literal:ab", "Enter"], "delay_ms": 10})
    assert out["sent"] == 3
    assert pilot.typed == [{"code": "KeyL", "ctrlLeft": True}, {"code": "Enter"}]
    assert pilot.pasted == [{"text": "ab", "language": "en-US"}]


TYPED_DE = [  # "yz@äÜ" on a German keyboard: y and z swap places, @ is AltGr+Q, the umlauts have keys
    {"code": "KeyZ"}, {"code": "KeyY"}, {"code": "KeyQ", "altRight": True}, {"code": "Quote"},
    {"code": "BracketLeft", "shiftLeft": True},
]
TYPED_US = [{"code": "KeyY"}, {"code": "KeyZ"}, {"code": "Digit2", "shiftLeft": True}]  # "yz@"


def test_text_per_layout_without_paste(tmp_path: Path, inproc: InProcDaemon) -> None:
    pilot = FakeTinyPilot(tmp_path / "tls", paste=False).start()
    try:
        dev = add(inproc, pilot)
        assert inproc.ok("POST", f"/v1/devices/{dev['id']}/remote/key", json={"key": "literal:yz@"})["sent"] == 3
        assert pilot.typed == TYPED_US
        pilot.clear()
        dev = inproc.ok("PATCH", f"/v1/devices/{dev['id']}", json={"options": {"keyboard_layout": "de-DE"}})
        assert dev["options"] == {"keyboard_layout": "de-DE"}
        inproc.ok("POST", f"/v1/devices/{dev['id']}/remote/key", json={"key": "literal:yz@äÜ"})
        assert pilot.typed == TYPED_DE
        assert [s.path for s in pilot.requests].count("/api/v1/paste") == 0  # it learned paste is missing
        pilot.clear()
        r = key(inproc, dev, "literal:a€b£")  # de-DE has € (AltGr+E) but no £
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_key"
        assert r.json()["error"]["message"] == "The de-DE keyboard layout cannot type '£' (character 4 of the text)."
        assert pilot.paths() == []  # refused before anything was sent
    finally:
        pilot.stop()


def test_paste_when_the_firmware_has_it(inproc: InProcDaemon, pilot: FakeTinyPilot) -> None:
    dev = add(inproc, pilot)
    assert inproc.ok("POST", f"/v1/devices/{dev['id']}/remote/key", json={"key": "literal:Hi!"})["sent"] == 3
    assert pilot.pasted == [{"text": "Hi!", "language": "en-US"}] and pilot.typed == []


def test_screenshot_state_and_no_video(inproc: InProcDaemon, pilot: FakeTinyPilot) -> None:
    dev = add(inproc, pilot)
    r = inproc.http("GET", f"/v1/devices/{dev['id']}/screenshot")
    assert r.status_code == 200 and r.content == JPEG_SCREEN
    assert r.headers["content-type"] == "image/jpeg" and r.headers["cache-control"] == "no-store"
    assert inproc.ok("GET", f"/v1/devices/{dev['id']}/state")["state"]["video"] is True
    pilot.video = False
    err = inproc.err("GET", f"/v1/devices/{dev['id']}/screenshot", 500, "no_video")
    assert err["message"] == f"{dev['name']} receives no video from its target."
    assert inproc.ok("GET", f"/v1/devices/{dev['id']}/state")["state"]["video"] is False


def test_a_restart_kills_the_token_and_one_new_one_is_fetched(inproc: InProcDaemon, pilot: FakeTinyPilot) -> None:
    dev = add(inproc, pilot)
    assert key(inproc, dev, "KeyA").status_code == 200
    pilot.restart()
    pilot.clear()
    assert key(inproc, dev, "KeyB").status_code == 200
    assert pilot.paths() == ["POST /api/v1/keystroke", "POST /api/v1/auth", "POST /api/v1/keystroke"]
    assert pilot.typed == [{"code": "KeyB"}]


def test_unplugged_cable_says_so(inproc: InProcDaemon, pilot: FakeTinyPilot) -> None:
    dev = add(inproc, pilot)
    pilot.cable = False
    err = inproc.err("POST", f"/v1/devices/{dev['id']}/remote/key", 500, "keystroke_failed", json={"key": "KeyA"})
    assert "is\ncable connected?" in err["message"]


def test_api_key_kept_secret_and_checked(daemon: Daemon, tmp_path: Path) -> None:
    pilot = FakeTinyPilot(tmp_path / "tls", api_key="pro-key-0123456789").start()
    try:
        err = daemon.err("POST", "/v1/devices", 500, "device_auth_failed",
                         json={"host": "127.0.0.1", "port": pilot.port, "platform": "tinypilot",
                               "credentials": {"api_key": "wrong-key-555"}})
        assert "Invalid API key" in err["message"]
        dev = add(daemon, pilot, credentials={"api_key": "pro-key-0123456789"})
        assert dev["has_credentials"] is True
        assert key(daemon, dev, "KeyA").status_code == 200
        assert pilot.requests[-1].headers["Authorization"] == "Bearer pro-key-0123456789"
        stored = daemon.tmp / "state" / "tvctl" / "credentials.json"
        assert stat.S_IMODE(stored.stat().st_mode) == 0o600
        daemon.stop()
        daemon.start()  # kept across a restart
        assert key(daemon, dev, "KeyB").status_code == 200
        answers = "".join(daemon.http("GET", p).text for p in (
            "/v1/devices", f"/v1/devices/{dev['id']}", f"/v1/devices/{dev['id']}/credentials", "/v1/config"))
        assert "pro-key-0123456789" not in answers + daemon.log() and "wrong-key-555" not in daemon.log()
        daemon.ok("PATCH", f"/v1/devices/{dev['id']}", json={"credentials": {"api_key": "stale-key-777"}})
        err = daemon.err("POST", f"/v1/devices/{dev['id']}/remote/key", 500, "device_auth_failed",
                         json={"key": "KeyA"})
        assert "Invalid API key" in err["message"] and "stale-key-777" not in err["message"] + err["hint"]
    finally:
        pilot.stop()


def test_a_changed_certificate_is_refused_until_accepted(daemon: Daemon, pilot: FakeTinyPilot) -> None:
    dev = add(daemon, pilot)
    old = pilot.fingerprint
    new = pilot.swap_certificate()
    err = daemon.err("POST", f"/v1/devices/{dev['id']}/remote/key", 500, "device_tls_changed", json={"key": "KeyA"})
    assert old in err["message"] and new in err["message"]
    assert f"tvctl device trust {dev['name']} {new}" in err["hint"]
    assert f'"tls_fingerprint": "{new}"' in err["hint"]
    assert pilot.requests == []  # nothing reached the new peer
    p = subprocess.run([TVCTL, "device", "trust", dev["name"], new], capture_output=True, text=True, timeout=60,
                       env={"XDG_RUNTIME_DIR": str(daemon.runtime), "PATH": "/usr/bin:/bin"})
    assert p.returncode == 0, p.stderr
    assert daemon.ok("GET", f"/v1/devices/{dev['id']}")["tls_fingerprint"] == new
    assert key(daemon, dev, "KeyA").status_code == 200 and pilot.typed == [{"code": "KeyA"}]


def test_events_never_carry_secrets(daemon: Daemon, pilot: FakeTinyPilot) -> None:
    seen: list[str] = []
    with httpx.stream("GET", daemon.url + "/v1/events", timeout=30) as stream:
        dev = add(daemon, pilot)
        daemon.ok("PATCH", f"/v1/devices/{dev['id']}", json={"credentials": {"api_key": "event-secret-42"}})
        for line in stream.iter_lines():
            seen.append(line)
            if line.startswith("data:") and json.loads(line[5:]).get("has_credentials") is True:
                break
    assert "event-secret-42" not in "\n".join(seen)


def test_keys_reuse_one_tls_connection(inproc: InProcDaemon, pilot: FakeTinyPilot) -> None:
    """A handshake per key made each key cost ten times a direct request (bench/kvm.py)."""
    dev = add(inproc, pilot)
    for _ in range(10):
        assert key(inproc, dev, "KeyA").status_code == 200
    inproc.ok("POST", f"/v1/devices/{dev['id']}/remote/sequence", json={"keys": ["KeyB"] * 10, "delay_ms": 0})
    assert len(pilot.typed) == 20 and len(set(pilot.client_ports)) == 1


def test_a_ca_file_instead_of_the_pin(inproc: InProcDaemon, pilot: FakeTinyPilot, tmp_path: Path) -> None:
    """With the device's ca_file option, any certificate that CA signed is taken (a renewed one
    included) and one it did not sign is refused unsent."""
    dev = add(inproc, pilot)
    ca = make_ca(tmp_path / "ca")
    pilot.swap_certificate(ca)
    inproc.err("POST", f"/v1/devices/{dev['id']}/remote/key", 500, "device_tls_changed", json={"key": "KeyA"})
    err = inproc.err("PATCH", f"/v1/devices/{dev['id']}", 400, "invalid_payload",
                     json={"options": {"ca_file": "relative/ca.crt"}})
    assert "absolute path" in err["message"]
    inproc.ok("PATCH", f"/v1/devices/{dev['id']}", json={"options": {"ca_file": str(ca[0])}})
    assert key(inproc, dev, "KeyA").status_code == 200
    pilot.swap_certificate(ca)  # renewed by the same CA: still taken
    assert key(inproc, dev, "KeyB").status_code == 200
    assert pilot.typed == [{"code": "KeyA"}, {"code": "KeyB"}]
    pilot.swap_certificate()  # self-signed: not the CA's
    pilot.clear()
    err = inproc.err("POST", f"/v1/devices/{dev['id']}/remote/key", 500, "device_tls_changed", json={"key": "KeyC"})
    assert f"is not signed by the CA in {ca[0]}" in err["message"]
    assert pilot.requests == []


def test_cli_adds_with_an_api_key_from_stdin(daemon: Daemon, tmp_path: Path) -> None:
    pilot = FakeTinyPilot(tmp_path / "tls", api_key="cli-key-31337").start()
    try:
        env = {"XDG_RUNTIME_DIR": str(daemon.runtime), "PATH": "/usr/bin:/bin"}
        p = subprocess.run([TVCTL, "device", "add", "127.0.0.1", "--port", str(pilot.port), "--platform",
                            "tinypilot", "--api-key-stdin"], input="cli-key-31337\n", capture_output=True,
                           text=True, timeout=60, env=env)
        assert p.returncode == 0, p.stderr
        assert p.stdout.startswith("added tinypilot-127-0-0-1 (tinypilot 127.0.0.1, TinyPilot)")
        p = subprocess.run([TVCTL, "-d", "tinypilot-127-0-0-1", "key", "ctrl+alt+Delete"], capture_output=True,
                           text=True, timeout=60, env=env)
        assert p.returncode == 0, p.stderr
        assert pilot.typed == [{"code": "Delete", "ctrlLeft": True, "altLeft": True}]
        assert "cli-key-31337" not in daemon.log()
    finally:
        pilot.stop()
