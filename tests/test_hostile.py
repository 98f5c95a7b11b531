"""Hostile networks and devices that say less than others, through the real daemon: forged SSDP
byebyes and NOTIFY floods on loopback, a regular file at the socket path, all-zero MACs, and
device ids that survive removal."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.conftest import LOOPBACK_CONFIG, Daemon
from tests.fakeroku import FakeRoku, FakeSsdp
from tests.helpers import wait_for
from tests.inproc import InProcDaemon


def notify_daemon(tmp_path: Path) -> tuple[Daemon, int]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    d = Daemon(tmp_path, LOOPBACK_CONFIG.replace('ssdp_listen = ""', f'ssdp_listen = "127.0.0.1:{port}"')).start()
    return d, port


def alive(serial: str, location: str) -> bytes:
    return (f"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNT: roku:ecp\r\nNTS: ssdp:alive\r\n"
            f"USN: uuid:roku:ecp:{serial}\r\nCache-Control: max-age=3600\r\nLOCATION: {location}\r\n\r\n").encode()


def byebye(serial: str) -> bytes:
    return f"NOTIFY * HTTP/1.1\r\nNT: roku:ecp\r\nNTS: ssdp:byebye\r\nUSN: uuid:roku:ecp:{serial}\r\n\r\n".encode()


def sender(host: str) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, 0))
    return s


def test_byebye_counts_only_from_the_devices_own_address(tmp_path: Path, roku: FakeRoku) -> None:
    d, port = notify_daemon(tmp_path)
    try:
        dev = d.add(roku)
        with sender("127.0.0.2") as forger, sender("127.0.0.1") as device:
            forger.sendto(byebye(roku.serial), ("127.0.0.1", port))
            wait_for(lambda: "ignoring ssdp:byebye" in d.log(), what="the forged byebye noticed")
            assert d.ok("GET", f"/v1/devices/{dev['id']}")["online"] is True
            device.sendto(byebye(roku.serial), ("127.0.0.1", port))
            wait_for(lambda: not d.ok("GET", f"/v1/devices/{dev['id']}")["online"], what="offline after byebye")
    finally:
        d.stop()


def test_a_notify_flood_is_probed_rarely_and_logged_briefly(tmp_path: Path) -> None:
    target = FakeRoku("box", host="127.0.0.3").start()
    junk = FakeRoku("box", host="127.0.0.4").start()
    junk.mode = "garbage"  # never confirms as a Roku
    marker = FakeRoku("stick", host="127.0.0.5").start()
    d, port = notify_daemon(tmp_path)
    try:
        marker_id = d.add(marker)["id"]
        marker.clear()
        lines_before = len(d.log().splitlines())
        with sender("127.0.0.3") as s3, sender("127.0.0.4") as s4, sender("127.0.0.6") as s6:
            for i in range(10_000):
                s3.sendto(alive(target.serial, f"http://127.0.0.3:{target.port}/"), ("127.0.0.1", port))
                s4.sendto(alive("JUNK", f"http://127.0.0.4:{junk.port}/"), ("127.0.0.1", port))
                s6.sendto(alive("FORGED", f"http://127.0.0.9:{i}/"), ("127.0.0.1", port))  # not its address
        with sender("127.0.0.5") as s5:  # after the flood (repeated: a full socket buffer drops datagrams)
            def flood_handled() -> bool:
                s5.sendto(byebye(marker.serial), ("127.0.0.1", port))
                return not d.ok("GET", f"/v1/devices/{marker_id}")["online"]

            wait_for(flood_handled, timeout=30, what="a byebye sent after the flood")
        assert len(target.paths("GET")) == 1 and len(junk.paths("GET")) <= 1 and marker.paths("GET") == []
        assert {x["serial"] for x in d.ok("GET", "/v1/devices")} == {target.serial, marker.serial}
        new_lines = d.log().splitlines()[lines_before:]
        assert len(new_lines) <= 10, new_lines
        assert d.http("GET", "/v1/ping").status_code == 200
    finally:
        d.stop()
        for r in (target, junk, marker):
            r.stop()


def test_a_regular_file_at_the_socket_path_is_left_alone(tmp_path: Path) -> None:
    d = Daemon(tmp_path)
    d.socket.write_text("my notes\n")
    proc = d.spawn()
    assert proc.wait(20) == 1
    assert d.socket.read_text() == "my notes\n"
    out = d.log()
    assert f"tvctl daemon: {d.socket} exists and is not a socket" in out and "Traceback" not in out


def test_a_stale_socket_is_still_cleaned_up(tmp_path: Path) -> None:
    d = Daemon(tmp_path)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(d.socket))
    stale.close()  # the file stays, nobody listens
    d.start()
    try:
        assert d.unix("GET", "/v1/ping").json() == {"ok": True, "data": "pong"}
    finally:
        d.stop()


def test_an_all_zero_mac_is_no_mac(inproc: InProcDaemon) -> None:
    roku = FakeRoku("tv", serial="ZEROMAC1")
    for mac in roku.macs:  # what some devices and emulators report when they have no MAC to give
        roku.device_info_xml = roku.device_info_xml.replace(mac.encode(), b"00:00:00:00:00:00")
    roku.start()
    responder = FakeSsdp()
    try:
        responder.add_device(roku)  # its WAKEUP header says MAC=00:00:00:00:00:00 too
        inproc.ok("PATCH", "/v1/config", json={"discovery.ssdp_target": f"127.0.0.1:{responder.port}",
                                               "roku.wol_port": roku.wol_port, "roku.wol_wait_s": 1})
        found = inproc.ok("POST", "/v1/devices/discover")["devices"]
        dev = next(x for x in found if x["serial"] == "ZEROMAC1")
        assert dev["wake_mac"] is None
        roku.mode = "asleep"
        err = inproc.err("POST", f"/v1/devices/{dev['id']}/remote/key", 500, "device_unreachable",
                         json={"key": "power-on"})
        assert "no Wake-on-LAN MAC is known" in err["message"]
        assert roku.wol_packets == []
    finally:
        responder.close()
        roku.stop()


def test_a_device_keeps_its_id_when_removed_and_found_again(daemon: Daemon, roku: FakeRoku) -> None:
    responder = FakeSsdp()
    try:
        responder.add_device(roku)
        daemon.ok("PATCH", "/v1/config", json={"discovery.ssdp_target": f"127.0.0.1:{responder.port}"})
        first = daemon.add(roku)["id"]
        daemon.ok("DELETE", f"/v1/devices/{first}")
        assert [x["id"] for x in daemon.ok("POST", "/v1/devices/discover")["devices"]] == [first]
        daemon.ok("DELETE", f"/v1/devices/{first}")
        daemon.stop()
        daemon.start()
        assert daemon.add(roku)["id"] == first
    finally:
        responder.close()


def test_the_id_is_the_same_on_another_machine(tmp_path: Path, roku: FakeRoku) -> None:
    """Two daemons that never shared a file give the device the same id."""
    a = Daemon(tmp_path / "a").start()
    b = Daemon(tmp_path / "b").start()
    try:
        assert a.add(roku)["id"] == b.add(roku)["id"]
    finally:
        a.stop()
        b.stop()


