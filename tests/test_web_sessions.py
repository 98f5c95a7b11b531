"""The web remote's Sessions panel on a server of sessions (a FastX server: tests/fakefastx.py over
HTTPS on 127.0.0.1), in real headless Chromium (tests/browser.py) against the real daemon: the list,
a session's screenshot, terminating one (after the page's confirm dialog, answered here as a person
would, through the DevTools protocol), a bookmark launched from the Apps grid, and the panel's
absence on a device without sessions. Expected values are written out, not read back from the fake."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests import test_web
from tests.browser import CHROMIUM, Browser, Page
from tests.conftest import Daemon
from tests.fakefastx import FakeFastx
from tests.fakeroku import FakeRoku

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
browser = test_web.browser  # the fixture: a headless Chromium for the test (fastx, the fake server: conftest's)

SIGNAGE, DESK1, DESK2, MAP = (f"3c9a41e2-7b05-4d1f-8e6a-b20d5c7f1a0{n}" for n in (1, 2, 3, 4))
SEEDED = [  # the fake's four sessions as the panel shows them: name, user, geometry, clients
    ["Signage Lobby", "kiosk", "1920x1080", "1 client"],
    ["Lab Desktop 1", "lab", "1280x800", "0 clients"],
    ["Lab Desktop 2", "ana", "1600x900", "2 clients"],
    ["Kiosk Map", "kiosk", "1024x768", "0 clients"],
]
HOSTILE = "<img src=x onerror=alert(1)>"

FEEDBACK = "document.getElementById('feedback').textContent"
STATUS = "document.getElementById('status').textContent"
ROWS = ("[...document.querySelectorAll('#session-list li')].map(li => ['.s-name', '.s-user', '.s-geometry', "
        "'.s-clients'].map(c => li.querySelector(c).textContent))")
IDS = "[...document.querySelectorAll('#session-list li')].map(li => li.dataset.session)"
PANEL_SHOWN = "(s => s.offsetParent !== null)(document.getElementById('sessions'))"


def feedback_is(text: str) -> str:
    """JavaScript: whether the status line says exactly this."""
    return f"{FEEDBACK} === {json.dumps(text)}"


def row(session_id: str) -> str:
    return f"#session-list li[data-session='{session_id}']"


def names_are(names: list[str]) -> str:
    """JavaScript: whether the panel lists exactly these sessions, in this order."""
    return (f"JSON.stringify([...document.querySelectorAll('#session-list .s-name')].map(e => e.textContent))"
            f" === {json.dumps(json.dumps(names, separators=(',', ':')))}")


def add(daemon: Daemon, fake: FakeFastx) -> dict[str, Any]:
    dev: dict[str, Any] = daemon.ok("POST", "/v1/devices", json={
        "host": "127.0.0.1", "port": fake.port, "platform": "fastx",
        "credentials": {"username": "lab", "password": "s3cret-pass"}})
    assert dev["capabilities"] == ["sessions", "screenshot", "apps", "state"]
    return dev


async def open_remote(daemon: Daemon, browser: Browser) -> Page:
    page = await browser.open(f"{daemon.url}/")
    await page.wait(PANEL_SHOWN)
    await page.wait("document.querySelectorAll('#session-list li').length > 0")
    return page


def fetched(page: Page, part: str) -> str:
    """JavaScript: how many requests the page has made whose URL contains ``part``."""
    return f"performance.getEntriesByType('resource').filter(e => e.name.includes({json.dumps(part)})).length"


async def keep_blobs(page: Page) -> None:
    """From now on the page keeps each blob it makes an object URL of (window.blobs: URL -> blob)."""
    await page.eval("""(() => {
        const realCreate = URL.createObjectURL;
        window.blobs = new Map();
        URL.createObjectURL = (blob) => {
            const url = realCreate.call(URL, blob);
            window.blobs.set(url, blob);
            return url;
        };
    })()""")


async def shown_bytes(page: Page) -> bytes:
    """The bytes of the image the Screen panel shows."""
    return bytes(await page.eval("window.blobs.get(document.getElementById('shot-img').src).arrayBuffer()"
                                 ".then(b => Array.from(new Uint8Array(b)))"))


async def log_fetches(page: Page) -> None:
    """From now on the page notes each fetch as it is called (window.fetches: method and path)."""
    await page.eval("""(() => {
        const realFetch = window.fetch;
        window.fetches = [];
        window.fetch = (url, init) => {
            window.fetches.push(`${(init && init.method) || 'GET'} ${new URL(url, location.href).pathname}`);
            return realFetch(url, init);
        };
    })()""")


async def test_the_panel_lists_the_sessions(daemon: Daemon, browser: Browser, fastx: FakeFastx,
                                            tmp_path: Path) -> None:
    dev = add(daemon, fastx)
    page = await open_remote(daemon, browser)
    assert await page.eval(ROWS) == SEEDED
    assert await page.eval(IDS) == [SIGNAGE, DESK1, DESK2, MAP]
    assert await page.eval("[...document.querySelectorAll('#session-list button')].map(b => "
                           "b.getAttribute('aria-label'))") == [
        "Screenshot of Signage Lobby", "Terminate Signage Lobby", "Screenshot of Lab Desktop 1",
        "Terminate Lab Desktop 1", "Screenshot of Lab Desktop 2", "Terminate Lab Desktop 2",
        "Screenshot of Kiosk Map", "Terminate Kiosk Map"]
    assert await page.eval("document.getElementById('sessions-empty').hidden") is True
    # the state line counts them; a FastX server has no keys, and so no actions either
    await page.wait(f"{STATUS} === 'fastx-lab · online · 4 sessions'")
    assert dev["name"] == "fastx-lab"
    assert await page.eval("document.getElementById('actions').hidden") is True

    # a session started by another client shows after Refresh; one that ended is gone
    new = fastx.add_session("Night Shift", "ana", "1920x1200", clients=3)
    fastx.drop_session(DESK1)
    await page.click("#sessions-refresh")
    await page.wait(names_are(["Signage Lobby", "Lab Desktop 2", "Kiosk Map", "Night Shift"]))
    assert (await page.eval(ROWS))[-1] == ["Night Shift", "ana", "1920x1200", "3 clients"]
    assert (await page.eval(IDS))[-1] == new
    await page.screenshot(tmp_path / "remote-sessions.png", 1280, 900)
    await page.screenshot(tmp_path / "remote-sessions-phone.png", 390, 844, mobile=True)
    assert page.errors == []


async def test_screenshot_shows_that_sessions_screen(daemon: Daemon, browser: Browser, fastx: FakeFastx) -> None:
    add(daemon, fastx)
    page = await open_remote(daemon, browser)
    await keep_blobs(page)
    fastx.clear()
    await page.click(f"{row(DESK2)} .s-shot")
    await page.wait(feedback_is("fastx-lab: screenshot of “Lab Desktop 2”"))
    assert await page.wait("document.getElementById('shot-img').complete && "
                           "document.getElementById('shot-img').naturalWidth") == 8
    shots = [r for r in fastx.requests if r.path == "/v3/api/session/screenshot"]
    assert [(r.method, r.body) for r in shots] == [("POST", {"id": DESK2, "format": "png"})]
    # what the page received, and shows, is that session's picture
    assert await shown_bytes(page) == fastx.png_for(DESK2)
    assert (await page.eval("document.getElementById('shot-img').src")).startswith(f"blob:{daemon.url}/")
    assert await page.eval("document.getElementById('shot-of').textContent") == "Lab Desktop 2"
    assert await page.eval("document.getElementById('shot-img').alt") == "The screen of the session Lab Desktop 2"
    assert await page.eval(f"document.querySelector({json.dumps(row(DESK2))}).hasAttribute('aria-current')")

    # the Screen panel's Refresh takes the same session again
    fastx.clear()
    await page.click("#shot-refresh")
    await page.wait(f"{fetched(page, f'/screenshot?session={DESK2}')} === 2")
    assert [r.body for r in fastx.requests if r.path == "/v3/api/session/screenshot"] == [
        {"id": DESK2, "format": "png"}]

    # another session: its own picture
    await page.click(f"{row(SIGNAGE)} .s-shot")
    await page.wait(feedback_is("fastx-lab: screenshot of “Signage Lobby”"))
    assert await shown_bytes(page) == fastx.png_for(SIGNAGE) != fastx.png_for(DESK2)
    assert await page.eval("document.getElementById('shot-of').textContent") == "Signage Lobby"
    assert await page.eval("[...document.querySelectorAll('#session-list li[aria-current]')]"
                           ".map(li => li.dataset.session)") == [SIGNAGE]

    # a failing screenshot says the server's words
    fastx.screenshot_fails = True
    await page.click(f"{row(MAP)} .s-shot")
    await page.wait(f"{FEEDBACK}.startsWith('fastx-lab: screenshot of “Kiosk Map”: ')")
    assert "Could not capture the session's display" in await page.eval(FEEDBACK)
    failed = "Failed to load resource: the server responded with a status of"
    assert all(e.startswith(failed) for e in page.errors), page.errors


async def test_terminate_asks_first_then_ends_the_session(daemon: Daemon, browser: Browser,
                                                          fastx: FakeFastx) -> None:
    dev = add(daemon, fastx)
    page = await open_remote(daemon, browser)
    asked = page  # its dialogs: seen, and answered with the next of dialog_answers
    # dismissed: nothing is sent, the session runs on
    await log_fetches(page)
    fastx.clear()
    await page.click(f"{row(DESK1)} .s-terminate")
    await asked.wait_dialogs(1)
    assert asked.dialogs == [("confirm", "fastx-lab: terminate the session “Lab Desktop 1” of lab? "
                                      "Whatever runs in it ends.")]
    # the page's next request: one the dismissal would have sent comes before it
    await page.click("#sessions-refresh")
    await page.wait(f"window.fetches.includes('GET /v1/devices/{dev['id']}/sessions')")
    assert not [f for f in await page.eval("window.fetches") if "/terminate" in f]
    await page.wait(f"{fetched(page, '/sessions')} === 2")  # and its answer is in
    assert "POST /v3/api/session/terminate" not in fastx.paths()
    assert DESK1 in fastx.sessions
    assert await page.eval(IDS) == [SIGNAGE, DESK1, DESK2, MAP]
    assert await page.eval(FEEDBACK) == ""

    # accepted: terminated on the server, and gone from the list
    asked.dialog_answers.append(True)
    fastx.clear()
    await page.click(f"{row(DESK1)} .s-terminate")
    await page.wait(feedback_is("fastx-lab: terminated “Lab Desktop 1”"), timeout=15)
    await page.wait(names_are(["Signage Lobby", "Lab Desktop 2", "Kiosk Map"]))
    await page.wait(f"{STATUS} === 'fastx-lab · online · 3 sessions'")  # the state line follows
    assert DESK1 not in fastx.sessions and len(fastx.sessions) == 3
    terminated = [r.body for r in fastx.requests if r.path == "/v3/api/session/terminate"]
    assert terminated == [{"id": DESK1}]
    assert len(asked.dialogs) == 2
    assert f"POST /v1/devices/{dev['id']}/sessions/{DESK1}/terminate" in await page.eval("window.fetches")

    # a session that ended meanwhile: the server's error is said, and the list follows
    fastx.drop_session(MAP)
    asked.dialog_answers.append(True)
    await page.click(f"{row(MAP)} .s-terminate")
    await page.wait(feedback_is(f"fastx-lab: No running session matches {MAP!r}. "
                                "Run tvctl sessions to see the sessions running now."), timeout=15)
    await page.wait(names_are(["Signage Lobby", "Lab Desktop 2"]))
    failed = "Failed to load resource: the server responded with a status of 404 (Not Found)"
    assert page.errors == [failed], page.errors


async def test_launching_a_bookmark_lists_the_new_session(daemon: Daemon, browser: Browser,
                                                          fastx: FakeFastx) -> None:
    add(daemon, fastx)
    page = await open_remote(daemon, browser)
    await page.wait("document.querySelectorAll('#grid button').length === 3")
    assert await page.eval("[...document.querySelectorAll('#grid button')].map(b => b.textContent)") == [
        "Signage Player", "XTerm", "GNOME Desktop"]
    assert await page.eval("document.querySelectorAll('#grid img').length") == 0  # bookmarks have no icons
    fastx.clear()
    await page.click("#grid button[data-app='bm-gnome']")
    await page.wait(feedback_is("fastx-lab: launched GNOME Desktop as the session “GNOME Desktop”"),
                    timeout=15)
    started = [sid for sid in fastx.sessions if sid not in (SIGNAGE, DESK1, DESK2, MAP)]
    assert len(started) == 1 and fastx.sessions[started[0]]["params"]["name"] == "GNOME Desktop"
    await page.wait(names_are(["Signage Lobby", "Lab Desktop 1", "Lab Desktop 2", "Kiosk Map", "GNOME Desktop"]))
    assert (await page.eval(ROWS))[-1] == ["GNOME Desktop", "lab", "1600x900", "0 clients"]
    assert (await page.eval(IDS))[-1] == started[0]
    await page.wait(f"{STATUS} === 'fastx-lab · online · 5 sessions'")
    paths = fastx.paths()  # started once, then listed (the daemon's state poll may list too)
    assert paths.count("POST /v3/api/session/start/bookmark") == 1
    assert "POST /v3/api/session/list" in paths[paths.index("POST /v3/api/session/start/bookmark"):]
    assert page.errors == []


async def test_keys_in_the_panel_press_its_buttons_not_the_remote(daemon: Daemon, browser: Browser,
                                                                  fastx: FakeFastx) -> None:
    add(daemon, fastx)
    page = await open_remote(daemon, browser)
    await page.eval(f"document.querySelector({json.dumps(row(DESK1) + ' .s-shot')}).focus()")
    for key, code, vk, text in (("ArrowDown", "ArrowDown", 40, ""), (" ", "Space", 32, " "),
                                ("Enter", "Enter", 13, "\r")):
        await page.send("Input.dispatchKeyEvent", type="keyDown", key=key, code=code, windowsVirtualKeyCode=vk,
                        text=text)
        await page.send("Input.dispatchKeyEvent", type="keyUp", key=key, code=code, windowsVirtualKeyCode=vk)
    # Space and Enter pressed the focused button (two screenshots); no key went to the device
    await page.wait(f"{fetched(page, f'/screenshot?session={DESK1}')} === 2")
    await page.wait(feedback_is("fastx-lab: screenshot of “Lab Desktop 1”"))
    assert await page.eval(fetched(page, "/remote/key")) == 0
    assert page.errors == []


async def test_no_sessions_panel_on_a_device_without_sessions(daemon: Daemon, browser: Browser, fastx: FakeFastx,
                                                              roku: FakeRoku) -> None:
    tv = daemon.add(roku)
    server = add(daemon, fastx)
    page = await browser.open(f"{daemon.url}/")
    await page.wait("document.querySelectorAll('#device option').length === 2")
    for dev, has_panel in ((tv, False), (server, True), (tv, False)):
        await page.eval(f"(s => {{ s.value = {json.dumps(dev['id'])}; s.dispatchEvent(new Event('change')); }})"
                        "(document.getElementById('device'))")
        await page.wait(f"document.getElementById('status').textContent.startsWith({json.dumps(dev['name'])})")
        if has_panel:
            await page.wait(names_are([s[0] for s in SEEDED]))
            assert await page.eval(PANEL_SHOWN) is True
        else:
            assert await page.eval("document.getElementById('sessions').hidden") is True
            assert await page.eval("document.querySelectorAll('#session-list li').length") == 0
    assert "sessions" not in tv["capabilities"]
    assert await page.eval(fetched(page, f"/v1/devices/{tv['id']}/sessions")) == 0
    assert page.errors == []


async def test_an_answer_for_another_device_is_dropped(daemon: Daemon, browser: Browser, fastx: FakeFastx,
                                                       tmp_path: Path) -> None:
    other = FakeFastx(tmp_path / "other-tls", hostname="fastx-annex", server_id="0d9b6f1e-2c3a-4e5b-8f70-a1b2c3d4e5f6")
    for sid in (DESK1, DESK2, MAP):  # the annex runs one session: Signage Lobby
        other.drop_session(sid)
    other.start()
    try:
        first = add(daemon, fastx)
        annex = add(daemon, other)
        page = await browser.open("about:blank")
        # the first server's session lists wait until the test lets them through; the page is told
        # (a macrotask, so after every microtask of its handling) once one has been read
        await page.send("Page.addScriptToEvaluateOnNewDocument", source=f"""
            const realFetch = window.fetch;
            window.held = [];
            window.readHeld = 0;
            window.fetch = (url, init) => {{
                if (!String(url).endsWith('/v1/devices/{first["id"]}/sessions')) return realFetch(url, init);
                return new Promise(release => window.held.push(release)).then(() => realFetch(url, init))
                    .then(r => {{
                        const json = r.json.bind(r);
                        r.json = () => json().then(v => {{ setTimeout(() => {{ window.readHeld++; }}, 0); return v; }});
                        return r;
                    }});
            }};
        """)
        await page.send("Page.navigate", url=f"{daemon.url}/")
        await page.wait(f"location.origin === {json.dumps(daemon.url)} && "
                        "document.querySelectorAll('#device option').length === 2")
        for dev in (first, annex):
            await page.eval(f"(s => {{ s.value = {json.dumps(dev['id'])}; s.dispatchEvent(new Event('change')); }})"
                            "(document.getElementById('device'))")
            if dev is first:
                await page.wait("window.held.length > 0")
        await page.wait(names_are(["Signage Lobby"]))  # the annex's only session
        held = await page.eval("window.held.length")
        await page.eval("window.held.forEach(release => release())")
        await page.wait(f"window.readHeld === {held}")
        assert await page.eval(names_are(["Signage Lobby"])) is True  # not the first server's four
        assert (await page.eval("document.getElementById('status').textContent")).startswith("fastx-annex")
        assert page.errors == []
    finally:
        other.stop()


async def test_a_session_name_is_shown_as_text(daemon: Daemon, browser: Browser, fastx: FakeFastx,
                                               tmp_path: Path) -> None:
    hostile = fastx.add_session(HOSTILE, "<b>mallory</b>", "800x600")
    add(daemon, fastx)
    page = await open_remote(daemon, browser)
    await page.wait("document.querySelectorAll('#session-list li').length === 5")
    assert (await page.eval(ROWS))[-1] == [HOSTILE, "<b>mallory</b>", "800x600", "0 clients"]
    assert await page.eval("document.querySelectorAll('#sessions img, #sessions b').length") == 0
    assert await page.eval(f"document.querySelector({json.dumps(row(hostile) + ' .s-terminate')})"
                           ".getAttribute('aria-label')") == f"Terminate {HOSTILE}"
    asked = page  # its dialogs: seen, and answered with the next of dialog_answers
    await page.click(f"{row(hostile)} .s-shot")  # an alert, had the name run as HTML, would show here
    await page.wait(feedback_is(f"fastx-lab: screenshot of “{HOSTILE}”"))
    assert await page.eval("document.getElementById('shot-of').textContent") == HOSTILE
    asked.dialog_answers.append(True)
    await page.click(f"{row(hostile)} .s-terminate")
    await page.wait(feedback_is(f"fastx-lab: terminated “{HOSTILE}”"), timeout=15)
    await page.wait(names_are([s[0] for s in SEEDED]))
    # the only dialog was the confirm, its message the name as written: no alert ran
    assert asked.dialogs == [("confirm", f"fastx-lab: terminate the session “{HOSTILE}” of <b>mallory</b>? "
                                      "Whatever runs in it ends.")]
    assert hostile not in fastx.sessions
    assert await page.eval("document.querySelectorAll('img[src=x]').length") == 0
    await page.screenshot(tmp_path / "remote-sessions-hostile.png", 1280, 900)
    assert page.errors == []
