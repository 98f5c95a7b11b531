"""Groups: the API in-process (tests/inproc.py) against fake Rokus and a fake KVM, and end to end
through the daemon process (persistence across a restart), the CLI and the MCP server. Expected
requests and answers are written out here."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Daemon
from tests.fakekvm import FakeTinyPilot
from tests.fakeroku import FakeRoku
from tests.helpers import wait_for
from tests.inproc import InProcDaemon

TVCTL = str(Path(sys.executable).with_name("tvctl"))


@pytest.fixture
def tvs() -> Iterator[list[FakeRoku]]:
    fakes = [FakeRoku("tv", serial=f"X00000000{n}").start() for n in range(3)]
    try:
        yield fakes
    finally:
        for f in fakes:
            f.stop()


def add_all(d: Any, fakes: list[FakeRoku]) -> list[dict[str, Any]]:
    out = []
    for n, f in enumerate(fakes):
        dev = d.add(f)
        out.append(d.ok("PATCH", f"/v1/devices/{dev['id']}", json={"name": f"tv-{n}"}))
        f.clear()
    return out


# -- the groups themselves ----------------------------------------------------------------------------
def test_create_list_change_and_delete(inproc: InProcDaemon, tvs: list[FakeRoku]) -> None:
    devs = add_all(inproc, tvs)
    ids = [d["id"] for d in devs]
    g = inproc.ok("POST", "/v1/groups", json={"name": "lobby", "devices": ["tv-0", ids[1], "TV-0"]})
    assert g == {"name": "lobby", "devices": [ids[0], ids[1]]}  # by name or id, each once
    assert inproc.ok("GET", "/v1/groups") == [g]
    assert inproc.ok("GET", "/v1/groups/lobby") == g
    assert inproc.ok("PATCH", "/v1/groups/lobby", json={"add": ["tv-2"]})["devices"] == ids
    assert inproc.ok("PATCH", "/v1/groups/lobby", json={"remove": ["tv-0"]})["devices"] == [ids[1], ids[2]]
    assert inproc.ok("PATCH", "/v1/groups/lobby", json={"devices": ["tv-2"]})["devices"] == [ids[2]]
    inproc.ok("POST", "/v1/groups", json={"name": "bar", "devices": ["tv-2", "tv-0"]})  # a device in two groups
    assert [x["name"] for x in inproc.ok("GET", "/v1/groups")] == ["lobby", "bar"]
    assert inproc.ok("DELETE", "/v1/groups/lobby") == {"name": "lobby", "devices": [ids[2]]}
    inproc.err("GET", "/v1/groups/lobby", 404, "group_not_found")
    assert len(inproc.ok("GET", "/v1/devices")) == 3  # its devices stay


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), [
    ("POST", "/v1/groups", {"name": "Lobby", "devices": []}, 400, "invalid_payload"),
    ("POST", "/v1/groups", {"name": "bar", "devices": ["nope"]}, 404, "device_not_found"),
    ("POST", "/v1/groups", {"name": "lobby"}, 400, "group_name_taken"),
    ("POST", "/v1/groups", {"name": "x", "devices": "tv-0"}, 400, "invalid_payload"),
    ("POST", "/v1/groups", {"name": "x", "members": []}, 400, "invalid_payload"),
    ("PATCH", "/v1/groups/lobby", {}, 400, "invalid_payload"),
    ("PATCH", "/v1/groups/nope", {"add": ["tv-0"]}, 404, "group_not_found"),
    ("DELETE", "/v1/groups/nope", None, 404, "group_not_found"),
    ("POST", "/v1/groups/nope/remote/key", {"key": "home"}, 404, "group_not_found"),
    ("POST", "/v1/groups/lobby/remote/key", {"key": "no such key"}, 400, "invalid_key"),
    ("POST", "/v1/groups/lobby/remote/key", {}, 400, "invalid_payload"),
])  # fmt: skip
def test_bad_requests_change_nothing(inproc: InProcDaemon, tvs: list[FakeRoku], method: str, path: str,
                                     body: Any, status: int, code: str) -> None:
    add_all(inproc, tvs)
    inproc.ok("POST", "/v1/groups", json={"name": "lobby", "devices": ["tv-0"]})
    before = inproc.ok("GET", "/v1/groups")
    inproc.err(method, path, status, code, **({"json": body} if body is not None else {}))
    assert inproc.ok("GET", "/v1/groups") == before
    assert [f.paths() for f in tvs] == [[], [], []]


# -- acting on a group ------------------------------------------------------------------------------------
def test_a_key_to_every_member(inproc: InProcDaemon, tvs: list[FakeRoku]) -> None:
    add_all(inproc, tvs)
    inproc.ok("POST", "/v1/groups", json={"name": "lobby", "devices": ["tv-0", "tv-1", "tv-2"]})
    data = inproc.ok("POST", "/v1/groups/lobby/remote/key", json={"key": "home"})
    assert data == {"group": "lobby", "results": [
        {"device": f"tv-{n}", "ok": True, "data": {"device": f"tv-{n}", "key": "home", "repeat": 1, "ecp": "Home"}}
        for n in range(3)]}
    assert [f.paths() for f in tvs] == [["/keypress/Home"]] * 3
    for f in tvs:
        f.clear()
    inproc.ok("POST", "/v1/groups/lobby/remote/sequence", json={"keys": ["up", "select"], "delay_ms": 0})
    inproc.ok("POST", "/v1/groups/lobby/apps/launch", json={"app": "Netflix"})
    assert [f.paths() for f in tvs] == [["/keypress/Up", "/keypress/Select", "/launch/12"]] * 3


def test_a_dead_member_is_said_and_the_others_succeed(inproc: InProcDaemon, tvs: list[FakeRoku]) -> None:
    add_all(inproc, tvs)
    inproc.ok("POST", "/v1/groups", json={"name": "lobby", "devices": ["tv-0", "tv-1", "tv-2"]})
    tvs[1].stop()  # unplugged
    data = inproc.ok("POST", "/v1/groups/lobby/remote/key", json={"key": "home"})
    assert [(r["device"], r["ok"]) for r in data["results"]] == [("tv-0", True), ("tv-1", False), ("tv-2", True)]
    err = data["results"][1]["error"]
    assert err["code"] == "device_unreachable" and err["message"] and err["hint"]
    assert [tvs[0].paths(), tvs[2].paths()] == [["/keypress/Home"], ["/keypress/Home"]]


def test_a_slow_member_holds_back_no_other(inproc: InProcDaemon, tvs: list[FakeRoku]) -> None:
    add_all(inproc, tvs)
    inproc.ok("POST", "/v1/groups", json={"name": "lobby", "devices": ["tv-0", "tv-1", "tv-2"]})
    tvs[0].delay_s = 1.5  # answers late (within roku.request_timeout_s, 2 s in the tests)
    answer: list[dict[str, Any]] = []
    sender = threading.Thread(target=lambda: answer.append(
        inproc.ok("POST", "/v1/groups/lobby/remote/key", json={"key": "home"})))
    sender.start()
    wait_for(lambda: tvs[1].paths() == ["/keypress/Home"] and tvs[2].paths() == ["/keypress/Home"],
             what="the fast members' keys")
    assert sender.is_alive()  # they had theirs while the slow one was still answering
    sender.join(10)
    assert [r["ok"] for r in answer[0]["results"]] == [True, True, True]


def test_members_without_the_capability_say_so(inproc: InProcDaemon, tvs: list[FakeRoku],
                                               pilot: FakeTinyPilot) -> None:
    add_all(inproc, tvs[:1])
    kvm = inproc.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": pilot.port, "platform": "tinypilot"})
    inproc.ok("POST", "/v1/groups", json={"name": "mixed", "devices": ["tv-0", kvm["name"]]})
    data = inproc.ok("POST", "/v1/groups/mixed/apps/launch", json={"app": "Netflix"})
    assert [(r["device"], r["ok"]) for r in data["results"]] == [("tv-0", True), (kvm["name"], False)]
    assert data["results"][1]["error"]["code"] == "unsupported_operation"
    data = inproc.ok("POST", "/v1/groups/mixed/remote/key", json={"key": "home"})
    assert [r["ok"] for r in data["results"]] == [True, True]
    assert pilot.typed[-1]["code"] == "Home"


def test_a_removed_device_leaves_its_groups(inproc: InProcDaemon, tvs: list[FakeRoku]) -> None:
    devs = add_all(inproc, tvs)
    inproc.ok("POST", "/v1/groups", json={"name": "lobby", "devices": ["tv-0", "tv-1"]})
    inproc.ok("POST", "/v1/groups", json={"name": "bar", "devices": ["tv-1"]})
    inproc.ok("DELETE", f"/v1/devices/{devs[1]['id']}")
    assert inproc.ok("GET", "/v1/groups") == [{"name": "lobby", "devices": [devs[0]["id"]]},
                                              {"name": "bar", "devices": []}]
    assert inproc.ok("POST", "/v1/groups/bar/remote/key", json={"key": "home"}) == {"group": "bar", "results": []}


# -- end to end: persistence, the CLI, MCP --------------------------------------------------------------
def test_groups_survive_a_restart_and_the_cli_drives_them(daemon: Daemon, tvs: list[FakeRoku]) -> None:
    devs = add_all(daemon, tvs)
    env = {"XDG_RUNTIME_DIR": str(daemon.runtime), "PATH": "/usr/bin:/bin"}

    def cli(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        p = subprocess.run([TVCTL, *args], capture_output=True, text=True, timeout=60, env=env)
        assert p.returncode == code, (p.stdout, p.stderr)
        return p

    assert cli("group", "create", "lobby", "tv-0", "tv-1").stdout.strip() == "created lobby: tv-0, tv-1"
    assert cli("group", "add", "lobby", "tv-2").stdout.strip() == "lobby: tv-0, tv-1, tv-2"
    daemon.stop()
    daemon.start()
    assert daemon.ok("GET", "/v1/groups") == [{"name": "lobby", "devices": [d["id"] for d in devs]}]
    listed = cli("group").stdout.splitlines()
    assert [line.split(None, 1) for line in listed] == [["GROUP", "DEVICES"], ["lobby", "tv-0, tv-1, tv-2"]]
    for f in tvs:
        f.clear()
    out = cli("-g", "lobby", "key", "home").stdout
    assert out.splitlines() == ["tv-0: ok", "tv-1: ok", "tv-2: ok"]
    assert [f.paths() for f in tvs] == [["/keypress/Home"]] * 3
    tvs[2].stop()
    p = cli("-g", "lobby", "apps", "launch", "Netflix", code=1)
    lines = p.stdout.splitlines()
    assert lines[:2] == ["tv-0: ok", "tv-1: ok"] and lines[2].startswith("tv-2: ")
    assert "1 of 3 failed" in p.stderr
    data = json.loads(cli("--json", "-g", "lobby", "type", "hi", code=1).stdout)
    assert [r["ok"] for r in data["results"]] == [True, True, False]
    assert "does not act on a group" in cli("-g", "lobby", "state", code=2).stderr
    assert "a group and a device" in cli("-g", "lobby", "-d", "tv-0", "key", "home", code=2).stderr
    assert cli("group", "remove", "lobby", "tv-2").stdout.strip() == "lobby: tv-0, tv-1"
    assert cli("group", "delete", "lobby").stdout.strip() == "deleted lobby: tv-0, tv-1"
    assert "group_not_found" not in cli("group", "show", "lobby", code=1).stderr  # said in words
    r = httpx.get(f"{daemon.url}/v1/groups/lobby")
    assert r.status_code == 404 and r.json()["error"]["code"] == "group_not_found"


async def test_mcp_tools_take_a_group(daemon: Daemon, tvs: list[FakeRoku]) -> None:
    from tests.test_mcp import session, text

    add_all(daemon, tvs[:2])
    daemon.ok("POST", "/v1/groups", json={"name": "lobby", "devices": ["tv-0", "tv-1"]})
    async with session(daemon) as s:
        groups = json.loads(text(await s.call_tool("list_groups", {})))["groups"]
        assert [g["name"] for g in groups] == ["lobby"]
        r = await s.call_tool("press_keys", {"group": "lobby", "keys": ["home"]})
        assert r.is_error is False, text(r)
        assert [f.paths() for f in tvs[:2]] == [["/keypress/Home"]] * 2
        r = await s.call_tool("launch_app", {"group": "lobby", "app": "Netflix"})
        assert r.is_error is False, text(r)
        assert r.structured_content is not None
        assert [m["ok"] for m in r.structured_content["results"]] == [True, True]
        assert [f.paths()[-1] for f in tvs[:2]] == ["/launch/12"] * 2
        r = await s.call_tool("launch_app", {"group": "nope", "app": "Netflix"})
        assert r.is_error is True and "group_not_found" in text(r) and "list_groups tool" in text(r)
