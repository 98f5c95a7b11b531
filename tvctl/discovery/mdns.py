"""mDNS as a second discovery source (python-zeroconf), passive.

Rokus publish no ECP service over mDNS; AirPlay-capable models and Roku TVs announce
``_airplay._tcp`` / ``_display._tcp`` with TXT ``integrator=Roku`` and the serial number as the
host name. Such a sighting becomes a candidate for ECP port 8060, confirmed with device-info
like every other candidate.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable
from typing import Any

from tvctl.models import Candidate

_LOGGER = logging.getLogger(__name__)

SERVICE_TYPES = ["_airplay._tcp.local.", "_display._tcp.local."]
ECP_PORT = 8060
# Roku answers service-info queries slowly when busy; the browser retries on the next announcement.
INFO_TIMEOUT_MS = 3000


def candidate_from_service(properties: dict[bytes, bytes | None], addresses: list[str],
                           server: str | None) -> Candidate | None:
    """A candidate from a resolved service, or None unless it is a Roku (TXT integrator=Roku)."""
    integrator = (properties.get(b"integrator") or b"").decode("utf-8", "replace")
    if integrator.lower() != "roku":
        return None
    v4 = [a for a in addresses if isinstance(ipaddress.ip_address(a), ipaddress.IPv4Address)]
    if not v4:
        return None
    serial = server.split(".", 1)[0] if server else None
    return Candidate(host=v4[0], port=ECP_PORT, source="mdns", serial_hint=serial or None)


class MdnsWatcher:
    def __init__(self, interfaces: list[str], on_candidate: Callable[[Candidate], None]) -> None:
        self.interfaces = interfaces
        self.on_candidate = on_candidate
        self._zc: Any = None
        self._browser: Any = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        from zeroconf import InterfaceChoice, IPVersion
        from zeroconf.asyncio import AsyncServiceBrowser, AsyncZeroconf

        ifaces: Any = self.interfaces or InterfaceChoice.Default
        self._zc = AsyncZeroconf(interfaces=ifaces, ip_version=IPVersion.V4Only)
        self._browser = AsyncServiceBrowser(self._zc.zeroconf, SERVICE_TYPES, handlers=[self._on_change])

    def _on_change(self, zeroconf: Any, service_type: str, name: str, state_change: Any) -> None:
        from zeroconf import ServiceStateChange

        if state_change is ServiceStateChange.Removed:
            return
        task = asyncio.get_running_loop().create_task(self._resolve(service_type, name))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resolve(self, service_type: str, name: str) -> None:
        from zeroconf.asyncio import AsyncServiceInfo

        try:
            info = AsyncServiceInfo(service_type, name)
            if not await info.async_request(self._zc.zeroconf, INFO_TIMEOUT_MS):
                return
            cand = candidate_from_service(dict(info.properties), info.parsed_addresses(), info.server)
            if cand is not None:
                self.on_candidate(cand)
        except Exception:  # a malformed announcement must never take discovery down
            _LOGGER.debug("ignoring unusable mDNS service %s", name, exc_info=True)

    async def stop(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        if self._browser is not None:
            await self._browser.async_cancel()
        if self._zc is not None:
            await self._zc.async_close()
