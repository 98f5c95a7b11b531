"""The web remote in real headless Chromium (tests/browser.py), served by the real daemon over
TCP, against the fake devices. Screenshots of the page are saved under the test's tmp folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, Browser
from tests.conftest import LOOPBACK_CONFIG, Daemon
from tests.fakekvm import FakeTinyPilot
from tests.fakeroku import PNG_1X1, FakeRoku

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
TEXT = "a b&%é😀"
TEXT_PATHS = ["/keypress/Lit_a", "/keypress/Lit_%20", "/keypress/Lit_b", "/keypress/Lit_%26", "/keypress/Lit_%25",
              "/keypress/Lit_%C3%A9", "/keypress/Lit_%F0%9F%98%80"]


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Browser]:
    b = await Browser(tmp_path / "profile").start()
    try:
        yield b
    finally:
        await b.close()


async def test_remote_page_presses_keys_launches_apps_and_types(daemon: Daemon, roku: FakeRoku, browser: Browser,
                                                               tmp_path: Path) -> None:
    dev = daemon.add(roku)
    roku.clear()
    r = daemon.http("GET", "/")
    assert r.status_code == 200 and "script-src 'self'" in r.headers["content-security-policy"]
    assert "<script>" not in r.text  # no inline script
    page = await browser.open(f"{daemon.url}/")
    await page.wait(f"document.getElementById('device').textContent.includes({dev['name']!r})")
    await page.click("[data-key=up]")
    await page.wait("document.getElementById('feedback').textContent.includes('sent up')")
    assert roku.paths() == ["/keypress/Up"]
    await page.wait("document.querySelectorAll('#grid button').length > 0")
    roku.clear()
    await page.click("#grid button[data-app='12']")  # Netflix
    await page.wait("document.getElementById('feedback').textContent.includes('launched Netflix')")
    assert roku.paths() == ["/launch/12"]
    roku.clear()
    await page.type("#text", TEXT)
    await page.click("#type button")
    await page.wait("document.getElementById('feedback').textContent.includes('sent text')")
    assert roku.paths() == TEXT_PATHS
    roku.clear()
    await page.send("Input.dispatchKeyEvent", type="keyDown", key="ArrowDown", code="ArrowDown",
                    windowsVirtualKeyCode=40)
    await page.wait("document.getElementById('feedback').textContent.includes('sent down')")
    assert roku.paths() == ["/keypress/Down"]
    assert await page.eval("document.querySelector('[data-key=volume-up]').hidden") is False  # a TV has volume
    assert await page.eval("document.getElementById('shot').hidden") is True  # no screenshots on this Roku
    await page.screenshot(tmp_path / "remote-desktop.png", 1280, 800)
    await page.screenshot(tmp_path / "remote-phone.png", 390, 844, mobile=True)
    assert page.errors == []


async def test_state_line_follows_another_client(daemon: Daemon, roku: FakeRoku, browser: Browser) -> None:
    daemon.add(roku)
    daemon.ok("PATCH", "/v1/config", json={"state.poll_interval_s": 0.2})
    page = await browser.open(f"{daemon.url}/")
    await page.wait("document.getElementById('status').textContent.includes('online')")
    daemon.ok("POST", "/v1/devices/default/apps/launch", json={"app": "Netflix"})  # another client
    await page.wait("document.getElementById('status').textContent.includes('Netflix')", timeout=15)
    roku.position_ms = 83_000  # the player moves on: the line shows where
    await page.wait("document.getElementById('status').textContent.includes('Netflix, play 1:23')", timeout=15)
    assert page.errors == []


async def test_limited_mode_tv_works_and_the_state_line_says_how(daemon: Daemon, browser: Browser) -> None:
    tcl = FakeRoku("tcl").start()
    tcl.access = "limited"
    try:
        daemon.add(tcl)
        page = await browser.open(f"{daemon.url}/")
        await page.wait("document.getElementById('status').textContent"
                        ".includes('Limited mode — controlled through the mobile-app session')", timeout=15)
        tcl.clear()
        await page.click("[data-key=up]")
        await page.wait("document.getElementById('feedback').textContent.includes('sent up')")
        assert tcl.key_events() == [("ws", "press", "Up")]
        await page.wait("document.querySelectorAll('#grid button').length > 0")  # the app list, over the session
        assert page.errors == []
    finally:
        tcl.stop()


async def test_screenshot_panel_shows_the_screen(daemon: Daemon, browser: Browser, tmp_path: Path) -> None:
    pilot = FakeTinyPilot(tmp_path / "tls").start()
    pilot.screen = (PNG_1X1, "image/png")
    try:
        daemon.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": pilot.port, "platform": "tinypilot"})
        page = await browser.open(f"{daemon.url}/")
        await page.wait("!document.getElementById('shot').hidden")
        await page.click("#shot-refresh")
        assert await page.wait("document.getElementById('shot-img').naturalWidth") == 1
        assert await page.eval("document.getElementById('apps').hidden") is True  # a KVM lists no apps
        assert page.errors == []
    finally:
        pilot.stop()


async def test_token_sign_in_and_no_other_origin_rides_the_cookie(
        tmp_path: Path, roku: FakeRoku, browser: Browser,
        page_server: tuple[tuple[ThreadingHTTPServer, ThreadingHTTPServer], dict[str, bytes]]) -> None:
    d = Daemon(tmp_path / "d", LOOPBACK_CONFIG.replace("[daemon]\n", '[daemon]\napi_token = "web-token-5150"\n'))
    d.start()
    try:
        d.http("POST", "/v1/devices", json={"host": roku.host, "port": roku.port},
               headers={"Authorization": "Bearer web-token-5150"})
        roku.clear()
        page = await browser.open(f"{d.url}/")
        await page.wait("!document.getElementById('login').hidden")
        await page.type("#token", "wrong-token")
        await page.click("#login button")
        await page.wait("document.getElementById('login-error').textContent === 'wrong token'")
        await page.eval("document.getElementById('token').value = ''")
        await page.type("#token", "web-token-5150")
        await page.click("#login button")
        await page.wait("document.getElementById('login').hidden")
        await page.wait("document.getElementById('status').textContent.includes('online')")  # devices loaded
        await page.click("[data-key=home]")
        await page.wait("document.getElementById('feedback').textContent.includes('sent home')")
        assert roku.paths() == ["/keypress/Home"]
        assert await page.eval("document.cookie") == ""  # HttpOnly: no script reads it
        # a page on another origin of the same host is same-site: the browser sends the cookie, the
        # daemon must still refuse, with and without a CORS-free text/plain body
        (foreign, _), pages = page_server
        origin = f"http://127.0.0.1:{foreign.server_address[1]}"
        url = f"{d.url}/v1/devices/default/remote/key"
        pages["/"] = (f"<!doctype html><body><script>fetch({url!r}, {{method: 'POST', credentials: 'include', "
                      "mode: 'no-cors', headers: {'Content-Type': 'text/plain'}, body: '{\"key\":\"home\"}'})"
                      ".finally(() => document.body.dataset.done = '1');</script></body>").encode()
        roku.clear()
        other = await browser.open(origin + "/")
        await other.wait("document.body.dataset.done === '1'")
        assert roku.paths() == []
        # the only console errors are the refused requests before signing in (and the wrong token)
        assert page.errors and all("status of 401" in e for e in page.errors), page.errors
    finally:
        d.stop()


async def test_developer_panel_uploads_reloads_and_follows_logs(daemon: Daemon, browser: Browser,
                                                                tmp_path: Path) -> None:
    from tests.test_devmode import make_zip

    roku = FakeRoku("devbox").start()
    try:
        roku.console_script = b"------ Running dev 'sampleApp' main ------\r\nhello from the channel\r\n"
        daemon.add(roku)
        daemon.ok("PATCH", "/v1/config", json={"roku.installer_port": roku.installer_port,
                                               "roku.console_port": roku.console_port,
                                               "roku.dev_password": roku.password})
        archive = tmp_path / "channel.zip"
        archive.write_bytes(make_zip(pad=300_000))
        page = await browser.open(f"{daemon.url}/")
        await page.wait("!document.getElementById('dev').hidden")
        doc = await page.send("DOM.getDocument")
        node = await page.send("DOM.querySelector", nodeId=doc["root"]["nodeId"], selector="#zip")
        await page.send("DOM.setFileInputFiles", files=[str(archive)], nodeId=node["nodeId"])
        await page.click("#upload button")
        await page.wait("document.getElementById('feedback').textContent.includes('installed channel.zip')",
                        timeout=30)
        assert await page.eval("document.getElementById('upload-progress').value") == 100
        assert len(roku.uploads) == 1 and roku.uploads[0]["size"] == archive.stat().st_size
        await page.click("#reload")
        await page.wait("document.getElementById('feedback').textContent.includes('reloaded')", timeout=30)
        assert "/launch/dev" in roku.paths()
        await page.click("#logs-follow")
        await page.wait("document.getElementById('logs').textContent.includes('hello from the channel')")
        assert page.errors == []
    finally:
        roku.stop()


async def test_the_page_reconnects_after_a_daemon_restart(tmp_path: Path, roku: FakeRoku, browser: Browser) -> None:
    from tests.helpers import free_port

    d = Daemon(tmp_path / "d", LOOPBACK_CONFIG.replace("http_port = 0", f"http_port = {free_port()}"))
    d.start()
    try:
        d.add(roku)
        page = await browser.open(f"{d.url}/")
        await page.wait("document.getElementById('status').textContent.includes('online')")
        d.stop()
        await page.wait("document.getElementById('status').textContent.includes('daemon unreachable')")
        d.start()
        await page.wait("document.getElementById('status').textContent.includes('online')", timeout=20)
        roku.clear()
        await page.click("[data-key=down]")
        await page.wait("document.getElementById('feedback').textContent.includes('sent down')")
        assert roku.paths() == ["/keypress/Down"]
    finally:
        d.stop()
