"""Live state for event listeners: polling while anyone listens, a debounced refresh after each
command, and ``state_changed`` when a device's state differs from the last one seen.

Handed what it needs (how to read a device's state, the device ids, the bus, the settings, a way
to start background tasks); it does not reach back into the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from tvctl.config import Settings, StateSettings
from tvctl.errors import TvctlError
from tvctl.events import EventBus
from tvctl.models import Device, DeviceState

# State lags a command by a few hundred ms on a TV (Home Assistant debounces 0.35 s).
POST_COMMAND_REFRESH_S = 0.35
# The poller wakes this often to see whether a poll is due (cheap; keeps interval changes live).
POLL_TICK_S = 0.1


class StatePoller:
    def __init__(self, read_state: Callable[[str], Awaitable[Any]], device_ids: Callable[[], Iterable[str]],
                 bus: EventBus, settings: Callable[[], Settings],
                 spawn: Callable[[Awaitable[None]], object]) -> None:
        self.read_state = read_state  # reads a device's state (and calls ``seen`` with it)
        self.device_ids = device_ids
        self.bus = bus
        self.settings = settings
        self.spawn = spawn
        self._last: dict[str, DeviceState] = {}
        self._refresh: dict[str, asyncio.TimerHandle] = {}

    def seen(self, dev: Device, state: DeviceState) -> None:
        """A state was read: publish it if it changed (the first one only when someone listens)."""
        if self._last.get(dev.id) != state:
            first = dev.id not in self._last
            self._last[dev.id] = state
            if not first or self.bus.subscriber_count:
                self.bus.publish("state_changed", {"device": dev.name, "id": dev.id, "state": state})

    def after_command(self, dev: Device) -> None:
        """Refresh a device's state shortly after a command, if anyone listens (debounced)."""
        if not self.bus.subscriber_count:
            return
        old = self._refresh.pop(dev.id, None)
        if old is not None:
            old.cancel()
        self._refresh[dev.id] = asyncio.get_running_loop().call_later(
            POST_COMMAND_REFRESH_S, lambda: self.spawn(self._quietly(dev.id)))

    async def _quietly(self, dev_id: str) -> None:
        self._refresh.pop(dev_id, None)
        with contextlib.suppress(TvctlError):
            await self.read_state(dev_id)

    async def run(self) -> None:
        """Poll every device while anyone listens to events (interval changes apply at once)."""
        last = 0.0
        while True:
            await asyncio.sleep(POLL_TICK_S)
            if not self.bus.subscriber_count:
                last = 0.0  # the next listener gets fresh state right away
                continue
            if time.monotonic() - last < self.settings().section(StateSettings).poll_interval_s:
                continue
            last = time.monotonic()
            await asyncio.gather(*(self._quietly(dev_id) for dev_id in self.device_ids()))

    def close(self) -> None:
        for handle in self._refresh.values():
            handle.cancel()
