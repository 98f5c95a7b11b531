"""Per-device secrets (a developer password, a KVM login), kept apart from the registry.

A platform declares the fields it takes (``Adapter.credentials``); values live in
``credentials.json`` beside the registry, mode 0600, written atomically. A change is written to a
copy first and adopted only once it is on disk, so a failed write changes nothing, in memory or
on disk. The API and the CLI only ever learn which fields are set, never a value.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from tvctl.paths import atomic_write, read_json_file

_LOGGER = logging.getLogger(__name__)
FILE_VERSION = 1
EMPTY: Mapping[str, str] = MappingProxyType({})


class CredentialStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._by_device: dict[str, dict[str, str]] = {}

    def load(self) -> None:
        """Read the file (blocking; called before the loop serves). Corrupt, or of another file
        version → moved aside (kept, and logged). A field whose value is not a string is left
        out, with a log line naming the device and the field (never the value)."""
        loaded = read_json_file(self.path, "the credentials file", self._parse, version=FILE_VERSION)
        if loaded is not None:
            self._by_device = loaded

    def _parse(self, doc: Any) -> dict[str, dict[str, str]]:
        """The file's ``devices``. Only a string is a secret: ``5`` is not taken for ``"5"``, since
        nothing can tell what was meant, and a value is never guessed at. One such field is dropped
        rather than the whole file set aside, so every other secret (of this device and the
        others) keeps working; the file itself stays as it is until the next change is written."""
        devices = doc["devices"]
        if not isinstance(devices, dict):
            raise TypeError('"devices" is not an object')
        out: dict[str, dict[str, str]] = {}
        for dev, fields in devices.items():
            if not isinstance(fields, dict):
                raise TypeError(f"the entry of device {dev} is not an object")
            kept: dict[str, str] = {}
            for name, value in fields.items():
                if isinstance(value, str):
                    kept[name] = value
                else:
                    _LOGGER.warning("the credentials file %s: %s of device %s is %s, not a string; left it out "
                                    "(set it again: tvctl -d %s device credentials --set %s)",
                                    self.path, name, dev, _json_type(value), dev, name)
            if kept:
                out[dev] = kept
        return out

    def of(self, device_id: str) -> Mapping[str, str]:
        fields = self._by_device.get(device_id)
        return MappingProxyType(fields) if fields else EMPTY

    def has(self, device_id: str) -> bool:
        return device_id in self._by_device

    def replace(self, device_id: str, fields: Mapping[str, str]) -> None:
        """Keep exactly ``fields`` for the device (none: forget it); blocking."""
        draft = {k: v for k, v in self._by_device.items() if k != device_id}
        if fields:
            draft[device_id] = dict(fields)
        if draft != self._by_device:
            self._write(draft)
            self._by_device = draft

    def set_fields(self, device_id: str) -> list[str]:
        return sorted(self._by_device.get(device_id, {}))

    def update(self, device_id: str, changes: Mapping[str, str | None]) -> list[str]:
        """Set (a string) or clear (None) fields of one device; blocking. Returns the fields set after."""
        fields = dict(self._by_device.get(device_id, {}))
        for name, value in changes.items():
            if value is None:
                fields.pop(name, None)
            else:
                fields[name] = value
        draft = {**self._by_device, device_id: fields}
        if not fields:
            del draft[device_id]
        self._write(draft)
        self._by_device = draft
        return sorted(fields)

    def forget(self, device_id: str) -> None:
        """Drop every field of a removed device; blocking."""
        if device_id in self._by_device:
            draft = {k: v for k, v in self._by_device.items() if k != device_id}
            self._write(draft)
            self._by_device = draft

    def _write(self, by_device: dict[str, dict[str, str]]) -> None:
        atomic_write(self.path, json.dumps({"version": FILE_VERSION, "devices": by_device}, indent=1).encode(),
                     mode=0o600)


def _json_type(value: object) -> str:
    """What JSON calls the type of ``value`` (a secret's value itself is never shown)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if value is None:
        return "null"
    return "a list" if isinstance(value, list) else "an object"
