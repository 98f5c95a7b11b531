"""A toy platform for the tests: keys recorded in memory and a screenshot of them, nothing else.

It lives entirely in this folder and is installed the way any platform is: its dist-info names
it in the tvctl.adapters entry-point group, and putting this folder on PYTHONPATH installs it.
Its "device" answers on port 9 of any address without any network traffic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

import msgspec

from tvctl.api.bodies import Body
from tvctl.errors import DeviceUnreachable
from tvctl.fields import Section, setting
from tvctl.keys import Key
from tvctl.models import Device, DeviceInfo
from tvctl.operations import Operation
from tvctl.platform import NO_CREDENTIALS, Adapter, AdapterContext, Capability, Keys, Pointing, Screenshots
from tvctl.results import KeyResult, PointerRequest, PointerResult

TOY_PORT = 9
PRESSED: dict[str, list[str]] = {}  # device id -> key names, in order


@dataclass(frozen=True, slots=True)
class ToySettings(Section):
    name: ClassVar[str] = "toy"
    greeting: str = setting("hello", "What the toy screen says above the keys.")


class Wave(Body, frozen=True):
    times: Annotated[int, msgspec.Meta(ge=1, le=5, description="How many times to wave.")]
    hand: Annotated[str, msgspec.Meta(pattern="^(left|right)$", description="left or right.")] | None = None


class Waved(msgspec.Struct, frozen=True, kw_only=True):
    device: str
    waves: list[str]


# The toy's own operation: one declaration here and its implementation (ToyAdapter.toy_wave) are all
# it takes to be a route, a typed-client method, an MCP tool and a CLI verb.
WAVE: Operation[Wave, Waved] = Operation(
    "toy_wave", "POST", "/toy/wave", "Wave at the toy screen.", Waved, Wave, capability="keys",
    cli=("toy", "wave"), cli_args=("times",), mcp="control")


class ToyAdapter(Adapter, Keys, Screenshots, Pointing):
    platform: ClassVar[str] = "toy"
    default_port: ClassVar[int] = TOY_PORT
    settings: ClassVar[type[Section] | None] = ToySettings
    key_names: ClassVar[frozenset[str] | None] = frozenset({"home", "up", "down", "KeyA", "ctrl+alt+Delete"})
    operations: ClassVar[tuple[Operation[Any, Any], ...]] = (WAVE,)

    @classmethod
    async def probe(cls, ctx: AdapterContext, host: str, port: int, timeout_s: float, *,
                    credentials: Mapping[str, str] = NO_CREDENTIALS, known: Device | None = None) -> DeviceInfo:
        if port != TOY_PORT:
            raise DeviceUnreachable(f"No toy answers on {host}:{port}.")
        return DeviceInfo(platform="toy", serial=f"TOY-{host}", model="T1", model_name="Toy", vendor="Tests",
                          kind="toy", user_name=f"toy {host}")

    @classmethod
    def capabilities_for(cls, info: DeviceInfo) -> tuple[str, ...]:
        return (Capability.KEYS.value, Capability.TEXT.value, Capability.SCREENSHOT.value, Capability.POINTER.value)

    async def send_key(self, key: Key, *, hold_ms: int = 0) -> KeyResult:
        name = f"literal:{key.text}" if key.name == "literal" else key.name
        PRESSED.setdefault(self.device.id, []).append(name)
        return KeyResult(device=self.device.name, key=name)

    async def screenshot(self, display: int = 0) -> tuple[bytes, str]:
        text = self.ctx.settings().section(ToySettings).greeting + ":" + ",".join(PRESSED.get(self.device.id, []))
        return text.encode(), "image/x-toy"

    async def toy_wave(self, request: Wave) -> Waved:
        hand = request.hand or "right"
        waves = [f"{hand} wave {i + 1}" for i in range(request.times)]
        PRESSED.setdefault(self.device.id, []).extend(waves)
        return Waved(device=self.device.name, waves=waves)

    async def pointer(self, request: PointerRequest) -> PointerResult:
        """The toy screen is 1280 x 720 pixels."""
        x, y = (request.x, request.y) if request.unit == "fraction" else (request.x / 1280, request.y / 720)
        PRESSED.setdefault(self.device.id, []).append(f"{request.action} {x:.3f},{y:.3f}")
        return PointerResult(device=self.device.name, action=request.action, x=x, y=y,
                             **({"dy": request.dy} if request.action == "scroll" else {}))
