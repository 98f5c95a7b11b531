"""DeviceService: everything the API asks of devices, above the adapters.

The parts it composes are handed what they need and reach back into nothing: ``caches`` (app
lists, icons), ``archives`` (kept sideload packages), ``registry`` (devices, all-or-nothing
saves), ``credentials`` (per-device secrets), ``poller.StatePoller`` (live state for listeners)
and ``discovery.coordinator.Discovery`` (searches and announcements, which hands candidates back
to ``confirm``). What stays here: resolving a device, probing and merging it, and running
commands. Locking: one ``asyncio.Lock`` per device serialises commands to that TV (sequences
hold it for their whole run; a queued command is dropped when its client leaves or after
``daemon.queue_wait_s``); different devices run in parallel. Registry and credential writes go
through one lock and a worker thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar

import msgspec
from msgspec import UNSET

from tvctl import platforms
from tvctl.archives import ArchiveStore
from tvctl.caches import AppCache, IconCache
from tvctl.config import DaemonSettings, Settings
from tvctl.credentials import CredentialStore
from tvctl.discovery import ssdp
from tvctl.discovery.coordinator import Discovery
from tvctl.errors import (
    AmbiguousApp,
    AppNotFound,
    BadRequest,
    DeviceAuthFailed,
    DeviceBusy,
    DeviceError,
    DeviceNotFound,
    DeviceUnreachable,
    TvctlError,
    UnsupportedOperation,
)
from tvctl.events import EventBus
from tvctl.keys import Key
from tvctl.models import App, AppList, Candidate, Device, Observation, StateReport
from tvctl.platform import NO_CREDENTIALS, Adapter, AdapterContext, LogConsole
from tvctl.poller import StatePoller
from tvctl.registry import Registry, device_id
from tvctl.results import (
    ChannelList,
    CredentialField,
    CredentialReport,
    DeleteResult,
    DevRegistry,
    InstallResult,
    KeyResult,
    LaunchResult,
    PackageList,
    PlayRequest,
    PlayResult,
    ReloadResult,
    SearchRequest,
    SearchResult,
    SearchStrategy,
    SequenceResult,
    StopResult,
    TuneResult,
)

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

NO_PARAMS: Mapping[str, str] = NO_CREDENTIALS  # an empty read-only mapping
# A TV waking its network stack may need several seconds for its first answer. This bounds each
# request of a probe; a GET whose connection is dropped is asked once more (a stale keep-alive),
# so a probe may take up to twice this, and its timeout error then says how long it took.
ADD_PROBE_TIMEOUT_S = 4.0
# At start every known device is probed once, this many at a time, each within this long, so the
# list shows who answers now instead of "offline" until each device is used.
START_CHECK_CONCURRENCY = 8
START_CHECK_TIMEOUT_S = 3.0


class Caller(Protocol):
    """The client a command is run for."""

    def left(self) -> asyncio.Event:
        """Set once the client has disconnected (watching starts at the first call)."""
        ...


class DeviceService:
    def __init__(self, settings: Callable[[], Settings], registry: Registry, bus: EventBus,
                 state_dir: Path, cache_dir: Path) -> None:
        self.settings = settings
        self.registry = registry
        self.bus = bus
        self.credentials = CredentialStore(state_dir / "credentials.json")
        registry.has_credentials = self.credentials.has
        registry.present = self._present
        self.ctx = AdapterContext(settings=settings, state_dir=state_dir, cache_dir=cache_dir,
                                  credentials=self.credentials.of, observed=self._observed)
        self.app_cache = AppCache(cache_dir)
        self.icon_cache = IconCache(cache_dir)
        self.archives = ArchiveStore(state_dir / "dev", self._delete_later)
        self.adapter_classes = platforms.installed()
        self._adapters: dict[str, Adapter] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._save_lock = asyncio.Lock()
        self._probing: dict[tuple[str, str, int], asyncio.Task[Device | None]] = {}
        # commands and state reads running now, by device: removal stops them before it closes the adapter
        self._inflight: dict[str, set[asyncio.Task[Any]]] = {}
        # one state read in flight per device, shared by everyone who asks meanwhile (a busy dashboard)
        self._state_reads: dict[str, asyncio.Task[StateReport]] = {}
        self.poller = StatePoller(self.state, lambda: [d.id for d in self.registry.all()], bus, settings,
                                  self.spawn)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.discovery = Discovery(platforms=lambda: self.adapter_classes, settings=settings,
                                   registry=lambda: self.registry, confirm=self.confirm,
                                   mark_offline=lambda dev: self._mark(dev, False), publish=self.bus.publish,
                                   spawn=self.spawn)

    # -- plumbing -----------------------------------------------------------------------------
    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _delete_later(self, path: Path) -> None:
        self.spawn(asyncio.to_thread(path.unlink, True))

    async def close(self) -> None:
        self.poller.close()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for a in self._adapters.values():
            await a.close()

    async def _commit(self, change: Callable[[Registry], T], *, save: Callable[[T], bool] = lambda _r: True) -> T:
        """Apply ``change`` to a draft of the registry, write it, and only then make it current.

        A write that fails (StorageFailed) changes nothing, on disk or in what the API shows.
        ``save`` may say a result needs no write (only runtime fields changed).
        """
        async with self._save_lock:
            draft = self.registry.draft()
            result = change(draft)
            if save(result):
                await asyncio.to_thread(draft.save)
            self.registry.adopt(draft)
        return result

    def resolve(self, ident: str) -> Device:
        return self.registry.resolve(ident, self.settings().section(DaemonSettings).default_device)

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

    def lock(self, dev: Device) -> asyncio.Lock:
        return self._locks.setdefault(dev.id, asyncio.Lock())

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

    def _present(self, dev: Device) -> Device:
        cls = self.adapter_classes.get(dev.platform)
        return cls.present(dev, self.settings()) if cls is not None else dev

    def _observed(self, dev_id: str, seen: Observation) -> None:
        changed = self.registry.observe(dev_id, seen)
        if changed is not None:
            _LOGGER.info("%s: now shows access mode %s, developer mode %s%s", changed.name, changed.access_mode,
                         "on" if changed.developer_enabled else "off",
                         f"; commands go over {changed.wire}" if changed.wire else "")
            self.bus.publish("device_updated", changed.to_dict())

    def _mark(self, dev: Device, online: bool) -> None:
        changed = self.registry.set_online(dev.id, online)
        if changed is not None:
            self.bus.publish("device_updated", changed.to_dict())

    async def _run(self, dev: Device, coro_fn: Callable[[Adapter], Awaitable[T]], caller: Caller | None = None) -> T:
        """Run one command under the device lock; track reachability; schedule a state refresh.

        A command still queued when its ``caller`` disconnects is dropped unsent (``_acquire``).
        """
        adapter = self.adapter(dev)
        try:
            await self._acquire(dev, caller)
            try:
                result = await self._tracked(dev, coro_fn(adapter))
            finally:
                self.lock(dev).release()
        except DeviceUnreachable:
            self._mark(dev, False)
            raise
        if not dev.online:
            self._mark(dev, True)
        self.poller.after_command(dev)
        return result

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

    async def check_all(self) -> None:
        """Probe every known device once (bounded, a few at a time): marks who answers online."""
        gate = asyncio.Semaphore(START_CHECK_CONCURRENCY)

        async def check(dev: Device) -> None:
            async with gate:
                source = dev.sources[0] if dev.sources else "manual"
                cand = Candidate(platform=dev.platform, host=dev.host, port=dev.port, source=source)
                if cand.platform in self.adapter_classes and await self.confirm(cand, START_CHECK_TIMEOUT_S) is None:
                    _LOGGER.info("%s did not answer at %s:%d at start", dev.name, dev.host, dev.port)

        await asyncio.gather(*(check(d) for d in self.registry.all()), return_exceptions=True)

    # -- discovery ----------------------------------------------------------------------------
    async def confirm(self, cand: Candidate, timeout_s: float) -> Device | None:
        """Probe a candidate with device-info and merge it into the registry."""
        key = (cand.platform, cand.host, cand.port)
        running = self._probing.get(key)
        if running is not None:
            return await asyncio.shield(running)
        task = asyncio.get_running_loop().create_task(self._confirm(cand, timeout_s))
        self._probing[key] = task
        task.add_done_callback(lambda _t: self._probing.pop(key, None))
        return await asyncio.shield(task)

    async def _confirm(self, cand: Candidate, timeout_s: float, *, raise_errors: bool = False,
                       credentials: Mapping[str, str] | None = None) -> Device | None:
        """Probe and merge. ``credentials`` given (adding a device): they replace the device's own,
        written before the registry, and put back as they were if the registry write fails."""
        cls = self.adapter_classes[cand.platform]
        known = next((d for d in self.registry.all() if (d.platform, d.host, d.port) ==
                      (cand.platform, cand.host, cand.port)), None)
        kept = self.credentials.of(known.id) if known is not None else NO_CREDENTIALS
        try:
            info = await cls.probe(self.ctx, cand.host, cand.port, timeout_s,
                                   credentials=kept if credentials is None else credentials, known=known)
        except TvctlError as exc:
            if raise_errors:
                raise
            ssdp.warn_once_a_while(cand.host, "%s:%d (%s) did not confirm as a %s device: %s", cand.host, cand.port,
                                   cand.source, cand.platform, exc.message)
            return None
        if cand.serial_hint and cand.serial_hint != info.serial:
            _LOGGER.info("%s: SSDP serial %s differs from device-info serial %s; using the latter",
                         cand.host, cand.serial_hint, info.serial)
        if credentials is not None:
            dev_id = device_id(info.platform, info.serial)
            before = dict(self.credentials.of(dev_id))
            async with self._save_lock:
                await asyncio.to_thread(self.credentials.replace, dev_id, credentials)
        try:
            dev, change = await self._commit(lambda r: r.merge(info, cand, cls.capabilities_for(info)),
                                             save=lambda result: result[1] is not None)
        except TvctlError:
            if credentials is not None:
                async with self._save_lock:
                    await asyncio.to_thread(self.credentials.replace, dev_id, before)
            raise
        came_back = self.registry.set_online(dev.id, True) is not None and change is None
        dev = self.registry.resolve(dev.id)
        if change is not None:
            _LOGGER.info("%s: %s at %s:%d", dev.name, change, dev.host, dev.port)
        if change is not None or came_back:  # one event: added, or updated (which coming back online is)
            self.bus.publish(f"device_{change or 'updated'}", dev.to_dict())
        if dev.id in self._adapters:
            self._adapters[dev.id].update_device(dev)
        return dev

    async def add_by_address(self, host: str, port: int | None, platform: str | None = None,
                             credentials: Mapping[str, str] | None = None) -> Device:
        """Probe ``host`` as each installed platform in turn (or only ``platform``); the first that
        confirms is added. When none does, the first one's error says what was tried, unless a
        platform answered and refused the credentials given (device_auth_failed): that is the answer
        then, not "nothing answered". With ``credentials``, only platforms that take every one of
        those fields are tried."""
        if platform is not None and platform not in self.adapter_classes:
            raise BadRequest(f"No platform {platform!r} is installed.",
                             hint="Installed: " + ", ".join(self.adapter_classes))
        classes = [self.adapter_classes[platform]] if platform else list(self.adapter_classes.values())
        if credentials:
            named = set(credentials)
            fitting = [c for c in classes if named <= set(c.credentials)]
            if not fitting:
                takes = "; ".join(f"{c.platform}: {', '.join(sorted(c.credentials)) or 'none'}" for c in classes)
                raise BadRequest(f"No platform takes the credentials {', '.join(sorted(named))}.",
                                 hint=f"Credentials by platform: {takes}.")
            classes = fitting
        first: DeviceError | None = None
        refused: DeviceAuthFailed | None = None  # a platform that answered and refused the credentials
        tried: list[str] = []
        for cls in classes:
            cand = Candidate(platform=cls.platform, host=host, port=port or cls.default_port, source="manual")
            tried.append(f"{cls.platform} at {cand.host}:{cand.port}")
            try:
                dev = await self._confirm(cand, ADD_PROBE_TIMEOUT_S, raise_errors=True, credentials=credentials)
            except DeviceAuthFailed as exc:
                if credentials:  # without any, a platform that needs them says so before it asks anything
                    refused = refused or exc
                first = first or exc
                continue
            except DeviceError as exc:
                first = first or exc
                continue
            assert dev is not None
            return dev
        if refused is not None:
            raise refused
        if first is None:
            raise BadRequest("No platform is installed.", hint="Install tvctl with its adapters package.")
        raise first.restated(hint=f"Nothing answered as {' or as '.join(tried)}. Check the address and that the "
                                  f"device is on. {first.hint}") from first

    async def remove(self, ident: str) -> Device:
        dev = await self._commit(lambda r: r.remove(ident))
        try:  # after the registry: a failure here leaves an unused entry, never a device without its secrets
            async with self._save_lock:
                await asyncio.to_thread(self.credentials.forget, dev.id)
        except TvctlError as exc:
            _LOGGER.warning("%s was removed but its credentials were not: %s", dev.name, exc.message)
        self.registry.set_online(dev.id, False)
        adapter = self._adapters.pop(dev.id, None)
        running = list(self._inflight.pop(dev.id, ()))
        for task in running:  # its commands and reads stop before what they use is closed
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        if adapter is not None:
            await adapter.close()
        self._locks.pop(dev.id, None)
        self.bus.publish("device_removed", dev.to_dict())
        return dev

    async def patch(self, ident: str, *, name: str | None = None, credentials: Mapping[str, str] | None = None,
                    options: dict[str, str | None] | None = None, tls_fingerprint: str | None = None) -> Device:
        """Rename, set options, replace the credentials, accept a new certificate: each checked
        before any is written."""
        dev = self.resolve(ident)
        if credentials is not None:
            self._check_credential_names(dev, set(credentials))
        if options:
            self._check_options(dev, options)
        if name is not None:
            dev = await self._commit(lambda r: r.rename(dev.id, name))
        if options:
            dev = await self._commit(lambda r: r.set_options(dev.id, options))
        if tls_fingerprint is not None:
            dev = await self._commit(lambda r: r.pin_certificate(dev.id, tls_fingerprint))
            self._forget_adapter(dev.id)  # its connections were made for the old certificate
        if credentials is not None:
            async with self._save_lock:
                await asyncio.to_thread(self.credentials.replace, dev.id, credentials)
            self._forget_adapter(dev.id)  # its tokens came from the old credentials
            dev = self.registry.resolve(dev.id)
        self.bus.publish("device_updated", dev.to_dict())
        return dev

    def _forget_adapter(self, dev_id: str) -> None:
        adapter = self._adapters.pop(dev_id, None)
        if adapter is not None:
            self.spawn(adapter.close())

    def _check_options(self, dev: Device, options: dict[str, str | None]) -> None:
        declared = self.platform_of(dev).options
        for name, value in options.items():
            f = declared.get(name)
            if f is None:
                raise BadRequest(f"{dev.platform} devices have no option {name!r}.",
                                 hint="Their options: " + (", ".join(sorted(declared)) or "none") + ".")
            problem = f.check(value) if f.check is not None and value is not None else None
            if problem:
                raise BadRequest(f"Option {name} = {value!r}: {problem}.", hint=f.doc)

    def _check_credential_names(self, dev: Device, names: set[str]) -> None:
        declared = self.platform_of(dev).credentials
        if not declared:
            raise UnsupportedOperation(f"{dev.platform} devices keep no credentials.")
        unknown = sorted(names - set(declared))
        if unknown:
            raise BadRequest(f"{dev.platform} devices keep no credential named {', '.join(map(repr, unknown))}.",
                             hint="Their credentials: " + ", ".join(sorted(declared)) + ".")

    # -- credentials --------------------------------------------------------------------------
    def credential_report(self, ident: str) -> CredentialReport:
        dev = self.resolve(ident)
        kept = self.credentials.of(dev.id)
        fields = [CredentialField(name=name, about=f.doc, set=name in kept)
                  for name, f in sorted(self.platform_of(dev).credentials.items())]
        return CredentialReport(device=dev.name, platform=dev.platform, fields=fields)

    async def set_credentials(self, ident: str, changes: dict[str, str | None]) -> CredentialReport:
        """Set (a string) or clear (None) credentials of one device; all or nothing."""
        dev = self.resolve(ident)
        self._check_credential_names(dev, set(changes))
        async with self._save_lock:
            await asyncio.to_thread(self.credentials.update, dev.id, changes)
        self._forget_adapter(dev.id)
        return self.credential_report(dev.id)

    # -- keys ---------------------------------------------------------------------------------
    async def send_key(self, ident: str, key: Key, hold_ms: int, repeat: int,
                       caller: Caller | None = None) -> KeyResult:
        """Press ``key`` ``repeat`` times (bounds are the request type's: tvctl.api.bodies)."""
        dev = self.resolve(ident)
        self.platform_of(dev).check_key(key)

        async def go(a: Adapter) -> KeyResult:
            result = await a.send_key(key, hold_ms=hold_ms)
            for _ in range(repeat - 1):
                result = await a.send_key(key, hold_ms=hold_ms)
            return result

        result = await self._run(dev, go, caller)
        if key.name == "literal" and result.sent is UNSET:  # the API promises how many characters went out
            result = msgspec.structs.replace(result, sent=len(key.text))
        return msgspec.structs.replace(result, device=dev.name, repeat=repeat)

    def check_sequence(self, ident: str, keys: list[Key]) -> Device:
        """The device, once every key is known to take: nothing is sent otherwise."""
        dev = self.resolve(ident)
        for key in keys:
            self.platform_of(dev).check_key(key)
        return dev

    async def send_sequence(self, ident: str, keys: list[Key], delay_ms: int,
                            caller: Caller | None = None,
                            progress: Callable[[int], None] | None = None) -> SequenceResult:
        """Press ``keys`` in order; ``progress`` is told how many were sent after each one."""
        dev = self.check_sequence(ident, keys)  # every key is checked before the first is sent

        async def go(a: Adapter) -> int:
            for i, key in enumerate(keys):
                if i and delay_ms:
                    await asyncio.sleep(delay_ms / 1000)
                if caller is not None and caller.left().is_set():
                    _LOGGER.info("%s: the client left during a sequence; %d of %d keys not sent",
                                 dev.name, len(keys) - i, len(keys))
                    raise DeviceBusy(f"The client left; keys {i + 1} to {len(keys)} were not sent.",
                                     details={"sent": i, "total": len(keys)})
                try:
                    await a.send_key(key)
                except TvctlError as exc:
                    raise exc.restated(f"Key {i + 1} of {len(keys)} failed after {i} were sent: {exc.message}",
                                       sent=i, total=len(keys)) from exc
                if progress is not None:
                    progress(i + 1)
            return len(keys)

        return SequenceResult(device=dev.name, sent=await self._run(dev, go, caller), delay_ms=delay_ms)

    # -- apps ---------------------------------------------------------------------------------
    async def apps(self, ident: str, *, refresh: bool = False, clear: bool = False) -> AppList:
        dev = self.resolve(ident)
        cached = await asyncio.to_thread(self.app_cache.load, dev.id)
        old = cached or []
        if clear:
            await asyncio.to_thread(self.app_cache.clear, dev.id)  # a failed fetch leaves no stale cache
        elif cached and not refresh:
            return AppList(platform=dev.platform, apps=cached, cached=True)
        apps = await self._run(dev, lambda a: a.list_apps())
        await asyncio.to_thread(self.app_cache.store, dev.id, apps)
        if not (refresh or clear):
            return AppList(platform=dev.platform, apps=apps, cached=False)
        before, after = {a.platform_id for a in old}, {a.platform_id for a in apps}
        return AppList(platform=dev.platform, apps=apps, cached=False, cleared=clear,
                       added=sorted(after - before), removed=sorted(before - after))

    def _match_app(self, apps: list[App], query: str) -> App:
        q = query.strip().lower()
        for field in ("platform_id", "id", "name"):
            hits = [a for a in apps if str(getattr(a, field)).lower() == q]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                listed = ", ".join(f"{a.name} ({a.platform_id})" for a in hits)
                raise AmbiguousApp(f"{query!r} matches {len(hits)} apps: {listed}.",
                                   details={"matches": [a.to_dict() for a in hits]})
        # No exact match: a name that starts with the query ("you" → YouTube), when only one does.
        hits = [a for a in apps if q and a.name.lower().startswith(q)]
        if len(hits) == 1:
            return hits[0]
        if hits:
            listed = ", ".join(f"{a.name} ({a.platform_id})" for a in hits)
            raise AmbiguousApp(f"{query!r} starts the names of {len(hits)} apps: {listed}.",
                               hint="Give more of the name, or the app's id.",
                               details={"matches": [a.to_dict() for a in hits]})
        raise AppNotFound(f"No installed app matches {query!r}.")

    async def find_app(self, ident: str, query: str) -> App:
        """The installed app ``query`` names (the cached list, refreshed once when it has none)."""
        listing = await self.apps(ident)
        try:
            return self._match_app(listing.apps, query)
        except AppNotFound:
            if not listing.cached:
                raise
            return self._match_app((await self.apps(ident, refresh=True)).apps, query)

    async def launch(self, ident: str, query: str, params: dict[str, str],
                     caller: Caller | None = None) -> LaunchResult:
        dev = self.resolve(ident)
        app = await self.find_app(ident, query)
        return await self._run(dev, lambda a: a.launch(app, params), caller)

    async def stop_app(self, ident: str, caller: Caller | None = None) -> StopResult:
        dev = self.resolve(ident)
        return await self._run(dev, lambda a: a.stop_app(), caller)

    async def icon(self, ident: str, app_query: str) -> tuple[bytes, str, str]:
        dev = self.resolve(ident)
        app = self._match_app((await self.apps(ident)).apps, app_query)
        hit = await asyncio.to_thread(self.icon_cache.load, dev.id, app)
        if hit is not None:
            return hit[0], hit[1], hashlib.sha1(hit[0]).hexdigest()
        body, ctype = await self._run(dev, lambda a: a.icon(app.platform_id))
        await asyncio.to_thread(self.icon_cache.store, dev.id, app, body, ctype)
        return body, ctype, hashlib.sha1(body).hexdigest()

    # -- search, live TV, media ---------------------------------------------------------------
    async def search(self, ident: str, keyword: str, *, app: str | None = None, type: str | None = None,
                     season: int | None = None, launch: bool = False, strategy: SearchStrategy = "auto",
                     caller: Caller | None = None) -> SearchResult:
        dev = self.resolve(ident)
        found = await self.find_app(ident, app) if app else None
        request = SearchRequest(keyword=keyword, app=found, type=type, season=season, launch=launch,
                                strategy=strategy)
        return await self._run(dev, lambda a: a.search(request), caller)

    async def tv_channels(self, ident: str) -> ChannelList:
        dev = self.resolve(ident)
        return ChannelList(device=dev.name, channels=await self._run(dev, lambda a: a.tv_channels()))

    async def tv_tune(self, ident: str, channel: str, caller: Caller | None = None) -> TuneResult:
        dev = self.resolve(ident)
        return await self._run(dev, lambda a: a.tv_tune(channel), caller)

    async def play_media(self, ident: str, request: PlayRequest, caller: Caller | None = None) -> PlayResult:
        dev = self.resolve(ident)
        return await self._run(dev, lambda a: a.play_media(request), caller)

    # -- state --------------------------------------------------------------------------------
    async def state(self, ident: str) -> StateReport:
        """The device's state now. Readers that ask while a read is in flight share it: sixteen
        dashboards polling one TV cost the TV one read, and keys never queue behind them."""
        dev = self.resolve(ident)
        running = self._state_reads.get(dev.id)
        if running is None:
            running = asyncio.get_running_loop().create_task(self._read_state(dev))
            self._state_reads[dev.id] = running
            running.add_done_callback(lambda t: self._state_read_done(dev.id, t))
        return await asyncio.shield(running)

    def _state_read_done(self, dev_id: str, task: asyncio.Task[StateReport]) -> None:
        if self._state_reads.get(dev_id) is task:
            del self._state_reads[dev_id]
        if not task.cancelled():
            task.exception()  # retrieved here too: every reader may have left before it ended

    async def _read_state(self, dev: Device) -> StateReport:
        adapter = self.adapter(dev)
        try:
            state = await self._tracked(dev, adapter.state())
        except DeviceUnreachable:
            self._mark(dev, False)
            raise
        if not dev.online:
            self._mark(dev, True)
        self.poller.seen(dev, state)
        return StateReport(device=self.registry.resolve(dev.id), state=state)

    # -- developer mode -----------------------------------------------------------------------
    def dev_preflight(self, ident: str) -> Device:
        """Checks that need no upload: the device exists and its platform is ready to take one."""
        dev = self.resolve(ident)
        self.adapter(dev).sideload_preflight()
        return dev

    async def dev_install(self, ident: str, upload: Path, params: Mapping[str, str] = NO_PARAMS) -> InstallResult:
        dev = self.dev_preflight(ident)
        await asyncio.to_thread(self.platform_of(dev).check_archive, upload)
        result = await self._run(dev, lambda a: a.dev_install(upload, params))
        if result.result != "identical" or not self.archives.kept(dev.id).exists():
            replaced = await asyncio.to_thread(self.archives.keep, upload, dev.id)
            if replaced is not None:
                self.archives.discard(replaced)
        return result

    async def dev_reload(self, ident: str, params: Mapping[str, str] = NO_PARAMS) -> ReloadResult:
        dev = self.resolve(ident)
        kept = self.archives.kept(dev.id)
        # The kept archive lets reload re-install a channel the device lost.
        archive = kept if kept.exists() else None
        return await self._run(dev, lambda a: a.dev_reload(archive, params))

    async def dev_registry(self, ident: str) -> DevRegistry:
        dev = self.resolve(ident)
        return await self._run(dev, lambda a: a.dev_registry())

    async def dev_packages(self, ident: str) -> PackageList:
        dev = self.dev_preflight(ident)
        return await self._run(dev, lambda a: a.dev_packages())

    async def dev_delete(self, ident: str) -> DeleteResult:
        """Remove the sideloaded package, and the copy kept for reload (it was deleted on purpose)."""
        dev = self.dev_preflight(ident)
        result = await self._run(dev, lambda a: a.dev_delete())
        kept = self.archives.kept(dev.id)
        if kept.exists():
            self.archives.discard(kept)
        return result

    async def dev_console(self, ident: str) -> tuple[Device, LogConsole]:
        dev = self.resolve(ident)
        console = self.adapter(dev).console()
        await console.ensure_started()
        return dev, console

    async def dev_screenshot(self, ident: str) -> tuple[bytes, str]:
        dev = self.resolve(ident)
        result: tuple[bytes, str] = await self._run(dev, lambda a: a.dev_screenshot())
        return result

    async def screenshot(self, ident: str, display: int = 0) -> tuple[bytes, str]:
        dev = self.resolve(ident)
        result: tuple[bytes, str] = await self._run(dev, lambda a: a.screenshot(display))
        return result

    def close_streams(self) -> None:
        """End log-follow streams (shutdown must not wait for them)."""
        for a in self._adapters.values():
            a.close_streams()
