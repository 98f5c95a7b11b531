"""BliKVM through the daemon's API (in-process, tests/inproc.py; the screenshot end to end), against
tests/fakekvm.py's FakeBliKvm. Expected reports are written out here from the BliKVM document (one
request per chord, PrtSc for print screen)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Daemon
from tests.fakekvm import JPEG_SCREEN, FakeBliKvm
from tests.inproc import Api, InProcDaemon

CREDS = {"username": "admin", "password": "s3cret-kvm"}


def add(d: Api, fake: FakeBliKvm, **extra: Any) -> dict[str, Any]:
    d.ok("PATCH", "/v1/config", json={"blikvm.snapshot_port": fake.snapshot_port})
    body = {"host": "127.0.0.1", "port": fake.port, "credentials": CREDS, **extra}
    dev: dict[str, Any] = d.ok("POST", "/v1/devices", json=body)
    fake.clear()
    return dev


def key(d: Api, dev: dict[str, Any], name: str, **extra: Any) -> httpx.Response:
    return d.http("POST", f"/v1/devices/{dev['id']}/remote/key", json={"key": name, **extra})


@pytest.mark.parametrize("platform", [{"platform": "blikvm"}, {}])
def test_added_with_and_without_naming_the_platform(inproc: InProcDaemon, kvm: FakeBliKvm,
                                                    platform: dict[str, str]) -> None:
    dev = add(inproc, kvm, **platform)
    assert (dev["platform"], dev["kind"], dev["has_credentials"]) == ("blikvm", "kvm", True)
    assert dev["tls_fingerprint"] is None


def test_wrong_password_is_the_devices_words(inproc: InProcDaemon, kvm: FakeBliKvm) -> None:
    err = inproc.err("POST", "/v1/devices", 500, "device_auth_failed",
                     json={"host": "127.0.0.1", "port": kvm.port, "platform": "blikvm",
                           "credentials": {"username": "admin", "password": "nope-123"}})
    assert "username or password error" in err["message"] and "nope-123" not in err["message"] + err["hint"]
    assert inproc.ok("GET", "/v1/devices") == []


@pytest.mark.parametrize(("name", "report"), [
    ("home", ["Home"]),
    ("select", ["Enter"]),
    ("ctrl+alt+Delete", ["ControlLeft", "AltLeft", "Delete"]),
    ("PrintScreen", ["PrtSc"]),
    ("rshift+F12", ["ShiftRight", "F12"]),
])  # fmt: skip
def test_one_report_per_chord(inproc: InProcDaemon, kvm: FakeBliKvm, name: str, report: list[str]) -> None:
    dev = add(inproc, kvm)
    assert key(inproc, dev, name).status_code == 200
    assert kvm.reports == [report]
    assert all(s.method == "GET" for s in kvm.requests)  # as the document says


@pytest.mark.parametrize(("name", "code"), [("IntlBackslash", "invalid_key"), ("ContextMenu", "invalid_key"),
                                            ("mute", "unsupported_operation")])
def test_keys_it_does_not_know_are_refused_unsent(inproc: InProcDaemon, kvm: FakeBliKvm, name: str, code: str) -> None:
    dev = add(inproc, kvm)
    r = key(inproc, dev, name)
    assert r.status_code == 400 and r.json()["error"]["code"] == code
    assert kvm.requests == []


def test_text_is_a_report_per_character(inproc: InProcDaemon, kvm: FakeBliKvm) -> None:
    dev = add(inproc, kvm)
    assert inproc.ok("POST", f"/v1/devices/{dev['id']}/remote/key", json={"key": "literal:Hi!"})["sent"] == 3
    assert kvm.reports == [["ShiftLeft", "KeyH"], ["KeyI"], ["ShiftLeft", "Digit1"]]
    inproc.ok("PATCH", f"/v1/devices/{dev['id']}", json={"options": {"keyboard_layout": "de-DE"}})
    kvm.clear()
    r = key(inproc, dev, "literal:a<b")  # '<' is on the ISO key, which BliKVM's list lacks
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_key"
    assert kvm.requests == []


def test_a_post_only_server_is_followed(inproc: InProcDaemon) -> None:
    fake = FakeBliKvm(password="s3cret-kvm", post_only=True).start()
    try:
        dev = add(inproc, fake)
        assert key(inproc, dev, "KeyA").status_code == 200
        assert fake.reports == [["KeyA"]]
    finally:
        fake.stop()


def test_snapshot_and_no_video(daemon: Daemon, kvm: FakeBliKvm) -> None:
    """End to end: the daemon process, the fake's API and its video streamer on their own ports."""
    dev = add(daemon, kvm)
    r = daemon.http("GET", f"/v1/devices/{dev['id']}/screenshot")
    assert r.status_code == 200 and r.content == JPEG_SCREEN and r.headers["content-type"] == "image/jpeg"
    assert daemon.ok("GET", f"/v1/devices/{dev['id']}/state")["state"]["video"] is True
    kvm.video = False
    daemon.err("GET", f"/v1/devices/{dev['id']}/screenshot", 500, "no_video")
    assert daemon.ok("GET", f"/v1/devices/{dev['id']}/state")["state"]["video"] is False
