"""FastX: a remote-desktop server whose sessions are the screens of lab machines, kiosks and
signage players run from a server room.

The device is the server (its identity the ``serverId`` that ``GET /v3/api`` gives without a
login); its screens are its sessions. tvctl lists them (the server's list grammar: start, limit,
sortBy, sortReverse, filter), takes a screenshot of one (a data URL, decoded), starts one from a
bookmark (bookmarks are the device's apps) and terminates one. The API has no keyboard or mouse:
keys and text are unsupported_operation. HTTPS on port 3300 (3443 on older servers) with the
server's certificate pinned when it is added, as for the KVMs; logging in and the token: ``api``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from tvctl_adapters.fastx import api
from tvctl_adapters.fastx.api import FastxApi
from tvctl_adapters.httpio import MAX_IMAGE, DeviceHttp, pinned_peer, text_or_none

from tvctl.errors import (
    BadRequest,
    DeviceBadResponse,
    DeviceUnreachable,
    UnsupportedOperation,
)
from tvctl.fields import Field, Section, setting
from tvctl.models import App, Device, DeviceInfo, DeviceState, slugify
from tvctl.platform import (
    NO_CREDENTIALS,
    Adapter,
    AdapterContext,
    Apps,
    Capability,
    Screenshots,
    Sessions,
    State,
    session_at,
)
from tvctl.results import LaunchResult, ScreenSession, SessionListRequest, StopResult

ALL = SessionListRequest()
# a screenshot's data URL is base64: a third larger than the image it carries
MAX_SHOT_REPLY = MAX_IMAGE * 4 // 3 + (64 << 10)


@dataclass(frozen=True, slots=True)
class FastxSettings(Section):
    """The [fastx] config section."""

    name: ClassVar[str] = "fastx"
    request_timeout_s: float = setting(10.0, "Timeout of one request to a FastX server (a screenshot or a session "
                                       "starting takes the longest).", min=0.5, max=120)


@dataclass(frozen=True, slots=True)
class FastxState(DeviceState):
    """A FastX server's view: itself and its sessions."""

    host_name: str | None = None  # the server's host name (GET /v3/api)
    version: str | None = None  # the FastX version
    session_count: int = 0
    sessions_by_user: dict[str, int] = field(default_factory=dict)


def credentials_hint(device: Device | None) -> str:
    ident = device.id if device is not None else "{id}"
    return (f'Set the FastX user\'s: PATCH /v1/devices/{ident} {{"credentials": {{"username": "…", "password": "…"}}}} '
            "(tvctl device credentials NAME --set username --set password).")


class FastxAdapter(Adapter, Sessions, Screenshots, Apps, State):
    platform: ClassVar[str] = "fastx"
    default_port: ClassVar[int] = 3300
    probe_order: ClassVar[int] = 40  # after the KVMs: only an address whose GET /v3/api names a server
    settings: ClassVar[type[Section] | None] = FastxSettings
    credentials: ClassVar[dict[str, Field]] = {
        "username": Field(str, "", "The FastX (SSH) user tvctl logs in as.", secret=True, prompt="FastX user name"),
        "password": Field(str, "", "That user's password.", secret=True, prompt="FastX password"),
    }

    def __init__(self, ctx: AdapterContext, device: Device) -> None:
        super().__init__(ctx, device)
        self.api = FastxApi(self._http(ctx, device.host, device.port, device.tls_fingerprint, device), device.serial,
                            credentials_hint(device))

    @staticmethod
    def _http(ctx: AdapterContext, host: str, port: int, fingerprint: str | None, device: Device | None) -> DeviceHttp:
        return DeviceHttp.pinned(ctx.open_session, host, port, ctx.settings().section(FastxSettings).request_timeout_s,
                                 "The FastX server", device, fingerprint)

    # -- identity -----------------------------------------------------------------------------
    @classmethod
    async def probe(cls, ctx: AdapterContext, host: str, port: int, timeout_s: float, *,
                    credentials: Mapping[str, str] = NO_CREDENTIALS, known: Device | None = None) -> DeviceInfo:
        try:
            seen = await pinned_peer(host, port, timeout_s, f"The FastX server at {host}:{port}", known)
        except DeviceUnreachable as exc:
            raise exc.restated(hint="FastX serves HTTPS on port 3300 (3443 on older servers): check the address, "
                                    "and give the port with --port where it is another.") from exc
        http = cls._http(ctx, host, port, seen, known)
        http.timeout_s = timeout_s
        try:
            server = FastxApi(http, "", credentials_hint(known))
            info = await server.info()
            if credentials:  # given when adding: checked now, so a wrong password is said at once
                server.server_id = info["serverId"]
                await server.call("/v3/api/session/list/count", {}, credentials)
        finally:
            await http.close()
        host_name = text_or_none(info.get("hostname"))
        version = text_or_none(info.get("version"))
        return DeviceInfo(platform="fastx", serial=str(info["serverId"]), model="FastX",
                          model_name=f"FastX {version}" if version else "FastX", vendor="StarNet",
                          kind="remote-desktop", user_name=host_name or f"fastx {host}", software_version=version,
                          tls_fingerprint=seen)

    @classmethod
    def capabilities_for(cls, info: DeviceInfo) -> tuple[str, ...]:
        return (Capability.SESSIONS.value, Capability.SCREENSHOT.value, Capability.APPS.value, Capability.STATE.value)

    def update_device(self, device: Device) -> None:
        super().update_device(device)
        self.api.http.follow(device)
        self.api.server_id = device.serial
        self.api.credentials_hint = credentials_hint(device)

    async def close(self) -> None:
        await self.api.http.close()

    async def _call(self, path: str, body: Mapping[str, Any] | None = None, *, limit: int = 256 << 10) -> Any:
        self.api.http.timeout_s = self.ctx.settings().section(FastxSettings).request_timeout_s
        creds = {k: self.credential(k) for k in self.credentials}
        return await self.api.call(path, body or {}, creds, limit=limit)

    # -- sessions -------------------------------------------------------------------------------
    async def list_sessions(self, request: SessionListRequest) -> list[ScreenSession]:
        found = await self._call("/v3/api/session/list", api.list_body(request))
        if not isinstance(found, list):
            raise DeviceBadResponse(f"{self.device.name} answered session/list without a list.")
        return [api.session_of(s, self.device.name) for s in found]

    async def session_screenshot(self, session_id: str, image_format: str | None) -> tuple[bytes, str]:
        result = await self._call("/v3/api/session/screenshot", {"id": session_id, "format": image_format or "png"},
                                  limit=MAX_SHOT_REPLY)
        return api.image_of(result, self.device.name)

    async def terminate_session(self, session: ScreenSession) -> None:
        await self._call("/v3/api/session/terminate", {"id": session.id})

    async def screenshot(self, display: int = 0) -> tuple[bytes, str]:
        return await self.session_screenshot((await session_at(self, display, self.device.name)).id, None)

    # -- bookmarks as apps ----------------------------------------------------------------------
    async def list_apps(self) -> list[App]:
        result = await self._call("/v3/api/bookmark/list")
        if not isinstance(result, dict):
            raise DeviceBadResponse(f"{self.device.name} answered bookmark/list without its lists.")
        out: dict[str, App] = {}
        for group in ("bookmarks", "suggestions"):  # the user's own first, then the server's
            for bm in result.get(group) or []:
                if isinstance(bm, dict) and isinstance(bm.get("id"), str) and bm["id"] not in out:
                    name = str(bm.get("name") or bm.get("command") or bm["id"])
                    out[bm["id"]] = App(id=slugify(name) or bm["id"], name=name, platform_id=bm["id"],
                                        type="bookmark", version=None)
        return list(out.values())

    async def launch(self, app: App, params: dict[str, str]) -> LaunchResult:
        if params:
            raise BadRequest(f"A FastX bookmark takes no launch parameters (got {', '.join(sorted(params))}).",
                             hint="Leave params out; the bookmark says what the session runs.")
        connect = await self._call("/v3/api/session/start/bookmark", {"id": app.platform_id})
        started = api.session_of(connect, self.device.name)
        if started.name == started.id:  # a connect object may not carry the name it was started under
            started = ScreenSession(id=started.id, name=app.name, user=started.user, geometry=started.geometry,
                                    clients=started.clients, started=started.started, display=started.display)
        return LaunchResult(device=self.device.name, launched=app, params={}, session=started)

    async def stop_app(self) -> StopResult:
        """Refused: ending a session ends whatever runs in it, so it is asked for by name
        (terminate_session, which clients confirm first), never as a plain stop."""
        raise UnsupportedOperation(f"{self.device.name} has no app to stop: its screens are sessions, and ending "
                                   "one ends whatever runs in it.",
                                   hint=f"End a session by name: tvctl sessions terminate NAME {self.device.name}, "
                                        f"or POST /v1/devices/{self.device.name}/sessions/ID/terminate.")

    async def icon(self, platform_id: str) -> tuple[bytes, str]:
        raise UnsupportedOperation(f"{self.device.name}'s bookmarks have no icons.")

    # -- state ------------------------------------------------------------------------------------
    async def state(self) -> DeviceState:
        info, listed = await asyncio.gather(self.api.info(), self.list_sessions(ALL))
        by_user: dict[str, int] = {}
        for s in listed:
            by_user[s.user] = by_user.get(s.user, 0) + 1
        return FastxState(power=None, power_mode=None, active_app=None, media=None, tv=None, unavailable=[],
                          host_name=text_or_none(info.get("hostname")),
                          version=text_or_none(info.get("version")),
                          session_count=len(listed), sessions_by_user=by_user)
