"""Small helpers shared by the end-to-end tests: polling, an SSE reader, a closed port."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx


def wait_for(pred: Callable[[], Any], timeout: float = 10, what: str = "condition") -> Any:
    """Poll ``pred`` until it returns something truthy (returned), or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def free_port() -> int:
    """A loopback TCP port nothing listens on (connections to it are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Events:
    """A background reader of ``url`` (an SSE endpoint) collecting (event, data) pairs."""

    def __init__(self, url: str, *, headers: dict[str, str] | None = None) -> None:
        self.items: list[tuple[str, Any]] = []
        self.connected = threading.Event()
        self._t = threading.Thread(target=self._run, args=(url, headers or {}), daemon=True)
        self._t.start()
        assert self.connected.wait(10), "the event stream did not open"

    def _run(self, url: str, headers: dict[str, str]) -> None:
        with httpx.stream("GET", url, headers=headers, timeout=60) as r:
            ev = None
            for line in r.iter_lines():
                if line.startswith(":"):
                    self.connected.set()
                elif line.startswith("event:"):
                    ev = line[6:].strip()
                elif line.startswith("data:") and ev:
                    self.items.append((ev, json.loads(line[5:])))

    def of(self, kind: str) -> list[Any]:
        return [d for e, d in self.items if e == kind]


def apps_xml(n: int) -> bytes:
    """An ECP app list of ``n`` channels in the recorded format (about 75 bytes per channel)."""
    rows = "".join(f'  <app id="{100000 + i}" type="appl" version="1.{i % 10}.0">Channel {i:05d}</app>\n'
                   for i in range(n))
    return f'<?xml version="1.0" encoding="UTF-8" ?>\n<apps>\n{rows}</apps>\n'.encode()


def png_of_size(size: int, seed: int = 1) -> bytes:
    """``size`` bytes that start like a PNG (signature and IHDR) and then carry noise."""
    import random

    head = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000400000004008060000005d7c7b4f")
    return head + random.Random(seed).randbytes(size - len(head))


def ctrl_c_as_at_a_terminal() -> None:
    """A child's preexec_fn: SIGINT acts as Ctrl-C does at a terminal, also when the tests run as a
    background job (a shell starts those with SIGINT ignored, the child inherits that, and Python
    then never raises KeyboardInterrupt in it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Answers:
    """What a test reads of the daemon's answers, the same for the spawned daemon (tests.conftest)
    and the in-process one (tests.inproc): the data of a success, the error of a failure."""

    def http(self, method: str, path: str, **kw: Any) -> httpx.Response:
        raise NotImplementedError

    def ok(self, method: str, path: str, **kw: Any) -> Any:
        r = self.http(method, path, **kw)
        body = r.json()
        assert r.status_code == 200 and body["ok"] is True, (r.status_code, body)
        return body["data"]

    def err(self, method: str, path: str, status: int, code: str, **kw: Any) -> dict[str, Any]:
        r = self.http(method, path, **kw)
        body = r.json()
        assert r.status_code == status, (r.status_code, body)
        assert body["ok"] is False and body["error"]["code"] == code, body
        assert body["error"]["message"] and body["error"]["hint"], body
        assert "Traceback" not in r.text
        error: dict[str, Any] = body["error"]
        return error

    def add(self, device: Any) -> dict[str, Any]:
        """Add a fake device (anything with host and port) by its address."""
        data: dict[str, Any] = self.ok("POST", "/v1/devices", json={"host": device.host, "port": device.port})
        return data
