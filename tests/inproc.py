"""The daemon in-process, for the test matrices: the real Starlette app over httpx's ASGI transport,
a real ``DeviceService`` with the installed adapters (or chosen ones), temporary state and cache
folders and the end-to-end tests' loopback config, all on an event loop of its own thread.

``InProcDaemon`` answers like ``tests.conftest.Daemon`` (``ok``, ``err``, ``http``, ``unix``,
``add``, ``tmp``), so a matrix moves here without changing what it checks; the device fakes
(``tests.fakeroku``, ``tests.fakekvm``, ``tests.fakesignage``) serve real HTTP/HTTPS/WebSocket on
127.0.0.1 as before. What the process owns (sockets, signals, logs, restarts, limits, the CLI)
is tested end to end against ``Daemon``. Stopping checks that no asyncio task outlived the
service.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Coroutine, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.conftest import LOOPBACK_CONFIG, Daemon
from tests.helpers import Answers
from tvctl import config
from tvctl.api.app import create_app
from tvctl.events import EventBus
from tvctl.registry import Registry
from tvctl.runtime import Runtime
from tvctl.service import DeviceService

T = TypeVar("T")
# The TCP port the app believes it listens on: the Host guard checks requests against it.
PORT = 7373
CALL_TIMEOUT_S = 60


class _OverUnix:
    """What uvicorn's Unix-socket listener hands the app: a server with no port (the guard then
    skips the Host and Origin checks, as the socket's file mode authorises)."""

    def __init__(self, app: ASGIApp, path: str) -> None:
        self.app, self.path = app, path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app({**scope, "server": (self.path, None)}, receive, send)


async def _chunks(items: Iterable[bytes]) -> AsyncIterator[bytes]:
    for item in items:
        yield item


class InProcDaemon(Answers):
    def __init__(self, tmp: Path, config_text: str = LOOPBACK_CONFIG,
                 adapter_classes: dict[str, Any] | None = None) -> None:
        self.tmp = tmp
        self.config_path = tmp / "config" / "tvctl" / "config.toml"
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(config_text)
        self.state_dir = tmp / "state" / "tvctl"
        self.cache_dir = tmp / "cache" / "tvctl"
        self.socket = tmp / "run" / "tvctl.sock"  # never bound: the name the app is told
        self.port = PORT
        self._adapter_classes = adapter_classes
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="inproc-daemon", daemon=True)
        self._before: set[asyncio.Task[Any]] = set()
        self.runtime: Runtime | None = None
        self._tcp: httpx.AsyncClient | None = None
        self._unix: httpx.AsyncClient | None = None

    # -- life ---------------------------------------------------------------------------------
    def start(self) -> InProcDaemon:
        self._thread.start()
        self.call(self._start())
        return self

    async def _start(self) -> None:
        self._before = asyncio.all_tasks()
        _doc, settings = await asyncio.to_thread(config.load, self.config_path, allow_empty=False)
        runtime = Runtime(config_path=self.config_path, settings=settings, bus=EventBus(), socket_path=self.socket,
                          http_port=PORT)
        registry = Registry(self.state_dir / "devices.json")
        await asyncio.to_thread(registry.load)
        kw: dict[str, Any] = {} if self._adapter_classes is None else {"adapter_classes": self._adapter_classes}
        service = DeviceService(runtime.get_settings, registry, runtime.bus, self.state_dir, self.cache_dir, **kw)
        await asyncio.to_thread(service.credentials.load)
        await asyncio.to_thread(service.archives.clean)
        runtime.service = service
        app = create_app(runtime)
        service.spawn(service.poller.run())  # as the daemon starts it
        service.spawn(service.directory.check_all())
        self.runtime = runtime
        self._tcp = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=self.url)
        self._unix = httpx.AsyncClient(transport=httpx.ASGITransport(app=_OverUnix(app, str(self.socket))),
                                       base_url="http://local-tvctl.sock")

    def stop(self) -> None:
        try:
            self.call(self._stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()

    async def _stop(self) -> None:
        for client in (self._tcp, self._unix):
            if client is not None:
                await client.aclose()
        if self.runtime is not None:
            self.runtime.service.close_streams()
            await self.runtime.service.close()
        await asyncio.sleep(0)  # let cancelled tasks finish
        leftover = [t for t in asyncio.all_tasks() - self._before if t is not asyncio.current_task()]
        assert leftover == [], f"tasks outlived the test: {leftover}"

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT_S) -> T:
        """Run ``coro`` on the daemon's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    @property
    def service(self) -> DeviceService:
        assert self.runtime is not None
        return self.runtime.service

    # -- clients (as tests.conftest.Daemon) -----------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{PORT}"

    def _request(self, client: httpx.AsyncClient | None, method: str, path: str, **kw: Any) -> httpx.Response:
        assert client is not None, "not started"
        timeout = kw.pop("timeout", CALL_TIMEOUT_S)
        content = kw.get("content")
        if content is not None and not isinstance(content, bytes | str):  # a streamed (chunked) body
            kw["content"] = _chunks(content)
        return self.call(client.request(method, path, **kw), timeout)

    def http(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self._request(self._tcp, method, path, **kw)

    def unix(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self._request(self._unix, method, path, **kw)



# What a test helper takes when both the in-process and the spawned daemon use it.
Api = Daemon | InProcDaemon


@contextlib.contextmanager
def running(tmp: Path, config_text: str = LOOPBACK_CONFIG,
            adapter_classes: dict[str, Any] | None = None) -> Iterator[InProcDaemon]:
    d = InProcDaemon(tmp, config_text, adapter_classes).start()
    try:
        yield d
    finally:
        d.stop()

