"""The fake Roku's network-access modes and its ecp-2 session, exercised directly over real sockets
(no daemon). Expected values are the recorded ones (``fixtures/roku/ecp2/``), written out here."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from yarl import URL

from tests.fakeroku import FIXTURES, FakeRoku

KEY = b"F3A278B8-1C6F-44A9-9D89-F1979CA4C6F1"
WAIT_S = 5.0  # bound on every read: a broken fake fails the test instead of hanging it
LIMITED_TEXT = b"ECP command not allowed in Limited mode."
OK = {"status": "200", "status-msg": "OK"}


def answer(challenge: str, key: bytes = KEY) -> str:
    return base64.b64encode(hashlib.sha1(challenge.encode() + key).digest()).decode()


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def http(client: aiohttp.ClientSession, roku: FakeRoku, method: str, path: str) -> tuple[int, str | None, bytes]:
    async with client.request(method, URL(roku.base + path, encoded=True)) as r:
        return r.status, r.headers.get("Content-Type"), await r.read()


class Session:
    """One client side of an ecp-2 session."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, hello: dict[str, Any]) -> None:
        self.ws = ws
        self.hello = hello
        self.ids = 1

    async def frame(self) -> aiohttp.WSMessage:
        return await self.ws.receive(timeout=WAIT_S)

    async def reply(self) -> dict[str, Any]:
        msg = await self.frame()
        assert msg.type is aiohttp.WSMsgType.TEXT, msg
        return json.loads(msg.data)  # type: ignore[no-any-return]

    async def ask(self, request: str, **params: str) -> dict[str, Any]:
        self.ids += 1
        await self.ws.send_json({"request": request, "request-id": str(self.ids),
                                 **{f"param-{k.replace('_', '-')}": v for k, v in params.items()}})
        reply = await self.reply()
        assert reply["response"] == request and reply["response-id"] == str(self.ids)
        return reply

    async def document(self, request: str) -> bytes:
        reply = await self.ask(request)
        assert reply["status"] == "200", reply
        return base64.b64decode(reply["content-data"])

    async def send_answer(self, key: bytes = KEY) -> None:
        await self.ws.send_json({"request": "authenticate", "request-id": "1",
                                 "param-response": answer(self.hello["param-challenge"], key),
                                 "param-client-friendly-name": "tvctl tests"})

    async def authenticate(self, key: bytes = KEY) -> dict[str, Any]:
        await self.send_answer(key)
        return await self.reply()

    async def closed(self) -> None:
        """The fake ends the session, having sent nothing more."""
        msg = await self.frame()
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), msg


@contextlib.asynccontextmanager
async def session(client: aiohttp.ClientSession, roku: FakeRoku, *, authenticate: bool = True
                  ) -> AsyncIterator[Session]:
    async with client.ws_connect(f"ws://127.0.0.1:{roku.port}/ecp-session", protocols=("ecp-2",)) as ws:
        assert ws.protocol == "ecp-2"
        first = await ws.receive(timeout=WAIT_S)
        s = Session(ws, json.loads(first.data))
        if authenticate:
            assert await s.authenticate() == {"response": "authenticate", "response-id": "1", **OK}
        yield s


# -- opening and authenticating --------------------------------------------------------------------
async def test_the_fake_speaks_first_with_a_fresh_challenge_each_session(tcl: FakeRoku,
                                                                        client: aiohttp.ClientSession) -> None:
    hellos = []
    for _ in range(2):
        async with session(client, tcl, authenticate=False) as s:
            hellos.append(s.hello)
    for hello in hellos:
        assert sorted(hello) == ["notify", "param-challenge", "param-methods", "timestamp"]
        assert hello["notify"] == "authenticate" and hello["param-methods"] == ["client-id", "jwt"]
        assert len(base64.b64decode(hello["param-challenge"], validate=True)) == 16
        assert re.fullmatch(r"\d+\.\d{3}", hello["timestamp"])
    assert hellos[0]["param-challenge"] != hellos[1]["param-challenge"]
    await tcl.wait_until_async(lambda: tcl.sessions_open == 0)
    assert tcl.sessions_opened == 2


async def test_the_right_answer_is_accepted_in_the_recorded_form(tcl: FakeRoku, client: aiohttp.ClientSession) -> None:
    async with session(client, tcl, authenticate=False) as s:
        await s.authenticate()
        # the reply went on the wire byte for byte as the TCL set sent it
        assert tcl.ws_frames[0]["param-response"] == answer(s.hello["param-challenge"])
        assert tcl.sessions_open == 1
    recorded = (FIXTURES / "ecp2/tcl-roku-tv-32s357-disabled/authenticate-response.json").read_text()
    async with session(client, tcl, authenticate=False) as s:
        await s.ws.send_json({"request": "authenticate", "request-id": "1",
                              "param-response": answer(s.hello["param-challenge"])})
        msg = await s.frame()
        assert msg.data == recorded == '{"response":"authenticate","response-id":"1","status":"200","status-msg":"OK"}'
    assert tcl.wire_log == [("ws", "authenticate"), ("ws", "authenticate")]


@pytest.mark.parametrize("refusal", ["status", "close", "silent"])
async def test_a_wrong_answer_is_refused_as_told(tcl: FakeRoku, client: aiohttp.ClientSession, refusal: str) -> None:
    tcl.session_key = "00000000-0000-0000-0000-000000000000"  # the set no longer takes the mobile app's key
    tcl.session_refusal = refusal
    async with session(client, tcl, authenticate=False) as s:
        if refusal == "status":
            assert await s.authenticate() == {"response": "authenticate", "response-id": "1", "status": "401",
                                              "status-msg": "Unauthorized"}
        elif refusal == "close":
            await s.send_answer()
        else:
            await s.send_answer()
            await s.ws.send_json({"request": "query-device-info", "request-id": "2"})
            # both frames were read (so the first was dealt with), then the session is closed from the
            # fake's side: a reply sent before would arrive before the close frame
            await tcl.wait_until_async(lambda: len(tcl.ws_frames) == 2)
            assert tcl.sessions_open == 1
            await asyncio.to_thread(tcl.close_sessions)
        await s.closed()
    assert [f["request"] for f in tcl.ws_frames] == (["authenticate", "query-device-info"] if refusal == "silent"
                                                     else ["authenticate"])


async def test_the_key_the_fake_checks_is_its_session_key(tcl: FakeRoku, client: aiohttp.ClientSession) -> None:
    tcl.session_key = "0F3A278B-1C6F-44A9-9D89-F1979CA4C6F1"
    async with session(client, tcl, authenticate=False) as s:
        assert (await s.authenticate(b"0F3A278B-1C6F-44A9-9D89-F1979CA4C6F1"))["status"] == "200"


@pytest.mark.parametrize("first", [
    {"request": "query-device-info", "request-id": "1"},  # a request before authenticating
    "not json at all",
    ["request", "authenticate"],
    {"request": "authenticate"},  # no request-id
    {"request": "authenticate", "request-id": 1},  # request-id not a string
])  # fmt: skip
async def test_anything_but_an_authenticate_request_first_ends_the_session(
        tcl: FakeRoku, client: aiohttp.ClientSession, first: Any) -> None:
    async with session(client, tcl, authenticate=False) as s:
        await s.ws.send_str(first if isinstance(first, str) else json.dumps(first))
        await s.closed()
    sent = first if isinstance(first, str) else json.dumps(first)
    assert tcl.ws_frames == [first if isinstance(first, dict) else {"raw": sent}]


async def test_a_frame_that_is_not_a_request_ends_an_authenticated_session(tcl: FakeRoku,
                                                                          client: aiohttp.ClientSession) -> None:
    async with session(client, tcl) as s:
        await s.ws.send_bytes(b"\x00\xff")
        await s.closed()
    assert tcl.ws_frames[1] == {"raw": "\x00\ufffd"}


async def test_no_session_on_firmware_without_it(tcl: FakeRoku, client: aiohttp.ClientSession) -> None:
    tcl.session_enabled = False
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await client.ws_connect(f"ws://127.0.0.1:{tcl.port}/ecp-session", protocols=("ecp-2",))
    assert err.value.status == 404
    assert tcl.wire_log == [("http", "GET /ecp-session")]


# -- requests ----------------------------------------------------------------------------------------
async def test_key_press_home_changes_the_active_app(tcl: FakeRoku, client: aiohttp.ClientSession) -> None:
    async with session(client, tcl) as s:
        assert (await s.ask("launch", channel_id="12")) == {"response": "launch", "response-id": "2", **OK}
        assert b'<app id="12" type="appl" version="1.0.0">Netflix</app>' in await s.document("query-active-app")
        assert (await s.ask("key-press", key="Home"))["status"] == "200"
        home = await s.document("query-active-app")
        assert home == b'<?xml version="1.0" encoding="UTF-8" ?>\n<active-app>\n    <app>Roku</app>\n</active-app>\n'
    assert await http(client, tcl, "GET", "/query/active-app") == (200, "text/xml; charset=utf-8", home)
    assert tcl.key_events() == [("ws", "press", "Home")]
    assert tcl.wire_log == [("ws", "authenticate"), ("ws", "launch 12"), ("ws", "query-active-app"),
                            ("ws", "key-press Home"), ("ws", "query-active-app"), ("http", "GET /query/active-app")]


async def test_key_names_on_the_session(tcl: FakeRoku, client: aiohttp.ClientSession) -> None:
    statuses = {}
    async with session(client, tcl) as s:
        for key in ("Lit_/", "Lit_😀", "Lit_ ", "LIT_a", "home", "Lit_%20", "Lit_ab", "Lit_", "Bogus", "Lit_é"):
            statuses[key] = (await s.ask("key-press", key=key))["status"]
    assert statuses == {"Lit_/": "200", "Lit_😀": "200", "Lit_ ": "200", "LIT_a": "200", "home": "200",
                        "Lit_%20": "400", "Lit_ab": "400", "Lit_": "400", "Bogus": "400", "Lit_é": "200"}
    assert tcl.key_events() == [("ws", "press", "Lit_/"), ("ws", "press", "Lit_😀"), ("ws", "press", "Lit_ "),
                          ("ws", "press", "Lit_a"), ("ws", "press", "Home"), ("ws", "press", "Lit_é")]


async def test_key_down_and_up(tcl: FakeRoku, client: aiohttp.ClientSession) -> None:
    recorded = json.loads((FIXTURES / "ecp2/tcl-roku-tv-32s357-enabled/ws-key-up-unheld-response.json").read_text())
    async with session(client, tcl) as s:
        assert (await s.ask("key-down", key="Lit_a"))["status"] == "200"
        assert (await s.ask("key-up", key="Lit_a"))["status"] == "200"
        s.ids = 11  # as in the capture: request-id "12", a key-up for a key not held
        assert await s.ask("key-up", key="Lit_b") == recorded == {
            "response": "key-up", "response-id": "12", "status": "202", "status-msg": "Accepted"}
    assert tcl.key_events() == [("ws", "down", "Lit_a"), ("ws", "up", "Lit_a"), ("ws", "up", "Lit_b")]


async def test_queries_carry_the_documents_http_serves(tcl: FakeRoku, client: aiohttp.ClientSession) -> None:
    async with session(client, tcl) as s:
        for name in ("device-info", "apps", "media-player", "tv-channels", "tv-active-channel", "audio-device"):
            reply = await s.ask(f"query-{name}")
            assert sorted(reply) == ["content-data", "content-type", "response", "response-id", "status",
                                     "status-msg"]
            assert reply["content-type"] == 'text/xml; charset="utf-8"'
            assert base64.b64decode(reply["content-data"]) == (await http(client, tcl, "GET", f"/query/{name}"))[2]
        textedit = await s.ask("query-textedit-state")
        assert textedit["content-type"] == 'application/json; charset="utf-8"'
        assert json.loads(base64.b64decode(textedit["content-data"])) == {"textedit-state": {"textedit-id": "none"}}
        assert await s.ask("query-everything") == {"response": "query-everything", "response-id": "9",
                                                   "status": "404", "status-msg": "Not Found"}
        # replies go out with sorted keys and compact separators, like the set's
        await s.ws.send_json({"request": "query-active-app", "request-id": "x"})
        raw = (await s.frame()).data
        assert raw.startswith('{"content-data":"') and raw.endswith(
            '","content-type":"text/xml; charset=\\"utf-8\\"","response":"query-active-app","response-id":"x",'
            '"status":"200","status-msg":"OK"}')


async def test_tuner_queries_only_on_a_tv(client: aiohttp.ClientSession) -> None:
    box = FakeRoku("box").start()
    try:
        async with session(client, box) as s:
            assert (await s.ask("query-tv-channels"))["status"] == "404"
            assert (await s.ask("query-tv-active-channel"))["status"] == "404"
            assert (await s.ask("query-apps"))["status"] == "200"
    finally:
        box.stop()


async def test_launch_with_deep_link_parameters(tcl: FakeRoku, client: aiohttp.ClientSession) -> None:
    async with session(client, tcl) as s:
        assert (await s.ask("launch", channel_id="837", params='{"contentId":"x","mediaType":"movie"}'))["status"] \
            == "200"
        assert tcl.active == ("837", "YouTube") and tcl.launch_params == {"contentId": "x", "mediaType": "movie"}
        assert (await s.ask("launch", channel_id="837"))["status"] == "202"  # as HTTP: already in front
        assert tcl.launch_params == {}
        assert (await s.ask("launch", channel_id="tvinput.dtv", params='{"ch":"1.3"}'))["status"] == "200"
        assert tcl.tuned == "1.3" and b"<number>1.3</number>" in await s.document("query-tv-active-channel")
        reply = await s.ask("launch", channel_id="99999")
        assert (reply["status"], reply["status-msg"]) == ("404", "Not Found")
        assert (await s.ask("launch", channel_id="12", params="contentId=x"))["status"] == "400"
        assert (await s.ask("launch", channel_id="12", params='["x"]'))["status"] == "400"
        assert (await s.ask("launch"))["status"] == "400"
    assert tcl.active == ("tvinput.dtv", "Live\u00a0TV")  # the recorded name, with its no-break space
    assert await http(client, tcl, "POST", "/launch/12?contentId=y&mediaType=series") == (200, None, b"")
    assert tcl.launch_params == {"contentId": "y", "mediaType": "series"}


async def test_volume_keys_change_the_audio_device_on_both_wires(tcl: FakeRoku, client: aiohttp.ClientSession) -> None:
    async with session(client, tcl) as s:
        start = await s.document("query-audio-device")
        assert (await s.ask("key-press", key="VolumeUp"))["status"] == "200"
        up = await s.document("query-audio-device")
        assert (await s.ask("key-press", key="volumemute"))["status"] == "200"
        muted = await s.document("query-audio-device")
    assert re.findall(rb"<muted>(\w+)</muted>\s*<volume>(\d+)</volume>", start) == [
        (b"false", b"9"), (b"false", b"9"), (b"false", b"100"), (b"false", b"100")]  # global, speakers, spdif, lineout
    assert re.findall(rb"<muted>(\w+)</muted>\s*<volume>(\d+)</volume>", up) == [
        (b"false", b"10"), (b"false", b"10"), (b"false", b"100"), (b"false", b"100")]
    assert re.findall(rb"<muted>(\w+)</muted>\s*<volume>(\d+)</volume>", muted) == [
        (b"true", b"10"), (b"true", b"10"), (b"false", b"100"), (b"false", b"100")]
    assert await http(client, tcl, "POST", "/keypress/VolumeDown") == (200, None, b"")
    assert (tcl.volume, tcl.muted) == (9, True)
    tcl.volume = 100
    assert await http(client, tcl, "POST", "/keypress/VolumeUp") == (200, None, b"")
    assert tcl.volume == 100  # at the top already
    assert (await http(client, tcl, "GET", "/query/audio-device"))[2].count(b"<volume>100</volume>") == 4


# -- cues --------------------------------------------------------------------------------------------
async def test_drop_every_closes_a_session_after_its_nth_reply(tcl: FakeRoku, client: aiohttp.ClientSession) -> None:
    tcl.drop_every = 3
    for _ in range(2):  # the count starts again in each session
        async with session(client, tcl) as s:
            for name in ("query-device-info", "key-press", "query-active-app"):
                reply = await (s.ask(name, key="Up") if name == "key-press" else s.ask(name))
                assert reply["status"] == "200"
            await s.closed()
    await tcl.wait_until_async(lambda: tcl.sessions_open == 0)
    assert tcl.sessions_opened == 2


async def test_a_hung_session_reads_and_never_answers(tcl: FakeRoku, client: aiohttp.ClientSession) -> None:
    tcl.session_hang = True
    async with session(client, tcl) as s:
        await s.ws.send_json({"request": "key-press", "request-id": "2", "param-key": "Home"})
        await s.ws.send_json({"request": "query-apps", "request-id": "3"})
        await tcl.wait_until_async(lambda: len(tcl.ws_frames) == 3)
        await asyncio.to_thread(tcl.close_sessions)
        await s.closed()
    assert tcl.key_events() == []  # nothing was carried out
    assert tcl.wire_log == [("ws", "authenticate"), ("ws", "key-press Home"), ("ws", "query-apps")]


async def test_injected_frames_go_out_before_the_next_reply(tcl: FakeRoku, client: aiohttp.ClientSession) -> None:
    async with session(client, tcl) as s:
        tcl.ws_inject = ["not json", b"\x00\x01", '{"response":"key-press","response-id":"99","status":"200"}']
        await s.ws.send_json({"request": "key-press", "request-id": "2", "param-key": "Home"})
        got = [await s.frame() for _ in range(4)]
    assert [(m.type, m.data) for m in got[:3]] == [
        (aiohttp.WSMsgType.TEXT, "not json"), (aiohttp.WSMsgType.BINARY, b"\x00\x01"),
        (aiohttp.WSMsgType.TEXT, '{"response":"key-press","response-id":"99","status":"200"}')]
    assert json.loads(got[3].data) == {"response": "key-press", "response-id": "2", **OK}
    assert tcl.ws_inject == []


async def test_stop_ends_open_sessions_at_once(client: aiohttp.ClientSession) -> None:
    roku = FakeRoku("tcl").start()
    async with session(client, roku) as s:
        assert roku.sessions_open == 1
        began = time.monotonic()
        await asyncio.to_thread(roku.stop)
        # cut, not closed: waiting for the handlers instead takes aiohttp's shutdown about a second
        assert time.monotonic() - began < 0.5
        msg = await s.frame()
        assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR), msg  # no close frame
    assert roku.sessions_open == 0


async def test_drop_sessions_cuts_the_connection(tcl: FakeRoku, client: aiohttp.ClientSession) -> None:
    async with session(client, tcl) as s:
        tcl.drop_sessions()
        msg = await s.frame()
        assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR), msg  # no close frame
    await tcl.wait_until_async(lambda: tcl.sessions_open == 0)
    async with session(client, tcl) as s:  # and the next session opens as usual
        assert (await s.ask("key-press", key="Home"))["status"] == "200"


# -- access modes over HTTP ----------------------------------------------------------------------------
async def test_limited_mode_over_http(tcl: FakeRoku, client: aiohttp.ClientSession) -> None:
    tcl.access = "limited"
    assert await http(client, tcl, "POST", "/keypress/Home") == (403, None, b"")
    assert await http(client, tcl, "POST", "/keyup/Lit_a") == (403, None, b"")
    assert await http(client, tcl, "POST", "/keydown/Lit_%2F") == (403, None, b"")
    assert await http(client, tcl, "POST", "/keypress/TvemuProbe") == (400, None, b"")  # the name is judged first
    assert await http(client, tcl, "POST", "/keypress/Lit_ab") == (400, None, b"")
    refused = (403, 'text/plain; charset="utf-8"', LIMITED_TEXT)
    for path in ("/query/apps", "/query/media-player", "/query/icon/12", "/query/tv-channels",
                 "/query/tv-active-channel", "/query/audio-device"):
        assert await http(client, tcl, "GET", path) == refused, path
    for path in ("/launch/12", "/search/browse?keyword=x", "/input/15985?t=v&u=http%3A%2F%2Fx", "/exit-app/12"):
        assert await http(client, tcl, "POST", path) == refused, path
    status, ctype, info = await http(client, tcl, "GET", "/query/device-info")
    assert (status, ctype) == (200, "text/xml; charset=utf-8")
    assert b"<ecp-setting-mode>limited</ecp-setting-mode>" in info
    assert (await http(client, tcl, "GET", "/query/active-app"))[0] == 200
    assert (await http(client, tcl, "GET", "/"))[0] == 200
    assert (tcl.key_events(), tcl.active) == ([], (None, "Roku"))  # no refused press reached the TV
    async with session(client, tcl) as s:  # the session is not restricted
        assert (await s.ask("key-press", key="Home"))["status"] == "200"
        assert (await s.ask("launch", channel_id="12"))["status"] == "200"
        assert b"Netflix" in await s.document("query-apps")
    assert (tcl.key_events(), tcl.active) == ([("ws", "press", "Home")], ("12", "Netflix"))


async def test_disabled_mode_over_http(tcl: FakeRoku, client: aiohttp.ClientSession) -> None:
    tcl.access = "disabled"
    for path in ("/query/device-info", "/query/active-app", "/query/apps", "/query/anything"):
        assert await http(client, tcl, "GET", path) == (401, None, b""), path
    for path in ("/keypress/Home", "/keyup/Lit_a", "/keypress/TvemuProbe", "/launch/0", "/launch/12"):
        assert await http(client, tcl, "POST", path) == (401, None, b""), path
    status, ctype, description = await http(client, tcl, "GET", "/")
    assert (status, ctype) == (200, 'text/xml; charset="utf-8"')
    assert b"<serialNumber>X02000EM0025</serialNumber>" in description
    assert b"<UDN>uuid:28002000-0000-1000-8000-020000000025</UDN>" in description
    assert tcl.key_events() == []
    async with session(client, tcl) as s:  # full control over the session
        assert b"<ecp-setting-mode>disabled</ecp-setting-mode>" in await s.document("query-device-info")
        assert (await s.ask("key-press", key="Home"))["status"] == "200"
    assert tcl.key_events() == [("ws", "press", "Home")]


@pytest.mark.parametrize("access", ["enabled", "limited", "disabled", "permissive"])
async def test_ecp_setting_mode_follows_access(tcl: FakeRoku, client: aiohttp.ClientSession, access: str) -> None:
    tcl.access = access
    async with session(client, tcl) as s:
        info = await s.document("query-device-info")
    assert re.findall(rb"<ecp-setting-mode>([^<]*)</ecp-setting-mode>", info) == [access.encode()]
    if access != "disabled":
        assert (await http(client, tcl, "GET", "/query/device-info"))[2] == info
    if access in ("enabled", "permissive"):
        assert await http(client, tcl, "POST", "/keypress/Home") == (200, None, b"")
        assert (await http(client, tcl, "GET", "/query/apps"))[0] == 200


async def test_a_kind_without_the_setting_stays_without_it(client: aiohttp.ClientSession) -> None:
    box = FakeRoku("box").start()
    try:
        box.access = "limited"
        status, _, info = await http(client, box, "GET", "/query/device-info")
        assert status == 200 and b"ecp-setting-mode" not in info
    finally:
        box.stop()


UDN = {  # kind: the udn of its device-info
    "box": "295c0011-5406-1067-80ac-d83134855445",
    "devbox": "29380007-0800-1025-80a4-d83154332d7e",
    "stick": "02706107-7801-107a-8035-b0a7376aec35",
    "tcl": "28002000-0000-1000-8000-020000000025",
    "tv": "015e5555-9000-5555-5555-b0a555555dfb",
}


@pytest.mark.parametrize("kind", sorted(UDN))
async def test_the_description_names_the_device_of_device_info(client: aiohttp.ClientSession, kind: str) -> None:
    roku = FakeRoku(kind, serial="SN0000000042").start()
    try:
        roku.access = "disabled"
        status, _, description = await http(client, roku, "GET", "/")
    finally:
        roku.stop()
    assert status == 200
    assert re.findall(rb"<serialNumber>([^<]*)</serialNumber>", description) == [b"SN0000000042"]
    assert re.findall(rb"<UDN>([^<]*)</UDN>", description) == [f"uuid:{UDN[kind]}".encode()]
    model = {"tcl": b"<modelNumber>H104X</modelNumber>", "tv": b"<modelNumber>7000X</modelNumber>"}
    assert model.get(kind, b"<modelNumber>3900X</modelNumber>") in description


async def test_keys_and_wire_log_over_both_wires(tcl: FakeRoku, client: aiohttp.ClientSession) -> None:
    await http(client, tcl, "POST", "/keypress/Home")
    async with session(client, tcl) as s:
        await s.ask("key-press", key="Lit_/")
        await http(client, tcl, "POST", "/keypress/Lit_%2F")
        tcl.access = "limited"
        assert (await http(client, tcl, "POST", "/keypress/Up"))[0] == 403  # did not reach the TV
        await s.ask("key-down", key="up")
        await http(client, tcl, "POST", "/keydown/Lit_%F0%9F%98%80")  # refused too
    assert tcl.key_events() == [("http", "press", "Home"), ("ws", "press", "Lit_/"), ("http", "press", "Lit_/"),
                          ("ws", "down", "Up")]
    assert tcl.wire_log == [("http", "POST /keypress/Home"), ("ws", "authenticate"), ("ws", "key-press Lit_/"),
                            ("http", "POST /keypress/Lit_%2F"), ("http", "POST /keypress/Up"), ("ws", "key-down up"),
                            ("http", "POST /keydown/Lit_%F0%9F%98%80")]
    tcl.clear()
    assert (tcl.key_events(), tcl.wire_log, tcl.ws_frames, tcl.requests) == ([], [], [], [])
