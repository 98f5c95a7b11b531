"""The pointer operation (POST /v1/devices/{id}/pointer, tvctl click, the MCP tool click) against
the toy platform, whose 1280 x 720 screen records where it was clicked: in-process for the
request's forms and bounds, end-to-end through the real daemon and the real CLI."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.test_inprocess import PRESSED, BoastfulToy, ToyAdapter, data, served
from tests.test_platform_boundary import cli, toy_daemon, with_toy  # noqa: F401 (a fixture)

TVCTL = str(Path(sys.executable).with_name("tvctl"))


@pytest.mark.parametrize(("body", "answer", "recorded"), [
    ({"x": 640, "y": 360}, {"action": "click", "x": 0.5, "y": 0.5}, "click 0.500,0.500"),
    ({"x": 0.25, "y": 0.75, "unit": "fraction", "action": "double-click"},
     {"action": "double-click", "x": 0.25, "y": 0.75}, "double-click 0.250,0.750"),
    ({"x": 1280, "y": 0, "action": "right-click"}, {"action": "right-click", "x": 1.0, "y": 0.0},
     "right-click 1.000,0.000"),
    ({"x": 320, "y": 180, "action": "move"}, {"action": "move", "x": 0.25, "y": 0.25}, "move 0.250,0.250"),
    ({"x": 640, "y": 360, "action": "scroll", "dy": -3}, {"action": "scroll", "x": 0.5, "y": 0.5, "dy": -3},
     "scroll 0.500,0.500"),
])  # fmt: skip
async def test_pointer_forms(tmp_path: Path, body: dict[str, Any], answer: dict[str, Any], recorded: str) -> None:
    async with served(tmp_path, ToyAdapter) as (client, _):
        dev = data(await client.post("/v1/devices", json={"host": "10.9.8.5", "port": 9}))
        out = data(await client.post(f"/v1/devices/{dev['id']}/pointer", json=body))
        assert out == {"device": dev["name"], **answer}
        assert PRESSED[dev["id"]][-1] == recorded


@pytest.mark.parametrize(("body", "code", "message"), [
    ({"x": 2, "y": 0.5, "unit": "fraction"}, "invalid_payload",
     "A fraction of the screen is from 0 to 1; got x=2, y=0.5."),
    ({"x": -1, "y": 5}, "invalid_payload", "Field 'x': expected `float` >= 0.0."),
    ({"x": 5, "y": 5, "action": "wiggle"}, "invalid_payload", "Field 'action': invalid enum value 'wiggle'."),
    ({"x": 5, "y": 5, "action": "scroll", "dy": 500}, "invalid_payload", "Field 'dy': expected `int` <= 100."),
])  # fmt: skip
async def test_bad_pointer_requests_send_nothing(tmp_path: Path, body: dict[str, Any], code: str,
                                                 message: str) -> None:
    async with served(tmp_path, ToyAdapter) as (client, _):
        dev = data(await client.post("/v1/devices", json={"host": "10.9.8.4", "port": 9}))
        r = await client.post(f"/v1/devices/{dev['id']}/pointer", json=body)
        err = r.json()["error"]
        assert (r.status_code, err["code"]) == (400, code)
        assert err["message"] == message
        assert PRESSED.get(dev["id"], []) == []


async def test_a_device_without_the_pointer_capability_refuses(tmp_path: Path) -> None:
    async with served(tmp_path, BoastfulToy) as (client, _):
        dev = data(await client.post("/v1/devices", json={"host": "10.9.8.3", "port": 9}))
        r = await client.post(f"/v1/devices/{dev['id']}/pointer", json={"x": 1, "y": 1})
        assert (r.status_code, r.json()["error"]["code"]) == (400, "unsupported_operation")
        assert r.json()["error"]["message"] == "toy-10-9-8-3 (T1, toy) has no pointer to move or click."


def test_tvctl_click(toy_daemon: Any) -> None:  # noqa: F811 (the fixture)
    d = toy_daemon
    dev = d.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": 9, "platform": "toy"})
    p = cli(d, "click", "640", "360", dev["name"])
    assert (p.returncode, p.stdout.strip()) == (0, "clicked at 50%, 50% of the screen"), p.stderr
    p = cli(d, "click", "0.1", "0.9", "--fraction", "--right")
    assert p.stdout.strip() == "right-clicked at 10%, 90% of the screen", p.stderr
    p = cli(d, "click", "640", "360", "--scroll", "-3")
    assert p.stdout.strip() == "scrolled -3 at 50%, 50% of the screen", p.stderr
    p = cli(d, "--json", "click", "320", "180", "--move")
    assert p.returncode == 0 and '"action": "move"' in p.stdout
    p = cli(d, "click", "1.5", "0.5", "--fraction")
    assert p.returncode == 1 and p.stderr.startswith("tvctl: A fraction of the screen is from 0 to 1"), p.stderr
    p = cli(d, "click", "640", "360", "--double", "--right")
    assert p.returncode == 2


@pytest.mark.skipif(importlib.util.find_spec("mcp") is None, reason="the MCP SDK is not installed")
async def test_the_mcp_click_tool(toy_daemon: Any) -> None:  # noqa: F811 (the fixture)
    """An assistant looks (screenshot) and clicks where it saw something: the click tool, beside
    screenshot in the control tier."""
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    d = toy_daemon
    dev = d.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": 9, "platform": "toy"})
    params = StdioServerParameters(command=TVCTL, args=["--socket", str(d.socket), "mcp"],
                                   env={"PATH": os.environ["PATH"], **with_toy()})
    async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
        await s.initialize()
        tools = {t.name: t for t in (await s.list_tools()).tools}
        assert {"screenshot", "click"} <= set(tools)
        assert tools["click"].input_schema["required"] == ["device", "x", "y"]
        r = await s.call_tool("click", {"device": dev["name"], "x": 0.5, "y": 0.25, "unit": "fraction"})
        assert r.structured_content == {"device": dev["name"], "action": "click", "x": 0.5, "y": 0.25}
        r = await s.call_tool("click", {"device": dev["name"], "x": 2, "y": 2, "unit": "fraction"})
        assert r.is_error is True and "invalid_payload" in "".join(getattr(c, "text", "") for c in r.content)
