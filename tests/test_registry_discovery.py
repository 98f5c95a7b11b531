"""Registry and discovery through the daemon's API (in-process where only the API is used,
tests/inproc.py; restarts and events through the daemon process): SSDP on loopback UDP, NOTIFY, mDNS
on lo, events."""

from __future__ import annotations

import asyncio
import functools
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LOOPBACK_CONFIG, Daemon
from tests.fakeroku import FakeRoku, FakeSsdp
from tests.helpers import Events, wait_for
from tests.inproc import Api, InProcDaemon


@pytest.fixture
def fleet() -> Any:
    rokus = [FakeRoku(k).start() for k in ("stick", "box", "tv")]
    yield rokus
    for r in rokus:
        r.stop()


def point_at(d: Api, responder: FakeSsdp) -> None:
    d.ok("PATCH", "/v1/config", json={"discovery.ssdp_target": f"127.0.0.1:{responder.port}"})


# -- discovery ---------------------------------------------------------------------------------
def test_discovery_finds_several_devices(inproc: InProcDaemon, ssdp_responder: FakeSsdp, fleet: list[FakeRoku]) -> None:
    point_at(inproc, ssdp_responder)
    for r in fleet:
        ssdp_responder.add_device(r)
    data = inproc.ok("POST", "/v1/devices/discover")
    assert sorted(d["serial"] for d in data["devices"]) == sorted(r.serial for r in fleet)
    for d in data["devices"]:
        assert d["sources"] == ["ssdp"] and d["online"] is True
    tv = next(d for d in data["devices"] if d["kind"] == "tv")
    assert tv["wake_mac"] == fleet[2].mac
    # the search went out the way strict responders parse it, three times over lossy UDP
    assert len(ssdp_responder.searches) == 3
    msg = ssdp_responder.searches[0].decode()
    assert msg.startswith("M-SEARCH * HTTP/1.1\r\n") and msg.endswith("\r\n\r\n")
    assert '\r\nMan: "ssdp:discover"\r\n' in msg and "\r\nST: roku:ecp\r\n" in msg and "\r\nMX: 1\r\n" in msg
    assert len(inproc.ok("GET", "/v1/devices")) == 3


def forget_all(d: Api) -> None:
    for dev in d.ok("GET", "/v1/devices"):
        d.ok("DELETE", f"/v1/devices/{dev['id']}")


def test_no_device_is_missed_when_responders_wait_up_to_mx(inproc: InProcDaemon) -> None:
    """Responders wait a random 0..MX s before each answer (and, last, always the whole MX): with
    the configured window of 1.5 s every run finds every device."""
    rokus = [FakeRoku(("stick", "box", "tv")[i % 3], serial=f"DELAY{i:07d}").start() for i in range(8)]
    responder = FakeSsdp(delay="random", seed=11)
    try:
        for r in rokus:
            responder.add_device(r)
        point_at(inproc, responder)
        want = sorted(r.serial for r in rokus)
        for run in range(8):
            if run == 6:
                responder.delay = "max"
            forget_all(inproc)
            t0 = time.monotonic()
            found = sorted(d["serial"] for d in inproc.ok("POST", "/v1/devices/discover")["devices"])
            assert found == want, f"run {run} ({responder.delay}) missed {sorted(set(want) - set(found))}"
            assert time.monotonic() - t0 < 3.5
        assert all(b"\r\nMX: 1\r\n" in s for s in responder.searches)  # 1.5 s window: answer within 1 s
    finally:
        responder.close()
        for roku in rokus:
            roku.stop()


def test_discovery_reports_devices_as_they_are_confirmed(daemon: Daemon, ssdp_responder: FakeSsdp,
                                                         fleet: list[FakeRoku]) -> None:
    point_at(daemon, ssdp_responder)
    for roku in fleet:
        ssdp_responder.add_device(roku)
    events = Events(daemon.url + "/v1/events")
    seen: list[tuple[float, str, Any]] = []
    t0 = time.monotonic()
    with httpx.stream("POST", daemon.url + "/v1/devices/discover", headers={"Accept": "text/event-stream"},
                      timeout=30) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        event = ""
        for line in r.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                seen.append((time.monotonic() - t0, event, json.loads(line[5:])))
    assert [e for _, e, _ in seen] == ["device_found"] * 3 + ["done"]
    assert sorted(d["serial"] for _, e, d in seen if e == "device_found") == sorted(r.serial for r in fleet)
    done_at, _, done = seen[-1]
    assert done["ok"] is True and len(done["data"]["devices"]) == 3
    assert seen[0][0] < done_at - 0.8  # the first device came long before the 1.5 s window closed
    wait_for(lambda: len(events.of("device_found")) == 3, what="device_found on /v1/events")
    assert len(events.of("device_added")) == 3
    # a second run finds the same devices again; nothing about them changed
    daemon.ok("POST", "/v1/devices/discover")
    wait_for(lambda: len(events.of("device_found")) == 6, what="device_found again")
    assert len(events.of("device_added")) == 3 and events.of("device_updated") == []


def test_concurrent_discover_calls_share_one_run(inproc: InProcDaemon, ssdp_responder: FakeSsdp,
                                                 fleet: list[FakeRoku]) -> None:
    point_at(inproc, ssdp_responder)
    ssdp_responder.add_device(fleet[0])
    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(inproc.ok("POST", "/v1/devices/discover")))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(len(r["devices"]) == 1 for r in results)
    assert len(ssdp_responder.searches) == 3  # one run's searches, not four runs'


def test_ip_change_keeps_identity(daemon: Daemon, ssdp_responder: FakeSsdp) -> None:
    point_at(daemon, ssdp_responder)
    first = FakeRoku("tv").start()
    ssdp_responder.add_device(first)
    dev = daemon.ok("POST", "/v1/devices/discover")["devices"][0]
    daemon.ok("PATCH", f"/v1/devices/{dev['id']}", json={"name": "living-room"})
    first.stop()
    moved = FakeRoku("tv", host="127.0.0.2").start()  # same serial, new address
    try:
        ssdp_responder.replies.clear()
        ssdp_responder.add_device(moved)
        events = Events(daemon.url + "/v1/events")
        again = daemon.ok("POST", "/v1/devices/discover")["devices"]
        assert len(again) == 1
        assert again[0]["id"] == dev["id"] and again[0]["name"] == "living-room"
        assert again[0]["host"] == "127.0.0.2" and again[0]["port"] == moved.port
        assert len(daemon.ok("GET", "/v1/devices")) == 1
        wait_for(lambda: events.of("device_updated"), what="device_updated")
        assert events.of("device_updated")[-1]["host"] == "127.0.0.2"
        # and commands now go to the new address
        daemon.ok("POST", "/v1/devices/living-room/remote/key", json={"key": "home"})
        assert moved.paths() == ["/keypress/Home"]
    finally:
        moved.stop()


def test_discovery_ignores_garbage_and_foreign_locations(daemon: Daemon, ssdp_responder: FakeSsdp,
                                                         roku: FakeRoku) -> None:
    point_at(daemon, ssdp_responder)
    elsewhere = FakeRoku("box", host="127.0.0.3").start()
    try:
        ssdp_responder.add_raw(b"\x00\xff garbage")
        ssdp_responder.add_raw(b"HTTP/1.1 200 OK\r\n" + b"X-Huge: " + b"A" * 60_000 + b"\r\n\r\n")
        ssdp_responder.add_raw(b"HTTP/1.1 200 OK\r\nST: roku:ecp\r\nUSN: uuid:roku:ecp:ZZZ\r\n"
                               b"LOCATION: \xff\xfe\r\n\r\n")
        ssdp_responder.add_raw(b"HTTP/1.1 200 OK\r\nST: roku:ecp\r\nLOCATION: http://[::1\r\n\r\n")
        ssdp_responder.add_raw(b"HTTP/1.1 200 OK\r\nST: roku:ecp\r\nno colon here\r\n\r\n")
        # a reply from 127.0.0.1 whose LOCATION points at another host must not be fetched
        ssdp_responder.add_device(elsewhere, location=f"http://127.0.0.3:{elsewhere.port}/")
        ssdp_responder.replies[-1] = ("127.0.0.1", ssdp_responder.replies[-1][1])
        ssdp_responder.add_device(roku, location=f"https://127.0.0.1:{roku.port}/")  # not plain http
        ssdp_responder.add_device(roku, location=f"http://user:pw@127.0.0.1:{roku.port}/")
        ssdp_responder.add_device(roku)  # the one honest reply
        found = daemon.ok("POST", "/v1/devices/discover")["devices"]
        assert [d["serial"] for d in found] == [roku.serial]
        assert elsewhere.requests == []
        assert "does not point back at the sender" in daemon.log()
        assert daemon.http("GET", "/v1/ping").status_code == 200
    finally:
        elsewhere.stop()


def test_candidate_that_is_not_a_roku_is_dropped(inproc: InProcDaemon, ssdp_responder: FakeSsdp,
                                                 roku: FakeRoku) -> None:
    point_at(inproc, ssdp_responder)
    roku.mode = "garbage"  # answers device-info with junk
    ssdp_responder.add_device(roku)
    assert inproc.ok("POST", "/v1/devices/discover")["devices"] == []
    assert inproc.ok("GET", "/v1/devices") == []


def test_notify_alive_and_byebye(tmp_path: Path, roku: FakeRoku) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    d = Daemon(tmp_path, LOOPBACK_CONFIG.replace('ssdp_listen = ""', f'ssdp_listen = "127.0.0.1:{port}"')).start()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            s.sendto(b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNT: roku:ecp\r\nNTS: ssdp:alive\r\n"
                     b"USN: uuid:roku:ecp:" + roku.serial.encode() + b"\r\nCache-Control: max-age=3600\r\n"
                     b"LOCATION: http://127.0.0.1:" + str(roku.port).encode() + b"/\r\n\r\n", ("127.0.0.1", port))
            dev = wait_for(lambda: d.ok("GET", "/v1/devices"), what="device from NOTIFY")[0]
            assert dev["serial"] == roku.serial and dev["online"] is True
            s.sendto(b"NOTIFY * HTTP/1.1\r\nNT: roku:ecp\r\nNTS: ssdp:byebye\r\nUSN: uuid:roku:ecp:"
                     + roku.serial.encode() + b"\r\n\r\n", ("127.0.0.1", port))
            wait_for(lambda: not d.ok("GET", "/v1/devices")[0]["online"], what="offline after byebye")
    finally:
        d.stop()


def test_mdns_sighting_on_loopback(tmp_path: Path) -> None:
    from zeroconf import IPVersion, ServiceInfo
    from zeroconf.asyncio import AsyncZeroconf

    # mDNS sightings point at ECP's fixed port 8060, so this fake binds it on a loopback alias.
    roku = FakeRoku("tv", host="127.8.0.60", port=8060).start()
    d = Daemon(tmp_path, LOOPBACK_CONFIG.replace("mdns_enabled = false", "mdns_enabled = true")).start()

    async def announce() -> list[Any]:
        zc = AsyncZeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
        try:
            # The records of the recorded Hisense announcement, at the fake's address.
            info = ServiceInfo("_airplay._tcp.local.", "65in Hisense Roku TV._airplay._tcp.local.",
                               addresses=[socket.inet_aton("127.8.0.60")], port=7000,
                               properties={"integrator": "Roku", "model": "G220X", "manufacturer": "Hisense"},
                               server=f"{roku.serial}.local.")
            await zc.async_register_service(info)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                devices: list[Any] = await asyncio.to_thread(d.ok, "GET", "/v1/devices")
                if devices:
                    return devices
                await asyncio.sleep(0.1)
            return []
        finally:
            await zc.async_close()

    try:
        devices = asyncio.run(announce())
        assert [x["serial"] for x in devices] == [roku.serial]
        assert devices[0]["sources"] == ["mdns"] and devices[0]["host"] == "127.8.0.60"
    finally:
        d.stop()
        roku.stop()


def test_mdns_records_fixture_is_recognised_as_a_roku() -> None:
    from tvctl_adapters.roku.ecp import RokuAdapter

    from tests.fakeroku import FIXTURES
    from tvctl.models import MdnsService

    rec = json.loads((FIXTURES / "mdns" / "airplay-display_roku-tv_hisense-G220X_records.json").read_text())
    txt = next(r for r in rec["records"] if r["type"] == "TXT")["data"]
    props = {k.encode(): v.encode() for k, v in (t.split("=", 1) for t in txt)}
    srv = next(r for r in rec["records"] if r["type"] == "SRV")["data"]
    a = next(r for r in rec["records"] if r["type"] == "A")["data"]
    seen = RokuAdapter.recognise_mdns(MdnsService("_airplay._tcp.local.", "x", props, (a,), srv["target"]))
    assert seen is not None and seen.serial_hint == "X01300A3Y71Y"
    apple = MdnsService("_airplay._tcp.local.", "x", {b"integrator": b"Apple"}, (a,), srv["target"])
    assert RokuAdapter.recognise_mdns(apple) is None


# -- registry ----------------------------------------------------------------------------------
def test_registry_survives_restart(daemon: Daemon, roku: FakeRoku) -> None:
    dev = daemon.add(roku)
    daemon.ok("PATCH", f"/v1/devices/{dev['id']}", json={"name": "bedroom"})
    daemon.stop()
    daemon.start()
    again = daemon.ok("GET", "/v1/devices/bedroom")
    assert again["id"] == dev["id"] and again["serial"] == roku.serial
    # not seen by this process until the check at start has probed it (tests/test_busy.py)
    wait_for(lambda: daemon.ok("GET", "/v1/devices/bedroom")["online"], what="the check at start")
    registry = json.loads((daemon.tmp / "state" / "tvctl" / "devices.json").read_text())
    assert registry["devices"][0]["name"] == "bedroom"


def test_resolution_rename_and_delete(inproc: InProcDaemon, fleet: list[FakeRoku]) -> None:
    stick, box, tv = (inproc.add(r) for r in fleet)
    assert inproc.ok("GET", f"/v1/devices/{tv['name'].upper()}")["id"] == tv["id"]
    assert inproc.ok("GET", f"/v1/devices/{tv['id'].upper()}")["id"] == tv["id"]
    err = inproc.err("GET", "/v1/devices/default", 404, "no_default_device")
    assert "3 devices" in err["message"]
    inproc.ok("PATCH", "/v1/config", json={"daemon.default_device": box["name"]})
    assert inproc.ok("GET", "/v1/devices/default")["id"] == box["id"]
    assert inproc.ok("GET", "/v1/daemon/status")["default_device"] == box["name"]
    renamed = inproc.ok("PATCH", f"/v1/devices/{stick['id']}", json={"name": "kids-room"})
    assert renamed["name"] == "kids-room" and renamed["id"] == stick["id"]
    inproc.err("PATCH", f"/v1/devices/{tv['id']}", 400, "device_name_taken", json={"name": "kids-room"})
    for bad in ("Kids Room", "-x", "", "a" * 64, "default", "x/y"):
        inproc.err("PATCH", f"/v1/devices/{tv['id']}", 400, "invalid_payload", json={"name": bad})
    inproc.err("PATCH", f"/v1/devices/{tv['id']}", 400, "invalid_payload", json={"name": "ok", "extra": 1})
    removed = inproc.ok("DELETE", "/v1/devices/kids-room")
    assert removed["id"] == stick["id"]
    inproc.err("GET", "/v1/devices/kids-room", 404, "device_not_found")
    inproc.err("DELETE", "/v1/devices/kids-room", 404, "device_not_found")


def test_list_filter_sort_page(inproc: InProcDaemon, fleet: list[FakeRoku]) -> None:
    for r in fleet:
        inproc.add(r)
    names = [d["name"] for d in inproc.ok("GET", "/v1/devices")]
    assert names == sorted(names)
    assert [d["name"] for d in inproc.ok("GET", "/v1/devices?sort_reverse=true")] == sorted(names, reverse=True)
    tvs = inproc.ok("GET", "/v1/devices?filter=kind==tv")
    assert [d["kind"] for d in tvs] == ["tv"]
    two = inproc.ok("GET", "/v1/devices?filter=kind==tv,stick&sort_by=model")
    assert sorted(d["kind"] for d in two) == ["stick", "tv"]
    assert [d["model"] for d in two] == sorted(d["model"] for d in two)
    page = inproc.ok("GET", "/v1/devices?start=1&limit=1")
    assert [d["name"] for d in page] == names[1:2]
    assert inproc.ok("GET", "/v1/devices?filter=online==true&filter=kind==box")[0]["kind"] == "box"
    for bad in ("start=-1", "limit=abc", "sort_reverse=maybe", "filter=password==x", "bogus=1"):
        inproc.err("GET", f"/v1/devices?{bad}", 400, "invalid_query")


def test_add_by_address_twice_is_one_device(inproc: InProcDaemon, roku: FakeRoku) -> None:
    a = inproc.add(roku)
    b = inproc.add(roku)
    assert a["id"] == b["id"] and len(inproc.ok("GET", "/v1/devices")) == 1
    assert a["sources"] == ["manual"]


# -- events ------------------------------------------------------------------------------------
def test_events_stream(daemon: Daemon, roku: FakeRoku) -> None:
    page = "http://127.0.0.1:8080"
    daemon.ok("PATCH", "/v1/config", json={"daemon.cors_enabled": True, "daemon.cors_allowed_origins": [page]})
    a, b = Events(daemon.url + "/v1/events"), Events(daemon.url + "/v1/events")  # many clients at once
    dev = daemon.add(roku)
    daemon.ok("PATCH", f"/v1/devices/{dev['id']}", json={"name": "den"})
    daemon.ok("POST", "/v1/config/reload")
    daemon.ok("DELETE", "/v1/devices/den")
    for ev in (a, b):
        wait_for(functools.partial(ev.of, "device_removed"), what="device_removed")
        assert ev.of("device_added")[0]["id"] == dev["id"]
        assert ev.of("device_updated")[0]["name"] == "den"
        assert "restart_required" in ev.of("config_reloaded")[0]
        assert ev.of("device_removed")[0]["name"] == "den"
    # through CORS, from the dashboard's origin
    with httpx.stream("GET", daemon.url + "/v1/events", headers={"Origin": page}, timeout=10) as r:
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == page
        assert r.headers["content-type"].startswith("text/event-stream")


def test_slow_events_client_does_not_stall_the_daemon(daemon: Daemon, roku: FakeRoku) -> None:
    dev = daemon.add(roku)
    slow = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a tiny window, and it never reads
    slow.connect(("127.0.0.1", daemon.port))
    slow.sendall(f"GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1:{daemon.port}\r\n\r\n".encode())
    try:
        fast = Events(daemon.url + "/v1/events")
        for i in range(60):
            t0 = time.monotonic()
            daemon.ok("PATCH", f"/v1/devices/{dev['id']}", json={"name": f"n{i % 2}"})
            assert time.monotonic() - t0 < 2
        wait_for(lambda: len(fast.of("device_updated")) == 60, what="all events at the reading client")
    finally:
        slow.close()


async def test_event_bus_cuts_off_a_subscriber_that_falls_behind() -> None:
    from tvctl.events import SUBSCRIBER_QUEUE, EventBus

    bus = EventBus()
    stuck = bus.subscribe()
    assert await anext(stuck) == b": connected\n\n"  # subscribed, then never reads again
    live = bus.subscribe()
    await anext(live)
    got: list[bytes] = []

    async def read_live() -> None:
        async for chunk in live:
            got.append(chunk)
            if len(got) == SUBSCRIBER_QUEUE + 50:
                return

    reader = asyncio.create_task(read_live())
    for i in range(SUBSCRIBER_QUEUE + 50):
        bus.publish("device_updated", {"i": i})  # never blocks, whoever is slow
        await asyncio.sleep(0)
    await asyncio.wait_for(reader, 5)
    assert bus.subscriber_count == 1  # the stuck one was dropped, the live one stays
    rest = [chunk async for chunk in stuck]
    assert rest == [b'event: overflow\ndata: {"reason":"client too slow; reconnect"}\n\n']
    await live.aclose()
    assert bus.subscriber_count == 0


def test_discovery_at_start_and_every_interval(tmp_path: Path, ssdp_responder: FakeSsdp, fleet: list[FakeRoku]) -> None:
    ssdp_responder.add_device(fleet[0])
    cfg = (LOOPBACK_CONFIG.replace("\nenabled = false", "\nenabled = true\ninterval_s = 1")
           .replace('ssdp_target = "127.0.0.1:9"', f'ssdp_target = "127.0.0.1:{ssdp_responder.port}"'))
    d = Daemon(tmp_path, cfg).start()
    try:
        first = wait_for(lambda: d.ok("GET", "/v1/devices"), what="discovery at start")
        assert [x["serial"] for x in first] == [fleet[0].serial]
        ssdp_responder.add_device(fleet[1])  # appears later: found by the next periodic run
        wait_for(lambda: len(d.ok("GET", "/v1/devices")) == 2, what="periodic discovery")
    finally:
        d.stop()
