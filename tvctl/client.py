"""A minimal HTTP/1.1 client for the daemon's Unix socket; decodes the envelope.

It speaks only to our own daemon, so it is written on a bare socket instead of http.client:
http.client drags in the email and ssl packages, which alone cost more start-up time than
the whole CLI budget (bench/cli.py). For the same reason it uses the C ``_socket`` module:
``socket.py`` spends ~4 ms at import building enums of every socket constant. Requests use
``Connection: close``; responses are read by ``Content-Length``, chunked transfer coding
(event streams) or until close.
"""

from __future__ import annotations

import _socket
import json

from tvctl.errors import TvctlError, error_for_code

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any, BinaryIO

    from tvctl.operations import Operation

SOCKET_HOST = "local-tvctl.sock"  # a fixed Host name for socket requests (never a real host)
# Device commands can take a while (a sequence of 100 keys at 200 ms is 20 s; WoL waits 15 s).
DEFAULT_TIMEOUT_S = 120.0
SEND_CHUNK = 256 * 1024


class DaemonUnreachable(Exception):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot reach the tvctl daemon at {path}: {reason}")
        self.path = path


class DaemonTimeout(Exception):
    """The daemon took the request but did not answer in time: it is running, and the command
    may still be under way."""

    def __init__(self, timeout: float | None) -> None:
        within = f" within {timeout:g} s" if timeout else ""
        super().__init__(f"the daemon did not answer{within}; the command may still be running")
        self.timeout = timeout


class _Reader:
    """Buffered reads (line, exact, some) over a raw socket."""

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.eof = False

    def _fill(self) -> bool:
        if self.eof:
            return False
        data = self.sock.recv(65536)
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def readline(self, limit: int) -> bytes:
        while b"\n" not in self.buf and len(self.buf) < limit and self._fill():
            pass
        end = self.buf.find(b"\n")
        n = min(end + 1 if end >= 0 else len(self.buf), limit)
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read(self, n: int) -> bytes:
        while len(self.buf) < n and self._fill():
            pass
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read1(self, n: int) -> bytes:
        if not self.buf:
            self._fill()
        return self.read(min(n, len(self.buf)))

    def close(self) -> None:
        self.buf.clear()


class _Response:
    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.f = _Reader(sock)
        line = self.f.readline(65536)
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise TvctlError("The daemon sent a malformed HTTP response.")
        self.status = int(parts[1])
        self.headers: dict[str, str] = {}
        while True:
            h = self.f.readline(65536)
            if h in (b"\r\n", b"\n", b""):
                break
            name, _, value = h.decode("latin-1").partition(":")
            self.headers[name.strip().lower()] = value.strip()

    def chunks(self) -> Iterator[bytes]:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            while True:
                size_line = self.f.readline(1024)
                if not size_line:
                    return
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    return
                data = self.f.read(size)
                self.f.readline(8)  # the CRLF after each chunk
                yield data
        elif "content-length" in self.headers:
            yield self.f.read(int(self.headers["content-length"]))
        else:
            while data := self.f.read1(65536):
                yield data

    def read(self) -> bytes:
        return b"".join(self.chunks())

    def close(self) -> None:
        self.f.close()
        self.sock.close()


class Client:
    def __init__(self, path: str, timeout: float | None = DEFAULT_TIMEOUT_S) -> None:
        self.path = str(path)
        self.timeout = timeout

    def _open(self, method: str, url: str, body: bytes | BinaryIO | None, headers: dict[str, str]) -> _Response:
        s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(self.path)
        except FileNotFoundError as exc:
            s.close()
            raise DaemonUnreachable(self.path, "no socket there") from exc
        except ConnectionRefusedError as exc:
            s.close()
            raise DaemonUnreachable(self.path, "connection refused (stale socket?)") from exc
        except OSError as exc:
            s.close()
            raise DaemonUnreachable(self.path, exc.strerror or str(exc)) from exc
        hdrs = {"Host": SOCKET_HOST, "Connection": "close", **headers}
        if isinstance(body, bytes):
            hdrs["Content-Length"] = str(len(body))
        elif body is None and method in ("POST", "PATCH", "PUT", "DELETE"):
            hdrs["Content-Length"] = "0"
        head = f"{method} {url} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
        try:
            try:
                s.sendall(head.encode("latin-1"))
                if isinstance(body, bytes):
                    s.sendall(body)
                elif body is not None:
                    while chunk := body.read(SEND_CHUNK):
                        s.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError) as exc:
                # The daemon may answer before it has read the whole body (an upload it refuses at
                # once) and close: its answer is waiting to be read, as curl reads it.
                try:
                    return _Response(s)
                except (OSError, TvctlError):
                    raise DaemonUnreachable(self.path, f"the connection broke ({exc.strerror or exc})") from exc
            return _Response(s)
        except TimeoutError as exc:
            s.close()
            raise DaemonTimeout(self.timeout) from exc
        except DaemonUnreachable:
            s.close()
            raise
        except OSError as exc:
            s.close()
            raise DaemonUnreachable(self.path, str(exc)) from exc

    def _exchange(self, method: str, url: str, body: bytes | BinaryIO | None,
                  headers: dict[str, str]) -> tuple[_Response, bytes]:
        """Send a request and read its whole answer."""
        resp = self._open(method, url, body, headers)
        try:
            return resp, resp.read()
        except TimeoutError as exc:
            raise DaemonTimeout(self.timeout) from exc
        finally:
            resp.close()

    def request(self, method: str, url: str, payload: Any = None, *, raw_body: bytes | BinaryIO | None = None,
                headers: dict[str, str] | None = None) -> Any:
        """Send a request and return the envelope's ``data``; raise the mapped TvctlError on error."""
        hdrs = dict(headers or {})
        body: bytes | BinaryIO | None = raw_body
        if payload is not None:
            body = json.dumps(payload).encode()
            hdrs["Content-Type"] = "application/json"
        resp, raw = self._exchange(method, url, body, hdrs)
        return decode(resp.status, raw)

    def request_bytes(self, method: str, url: str) -> tuple[bytes, str]:
        resp, raw = self._exchange(method, url, None, {})
        if resp.status != 200:
            decode(resp.status, raw)
        return raw, resp.headers.get("content-type", "")

    def stream(self, url: str, method: str = "GET", payload: Any = None,
               opened: Callable[[], None] | None = None) -> Iterator[tuple[str, Any]]:
        """Server-Sent Events from ``url`` as (event, data) pairs until the daemon ends the stream;
        ``opened`` is called once the daemon has taken it (before the first event)."""
        headers = {"Accept": "text/event-stream"}
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        resp = self._open(method, url, body, headers)
        try:
            if resp.status != 200:
                decode(resp.status, resp.read())
            if opened is not None:
                opened()
            event, pending = "message", b""
            data: list[str] = []
            for chunk in resp.chunks():
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    text = line.decode("utf-8", "replace").rstrip("\r")
                    if not text:
                        if data:
                            yield event, json.loads("\n".join(data))
                        event, data = "message", []
                    elif text.startswith("event:"):
                        event = text[6:].strip()
                    elif text.startswith("data:"):
                        data.append(text[5:].strip())
        finally:
            resp.close()


    def perform(self, op: Operation[Any, Any], device: str, fields: dict[str, Any] | None = None) -> Any:
        """Run operation ``op`` (tvctl.operations) on ``device`` with its request ``fields`` (JSON
        values; a GET's go in the query string); the envelope's data."""
        given = {k: v for k, v in (fields or {}).items() if v is not None}
        url = route(op, device, given)
        given = {k: v for k, v in given.items() if k not in op.path_fields}
        if op.method == "GET":
            return self.request("GET", f"{url}?{urlencode(given)}" if given else url)
        return self.request(op.method, url, given if given or (op.body_required and not op.path_fields) else None)


def route(op: Operation[Any, Any], device: str, fields: dict[str, Any] | None = None) -> str:
    """The URL path of operation ``op`` on ``device`` (an id, a name or "default"), with the
    request ``fields`` its path carries filled in."""
    url = op.route.replace("{id}", quote(device))
    for name in op.path_fields:
        url = url.replace("{" + name + "}", quote(str((fields or {})[name])))
    return url


def group_route(op: Operation[Any, Any], group: str) -> str:
    """The URL path of operation ``op`` on every member of ``group`` (tvctl.operations.GROUP_OPERATIONS)."""
    return f"/v1/groups/{quote(group)}{op.path}"


def quote(text: str, safe: str = "") -> str:
    """Percent-encode a path segment (urllib.parse costs start-up time; names are mostly ASCII)."""
    out = []
    for ch in text:
        if ch.isascii() and (ch.isalnum() or ch in "-._~" or ch in safe):
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode())
    return "".join(out)


def urlencode(params: dict[str, Any]) -> str:
    """A query string; a list value is the parameter repeated."""
    return "&".join(f"{quote(str(k))}={quote(str(v).lower() if isinstance(v, bool) else str(v))}"
                    for k, values in params.items() for v in (values if isinstance(values, list) else [values]))


def decode(status: int, raw: bytes) -> Any:
    try:
        doc = json.loads(raw)
    except ValueError:
        raise TvctlError(f"The daemon answered HTTP {status} with a non-JSON body.") from None
    if not isinstance(doc, dict) or "ok" not in doc:
        raise TvctlError(f"The daemon answered HTTP {status} without an envelope.")
    return unwrap(doc)


def unwrap(doc: dict[str, Any]) -> Any:
    """An envelope's ``data``; its error raised as the matching TvctlError."""
    if doc["ok"]:
        return doc.get("data")
    err = doc.get("error") or {}
    code = str(err.get("code", ""))
    cls = error_for_code(code)
    exc = cls(str(err.get("message", "unknown error")), hint=err.get("hint"), details=err.get("details"))
    if cls.code != code and code:
        # A platform's own code (its class lives in the adapters, which this side never imports):
        # keep the daemon's code rather than call it internal_error.
        setattr(exc, "code", code)  # noqa: B010 (code is a class attribute; this one error differs)
    raise exc
