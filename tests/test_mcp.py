"""`tvctl mcp` started by the MCP SDK's own stdio client, against the real daemon and fake devices:
the tools listed per tier, each called (results are JSON objects), an error path, the read-only
tier, its help, the message without the extra, and the README's registration entry."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Daemon
from tests.fakeroku import FakeRoku
from tests.helpers import free_port

mcp = pytest.importorskip("mcp", reason="the MCP SDK (tvctl[mcp]) is not installed")

from mcp.client.session import ClientSession  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402
from mcp.types import ImageContent  # noqa: E402

TVCTL = str(Path(sys.executable).with_name("tvctl"))
ROOT = Path(__file__).resolve().parents[1]
READ_TOOLS = {"list_devices", "list_groups", "device_state", "list_apps", "screenshot", "tv_channels", "list_sessions"}
CONTROL_TOOLS = READ_TOOLS | {"press_keys", "type_text", "launch_app", "stop_app", "search", "tv_tune", "play_media",
                              "click", "terminate_session"}
DEV_TOOLS = CONTROL_TOOLS | {"dev_logs", "dev_reload", "dev_registry", "dev_packages"}
TV_APPS = (b'<?xml version="1.0" encoding="UTF-8" ?>\n<apps>\n'
           b'<app id="12" type="appl" version="4.1">Netflix</app>\n'
           b'<app id="tvinput.dtv" type="tvin" version="1.0.0">Antenna TV</app>\n</apps>\n')


@asynccontextmanager
async def session(daemon: Daemon, tier: str | None = None) -> AsyncIterator[ClientSession]:
    args = ["--socket", str(daemon.socket), "mcp"] + (["--tier", tier] if tier else [])
    params = StdioServerParameters(command=TVCTL, args=args, env={"PATH": os.environ["PATH"]})
    async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
        await s.initialize()
        yield s


def text(result: Any) -> str:
    return "".join(c.text for c in result.content if getattr(c, "type", "") == "text")


@pytest.mark.parametrize(("tier", "tools"), [(None, CONTROL_TOOLS), ("read", READ_TOOLS), ("dev", DEV_TOOLS)])
async def test_tools_per_tier(daemon: Daemon, tier: str | None, tools: set[str]) -> None:
    async with session(daemon, tier) as s:
        listed = (await s.list_tools()).tools
        assert {t.name for t in listed} == tools
        by_name = {t.name: t for t in listed}
        hints = {name: t.annotations for name, t in by_name.items()}
        assert hints["list_devices"] is not None and hints["list_devices"].read_only_hint is True
        if "press_keys" in hints:
            assert hints["press_keys"] is not None and hints["press_keys"].read_only_hint is False
        if "dev_reload" in hints:
            assert hints["dev_reload"] is not None and hints["dev_reload"].destructive_hint is True


async def test_every_control_tool_reaches_the_device(daemon: Daemon, roku: FakeRoku) -> None:
    dev = daemon.add(roku)
    async with session(daemon) as s:
        devices = json.loads(text(await s.call_tool("list_devices", {})))["devices"]
        assert [d["id"] for d in devices] == [dev["id"]]
        state = json.loads(text(await s.call_tool("device_state", {"device": dev["name"]})))
        assert state["device"]["id"] == dev["id"] and "power" in state["state"]
        apps = json.loads(text(await s.call_tool("list_apps", {"device": dev["name"]})))
        assert any(a["name"] == "Netflix" for a in apps["apps"])
        roku.clear()
        await s.call_tool("press_keys", {"device": dev["name"], "keys": ["home"]})
        await s.call_tool("press_keys", {"device": dev["name"], "keys": ["up", "select"], "delay_ms": 0})
        await s.call_tool("type_text", {"device": dev["name"], "text": "a b"})
        assert roku.paths() == ["/keypress/Home", "/keypress/Up", "/keypress/Select", "/keypress/Lit_a",
                                "/keypress/Lit_%20", "/keypress/Lit_b"]
        roku.clear()
        out = json.loads(text(await s.call_tool("launch_app", {"device": dev["name"], "app": "Netflix",
                                                               "params": {"contentId": "80057281"}})))
        assert out["launched"]["name"] == "Netflix"
        assert roku.paths() == ["/launch/12?contentId=80057281"]
        out = json.loads(text(await s.call_tool("stop_app", {"device": dev["name"]})))
        assert out["device"] == dev["name"]


async def test_a_fastx_server_sessions_looked_at_started_and_ended(daemon: Daemon, tmp_path: Path) -> None:
    """An assistant lists a FastX server's sessions, looks at one, starts one from a bookmark and
    ends one: the requests the fake server receives are the seed's."""
    from tests.fakefastx import FakeFastx

    fastx = FakeFastx(tmp_path / "tls").start()
    try:
        dev = daemon.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": fastx.port, "platform": "fastx",
                                                     "credentials": {"username": "lab", "password": "s3cret-pass"}})
        lobby = "3c9a41e2-7b05-4d1f-8e6a-b20d5c7f1a01"
        async with session(daemon) as s:
            tools = {t.name: t for t in (await s.list_tools()).tools}
            assert set(tools["list_sessions"].input_schema["properties"]) == {
                "device", "start", "limit", "sort_by", "sort_reverse", "filter"}
            assert set(tools["terminate_session"].input_schema["properties"]) == {"device", "session"}
            assert tools["terminate_session"].annotations is not None
            assert tools["terminate_session"].annotations.destructive_hint is True
            r = await s.call_tool("list_sessions", {"device": dev["name"], "filter": ["user==kiosk"]})
            assert r.is_error is False, text(r)
            assert r.structured_content is not None
            assert [x["name"] for x in r.structured_content["sessions"]] == ["Signage Lobby", "Kiosk Map"]
            shot = await s.call_tool("screenshot", {"device": dev["name"], "session": "Signage Lobby"})
            image = next(c for c in shot.content if isinstance(c, ImageContent))
            assert base64.b64decode(image.data) == fastx.png_for(lobby)
            fastx.clear()
            r = await s.call_tool("launch_app", {"device": dev["name"], "app": "XTerm"})
            assert r.is_error is False, text(r)
            assert r.structured_content is not None and r.structured_content["session"]["name"] == "XTerm"
            r = await s.call_tool("terminate_session", {"device": dev["name"], "session": "Kiosk Map"})
            assert r.is_error is False, text(r)
            assert [x.body for x in fastx.requests if x.path.startswith("/v3/api/session/")] == [
                {"id": "bm-xterm"}, {"start": 0, "sortReverse": False},
                {"id": "3c9a41e2-7b05-4d1f-8e6a-b20d5c7f1a04"}]
            r = await s.call_tool("terminate_session", {"device": dev["name"], "session": "Kiosk Map"})
            assert r.is_error is True and "session_not_found" in text(r) and "list_sessions" in text(r)
    finally:
        fastx.stop()


async def test_search_tune_and_play_come_from_the_operation_table(daemon: Daemon) -> None:
    """The tools the operation table declares for search, live TV and playing a URL: their
    parameters described, each reaching the TV as its own request, the result an object."""
    roku = FakeRoku("tv", apps=TV_APPS).start()
    try:
        dev = daemon.add(roku)
        async with session(daemon) as s:
            tools = {t.name: t for t in (await s.list_tools()).tools}
            tune = tools["tv_tune"].input_schema
            assert tune["required"] == ["channel"]  # and a device, or a group instead
            assert {"device", "group"} <= set(tune["properties"])
            assert tune["properties"]["channel"]["description"] == "Major.minor (5.1), or a number."
            assert set(tools["play_media"].input_schema["properties"]) == {"device", "group", "url", "type", "title",
                                                                           "format"}
            assert tools["search"].annotations is not None and tools["search"].annotations.read_only_hint is False
            roku.clear()
            r = await s.call_tool("tv_tune", {"device": dev["name"], "channel": "1.3"})
            assert r.is_error is False, text(r)
            assert r.structured_content == {"device": dev["name"], "channel": "1.3", "name": "QVC",
                                            "input": "tvinput.dtv"}
            assert roku.paths() == ["/launch/tvinput.dtv?ch=1.3&chan=1.3&lcn=1.3"]
            roku.clear()
            r = await s.call_tool("play_media", {"device": dev["name"], "url": "http://10.0.0.5/film.mp4",
                                                 "title": "Film"})
            assert r.is_error is False, text(r)
            assert roku.paths() == ["/input/15985?t=v&u=http%3A%2F%2F10.0.0.5%2Ffilm.mp4&videoName=Film"]
            assert r.structured_content is not None and r.structured_content["type"] == "video"
            roku.clear()
            r = await s.call_tool("search", {"device": dev["name"], "keyword": "Dune", "strategy": "browse"})
            assert r.is_error is False, text(r)
            assert roku.paths() == ["/search/browse?keyword=Dune"]
            assert r.structured_content is not None and r.structured_content["tried"] == ["browse"]
            r = await s.call_tool("tv_tune", {"device": dev["name"], "channel": "one"})
            assert r.is_error is True and "invalid_payload" in text(r), text(r)
            channels = json.loads(text(await s.call_tool("tv_channels", {"device": dev["name"]})))
            assert [c["number"] for c in channels["channels"]] == ["1.1", "1.3"]
    finally:
        roku.stop()


async def test_errors_carry_the_message_and_hint(daemon: Daemon, roku: FakeRoku) -> None:
    daemon.add(roku)
    daemon.ok("PATCH", "/v1/config", json={"roku.console_port": free_port()})  # nothing listens there
    async with session(daemon, "dev") as s:
        r = await s.call_tool("dev_logs", {"device": "default"})
        assert r.is_error is True and "dev_mode_disabled: Nothing answers on" in text(r)  # a platform's code
        r = await s.call_tool("press_keys", {"device": "nobody", "keys": ["home"]})
        assert r.is_error is True
        assert text(r).endswith("device_not_found: No known device matched 'nobody'. Hint: Call the list_devices "
                                "tool for the known devices' ids and names.")
        r = await s.call_tool("launch_app", {"device": "default", "app": "no-such-app"})
        assert r.is_error is True and "Hint: Call the list_apps tool" in text(r) and "tvctl apps" not in text(r)
        r = await s.call_tool("screenshot", {"device": "default"})  # no developer mode on this Roku
        assert r.is_error is True and "unsupported_operation" in text(r)


async def test_screenshot_is_image_content(daemon: Daemon, tmp_path: Path) -> None:
    from tests.fakekvm import JPEG_SCREEN, FakeTinyPilot

    pilot = FakeTinyPilot(tmp_path / "tls").start()
    try:
        dev = daemon.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": pilot.port,
                                                     "platform": "tinypilot"})
        async with session(daemon, "read") as s:
            r = await s.call_tool("screenshot", {"device": dev["name"]})
            images = [c for c in r.content if c.type == "image"]
            assert len(images) == 1 and images[0].mime_type == "image/jpeg"
            assert base64.b64decode(images[0].data) == JPEG_SCREEN
            r = await s.call_tool("press_keys", {"device": dev["name"], "keys": ["KeyA"]})
            assert r.is_error is True  # not a tool of the read tier
            assert pilot.typed == []
    finally:
        pilot.stop()


async def test_dev_tools(daemon: Daemon) -> None:
    from tests.test_devmode import install, make_zip

    roku = FakeRoku("devbox").start()
    try:
        roku.console_script = b"------ Running dev 'sampleApp' main ------\r\n"
        dev = daemon.add(roku)
        daemon.ok("PATCH", "/v1/config", json={"roku.installer_port": roku.installer_port,
                                               "roku.console_port": roku.console_port,
                                               "roku.dev_password": roku.password})
        assert install(daemon, dev["id"], make_zip()).status_code == 200
        roku.clear()
        async with session(daemon, "dev") as s:
            out = json.loads(text(await s.call_tool("dev_reload", {"device": dev["name"]})))
            assert out["reloaded"] is True and roku.paths()[-1] == "/launch/dev"
            logs = ""
            async with asyncio.timeout(10):  # the console is read from its first request on
                while "------ Running dev 'sampleApp' main ------" not in logs:
                    logs = text(await s.call_tool("dev_logs", {"device": dev["name"]}))
    finally:
        roku.stop()


async def test_results_are_json_objects(daemon: Daemon, roku: FakeRoku) -> None:
    """structuredContent is the daemon's data as an object (not a JSON string in one), and the text
    content says the same."""
    dev = daemon.add(roku)
    async with session(daemon) as s:
        tools = {t.name: t for t in (await s.list_tools()).tools}
        for name in ("list_devices", "device_state", "list_apps", "press_keys", "launch_app"):
            schema = tools[name].output_schema
            assert schema is not None and schema["type"] == "object", (name, schema)
        r = await s.call_tool("list_devices", {})
        assert isinstance(r.structured_content, dict) and set(r.structured_content) == {"devices"}
        assert [d["name"] for d in r.structured_content["devices"]] == [dev["name"]]
        assert json.loads(text(r)) == r.structured_content
        r = await s.call_tool("device_state", {"device": dev["name"]})
        assert isinstance(r.structured_content, dict) and r.structured_content["device"]["id"] == dev["id"]
        roku.clear()
        r = await s.call_tool("press_keys", {"device": dev["name"], "keys": ["home"]})
        assert r.structured_content == {"device": dev["name"], "key": "home", "repeat": 1, "ecp": "Home"}
        assert roku.paths() == ["/keypress/Home"]


def test_help_says_the_daemon_must_run_and_how_to_register() -> None:
    p = subprocess.run([TVCTL, "mcp", "--help"], capture_output=True, text=True, env={**os.environ, "COLUMNS": "100"})
    assert p.returncode == 0 and p.stderr == ""
    assert "The tvctl daemon must be running (tvctl daemon, or systemctl --user start tvctl)" in p.stdout
    entry = json.dumps({"mcpServers": {"tvctl": {"command": TVCTL, "args": ["mcp"]}}})
    assert f"\n  {entry}\n" in p.stdout  # this tvctl's own full path, ready to paste
    assert f"\n  claude mcp add tvctl -- {TVCTL} mcp\n" in p.stdout
    assert "--tier {read,control,dev}" in p.stdout


def test_without_the_extra_it_says_how_to_install_it(tmp_path: Path) -> None:
    """As after a plain `pipx install .`: the mcp package cannot be imported (a stand-in that fails
    as a missing package does, first on the path)."""
    shim = tmp_path / "shim" / "mcp"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text('raise ModuleNotFoundError("No module named \'mcp\'", name="mcp")\n')
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "shim")}
    p = subprocess.run([TVCTL, "mcp"], capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.splitlines() == [
        "tvctl: the MCP server needs the optional extra tvctl[mcp] (mcp is not installed)",
        "hint: install the extra into tvctl's environment: pip install 'tvctl[mcp]'; installed with pipx: "
        "pipx install --force 'tvctl[mcp]' or pipx inject tvctl mcp",
    ]


async def test_the_readme_entry_works_with_the_readmes_venv(daemon: Daemon, roku: FakeRoku) -> None:
    """The README's command prints the entry for the repository's .venv; an MCP client started with
    nothing of this venv on its PATH (as clients start servers) runs it, against the daemon at the
    default socket place."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## AI assistants (MCP)"):]
    section = section[: section.index("\n## ", 1)]
    [command] = re.findall(r"```sh\n(printf .+?)\n```", section, re.S)
    printed = subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    entry = json.loads(printed)
    server = entry["mcpServers"]["tvctl"]
    assert server == {"command": str(ROOT / ".venv" / "bin" / "tvctl"), "args": ["mcp"]}
    [example] = re.findall(r"```json\n(.+?)\n```", section, re.S)
    assert json.loads(example) == json.loads(printed.replace(str(ROOT), "/home/me/tvctl"))
    dev = daemon.add(roku)
    params = StdioServerParameters(command=server["command"], args=server["args"],
                                   env={"PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": str(daemon.runtime)})
    async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
        await s.initialize()
        r = await s.call_tool("list_devices", {})
        assert r.is_error is False
        assert r.structured_content == {"devices": [daemon.ok("GET", f"/v1/devices/{dev['id']}")]}
