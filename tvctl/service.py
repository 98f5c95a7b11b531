"""DeviceService: everything the API asks of devices, above the adapters.

It composes parts that are handed what they need and reach back into nothing: ``directory``
(which devices there are: resolve, confirm, add, patch, credentials, remove; ``tvctl.directory``),
``runner`` (the one path every device call takes: adapters, the per-device lock and queue, work in
flight, online marking, shared state reads; ``tvctl.runner``), ``caches`` (app lists, icons),
``archives`` (kept sideload packages), ``poller.StatePoller`` (live state for listeners) and
``discovery.coordinator.Discovery`` (searches and announcements, which hands candidates to the
directory). What stays here: what each of the core's operations (``tvctl.operations``) does beyond
handing its request to the adapter (matching an app by name, repeating a key, keeping a sideloaded
package), with the adapter taken as the capability interface it needs (``run_as``); and
``perform``, which runs a platform's own operation as its adapter method.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import msgspec
from msgspec import UNSET

from tvctl import plugins, results
from tvctl.archives import ArchiveStore
from tvctl.caches import AppCache, IconCache
from tvctl.config import Settings
from tvctl.credentials import CredentialStore
from tvctl.directory import DeviceDirectory
from tvctl.discovery.coordinator import Discovery
from tvctl.errors import (
    AmbiguousApp,
    AmbiguousSession,
    AppNotFound,
    BadRequest,
    DeviceBusy,
    SessionNotFound,
    TvctlError,
    UnsupportedOperation,
)
from tvctl.events import EventBus
from tvctl.keys import Key
from tvctl.models import App, AppList, Device, StateReport
from tvctl.operations import Operation
from tvctl.platform import (
    NO_CREDENTIALS,
    Adapter,
    AdapterContext,
    Apps,
    Capability,
    DeveloperMode,
    Keys,
    LogConsole,
    MediaUrl,
    Pointing,
    Screenshots,
    Searching,
    Sessions,
    Tuner,
    need,
    platform_as,
    session_at,
)
from tvctl.poller import StatePoller
from tvctl.registry import Registry
from tvctl.runner import Caller, CommandRunner

__all__ = ["Caller", "DeviceService"]

_LOGGER = logging.getLogger(__name__)

NO_PARAMS: Mapping[str, str] = NO_CREDENTIALS  # an empty read-only mapping


class DeviceService:
    def __init__(self, settings: Callable[[], Settings], registry: Registry, bus: EventBus,
                 state_dir: Path, cache_dir: Path, *, adapter_classes: dict[str, type[Adapter]] | None = None) -> None:
        """``adapter_classes``: the platforms to drive (by default the installed ones)."""
        self.settings = settings
        self.registry = registry
        self.bus = bus
        self.credentials = CredentialStore(state_dir / "credentials.json")
        self.ctx = AdapterContext(settings=settings, state_dir=state_dir, cache_dir=cache_dir,
                                  credentials=self.credentials.of,
                                  observed=lambda dev_id, seen: self.directory.observed(dev_id, seen))
        self.app_cache = AppCache(cache_dir)
        self.icon_cache = IconCache(cache_dir)
        self.archives = ArchiveStore(state_dir / "dev", self._delete_later)
        self.adapter_classes = adapter_classes if adapter_classes is not None else plugins.installed()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.poller = StatePoller(self.state, lambda: [d.id for d in self.registry.all()], bus, settings,
                                  self.spawn)
        self.runner = CommandRunner(settings, registry, bus, self.ctx, self.adapter_classes,
                                    after_command=self.poller.after_command, seen=self.poller.seen)
        self.directory = DeviceDirectory(settings, registry, bus, self.ctx, self.credentials, self.adapter_classes,
                                         self.runner, self.spawn)
        self.discovery = Discovery(platforms=lambda: self.adapter_classes, settings=settings,
                                   registry=lambda: self.registry, confirm=self.directory.confirm,
                                   mark_offline=lambda dev: self.runner.mark(dev, False), publish=self.bus.publish,
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
        await self.runner.close()

    # -- the directory, as the API asks it ----------------------------------------------------
    def resolve(self, ident: str) -> Device:
        return self.directory.resolve(ident)

    async def add_by_address(self, host: str, port: int | None, platform: str | None = None,
                             credentials: Mapping[str, str] | None = None) -> Device:
        return await self.directory.add_by_address(host, port, platform, credentials)

    async def remove(self, ident: str) -> Device:
        return await self.directory.remove(ident)

    async def patch(self, ident: str, *, name: str | None = None, credentials: Mapping[str, str] | None = None,
                    options: dict[str, str | None] | None = None, tls_fingerprint: str | None = None) -> Device:
        return await self.directory.patch(ident, name=name, credentials=credentials, options=options,
                                          tls_fingerprint=tls_fingerprint)

    def credential_report(self, ident: str) -> results.CredentialReport:
        return self.directory.credential_report(ident)

    async def set_credentials(self, ident: str, changes: dict[str, str | None]) -> results.CredentialReport:
        return await self.directory.set_credentials(ident, changes)

    # -- the operation table ------------------------------------------------------------------
    async def perform(self, op: Operation[Any, Any], ident: str, request: Any, caller: Caller | None) -> Any:
        """Run a platform's own operation (tvctl.operations), its request read and checked, as its
        adapter method of the same name. The core's operations have methods of their own here."""
        dev = self.resolve(ident)
        if op.capability is not None and op.capability not in dev.capabilities:
            raise UnsupportedOperation(f"{dev.name} ({dev.model}, {dev.kind}) cannot {op.summary[:1].lower()}"
                                       f"{op.summary[1:].rstrip('.')}.")
        method = getattr(self.runner.platform_of(dev), op.name, None)
        if method is None:
            raise UnsupportedOperation(f"The {dev.platform} platform declares {op.name} but does not implement it.")
        return await self.runner.run(dev, lambda a: getattr(a, op.name)(request), caller)

    # -- keys ---------------------------------------------------------------------------------
    async def send_key(self, ident: str, key: Key, hold_ms: int, repeat: int,
                       caller: Caller | None = None) -> results.KeyResult:
        """Press ``key`` ``repeat`` times (bounds are the request type's: tvctl.api.bodies)."""
        dev = self.resolve(ident)
        self.runner.platform_of(dev).check_key(key)

        async def go(a: Keys) -> results.KeyResult:
            result = await a.send_key(key, hold_ms=hold_ms)
            for _ in range(repeat - 1):
                result = await a.send_key(key, hold_ms=hold_ms)
            return result

        result = await self.runner.run_as(dev, Keys, go, caller)
        if key.name == "literal" and result.sent is UNSET:  # the API promises how many characters went out
            result = msgspec.structs.replace(result, sent=len(key.text))
        return msgspec.structs.replace(result, device=dev.name, repeat=repeat)

    def check_sequence(self, ident: str, keys: list[Key]) -> Device:
        """The device, once every key is known to take: nothing is sent otherwise."""
        dev = self.resolve(ident)
        for key in keys:
            self.runner.platform_of(dev).check_key(key)
        return dev

    async def send_sequence(self, ident: str, keys: list[Key], delay_ms: int,
                            caller: Caller | None = None,
                            progress: Callable[[int], None] | None = None) -> results.SequenceResult:
        """Press ``keys`` in order; ``progress`` is told how many were sent after each one."""
        dev = self.check_sequence(ident, keys)  # every key is checked before the first is sent

        async def go(a: Keys) -> int:
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

        sent = await self.runner.run_as(dev, Keys, go, caller)
        return results.SequenceResult(device=dev.name, sent=sent, delay_ms=delay_ms)

    # -- apps ---------------------------------------------------------------------------------
    async def apps(self, ident: str, *, refresh: bool = False, clear: bool = False) -> AppList:
        dev = self.resolve(ident)
        cached = await asyncio.to_thread(self.app_cache.load, dev.id)
        old = cached or []
        if clear:
            await asyncio.to_thread(self.app_cache.clear, dev.id)  # a failed fetch leaves no stale cache
        elif cached and not refresh:
            return AppList(platform=dev.platform, apps=cached, cached=True)
        apps = await self.runner.run_as(dev, Apps, lambda a: a.list_apps())
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
                     caller: Caller | None = None) -> results.LaunchResult:
        dev = self.resolve(ident)
        app = await self.find_app(ident, query)
        return await self.runner.run_as(dev, Apps, lambda a: a.launch(app, params), caller)

    async def stop_app(self, ident: str, caller: Caller | None = None) -> results.StopResult:
        dev = self.resolve(ident)
        return await self.runner.run_as(dev, Apps, lambda a: a.stop_app(), caller)

    async def icon(self, ident: str, app_query: str) -> tuple[bytes, str, str]:
        dev = self.resolve(ident)
        app = self._match_app((await self.apps(ident)).apps, app_query)
        hit = await asyncio.to_thread(self.icon_cache.load, dev.id, app)
        if hit is not None:
            return hit[0], hit[1], hashlib.sha1(hit[0]).hexdigest()
        body, ctype = await self.runner.run_as(dev, Apps, lambda a: a.icon(app.platform_id))
        await asyncio.to_thread(self.icon_cache.store, dev.id, app, body, ctype)
        return body, ctype, hashlib.sha1(body).hexdigest()

    # -- search, live TV, media ---------------------------------------------------------------
    async def search(self, ident: str, keyword: str, *, app: str | None = None, type: str | None = None,
                     season: int | None = None, launch: bool = False, strategy: results.SearchStrategy = "auto",
                     caller: Caller | None = None) -> results.SearchResult:
        dev = self.resolve(ident)
        found = await self.find_app(ident, app) if app else None
        request = results.SearchRequest(keyword=keyword, app=found, type=type, season=season, launch=launch,
                                strategy=strategy)
        return await self.runner.run_as(dev, Searching, lambda a: a.search(request), caller)

    async def tv_channels(self, ident: str) -> results.ChannelList:
        dev = self.resolve(ident)
        channels = await self.runner.run_as(dev, Tuner, lambda a: a.tv_channels())
        return results.ChannelList(device=dev.name, channels=channels)

    async def tv_tune(self, ident: str, channel: str, caller: Caller | None = None) -> results.TuneResult:
        dev = self.resolve(ident)
        return await self.runner.run_as(dev, Tuner, lambda a: a.tv_tune(channel), caller)

    async def play_media(self, ident: str, request: results.PlayRequest,
                         caller: Caller | None = None) -> results.PlayResult:
        dev = self.resolve(ident)
        return await self.runner.run_as(dev, MediaUrl, lambda a: a.play_media(request), caller)

    async def pointer(self, ident: str, request: results.PointerRequest,
                      caller: Caller | None = None) -> results.PointerResult:
        if request.unit == "fraction" and (request.x > 1 or request.y > 1):
            raise BadRequest(f"A fraction of the screen is from 0 to 1; got x={request.x:g}, y={request.y:g}.",
                             hint='Give pixels with "unit": "px" (the default), or fractions from 0 to 1.')
        dev = self.resolve(ident)
        if Capability.POINTER not in dev.capabilities:
            raise UnsupportedOperation(f"{dev.name} ({dev.model}, {dev.kind}) {Pointing.cannot}.")
        return await self.runner.run_as(dev, Pointing, lambda a: a.pointer(request), caller)

    # -- sessions (a server whose screens are sessions) ----------------------------------------
    async def sessions(self, ident: str, request: results.SessionListRequest) -> results.SessionList:
        dev = self.resolve(ident)
        found = await self.runner.read_as(dev, Sessions, lambda a: a.list_sessions(request))
        return results.SessionList(device=dev.name, sessions=found)

    async def terminate_session(self, ident: str, query: str, caller: Caller | None = None) -> results.TerminateResult:
        """End the session ``query`` names (its id, its name, or the start of its name when only one's
        starts so), found and ended under the device's command lock."""
        dev = self.resolve(ident)

        async def terminate(a: Sessions) -> results.TerminateResult:
            target = match_session(await a.list_sessions(results.SessionListRequest()), query)
            await a.terminate_session(target)
            return results.TerminateResult(device=dev.name, terminated=target)

        return await self.runner.run_as(dev, Sessions, terminate, caller)

    async def screenshot(self, ident: str, display: int = 0, session: str | None = None,
                         image_format: str | None = None) -> tuple[bytes, str]:
        """What the device's screen ``display`` shows; on a server of sessions, session ``session``
        (id or name) or the one at place ``display``, in ``image_format`` when given."""
        dev = self.resolve(ident)
        if session is None and image_format is None:
            shot: tuple[bytes, str] = await self.runner.run_as(dev, Screenshots, lambda a: a.screenshot(display))
            return shot
        if Capability.SESSIONS not in dev.capabilities:
            asked = "session" if session is not None else "format"
            raise UnsupportedOperation(f"{dev.name} ({dev.model}, {dev.kind}) {Sessions.cannot}: the screenshot's "
                                       f"{asked} parameter is for servers of sessions.",
                                       hint=f"Leave {asked} out: GET /v1/devices/{dev.name}/screenshot?display=0.")

        async def take(a: Sessions) -> tuple[bytes, str]:
            if session is not None:
                target = match_session(await a.list_sessions(results.SessionListRequest()), session)
            else:
                target = await session_at(a, display, dev.name)
            return await a.session_screenshot(target.id, image_format)

        shot = await self.runner.run_as(dev, Sessions, take)
        return shot

    # -- state --------------------------------------------------------------------------------
    async def state(self, ident: str) -> StateReport:
        """The device's state now (a read in flight is shared: tvctl.runner)."""
        dev, state = await self.runner.state(self.resolve(ident))
        return StateReport(device=dev, state=state)

    # -- developer mode -----------------------------------------------------------------------
    def dev_preflight(self, ident: str) -> Device:
        """Checks that need no upload: the device exists and its platform is ready to take one."""
        dev = self.resolve(ident)
        need(self.runner.adapter(dev), DeveloperMode).sideload_preflight()
        return dev

    async def dev_install(self, ident: str, upload: Path,
                          params: Mapping[str, str] = NO_PARAMS) -> results.InstallResult:
        dev = self.dev_preflight(ident)
        await asyncio.to_thread(platform_as(self.runner.platform_of(dev), DeveloperMode).check_archive, upload)
        result = await self.runner.run_as(dev, DeveloperMode, lambda a: a.dev_install(upload, params))
        if result.result != "identical" or not self.archives.kept(dev.id).exists():
            replaced = await asyncio.to_thread(self.archives.keep, upload, dev.id)
            if replaced is not None:
                self.archives.discard(replaced)
        return result

    async def dev_reload(self, ident: str, params: Mapping[str, str] = NO_PARAMS) -> results.ReloadResult:
        dev = self.resolve(ident)
        kept = self.archives.kept(dev.id)
        # The kept archive lets reload re-install a channel the device lost.
        archive = kept if kept.exists() else None
        return await self.runner.run_as(dev, DeveloperMode, lambda a: a.dev_reload(archive, params))

    async def dev_registry(self, ident: str) -> results.DevRegistry:
        dev = self.resolve(ident)
        return await self.runner.run_as(dev, DeveloperMode, lambda a: a.dev_registry())

    async def dev_packages(self, ident: str) -> results.PackageList:
        dev = self.dev_preflight(ident)
        return await self.runner.run_as(dev, DeveloperMode, lambda a: a.dev_packages())

    async def dev_delete(self, ident: str) -> results.DeleteResult:
        """Remove the sideloaded package, and the copy kept for reload (it was deleted on purpose)."""
        dev = self.dev_preflight(ident)
        result = await self.runner.run_as(dev, DeveloperMode, lambda a: a.dev_delete())
        kept = self.archives.kept(dev.id)
        if kept.exists():
            self.archives.discard(kept)
        return result

    async def dev_console(self, ident: str) -> tuple[Device, LogConsole]:
        dev = self.resolve(ident)

        async def started(a: DeveloperMode) -> LogConsole:
            console = a.console()
            await console.ensure_started()
            return console

        return dev, await self.runner.read_as(dev, DeveloperMode, started)

    async def dev_screenshot(self, ident: str) -> tuple[bytes, str]:
        dev = self.resolve(ident)
        result: tuple[bytes, str] = await self.runner.run_as(dev, DeveloperMode, lambda a: a.dev_screenshot())
        return result

    def close_streams(self) -> None:
        """End log-follow streams (shutdown must not wait for them)."""
        self.runner.close_streams()


def match_session(sessions: list[results.ScreenSession], query: str) -> results.ScreenSession:
    """The session ``query`` names: its id, else its name (any case), else the one name it starts."""
    q = query.strip().lower()
    for hits in ([s for s in sessions if s.id == query.strip()], [s for s in sessions if s.name.lower() == q],
                 [s for s in sessions if q and s.name.lower().startswith(q)]):
        if len(hits) == 1:
            return hits[0]
        if hits:
            listed = ", ".join(f"{s.name} ({s.id}, {s.user})" for s in hits)
            raise AmbiguousSession(f"{query!r} names {len(hits)} sessions: {listed}.",
                                   details={"matches": [msgspec.to_builtins(s) for s in hits]})
    raise SessionNotFound(f"No running session matches {query!r}.")
