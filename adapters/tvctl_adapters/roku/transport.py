"""The only module that does ECP HTTP I/O (aiohttp). Foreign errors (aiohttp, timeouts, OSError) are
mapped by ``httpio.device_error``, the one mapping every transport shares: no answer in time →
DeviceTimeout (a GET retried after a dropped connection says how long both attempts took, which
is up to twice the timeout); refused, reset or unreachable → DeviceUnreachable in plain words
("nothing is listening at 10.0.0.5:8060 (connection refused)"); a reply cut short or unreadable →
DeviceBadResponse. The replies themselves are judged here:

* 403 "not allowed in Limited mode", or a 403 with no body to a key → EcpLimitedMode (mode limited)
* 401                                            → EcpLimitedMode (mode disabled: ECP access is off)
* any other 403                                  → DeviceForbidden
* a reply over its size limit                    → DeviceBadResponse

Every reply is read to its end (Content-Length, chunked, or connection close) however many TCP
segments it arrives in; a reply whose connection ends before its declared end is an error, never
a shorter body. Each kind of reply has its own size limit, named below.

Requests go to the device's IP literal (ECP answers 403 to a DNS name in ``Host``), commands
are POSTs with an empty body and ``Content-Length: 0``, and paths are sent exactly as built
(``Lit_%E2%82%AC`` must not be re-encoded). One keep-alive session per device.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time

import aiohttp
from tvctl_adapters.httpio import FOREIGN, OpenSession, device_error, read_body
from tvctl_adapters.roku.errors import EcpLimitedMode
from yarl import URL

from tvctl.errors import (
    DeviceForbidden,
    DeviceTimeout,
    DeviceUnreachable,
)

_LOGGER = logging.getLogger(__name__)

# Size limits per reply kind. Recorded replies: device-info ~3 KB, active-app and media-player
# under 1 KB, app lists 3-20 KB (a TV with many channels can pass 150 KB), icons 10-200 KB.
MAX_DEVICE_INFO = 256 << 10
MAX_SMALL_QUERY = 256 << 10  # active-app, media-player, tv-active-channel, exit-app replies
MAX_APPS = 8 << 20
MAX_ICON = 4 << 20
MAX_COMMAND_REPLY = 64 << 10  # keypress/launch answers carry no body worth reading
# Roku's server idle timeout is undocumented; drop pooled connections early so a POST is
# never written onto a socket the device already closed (we do not retry POSTs).
KEEPALIVE_S = 4.0
LIMITED_MARKER = b"limited mode"
KEY_PATHS = ("/keypress/", "/keydown/", "/keyup/")


class Response:
    __slots__ = ("body", "content_type", "status")

    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type


async def resolve_ipv4(host: str) -> str:
    """An IPv4 literal for ``host`` (names resolved without blocking the loop)."""
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, None, family=socket.AF_INET), 5.0)
    except (OSError, TimeoutError) as exc:
        raise DeviceUnreachable(f"Cannot resolve {host!r}: {exc}.") from exc
    return str(infos[0][4][0])


class EcpTransport:
    def __init__(self, host: str, port: int, timeout_s: float, label: str = "", *,
                 open_session: OpenSession | None = None) -> None:
        self.host = host
        self.open_session = open_session or aiohttp.ClientSession
        self.port = port
        self.timeout_s = timeout_s
        self.label = label or host
        self._session: aiohttp.ClientSession | None = None
        self._resolved: tuple[str, str] | None = None  # (host, IPv4 literal) of the last lookup

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit_per_host=2, keepalive_timeout=KEEPALIVE_S)
            self._session = self.open_session(
                connector=connector, auto_decompress=False, skip_auto_headers=("User-Agent",)
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self, method: str, path: str, *, limit: int, timeout_s: float | None = None
    ) -> Response:
        """Send one request; ``path`` is already percent-encoded and sent verbatim."""
        if self._resolved is None or self._resolved[0] != self.host:
            self._resolved = (self.host, await resolve_ipv4(self.host))
        url = URL(f"http://{self._resolved[1]}:{self.port}{path}", encoded=True)
        timeout = timeout_s if timeout_s is not None else self.timeout_s
        attempts = 2 if method == "GET" else 1  # a GET may be retried after a reset; a POST never
        started = time.monotonic()
        dropped: tuple[float, DeviceUnreachable] | None = None  # when and why the first attempt failed
        for attempt in range(attempts):
            try:
                return await self._once(method, url, timeout, limit)
            except DeviceUnreachable as exc:
                self._resolved = None  # a name may point elsewhere now; look it up again next time
                if attempt + 1 == attempts:
                    raise
                dropped = (time.monotonic() - started, exc)
            except DeviceTimeout as exc:
                if dropped is None:
                    raise
                # Each attempt has its own timeout: say how long it all took, not just the last wait.
                after, first = dropped
                raise DeviceTimeout(
                    f"{self.label} did not answer {method} {url.raw_path} in {time.monotonic() - started:.1f} s: "
                    f"the first attempt failed after {after:.1f} s ({first.message.rstrip('.')}), and asked "
                    f"again it did not answer within {timeout:g} s.") from exc
        raise AssertionError("unreachable")

    async def _once(self, method: str, url: URL, timeout: float, limit: int) -> Response:
        headers = {"Content-Length": "0"} if method == "POST" else {}
        session = self._get_session()
        try:
            async with asyncio.timeout(timeout):
                async with session.request(method, url, headers=headers, data=None, allow_redirects=False) as resp:
                    status, ctype = resp.status, resp.content_type
                    body = await read_body(resp, limit, f"{self.label}'s reply to {method} {url.raw_path}")
        except FOREIGN as exc:
            raise device_error(exc, label=self.label, what=f"{method} {url.raw_path}", timeout_s=timeout,
                               host=url.host, port=url.port) from exc
        _LOGGER.debug("%s %s %s -> %s (%d bytes)", self.label, method, url.raw_path, status, len(body))
        if status == 401:
            raise EcpLimitedMode(f"{self.label} refused {url.raw_path}: its ECP network access is Disabled.",
                                 details={"mode": "disabled"})
        if status == 403:
            if LIMITED_MARKER in body.lower() or (not body.strip() and url.raw_path.startswith(KEY_PATHS)):
                raise EcpLimitedMode(f"{self.label} refused {url.raw_path}: ECP is in Limited mode.",
                                     details={"mode": "limited"})
            raise DeviceForbidden(f"{self.label} refused {url.raw_path} (HTTP 403).")
        return Response(status, body, ctype)
