"""SSDP discovery: active M-SEARCH and passive NOTIFY listening → ``SsdpReply`` objects.

Sockets and datagram parsing come from async-upnp-client (``get_ssdp_socket``, ``SsdpProtocol``).
The M-SEARCH packet is built here, because responders in the wild match header lines literally
(``ST: <target>`` with one space, ``MAN`` quoted) and the library's builder omits the space.
Which search targets to ask for and which replies are whose is the platforms' business; this
module only moves datagrams. Anything a device sends is untrusted: ``trusted_port`` accepts a
reply only when its LOCATION is plain ``http://`` to the very address the datagram came from.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from async_upnp_client.ssdp import SsdpProtocol, get_ssdp_socket

from tvctl.models import SsdpReply

_LOGGER = logging.getLogger(__name__)

# UDP is lossy: send each search a few times, a little apart.
SEARCH_REPEATS = 3
SEARCH_SPACING_S = 0.1
# A responder waits a random 0..MX seconds before it answers (UPnP Device Architecture 1.1,
# 1.3.3), after *each* search it receives. So the last answer can arrive MX after the last repeat;
# the slack covers its way back and a busy receiver. MX is 1 to 5 by the same spec.
REPLY_SLACK_S = 0.3
MX_MIN, MX_MAX = 1, 5
SEARCH_SPAN_S = SEARCH_SPACING_S * (SEARCH_REPEATS - 1)
# NOTIFY datagrams are unauthenticated and cheap to forge: at most one per source address is acted
# on (probed) per interval, and at most this many per second from all sources together.
NOTIFY_SOURCE_INTERVAL_S = 30.0
NOTIFY_MAX_PER_S = 20.0
# Lines about one source's bad datagrams are logged at most once per this many seconds.
LOG_INTERVAL_S = 60.0


def build_msearch(target: tuple[str, int], st: str, mx: int = MX_MIN) -> bytes:
    host = f"{target[0]}:{target[1]}"
    return (
        f'M-SEARCH * HTTP/1.1\r\nHost: {host}\r\nMan: "ssdp:discover"\r\nST: {st}\r\nMX: {mx}\r\n\r\n'
    ).encode()


def search_plan(window_s: float) -> tuple[int, float]:
    """(MX, how long to listen) for a search window: the largest MX whose answers, even to the last
    repeat, arrive inside the window; the listening lasts the window, or longer when even MX 1
    does not fit in it."""
    mx = max(MX_MIN, min(MX_MAX, int(window_s - SEARCH_SPAN_S - REPLY_SLACK_S)))
    return mx, max(window_s, SEARCH_SPAN_S + mx + REPLY_SLACK_S)


def parse_target(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host, int(port)


class SourceLimiter:
    """Rate limits per source address and overall, for a flood of forged datagrams: the first from
    a source passes, the rest of its interval do not, and the overall rate is a token bucket.
    Memory is bounded: sources idle for an interval are forgotten when the table grows."""

    MAX_SOURCES = 4096

    def __init__(self, interval_s: float, max_per_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_s = interval_s
        self.max_per_s = max_per_s
        self.clock = clock
        self._last: dict[str, float] = {}
        self._tokens = max_per_s
        self._filled = clock()
        self.suppressed = 0

    def allow(self, source: str) -> bool:
        now = self.clock()
        self._tokens = min(self.max_per_s, self._tokens + (now - self._filled) * self.max_per_s)
        self._filled = now
        last = self._last.get(source)
        if (last is not None and now - last < self.interval_s) or self._tokens < 1:
            self.suppressed += 1
            return False
        if len(self._last) >= self.MAX_SOURCES:
            self._last = {k: t for k, t in self._last.items() if now - t < self.interval_s}
            if len(self._last) >= self.MAX_SOURCES:
                self.suppressed += 1
                return False
        self._tokens -= 1
        self._last[source] = now
        return True


_warned = SourceLimiter(LOG_INTERVAL_S, 1.0)


def warn_once_a_while(source: str, msg: str, *args: Any) -> None:
    """A WARNING about ``source``, at most once per LOG_INTERVAL_S per source (and one a second)."""
    if _warned.allow(source):
        _LOGGER.warning(msg, *args)


def reply_from_headers(headers: Any) -> SsdpReply | None:
    """async-upnp-client's decoded headers as an ``SsdpReply`` (None without a source address)."""
    remote = headers.get("_remote_addr")
    if not remote:
        return None
    fields = {str(k).lower(): str(v) for k, v in headers.items() if not str(k).startswith("_")}
    fields["location"] = str(headers.get("_location_original") or headers.get("location") or "")
    return SsdpReply(source=str(remote[0]), headers=fields)


def trusted_port(reply: SsdpReply) -> int | None:
    """The port of the reply's LOCATION if it points back at the sender over plain http, else None
    (logged, at most once a while per sender)."""
    location = reply.header("location")
    try:
        parts = urlsplit(location)
        port = parts.port or 80
    except ValueError:
        _LOGGER.debug("ignoring SSDP reply from %s: bad LOCATION %r", reply.source, location[:200])
        return None
    if parts.scheme != "http" or parts.hostname != reply.source or parts.username or parts.password:
        warn_once_a_while(reply.source, "ignoring SSDP reply from %s: LOCATION %r does not point back at the sender",
                          reply.source, location[:200])
        return None
    return port


def local_ipv4_addresses() -> list[str]:
    """Every non-loopback IPv4 address of this machine."""
    import ifaddr  # async-upnp-client's dependency; imported lazily

    out = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and not ipaddress.IPv4Address(ip.ip).is_loopback:
                out.append(ip.ip)
    return out


async def search(
    interfaces: Iterable[str], target: tuple[str, int], search_targets: Sequence[str], timeout_s: float,
    on_reply: Callable[[SsdpReply], None],
) -> None:
    """Send an M-SEARCH for each search target from every interface and hand over every reply as
    it comes, for the window ``timeout_s`` (see ``search_plan``)."""
    loop = asyncio.get_running_loop()
    mx, listen_s = search_plan(timeout_s)
    started = loop.time()
    transports: list[asyncio.DatagramTransport] = []

    def on_data(request_line: str, headers: Any) -> None:
        try:
            if headers.get("nts"):  # a NOTIFY that reached the search socket
                return
            reply = reply_from_headers(headers)
            if reply is not None:
                on_reply(reply)
        except Exception:  # a hostile datagram must never take discovery down
            _LOGGER.debug("ignoring unparsable SSDP datagram", exc_info=True)

    try:
        for iface in interfaces:
            try:
                sock, _src, _tgt = get_ssdp_socket((iface, 0), target)
                if not ipaddress.IPv4Address(target[0]).is_multicast:
                    sock.bind((iface, 0))
                transport, _ = await loop.create_datagram_endpoint(
                    lambda: SsdpProtocol(loop, on_data=on_data), sock=sock
                )
            except (OSError, ValueError) as exc:
                _LOGGER.warning("SSDP: cannot search from %s: %s", iface, exc)
                continue
            transports.append(transport)
        packets = [build_msearch(target, st, mx=mx) for st in search_targets]
        for i in range(SEARCH_REPEATS):
            for t in transports:
                for packet in packets:
                    try:
                        t.sendto(packet, target)
                    except OSError as exc:
                        _LOGGER.debug("SSDP send failed: %s", exc)
            if i + 1 < SEARCH_REPEATS:
                await asyncio.sleep(SEARCH_SPACING_S)
        await asyncio.sleep(max(0.0, started + listen_s - loop.time()))
    finally:
        for t in transports:
            t.close()


class NotifyListener:
    """Passive NOTIFY listener on ``listen`` (HOST:PORT), joined to the SSDP group on each interface."""

    def __init__(self, listen: tuple[str, int], interfaces: list[str],
                 on_alive: Callable[[SsdpReply], None], on_byebye: Callable[[SsdpReply], None]) -> None:
        self.listen = listen
        self.interfaces = interfaces
        self.on_alive = on_alive
        self.on_byebye = on_byebye
        self.limiter = SourceLimiter(NOTIFY_SOURCE_INTERVAL_S, NOTIFY_MAX_PER_S)
        self._reported = 0.0
        self._transport: asyncio.BaseTransport | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            sock.bind(self.listen)
            group = ipaddress.IPv4Address("239.255.255.250")
            if self.listen[0] in ("0.0.0.0", str(group)):
                for iface in self.interfaces:
                    try:
                        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                                        group.packed + ipaddress.IPv4Address(iface).packed)
                    except OSError as exc:
                        _LOGGER.debug("SSDP: cannot join the group on %s: %s", iface, exc)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: SsdpProtocol(loop, on_data=self._on_data), sock=sock
        )

    def _on_data(self, request_line: str, headers: Any) -> None:
        try:
            if not request_line.startswith("NOTIFY"):
                return
            reply = reply_from_headers(headers)
            if reply is None:
                return
            if reply.header("nts") == "ssdp:byebye":  # cheap; honoured only from the device's own address
                self.on_byebye(reply)
                return
            if not self.limiter.allow(reply.source):
                now = time.monotonic()
                if now - self._reported >= LOG_INTERVAL_S:
                    self._reported = now
                    _LOGGER.info("SSDP: ignoring NOTIFY floods (%d datagrams so far; at most one per source "
                                 "every %g s is probed)", self.limiter.suppressed, NOTIFY_SOURCE_INTERVAL_S)
                return
            self.on_alive(reply)
        except Exception:
            _LOGGER.debug("ignoring unparsable SSDP NOTIFY", exc_info=True)

    def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
