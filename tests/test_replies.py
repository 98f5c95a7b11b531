"""Device replies are read whole, however they are framed and segmented, within a size limit; a
reply cut short is an error and is never cached. Through the daemon's API in-process
(tests/inproc.py), against fakes on loopback.

The shaped-link variants of these (a real link with MTU 1500, a rate limit, delay and jitter)
are in test_shaped_link.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakeroku import FakeRoku
from tests.helpers import apps_xml, png_of_size
from tests.inproc import Api, InProcDaemon

BIG_APPS = 2500  # about 190 KB of XML
ICON = png_of_size(300_000)


@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
def test_replies_in_many_segments_are_read_whole(inproc: InProcDaemon, framing: str) -> None:
    roku = FakeRoku("tv", apps=apps_xml(BIG_APPS), serial=f"SEGMENTS{framing.upper()}").start()
    try:
        roku.framing, roku.segment = framing, 700  # ~7 writes for device-info, ~270 for the app list
        roku.icon = (ICON, "image/png")
        dev = inproc.add(roku)
        assert dev["serial"] == f"SEGMENTS{framing.upper()}" and dev["kind"] == "tv"
        base = f"/v1/devices/{dev['id']}"
        apps = inproc.ok("POST", base + "/apps/refresh")["apps"]
        assert len(apps) == BIG_APPS
        assert apps[-1] == {"id": "channel-02499", "name": "Channel 02499", "platform_id": "102499",
                            "type": "appl", "version": "1.9.0"}
        roku.active = ("tvinput.dtv", "Antenna TV")
        state = inproc.ok("GET", base + "/state")["state"]
        assert state["active_app"]["kind"] == "tv-input" and state["tv"]["number"] == "14.3"
        roku.active = ("100007", "Channel 00007")
        roku.media_state, roku.position_ms = "play", 61_000
        state = inproc.ok("GET", base + "/state")["state"]
        assert state["media"]["state"] == "play" and state["media"]["position_ms"] == 61_000
        r = inproc.http("GET", base + "/apps/channel-00007/icon")
        assert r.status_code == 200 and r.content == ICON
        assert r.headers["x-content-type-options"] == "nosniff"
    finally:
        roku.stop()


def cache_files(d: Api) -> list[Path]:
    return sorted(p for p in (d.tmp / "cache").rglob("*") if p.is_file())


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_a_cut_reply_is_an_error_and_is_not_cached(inproc: InProcDaemon, framing: str) -> None:
    roku = FakeRoku("box", apps=apps_xml(BIG_APPS)).start()
    try:
        dev = inproc.add(roku)
        base = f"/v1/devices/{dev['id']}"
        roku.framing, roku.icon = framing, (ICON, "image/png")
        roku.cut_at = 120_000  # the connection closes after 120 kB of a longer reply
        err = inproc.err("GET", base + "/apps", 500, "device_bad_response")
        assert "/query/apps" in err["message"] and "cut short" in err["message"]
        assert cache_files(inproc) == []
        roku.cut_at = None  # the same reply, whole
        assert len(inproc.ok("GET", base + "/apps")["apps"]) == BIG_APPS
        assert [p.suffix for p in cache_files(inproc)] == [".json"]
        roku.cut_at = 120_000
        err = inproc.err("GET", base + "/apps/101000/icon", 500, "device_bad_response")
        assert "/query/icon/101000" in err["message"] and "cut short" in err["message"]
        assert [p.suffix for p in cache_files(inproc)] == [".json"]
        roku.cut_at = None
        assert inproc.http("GET", base + "/apps/101000/icon").content == ICON
        assert sorted(p.suffix for p in cache_files(inproc)) == [".json", ".png"]
    finally:
        roku.stop()


@pytest.mark.parametrize("framing", [None, "chunked"])  # declared length, or found out while reading
def test_a_reply_over_its_limit_is_refused(inproc: InProcDaemon, framing: str | None) -> None:
    roku = FakeRoku("box", serial=f"OVERSIZE{framing}").start()
    try:
        dev = inproc.add(roku)
        roku.framing, roku.icon = framing, (png_of_size(5 << 20), "image/png")
        err = inproc.err("GET", f"/v1/devices/{dev['id']}/apps/12/icon", 500, "device_bad_response")
        assert "exceeded 4194304 bytes" in err["message"] and "/query/icon/12" in err["message"]
        roku.device_info_xml = roku.device_info_xml.replace(b"</device-info>", b"<pad>" + b"x" * 300_000 + b"</pad>"
                                                            + b"</device-info>")
        err = inproc.err("POST", "/v1/devices", 500, "device_bad_response",
                         json={"host": roku.host, "port": roku.port})
        assert "exceeded 262144 bytes" in err["message"] and "not valid XML" not in err["message"]
    finally:
        roku.stop()


def test_icons_must_be_images(inproc: InProcDaemon, roku: FakeRoku) -> None:
    dev = inproc.add(roku)
    roku.icon = (b"<script>alert(1)</script>", "text/html")
    err = inproc.err("GET", f"/v1/devices/{dev['id']}/apps/12/icon", 500, "device_bad_response")
    assert "text/html" in err["message"] and "not an image" in err["message"]
    roku.icon = (ICON, "image/png")
    r = inproc.http("GET", f"/v1/devices/{dev['id']}/apps/12/icon")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.headers["x-content-type-options"] == "nosniff"
