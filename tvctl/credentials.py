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

from tvctl.paths import atomic_write, read_json_file

_LOGGER = logging.getLogger(__name__)
FILE_VERSION = 1
EMPTY: Mapping[str, str] = MappingProxyType({})


class CredentialStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._by_device: dict[str, dict[str, str]] = {}

    def load(self) -> None:
        """Read the file (blocking; called before the loop serves). Corrupt → moved aside."""
        loaded = read_json_file(self.path, "the credentials file", lambda doc: {
            str(dev): {str(k): str(v) for k, v in fields.items()} for dev, fields in doc["devices"].items()})
        if loaded is not None:
            self._by_device = loaded

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
