"""The web remote's screenshot panel on a device with a pointer (a PiKVM, the fake kvmd): a click
on the screenshot clicks the target's screen at that point, a right-click right-clicks, and the
screenshot is taken again; in real headless Chromium against the real daemon."""

from __future__ import annotations

import re
import struct
import zlib

import pytest

from tests import test_web
from tests.browser import CHROMIUM, Browser
from tests.conftest import Daemon
from tests.fakepikvm import FakePikvm
from tests.test_pikvm import add, pikvm  # noqa: F401 (a fixture)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
browser = test_web.browser  # the fixture: a headless Chromium for the test
FEEDBACK = "document.getElementById('feedback').textContent"


def png(width: int, height: int) -> bytes:
    """A grey PNG of that size (something the browser draws, to click on)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


async def test_a_click_on_the_screenshot_clicks_the_screen(daemon: Daemon, browser: Browser,
                                                           pikvm: FakePikvm) -> None:  # noqa: F811
    pikvm.screen = (png(320, 180), "image/png")
    dev = add(daemon, pikvm)
    page = await browser.open(f"{daemon.url}/")
    await page.wait("!document.getElementById('shot').hidden && document.getElementById('shot')"
                    ".hasAttribute('data-pointer')")
    await page.click("#shot-refresh")
    await page.wait("document.getElementById('shot-img').naturalWidth > 0")
    pikvm.clear()
    await page.click("#shot-img")  # its centre
    await page.wait(f"{FEEDBACK}.startsWith({dev['name']!r} + ': clicked at ')", timeout=15)
    # the middle, give or take a pixel of the page's rounding
    assert re.fullmatch(rf"{dev['name']}: clicked at (49|50|51)%, (49|50|51)%", await page.eval(FEEDBACK))
    move, *buttons = pikvm.events
    assert move[0] == "move" and abs(move[1]) < 400 and abs(move[2]) < 400, move  # the middle is (0, 0)
    assert buttons == [("button", "left", True), ("button", "left", False)]
    # and the screenshot was taken again to show what the click did
    await page.wait("window.performance.getEntriesByType('resource')"
                    ".filter(e => e.name.endsWith('/screenshot')).length >= 2")
    assert pikvm.paths().count("GET /api/streamer/snapshot") == 1

    pikvm.clear()
    box = await page.eval("(r => [r.left + r.width / 4, r.top + r.height / 4])"
                          "(document.getElementById('shot-img').getBoundingClientRect())")
    for kind in ("mousePressed", "mouseReleased"):
        await page.send("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="right", clickCount=1)
    await page.wait(f"{FEEDBACK}.startsWith({dev['name']!r} + ': right-clicked at ')", timeout=15)
    assert re.fullmatch(rf"{dev['name']}: right-clicked at (24|25|26)%, (24|25|26)%", await page.eval(FEEDBACK))
    move, *buttons = pikvm.events
    assert move[0] == "move" and abs(move[1] + 16384) < 400 and abs(move[2] + 16384) < 400, move
    assert buttons == [("button", "right", True), ("button", "right", False)]
