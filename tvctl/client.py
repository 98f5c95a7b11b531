"""A small stdlib HTTP client for the daemon's Unix socket; decodes the envelope.

Stdlib only (plus tvctl.errors/paths) so the CLI starts fast.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from tvctl.errors import TvctlError, error_for_code

SOCKET_HOST = "local-tvctl.sock"  # a fixed Host name for socket requests (never a real host)
# Device commands can take a while (a sequence of 100 keys at 200 ms is 20 s; WoL waits 15 s).
DEFAULT_TIMEOUT_S = 120.0


class DaemonUnreachable(Exception):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"cannot reach the tvctl daemon at {path}: {reason}")
        self.path = path


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float | None) -> None:
        super().__init__(SOCKET_HOST, timeout=timeout)
        self._path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(str(self._path))
        except OSError:
            s.close()
            raise
        self.sock = s


class Client:
    def __init__(self, path: Path, timeout: float | None = DEFAULT_TIMEOUT_S) -> None:
        self.path = path
        self.timeout = timeout

    def _open(self, method: str, url: str, body: bytes | BinaryIO | None, headers: dict[str, str]
              ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        conn = _UnixConnection(self.path, self.timeout)
        try:
            conn.request(method, url, body=body, headers=headers)
        except FileNotFoundError as exc:
            raise DaemonUnreachable(self.path, "no socket there") from exc
        except ConnectionRefusedError as exc:
            raise DaemonUnreachable(self.path, "connection refused (stale socket?)") from exc
        except PermissionError as exc:
            raise DaemonUnreachable(self.path, "permission denied") from exc
        try:
            return conn, conn.getresponse()
        except OSError as exc:
            raise DaemonUnreachable(self.path, str(exc)) from exc

    def request(self, method: str, url: str, payload: Any = None, *, raw_body: bytes | BinaryIO | None = None,
                headers: dict[str, str] | None = None) -> Any:
        """Send a request and return the envelope's ``data``; raise the mapped TvctlError on error."""
        hdrs = dict(headers or {})
        body: bytes | BinaryIO | None = raw_body
        if payload is not None:
            body = json.dumps(payload).encode()
            hdrs["Content-Type"] = "application/json"
        conn, resp = self._open(method, url, body, hdrs)
        try:
            raw = resp.read()
        finally:
            conn.close()
        return decode(resp.status, raw, resp.getheader("Content-Type") or "")

    def request_bytes(self, method: str, url: str) -> tuple[bytes, str]:
        conn, resp = self._open(method, url, None, {})
        try:
            raw = resp.read()
        finally:
            conn.close()
        ctype = resp.getheader("Content-Type") or ""
        if resp.status != 200:
            decode(resp.status, raw, ctype)
        return raw, ctype

    def stream(self, url: str) -> Iterator[tuple[str, Any]]:
        """Server-Sent Events from ``url`` as (event, data) pairs until the daemon ends the stream."""
        conn, resp = self._open("GET", url, None, {"Accept": "text/event-stream"})
        try:
            if resp.status != 200:
                decode(resp.status, resp.read(), resp.getheader("Content-Type") or "")
            event, data = "message", []
            while True:
                line = resp.readline()
                if not line:
                    return
                text = line.decode("utf-8", "replace").rstrip("\r\n")
                if not text:
                    if data:
                        yield event, json.loads("\n".join(data))
                    event, data = "message", []
                elif text.startswith("event:"):
                    event = text[6:].strip()
                elif text.startswith("data:"):
                    data.append(text[5:].strip())
        finally:
            conn.close()


def decode(status: int, raw: bytes, ctype: str) -> Any:
    try:
        doc = json.loads(raw)
    except ValueError:
        raise TvctlError(f"The daemon answered HTTP {status} with a non-JSON body.") from None
    if not isinstance(doc, dict) or "ok" not in doc:
        raise TvctlError(f"The daemon answered HTTP {status} without an envelope.")
    if doc["ok"]:
        return doc.get("data")
    err = doc.get("error") or {}
    cls = error_for_code(str(err.get("code", "")))
    exc = cls(str(err.get("message", "unknown error")), hint=err.get("hint"), details=err.get("details"))
    exc.wire_code = err.get("code")  # type: ignore[attr-defined]
    raise exc
