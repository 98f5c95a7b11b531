"""Adapters get their HTTP/WebSocket sessions from the context they are given
(``AdapterContext.open_session``), so a test can run an adapter in-process and hand it sessions
of its own: here ones that record what they were made for, against the fakes on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
from tvctl_adapters.blikvm import BliKvmAdapter
from tvctl_adapters.roku.ecp import RokuAdapter

from tests.fakekvm import FakeBliKvm
from tests.fakeroku import FakeRoku
from tvctl.config import Settings
from tvctl.platform import AdapterContext


class Sessions:
    """An ``open_session``: aiohttp's own sessions, each noted with the arguments it was made with."""

    def __init__(self) -> None:
        self.made: list[dict[str, Any]] = []

    def __call__(self, **kw: Any) -> aiohttp.ClientSession:
        self.made.append(kw)
        return aiohttp.ClientSession(**kw)


def context(tmp_path: Path, sessions: Sessions) -> AdapterContext:
    settings = Settings.defaults()
    return AdapterContext(settings=lambda: settings, state_dir=tmp_path / "state", cache_dir=tmp_path / "cache",
                          open_session=sessions)


async def test_the_roku_probe_uses_the_contexts_sessions(tmp_path: Path, roku: FakeRoku) -> None:
    sessions = Sessions()
    info = await RokuAdapter.probe(context(tmp_path, sessions), roku.host, roku.port, 2.0)
    assert info.serial == roku.serial
    assert [sorted(kw) for kw in sessions.made] == [["auto_decompress", "connector", "skip_auto_headers"]]
    assert roku.paths("GET") == ["/query/device-info"]


async def test_a_roku_in_disabled_mode_is_asked_over_the_contexts_websocket(tmp_path: Path, tcl: FakeRoku) -> None:
    tcl.access = "disabled"  # plain ECP answers 401: the probe moves to the ecp-2 session
    sessions = Sessions()
    info = await RokuAdapter.probe(context(tmp_path, sessions), tcl.host, tcl.port, 2.0)
    assert info.serial == tcl.serial
    assert [sorted(kw) for kw in sessions.made] == [["auto_decompress", "connector", "skip_auto_headers"],
                                                    ["skip_auto_headers"]]
    assert tcl.sessions_opened == 1


async def test_a_kvm_probe_uses_the_contexts_sessions(tmp_path: Path, kvm: FakeBliKvm) -> None:
    sessions = Sessions()
    info = await BliKvmAdapter.probe(context(tmp_path, sessions), "127.0.0.1", kvm.port, 2.0,
                                     credentials={"username": "admin", "password": "s3cret-kvm"})
    assert info.platform == "blikvm"
    assert [sorted(kw) for kw in sessions.made] == [["timeout"]]
