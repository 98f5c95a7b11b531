"""CommandRunner: the one path every device call takes, commands and state reads alike.

It owns each device's adapter (made on first need, told of the device as the registry shows it
now), the per-device command lock and its queue rules, whether the device answers (online), and
the work in flight: removal stops that work before the adapter it uses is closed.

* Commands run under one ``asyncio.Lock`` per device (a sequence holds it for its whole run); a
  command still queued when its client leaves, or after ``daemon.queue_wait_s``, is dropped unsent.
  Different devices run in parallel.
* State reads take no lock: one read per device is in flight at a time, shared by everyone who asks
  meanwhile (sixteen dashboards polling one TV cost the TV one read, and keys never queue behind them).
  Opening the developer log takes no lock either (it may be followed while an install runs);
  both are still stopped by removal and mark the device online or offline (``read_as``).
* A device that raises ``DeviceUnreachable`` is marked offline; one that answers, online.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from tvctl.config import DaemonSettings, Settings
from tvctl.errors import DeviceBusy, DeviceNotFound, DeviceUnreachable, UnsupportedOperation
from tvctl.events import EventBus
from tvctl.models import Device, DeviceState
from tvctl.platform import Adapter, AdapterContext, Iface, State, need
from tvctl.registry import Registry

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")
A = TypeVar("A")  # the adapter, as the interface a command needs


class Caller(Protocol):
    """The client a command is run for."""

    def left(self) -> asyncio.Event:
        """Set once the client has disconnected (watching starts at the first call)."""
        ...


class CommandRunner:
    def __init__(self, settings: Callable[[], Settings], registry: Registry, bus: EventBus, ctx: AdapterContext,
                 adapter_classes: dict[str, type[Adapter]], *, after_command: Callable[[Device], None],
                 seen: Callable[[Device, DeviceState], None]) -> None:
        self.settings = settings
        self.registry = registry
        self.bus = bus
        self.ctx = ctx
        self.adapter_classes = adapter_classes
        self._after_command = after_command  # the poller's debounced refresh
        self._seen = seen  # the poller's state_changed check
        self._adapters: dict[str, Adapter] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        # commands and state reads running now, by device: removal stops them before it closes the adapter
        self._inflight: dict[str, set[asyncio.Task[Any]]] = {}
        # one state read in flight per device, shared by everyone who asks meanwhile
        self._state_reads: dict[str, asyncio.Task[tuple[Device, DeviceState]]] = {}

    # -- adapters -------------------------------------------------------------------------------
    def platform_of(self, dev: Device) -> type[Adapter]:
        """The device's platform class, for the checks that need no device (keys, packages)."""
        cls = self.adapter_classes.get(dev.platform)
        if cls is None:
            raise UnsupportedOperation(f"No adapter is installed for platform {dev.platform!r}.")
        return cls

    def adapter(self, dev: Device) -> Adapter:
        if not self.registry.has(dev.id):  # removed while its command waited: nothing may reach it now
            raise DeviceNotFound(f"{dev.name} was removed; the command was not sent.")
        a = self._adapters.get(dev.id)
        if a is None:
            a = self._adapters[dev.id] = self.platform_of(dev)(self.ctx, dev)
        else:
            a.update_device(dev)
        return a

    def updated(self, dev: Device) -> None:
        """The registry shows ``dev`` anew (a probe): tell its adapter, if it has one."""
        if dev.id in self._adapters:
            self._adapters[dev.id].update_device(dev)

    def forget(self, dev_id: str) -> Awaitable[None] | None:
        """Drop the device's adapter (its connections were made for old credentials or an old
        certificate); the closing to await, or None when it had none."""
        adapter = self._adapters.pop(dev_id, None)
        return adapter.close() if adapter is not None else None

    async def stop(self, dev_id: str) -> None:
        """The device was removed: stop its work in flight, then close what its adapter owned."""
        adapter = self._adapters.pop(dev_id, None)
        running = list(self._inflight.pop(dev_id, ()))
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        if adapter is not None:
            await adapter.close()
        self._locks.pop(dev_id, None)

    async def close(self) -> None:
        for a in self._adapters.values():
            await a.close()

    def close_streams(self) -> None:
        """End log-follow streams (shutdown must not wait for them)."""
        for a in self._adapters.values():
            a.close_streams()

    # -- online -----------------------------------------------------------------------------------
    def mark(self, dev: Device, online: bool) -> None:
        changed = self.registry.set_online(dev.id, online)
        if changed is not None:
            self.bus.publish("device_updated", changed.to_dict())

    # -- commands -------------------------------------------------------------------------------
    def lock(self, dev: Device) -> asyncio.Lock:
        return self._locks.setdefault(dev.id, asyncio.Lock())

    async def run(self, dev: Device, coro_fn: Callable[[Adapter], Awaitable[T]], caller: Caller | None = None) -> T:
        """Run one command under the device lock; track reachability; schedule a state refresh."""
        return await self._run(dev, self.adapter(dev), coro_fn, caller)

    async def run_as(self, dev: Device, iface: type[Iface], coro_fn: Callable[[Iface], Awaitable[T]],
                     caller: Caller | None = None) -> T:
        """``run``, the adapter taken as ``iface``: a device whose platform does not implement it
        is unsupported_operation before anything waits or is sent."""
        return await self._run(dev, need(self.adapter(dev), iface), coro_fn, caller)

    async def _run(self, dev: Device, adapter: A, coro_fn: Callable[[A], Awaitable[T]], caller: Caller | None) -> T:
        try:
            await self._acquire(dev, caller)
            try:
                result = await self._tracked(dev, coro_fn(adapter))
            finally:
                self.lock(dev).release()
        except DeviceUnreachable:
            self.mark(dev, False)
            raise
        if not dev.online:
            self.mark(dev, True)
        self._after_command(dev)
        return result

    async def _acquire(self, dev: Device, caller: Caller | None) -> None:
        """Take the device's command lock, unless the caller leaves or ``daemon.queue_wait_s`` passes
        first: a command must not reach the TV seconds after nobody wants it any more."""
        lock = self.lock(dev)
        if not lock.locked():
            await lock.acquire()  # free: taken without suspending
            return
        bound = self.settings().section(DaemonSettings).queue_wait_s
        gone = caller.left() if caller is not None else None
        waiter = asyncio.ensure_future(lock.acquire())
        left = asyncio.ensure_future(gone.wait()) if gone is not None else None
        try:
            await asyncio.wait([t for t in (waiter, left) if t is not None], timeout=bound,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            if left is not None:
                left.cancel()
            waiter.cancel()  # no effect once it holds the lock
        holds = waiter.done() and not waiter.cancelled()
        if holds and (gone is None or not gone.is_set()):
            return
        if holds:
            lock.release()  # taken in the same instant the caller left: give it back unused
        if gone is not None and gone.is_set():
            _LOGGER.info("%s: the client left while its command waited; not sent", dev.name)
            raise DeviceBusy(f"The client left before its command reached {dev.name}; it was not sent.")
        raise DeviceBusy(f"The command was not sent: {dev.name} was still busy with earlier commands after "
                         f"{bound:g} s (daemon.queue_wait_s).")

    async def _tracked(self, dev: Device, work: Awaitable[T]) -> T:
        """Run ``work`` as a task removal can stop; stopped that way, it is device_not_found."""
        task: asyncio.Task[T] = asyncio.ensure_future(work)
        running = self._inflight.setdefault(dev.id, set())
        running.add(task)
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if task.cancelled() and dev.id not in self._adapters and (current is None or not current.cancelling()):
                raise DeviceNotFound(f"{dev.name} was removed while the command ran; it was stopped.",
                                     hint="Add it again: tvctl device add <ip>.") from None
            raise
        finally:
            running.discard(task)

    # -- state ----------------------------------------------------------------------------------
    async def state(self, dev: Device) -> tuple[Device, DeviceState]:
        """The device (as it shows after the read) and its state now; a read in flight is shared."""
        running = self._state_reads.get(dev.id)
        if running is None:
            running = asyncio.get_running_loop().create_task(self._read_state(dev))
            self._state_reads[dev.id] = running
            running.add_done_callback(lambda t: self._state_read_done(dev.id, t))
        return await asyncio.shield(running)

    def _state_read_done(self, dev_id: str, task: asyncio.Task[tuple[Device, DeviceState]]) -> None:
        if self._state_reads.get(dev_id) is task:
            del self._state_reads[dev_id]
        if not task.cancelled():
            task.exception()  # retrieved here too: every reader may have left before it ended

    async def _read_state(self, dev: Device) -> tuple[Device, DeviceState]:
        state = await self.read_as(dev, State, lambda a: a.state())
        self._seen(dev, state)
        return self.registry.resolve(dev.id), state

    async def read_as(self, dev: Device, iface: type[Iface], coro_fn: Callable[[Iface], Awaitable[T]]) -> T:
        """A read that takes no command lock (a state read, opening the developer log, which may
        go on while an install holds the lock): removal still stops it, and it marks the device
        online or offline as a command does."""
        adapter = need(self.adapter(dev), iface)
        try:
            result = await self._tracked(dev, coro_fn(adapter))
        except DeviceUnreachable:
            self.mark(dev, False)
            raise
        if not dev.online:
            self.mark(dev, True)
        return result
