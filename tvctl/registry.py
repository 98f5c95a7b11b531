"""The persisted device registry.

Identity is the hardware serial: a device seen again at another address keeps its UUID and
name and only gets the new host/port. The file is JSON under the state dir, rewritten
atomically after every change; a corrupt file is moved aside and the daemon starts empty.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from pathlib import Path
from typing import Any

from tvctl.errors import (
    BadRequest,
    DeviceNameTaken,
    DeviceNotFound,
    NoDefaultDevice,
)
from tvctl.models import NAME_RE, Candidate, Device, DeviceInfo, slugify
from tvctl.paths import atomic_write

_LOGGER = logging.getLogger(__name__)
FILE_VERSION = 1


class Registry:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._devices: dict[str, Device] = {}

    # -- persistence -------------------------------------------------------------------------
    def load(self) -> None:
        """Read the file (blocking; called before the loop serves). Corrupt → moved aside."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return
        try:
            doc = json.loads(raw)
            devices = [Device.from_dict(d) for d in doc["devices"]]
        except (ValueError, KeyError, TypeError) as exc:
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            self.path.replace(aside)
            _LOGGER.warning("registry file %s is corrupt (%s); moved it to %s and started empty",
                            self.path, exc, aside)
            return
        self._devices = {d.id: d.evolve(online=False) for d in devices}

    def save(self) -> None:
        """Blocking atomic write; callers on the loop use ``asyncio.to_thread``."""
        doc = {"version": FILE_VERSION, "devices": [d.to_dict() for d in self._devices.values()]}
        atomic_write(self.path, json.dumps(doc, indent=1).encode())

    # -- queries ------------------------------------------------------------------------------
    def all(self) -> list[Device]:
        return list(self._devices.values())

    def has(self, dev_id: str) -> bool:
        return dev_id in self._devices

    def __len__(self) -> int:
        return len(self._devices)

    def by_serial(self, serial: str) -> Device | None:
        return next((d for d in self._devices.values() if d.serial == serial), None)

    def resolve(self, ident: str, default: str = "") -> Device:
        """A UUID, a friendly name (any case), or ``default``."""
        if ident.lower() == "default":
            if default:
                return self.resolve(default)
            if len(self._devices) == 1:
                return next(iter(self._devices.values()))
            raise NoDefaultDevice(
                "No default device is set and "
                + ("no device is known." if not self._devices else f"{len(self._devices)} devices are known.")
            )
        if ident in self._devices:
            return self._devices[ident]
        low = ident.lower()
        for d in self._devices.values():
            if d.name == low or d.id.lower() == low:
                return d
        raise DeviceNotFound(f"No known device matched {ident!r}.")

    # -- changes ------------------------------------------------------------------------------
    def _unique_name(self, base: str, exclude: str | None = None) -> str:
        base = base or "tv"
        taken = {d.name for d in self._devices.values() if d.id != exclude}
        name, n = base, 2
        while name in taken:
            suffix = f"-{n}"
            name = base[: 63 - len(suffix)] + suffix
            n += 1
        return name

    def merge(self, info: DeviceInfo, cand: Candidate, capabilities: tuple[str, ...]) -> tuple[Device, str | None]:
        """Add or update the device ``info`` describes; returns it and 'added'/'updated'/None."""
        now = time.time()
        existing = self.by_serial(info.serial)
        fields: dict[str, Any] = {
            "display_name": info.display_name(),
            "host": cand.host,
            "port": cand.port,
            "model": info.model,
            "kind": info.kind,
            "wake_mac": info.wake_mac or cand.wake_mac or (existing.wake_mac if existing else None),
            "udn": info.udn,
            "software_version": info.software_version,
            "developer_enabled": info.developer_enabled,
            "capabilities": capabilities,
            "online": True,
        }
        if existing is None:
            dev = Device(
                id=str(uuid.uuid4()),
                name=self._unique_name(slugify(info.user_name or info.model_name or info.model)),
                platform=info.platform,
                serial=info.serial,
                sources=(cand.source,),
                first_seen=now,
                last_seen=now,
                **fields,
            )
            self._devices[dev.id] = dev
            return dev, "added"
        sources = existing.sources if cand.source in existing.sources else (*existing.sources, cand.source)
        updated = existing.evolve(sources=tuple(sorted(sources)), **fields)
        changed = updated != existing
        updated = updated.evolve(last_seen=now)
        self._devices[existing.id] = updated
        return updated, "updated" if changed else None

    def set_online(self, dev_id: str, online: bool) -> Device | None:
        dev = self._devices.get(dev_id)
        if dev is None or dev.online == online:
            return None
        dev = dev.evolve(online=online)
        self._devices[dev_id] = dev
        return dev

    def rename(self, ident: str, new_name: str) -> Device:
        dev = self.resolve(ident)
        if not isinstance(new_name, str) or not NAME_RE.match(new_name):
            raise BadRequest(
                f"{new_name!r} is not a valid device name.",
                hint="Use 1-63 lower-case letters, digits and '-', starting with a letter or digit.",
            )
        if new_name.lower() == "default":
            raise BadRequest("'default' is reserved.", hint="Pick another name.")
        other = next((d for d in self._devices.values() if d.name == new_name and d.id != dev.id), None)
        if other is not None:
            raise DeviceNameTaken(f"Another device ({other.id}) is already named {new_name!r}.")
        dev = dev.evolve(name=new_name)
        self._devices[dev.id] = dev
        return dev

    def remove(self, ident: str) -> Device:
        dev = self.resolve(ident)
        del self._devices[dev.id]
        return dev
