"""The web remote's actions in real headless Chromium (tests/browser.py): the forms the page builds
from GET /v1/operations (search, TV tune, play a URL), shown by the chosen device's capabilities,
sent through the real daemon to the fake devices."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import test_web
from tests.browser import CHROMIUM, Browser, Page
from tests.conftest import LOOPBACK_CONFIG, Daemon
from tests.fakekvm import FakeTinyPilot
from tests.fakeroku import FakeRoku
from tests.test_roku_features import APPS  # a TV's apps with the antenna input, tvinput.dtv

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
browser = test_web.browser  # the fixture: a headless Chromium for the test

FEEDBACK = "document.getElementById('feedback').textContent"


def shown(op: str) -> str:
    """JavaScript: whether the form for ``op`` is on the page and visible."""
    return f"(f => f !== null && f.offsetParent !== null)(document.querySelector('form[data-op={op}]'))"


def hidden(op: str) -> str:
    """JavaScript: whether the form for ``op`` is on the page and hidden."""
    return f"(f => f !== null && f.hidden)(document.querySelector('form[data-op={op}]'))"


async def feedback_is(page: Page, text: str) -> None:
    await page.wait(f"{FEEDBACK} === {json.dumps(text)}", timeout=15)


async def submit(page: Page, op: str) -> None:
    await page.click(f"form[data-op={op}] button[type=submit]")


async def choose(page: Page, value: str) -> None:
    """Pick a value in a <select> as a person does: set it, and the change event follows."""
    sel, val = value.split("=", 1)
    await page.eval(f"(() => {{ const s = document.querySelector({json.dumps(sel)}); s.value = {json.dumps(val)};"
                    " s.dispatchEvent(new Event('change', {bubbles: true})); })()")


async def test_a_tv_tunes_plays_and_searches_through_the_forms(daemon: Daemon, browser: Browser,
                                                               tmp_path: Path) -> None:
    roku = FakeRoku("tv", apps=APPS).start()
    try:
        dev = daemon.add(roku)
        name = dev["name"]
        page = await browser.open(f"{daemon.url}/")
        for op in ("search", "tv_tune", "play_media"):
            await page.wait(shown(op))
        assert await page.eval("document.getElementById('actions').hidden") is False
        # the forms are what the table says: headings, labels, controls, bounds, descriptions
        assert await page.eval("[...document.querySelectorAll('#action-forms form')].map(f => [f.dataset.op, "
                               "f.querySelector('h3').textContent, f.querySelector('button').textContent])") == [
            ["search", "Search for a title", "Search"],
            ["tv_tune", "Tune the TV tuner to a channel", "Tune"],
            ["play_media", "Play a video, audio or photo URL on the device", "Play"]]
        assert await page.eval("[...document.querySelectorAll('form[data-op=search] label')].map(l => "
                               "[l.textContent, document.getElementById(l.htmlFor).type])") == [
            ["keyword", "text"], ["app", "text"], ["type", "select-one"], ["season", "number"],
            ["launch", "checkbox"], ["strategy", "select-one"]]
        assert await page.eval("[...document.getElementById('op-search-strategy').options].map(o => "
                               "[o.value, o.textContent])") == [["", "—"], ["auto", "auto"], ["browse", "browse"],
                                                                 ["in-app", "in-app"]]
        season = await page.eval("(() => { const e = document.getElementById('op-search-season');"
                                 " return [e.min, e.max, e.step, e.required, e.title]; })()")
        assert season == ["1", "1000", "1", False, "With type tv-show: the season."]
        channel = await page.eval("(() => { const e = document.getElementById('op-tv_tune-channel');"
                                  " return [e.required, e.title, e.placeholder, e.labels[0].textContent]; })()")
        assert channel == [True, "Major.minor (5.1), or a number.", "Major.minor (5.1), or a number.", "channel"]
        assert await page.eval("document.querySelector('form[data-op=tv_tune]').getAttribute('aria-labelledby')") \
            == "op-tv_tune"

        roku.clear()
        await page.type("#op-tv_tune-channel", "1.3")
        await submit(page, "tv_tune")
        await feedback_is(page, f"{name}: tuned to 1.3 (QVC)")
        assert roku.paths() == ["/launch/tvinput.dtv?ch=1.3&chan=1.3&lcn=1.3"]

        roku.clear()
        await page.type("#op-play_media-url", "http://10.0.0.5/film.mp4")
        await page.type("#op-play_media-title", "Film")
        await submit(page, "play_media")
        await feedback_is(page, f"{name}: playing video “Film”")
        assert roku.paths() == ["/input/15985?t=v&u=http%3A%2F%2F10.0.0.5%2Ffilm.mp4&videoName=Film"]

        roku.clear()
        await page.type("#op-search-keyword", "Dune")
        await choose(page, "#op-search-strategy=browse")
        await submit(page, "search")
        await feedback_is(page, f"{name}: searched for “Dune” (browse); the app in front did not change")
        assert roku.paths() == ["/search/browse?keyword=Dune"]

        # a number goes as a number and a ticked box as true (the daemon takes no strings for them)
        roku.clear()
        await page.type("#op-search-app", "Netflix")
        await choose(page, "#op-search-type=tv-show")
        await page.type("#op-search-season", "2")
        await page.click("#op-search-launch")
        await submit(page, "search")
        await feedback_is(page, f"{name}: searched Netflix for “Dune” (browse); the app in front did not change")
        assert roku.paths() == ["/search/browse?keyword=Dune&type=tv-show&season=2&provider-id=12&launch=true"]
        await page.screenshot(tmp_path / "remote-actions.png", 1280, 1000)
        assert page.errors == []
    finally:
        roku.stop()


async def test_the_forms_follow_the_chosen_devices_capabilities(daemon: Daemon, browser: Browser,
                                                                tmp_path: Path) -> None:
    player = FakeRoku("stick").start()
    tv = FakeRoku("tv", apps=APPS).start()
    pilot = FakeTinyPilot(tmp_path / "tls").start()
    try:
        stick = daemon.add(player)
        roku_tv = daemon.add(tv)
        kvm = daemon.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": pilot.port, "platform": "tinypilot"})
        assert "channels" not in stick["capabilities"] and "channels" in roku_tv["capabilities"]
        page = await browser.open(f"{daemon.url}/")
        await page.wait("document.querySelectorAll('#device option').length === 3")
        await choose(page, f"#device={stick['id']}")
        await page.wait(f"document.getElementById('status').textContent.includes({json.dumps(stick['name'])})")
        await page.wait(shown("search"))
        assert await page.eval(shown("play_media")) is True
        assert await page.eval(hidden("tv_tune")) is True  # a player has no tuner

        await choose(page, f"#device={roku_tv['id']}")
        await page.wait(shown("tv_tune"))
        assert await page.eval(shown("search")) and await page.eval(shown("play_media"))

        await choose(page, f"#device={kvm['id']}")  # a KVM offers none of them: no empty panel
        await page.wait("document.getElementById('actions').hidden")
        assert all([await page.eval(hidden(op)) for op in ("search", "tv_tune", "play_media")])

        await choose(page, f"#device={stick['id']}")  # and back: the player's forms, and its id in the path
        await page.wait(shown("play_media"))
        player.clear()
        await page.type("#op-play_media-url", "https://radio.example/stream.mp3")
        await choose(page, "#op-play_media-type=audio")
        await submit(page, "play_media")
        await feedback_is(page, f"{stick['name']}: playing audio https://radio.example/stream.mp3")
        assert player.paths() == ["/input/15985?t=a&u=https%3A%2F%2Fradio.example%2Fstream.mp3"]
        assert tv.paths() == []
        assert page.errors == []
    finally:
        pilot.stop()
        tv.stop()
        player.stop()


async def test_a_bad_channel_is_stopped_and_errors_show_message_and_hint(daemon: Daemon, browser: Browser) -> None:
    roku = FakeRoku("tv", apps=APPS).start()
    try:
        dev = daemon.add(roku)
        name = dev["name"]
        page = await browser.open(f"{daemon.url}/")
        await page.wait(shown("tv_tune"))
        await page.wait("document.getElementById('status').textContent.includes('online')")
        roku.clear()
        # the channel's pattern stops the form in the browser: it says why, and nothing is sent
        await page.eval("document.getElementById('op-tv_tune-channel').addEventListener('invalid', "
                        "() => { window.invalidChannel = true; })")
        await page.type("#op-tv_tune-channel", "abc")
        await submit(page, "tv_tune")
        await page.wait("window.invalidChannel === true")
        assert await page.eval("document.getElementById('op-tv_tune-channel').validationMessage") \
            == "channel: Major.minor (5.1), or a number."
        assert await page.eval(FEEDBACK) == ""
        assert roku.paths() == []

        # the daemon refuses what the page lets through: its message and hint are shown
        await page.type("#op-play_media-url", "http://10.0.0.5/a film.mp4")
        await submit(page, "play_media")
        await feedback_is(page, f"{name}: The URL contains spaces or control characters; percent-encode them (%20). "
                                "Give an http:// or https:// URL the TV can reach, e.g. "
                                "http://192.168.1.10:8000/film.mp4.")
        assert roku.paths() == []

        # and so does an error from the device: this one is off the network
        roku.refuse()
        await page.eval("document.getElementById('op-tv_tune-channel').value = ''")
        await page.type("#op-tv_tune-channel", "1.3")
        await submit(page, "tv_tune")
        await feedback_is(page, f"{name}: {name} is unreachable: nothing is listening at 127.0.0.1:{roku.port} "
                                "(connection refused). Check that the TV is powered and on the same network "
                                "(tvctl device discover).")
        failed = "Failed to load resource: the server responded with a status of"
        assert page.errors == [f"{failed} 400 (Bad Request)", f"{failed} 500 (Internal Server Error)"]
    finally:
        roku.stop()


async def test_the_remote_works_without_the_operation_table(daemon: Daemon, roku: FakeRoku,
                                                            browser: Browser) -> None:
    daemon.add(roku)
    page = await browser.open("about:blank")
    # the page's GET /v1/operations fails (an error envelope); everything else goes to the daemon
    await page.send("Page.addScriptToEvaluateOnNewDocument", source="""
        const realFetch = window.fetch;
        window.fetch = (url, init) => String(url).endsWith('/v1/operations')
            ? Promise.resolve(new Response(JSON.stringify({ok: false, error: {code: 'internal_error',
                message: 'The table broke.', hint: 'See the daemon log.'}}), {status: 500,
                headers: {'Content-Type': 'application/json'}}))
            : realFetch(url, init);
    """)
    await page.send("Page.navigate", url=f"{daemon.url}/")
    await page.wait(f"location.origin === {json.dumps(daemon.url)} && document.readyState === 'complete'")
    await feedback_is(page, "actions unavailable: The table broke. See the daemon log.")  # words, never the code
    assert await page.eval("document.getElementById('actions').hidden") is True
    assert await page.eval("document.querySelectorAll('#action-forms form').length") == 0
    await page.wait("document.querySelectorAll('#grid button').length > 0")  # the rest of the remote is there
    roku.clear()
    await page.click("[data-key=up]")
    await page.wait(f"{FEEDBACK}.includes('sent up')")
    assert roku.paths() == ["/keypress/Up"]
    assert page.errors == []


async def test_after_signing_in_the_forms_load_and_enter_submits(tmp_path: Path, roku: FakeRoku,
                                                                 browser: Browser) -> None:
    d = Daemon(tmp_path / "d", LOOPBACK_CONFIG.replace("[daemon]\n", '[daemon]\napi_token = "web-token-5150"\n'))
    d.start()
    try:
        dev = d.http("POST", "/v1/devices", json={"host": roku.host, "port": roku.port},
                     headers={"Authorization": "Bearer web-token-5150"}).json()["data"]
        page = await browser.open(f"{d.url}/")
        await page.wait("!document.getElementById('login').hidden")
        assert await page.eval("document.getElementById('actions').hidden") is True
        await page.type("#token", "web-token-5150")
        await page.click("#login button")
        await page.wait(shown("tv_tune"))  # GET /v1/operations with the session cookie
        roku.clear()
        await page.type("#op-tv_tune-channel", "1.1")
        for key, code, vk, text in (("Tab", "Tab", 9, ""), ("Enter", "Enter", 13, "\r")):  # to the button, press it
            await page.send("Input.dispatchKeyEvent", type="keyDown", key=key, code=code, windowsVirtualKeyCode=vk,
                            text=text)
            await page.send("Input.dispatchKeyEvent", type="keyUp", key=key, code=code, windowsVirtualKeyCode=vk)
            if key == "Tab":
                assert await page.eval("document.activeElement.textContent") == "Tune"
        await feedback_is(page, f"{dev['name']}: tuned to 1.1 (WhatsOn)")
        assert roku.paths() == ["/launch/tvinput.dtv?ch=1.1&chan=1.1&lcn=1.1"]  # Enter is not the remote's OK key
        assert page.errors and all("status of 401" in e for e in page.errors), page.errors  # before signing in
    finally:
        d.stop()
