"""The daemon's live state as handlers see it: settings, config file, service, listeners."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tvctl import config
from tvctl.config import DaemonSettings, Settings, schema
from tvctl.events import EventBus
from tvctl.models import DaemonStatus, MqttStatus
from tvctl.service import DeviceService

if TYPE_CHECKING:
    from tvctl.mqtt.bridge import MqttBridge

_LOGGER = logging.getLogger(__name__)


@dataclass
class Runtime:
    config_path: Path
    settings: Settings
    bus: EventBus
    service: DeviceService = field(init=False)
    mqtt: MqttBridge | None = None
    socket_path: Path | None = None
    http_port: int = 0  # the bound port (daemon.http_port may be 0)
    started: float = field(default_factory=time.monotonic)
    _config_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def get_settings(self) -> Settings:
        return self.settings

    def status(self) -> DaemonStatus:
        from tvctl import __version__

        daemon = self.settings.section(DaemonSettings)
        default = daemon.default_device
        if not default:
            devices = self.service.registry.all()
            default = devices[0].name if len(devices) == 1 else ""
        return DaemonStatus(
            pid=os.getpid(),
            version=__version__,
            uptime_s=round(time.monotonic() - self.started, 3),
            socket=str(self.socket_path) if self.socket_path else None,
            http_enabled=daemon.http_enabled,
            http_host=daemon.http_host,
            http_port=self.http_port if daemon.http_enabled else daemon.http_port,
            device_count=len(self.service.registry),
            event_subscribers=self.bus.subscriber_count,
            default_device=default or None,
            config_path=str(self.config_path),
            mqtt=self.mqtt.status() if self.mqtt is not None else MqttStatus(
                enabled=False, connected=False, broker=None, node_id=None, connected_for_s=None, last_error=None),
        )

    def _apply(self, new: Settings) -> dict[str, Any]:
        old = self.settings
        changed = new.changed_keys(old)
        self.settings = new
        restart = [k for k in changed if schema()[k].restart]
        if changed:
            _LOGGER.info("config changed: %s", ", ".join(changed))
        if self.mqtt is not None and any(k.startswith("mqtt.") for k in changed):
            self.mqtt.reconfigure()
        result = {"config": new.nested(), "restart_required": restart, "changed": changed}
        self.bus.publish("config_reloaded", result)
        return result

    async def reload(self) -> dict[str, Any]:
        """Re-read the file; on any error the running config stays as it was."""
        async with self._config_lock:
            _doc, new = await asyncio.to_thread(partial(config.load, self.config_path, allow_empty=False))
            return self._apply(new)

    async def patch(self, patch: dict[str, Any]) -> dict[str, Any]:
        canonical = config.validate_patch(patch)  # nothing touches the disk before this passes
        async with self._config_lock:
            # Re-read the file inside the lock so concurrent patches and hand edits both survive.
            await asyncio.to_thread(partial(config.load, self.config_path, allow_empty=False))
            new = await asyncio.to_thread(config.apply_patch, self.config_path, canonical)
            return self._apply(new)
