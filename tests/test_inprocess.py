"""The API in-process: the real Starlette app over httpx's ASGI transport, with a fake platform
(the toy one) put in place of the installed ones. Fast, and able to see inside: every test
checks that no asyncio task outlives it."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx
import pytest

from tvctl.api.app import create_app
from tvctl.config import Settings
from tvctl.events import EventBus
from tvctl.registry import Registry
from tvctl.runtime import Runtime
from tvctl.service import DeviceService


def _load_toy() -> Any:
    """The toy platform's module, loaded from its file: its folder is not put on sys.path, where
    its dist-info would install it for every later test of this process."""
    path = Path(__file__).parent / "toyplatform" / "tvctl_toy" / "__init__.py"
    spec = importlib.util.spec_from_file_location("tvctl_toy", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and type hints look their module up there
    spec.loader.exec_module(module)
    return module


toy = _load_toy()
PRESSED, ToyAdapter = toy.PRESSED, toy.ToyAdapter

PORT = 7272


@contextlib.asynccontextmanager
async def served(tmp_path: Path, platform: Any) -> AsyncIterator[tuple[httpx.AsyncClient, DeviceService]]:
    """The app and the service in-process with ``platform`` as the only one installed; no asyncio
    task may outlive it."""
    before = asyncio.all_tasks()
    # the defaults, and the toy's section as if it were installed
    settings = Settings(MappingProxyType({**Settings.defaults().values, "toy.greeting": "hello"}))
    runtime = Runtime(config_path=tmp_path / "config.toml", settings=settings, bus=EventBus(), http_port=PORT)
    service = DeviceService(runtime.get_settings, Registry(tmp_path / "state" / "devices.json"), runtime.bus,
                            tmp_path / "state", tmp_path / "cache", adapter_classes={"toy": platform})
    runtime.service = service
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://127.0.0.1:{PORT}") as client:
        yield client, service
    await service.close()
    await asyncio.sleep(0)  # let cancelled tasks finish
    leftover = [t for t in asyncio.all_tasks() - before if t is not asyncio.current_task()]
    assert leftover == [], f"tasks outlived the test: {leftover}"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, DeviceService]]:
    async with served(tmp_path, ToyAdapter) as both:
        yield both


def data(r: httpx.Response) -> Any:
    body = r.json()
    assert r.status_code == 200 and body["ok"] is True, body
    return body["data"]


async def test_devices_keys_and_screenshot_in_process(api: tuple[httpx.AsyncClient, DeviceService]) -> None:
    client, service = api
    dev = data(await client.post("/v1/devices", json={"host": "10.9.8.7", "port": 9}))
    assert dev["platform"] == "toy" and dev["online"] is True
    assert [d["id"] for d in data(await client.get("/v1/devices"))] == [dev["id"]]
    assert data(await client.post(f"/v1/devices/{dev['id']}/remote/sequence",
                                  json={"keys": ["home", "KeyA"], "delay_ms": 0}))["sent"] == 2
    assert PRESSED[dev["id"]] == ["home", "KeyA"]
    shot = await client.get(f"/v1/devices/{dev['id']}/screenshot")
    assert shot.content == b"hello:home,KeyA"
    r = await client.get(f"/v1/devices/{dev['id']}/apps")
    assert r.status_code == 400 and r.json()["error"]["code"] == "unsupported_operation"
    r = await client.patch(f"/v1/devices/{dev['id']}/credentials", json={"pin": "1234"})
    assert r.status_code == 400 and r.json()["error"] == {
        "code": "unsupported_operation", "message": "toy devices keep no credentials.",
        "hint": "This device does not offer that; see the device's capabilities in tvctl device show."}
    # the registry file holds what the API shows
    assert service.registry.path.exists() and dev["id"] in service.registry.path.read_text()


async def test_guard_and_errors_in_process(api: tuple[httpx.AsyncClient, DeviceService]) -> None:
    client, _ = api
    r = await client.get("/v1/devices", headers={"Host": "evil.example:7272"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "host_not_allowed"
    r = await client.post("/v1/devices", json={"host": "10.9.8.7", "port": 9, "platform": "nope"})
    assert r.status_code == 400 and "nope" in r.json()["error"]["message"]
    r = await client.post("/v1/devices", json={"host": "10.9.8.7", "port": 80})
    assert r.status_code == 500 and r.json()["error"]["code"] == "device_unreachable"
    assert "toy at 10.9.8.7:80" in r.json()["error"]["hint"]



@pytest.mark.parametrize(("method", "path", "kw", "code", "message", "hint"), [
    ("POST", "/v1/devices", {"json": {"host": "10.0.0.1", "port": 0}}, "invalid_payload",
     "Field 'port': expected `int` >= 1.", "Required: host; optional: port, platform, credentials."),
    ("POST", "/v1/devices", {"json": {"port": 9}}, "invalid_payload", "Missing field 'host'.", "Required: host"),
    ("POST", "/v1/devices", {"json": {"host": "a", "x": 1, "y": 2}}, "invalid_payload", "Unknown field(s): x, y.",
     "Allowed: host, port, platform, credentials."),
    ("POST", "/v1/devices/toy/remote/sequence", {"json": {"keys": ["home", "no such key"]}}, "invalid_key",
     "'no such key' is not a key name.", "Key names are listed by tvctl key --help"),
    ("POST", "/v1/devices/toy/remote/sequence", {"json": {"keys": []}}, "invalid_payload",
     "Field 'keys': expected `array` of length >= 1.", "Required: keys; optional: delay_ms."),
    ("POST", "/v1/devices/toy/remote/key", {"json": {"key": "home", "repeat": True}}, "invalid_payload",
     "Field 'repeat': expected `int | null`, got `bool`.", "Required: key"),
    ("GET", "/v1/devices?limit=1e3", {}, "invalid_query", "limit must be an integer written in digits, got '1e3'.",
     "optional: limit, start, sort_by"),
    ("GET", "/v1/devices?sort_reverse=maybe", {}, "invalid_query", "Parameter 'sort_reverse': expected `bool`, "
     "got `str`.", "parameters"),
    ("GET", "/v1/devices?filter=password==x", {}, "invalid_query", "Parameter 'filter[0]': expected `str` matching "
     "regex '^(display_name|host|id|kind|model|name|online|platform|serial)==.+$'.", "parameters"),
    ("GET", "/v1/devices?colour=red", {}, "invalid_query", "Unknown query parameter(s): colour.",
     "This endpoint takes limit, start, sort_by, sort_reverse, filter."),
])  # fmt: skip
async def test_bad_requests_say_which_field_and_how(api: tuple[httpx.AsyncClient, DeviceService], method: str,
                                                    path: str, kw: dict[str, Any], code: str, message: str,
                                                    hint: str) -> None:
    """Every body and query is checked against its declared type; the answer names the field,
    says what was wrong in one line, and the hint lists what the endpoint takes."""
    client, _ = api
    data(await client.post("/v1/devices", json={"host": "10.9.8.7", "port": 9}))
    await client.patch("/v1/devices/toy-10-9-8-7", json={"name": "toy"})
    r = await client.request(method, path, **kw)
    err = r.json()["error"]
    assert (r.status_code, err["code"], err["message"]) == (400, code, message)
    assert hint in err["hint"] and "\n" not in err["message"] + err["hint"]


# A toy whose probe claims search and state, which the toy platform does not implement.
BoastfulToy = type("BoastfulToy", (ToyAdapter,), {
    "capabilities_for": classmethod(lambda cls, info: ("keys", "search", "state", "screenshot"))})


async def test_a_device_shows_only_what_its_platform_implements(tmp_path: Path) -> None:
    """Capabilities follow the interfaces a platform's adapter implements: what a probe claims
    beyond them is not shown, and asking for it is unsupported_operation naming what is missing."""
    async with served(tmp_path, BoastfulToy) as (client, _):
        dev = data(await client.post("/v1/devices", json={"host": "10.9.8.6", "port": 9}))
        assert dev["capabilities"] == ["keys", "screenshot"]
        r = await client.get(f"/v1/devices/{dev['id']}/state")
        assert (r.status_code, r.json()["error"]["code"]) == (400, "unsupported_operation")
        assert r.json()["error"]["message"] == "toy-10-9-8-6 (T1, toy) does not report state."
        r = await client.post(f"/v1/devices/{dev['id']}/search", json={"keyword": "dune"})
        assert r.json()["error"]["message"] == "toy-10-9-8-6 (T1, toy) cannot search."
        r = await client.post(f"/v1/devices/{dev['id']}/dev/reload")
        assert r.json()["error"]["message"] == ("toy-10-9-8-6 (T1, toy) has no developer mode (sideloading, "
                                                "developer logs and screenshots).")
        # its own operation is offered and runs
        assert data(await client.post(f"/v1/devices/{dev['id']}/toy/wave", json={"times": 1}))["waves"] == [
            "right wave 1"]
        names = [op["name"] for op in data(await client.get("/v1/operations"))]
        assert names[-1] == "toy_wave" and names[0] == "device_state"
