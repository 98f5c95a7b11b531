"""The adapter interface: what the service may ask of a device platform.

An adapter class is found through the ``tvctl.adapters`` entry-point group. It declares what a
given device can do as capability strings, so "this device cannot do that" is a checked,
reported state (``unsupported_operation``) rather than an AttributeError. Every method the base
class implements raises that error; an adapter overrides what its platform supports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

from tvctl.config import Settings
from tvctl.errors import UnsupportedOperation
from tvctl.keys import Key
from tvctl.models import App, Device, DeviceInfo


class Capability(StrEnum):
    KEYS = "keys"
    TEXT = "text"
    APPS = "apps"
    STATE = "state"
    POWER = "power"
    VOLUME = "volume"
    INPUTS = "inputs"
    CHANNELS = "channels"
    FIND_REMOTE = "find-remote"
    DEV_INSTALL = "dev-install"
    DEV_LOGS = "dev-logs"
    DEV_SCREENSHOT = "dev-screenshot"


@dataclass(frozen=True, slots=True)
class AdapterContext:
    settings: Callable[[], Settings]  # always the live settings (reload applies at once)
    state_dir: Path
    cache_dir: Path


class Adapter:
    platform: ClassVar[str] = ""
    default_port: ClassVar[int] = 0
    ssdp_search_target: ClassVar[str] = ""

    def __init__(self, ctx: AdapterContext, device: Device) -> None:
        self.ctx = ctx
        self.device = device

    # -- discovery ----------------------------------------------------------------------------
    @classmethod
    async def probe(cls, ctx: AdapterContext, host: str, port: int, timeout_s: float) -> DeviceInfo:
        """Confirm a candidate address is a device of this platform and read its identity."""
        raise UnsupportedOperation(f"The {cls.platform} adapter cannot probe devices.")

    @classmethod
    def capabilities_for(cls, info: DeviceInfo) -> tuple[str, ...]:
        return ()

    def update_device(self, device: Device) -> None:
        self.device = device

    def require(self, cap: Capability, what: str) -> None:
        if cap.value not in self.device.capabilities:
            raise UnsupportedOperation(
                f"{self.device.name} ({self.device.model}, {self.device.kind}) cannot {what}.",
            )

    async def close(self) -> None:
        return None

    def close_streams(self) -> None:
        """End any long-lived client streams this adapter feeds (called on shutdown)."""
        return None

    # -- operations (override what the platform supports) -------------------------------------
    async def send_key(self, key: Key, *, hold_ms: int = 0) -> dict[str, Any]:
        raise UnsupportedOperation(f"{self.device.name} does not accept remote keys.")

    async def list_apps(self) -> list[App]:
        raise UnsupportedOperation(f"{self.device.name} cannot list apps.")

    async def launch(self, app: App, params: dict[str, str]) -> dict[str, Any]:
        raise UnsupportedOperation(f"{self.device.name} cannot launch apps.")

    async def stop_app(self) -> dict[str, Any]:
        raise UnsupportedOperation(f"{self.device.name} cannot stop apps.")

    async def state(self) -> dict[str, Any]:
        raise UnsupportedOperation(f"{self.device.name} does not report state.")

    async def icon(self, platform_id: str) -> tuple[bytes, str]:
        raise UnsupportedOperation(f"{self.device.name} does not serve app icons.")

    async def dev_install(self, archive: Path) -> dict[str, Any]:
        raise UnsupportedOperation(f"{self.device.name} does not support sideloading.")

    async def dev_reload(self, archive: Path | None) -> dict[str, Any]:
        raise UnsupportedOperation(f"{self.device.name} does not support sideloading.")

    def console(self) -> Any:
        raise UnsupportedOperation(f"{self.device.name} has no developer log console.")

    async def dev_screenshot(self) -> tuple[bytes, str]:
        raise UnsupportedOperation(f"{self.device.name} cannot take developer screenshots.")
