"""The wall (/wall) in real headless Chromium (tests/browser.py), served by the real daemon over
TCP, against fake devices: a Roku TV (and the TCL set in Limited mode), a TinyPilot KVM and an
Advantech signage agent. Every wait is for something the page shows; the docs' pictures of the
wall (docs/img/wall-*.png) are taken here."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest

from tests import fakesignage, test_web
from tests.browser import CHROMIUM, Browser, Page
from tests.conftest import LOOPBACK_CONFIG, Daemon
from tests.fakekvm import FakeTinyPilot
from tests.fakeroku import FakeRoku
from tests.fakesignage import FakeAdvantech

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")

DOCS_IMG = Path(__file__).resolve().parent.parent / "docs" / "img"
SIGNAGE = {"username": "signage", "password": "p@ssw0rd-9"}
WIDTHS = (320, 390, 768, 1280, 1920)
# A 128x72 JPEG that decodes (a desktop: a window and a task bar), drawn once with a canvas.
SCREEN_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAA0JCgsKCA0LCgsODg0PEyAVExISEyccHhcgLikxMC4pLSwzOko+MzZGNywtQFdBRkxOUlNS"
    "Mj5aYVpQYEpRUk//2wBDAQ4ODhMREyYVFSZPNS01T09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09P"
    "T0//wAARCABIAIADASIAAhEBAxEB/8QAGwABAAIDAQEAAAAAAAAAAAAAAAUGAQIEAwf/xABDEAABAQMGCAoHBwUAAAAAAAAAAQMEEQIF"
    "BhITFhQiU1SCkqOyFTE1YWNlotHh4jZBUWSDpMIHFyFFk6HBJDJCRHH/xAAYAQEAAwEAAAAAAAAAAAAAAAAAAQIEA//EACYRAAIBAQYH"
    "AQEAAAAAAAAAAAABAgMREhQhUVIEExUxkaHRMjP/2gAMAwEAAhEDEQA/AKghshhD2d2Vs2ks61WPrhE1tpK1nCMXOSjHuzRDZDu4N6bs"
    "+Jng7puz4nLEU9TZ0zitvtfThQ2Q7eD+l7PiZwDpez4jEU9SOmcVt9r6caGyHXgPS9kzgXSdknEU9R0zitvtfTkQ2Q6sD6T9jOCdJ+wx"
    "FLUjpnFbPa+nMhshu1ZWUMaMeYmZuo/hrizecKqV44tnGEFVOOPMdFOLV5djHVpTpTcJqxohENkLHdX33ZeJm63vuy8Sb6ORXUNkOh/d"
    "cCfWjvXr1IY0IRiiL/J4IWIIVCaom7MXukboweJFdnLrxkxVIwkSl9X/AAhkJ6hXpW5ae5KOc/yzvFtSTR9Cu5NGabSX3i7k0ZptJfeS"
    "oMN1aGzE1t78siruTRmm0l94u5NGabSX3kqBdWgxNbe/LIq7k0ZptJfeLuTRmm0l95KgXVoMTW3vyyKu5NGabSX3i7k0ZptJfeSoF1aD"
    "E1t78sodM5tdJvwLBGNnaV62MqxhVhxrzqd9HuRHfS3lPP7QPy/4n0npR7kR30t5TVHKmjFWlKU25O1kkACDkU6fuWW+juocCEhP3LLf"
    "R3UOBDRHsQQqE9Qr0qctPclEEhPUK9KnLT3JRWf5Z2Xc+qgAxHcAAAAAAAAAp1P/AMv+J9J60f5Fd9LeU86f/wCh8T6T0o/yK76W8ppj"
    "/NGap+iRABUoU+feWG+juocKHfPvLDfR3UOFDRHsipCoSEyzhwVOrF+srWyrYlarGMlU44L7SNRsxysjWQyjZjlZGshDseR2zL594PVX"
    "zHlM3/6r+Y8pREbscsz1kMo3Y5ZnrIU5cC16Re7/AHVfzHlM396r+Y8pRUeGGWZ6yGyPDDLM9dBy4EXpF4v51Zt/KZv31Zt/KUdHh3y7"
    "PXQ2R5d8uy10HLgRfkXe/XVm38pm/PVu38pSEeXfLstdDZHp2zhlroOXAX5k9P8APnDWD/01jY1v860Yw5k9hvN8+4E5M3fBa9SONaQj"
    "FVX2c5X0enbOGWuhsj07Zwx10L3Y2WFHa82Wi83ue18BeX3Pa+BWUe3XOWOuhlHt1zljroRdiRYzvfnnDHyW8VKleGLGMIIifweKHgj4"
    "65yx/UQyj46Z0x/UQurCLGedBn2jznh14ZDvKr2djbO6teKtWhirDjQiaUt5veaQvTaaEZo5SqlmjNnZyf7ERYSYJD8Y+oAy2Z2mwiQA"
    "SAAAAAAAAAAAAAAAAAAD/9k="
)
# A 96x54 PNG: a signage board.
BOARD_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAGAAAAA2CAYAAAA4T5zSAAABmklEQVR4AeyVsU3EQBBFR1cGMWR0AKIEIiQSoAZ6oAFqABIIKQGJDsgg"
    "JoQSQCvir9XaM3xbfidNsvbO333vRt5935z9UD4Gu+BnJYAAK/4IBCDATMAczwQgwEzAHM8EIMBMwBzPBLgFHD99xeZqQXdmAtwTYM7f"
    "fDwTYP4LIAABZgLmeDkBbw/7UVnq3u+PV1FZKvfz8joqS+VKAWoD67kEEJDLc7gbAoaR5W5AQC7P4W7/KGD4bJvYgACzZgQgwEzAHM8E"
    "IMBMwBzPBCDATMAczwQgwEzAHM8EFAvotUdAj1DxcwQUA+61R0CPUPFzBBQD7rVHQI9Q8XMEFAPutZcCDi8+orLUwQ7O76KyVO7e/W1U"
    "lsqVAtQG1nMJICCX53A3KeDl9TkqS520MrP1XlquFKAOuor1FR0SAWZZUsDJ0WlUlrp3ZWbrvbRcKUAdlPVcAlJA+2DNqanHnJPZ9q4t"
    "VwqYehH2jRFAwBiv9LelgPbBmlNTTzons+1dW64UMPUi7BsjgIAxXulvIyAd6VjDRAFjwbz9R+AXAAD///cyYPYAAAAGSURBVAMAUdP5"
    "+tIKyTYAAAAASUVORK5CYII="
)
# A 96x54 PNG: a channel's grid of titles.
CHANNEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAGAAAAA2CAYAAAA4T5zSAAAB0ElEQVR4AeyTIUtEQRSFLwsGi2AQbGqyWYzaNwpb1WYW/4AG/QNitol1"
    "wbjdarGZNAoGwWLYsFvn3cewd2DO3NnZ8+DCDO9yz8z3MYOjnbMZy4/BQPi5EqAAV/wiFEABzgSc4/kCahUweX8Uj3LmUTyeL6A48m4g"
    "BXR5FN9RQHHk3cCogOHBhXhU93igXUVjowIqOmPTR6EAZ709Aa9fT1K6nBm4xvcEuJ5mBcOjAr6vRoIuzfv35lDQpTPHzxuCLp0Z7qMC"
    "wiaucQQoAMfWNJkCTJhwTRSAY2uaTAEmTLimggJwl1jmyRTgbI8CKMCZgHM8XwAFOBNwjucLoABnAs7xfAG1Cti+Hwu69N03b98EXTpz"
    "dPon6NKZ4Z4vIKQBWC8a2RNwvHsupWvRIVv+3xPQ8mVrvFtUwORuTdClgZw87Am6dObP/r+gS2eG+6iAsIlrHAEKwLE1TaYAEyZcEwXg"
    "2JomU4AJE66JAnBsTZMpwIQJ19SmAByv7JMpIDvStIEUkMYrezcFZEeaNpAC0nhl76aA7EjTBlJAGq/s3VEBw+upoEvf5uXyU9ClM7c+"
    "1gVdOjPcRwWETVzjCFAAjq1pMgWYMOGaMgrAHbLlyXMAAAD//+Mf6TgAAAAGSURBVAMAEdkXemnMSZ8AAAAASUVORK5CYII=")


# -- the browser, and what went wrong in the page -------------------------------------------------
class Tap:
    """The DevTools socket as tests.browser.Page reads it, noting the address of every load that
    failed: the console line of a failed load ("Failed to load resource: … 404") names none."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.failed: list[tuple[str, str]] = []  # (console text, address)

    def __aiter__(self) -> AsyncIterator[aiohttp.WSMessage]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[aiohttp.WSMessage]:
        async for msg in self.ws:
            doc = json.loads(msg.data)
            if doc.get("method") == "Log.entryAdded":
                entry = doc["params"]["entry"]
                if entry["level"] == "error" and entry.get("url"):
                    self.failed.append((entry["text"], entry["url"]))
            yield msg

    async def send_str(self, data: str) -> None:
        await self.ws.send_str(data)

    async def close(self) -> bool:
        return await self.ws.close()


@dataclass
class Wall:
    page: Page
    tap: Tap

    def problems(self, allowed: Callable[[str, str], bool] = lambda text, url: False) -> list[str]:
        """The page's console errors, but for failed loads ``allowed(text, address)`` expects; a
        daemon without groups yet answers GET /v1/groups with a 404, which is expected too."""
        left = list(self.page.errors)
        out = []
        for text, url in self.tap.failed:
            if text in left:
                left.remove(text)
            groups_absent = url.endswith("/v1/groups") and "status of 404" in text
            if not (groups_absent or allowed(text, url)):
                out.append(f"{text} ({url})")
        return out + left


async def open_wall(browser: Browser, url: str, script: str | None = None) -> Wall:
    """tests.browser.Browser.open, with the socket tapped and ``script`` run in the page before its own."""
    async with browser.session.put(f"http://127.0.0.1:{browser.port}/json/new?about:blank") as r:
        target = await r.json()
    ws = await browser.session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=64 << 20)
    tap = Tap(ws)
    page = Page(cast(aiohttp.ClientWebSocketResponse, tap))
    browser.pages.append(page)
    for domain in ("Runtime.enable", "Log.enable", "Page.enable"):
        await page.send(domain)
    if script:
        await page.send("Page.addScriptToEvaluateOnNewDocument", source=script)
    await page.send("Page.navigate", url=url)
    await page.wait("document.readyState === 'complete'")
    return Wall(page, tap)


def tile(dev: dict[str, Any], inner: str = "") -> str:
    """A JavaScript expression: the device's tile (or ``inner``, a selector inside it)."""
    return f"document.querySelector({json.dumps(tile_sel(dev, inner))})"


def tile_sel(dev: dict[str, Any], inner: str = "") -> str:
    return f'li.tile[data-id="{dev["id"]}"] {inner}'.strip()


def shows(dev: dict[str, Any], *texts: str) -> str:
    """A JavaScript condition: the device's tile shows every one of ``texts``."""
    wanted = json.dumps(list(texts))
    return f"(() => {{ const t = {tile(dev)}; return !!t && {wanted}.every((x) => t.innerText.includes(x)); }})()"


def decoded(dev: dict[str, Any]) -> str:
    img = tile(dev, "img.shot")
    return f"(() => {{ const i = {img}; return !!i && i.complete && i.naturalWidth > 0; }})()"


async def click_at(page: Page, selector: str) -> str:
    """A real click at the middle of ``selector`` whatever is on top there (a tile's link covers
    the tile); returns the class of the element hit."""
    box = await page.wait(f"""(() => {{
        const e = document.querySelector({json.dumps(selector)});
        if (!e || e.offsetParent === null) return null;
        e.scrollIntoView({{block: "center"}});
        const r = e.getBoundingClientRect(), x = r.x + r.width / 2, y = r.y + r.height / 2;
        const hit = document.elementFromPoint(x, y);
        return [x, y, hit ? hit.className : ""];
    }})()""")
    for kind in ("mousePressed", "mouseReleased"):
        await page.send("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)
    return str(box[2])


# -- the devices ----------------------------------------------------------------------------------
browser = test_web.browser  # the fixture: a headless Chromium for the test


class Fakes:
    """Fake devices started for a test and added to its daemon; all stopped at the end."""

    def __init__(self, daemon: Daemon, folder: Path) -> None:
        self.daemon, self.folder = daemon, folder
        self.started: list[Any] = []

    def roku(self, serial: str, kind: str = "tv", name: str | None = None) -> tuple[FakeRoku, dict[str, Any]]:
        fake = FakeRoku(kind, serial=serial).start()
        self.started.append(fake)
        dev = self.daemon.add(fake)
        if name:
            dev = self.daemon.ok("PATCH", f"/v1/devices/{dev['id']}", json={"name": name})
        fake.clear()
        return fake, dev

    def limited_tv(self) -> tuple[FakeRoku, dict[str, Any]]:
        """The TCL Roku TV with its network access in Limited mode (driven over the app's session)."""
        fake = FakeRoku("tcl")
        fake.access = "limited"
        self.started.append(fake.start())
        return fake, self.daemon.add(fake)

    def kvm(self, name: str | None = None) -> tuple[FakeTinyPilot, dict[str, Any]]:
        fake = FakeTinyPilot(self.folder / f"tls{len(self.started)}").start()
        self.started.append(fake)
        fake.screen = (SCREEN_JPEG, "image/jpeg")
        dev: dict[str, Any] = self.daemon.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": fake.port,
                                                                          "platform": "tinypilot"})
        if name:
            dev = self.daemon.ok("PATCH", f"/v1/devices/{dev['id']}", json={"name": name})
        return fake, dev

    def signage(self, hostid: str = "d6d6752c-a6d4-4d02-96b1-96e2d3a8d2b2") -> tuple[FakeAdvantech, dict[str, Any]]:
        fake = FakeAdvantech(hostid=hostid).start()
        self.started.append(fake)
        dev: dict[str, Any] = self.daemon.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": fake.port,
                                                                          "credentials": SIGNAGE})
        return fake, dev

    def stop(self) -> None:
        for fake in self.started:
            with contextlib.suppress(Exception):
                fake.stop()


@pytest.fixture
def fakes(daemon: Daemon, tmp_path: Path) -> Iterator[Fakes]:
    f = Fakes(daemon, tmp_path)
    try:
        yield f
    finally:
        f.stop()


def groups_absent(daemon: Daemon) -> bool:
    r = daemon.http("GET", "/v1/groups")
    return r.status_code == 404 and r.json()["error"]["code"] == "route_not_found"


def skip_without_groups(daemon: Daemon) -> None:
    if groups_absent(daemon):
        pytest.skip("the daemon has no groups yet (GET /v1/groups answers route_not_found)")


def no_problems(wall: Wall) -> None:
    assert wall.problems() == [], wall.problems()


# -- tiles and their state ------------------------------------------------------------------------
async def test_every_device_is_a_tile_with_what_it_shows(daemon: Daemon, fakes: Fakes, browser: Browser) -> None:
    r = daemon.http("GET", "/wall")
    assert r.status_code == 200 and "script-src 'self'" in r.headers["content-security-policy"]
    assert "<script>" not in r.text and "<style" not in r.text  # nothing inline: the policy allows none
    for path, kind in (("/wall.js", "text/javascript"), ("/wall.css", "text/css")):
        assert daemon.http("GET", path).headers["content-type"].startswith(kind)
    tv, tv_dev = fakes.roku("WALLTV0001")
    tv.active, tv.tuned = ("tvinput.dtv", "Live TV"), "7.1"
    _, tcl_dev = fakes.limited_tv()
    _, kvm_dev = fakes.kvm()
    _, sign_dev = fakes.signage()
    wall = await open_wall(browser, f"{daemon.url}/wall")
    page = wall.page
    await page.wait("document.querySelectorAll('li.tile').length === 4")
    names = await page.eval("[...document.querySelectorAll('li.tile .name')].map((a) => a.textContent)")
    assert names == sorted(d["name"] for d in (tv_dev, tcl_dev, kvm_dev, sign_dev))  # in name order
    await page.wait(shows(tv_dev, tv_dev["name"], "roku", "online", "Channel 7.1", "Airwolf", "Live TV"))
    # the set in Limited mode is marked, with the line saying how it is driven
    await page.wait(shows(tcl_dev, "Limited mode", "controlled through the mobile-app session"), timeout=15)
    assert await page.eval(tile(tcl_dev, ".mode") + ".textContent") == "Limited mode"
    assert await page.eval(tile(tv_dev, ".mode") + ".hidden") is True
    # other platforms: the plain fields of their state, named in words, with their units
    await page.wait(shows(kvm_dev, "tinypilot", "video", "yes"))
    await page.wait(shows(sign_dev, "advantech", "hostname", "UNO-2484G-673xA", "cpu", "25%", "memory", "5.03%",
                          "uptime", "9 d 20 h"))
    # thumbnails: the KVM's picture decodes; the Roku's cannot be taken (no developer password
    # is known) and its tile says why instead of showing a broken picture; a TV without
    # screenshots has no picture frame but what it shows in large type
    await page.wait(decoded(kvm_dev))
    await page.wait(decoded(sign_dev))
    await page.wait(shows(tcl_dev, "No picture: No developer password is set", "Set it:"))
    assert await page.eval(tile(tcl_dev, "img")) is None
    assert await page.eval(tile(tv_dev, ".screen-text") + ".hidden") is False
    assert await page.eval("document.getElementById('group-pick').hidden") is True  # no groups to filter by
    assert await page.eval("document.getElementById('bar').hidden") is True  # nothing chosen: no keys
    await page.wait("document.getElementById('status').textContent === 'live'")
    assert wall.problems(lambda text, url: url.endswith(f"/v1/devices/{tcl_dev['id']}/screenshot")) == []


async def test_thumbnails_stay_within_their_bounds(daemon: Daemon, fakes: Fakes, browser: Browser) -> None:
    """At most two screenshots on their way at once over the wall, one per device, none while the
    page is hidden, and each device's again only after 10 s (counted in the page's fetch)."""
    devices = [fakes.kvm()[1], fakes.kvm()[1], fakes.signage()[1],
               fakes.signage("0f0f0f0f-0000-4000-8000-000000000002")[1]]
    script = """(() => {
      let hidden = true;
      Object.defineProperty(Document.prototype, "visibilityState",
                            { configurable: true, get: () => (hidden ? "hidden" : "visible") });
      window.__show = () => { hidden = false; document.dispatchEvent(new Event("visibilitychange")); };
      const shots = window.__shots = { now: 0, most: 0, on: {}, mostOnOne: 0, asked: [] };
      let open;
      const gate = new Promise((resolve) => { open = resolve; });
      window.__open = () => open();
      const real = window.fetch.bind(window);
      window.fetch = async (input, init) => {
        const m = /\\/v1\\/devices\\/([^/]+)\\/screenshot/.exec(String(input));
        if (!m) return real(input, init);
        const id = decodeURIComponent(m[1]);
        shots.now++; shots.most = Math.max(shots.most, shots.now);
        shots.on[id] = (shots.on[id] || 0) + 1; shots.mostOnOne = Math.max(shots.mostOnOne, shots.on[id]);
        shots.asked.push([id, performance.now()]);
        try { await gate; return await real(input, init); } finally { shots.now--; shots.on[id]--; }
      };
    })();"""
    wall = await open_wall(browser, f"{daemon.url}/wall", script)
    page = wall.page
    for dev in devices:
        await page.wait(shows(dev, "video") if dev["platform"] == "tinypilot" else shows(dev, "cpu"))
    assert await page.eval("window.__shots.asked.length") == 0  # hidden: not one
    await page.eval("window.__show()")
    await page.wait("window.__shots.asked.length >= 2")
    assert await page.eval("[window.__shots.asked.length, window.__shots.now]") == [2, 2]  # the others wait
    await page.eval("window.__open()")
    for dev in devices:
        await page.wait(decoded(dev))
    shots = await page.eval("window.__shots")
    assert (shots["most"], shots["mostOnOne"]) == (2, 1)
    assert sorted(i for i, _ in shots["asked"]) == sorted(d["id"] for d in devices)  # each once so far
    await page.wait("window.__shots.asked.length >= 8", timeout=40)  # the second round
    shots = await page.eval("window.__shots")
    assert (shots["most"], shots["mostOnOne"]) == (2, 1)
    for dev in devices:
        times = [t for i, t in shots["asked"] if i == dev["id"]]
        assert len(times) == 2 and times[1] - times[0] >= 10_000, (dev["name"], times)
    no_problems(wall)


async def test_a_roku_tile_follows_another_client_and_devices_come_and_go(daemon: Daemon, fakes: Fakes,
                                                                         browser: Browser) -> None:
    roku, dev = fakes.roku("WALLTV0001")
    daemon.ok("PATCH", "/v1/config", json={"state.poll_interval_s": 0.2})
    wall = await open_wall(browser, f"{daemon.url}/wall")
    page = wall.page
    await page.wait(shows(dev, "Home"))
    assert await page.eval(tile(dev, ".now-progress") + ".hidden") is True
    roku.active = ("12", "Netflix")  # another client launched it, behind the page's back
    roku.media_state, roku.position_ms = "play", 83_000
    await page.wait(shows(dev, "Netflix", "playing 1:23 / 1:48:16"), timeout=15)
    assert await page.eval(tile(dev, ".now-progress") + ".hidden") is False
    roku.position_ms = 3_723_000
    await page.wait(shows(dev, "playing 1:02:03 / 1:48:16"), timeout=15)
    # a device added and removed elsewhere comes and goes without a reload
    _, box_dev = fakes.roku("WALLBOX001", kind="box")
    await page.wait(tile(box_dev) + " !== null")
    await page.wait(shows(box_dev, "Home"), timeout=15)
    daemon.ok("DELETE", f"/v1/devices/{box_dev['id']}")
    await page.wait(tile(box_dev) + " === null")
    assert await page.eval("document.querySelectorAll('li.tile').length") == 1
    no_problems(wall)


async def test_the_wall_reconnects_after_a_daemon_restart(tmp_path: Path, browser: Browser) -> None:
    from tests.helpers import free_port

    d = Daemon(tmp_path / "d", LOOPBACK_CONFIG.replace("http_port = 0", f"http_port = {free_port()}"))
    d.start()
    roku = FakeRoku("tv", serial="WALLTV0001").start()
    try:
        dev = d.add(roku)
        wall = await open_wall(browser, f"{d.url}/wall")
        page = wall.page
        await page.wait(shows(dev, "Home"))
        await page.wait("document.getElementById('status').textContent === 'live'")
        d.stop()
        await page.wait("document.getElementById('status').textContent.includes('reconnecting')")
        roku.active = ("12", "Netflix")  # while the wall was cut off
        d.start()
        await page.wait("document.getElementById('status').textContent === 'live'", timeout=20)
        await page.wait(shows(dev, "Netflix"))  # read again when the stream opened again
        roku.clear()
        await page.click(tile_sel(dev, ".pick"))
        await page.click("#bar [data-key=home]")
        await page.wait(shows(dev, "✓ home sent"))
        assert roku.paths() == ["/keypress/Home"]
    finally:
        roku.stop()
        d.stop()


async def test_a_tile_opens_its_remote_and_names_are_only_text(daemon: Daemon, fakes: Fakes, browser: Browser) -> None:
    hostile = "<img src=x onerror=\"document.title='pwned'\">"
    fake = FakeRoku("tv", serial="WALLTV0001")
    escaped = hostile.replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;").encode()
    for tag in (b"user-device-name", b"friendly-device-name"):
        start, end = fake.device_info_xml.index(b"<" + tag + b">"), fake.device_info_xml.index(b"</" + tag + b">")
        fake.device_info_xml = fake.device_info_xml[:start] + b"<" + tag + b">" + escaped + fake.device_info_xml[end:]
    fakes.started.append(fake.start())
    dev = daemon.add(fake)
    assert dev["display_name"] == hostile
    wall = await open_wall(browser, f"{daemon.url}/wall")
    page = wall.page
    await page.wait(shows(dev, hostile))  # shown as the text it is
    assert await page.eval("document.querySelectorAll('li.tile img').length") == 0
    assert await page.eval("document.title") == "tvctl wall"
    assert await page.eval("document.getElementById('to-remote').getAttribute('href')") == "/"
    await page.click(tile_sel(dev, ".pick"))  # the checkbox selects, and stays on the wall
    await page.wait(tile(dev, ".pick") + ".checked")
    assert await page.eval("location.pathname") == "/wall"
    no_problems(wall)
    assert await click_at(page, tile_sel(dev, ".screen")) == "name"  # the name's link covers the tile
    await page.wait(f"location.pathname === '/' && location.search === '?device={dev['id']}'")


async def test_sign_in_with_the_token(tmp_path: Path, browser: Browser) -> None:
    d = Daemon(tmp_path / "d", LOOPBACK_CONFIG.replace("[daemon]\n", '[daemon]\napi_token = "wall-token-5150"\n'))
    d.start()
    roku = FakeRoku("tv", serial="WALLTV0001").start()
    try:
        dev = d.http("POST", "/v1/devices", json={"host": roku.host, "port": roku.port},
                     headers={"Authorization": "Bearer wall-token-5150"}).json()["data"]
        wall = await open_wall(browser, f"{d.url}/wall")
        page = wall.page
        await page.wait("!document.getElementById('login').hidden")
        await page.type("#token", "wall-token-5150")
        await page.click("#login button")
        await page.wait("document.getElementById('login').hidden")
        await page.wait(shows(dev, "Home"))
        await page.wait("document.getElementById('status').textContent === 'live'")
        assert wall.problems(lambda text, url: "status of 401" in text) == []  # only the refusals before it
    finally:
        roku.stop()
        d.stop()


# -- keys to several devices ------------------------------------------------------------------------
async def test_a_key_reaches_every_selected_device(daemon: Daemon, fakes: Fakes, browser: Browser) -> None:
    (one, one_dev), (two, two_dev), (other, other_dev) = (fakes.roku(f"WALLTV000{i}") for i in (1, 2, 3))
    wall = await open_wall(browser, f"{daemon.url}/wall")
    page = wall.page
    for dev in (one_dev, two_dev, other_dev):
        await page.wait(shows(dev, "Home"))
    await page.click(tile_sel(one_dev, ".pick"))
    await page.click(tile_sel(two_dev, ".pick"))
    await page.wait("document.getElementById('target').textContent === '2 selected'")
    await page.click("#bar [data-key=home]")
    await page.wait(shows(one_dev, "✓ home sent"))
    await page.wait(shows(two_dev, "✓ home sent"))
    await page.wait("document.getElementById('bar-result').textContent === 'home: sent to 2'")
    assert one.paths() == ["/keypress/Home"] and two.paths() == ["/keypress/Home"]
    assert other.paths() == [] and await page.eval(tile(other_dev, ".result") + ".textContent") == ""
    await page.click("#clear")
    await page.wait("document.getElementById('bar').hidden")
    assert await page.eval("document.querySelectorAll('li.tile .pick:checked').length") == 0
    no_problems(wall)


async def test_a_dead_member_shows_its_error_while_the_others_succeed(daemon: Daemon, fakes: Fakes,
                                                                    browser: Browser) -> None:
    (one, one_dev), (two, two_dev), (dead, dead_dev) = (fakes.roku(f"WALLTV000{i}") for i in (1, 2, 3))
    wall = await open_wall(browser, f"{daemon.url}/wall")
    page = wall.page
    for dev in (one_dev, two_dev, dead_dev):
        await page.wait(shows(dev, "Home"))
        await page.click(tile_sel(dev, ".pick"))
    await page.wait("document.getElementById('target').textContent === '3 selected'")
    dead.stop()
    await page.click("#bar [data-key=back]")
    await page.wait(shows(dead_dev, "✗ ", "is unreachable", "Check that the TV is powered"))
    await page.wait(shows(one_dev, "✓ back sent"))
    await page.wait(shows(two_dev, "✓ back sent"))
    await page.wait("document.getElementById('bar-result').textContent === 'back: 2 of 3 done'")
    assert one.paths() == ["/keypress/Back"] and two.paths() == ["/keypress/Back"]
    result = await page.eval(tile(dead_dev, ".result") + ".textContent")
    assert "device_unreachable" not in result  # words, never the code
    assert await page.eval(tile(dead_dev, ".result") + ".dataset.ok") == "false"
    assert wall.problems(lambda text, url: f"/v1/devices/{dead_dev['id']}/" in url) == []


# -- groups ---------------------------------------------------------------------------------------
async def test_no_group_filter_without_groups(daemon: Daemon, fakes: Fakes, browser: Browser) -> None:
    """No groups, or a daemon from before groups (its 404 route_not_found, played here by the page's
    fetch): no filter, and the wall works as ever."""
    _, dev = fakes.roku("WALLTV0001")
    wall = await open_wall(browser, f"{daemon.url}/wall")
    await wall.page.wait(shows(dev, "Home"))
    await wall.page.wait("document.getElementById('status').textContent === 'live'")
    assert await wall.page.eval("document.getElementById('group-pick').hidden") is True
    no_problems(wall)
    before_groups = """(() => {
      const real = window.fetch.bind(window);
      window.fetch = (input, init) => String(input).endsWith("/v1/groups")
        ? Promise.resolve(new Response(JSON.stringify({ ok: false, error: { code: "route_not_found",
            message: "No endpoint at /v1/groups.", hint: "Every endpoint is under /v1; see /v1/openapi.json." } }),
            { status: 404, headers: { "Content-Type": "application/json" } }))
        : real(input, init);
    })();"""
    old = await open_wall(browser, f"{daemon.url}/wall", before_groups)
    await old.page.wait(shows(dev, "Home"))
    await old.page.wait("document.getElementById('status').textContent === 'live'")
    assert await old.page.eval("document.getElementById('group-pick').hidden") is True
    no_problems(old)


async def test_group_filter_and_group_action(daemon: Daemon, fakes: Fakes, browser: Browser) -> None:
    skip_without_groups(daemon)
    (one, one_dev), (two, two_dev), (other, other_dev) = (fakes.roku(f"WALLTV000{i}") for i in (1, 2, 3))
    daemon.ok("POST", "/v1/groups", json={"name": "lobby", "devices": [one_dev["id"], two_dev["id"]]})
    wall = await open_wall(browser, f"{daemon.url}/wall")
    page = wall.page
    await page.wait("!document.getElementById('group-pick').hidden")
    assert await page.eval("[...document.getElementById('group').options].map((o) => o.textContent)") == [
        "All devices", "lobby (2)"]
    await page.wait(shows(other_dev, "Home"))
    await page.eval("const s = document.getElementById('group'); s.value = 'lobby'; "
                    "s.dispatchEvent(new Event('change'))")
    await page.wait(tile(other_dev) + ".hidden")
    assert await page.eval(f"[{tile(one_dev)}.hidden, {tile(two_dev)}.hidden]") == [False, False]
    await page.wait("document.getElementById('target').textContent === 'Group lobby · 2 devices'")
    await page.click("#bar [data-key=home]")  # the group's own endpoint
    await page.wait(shows(one_dev, "✓ home sent"))
    await page.wait(shows(two_dev, "✓ home sent"))
    await page.wait("document.getElementById('bar-result').textContent === 'home: sent to 2'")
    assert one.paths() == ["/keypress/Home"] and two.paths() == ["/keypress/Home"] and other.paths() == []
    # a member that is gone says so on its own tile; the other goes on
    two.stop()
    await page.click("#bar [data-key=select]")
    await page.wait(shows(two_dev, "✗ ", "is unreachable", "Check that the TV is powered"))
    await page.wait(shows(one_dev, "✓ OK sent"))
    await page.wait("document.getElementById('bar-result').textContent === 'OK: 1 of 2 done'")
    assert "device_unreachable" not in await page.eval(tile(two_dev, ".result") + ".textContent")
    # groups made or changed elsewhere reach the filter live
    daemon.ok("POST", "/v1/groups", json={"name": "bar", "devices": [other_dev["id"]]})
    await page.wait("[...document.getElementById('group').options].some((o) => o.textContent === 'bar (1)')")
    daemon.ok("PATCH", "/v1/groups/lobby", json={"add": [other_dev["id"]]})
    await page.wait(f"!{tile(other_dev)}.hidden")  # lobby, still chosen, now holds it
    assert wall.problems(lambda text, url: f"/v1/devices/{two_dev['id']}/" in url) == []


# -- layout, and the docs' pictures ---------------------------------------------------------------
OVERFLOW = """(() => {
  const width = document.documentElement.clientWidth, out = [];
  if (document.documentElement.scrollWidth > width) out.push(`page ${document.documentElement.scrollWidth}`);
  for (const e of document.querySelectorAll("body *")) {
    const r = e.getBoundingClientRect();
    if (r.width && r.right > width + 0.5) out.push(`${e.tagName}.${e.className} ${Math.round(r.right)}`);
  }
  return out;
})()"""


async def test_no_horizontal_overflow_and_the_docs_pictures(daemon: Daemon, fakes: Fakes, browser: Browser,
                                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fakesignage, "PNG_1X1", BOARD_PNG)  # a board on the signage screen
    lobby, lobby_dev = fakes.roku("WALLTV0001", name="lobby-tv")
    lobby.active, lobby.media_state, lobby.position_ms = ("12", "Netflix"), "play", 1_425_000
    bar, bar_dev = fakes.roku("WALLTV0002", name="conference-room-b-wall-display-left-hand-side")
    bar.active, bar.tuned = ("tvinput.dtv", "Live TV"), "7.1"
    tcl, tcl_dev = fakes.limited_tv()
    daemon.ok("PATCH", "/v1/config", json={"roku.installer_port": tcl.installer_port,
                                           "roku.console_port": tcl.console_port, "roku.dev_password": tcl.password})
    tcl.active, tcl.screenshot = ("dev", "Film club"), (CHANNEL_PNG, "image/png")
    _, kvm_dev = fakes.kvm(name="rack-kvm")
    _, sign_dev = fakes.signage()
    if not groups_absent(daemon):
        daemon.ok("POST", "/v1/groups", json={"name": "lobby", "devices": [lobby_dev["id"], tcl_dev["id"]]})
    wall = await open_wall(browser, f"{daemon.url}/wall")
    page = wall.page
    for dev in (kvm_dev, sign_dev, tcl_dev):
        await page.wait(decoded(dev), timeout=15)
    await page.wait(shows(lobby_dev, "Netflix", "playing 23:45 / 1:48:16"))
    await page.wait(shows(bar_dev, "Channel 7.1"))
    await page.click(tile_sel(lobby_dev, ".pick"))
    await page.click(tile_sel(bar_dev, ".pick"))
    await page.click("#bar [data-key=volume-up]")
    await page.wait(shows(bar_dev, "✓ volume + sent"))
    await page.wait(shows(lobby_dev, "✓ volume + sent"))
    for width in WIDTHS:
        await page.send("Emulation.setDeviceMetricsOverride", width=width, height=800, deviceScaleFactor=1,
                        mobile=width < 768)
        assert await page.eval(OVERFLOW) == [], width
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    await page.send("Input.dispatchMouseEvent", type="mouseMoved", x=0, y=0)  # no tile under the mouse
    await page.eval("window.scrollTo(0, 0)")
    await page.screenshot(DOCS_IMG / "wall-desktop.png", 1280, 800)
    await page.eval("window.scrollTo(0, 0)")
    await page.screenshot(DOCS_IMG / "wall-phone.png", 390, 844, mobile=True)
    await page.screenshot(tmp_path / "wall-320.png", 320, 640, mobile=True)
    await page.send("Emulation.setEmulatedMedia", features=[{"name": "prefers-color-scheme", "value": "dark"}])
    await page.screenshot(tmp_path / "wall-desktop-dark.png", 1280, 800)
    await page.screenshot(tmp_path / "wall-phone-dark.png", 390, 844, mobile=True)
    no_problems(wall)
