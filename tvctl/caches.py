"""The daemon's caches under its cache dir: each device's app list and app icons.

Handed the folder and nothing else. Blocking file I/O (callers on the loop use a thread); writes
are atomic (``atomic_write``) and fail with StorageFailed, so a cache is whole or absent.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path

from tvctl.errors import StorageFailed
from tvctl.models import App
from tvctl.paths import atomic_write

_LOGGER = logging.getLogger(__name__)

# Icon types kept in the icon cache, by file extension; other image types are served uncached.
ICON_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


class AppCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, dev_id: str) -> Path:
        return self.folder / "apps" / f"{dev_id}.json"

    def load(self, dev_id: str) -> list[App] | None:
        """The cached list, or None when there is none or it is unreadable (logged)."""
        path = self._path(dev_id)
        if not path.exists():
            return None
        try:
            return [App(**a) for a in json.loads(path.read_text())["apps"]]
        except (ValueError, KeyError, TypeError):
            _LOGGER.warning("app cache %s is corrupt; refetching", path)
            return None

    def store(self, dev_id: str, apps: list[App]) -> None:
        data = json.dumps({"apps": [a.to_dict() for a in apps], "fetched": time.time()}).encode()
        atomic_write(self._path(dev_id), data)

    def clear(self, dev_id: str) -> None:
        path = self._path(dev_id)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise StorageFailed(f"Cannot remove {path}: {exc.strerror or exc}.") from exc


class IconCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _stem(self, dev_id: str, app: App) -> Path:
        name = hashlib.sha1(f"{app.platform_id}|{app.version}".encode()).hexdigest()[:16]
        return self.folder / "icons" / dev_id / name

    def load(self, dev_id: str, app: App) -> tuple[bytes, str] | None:
        stem = self._stem(dev_id, app)
        for ctype, ext in ICON_TYPES.items():
            p = stem.with_suffix(f".{ext}")
            if p.exists():
                return p.read_bytes(), ctype
        return None

    def store(self, dev_id: str, app: App, body: bytes, ctype: str) -> None:
        ext = ICON_TYPES.get(ctype)
        if ext is not None:
            atomic_write(self._stem(dev_id, app).with_suffix(f".{ext}"), body, 0o644)
