"""The only module that does ECP HTTP I/O (aiohttp). Foreign errors are mapped here, once:

* connection refused / reset / unreachable host  → DeviceUnreachable
* no answer within the timeout                   → DeviceTimeout
* 403 "not allowed in Limited mode"              → EcpLimitedMode
* any other 403                                  → DeviceForbidden
* a body over MAX_BODY, or an unexpected status  → DeviceBadResponse

Requests go to the device's IP literal (ECP answers 403 to a DNS name in ``Host``), commands
are POSTs with an empty body and ``Content-Length: 0``, and paths are sent exactly as built
(``Lit_%E2%82%AC`` must not be re-encoded). One keep-alive session per device.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket

import aiohttp
from yarl import URL

from tvctl.errors import (
    DeviceBadResponse,
    DeviceForbidden,
    DeviceTimeout,
    DeviceUnreachable,
    EcpLimitedMode,
)

_LOGGER = logging.getLogger(__name__)

# Device XML is small (the largest app list recorded is ~3 KB); anything near this is hostile.
MAX_BODY = 1 << 20
# Icons are PNG/JPEG of a few tens of KB.
MAX_ICON = 2 << 20
# Roku's server idle timeout is undocumented; drop pooled connections early so a POST is
# never written onto a socket the device already closed (we do not retry POSTs).
KEEPALIVE_S = 4.0
LIMITED_MARKER = b"limited mode"


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
    def __init__(self, host: str, port: int, timeout_s: float, label: str = "") -> None:
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        self.label = label or host
        self._session: aiohttp.ClientSession | None = None
        self._resolved: tuple[str, str] | None = None  # (host, IPv4 literal) of the last lookup

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit_per_host=2, keepalive_timeout=KEEPALIVE_S)
            self._session = aiohttp.ClientSession(
                connector=connector, auto_decompress=False, skip_auto_headers=("User-Agent",)
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self, method: str, path: str, *, timeout_s: float | None = None, limit: int = MAX_BODY
    ) -> Response:
        """Send one request; ``path`` is already percent-encoded and sent verbatim."""
        if self._resolved is None or self._resolved[0] != self.host:
            self._resolved = (self.host, await resolve_ipv4(self.host))
        url = URL(f"http://{self._resolved[1]}:{self.port}{path}", encoded=True)
        timeout = timeout_s if timeout_s is not None else self.timeout_s
        attempts = 2 if method == "GET" else 1  # a GET may be retried after a reset; a POST never
        for attempt in range(attempts):
            try:
                return await self._once(method, url, timeout, limit)
            except DeviceUnreachable:
                self._resolved = None  # a name may point elsewhere now; look it up again next time
                if attempt + 1 == attempts:
                    raise
        raise AssertionError("unreachable")

    async def _once(self, method: str, url: URL, timeout: float, limit: int) -> Response:
        headers = {"Content-Length": "0"} if method == "POST" else {}
        session = self._get_session()
        try:
            async with asyncio.timeout(timeout):
                async with session.request(method, url, headers=headers, data=None, allow_redirects=False) as resp:
                    body = await resp.content.read(limit + 1)
                    status, ctype = resp.status, resp.content_type
        except TimeoutError as exc:
            raise DeviceTimeout(f"{self.label} did not answer {method} {url.raw_path} within {timeout:g} s.") from exc
        except (aiohttp.ClientConnectionError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            raise DeviceUnreachable(f"{self.label} ({url.host}:{url.port}) is unreachable: {reason}.") from exc
        except aiohttp.ClientError as exc:
            raise DeviceBadResponse(f"{self.label} sent an unreadable reply: {exc}.") from exc
        _LOGGER.debug("%s %s %s -> %s (%d bytes)", self.label, method, url.raw_path, status, len(body))
        if len(body) > limit:
            raise DeviceBadResponse(f"{self.label} sent more than {limit} bytes for {url.raw_path}.")
        if status == 403:
            if LIMITED_MARKER in body.lower():
                raise EcpLimitedMode(f"{self.label} refused {url.raw_path}: ECP is in Limited mode.")
            raise DeviceForbidden(f"{self.label} refused {url.raw_path} (HTTP 403).")
        return Response(status, body, ctype)
