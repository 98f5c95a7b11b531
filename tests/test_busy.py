"""The daemon under a busy dashboard, a device removed mid-command, and a restart: through the
real daemon process and fake devices."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import Daemon
from tests.fakeroku import FakeRoku
from tests.helpers import wait_for


def test_state_readers_share_one_read_and_keys_still_go_through(daemon: Daemon, roku: FakeRoku) -> None:
    """Sixteen clients reading state at once cost the TV one read of each part, not sixteen; a key
    pressed meanwhile is answered."""
    dev = daemon.add(roku)
    url = f"{daemon.url}/v1/devices/{dev['id']}"
    roku.delay_s = 0.3  # a slow TV: every reader arrives while the first read is in flight
    roku.clear()
    answers: list[int] = []
    start = threading.Barrier(17)

    def read() -> None:
        start.wait(10)
        answers.append(httpx.get(url + "/state", timeout=30).status_code)

    readers = [threading.Thread(target=read) for _ in range(16)]
    for t in readers:
        t.start()
    start.wait(10)
    wait_for(lambda: roku.paths("GET"), what="the first state read to reach the TV")
    key = httpx.post(url + "/remote/key", json={"key": "home"}, timeout=30)
    for t in readers:
        t.join(30)
    assert answers == [200] * 16 and key.status_code == 200
    info_reads = [p for p in roku.paths("GET") if p == "/query/device-info"]
    assert len(info_reads) <= 2, roku.paths("GET")  # one shared read (a late reader may start a second)
    assert roku.paths("POST") == ["/keypress/Home"]


def test_removing_a_device_stops_its_command(daemon: Daemon, roku: FakeRoku) -> None:
    """A search waits seconds for the app in front to change; removing the device meanwhile stops
    it: the search answers device_not_found and nothing is left open."""
    dev = daemon.add(roku)
    url = f"/v1/devices/{dev['id']}"
    roku.clear()
    result: dict[str, Any] = {}

    def search() -> None:
        r = daemon.http("POST", url + "/search", json={"keyword": "news", "strategy": "browse"})
        result["status"], result["body"] = r.status_code, r.json()

    t = threading.Thread(target=search)
    t.start()
    wait_for(lambda: any(p.startswith("/search/browse") for p in roku.paths("POST")), what="the search to start")
    daemon.ok("DELETE", url)
    t.join(30)
    assert result["status"] == 404 and result["body"]["error"]["code"] == "device_not_found", result
    assert "removed" in result["body"]["error"]["message"]
    daemon.err("POST", url + "/remote/key", 404, "device_not_found", json={"key": "home"})
    daemon.stop()
    assert "Unclosed" not in daemon.log() and "Traceback" not in daemon.log()


def test_devices_are_checked_at_start(tmp_path: Path) -> None:
    """After a restart the list says who answers, without anyone using the devices first."""
    here, gone = FakeRoku("tv", serial="ATSTART0001").start(), FakeRoku("box", serial="ATSTART0002").start()
    d = Daemon(tmp_path).start()
    try:
        for r in (here, gone):
            d.add(r)
        d.stop()
        gone.stop()
        d.start()
        online = wait_for(lambda: {x["serial"]: x["online"] for x in d.ok("GET", "/v1/devices")
                                   if x["serial"] == "ATSTART0001" and x["online"]}, what="the check at start")
        assert online == {"ATSTART0001": True}
        assert {x["serial"]: x["online"] for x in d.ok("GET", "/v1/devices")}["ATSTART0002"] is False
    finally:
        d.stop()
        here.stop()
