"""The discovery coordinator: turns what the network announces into confirmed devices.

It runs the searches (one shared run at a time, joined by every caller), turns SSDP replies,
NOTIFYs and mDNS services into candidates through the platforms' declarations, and hands each
candidate to ``confirm`` (the service's probe-and-merge). It is handed what it needs and reaches
back into nothing: the installed platforms, the live settings, the registry to read, and
callbacks to confirm a candidate, mark a device offline, publish an event and spawn a task.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from tvctl.config import DiscoverySettings, Settings
from tvctl.discovery import ssdp
from tvctl.models import Candidate, Device, MdnsService, SsdpReply
from tvctl.platform import Adapter
from tvctl.registry import Registry

_LOGGER = logging.getLogger(__name__)

# A device that just answered a search (or announced itself) is awake: its identity is quick to read.
PROBE_TIMEOUT_S = 2.0


class Discovery:
    def __init__(self, *, platforms: Callable[[], Mapping[str, type[Adapter]]], settings: Callable[[], Settings],
                 registry: Callable[[], Registry],
                 confirm: Callable[[Candidate, float], Coroutine[Any, Any, Device | None]],
                 mark_offline: Callable[[Device], None], publish: Callable[[str, Any], None],
                 spawn: Callable[[Coroutine[Any, Any, Any]], asyncio.Task[Any]]) -> None:
        self._platforms = platforms
        self._settings = settings
        self._registry = registry
        self._confirm = confirm
        self._mark_offline = mark_offline
        self._publish = publish
        self._spawn = spawn
        self._run: asyncio.Task[list[Device]] | None = None
        self._run_found: dict[str, Device] = {}  # devices confirmed by the current run
        self._found_listeners: set[Callable[[Device], None]] = set()

    # -- what the platforms declare ------------------------------------------------------------
    def candidate_from_ssdp(self, reply: SsdpReply) -> Candidate | None:
        """The platform whose device an SSDP reply announces, as a candidate (None: nobody's, or its
        LOCATION does not point back at the sender)."""
        for cls in self._platforms().values():
            seen = cls.recognise_ssdp(reply)
            if seen is not None:
                port = ssdp.trusted_port(reply)
                if port is None:
                    return None
                return Candidate(platform=cls.platform, host=reply.source, port=port, source="ssdp",
                                 serial_hint=seen.serial_hint, wake_mac=seen.wake_mac)
        return None

    def mdns_service_types(self) -> list[str]:
        return sorted({t for cls in self._platforms().values() for t in cls.mdns_service_types})

    def interfaces(self) -> list[str]:
        configured = self._settings().section(DiscoverySettings).interfaces
        return list(configured) or ssdp.local_ipv4_addresses()

    # -- announcements -------------------------------------------------------------------------
    def on_ssdp_alive(self, reply: SsdpReply) -> None:
        """A NOTIFY ssdp:alive (already rate limited per source): confirm in the background."""
        cand = self.candidate_from_ssdp(reply)
        if cand is not None:
            self._spawn(self._confirm(cand, PROBE_TIMEOUT_S))

    def on_ssdp_byebye(self, reply: SsdpReply) -> None:
        """An ssdp:byebye: honoured only when it comes from the address the device is registered at."""
        for cls in self._platforms().values():
            serial = cls.serial_from_usn(reply.header("usn"))
            dev = self._registry().by_serial(cls.platform, serial) if serial else None
            if dev is None:
                continue
            if dev.host != reply.source:
                ssdp.warn_once_a_while(reply.source, "ignoring ssdp:byebye for %s from %s; it is registered at %s",
                                       dev.name, reply.source, dev.host)
                return
            self._mark_offline(dev)
            return

    def on_mdns(self, service: MdnsService) -> None:
        v4 = [a for a in service.addresses if isinstance(ipaddress.ip_address(a), ipaddress.IPv4Address)]
        for cls in self._platforms().values():
            seen = cls.recognise_mdns(service)
            if seen is not None and v4:
                self._spawn(self._confirm(Candidate(platform=cls.platform, host=v4[0], port=cls.default_port,
                                                    source="mdns", serial_hint=seen.serial_hint), PROBE_TIMEOUT_S))
                return

    # -- searches ------------------------------------------------------------------------------
    async def discover(self, on_found: Callable[[Device], None] | None = None) -> list[Device]:
        """Run discovery now (or join the run in progress); the devices seen in that run.

        ``on_found`` is called with each device as it is confirmed (those confirmed before a
        caller joined first), and every such device is published as ``device_found``.
        """
        if self._run is None or self._run.done():
            self._run_found = {}
            self._run = asyncio.get_running_loop().create_task(self._search())
        if on_found is not None:
            for dev in list(self._run_found.values()):
                on_found(dev)
            self._found_listeners.add(on_found)
        try:
            return await asyncio.shield(self._run)
        finally:
            if on_found is not None:
                self._found_listeners.discard(on_found)

    async def forever(self) -> None:
        """Discover now and every ``discovery.interval_s`` (0: only now)."""
        while True:
            s = self._settings().section(DiscoverySettings)
            if s.enabled:
                try:
                    await self.discover()
                except Exception:
                    _LOGGER.exception("discovery run failed")
            if s.interval_s <= 0:
                return
            await asyncio.sleep(s.interval_s)

    def _found(self, dev: Device) -> None:
        if dev.id in self._run_found:
            return
        self._run_found[dev.id] = dev
        self._publish("device_found", dev.to_dict())
        for listener in list(self._found_listeners):
            listener(dev)

    async def _search(self) -> list[Device]:
        s = self._settings().section(DiscoverySettings)
        pending: list[asyncio.Task[None]] = []

        async def confirm(cand: Candidate) -> None:
            dev = await self._confirm(cand, PROBE_TIMEOUT_S)
            if dev is not None:
                self._found(dev)

        def on_reply(reply: SsdpReply) -> None:
            if reply.header("nts"):  # a NOTIFY that reached the search socket
                return
            cand = self.candidate_from_ssdp(reply)
            if cand is not None:
                pending.append(asyncio.get_running_loop().create_task(confirm(cand)))

        targets = [st for cls in self._platforms().values() for st in cls.ssdp_search_targets]
        await ssdp.search(self.interfaces(), ssdp.parse_target(s.ssdp_target), targets, s.timeout_ms / 1000,
                          on_reply)
        await asyncio.gather(*pending, return_exceptions=True)
        registry = self._registry()
        return [registry.resolve(dev_id) for dev_id in self._run_found if registry.has(dev_id)]
