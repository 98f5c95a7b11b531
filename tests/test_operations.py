"""The operation table: an operation the toy platform declares (one entry in its ``operations`` and
the method that does it, both in tests/toyplatform/) is, with nothing else written for it, a
route of the real daemon and in its OpenAPI document, a row of GET /v1/operations, a method of the
typed client, an MCP tool and a CLI verb."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Daemon
from tests.test_platform_boundary import cli, with_toy

TVCTL = str(Path(sys.executable).with_name("tvctl"))


@pytest.fixture
def toy(tmp_path: Path) -> Iterator[tuple[Daemon, dict[str, Any]]]:
    d = Daemon(tmp_path, extra_env=with_toy()).start()
    try:
        dev = d.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": 9, "platform": "toy"})
        yield d, dev
    finally:
        d.stop()


def test_a_platform_operation_is_a_route_in_the_openapi_document_and_the_table(
        toy: tuple[Daemon, dict[str, Any]]) -> None:
    d, dev = toy
    doc = d.http("GET", "/v1/openapi.json").json()
    route = doc["paths"]["/v1/devices/{id}/toy/wave"]["post"]
    assert route["operationId"] == "toy_wave" and route["summary"] == "Wave at the toy screen."
    body = route["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Wave"}
    assert doc["components"]["schemas"]["Wave"]["required"] == ["times"]
    data = route["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["data"]
    assert data == {"$ref": "#/components/schemas/Waved"}
    [row] = [op for op in d.ok("GET", "/v1/operations") if op["name"] == "toy_wave"]
    assert (row["method"], row["path"], row["cli"], row["mcp"], row["tool"]) == (
        "POST", "/v1/devices/{id}/toy/wave", ["toy", "wave"], "control", "toy_wave")
    assert row["fields"] == [
        {"name": "times", "type": "integer", "required": True, "description": "How many times to wave.",
         "choices": None, "minimum": 1, "maximum": 5, "pattern": None},
        {"name": "hand", "type": "string", "required": False, "description": "left or right.",
         "choices": None, "minimum": None, "maximum": None, "pattern": "^(left|right)$"}]
    # served: checked against its request type, run by the toy, refused where the capability is missing
    assert d.ok("POST", f"/v1/devices/{dev['id']}/toy/wave", json={"times": 2, "hand": "left"}) == {
        "device": dev["name"], "waves": ["left wave 1", "left wave 2"]}
    err = d.err("POST", f"/v1/devices/{dev['id']}/toy/wave", 400, "invalid_payload", json={"times": 9})
    assert "times" in err["message"]
    d.err("POST", f"/v1/devices/{dev['id']}/toy/wave", 400, "invalid_payload", json={"times": 1, "feet": 2})


def test_a_platform_operation_is_a_typed_client_method(toy: tuple[Daemon, dict[str, Any]]) -> None:
    d, dev = toy
    script = (
        "import sys\n"
        "from tvctl.typedclient import TypedClient\n"
        "tv = TypedClient(sys.argv[1])\n"
        "print('toy_wave' in dir(tv), tv.toy_wave.__doc__)\n"
        "r = tv.toy_wave(sys.argv[2], times=3)\n"
        "print(type(r).__module__, type(r).__name__, r.waves)\n"
        "try:\n"
        "    tv.toy_wave(sys.argv[2], times=0)\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc.code)\n")
    env = {**os.environ, **with_toy()}
    p = subprocess.run([sys.executable, "-c", script, str(d.socket), dev["name"]], env=env, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [
        "True Wave at the toy screen.",
        "tvctl_toy Waved ['right wave 1', 'right wave 2', 'right wave 3']",
        "BadRequest invalid_payload"]


def test_a_platform_operation_is_a_cli_verb(toy: tuple[Daemon, dict[str, Any]]) -> None:
    d, dev = toy
    p = cli(d, "toy", "wave", "2", dev["name"], "--hand", "left")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"device": dev["name"], "waves": ["left wave 1", "left wave 2"]}
    p = cli(d, "toy", "wave", "--help")
    assert p.returncode == 0 and "Wave at the toy screen." in p.stdout and "--hand" in p.stdout
    p = cli(d, "toy", "wave", "9", dev["name"])
    assert p.returncode == 1 and p.stderr.startswith("tvctl: ") and "times" in p.stderr
    p = cli(d, "toy", "dance", dev["name"])
    assert p.returncode == 2 and "'toy dance' is not a tvctl command" in p.stderr


@pytest.mark.skipif(not any((Path(p) / "mcp").is_dir() for p in sys.path if p), reason="the MCP SDK is not installed")
async def test_a_platform_operation_is_an_mcp_tool(toy: tuple[Daemon, dict[str, Any]]) -> None:
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    d, dev = toy
    params = StdioServerParameters(command=TVCTL, args=["--socket", str(d.socket), "mcp"],
                                   env={"PATH": os.environ["PATH"], **with_toy()})
    async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
        await s.initialize()
        tools = {t.name: t for t in (await s.list_tools()).tools}
        assert tools["toy_wave"].description == "Wave at the toy screen."
        assert tools["toy_wave"].input_schema["required"] == ["device", "times"]
        r = await s.call_tool("toy_wave", {"device": dev["name"], "times": 1})
        assert r.is_error is False
        assert r.structured_content == {"device": dev["name"], "waves": ["right wave 1"]}
