"""Device I/O across a link shaped like home Wi-Fi: the daemon and a fake device (a Roku, a PiKVM,
a FastX server) in two network namespaces joined by tests/shapedlink.py (MTU 1500, 20 and 100
Mbit/s with tc, 5 ms +- 3 ms each way).

Every kind of reply the daemon reads crosses the link in many TCP segments: device-info, app lists
of 190 KB, active-app, media-player, tv-active-channel, icons of 300 KB, installer pages of 120 KB,
a 1.2 MB screenshot and 200 KB of console log. The daemon is the real process, reached over its
Unix socket (its TCP listener is inside its namespace).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import shapedlink
from tests.conftest import Daemon
from tests.fakefastx import FakeFastx
from tests.fakepikvm import FakePikvm
from tests.fakeroku import FakeRoku
from tests.helpers import apps_xml, png_of_size, wait_for

why_not = shapedlink.unavailable()
pytestmark = pytest.mark.skipif(why_not is not None, reason=f"no shaped link: {why_not}")

BIG_APPS = 2500
ICON = png_of_size(300_000, seed=7)
SCREENSHOT = b"\xff\xd8\xff\xe0" + png_of_size(1_200_000, seed=9)[4:]


@pytest.fixture(scope="module", params=["20mbit", "100mbit"])  # home Wi-Fi, slow and fast
def link(request: pytest.FixtureRequest) -> Iterator[shapedlink.ShapedLink]:
    lk = shapedlink.ShapedLink(rate=request.param, delay_ms=5, jitter_ms=3).up()
    try:
        yield lk
    finally:
        lk.down()


@pytest.fixture(scope="module")
def far_daemon(link: shapedlink.ShapedLink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    d = Daemon(tmp_path_factory.mktemp("shaped"), netns=link.host_ns).start()
    try:
        yield d
    finally:
        d.stop()


@pytest.fixture
def far_roku(link: shapedlink.ShapedLink) -> Iterator[FakeRoku]:
    r = FakeRoku("tv", host=link.device_ip, apps=apps_xml(BIG_APPS), netns=link.device_ns).start()
    try:
        yield r
    finally:
        r.stop()


def test_adding_a_device_works_every_time(far_daemon: Daemon, far_roku: FakeRoku) -> None:
    for _ in range(20):
        dev = far_daemon.add(far_roku)
        assert dev["serial"] == "YN00H5555555" and dev["host"] == far_roku.host and dev["kind"] == "tv"
        far_daemon.ok("DELETE", f"/v1/devices/{dev['id']}")


def test_every_query_reply_arrives_whole(far_daemon: Daemon, far_roku: FakeRoku, link: shapedlink.ShapedLink) -> None:
    dev = far_daemon.add(far_roku)
    base = f"/v1/devices/{dev['id']}"
    packets = link.packets
    apps = far_daemon.ok("POST", base + "/apps/refresh")["apps"]
    assert len(apps) == BIG_APPS and apps[-1]["name"] == "Channel 02499"
    assert link.packets - packets > 130  # 190 KB crossed the link in 1500-byte packets
    assert link.max_packet <= 1500

    far_roku.active = ("tvinput.dtv", "Antenna TV")
    state = far_daemon.ok("GET", base + "/state")["state"]
    assert state["active_app"] == {"kind": "tv-input", "id": "antenna-tv", "name": "Antenna TV",
                                   "platform_id": "tvinput.dtv", "screensaver": None}
    assert state["tv"]["number"] == "14.3" and state["tv"]["program_title"] == "Airwolf"
    far_roku.active, far_roku.media_state, far_roku.position_ms = ("100042", "Channel 00042"), "pause", 5000
    state = far_daemon.ok("GET", base + "/state")["state"]
    assert state["power"] == "on" and state["active_app"]["name"] == "Channel 00042"
    assert state["media"]["state"] == "pause" and state["media"]["position_ms"] == 5000

    far_roku.icon = (ICON, "image/png")
    r = far_daemon.http("GET", base + "/apps/channel-00042/icon")
    assert r.status_code == 200 and r.content == ICON

    far_roku.framing, far_roku.segment = "chunked", 4000  # and chunked, written in pieces
    assert len(far_daemon.ok("POST", base + "/apps/refresh")["apps"]) == BIG_APPS
    far_roku.framing = "close"
    assert len(far_daemon.ok("POST", base + "/apps/refresh")["apps"]) == BIG_APPS

    far_daemon.ok("POST", base + "/remote/sequence", json={"keys": ["home", "right", "select"], "delay_ms": 0})
    assert far_roku.paths()[-3:] == ["/keypress/Home", "/keypress/Right", "/keypress/Select"]


def channel_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("manifest", "title=sampleApp\nmajor_version=1\n")
        zf.writestr("source/main.brs", b"sub Main()\nend sub\n" + png_of_size(400_000, seed=3))
    return buf.getvalue()


@pytest.fixture
def far_devbox(link: shapedlink.ShapedLink, far_daemon: Daemon) -> Iterator[tuple[FakeRoku, dict[str, Any]]]:
    r = FakeRoku("devbox", host=link.device_ip, netns=link.device_ns).start()
    try:
        dev = far_daemon.add(r)
        far_daemon.ok("PATCH", "/v1/config", json={"roku.installer_port": r.installer_port,
                                                   "roku.console_port": r.console_port,
                                                   "roku.dev_password": r.password})
        yield r, dev
    finally:
        r.stop()


def test_installer_pages_screenshots_and_console(far_daemon: Daemon, far_devbox: tuple[FakeRoku, dict[str, Any]],
                                                 tmp_path: Path) -> None:
    roku, dev = far_devbox
    base = f"/v1/devices/{dev['id']}"
    roku.page_padding = b"<!-- " + b"padding " * 15_000 + b"-->"  # 120 KB pages
    z = channel_zip()
    r = far_daemon.http("POST", base + "/dev/install", files={"archive": ("c.zip", z, "application/zip")}, timeout=60)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["result"] == "installed" and data["bytes"] == len(z)
    assert data["messages"] == [{"type": "success", "text": "Application Received: 2500809 bytes stored."}]
    assert roku.uploads == [{"size": len(z), "mysubmit": "Replace"}]

    roku.screenshot = (SCREENSHOT, "image/jpeg")
    r = far_daemon.http("GET", base + "/dev/screenshot", timeout=60)
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg" and r.content == SCREENSHOT

    lines = [f"[{i:05d}] BrightScript Debugger line with some padding to make it longer {'.' * 40}"
             for i in range(2000)]
    roku.console_chunk = 1400
    roku.console_script = ("\r\n".join(lines) + "\r\n").encode()
    got = wait_for(lambda: (d := far_daemon.ok("GET", base + "/dev/logs?lines=5000")["lines"])
                   and len(d) >= 2000 and d, timeout=30, what="2000 console lines")
    assert [ln["text"] for ln in got] == lines


def test_limited_mode_session_across_the_link(far_daemon: Daemon, link: shapedlink.ShapedLink) -> None:
    """A Roku in Limited mode across the link: every key over the ecp-2 session, once and in order,
    the app list (a base64 frame of many segments) and the state too."""
    roku = FakeRoku("tcl", host=link.device_ip, netns=link.device_ns).start()
    roku.access = "limited"
    try:
        dev = far_daemon.add(roku)
        assert (dev["access_mode"], dev["wire"]) == ("limited", "session")
        base = f"/v1/devices/{dev['id']}"
        roku.clear()
        names = ["up", "down", "left", "right", "select", "back", "home", "info"]
        for name in names:
            far_daemon.ok("POST", base + "/remote/key", json={"key": name})
        far_daemon.ok("POST", base + "/remote/key", json={"key": "literal:a/é😀"})
        assert [(w, a, k) for w, a, k in roku.key_events()] == [
            *[("ws", "press", k) for k in ("Up", "Down", "Left", "Right", "Select", "Back", "Home", "Info")],
            ("ws", "press", "Lit_a"), ("ws", "press", "Lit_/"), ("ws", "press", "Lit_é"), ("ws", "press", "Lit_😀")]
        apps = far_daemon.ok("POST", base + "/apps/refresh")["apps"]
        assert "Netflix" in {a["name"] for a in apps}
        far_daemon.ok("POST", base + "/apps/launch", json={"app": "Netflix"})
        state = far_daemon.ok("GET", base + "/state")["state"]
        assert state["active_app"]["name"] == "Netflix" and state["wire"] == "session"
    finally:
        roku.stop()


def test_a_pikvm_across_the_link(far_daemon: Daemon, link: shapedlink.ShapedLink, tmp_path: Path) -> None:
    """Pinned TLS across the link: keys in order, power read back, the pointer and a screenshot."""
    kvm = FakePikvm(tmp_path / "tls", password="pi-link-31", host=link.device_ip, netns=link.device_ns).start()
    try:
        dev = far_daemon.ok("POST", "/v1/devices", json={
            "host": link.device_ip, "port": kvm.port, "platform": "pikvm",
            "credentials": {"username": "admin", "password": "pi-link-31"}})
        base = f"/v1/devices/{dev['id']}"
        kvm.clear()
        far_daemon.ok("POST", base + "/remote/sequence", json={"keys": ["KeyA", "KeyB", "Enter"], "delay_ms": 0})
        assert kvm.events == [("key", "KeyA", True), ("key", "KeyA", False), ("key", "KeyB", True),
                              ("key", "KeyB", False), ("key", "Enter", True), ("key", "Enter", False)]
        kvm.clear()
        assert far_daemon.ok("POST", base + "/remote/key", json={"key": "power-on"})["power_led"] is True
        far_daemon.ok("POST", base + "/pointer", json={"x": 0.5, "y": 0.5, "unit": "fraction"})
        assert kvm.events == [("atx", "on"), ("move", 0, 0), ("button", "left", True), ("button", "left", False)]
        r = far_daemon.http("GET", base + "/screenshot")
        assert r.status_code == 200 and r.content == kvm.screen[0]
    finally:
        kvm.stop()


def test_a_fastx_server_across_the_link(far_daemon: Daemon, link: shapedlink.ShapedLink, tmp_path: Path) -> None:
    """Logging in, the sessions, a session's screenshot, a start and a terminate across the link."""
    fastx = FakeFastx(tmp_path / "tls", host=link.device_ip, netns=link.device_ns).start()
    try:
        dev = far_daemon.ok("POST", "/v1/devices", json={
            "host": link.device_ip, "port": fastx.port, "platform": "fastx",
            "credentials": {"username": "lab", "password": "s3cret-pass"}})
        base = f"/v1/devices/{dev['id']}"
        listed = far_daemon.ok("GET", base + "/sessions?filter=user==kiosk")["sessions"]
        assert [s["name"] for s in listed] == ["Signage Lobby", "Kiosk Map"]
        r = far_daemon.http("GET", base + "/screenshot?session=Signage%20Lobby")
        assert r.status_code == 200 and r.content == fastx.png_for(listed[0]["id"])
        started = far_daemon.ok("POST", base + "/apps/launch", json={"app": "Signage Player"})["session"]
        assert started["id"] in fastx.sessions
        far_daemon.ok("POST", base + f"/sessions/{started['id']}/terminate")
        assert started["id"] not in fastx.sessions
    finally:
        fastx.stop()
