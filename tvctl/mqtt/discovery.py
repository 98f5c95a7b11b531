"""Home Assistant's MQTT discovery for one tvctl device: what entities it gets, as the retained
config messages HA reads under its discovery prefix.

One HA device per tvctl device (identified by this daemon's node id and the device's id, so two
sites never clash and a restart changes nothing), and only the entities its capabilities allow:
a button per key it takes (home, back, select, the arrows, play-pause, volume, mute, power), a
switch for power, a select of its apps (choosing one launches it), a text entity to type, a
camera (and a button that takes a screenshot) for a device with screenshots, sensors for the
active app, the power and the player, and one sensor (or binary sensor) for each plain field a
platform adds to the state (a KVM's video signal, a server's session count, a signage PC's CPU
load) — read from the state itself, so the core needs to know no platform. Every entity is
available while both the daemon and the device are online.

The configs are typed (msgspec structs, encoded without unset keys); the keys are those HA
documents for each MQTT platform (``command_topic``, ``payload_press``, ``value_template``, …).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import msgspec

from tvctl.models import Device
from tvctl.mqtt.topics import Topics

# Keys offered as buttons, in the order HA lists them: (key, name, icon, capability needed).
BUTTON_KEYS: tuple[tuple[str, str, str, str], ...] = (
    ("home", "Home", "mdi:home", "keys"), ("back", "Back", "mdi:arrow-left", "keys"),
    ("select", "Select", "mdi:checkbox-blank-circle-outline", "keys"), ("up", "Up", "mdi:chevron-up", "keys"),
    ("down", "Down", "mdi:chevron-down", "keys"), ("left", "Left", "mdi:chevron-left", "keys"),
    ("right", "Right", "mdi:chevron-right", "keys"), ("play-pause", "Play/Pause", "mdi:play-pause", "keys"),
    ("volume-up", "Volume up", "mdi:volume-plus", "volume"),
    ("volume-down", "Volume down", "mdi:volume-minus", "volume"),
    ("mute", "Mute", "mdi:volume-mute", "volume"), ("power", "Power", "mdi:power", "power"),
)  # fmt: skip
# What every state has (DeviceState): the other plain fields are a platform's additions.
BASE_STATE_FIELDS = frozenset({"power", "power_mode", "active_app", "media", "tv", "unavailable", "control_note"})
UNITS = (("_percent", "%"), ("_ms", "ms"), ("_s", "s"))


class Availability(msgspec.Struct, frozen=True):
    topic: str


class HaDevice(msgspec.Struct, frozen=True, omit_defaults=True):
    identifiers: list[str]
    name: str
    model: str
    serial_number: str
    sw_version: str | None = None


class Origin(msgspec.Struct, frozen=True, omit_defaults=True):
    name: str
    sw_version: str


class Entity(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What every entity's config says (HA's MQTT keys)."""

    component: ClassVar[str] = ""
    name: str
    unique_id: str
    device: HaDevice
    origin: Origin
    availability: list[Availability]
    availability_mode: str  # "all" (HA's own default, "latest", would count either topic alone)
    icon: str | None = None
    entity_category: str | None = None


class Button(Entity, frozen=True, kw_only=True, omit_defaults=True):
    component: ClassVar[str] = "button"
    command_topic: str
    payload_press: str


class Switch(Entity, frozen=True, kw_only=True, omit_defaults=True):
    component: ClassVar[str] = "switch"
    command_topic: str
    state_topic: str
    value_template: str
    payload_on: str
    payload_off: str


class Select(Entity, frozen=True, kw_only=True, omit_defaults=True):
    component: ClassVar[str] = "select"
    command_topic: str
    options: list[str]
    state_topic: str
    value_template: str


class Text(Entity, frozen=True, kw_only=True, omit_defaults=True):
    component: ClassVar[str] = "text"
    command_topic: str
    min: int
    max: int
    mode: str


class Sensor(Entity, frozen=True, kw_only=True, omit_defaults=True):
    component: ClassVar[str] = "sensor"
    state_topic: str
    value_template: str
    unit_of_measurement: str | None = None
    device_class: str | None = None
    state_class: str | None = None


class BinarySensor(Entity, frozen=True, kw_only=True, omit_defaults=True):
    component: ClassVar[str] = "binary_sensor"
    state_topic: str
    value_template: str
    payload_on: str
    payload_off: str


class Camera(Entity, frozen=True, kw_only=True, omit_defaults=True):
    component: ClassVar[str] = "camera"
    topic: str


@dataclass(frozen=True, slots=True)
class Config:
    """One discovery message: where it goes and what it says."""

    topic: str
    entity: Entity

    def payload(self) -> bytes:
        return msgspec.json.encode(self.entity)


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def state_extras(state: Mapping[str, Any]) -> dict[str, str]:
    """The plain fields a platform adds to the state, as far as they have a value now: name ->
    "bool", "number" or "text" (lists and objects are left to the state topic)."""
    out: dict[str, str] = {}
    for name, value in state.items():
        if name in BASE_STATE_FIELDS or value is None:
            continue
        if isinstance(value, bool):
            out[name] = "bool"
        elif isinstance(value, int | float):
            out[name] = "number"
        elif isinstance(value, str):
            out[name] = "text"
    return out


def build(topics: Topics, dev: Device, *, version: str, takes_key: Callable[[str], bool], apps: list[str] | None,
          player: bool, extras: Mapping[str, str]) -> list[Config]:
    """The discovery configs of ``dev``: ``takes_key`` says whether its platform takes a key name,
    ``apps`` are its apps' names (None: unknown now), ``player`` whether its state has a media
    player, ``extras`` the plain fields its platform adds to the state (``state_extras``)."""
    caps = set(dev.capabilities)
    device = HaDevice(identifiers=[f"tvctl_{topics.node_id}_{dev.id}"], name=dev.display_name or dev.name,
                      model=dev.model, serial_number=dev.serial, sw_version=dev.software_version)
    common: dict[str, Any] = {
        "device": device, "origin": Origin(name="tvctl", sw_version=version),
        "availability": [Availability(topics.status), Availability(topics.device(dev.name, "availability"))],
        "availability_mode": "all"}
    state_topic = topics.device(dev.name, "state")
    out: list[Config] = []

    def add(kind: type[Entity], object_id: str, **fields: Any) -> None:
        entity = kind(unique_id=f"tvctl_{topics.node_id}_{dev.id}_{object_id}", **common, **fields)
        out.append(Config(topics.discovery(kind.component, dev.id, object_id), entity))

    for key, name, icon, cap in BUTTON_KEYS:
        if cap in caps and "keys" in caps and takes_key(key):
            add(Button, f"key_{key}", name=name, icon=icon, command_topic=topics.command(dev.name, "key"),
                payload_press=key)
    if "power" in caps and "keys" in caps and takes_key("power-on") and takes_key("power-off"):
        add(Switch, "power_switch", name="Power switch", icon="mdi:power",
            command_topic=topics.command(dev.name, "power"), state_topic=state_topic, payload_on="ON",
            payload_off="OFF", value_template="{{ 'ON' if value_json.power == 'on' else 'OFF' }}")
    if "text" in caps:
        add(Text, "text", name="Type text", icon="mdi:keyboard", command_topic=topics.command(dev.name, "text"),
            min=1, max=255, mode="text")
    if "apps" in caps and apps:
        add(Select, "app", name="App", icon="mdi:apps", command_topic=topics.command(dev.name, "launch"),
            options=list(dict.fromkeys(apps)), state_topic=state_topic,
            value_template="{{ value_json.active_app.name if value_json.active_app else '' }}")
    if "screenshot" in caps:
        add(Camera, "screen", name="Screen", icon="mdi:monitor-screenshot", topic=topics.device(dev.name, "screenshot"))
        add(Button, "take_screenshot", name="Take screenshot", icon="mdi:camera",
            command_topic=topics.command(dev.name, "screenshot"), payload_press="{}")
    if "state" not in caps:
        return out
    if "apps" in caps:
        add(Sensor, "active_app", name="Active app", icon="mdi:television-play", state_topic=state_topic,
            value_template="{{ value_json.active_app.name if value_json.active_app else 'none' }}")
    if "power" in caps:
        add(Sensor, "power", name="Power", icon="mdi:power-settings", state_topic=state_topic,
            value_template="{{ value_json.power or 'unknown' }}")
    if player:
        add(Sensor, "player", name="Player", icon="mdi:play-box", state_topic=state_topic,
            value_template="{{ value_json.media.state if value_json.media else 'none' }}")
        add(Sensor, "position", name="Position", state_topic=state_topic, unit_of_measurement="s",
            device_class="duration",
            value_template="{{ (value_json.media.position_ms / 1000) | round(0) "
                           "if value_json.media and value_json.media.position_ms is not none else none }}")
    if "channels" in caps:
        add(Sensor, "channel", name="Channel", icon="mdi:television-classic", state_topic=state_topic,
            value_template="{{ value_json.tv.name or value_json.tv.number if value_json.tv else 'none' }}")
        add(Sensor, "program", name="Program", icon="mdi:television-guide", state_topic=state_topic,
            value_template="{{ value_json.tv.program_title or '' if value_json.tv else '' }}")
    for name, kind in sorted(extras.items()):
        if kind == "bool":
            add(BinarySensor, f"state_{name}", name=_title(name), state_topic=state_topic, entity_category="diagnostic",
                payload_on="ON", payload_off="OFF", value_template=f"{{{{ 'ON' if value_json.{name} else 'OFF' }}}}")
            continue
        unit = next((u for suffix, u in UNITS if name.endswith(suffix)), None) if kind == "number" else None
        add(Sensor, f"state_{name}", name=_title(name), state_topic=state_topic, entity_category="diagnostic",
            value_template=f"{{{{ value_json.{name} }}}}", unit_of_measurement=unit,
            state_class="measurement" if kind == "number" else None)
    return out
