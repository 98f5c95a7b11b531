"""The ecp-2 session client on its own, against the fake TV's real WebSocket (in-process, fast)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator

import pytest
from tvctl_adapters.roku.errors import EcpSessionRefused
from tvctl_adapters.roku.session import EcpSession, answer

from tests.fakeroku import FakeRoku
from tvctl.errors import DeviceTimeout, DeviceUnreachable


@pytest.fixture
def tcl() -> Iterator[FakeRoku]:
    r = FakeRoku("tcl").start()
    r.access = "limited"
    try:
        yield r
    finally:
        r.stop()


def test_answer_matches_the_capture() -> None:
    # challenge.json and authenticate.json of the TCL capture, written out
    assert answer("dHZlbXUtY2hhbGxlbmdlIQ==") == "SZjg3gAnufgAB4lIYHaao22f3cQ="


async def test_requests_share_one_session_and_close_leaves_nothing(tcl: FakeRoku) -> None:
    s = EcpSession(tcl.host, tcl.port, "tcl")
    try:
        for key in ("Home", "Lit_/", "Lit_😀"):
            reply = await s.request("key-press", {"param-key": key}, timeout_s=2)
            assert (reply.response, reply.status) == ("key-press", "200")
        info = await s.request("query-device-info", timeout_s=2)
        assert b"<ecp-setting-mode>limited</ecp-setting-mode>" in info.body()
        bad = await s.request("key-press", {"param-key": "Lit_%20"}, timeout_s=2)
        assert bad.status == "400"  # nothing is percent-decoded on this wire
        assert tcl.sessions_opened == 1 and s.opened == 1
    finally:
        await s.close()
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
    assert not s.is_open


async def test_hostile_frames_are_dropped_and_logged(tcl: FakeRoku, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "tvctl_adapters.roku.session")
    s = EcpSession(tcl.host, tcl.port, "tcl")
    try:
        await s.request("query-active-app", timeout_s=2)
        tcl.ws_inject = ["not json {", "[1, 2]", '{"response":"key-press","response-id":"9999","status":"200"}',
                         '{"response":1,"response-id":["2"],"status":null}', b"\x00\x01binary"]
        reply = await s.request("key-press", {"param-key": "Home"}, timeout_s=2)
        assert reply.status == "200" and s.is_open and s.opened == 1
        assert "dropped" in caplog.text
    finally:
        await s.close()


async def test_a_huge_frame_ends_the_session_and_the_next_request_opens_another(tcl: FakeRoku) -> None:
    s = EcpSession(tcl.host, tcl.port, "tcl")
    try:
        await s.request("query-active-app", timeout_s=2)
        tcl.ws_inject = ["x" * (17 << 20)]
        with pytest.raises(DeviceUnreachable, match="not sent again"):
            await s.request("key-press", {"param-key": "Up"}, timeout_s=5)
        reply = await s.request("key-press", {"param-key": "Down"}, timeout_s=2)
        assert reply.status == "200" and s.opened == 2
    finally:
        await s.close()


async def test_silence_is_a_timeout_not_a_hang(tcl: FakeRoku) -> None:
    s = EcpSession(tcl.host, tcl.port, "tcl")
    tcl.session_hang = True
    t0 = time.monotonic()
    try:
        with pytest.raises(DeviceTimeout):
            await s.request("key-press", {"param-key": "Home"}, timeout_s=0.5)
    finally:
        await s.close()
    assert time.monotonic() - t0 < 3


@pytest.mark.parametrize("refusal", ["status", "close", "silent"])
async def test_a_wrong_key_is_refused_in_bounded_time(tcl: FakeRoku, refusal: str) -> None:
    tcl.session_key = "not the key tvctl knows"
    tcl.session_refusal = refusal
    s = EcpSession(tcl.host, tcl.port, "tcl")
    t0 = time.monotonic()
    try:
        with pytest.raises(DeviceTimeout if refusal == "silent" else EcpSessionRefused):
            await s.request("key-press", {"param-key": "Home"}, timeout_s=1, open_timeout_s=1)
    finally:
        await s.close()
    assert time.monotonic() - t0 < 3
    assert [k for k in tcl.key_events() if k[0] == "ws"] == []


async def test_no_session_route_is_refused(tcl: FakeRoku) -> None:
    tcl.session_enabled = False
    s = EcpSession(tcl.host, tcl.port, "tcl")
    try:
        with pytest.raises(EcpSessionRefused, match="HTTP 404"):
            await s.request("query-device-info", timeout_s=1)
    finally:
        await s.close()
