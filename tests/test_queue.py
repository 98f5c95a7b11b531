"""No stale commands: a command queued behind others to the same device is dropped unsent when its
client leaves, and refused unsent (503 device_busy) after daemon.queue_wait_s. Real daemon, fake TV
that answers late."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import httpx

from tests.conftest import Daemon
from tests.fakeroku import FakeRoku
from tests.helpers import wait_for
from tests.inproc import InProcDaemon


def post_and_give_up(d: Daemon, path: str, body: dict[str, Any] | None, timeout: float) -> threading.Thread:
    """POST from a client that gives up (closes its connection) after ``timeout`` seconds."""
    def go() -> None:
        with contextlib.suppress(httpx.TimeoutException):
            httpx.post(d.url + path, json=body, timeout=timeout)

    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t


def test_commands_whose_clients_left_never_reach_the_tv(daemon: Daemon, roku: FakeRoku) -> None:
    dev = daemon.add(roku)
    base = f"/v1/devices/{dev['id']}"
    daemon.ok("GET", base + "/apps")  # cached, so launch needs nothing from the device but the launch
    roku.clear()
    roku.delay_s = 3.0  # the TV answers every request after 3 s; clients give up after 1 s
    first = post_and_give_up(daemon, base + "/remote/key", {"key": "home"}, 1.0)
    wait_for(lambda: roku.paths() == ["/keypress/Home"], what="Home at the TV")
    queued = [
        post_and_give_up(daemon, base + "/remote/key", {"key": "power-off"}, 1.0),
        post_and_give_up(daemon, base + "/remote/sequence", {"keys": ["up", "up"], "delay_ms": 0}, 1.0),
        post_and_give_up(daemon, base + "/apps/launch", {"app": "netflix"}, 1.0),
        post_and_give_up(daemon, base + "/apps/stop", None, 1.0),
    ]
    for t in [first, *queued]:
        t.join(10)
    wait_for(lambda: daemon.log().count("not sent") == 4, timeout=15, what="four commands dropped unsent")
    roku.delay_s = 0
    daemon.ok("POST", base + "/remote/key", json={"key": "info"})  # queued behind anything still running
    assert roku.paths() == ["/keypress/Home", "/keypress/Info"]


def test_a_command_waits_at_most_queue_wait_s(inproc: InProcDaemon, roku: FakeRoku) -> None:
    dev = inproc.add(roku)
    base = f"/v1/devices/{dev['id']}"
    inproc.ok("PATCH", "/v1/config", json={"daemon.queue_wait_s": 1.0})
    roku.clear()
    done: list[Any] = []
    seq = threading.Thread(target=lambda: done.append(inproc.ok(
        "POST", base + "/remote/sequence", json={"keys": ["up", "down", "left"], "delay_ms": 1500})), daemon=True)
    seq.start()
    wait_for(lambda: roku.paths() == ["/keypress/Up"], what="the sequence under way")
    t0 = time.monotonic()
    err = inproc.err("POST", base + "/remote/key", 503, "device_busy", json={"key": "power-off"})
    assert 0.9 < time.monotonic() - t0 < 2.5
    assert "not sent" in err["message"] and "1 s" in err["message"] and "try again" in err["hint"]
    seq.join(10)
    assert done and done[0]["sent"] == 3
    assert roku.paths() == ["/keypress/Up", "/keypress/Down", "/keypress/Left"]  # no PowerOff, ever


def test_a_sequence_stops_when_its_client_leaves(daemon: Daemon, roku: FakeRoku) -> None:
    dev = daemon.add(roku)
    base = f"/v1/devices/{dev['id']}"
    roku.clear()
    keys = ["up", "down", "left", "right", "select"]
    post_and_give_up(daemon, base + "/remote/sequence", {"keys": keys, "delay_ms": 1000}, 1.5).join(10)
    wait_for(lambda: "3 of 5 keys not sent" in daemon.log(), what="the rest of the sequence dropped")
    daemon.ok("POST", base + "/remote/key", json={"key": "info"})
    assert roku.paths() == ["/keypress/Up", "/keypress/Down", "/keypress/Info"]
