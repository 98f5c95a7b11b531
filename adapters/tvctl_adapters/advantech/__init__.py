"""Advantech platform agent: the PC behind a venue's displays reports its health and shows what
each display shows. No keys, text or apps.

``/auth/ping`` answers ``pong`` without a login, which is how a probe knows the agent. A login
(``POST /auth/login``) gives a JWT with its expiry; it is renewed a minute before it runs out,
and once more when a request is answered 401. State is ``/platform/api/host/info`` (host name,
OS, uptime, the ``hostid`` that identifies the machine), ``/platform/api/systemperf`` (CPU per
core, memory), ``/platform/api/hwmon`` (temperatures and fans, 404 on boards without sensors:
then they are absent, not an error) and ``/platform/api/host/display/count``. A screenshot is
``/platform/api/host/screenshot/<index>/file``; 422 means the agent could not capture.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from tvctl_adapters.httpio import MAX_IMAGE, DeviceHttp, Reply

from tvctl.errors import DeviceAuthFailed, DeviceBadResponse
from tvctl.fields import Field, Section, setting
from tvctl.models import Device, DeviceInfo, DeviceState
from tvctl.platform import NO_CREDENTIALS, Adapter, AdapterContext, Capability, Screenshots, State

_LOGGER = logging.getLogger(__name__)
RENEW_BEFORE_S = 60.0


@dataclass(frozen=True, slots=True)
class AdvantechSettings(Section):
    """The [advantech] config section."""

    name: ClassVar[str] = "advantech"
    request_timeout_s: float = setting(5.0, "Timeout of one request to an Advantech agent.", min=0.1, max=60)


@dataclass(frozen=True, slots=True)
class Reading:
    name: str
    value: float
    unit: str


@dataclass(frozen=True, slots=True)
class AgentState(DeviceState):
    """How the machine behind a signage display is doing. A part the board lacks is null."""

    hostname: str | None = None
    os: str | None = None
    uptime_s: int | None = None
    cpu_percent: float | None = None  # the mean over the cores
    memory_percent: float | None = None
    temperatures: list[Reading] | None = None
    fans: list[Reading] | None = None
    displays: int | None = None
    agent_version: str | None = None


class ScreenshotFailed(DeviceBadResponse):
    code = "screenshot_failed"
    default_hint = "The agent could not capture that display: check the display index and that it is on."


class Session:
    """A JWT for one agent, renewed before it expires."""

    def __init__(self, http: DeviceHttp) -> None:
        self.http = http
        self.token: str | None = None
        self.expires = 0.0

    async def login(self, credentials: Mapping[str, str]) -> None:
        if not credentials.get("username") or not credentials.get("password"):
            raise DeviceAuthFailed(f"{self.http.label} needs a user name and password to log in.",
                                   hint='Give them when adding it: {"credentials": {"username": …, "password": …}}.')
        reply = await self.http.request("POST", "/auth/login", json={"username": credentials["username"],
                                                                      "password": credentials["password"]})
        doc = _json(reply)
        if reply.status != 200 or not isinstance(doc.get("token"), str) or not doc["token"]:
            said = doc.get("Message") or doc.get("message") or reply.text() or f"HTTP {reply.status}"
            raise DeviceAuthFailed(f"{self.http.label} refused the login: {said}.",
                                   hint="Check the user name and password kept for it (credentials).")
        self.token = doc["token"]
        try:
            self.expires = datetime.fromisoformat(str(doc.get("expire"))).timestamp()
        except ValueError:
            self.expires = time.time() + 300  # no usable expiry: renew every five minutes

    async def get(self, path: str, credentials: Mapping[str, str], *, limit: int = 256 << 10) -> Reply:
        for attempt in (0, 1):
            if self.token is None or time.time() > self.expires - RENEW_BEFORE_S:
                await self.login(credentials)
            reply = await self.http.request("GET", path, headers={"Authorization": f"Bearer {self.token}"},
                                            limit=limit)
            if reply.status != 401 or attempt:
                return reply
            self.token = None
        return reply


class AdvantechAdapter(Adapter, State, Screenshots):
    platform: ClassVar[str] = "advantech"
    default_port: ClassVar[int] = 80
    probe_order: ClassVar[int] = 30
    settings: ClassVar[type[Section] | None] = AdvantechSettings
    credentials: ClassVar[dict[str, Field]] = {
        "username": Field(str, "", "The agent's OS (or admin) account.", secret=True,
                          prompt="Advantech agent user name"),
        "password": Field(str, "", "That account's password.", secret=True,
                          prompt="Advantech agent password"),
    }

    def __init__(self, ctx: AdapterContext, device: Device) -> None:
        super().__init__(ctx, device)
        timeout = ctx.settings().section(AdvantechSettings).request_timeout_s
        self.session = Session(DeviceHttp(f"http://{device.host}:{device.port}", timeout, device.name,
                                          open_session=ctx.open_session))

    @classmethod
    async def probe(cls, ctx: AdapterContext, host: str, port: int, timeout_s: float, *,
                    credentials: Mapping[str, str] = NO_CREDENTIALS, known: Device | None = None) -> DeviceInfo:
        http = DeviceHttp(f"http://{host}:{port}", timeout_s, f"The Advantech agent at {host}:{port}",
                          open_session=ctx.open_session)
        try:
            ping = await http.request("GET", "/auth/ping")
            if ping.status != 200 or ping.text() != "pong":
                raise DeviceBadResponse(f"{host}:{port} does not answer /auth/ping with pong; not an Advantech agent.")
            session = Session(http)
            info = _json(await session.get("/platform/api/host/info", credentials))
            version = _json(await http.request("GET", "/auth/agentinfo")).get("version")
        finally:
            await http.close()
        hostid = info.get("hostid")
        if not isinstance(hostid, str) or not hostid:
            raise DeviceBadResponse(f"The Advantech agent at {host}:{port} reported no hostid.")
        return DeviceInfo(platform="advantech", serial=hostid, model=str(info.get("deviceName") or "Advantech"),
                          model_name=str(info.get("deviceName") or "Advantech"), vendor="Advantech", kind="signage",
                          user_name=str(info.get("hostname") or "") or None,
                          software_version=str(version) if version else None)

    @classmethod
    def capabilities_for(cls, info: DeviceInfo) -> tuple[str, ...]:
        return (Capability.STATE.value, Capability.SCREENSHOT.value)

    def update_device(self, device: Device) -> None:
        super().update_device(device)
        self.session.http.label = device.name
        self.session.http.base = f"http://{device.host}:{device.port}"  # it may have moved (a new address)

    async def close(self) -> None:
        await self.session.http.close()

    def _creds(self) -> dict[str, str]:
        return {"username": self.credential("username"), "password": self.credential("password")}

    async def _get_json(self, path: str) -> Any:
        reply = await self.session.get(path, self._creds())
        if reply.status == 404:
            return None
        if reply.status != 200:
            raise DeviceBadResponse(f"{self.device.name} answered {path} with HTTP {reply.status}.")
        try:
            return json.loads(reply.body)
        except ValueError as exc:
            raise DeviceBadResponse(f"{self.device.name}'s {path} is not JSON.") from exc

    async def state(self) -> DeviceState:
        self.session.http.timeout_s = self.ctx.settings().section(AdvantechSettings).request_timeout_s
        info = await self._get_json("/platform/api/host/info") or {}
        perf = await self._get_json("/platform/api/systemperf") or {}
        hw = await self._get_json("/platform/api/hwmon")
        count = await self._get_json("/platform/api/host/display/count")
        agent = _json(await self.session.http.request("GET", "/auth/agentinfo")).get("version")
        usage = (perf.get("cpu") or {}).get("usage") if isinstance(perf, dict) else None
        cores = [float(u) for u in usage if isinstance(u, int | float)] if isinstance(usage, list) else []
        memory = perf.get("memory") if isinstance(perf, dict) else None
        return AgentState(
            power="on", power_mode=None, active_app=None, media=None, tv=None, unavailable=[],
            hostname=_str(info.get("hostname")), os=_str(info.get("platform") or info.get("os")),
            uptime_s=int(info["upTime"]) if isinstance(info.get("upTime"), int | float) else None,
            cpu_percent=round(sum(cores) / len(cores), 2) if cores else None,
            memory_percent=round(float(memory["usedPercent"]), 2)
            if isinstance(memory, dict) and isinstance(memory.get("usedPercent"), int | float) else None,
            temperatures=_readings(hw, "temperature"), fans=_readings(hw, "fanspeed"),
            displays=int(count) if isinstance(count, int) else None,
            agent_version=_str(agent))

    async def screenshot(self, display: int = 0) -> tuple[bytes, str]:
        reply = await self.session.get(f"/platform/api/host/screenshot/{display}/file", self._creds(),
                                       limit=MAX_IMAGE)
        if reply.status == 422:
            errors = _json(reply).get("errors")
            said = "; ".join(f"{k}: {v}" for k, v in errors.items()) if isinstance(errors, dict) else reply.text()
            raise ScreenshotFailed(f"{self.device.name} could not capture display {display}: "
                                   f"{said or 'no reason given'}.")
        if reply.status != 200 or not reply.content_type.startswith("image/"):
            raise DeviceBadResponse(f"{self.device.name} answered the screenshot of display {display} with HTTP "
                                    f"{reply.status} ({reply.content_type or 'no content type'}).")
        return reply.body, reply.content_type


def _json(reply: Reply) -> dict[str, Any]:
    try:
        doc = json.loads(reply.body) if reply.body else {}
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _str(v: object) -> str | None:
    return str(v) if v not in (None, "") else None


def _readings(hw: object, kind: str) -> list[Reading] | None:
    if not isinstance(hw, dict) or not isinstance(hw.get(kind), list):
        return None
    out = []
    for r in hw[kind]:
        try:
            out.append(Reading(name=str(r["name"]), value=float(r["value"]), unit=str(r.get("unit", ""))))
        except (KeyError, TypeError, ValueError):
            continue
    return out
