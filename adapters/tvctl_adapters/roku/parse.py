"""ECP XML → typed models. Pure functions; device XML is untrusted (defusedxml, no entities)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

from tvctl.errors import DeviceBadResponse
from tvctl.models import ActiveApp, App, DeviceInfo, DeviceState, MediaState, TvChannel, slugify, usable_mac
from tvctl.results import ChannelInfo

HOME_APP_ID = "562859"  # "Roku Dynamic Menu", the home screen on OS 11+


def parse_xml(body: bytes, root: str, what: str) -> ET.Element:
    try:
        el = DET.fromstring(body, forbid_dtd=True)
    except (ET.ParseError, DefusedXmlException, ValueError) as exc:
        raise DeviceBadResponse(f"The device's {what} reply is not valid XML: {exc}.") from exc
    if el.tag != root:
        raise DeviceBadResponse(f"The device's {what} reply has <{el.tag}>, expected <{root}>.")
    return el


def _text(el: ET.Element, tag: str) -> str | None:
    child = el.find(tag)
    if child is None or child.text is None:
        return None
    return child.text.strip() or None


def _bool(el: ET.Element, tag: str) -> bool:
    return (_text(el, tag) or "").lower() == "true"


def _flag(el: ET.Element, tag: str) -> bool | None:
    """A true/false the device may leave out: None when it says nothing."""
    t = _text(el, tag)
    return None if t is None else t.lower() == "true"


@dataclass(frozen=True, slots=True)
class RokuInfo(DeviceInfo):
    """device-info as a Roku tells it: the core's identity, and what the adapter decides by."""

    is_tv: bool = False
    is_stick: bool = False
    power_mode: str | None = None
    supports_find_remote: bool = False
    # None: the device did not say (older firmware, soundbars, HDMI-CEC players): assume it can.
    supports_tv_power_control: bool | None = None
    supports_audio_volume_control: bool | None = None


@dataclass(frozen=True, slots=True)
class RokuState(DeviceState):
    ecp_mode: str | None = None  # enabled | limited | … (OS 14.1+), what "Control by mobile apps" allows
    wire: str | None = None  # http | session: how tvctl reached the device for this state
    volume: int | None = None  # the audio device's global volume, where the set reports it
    muted: bool | None = None


@dataclass(frozen=True, slots=True)
class AudioDevice:
    volume: int | None
    muted: bool | None


def audio_device(body: bytes) -> AudioDevice:
    """query/audio-device: the global volume and mute (Roku TVs and audio products, OS 14+)."""
    el = parse_xml(body, "audio-device", "audio-device")
    g = el.find("global")
    if g is None:
        return AudioDevice(None, None)
    vol = _text(g, "volume")
    return AudioDevice(volume=int(vol) if vol is not None and vol.isdigit() else None, muted=_flag(g, "muted"))


def device_info(body: bytes) -> RokuInfo:
    el = parse_xml(body, "device-info", "device-info")
    serial = _text(el, "serial-number")
    if not serial:
        raise DeviceBadResponse("The device-info reply has no serial-number.")
    network = (_text(el, "network-type") or "").lower()
    wifi, wired = usable_mac(_text(el, "wifi-mac")), usable_mac(_text(el, "ethernet-mac"))
    mac = (wired or wifi) if network == "ethernet" else (wifi or wired)
    vendor = _text(el, "vendor-name") or "Roku"
    model_name = _text(el, "friendly-model-name") or _text(el, "model-name") or ""
    user_name = _text(el, "user-device-name")
    is_tv, is_stick = _bool(el, "is-tv"), _bool(el, "is-stick")
    return RokuInfo(
        platform="roku",
        serial=serial,
        udn=_text(el, "udn"),
        model=_text(el, "model-number") or "",
        model_name=model_name,
        vendor=vendor,
        user_name=user_name,
        location=_text(el, "user-device-location"),
        software_version=_text(el, "software-version"),
        kind="tv" if is_tv else "stick" if is_stick else "box",
        is_tv=is_tv,
        is_stick=is_stick,
        power_mode=_text(el, "power-mode"),
        access_mode=(_text(el, "ecp-setting-mode") or None),
        developer_enabled=_bool(el, "developer-enabled"),
        wake_mac=mac,
        supports_find_remote=_bool(el, "supports-find-remote"),
        supports_tv_power_control=_flag(el, "supports-tv-power-control"),
        supports_audio_volume_control=_flag(el, "supports-audio-volume-control"),
    )


def apps(body: bytes) -> list[App]:
    el = parse_xml(body, "apps", "apps")
    out: list[App] = []
    for app in el.iter("app"):
        pid = app.get("id")
        name = (app.text or "").strip()
        if not pid or not name:
            continue
        out.append(App(id=slugify(name) or pid, name=name, platform_id=pid, type=app.get("type"),
                       version=app.get("version")))
    return out


def active_app(body: bytes) -> ActiveApp:
    el = parse_xml(body, "active-app", "active-app")
    app = el.find("app")
    ss = el.find("screensaver")
    ss_name = (ss.text or "").strip() if ss is not None else None
    if app is None:
        return ActiveApp("home", None, "Home", None, ss_name)
    pid = app.get("id")
    name = (app.text or "").strip()
    home = pid is None or name == "Roku" or app.get("ui-location") == "home" or pid == HOME_APP_ID
    if ss is not None:
        kind = "screensaver"
    elif home:
        kind = "home"
    elif (pid or "").startswith("tvinput.") or app.get("type") == "tvin":
        kind = "tv-input"
    else:
        kind = "app"
    if home:
        return ActiveApp(kind, None, "Home", pid, ss_name)
    return ActiveApp(kind, slugify(name) or pid, name, pid, ss_name)


_NUM = re.compile(r"^\s*(-?\d+)")


def _ms(el: ET.Element, tag: str) -> int | None:
    t = _text(el, tag)
    m = _NUM.match(t) if t else None
    return int(m.group(1)) if m else None


KNOWN_MEDIA_STATES = {"play", "pause", "close", "buffer", "none", "stop", "startup", "open"}


def media_player(body: bytes) -> MediaState:
    el = parse_xml(body, "player", "media-player")
    state = (el.get("state") or "").lower()
    plugin = el.find("plugin")
    live = _text(el, "is_live")
    return MediaState(
        state=state if state in KNOWN_MEDIA_STATES else "unknown",
        error=(el.get("error") or "").lower() == "true",
        app_platform_id=plugin.get("id") if plugin is not None else None,
        position_ms=_ms(el, "position"),
        duration_ms=_ms(el, "duration"),
        live=None if live is None else live.lower() == "true",
    )


def tv_active_channel(body: bytes) -> TvChannel | None:
    el = parse_xml(body, "tv-channel", "tv-active-channel")
    ch = el.find("channel")
    if ch is None:
        return None
    return TvChannel(
        number=_text(ch, "number"),
        name=_text(ch, "name"),
        input=_text(ch, "active-input"),
        program_title=_text(ch, "program-title"),
        signal_state=_text(ch, "signal-state"),
    )


# -- live TV and developer queries ---------------------------------------------------------------
def tv_channels(body: bytes) -> list[ChannelInfo]:
    """A Roku TV's antenna line-up (query/tv-channels)."""
    root = parse_xml(body, "tv-channels", "tv-channels")
    return [ChannelInfo(number=_text(ch, "number") or "", name=_text(ch, "name"), type=_text(ch, "type"),
                        hidden=_bool(ch, "user-hidden"))
            for ch in root.findall("channel") if _text(ch, "number")]


def _failed(root: ET.Element, what: str) -> None:
    """ECP's developer queries answer HTTP 200 with <status>FAILED</status> and an <error>, which
    the error carries as ``details["device_says"]``."""
    if (_text(root, "status") or "").upper() == "FAILED":
        reason = _text(root, "error") or "no reason given"
        raise DeviceBadResponse(f"The device refused the {what} query: {reason}.", details={"device_says": reason})


@dataclass(frozen=True, slots=True)
class AppState:
    """query/app-state/<id> (OS 13+, developer mode): one app's run state."""

    app_id: str
    title: str | None
    version: str | None
    state: str  # active | background | inactive | …


def app_state(body: bytes) -> AppState:
    root = parse_xml(body, "app-state", "app-state")
    _failed(root, "app-state")
    return AppState(app_id=_text(root, "app-id") or "", title=_text(root, "app-title"),
                    version=_text(root, "app-version"), state=_text(root, "state") or "unknown")


@dataclass(frozen=True, slots=True)
class DevRegistryReply:
    """query/registry/dev: the sideloaded channel's registry, sections of (key, value) in order."""

    dev_id: str | None
    space_available: int | None
    sections: list[tuple[str, list[tuple[str, str]]]]


def dev_registry(body: bytes) -> DevRegistryReply:
    root = parse_xml(body, "plugin-registry", "registry")
    _failed(root, "registry")
    sections = [(_text(section, "name") or "",
                 [(_text(i, "key") or "", _text(i, "value") or "") for i in section.iterfind("items/item")])
                for section in root.iterfind("registry/sections/section")]
    space = _text(root, "registry/space-available")
    return DevRegistryReply(dev_id=_text(root, "registry/dev-id"),
                            space_available=int(space) if space and space.isdigit() else None, sections=sections)


DIAL_NS = "{urn:dial-multiscreen-org:schemas:dial}"


def dial_app_state(body: bytes) -> tuple[str, str]:
    """A DIAL application resource (GET /dial/<name>): its name and state (running | stopped | …)."""
    root = parse_xml(body, f"{DIAL_NS}service", "DIAL app")
    return _text(root, f"{DIAL_NS}name") or "", _text(root, f"{DIAL_NS}state") or "unknown"


UPNP_NS = "{urn:schemas-upnp-org:device-1-0}"


@dataclass(frozen=True, slots=True)
class UpnpDevice:
    """The UPnP root description a Roku serves at / on the ECP port."""

    friendly_name: str | None
    manufacturer: str | None
    model_name: str | None
    model_number: str | None
    serial: str | None
    udn: str | None
    service_types: tuple[str, ...]


def upnp_description(body: bytes) -> UpnpDevice:
    root = parse_xml(body, f"{UPNP_NS}root", "UPnP description")
    dev = root.find(f"{UPNP_NS}device")
    if dev is None:
        raise DeviceBadResponse("The device's UPnP description has no <device>.")

    def t(tag: str) -> str | None:
        return _text(dev, f"{UPNP_NS}{tag}")

    services = tuple(s.text.strip() for s in dev.iterfind(f"{UPNP_NS}serviceList/{UPNP_NS}service/"
                                                          f"{UPNP_NS}serviceType") if s.text)
    return UpnpDevice(friendly_name=t("friendlyName"), manufacturer=t("manufacturer"), model_name=t("modelName"),
                      model_number=t("modelNumber"), serial=t("serialNumber"), udn=t("UDN"),
                      service_types=services)
