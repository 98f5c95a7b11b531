"""The web remote's design in real headless Chromium (tests/browser.py) against the real daemon and
the fakes: the device it opens on, the round pad, the now-playing card following another client,
a signage agent's health in place of the pad, no horizontal scrollbar from 320 to 1920 px, no console
errors; and the pictures of the remote in docs/img (light and dark, desktop and phone)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from xml.sax.saxutils import escape

import pytest
from aiohttp import web

from tests import test_web
from tests.browser import CHROMIUM, Browser, Page
from tests.conftest import Daemon
from tests.fakefastx import FakeFastx
from tests.fakeroku import FakeRoku
from tests.fakesignage import FakeAdvantech
from tests.test_roku_features import APPS  # a TV's apps: YouTube, YouTube TV, Netflix, Hulu, Antenna TV

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
browser = test_web.browser  # the fixture: a headless Chromium for the test

DOCS = Path(__file__).resolve().parents[1] / "docs" / "img"
WIDTHS = (320, 390, 768, 1280, 1920)
FEEDBACK = "document.getElementById('feedback').textContent"
STATUS = "document.getElementById('status').textContent"
CHOSEN = "document.getElementById('device').value"
CREDS = {"username": "signage", "password": "p@ssw0rd-9"}  # FakeAdvantech's
FAILED = "Failed to load resource: the server responded with a status of"


def visible(selector: str) -> str:
    """JavaScript: whether the element is on the page and shown."""
    return f"(e => e !== null && e.offsetParent !== null)(document.querySelector({json.dumps(selector)}))"


def text_of(selector: str) -> str:
    return f"document.querySelector({json.dumps(selector)}).textContent"


async def pick(page: Page, device_id: str) -> None:
    """Choose a device in the header's list as a person does: the change event follows."""
    await page.eval(f"(s => {{ s.value = {json.dumps(device_id)}; s.dispatchEvent(new Event('change')); }})"
                    "(document.getElementById('device'))")


async def settled(page: Page) -> None:
    """Until the page's own reads of the state are done: the one on choosing the device and the one when
    its event stream opened (either, failing, would say so in the status line)."""
    await page.wait("performance.getEntriesByType('resource').filter(e => e.name.endsWith('/state')).length >= 2")


async def viewport(page: Page, width: int, height: int, *, mobile: bool = False, dark: bool = False) -> None:
    await page.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                    mobile=mobile)
    await page.send("Emulation.setEmulatedMedia", features=[  # no transitions: a picture never catches one
        {"name": "prefers-color-scheme", "value": "dark" if dark else "light"},
        {"name": "prefers-reduced-motion", "value": "reduce"}])


async def overflow(page: Page) -> dict[str, Any]:
    """How wide the document scrolls against the window, and what sticks out past its right edge."""
    result: dict[str, Any] = await page.eval("""(() => {
        const width = innerWidth;
        const out = [...document.querySelectorAll('body *')].filter(e => e.getClientRects().length
            && e.getBoundingClientRect().right > width + 0.5).slice(0, 5)
            .map(e => `${e.tagName.toLowerCase()}#${e.id}.${e.className && e.className.baseVal === undefined
                ? e.className : ''} right=${Math.round(e.getBoundingClientRect().right)}`);
        return {scroll: document.scrollingElement.scrollWidth, width, out};
    })()""")
    return result


def add_agent(daemon: Daemon, agent: FakeAdvantech) -> dict[str, Any]:
    dev: dict[str, Any] = daemon.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": agent.port,
                                                                 "credentials": CREDS})
    return dev


@pytest.fixture
def agent() -> Iterator[FakeAdvantech]:
    fake = FakeAdvantech().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def stick() -> Iterator[FakeRoku]:
    fake = FakeRoku("stick").start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def tv() -> Iterator[FakeRoku]:
    fake = FakeRoku("tv", apps=APPS).start()
    try:
        yield fake
    finally:
        fake.stop()


# -- the device it opens on -------------------------------------------------------------------------
async def test_the_remote_opens_on_the_default_device(daemon: Daemon, stick: FakeRoku, tv: FakeRoku,
                                                      browser: Browser) -> None:
    fakes = {daemon.add(stick)["id"]: stick, daemon.add(tv)["id"]: tv}
    first, second = daemon.ok("GET", "/v1/devices")  # in the daemon's order
    daemon.ok("PATCH", "/v1/config", json={"daemon.default_device": second["name"]})
    page = await browser.open(f"{daemon.url}/")
    await page.wait(f"{STATUS}.startsWith({json.dumps(second['name'] + ' · online')})")
    assert await page.eval(CHOSEN) == second["id"]
    # what was said about one device is gone when another is chosen
    fakes[second["id"]].clear()
    await page.click("[data-key=up]")
    await page.wait(f"{FEEDBACK} === {json.dumps(second['name'] + ': sent up')}")
    assert fakes[second["id"]].paths() == ["/keypress/Up"]
    await pick(page, first["id"])
    await page.wait(f"{STATUS}.startsWith({json.dumps(first['name'])})")
    assert await page.eval(FEEDBACK) == ""
    assert await page.eval(visible("a[href='/wall']"))  # the wall of every screen is a click away
    # a link that names the device (the wall's tiles link so) opens on it, default or not
    named = await browser.open(f"{daemon.url}/?device={first['id']}")
    await named.wait(f"{STATUS}.startsWith({json.dumps(first['name'] + ' · online')})")
    assert await named.eval(CHOSEN) == first["id"]
    assert page.errors == named.errors == []


async def test_without_a_default_it_opens_on_the_last_used_else_the_first(daemon: Daemon, stick: FakeRoku,
                                                                         tv: FakeRoku, browser: Browser) -> None:
    daemon.add(stick)
    daemon.add(tv)
    first, second = daemon.ok("GET", "/v1/devices")  # in the daemon's order
    assert daemon.ok("GET", "/v1/daemon/status")["default_device"] is None  # two devices, none named
    page = await browser.open(f"{daemon.url}/")
    await page.wait(f"{STATUS}.startsWith({json.dumps(first['name'] + ' · online')})")
    assert await page.eval(CHOSEN) == first["id"]
    await pick(page, second["id"])  # chosen here: the next visit opens on it (localStorage)
    await page.wait(f"{STATUS}.startsWith({json.dumps(second['name'] + ' · online')})")
    again = await browser.open(f"{daemon.url}/")
    await again.wait(f"{STATUS}.startsWith({json.dumps(second['name'] + ' · online')})")
    assert await again.eval(CHOSEN) == second["id"]
    # and the daemon's default device comes before the one used last
    daemon.ok("PATCH", "/v1/config", json={"daemon.default_device": first["id"]})
    third = await browser.open(f"{daemon.url}/")
    await third.wait(f"{STATUS}.startsWith({json.dumps(first['name'] + ' · online')})")
    assert await third.eval(CHOSEN) == first["id"]
    assert page.errors == again.errors == third.errors == []


# -- the pad ----------------------------------------------------------------------------------------
async def test_the_round_pads_ok_sends_select(daemon: Daemon, tv: FakeRoku, browser: Browser) -> None:
    dev = daemon.add(tv)
    page = await browser.open(f"{daemon.url}/")
    await page.wait(f"{STATUS}.includes('online')")
    # a disc, with OK in its middle
    pad, ok = await page.eval("['.dpad', '.dpad .ok'].map(s => (r => [r.x, r.y, r.width, r.height])"
                              "(document.querySelector(s).getBoundingClientRect()))")
    assert pad[2] == pad[3] and pad[2] >= 200
    assert await page.eval("getComputedStyle(document.querySelector('.dpad')).borderRadius") == "50%"
    assert abs((ok[0] + ok[2] / 2) - (pad[0] + pad[2] / 2)) < 1 and abs((ok[1] + ok[3] / 2) - (pad[1] + pad[3] / 2)) < 1
    tv.clear()
    await page.click(".dpad .ok")
    await page.wait(f"{FEEDBACK} === {json.dumps(dev['name'] + ': sent select')}")
    assert tv.paths() == ["/keypress/Select"]
    # each wedge is its own key, where it is drawn
    for key, name in (("up", "Up"), ("right", "Right"), ("down", "Down"), ("left", "Left")):
        tv.clear()
        await page.click(f".dpad [data-key={key}]")
        await page.wait(f"{FEEDBACK} === {json.dumps(dev['name'] + ': sent ' + key)}")
        assert tv.paths() == [f"/keypress/{name}"]
    # power and volume are on the remote, labelled
    for label in ("Power", "Volume up", "Volume down", "Mute", "Back", "Home"):
        assert await page.eval(visible(f".remote [aria-label='{label}']")), label
    assert page.errors == []


async def test_an_error_is_said_in_words_with_its_hint(daemon: Daemon, tv: FakeRoku, browser: Browser) -> None:
    dev = daemon.add(tv)
    page = await browser.open(f"{daemon.url}/")
    await settled(page)
    tv.refuse()
    said = daemon.http("POST", f"/v1/devices/{dev['id']}/remote/key", json={"key": "up"}).json()["error"]
    await page.click("[data-key=up]")
    await page.wait(f"{FEEDBACK}.startsWith({json.dumps(dev['name'] + ': ')}) && {FEEDBACK}.length > 20")
    shown = await page.eval(FEEDBACK)
    assert said["message"] in shown and said["hint"] in shown
    assert said["code"] not in shown
    assert await page.eval("document.getElementById('feedback').dataset.tone") == "error"
    assert page.errors and all(e.startswith(FAILED) for e in page.errors), page.errors


async def test_icon_boxes_are_kept_while_the_icons_load(daemon: Daemon, tv: FakeRoku, browser: Browser) -> None:
    daemon.add(tv)
    tiles = ("[...document.querySelectorAll('#grid button, #grid img, .now-art')].map(e => "
             "(r => [r.x, r.y, r.width, r.height].map(Math.round))(e.getBoundingClientRect()))")
    # icons that never come: the page is laid out as it will be once they have
    waiting = await browser.open("about:blank")
    await waiting.send("Network.enable")
    await waiting.send("Network.setBlockedURLs", urls=["*/icon"])
    await waiting.send("Page.navigate", url=f"{daemon.url}/")
    await waiting.wait(f"location.origin === {json.dumps(daemon.url)} && "
                       "document.querySelectorAll('#grid img').length === 5 && "
                       f"{text_of('#now-title')} === 'Home'")
    before = await waiting.eval(tiles)
    boxes = await waiting.eval("[...document.querySelectorAll('#grid img')].map(i => "
                               "(r => [r.width, r.height])(i.getBoundingClientRect()))")
    for width, height in boxes:  # the icons' boxes: a TV icon's shape, empty
        assert width > 60 and abs(height - width * 218 / 290) <= 1, (width, height)
    assert all("ERR_BLOCKED_BY_CLIENT" in e for e in waiting.errors), waiting.errors
    # and with the icons drawn, nothing has moved
    loaded = await browser.open(f"{daemon.url}/")
    await loaded.wait("[...document.querySelectorAll('#grid img')].length === 5 && "
                      "[...document.querySelectorAll('#grid img')].every(i => i.complete && i.naturalWidth > 0) && "
                      f"{text_of('#now-title')} === 'Home'")
    assert await loaded.eval(tiles) == before
    assert loaded.errors == []


# -- now playing ------------------------------------------------------------------------------------
async def test_now_playing_follows_another_client(daemon: Daemon, tv: FakeRoku, browser: Browser) -> None:
    daemon.add(tv)
    daemon.ok("PATCH", "/v1/config", json={"state.poll_interval_s": 0.2})
    page = await browser.open(f"{daemon.url}/")
    await page.wait("document.querySelectorAll('#grid button').length === 5")
    await page.wait(f"{text_of('#now-title')} === 'Home'")
    assert await page.eval(visible("#now")) and await page.eval(text_of("#now-kind")) == "Home screen"
    assert await page.eval("document.querySelectorAll('#grid [aria-current]').length") == 0
    assert await page.eval("document.getElementById('now-icon').hidden")  # the home screen has no icon

    # another client launches Netflix and plays: the card and the grid follow
    tv.media_state, tv.position_ms = "play", 83_000
    tv.active = ("12", "Netflix")
    await page.wait(f"{text_of('#now-title')} === 'Netflix'", timeout=15)
    await page.wait("document.querySelector(\"#grid button[data-app='12']\").getAttribute('aria-current') === 'true'")
    assert await page.eval("[...document.querySelectorAll('#grid [aria-current]')].map(b => b.dataset.app)") == ["12"]
    await page.wait(f"{text_of('#now-state')} === 'Playing'")
    assert await page.eval(text_of("#now-kind")) == "Now playing"
    assert await page.eval(text_of("#now-dur")) == "1:48:16"  # the fake's duration, 6,496,762 ms
    assert await page.eval("document.getElementById('now-bar').getAttribute('aria-valuemax')") == "6496"
    assert int(await page.eval("document.getElementById('now-bar').getAttribute('aria-valuenow')")) >= 83
    assert (await page.wait("(i => !i.hidden && i.complete && i.naturalWidth > 0 && i.src)"
                            "(document.getElementById('now-icon'))")).endswith("/apps/12/icon")

    tv.media_state = "pause"
    await page.wait(f"{text_of('#now-state')} === 'Paused'", timeout=15)
    assert await page.eval("document.getElementById('now').dataset.media") == "pause"

    # the antenna: the channel and its programme
    tv.active = ("tvinput.dtv", "Antenna TV")
    tv.media_state = "close"
    await page.wait(f"{text_of('#now-channel')} === '14.3 getTV — Airwolf'", timeout=15)
    assert await page.eval(text_of("#now-title")) == "Antenna TV"
    assert await page.eval(text_of("#now-kind")) == "Watching"
    assert await page.eval("document.getElementById('now-progress').hidden") is True
    await page.wait("document.querySelector(\"#grid button[data-app='tvinput.dtv']\").hasAttribute('aria-current')")

    tv.active = (None, "Roku")
    await page.wait(f"{text_of('#now-title')} === 'Home'", timeout=15)
    assert await page.eval("document.querySelectorAll('#grid [aria-current]').length") == 0
    assert page.errors == []


# -- a signage agent: its health, no pad --------------------------------------------------------------
async def test_a_signage_agent_shows_its_health_and_no_pad(daemon: Daemon, agent: FakeAdvantech,
                                                           browser: Browser) -> None:
    dev = add_agent(daemon, agent)
    assert set(dev["capabilities"]) == {"state", "screenshot"}
    page = await browser.open(f"{daemon.url}/")
    await page.wait(visible("#health-list .stat"))
    assert await page.eval(visible("#pad")) is False and await page.eval(visible(".dpad")) is False
    assert await page.eval(visible("#now")) is False and await page.eval(visible("#apps")) is False
    assert await page.eval(text_of("#health-title")) == "Health"
    rows = dict(await page.eval("[...document.querySelectorAll('#health-list .stat')].map(r => [r.dataset.field, "
                                "[r.querySelector('dt').textContent, r.querySelector('dd').textContent]])"))
    assert list(rows) == ["hostname", "os", "uptime_s", "cpu_percent", "memory_percent", "temperatures", "fans",
                          "displays", "agent_version"]
    assert rows["hostname"] == ["Hostname", "UNO-2484G-673xA"]
    assert rows["os"] == ["OS", "Microsoft Windows 10 Enterprise LTSC 2019"]
    assert rows["uptime_s"] == ["Uptime", "9 d 20 h"]  # 851,779 s
    assert rows["cpu_percent"] == ["CPU", "25 %"]
    assert rows["memory_percent"] == ["Memory", "5 %"]
    assert rows["temperatures"] == ["Temperatures", "CPU 50.1 °C"]
    assert rows["fans"][0] == "Fans" and re.fullmatch(r"FAN0 1[,.\u202f\u00a0]?234 RPM", rows["fans"][1])
    assert rows["displays"] == ["Displays", "2"]
    assert rows["agent_version"] == ["Agent version", "v1.8.1"]
    assert await page.eval("document.querySelector('[data-field=cpu_percent] .meter span').style.width") == "25%"
    # the screen: no picture (and no broken one) until it has been taken
    assert await page.eval(visible("#shot-empty")) is True
    assert await page.eval("document.getElementById('shot-img').hidden") is True
    await page.click("#shot-refresh")
    await page.wait("(i => !i.hidden && i.complete && i.naturalWidth === 1)(document.getElementById('shot-img'))")
    assert await page.eval(visible("#shot-empty")) is False
    # the page names no platform: what it shows comes from the state and the capabilities
    script = daemon.http("GET", "/remote.js").text.lower()
    platforms = [p["platform"] if isinstance(p, dict) else p for p in daemon.ok("GET", "/v1/platforms")]
    assert platforms and not [p for p in platforms if p.lower() in script]
    assert page.errors == []


# -- a developer's box: the drop zone and the log -----------------------------------------------------
async def test_a_zip_dropped_on_the_drop_zone_is_installed(daemon: Daemon, browser: Browser,
                                                           tmp_path: Path) -> None:
    from tests.test_devmode import make_zip

    box = FakeRoku("devbox").start()
    try:
        box.console_script = b"------ Running dev 'sampleApp' main ------\r\nhello from the channel\r\n"
        dev = daemon.add(box)
        daemon.ok("PATCH", "/v1/config", json={"roku.installer_port": box.installer_port,
                                               "roku.console_port": box.console_port,
                                               "roku.dev_password": box.password})
        page = await browser.open(f"{daemon.url}/")
        await page.wait(visible("#drop"))
        await settled(page)  # nothing left to overwrite what the install says
        assert "Drop a channel zip here" in await page.eval(text_of("#drop"))
        # the log has a visible label
        assert await page.eval("document.getElementById(document.getElementById('logs')"
                               ".getAttribute('aria-labelledby')).textContent") == "Developer log"
        assert await page.eval(visible("#logs-title"))
        archive = make_zip()
        await page.eval(f"""(() => {{
            const bytes = Uint8Array.from(atob({json.dumps(base64.b64encode(archive).decode())}), c => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], 'dropped.zip', {{type: 'application/zip'}}));
            const zone = document.getElementById('drop');
            zone.dispatchEvent(new DragEvent('dragover', {{dataTransfer: dt, bubbles: true, cancelable: true}}));
            window.over = zone.classList.contains('over');
            zone.dispatchEvent(new DragEvent('drop', {{dataTransfer: dt, bubbles: true, cancelable: true}}));
        }})()""")
        assert await page.eval("window.over") is True  # the zone shows where to let go
        await page.wait(f"{FEEDBACK} === {json.dumps(dev['name'] + ': installed dropped.zip')}", timeout=30)
        assert len(box.uploads) == 1 and box.uploads[0]["size"] == len(archive)
        assert "dropped.zip" in await page.eval(text_of("#drop"))
        await page.click("#logs-follow")
        await page.wait(f"{text_of('#logs')}.includes('hello from the channel')")
        await page.screenshot(tmp_path / "remote-dev.png", 1280, 1200)
        assert page.errors == []
    finally:
        box.stop()


# -- no horizontal scrollbar, at any width ------------------------------------------------------------
async def test_no_horizontal_scrollbar_from_320_to_1920_px(daemon: Daemon, tv: FakeRoku, agent: FakeAdvantech,
                                                           fastx: FakeFastx, browser: Browser) -> None:
    devices = [daemon.add(tv), add_agent(daemon, agent),
               daemon.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": fastx.port, "platform": "fastx",
                                                      "credentials": {"username": "lab", "password": "s3cret-pass"}})]
    page = await browser.open(f"{daemon.url}/")
    await page.wait("document.querySelectorAll('#action-forms form').length > 0")  # the widest part: the forms
    for dev in devices:
        await pick(page, dev["id"])
        await page.wait(f"{STATUS}.startsWith({json.dumps(dev['name'] + ' · online')})")
        for width in WIDTHS:
            for dark in (False, True):
                await viewport(page, width, 800, mobile=width < 800, dark=dark)
                seen = await overflow(page)
                assert seen["width"] == width
                assert seen["scroll"] <= seen["width"], (dev["name"], width, seen)
    assert page.errors == []


# -- the pictures in docs/img ---------------------------------------------------------------------------
SHOWCASE_APPS = [  # (id, name, type, background, text colour)
    ("837", "YouTube", "appl", "#ff0033", "#ffffff"),
    ("12", "Netflix", "appl", "#000000", "#e50914"),
    ("2285", "Hulu", "appl", "#1ce783", "#0b0c0f"),
    ("13", "Prime Video", "appl", "#00a8e1", "#ffffff"),
    ("291097", "Disney+", "appl", "#0b1f6b", "#ffffff"),
    ("61322", "Max", "appl", "#002be7", "#ffffff"),
    ("22297", "Spotify", "appl", "#121212", "#1ed760"),
    ("151908", "The Roku Channel", "appl", "#662d91", "#ffffff"),
    ("tvinput.dtv", "Antenna TV", "tvin", "#2b303b", "#ffffff"),
    ("tvinput.hdmi1", "HDMI 1", "tvin", "#3b4252", "#ffffff"),
]


def icon_svg(name: str, background: str, colour: str) -> bytes:
    """An app icon for the pictures: the app's name on its colour (290x218, a TV app icon's size)."""
    size = 46 if len(name) <= 8 else 30
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="290" height="218" viewBox="0 0 290 218">'
            f'<rect width="290" height="218" fill="{background}"/>'
            f'<text x="145" y="109" fill="{colour}" font-family="Liberation Sans, Arial, sans-serif" '
            f'font-weight="700" font-size="{size}" text-anchor="middle" dominant-baseline="central">'
            f"{escape(name)}</text></svg>").encode()


class ShowcaseTv(FakeRoku):
    """A fake TV with a line-up of apps whose icons are pictures of their names."""

    def __init__(self) -> None:
        apps = "".join(f'<app id="{i}" type="{t}" version="1.0">{escape(n)}</app>\n' for i, n, t, _, _ in SHOWCASE_APPS)
        super().__init__("tv", apps=f'<?xml version="1.0" encoding="UTF-8" ?>\n<apps>\n{apps}</apps>\n'.encode())
        self.icons = {i: icon_svg(n, bg, fg) for i, n, _, bg, fg in SHOWCASE_APPS}

    def _query(self, path: str) -> web.Response:
        if path.startswith("/query/icon/"):
            body = self.icons.get(unquote(path.removeprefix("/query/icon/")))
            if body is not None:
                return web.Response(body=body, content_type="image/svg+xml")
        return super()._query(path)


async def test_pictures_of_the_remote_for_the_docs(daemon: Daemon, browser: Browser) -> None:
    showcase = ShowcaseTv().start()
    try:
        dev = daemon.add(showcase)
        daemon.ok("POST", f"/v1/devices/{dev['id']}/apps/launch", json={"app": "12"})
        showcase.position_ms = 1_425_000  # 23:45 into the film
        page = await browser.open(f"{daemon.url}/")
        await page.wait(f"{text_of('#now-title')} === 'Netflix'")
        await page.wait("document.getElementById('now-pos').textContent !== ''")
        DOCS.mkdir(exist_ok=True)
        for name, width, height, mobile in (("desktop", 1280, 800, False), ("phone", 390, 844, True)):
            for dark in (False, True):
                await viewport(page, width, height, mobile=mobile, dark=dark)
                await page.eval("scrollTo(0, 0)")
                # every icon in view has loaded (the grid's are lazy): nothing is caught half drawn
                await page.wait("[...document.querySelectorAll('#grid img, #now-icon')].every(i => "
                                "i.getBoundingClientRect().top > innerHeight || (i.complete && i.naturalWidth > 0))")
                await page.wait("document.getElementById('now-icon').hidden === false")
                assert (await overflow(page))["scroll"] <= width
                shot = await page.send("Page.captureScreenshot", format="png")
                (DOCS / f"remote-{name}{'-dark' if dark else ''}.png").write_bytes(base64.b64decode(shot["data"]))
        assert page.errors == []
    finally:
        showcase.stop()


async def test_tv_channels_are_listed_and_a_click_tunes(daemon: Daemon, tv: FakeRoku, browser: Browser) -> None:
    dev = daemon.add(tv)
    page = await browser.open(f"{daemon.url}/")
    await page.wait("document.querySelectorAll('#channel-list button').length > 0")
    chans = await page.eval("[...document.querySelectorAll('#channel-list button')].map(b => b.dataset.channel)")
    assert chans == ["1.1", "1.3"]
    assert await page.eval(text_of("#channel-list [data-channel='1.3']")) == "1.3QVC"
    tv.clear()
    await page.click("#channel-list [data-channel='1.3']")
    await page.wait(f"{FEEDBACK} === {json.dumps(dev['name'] + ': tuned to 1.3 (QVC)')}")
    assert tv.paths() == ["/launch/tvinput.dtv?ch=1.3&chan=1.3&lcn=1.3"]
    assert page.errors == []


async def test_no_channel_list_without_a_tuner(daemon: Daemon, browser: Browser) -> None:
    stick = FakeRoku("stick").start()
    try:
        daemon.add(stick)
        page = await browser.open(f"{daemon.url}/")
        await page.wait(f"{STATUS}.includes('online')")
        assert await page.eval("document.getElementById('channels').hidden") is True
        assert [p for p in stick.paths("GET") if "channels" in p] == []
    finally:
        stick.stop()
