"""mDNS as a second discovery source (python-zeroconf), passive.

The platforms name the service types to browse (``Adapter.mdns_service_types``) and recognise
their own devices among the resolved services (``Adapter.recognise_mdns``); this module only
browses, resolves and hands each service over as an ``MdnsService``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from tvctl.models import MdnsService

_LOGGER = logging.getLogger(__name__)

# Devices answer service-info queries slowly when busy; the browser retries on the next announcement.
INFO_TIMEOUT_MS = 3000


class MdnsWatcher:
    def __init__(self, interfaces: list[str], service_types: list[str],
                 on_service: Callable[[MdnsService], None]) -> None:
        self.interfaces = interfaces
        self.service_types = service_types
        self.on_service = on_service
        self._zc: Any = None
        self._browser: Any = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        from zeroconf import InterfaceChoice, IPVersion
        from zeroconf.asyncio import AsyncServiceBrowser, AsyncZeroconf

        if not self.service_types:
            return
        ifaces: Any = self.interfaces or InterfaceChoice.Default
        self._zc = AsyncZeroconf(interfaces=ifaces, ip_version=IPVersion.V4Only)
        self._browser = AsyncServiceBrowser(self._zc.zeroconf, self.service_types, handlers=[self._on_change])

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
            self.on_service(MdnsService(type=service_type, name=name, properties=dict(info.properties),
                                        addresses=tuple(info.parsed_addresses()), server=info.server))
        except Exception:  # a malformed announcement must never take discovery down
            _LOGGER.debug("ignoring unusable mDNS service %s", name, exc_info=True)

    async def stop(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        if self._browser is not None:
            await self._browser.async_cancel()
        if self._zc is not None:
            await self._zc.async_close()
