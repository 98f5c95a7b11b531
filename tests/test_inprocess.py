"""The API in-process: the real Starlette app over httpx's ASGI transport, with a fake platform
(the toy one) put in place of the installed ones. Fast, and able to see inside: every test
checks that no asyncio task outlives it."""

from __future__ import annotations

import asyncio
import importlib.util
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
    spec.loader.exec_module(module)
    return module


toy = _load_toy()
PRESSED, ToyAdapter = toy.PRESSED, toy.ToyAdapter

PORT = 7272


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, DeviceService]]:
    before = asyncio.all_tasks()
    # the defaults, and the toy's section as if it were installed
    settings = Settings(MappingProxyType({**Settings.defaults().values, "toy.greeting": "hello"}))
    runtime = Runtime(config_path=tmp_path / "config.toml", settings=settings, bus=EventBus(), http_port=PORT)
    service = DeviceService(runtime.get_settings, Registry(tmp_path / "state" / "devices.json"), runtime.bus,
                            tmp_path / "state", tmp_path / "cache")
    service.adapter_classes = {"toy": ToyAdapter}  # the only platform here
    runtime.service = service
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://127.0.0.1:{PORT}") as client:
        yield client, service
    await service.close()
    await asyncio.sleep(0)  # let cancelled tasks finish
    leftover = [t for t in asyncio.all_tasks() - before if t is not asyncio.current_task()]
    assert leftover == [], f"tasks outlived the test: {leftover}"


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

