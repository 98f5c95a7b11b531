"""DeviceDirectory: which devices there are and what is kept about them.

Resolving a name, confirming a candidate (probe and merge), adding by address, renaming, options,
certificates, credentials and removal; the check of every device at start. Registry and
credential writes go through one lock and a worker thread, all-or-nothing (``_commit``). What a
device showed of itself since its probe (``observed``) and how its platform presents it now
(``present``) are the registry's runtime views. It hands adapters to nobody: it tells the
``CommandRunner`` when a device changed, must forget its adapter, or was removed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from tvctl.config import DaemonSettings, Settings
from tvctl.credentials import CredentialStore
from tvctl.discovery import ssdp
from tvctl.errors import BadRequest, DeviceAuthFailed, DeviceError, TvctlError, UnsupportedOperation
from tvctl.events import EventBus
from tvctl.models import Candidate, Device, Group, Observation
from tvctl.platform import NO_CREDENTIALS, Adapter, AdapterContext, capabilities
from tvctl.registry import Registry, device_id
from tvctl.results import CredentialField, CredentialReport
from tvctl.runner import CommandRunner

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

# A TV waking its network stack may need several seconds for its first answer. This bounds each
# request of a probe; a GET whose connection is dropped is asked once more (a stale keep-alive),
# so a probe may take up to twice this, and its timeout error then says how long it took.
ADD_PROBE_TIMEOUT_S = 4.0
# At start every known device is probed once, this many at a time, each within this long, so the
# list shows who answers now instead of "offline" until each device is used.
START_CHECK_CONCURRENCY = 8
START_CHECK_TIMEOUT_S = 3.0


class DeviceDirectory:
    def __init__(self, settings: Callable[[], Settings], registry: Registry, bus: EventBus, ctx: AdapterContext,
                 credentials: CredentialStore, adapter_classes: dict[str, type[Adapter]], runner: CommandRunner,
                 spawn: Callable[[Awaitable[Any]], object]) -> None:
        self.settings = settings
        self.registry = registry
        self.bus = bus
        self.ctx = ctx
        self.credentials = credentials
        self.adapter_classes = adapter_classes
        self.runner = runner
        self.spawn = spawn
        self._save_lock = asyncio.Lock()
        self._probing: dict[tuple[str, str, int], asyncio.Task[Device | None]] = {}
        registry.has_credentials = credentials.has
        registry.present = self.present

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

    def present(self, dev: Device) -> Device:
        cls = self.adapter_classes.get(dev.platform)
        return cls.present(dev, self.settings()) if cls is not None else dev

    def observed(self, dev_id: str, seen: Observation) -> None:
        changed = self.registry.observe(dev_id, seen)
        if changed is not None:
            _LOGGER.info("%s: now shows access mode %s, developer mode %s%s", changed.name, changed.access_mode,
                         "on" if changed.developer_enabled else "off",
                         f"; commands go over {changed.wire}" if changed.wire else "")
            self.bus.publish("device_updated", changed.to_dict())

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
            dev, change = await self._commit(lambda r: r.merge(info, cand, capabilities(cls, info)),
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
        self.runner.updated(dev)
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
            problems = {c.platform: _credential_problem(c, credentials) for c in fitting}
            classes = [c for c in fitting if problems[c.platform] is None]
            refusal = problems[fitting[0].platform]
            if not classes and refusal is not None:  # every platform that takes them refuses a value
                raise refusal
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

    # -- groups (kept in the registry's file, changed the same all-or-nothing way) -----------------
    async def create_group(self, name: str, devices: list[str]) -> Group:
        group = await self._commit(lambda r: r.create_group(name, devices))
        self.bus.publish("group_updated", group.to_dict())
        return group

    async def change_group(self, name: str, *, devices: list[str] | None = None, add: list[str] | None = None,
                           remove: list[str] | None = None) -> Group:
        group = await self._commit(lambda r: r.change_group(name, devices=devices, add=add, remove=remove))
        self.bus.publish("group_updated", group.to_dict())
        return group

    async def delete_group(self, name: str) -> Group:
        group = await self._commit(lambda r: r.delete_group(name))
        self.bus.publish("group_removed", group.to_dict())
        return group

    async def remove(self, ident: str) -> Device:
        dev = await self._commit(lambda r: r.remove(ident))
        try:  # after the registry: a failure here leaves an unused entry, never a device without its secrets
            async with self._save_lock:
                await asyncio.to_thread(self.credentials.forget, dev.id)
        except TvctlError as exc:
            _LOGGER.warning("%s was removed but its credentials were not: %s", dev.name, exc.message)
        self.registry.set_online(dev.id, False)
        await self.runner.stop(dev.id)  # its commands and reads stop before what they use is closed
        self.bus.publish("device_removed", dev.to_dict())
        return dev

    async def patch(self, ident: str, *, name: str | None = None, credentials: Mapping[str, str] | None = None,
                    options: dict[str, str | None] | None = None, tls_fingerprint: str | None = None) -> Device:
        """Rename, set options, replace the credentials, accept a new certificate: each checked
        before any is written."""
        dev = self.resolve(ident)
        if credentials is not None:
            self._check_credential_names(dev, set(credentials))
            self._check_credential_values(dev, credentials)
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
        closing = self.runner.forget(dev_id)
        if closing is not None:
            self.spawn(closing)

    def _check_options(self, dev: Device, options: dict[str, str | None]) -> None:
        declared = self.runner.platform_of(dev).options
        for name, value in options.items():
            f = declared.get(name)
            if f is None:
                raise BadRequest(f"{dev.platform} devices have no option {name!r}.",
                                 hint="Their options: " + (", ".join(sorted(declared)) or "none") + ".")
            problem = f.check(value) if f.check is not None and value is not None else None
            if problem:
                raise BadRequest(f"Option {name} = {value!r}: {problem}.", hint=f.doc)

    def _check_credential_names(self, dev: Device, names: set[str]) -> None:
        declared = self.runner.platform_of(dev).credentials
        if not declared:
            raise UnsupportedOperation(f"{dev.platform} devices keep no credentials.")
        unknown = sorted(names - set(declared))
        if unknown:
            raise BadRequest(f"{dev.platform} devices keep no credential named {', '.join(map(repr, unknown))}.",
                             hint="Their credentials: " + ", ".join(sorted(declared)) + ".")

    def _check_credential_values(self, dev: Device, values: Mapping[str, str | None]) -> None:
        problem = _credential_problem(self.runner.platform_of(dev), values)
        if problem is not None:
            raise problem

    # -- credentials --------------------------------------------------------------------------
    def credential_report(self, ident: str) -> CredentialReport:
        dev = self.resolve(ident)
        kept = self.credentials.of(dev.id)
        fields = [CredentialField(name=name, about=f.doc, set=name in kept)
                  for name, f in sorted(self.runner.platform_of(dev).credentials.items())]
        return CredentialReport(device=dev.name, platform=dev.platform, fields=fields)

    async def set_credentials(self, ident: str, changes: dict[str, str | None]) -> CredentialReport:
        """Set (a string) or clear (None) credentials of one device; all or nothing."""
        dev = self.resolve(ident)
        self._check_credential_names(dev, set(changes))
        self._check_credential_values(dev, changes)
        async with self._save_lock:
            await asyncio.to_thread(self.credentials.update, dev.id, changes)
        self._forget_adapter(dev.id)
        return self.credential_report(dev.id)


def _credential_problem(cls: type[Adapter], values: Mapping[str, str | None]) -> BadRequest | None:
    """The error for the first credential value ``cls`` declares a check for and refuses, or None.
    The value itself is never repeated: credentials are secrets."""
    for name, value in values.items():
        f = cls.credentials.get(name)
        problem = f.check(value) if f is not None and f.check is not None and value else None
        if problem:
            return BadRequest(f"The credential {name} was refused ({cls.platform}): it must be {problem}.",
                              hint=f.doc if f is not None else None)
    return None
