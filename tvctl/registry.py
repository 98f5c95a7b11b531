"""The persisted device registry.

Identity is the platform and the hardware serial: a device seen again at another address keeps
its id and name and only gets the new host/port, and a device removed and found again gets the
same id back (a UUIDv5 of platform and serial). The file is JSON under the state dir.

Changes are all-or-nothing: they are made on a ``draft()`` copy, the draft is written to disk
(atomically), and only then does it become the registry (``adopt``). A write that fails leaves
both the file and what the API shows as they were. Whether a device is online is runtime state,
kept beside the records and never written: a failed save can never undo a command's success.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tvctl.errors import (
    BadRequest,
    DeviceNameTaken,
    DeviceNotFound,
    GroupNameTaken,
    GroupNotFound,
    NoDefaultDevice,
    UnsupportedOperation,
)
from tvctl.models import NAME_RE, Candidate, Device, DeviceInfo, Group, Observation, slugify, usable_mac
from tvctl.paths import atomic_write, read_json_file

_LOGGER = logging.getLogger(__name__)
FILE_VERSION = 1
# Device ids are UUIDv5 names in this namespace: "<platform>:<serial>".
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "devices.tvctl.invalid")
ADD_ONE = "Add one: tvctl device add <ip> (or tvctl device discover)"


def device_id(platform: str, serial: str) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, f"{platform}:{serial}"))


class Registry:
    def __init__(self, path: Path, online: set[str] | None = None,
                 has_credentials: Callable[[str], bool] = lambda _device_id: False,
                 observed: dict[str, Observation] | None = None,
                 present: Callable[[Device], Device] = lambda device: device) -> None:
        self.path = path
        self._devices: dict[str, Device] = {}  # the records as persisted (online is False in them)
        self._groups: dict[str, Group] = {}  # by name, persisted beside the devices
        self._online: set[str] = online if online is not None else set()
        self.has_credentials = has_credentials  # runtime, like online: the credentials file knows
        # what a device showed since its last probe (a refusal, a state read), by id: runtime, like online
        self._observed: dict[str, Observation] = observed if observed is not None else {}
        self.present = present  # the device as its platform shows it now (Adapter.present)

    # -- persistence -------------------------------------------------------------------------
    def load(self) -> None:
        """Read the file (blocking; called before the loop serves). Corrupt, or of another file
        version than ``FILE_VERSION`` → moved aside (kept, and logged) and the registry starts empty.

        Raises StorageFailed when the file cannot be read, or is corrupt and cannot be moved.
        """
        read = read_json_file(self.path, "the device registry", _parse, version=FILE_VERSION)
        if read is None:
            return
        devices, groups = read
        self._devices = {d.id: d.evolve(online=False, has_credentials=False, wire=None,
                                         wake_mac=usable_mac(d.wake_mac))
                         for d in devices}
        self._groups = {g.name: Group(g.name, tuple(i for i in g.devices if i in self._devices)) for g in groups}

    def save(self) -> None:
        """Blocking atomic write (raises StorageFailed); callers on the loop use a thread."""
        doc = {"version": FILE_VERSION, "devices": [d.to_dict() for d in self._devices.values()],
               "groups": [g.to_dict() for g in self._groups.values()]}
        atomic_write(self.path, json.dumps(doc, indent=1).encode())

    def draft(self) -> Registry:
        """A copy to change; ``adopt`` it once it is saved."""
        copy = Registry(self.path, self._online, self.has_credentials, self._observed, self.present)
        copy._devices = dict(self._devices)
        copy._groups = dict(self._groups)
        return copy

    def adopt(self, draft: Registry) -> None:
        self._devices = draft._devices
        self._groups = draft._groups

    # -- queries ------------------------------------------------------------------------------
    def _view(self, d: Device) -> Device:
        online, creds = d.id in self._online, self.has_credentials(d.id)
        if (online, creds) != (d.online, d.has_credentials):
            d = d.evolve(online=online, has_credentials=creds)
        seen = self._observed.get(d.id)
        return self.present(seen.applied_to(d) if seen is not None else d)

    def all(self) -> list[Device]:
        return [self._view(d) for d in self._devices.values()]

    def has(self, dev_id: str) -> bool:
        return dev_id in self._devices

    def __len__(self) -> int:
        return len(self._devices)

    def by_serial(self, platform: str, serial: str) -> Device | None:
        return next((self._view(d) for d in self._devices.values()
                     if d.serial == serial and d.platform == platform), None)

    def resolve(self, ident: str, default: str = "") -> Device:
        """A UUID, a friendly name (any case), or ``default``."""
        if ident.lower() == "default":
            if default:
                return self.resolve(default)
            if len(self._devices) == 1:
                return self._view(next(iter(self._devices.values())))
            if not self._devices:
                raise NoDefaultDevice("No device is known yet.", hint=ADD_ONE)
            raise NoDefaultDevice(f"No default device is set and {len(self._devices)} devices are known.")
        if ident in self._devices:
            return self._view(self._devices[ident])
        low = ident.lower()
        for d in self._devices.values():
            if d.name == low or d.id.lower() == low:
                return self._view(d)
        raise DeviceNotFound(f"No known device matched {ident!r}.", hint=self._not_found_hint(low))

    def _not_found_hint(self, low: str) -> str | None:
        """Add one when none is known; the names most like ``low``; else the error's own hint."""
        if not self._devices:
            return f"No device is known yet. {ADD_ONE}"
        import difflib  # only for a name that matched nothing

        near = difflib.get_close_matches(low, sorted(d.name for d in self._devices.values()), n=3, cutoff=0.7)
        if near:
            return "Did you mean " + " or ".join(near) + "? (tvctl device list shows every device.)"
        return None

    # -- runtime state (never written) ----------------------------------------------------------
    def set_online(self, dev_id: str, online: bool) -> Device | None:
        """Mark a device (un)reachable; the device as it now shows if that changed, else None."""
        if dev_id not in self._devices or (dev_id in self._online) == online:
            return None
        if online:
            self._online.add(dev_id)
        else:
            self._online.discard(dev_id)
        return self._view(self._devices[dev_id])

    def observe(self, dev_id: str, seen: Observation) -> Device | None:
        """A device showed itself (a refusal, a state read): the device as it now shows if that
        changed anything, else None. Its next probe replaces what was observed."""
        if dev_id not in self._devices:
            return None
        before = self._view(self._devices[dev_id])
        self._observed[dev_id] = self._observed.get(dev_id, Observation()).merged(seen)
        after = self._view(self._devices[dev_id])
        return after if after != before else None

    # -- changes (on a draft) -----------------------------------------------------------------
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
        existing = next((d for d in self._devices.values()
                         if d.serial == info.serial and d.platform == info.platform), None)
        fields: dict[str, Any] = {
            "display_name": info.display_name(),
            "host": cand.host,
            "port": cand.port,
            "model": info.model,
            "kind": info.kind,
            "wake_mac": usable_mac(info.wake_mac) or usable_mac(cand.wake_mac)
            or (existing.wake_mac if existing else None),
            "udn": info.udn,
            "software_version": info.software_version,
            "developer_enabled": info.developer_enabled,
            "capabilities": capabilities,
            "tls_fingerprint": info.tls_fingerprint or (existing.tls_fingerprint if existing else None),
            "access_mode": info.access_mode,
        }
        if existing is not None:
            self._observed.pop(existing.id, None)  # probed just now: what it said replaces what it showed
        if existing is None:
            dev = Device(
                id=device_id(info.platform, info.serial),
                name=self._unique_name(slugify(info.user_name or info.model_name or info.model)),
                platform=info.platform,
                serial=info.serial,
                sources=(cand.source,),
                first_seen=now,
                last_seen=now,
                online=False,
                **fields,
            )
            self._devices[dev.id] = dev
            return self._view(dev), "added"
        sources = existing.sources if cand.source in existing.sources else (*existing.sources, cand.source)
        updated = existing.evolve(sources=tuple(sorted(sources)), **fields)
        changed = updated != existing
        updated = updated.evolve(last_seen=now)
        self._devices[existing.id] = updated
        return self._view(updated), "updated" if changed else None

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
        self._devices[dev.id] = self._devices[dev.id].evolve(name=new_name)
        return self._view(self._devices[dev.id])

    def set_options(self, ident: str, changes: dict[str, str | None]) -> Device:
        dev = self.resolve(ident)
        options = {**self._devices[dev.id].options}
        for name, value in changes.items():
            if value is None:
                options.pop(name, None)
            else:
                options[name] = value
        self._devices[dev.id] = self._devices[dev.id].evolve(options=options)
        return self._view(self._devices[dev.id])

    def pin_certificate(self, ident: str, fingerprint: str) -> Device:
        dev = self.resolve(ident)
        if dev.tls_fingerprint is None:
            raise UnsupportedOperation(f"{dev.name} has no pinned certificate (it is not reached over TLS).")
        self._devices[dev.id] = self._devices[dev.id].evolve(tls_fingerprint=fingerprint)
        return self._view(self._devices[dev.id])

    def remove(self, ident: str) -> Device:
        """Forget a device, and take it out of its groups."""
        dev = self.resolve(ident)
        del self._devices[dev.id]
        for g in list(self._groups.values()):
            if dev.id in g.devices:
                self._groups[g.name] = Group(g.name, tuple(i for i in g.devices if i != dev.id))
        return dev

    # -- groups -----------------------------------------------------------------------------------
    def groups(self) -> list[Group]:
        return list(self._groups.values())

    def group(self, name: str) -> Group:
        found = self._groups.get(name.lower())
        if found is None:
            hint = ("Groups: " + ", ".join(self._groups) + ".") if self._groups else \
                "No group exists yet: tvctl group create NAME DEVICE…"
            raise GroupNotFound(f"No group is named {name!r}.", hint=hint)
        return found

    def _members(self, idents: list[str]) -> tuple[str, ...]:
        """Device ids for names or ids (each once, in the order given)."""
        return tuple(dict.fromkeys(self.resolve(i).id for i in idents))

    def create_group(self, name: str, idents: list[str]) -> Group:
        if not NAME_RE.match(name):
            raise BadRequest(f"{name!r} is not a valid group name.",
                             hint="Use 1-63 lower-case letters, digits and '-', starting with a letter or digit.")
        if name in self._groups:
            raise GroupNameTaken(f"A group named {name!r} exists already.")
        self._groups[name] = Group(name, self._members(idents))
        return self._groups[name]

    def change_group(self, name: str, *, devices: list[str] | None = None, add: list[str] | None = None,
                     remove: list[str] | None = None) -> Group:
        group = self.group(name)
        members = self._members(devices) if devices is not None else group.devices
        if add:
            members = tuple(dict.fromkeys((*members, *self._members(add))))
        if remove:
            gone = set(self._members(remove))
            members = tuple(i for i in members if i not in gone)
        self._groups[group.name] = Group(group.name, members)
        return self._groups[group.name]

    def delete_group(self, name: str) -> Group:
        group = self.group(name)
        del self._groups[group.name]
        return group


def _parse(doc: Any) -> tuple[list[Device], list[Group]]:
    devices = [Device.from_dict(d) for d in doc["devices"]]
    groups = [Group(str(g["name"]), tuple(str(i) for i in g["devices"])) for g in doc.get("groups", [])]
    return devices, groups
