"""Errors that point the right way, through the daemon's API (in-process, tests/inproc.py): a
refused login is the device's answer, not "nothing answered"; a KVM's snapshot port is named; a
closed port is said in plain words; a retried probe says how long it really took; a device-info that
cannot be read is one unavailable part of the state, as one cut short or over its limit is."""

from __future__ import annotations

import re
import socket
import threading
import time
from typing import Any

import pytest

from tests.fakekvm import FakeBliKvm
from tests.fakeroku import FakeRoku
from tests.helpers import free_port
from tests.inproc import Api, InProcDaemon

CREDS = {"username": "admin", "password": "s3cret-kvm"}


def test_a_wrong_blikvm_password_is_the_blikvms_answer(inproc: InProcDaemon, kvm: FakeBliKvm) -> None:
    """Without a platform, the BliKVM and the Advantech agent (both take a user name and password)
    are tried; the BliKVM answered and refused, so that is the error, hint and all."""
    err = inproc.err("POST", "/v1/devices", 500, "device_auth_failed",
                     json={"host": "127.0.0.1", "port": kvm.port,
                           "credentials": {"username": "admin", "password": "nope-123"}})
    assert err["message"] == f"The BliKVM at 127.0.0.1:{kvm.port} refused the login: username or password error."
    assert err["hint"] == "Check the user name and password kept for it (credentials)."
    assert "nope-123" not in err["message"] + err["hint"]
    assert inproc.ok("GET", "/v1/devices") == []


def test_a_blikvm_snapshot_port_nobody_listens_on_is_named(inproc: InProcDaemon, kvm: FakeBliKvm) -> None:
    inproc.ok("PATCH", "/v1/config", json={"blikvm.snapshot_port": kvm.snapshot_port})
    dev = inproc.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": kvm.port, "credentials": CREDS})
    closed = free_port()
    inproc.ok("PATCH", "/v1/config", json={"blikvm.snapshot_port": closed})
    err = inproc.err("GET", f"/v1/devices/{dev['id']}/screenshot", 500, "device_unreachable")
    assert err["message"] == (f"{dev['name']}'s video streamer is unreachable: nothing is listening at "
                              f"127.0.0.1:{closed} (connection refused).")
    assert err["hint"] == (f"Snapshots come from the BliKVM's video streamer at port {closed} (blikvm.snapshot_port). "
                           "If the BliKVM is on and serves them on another port: tvctl config set "
                           "blikvm.snapshot_port PORT.")
    assert "powered" not in err["hint"]
    r = inproc.http("POST", f"/v1/devices/{dev['id']}/remote/key", json={"key": "KeyA"})
    assert r.status_code == 200  # the BliKVM itself is fine


@pytest.mark.parametrize(("platform", "label", "extra"), [
    ("roku", "127.0.0.1", {}),
    ("blikvm", "The BliKVM at 127.0.0.1:{port}", {"credentials": CREDS}),
    ("advantech", "The Advantech agent at 127.0.0.1:{port}", {"credentials": CREDS}),
    ("tinypilot", "The TinyPilot at 127.0.0.1:{port}", {}),
])  # fmt: skip
def test_nothing_listening_is_said_plainly(inproc: InProcDaemon, platform: str, label: str, extra: dict[str,
                                           Any]) -> None:
    port = free_port()
    err = inproc.err("POST", "/v1/devices", 500, "device_unreachable",
                     json={"host": "127.0.0.1", "port": port, "platform": platform, **extra})
    assert err["message"] == (f"{label.format(port=port)} is unreachable: nothing is listening at 127.0.0.1:{port} "
                              "(connection refused).")
    assert f"Nothing answered as {platform} at 127.0.0.1:{port}." in err["hint"]


class DropThenHang:
    """A TCP server that reads each of the first ``drops`` requests, waits ``drop_after`` and closes
    the connection without answering (as a TV dropping connections does); every later request it
    reads and never answers. aiohttp asks a second time on its own when a GET's connection is
    dropped, so two drops are what it takes for the transport's own retry to happen."""

    def __init__(self, drop_after: float, drops: int = 2) -> None:
        self.drop_after = drop_after
        self.drops = drops
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.requests: list[bytes] = []
        self.done = threading.Event()
        self.held: list[socket.socket] = []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            self.requests.append(data.split(b"\r\n", 1)[0])
            if len(self.requests) <= self.drops:
                self.done.wait(self.drop_after)  # the device's own delay before it drops the connection
                conn.close()
            else:
                self.held.append(conn)

    def stop(self) -> None:
        self.done.set()
        self.sock.close()
        for c in self.held:
            c.close()


def test_a_retried_probe_says_how_long_it_really_took(inproc: InProcDaemon) -> None:
    server = DropThenHang(drop_after=1.0)
    try:
        t0 = time.monotonic()
        err = inproc.err("POST", "/v1/devices", 500, "device_timeout",
                         json={"host": "127.0.0.1", "port": server.port, "platform": "roku"})
        took = time.monotonic() - t0
    finally:
        server.stop()
    assert server.requests == [b"GET /query/device-info HTTP/1.1"] * 3
    m = re.fullmatch(
        r"127\.0\.0\.1 did not answer GET /query/device-info in (\d+\.\d) s: the first attempt failed after "
        r"(\d+\.\d) s \(127\.0\.0\.1 is unreachable: 127\.0\.0\.1:" + str(server.port) + r" closed the connection "
        r"without answering\), and asked again it did not answer within 4 s\.", err["message"])
    assert m is not None, err["message"]
    total, first = float(m.group(1)), float(m.group(2))
    assert 2.0 <= first < 3.0 and 6.0 <= total <= took  # what it says is what it took: more than the 4 s


# -- state: a device-info that cannot be read ----------------------------------------------------
def state(d: Api, dev: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = d.ok("GET", f"/v1/devices/{dev['id']}/state")["state"]
    return out


def test_an_unreadable_device_info_is_an_unavailable_part(inproc: InProcDaemon, roku: FakeRoku) -> None:
    dev = inproc.add(roku)
    roku.device_info_xml = b"\x00\xffnot xml at all <<<"
    s = state(inproc, dev)
    assert s["unavailable"] == [{"part": "device", "code": "device_bad_response",
                                 "reason": "The device's device-info reply is not valid XML: not well-formed "
                                           "(invalid token): line 1, column 6."}]
    assert (s["power"], s["active_app"]["kind"], s["media"]["state"]) == (None, "home", "close")


def test_an_oversized_device_info_is_an_unavailable_part_too(inproc: InProcDaemon, roku: FakeRoku) -> None:
    dev = inproc.add(roku)
    roku.device_info_xml = roku.device_info_xml.replace(b"</device-info>", b"<pad>" + b"x" * 300_000 + b"</pad>"
                                                        + b"</device-info>")
    s = state(inproc, dev)
    [u] = s["unavailable"]
    assert (u["part"], u["code"]) == ("device", "device_bad_response")
    assert u["reason"].startswith(f"{dev['name']}'s reply to GET /query/device-info exceeded 262144 bytes")
    assert (s["power"], s["active_app"]["kind"]) == (None, "home")


@pytest.mark.parametrize("how", ["garbage", "cut"])
def test_when_neither_device_info_nor_active_app_can_be_read_the_state_is_an_error(
        inproc: InProcDaemon, roku: FakeRoku, how: str) -> None:
    dev = inproc.add(roku)
    if how == "garbage":
        roku.mode = "garbage"
    else:
        roku.framing, roku.cut_at = "length", 10
    err = inproc.err("GET", f"/v1/devices/{dev['id']}/state", 500, "device_bad_response")
    said = "is not valid XML" if how == "garbage" else "/query/device-info was cut short"
    assert said in err["message"], err
