"""A fake Advantech platform agent, written from its API document (../shared/seeds/003) and
../shared/reference/kvm-and-signage.md: real HTTP on 127.0.0.1, JWTs that expire and can be
revoked, boards with and without sensors, several displays, every request recorded."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from aiohttp import web

from tests.fakekvm import Loop, Recording, Seen
from tests.fakeroku import PNG_1X1

HOST_INFO = {  # the document's example
    "biosSerialNumber": "Default string", "biosUUID": "03000200-0400-0500-0006-000700080009",
    "biosVersion": "N/A", "bootCount": 22862, "bootTime": 1619413851, "deviceName": "UNO-2484G-673xAE",
    "hostid": "d6d6752c-a6d4-4d02-96b1-96e2d3a8d2b2", "hostname": "UNO-2484G-673xA", "imageVersion": "6.04 Build 005",
    "kernelArch": "x86_64", "os": "windows", "platform": "Microsoft Windows 10 Enterprise LTSC 2019",
    "releaseDate": "01/23/2019", "upTime": 851779,
}
SYSTEMPERF = {"cpu": {"info": {"cores": 4, "modelName": "Intel(R) Core(TM) i7-6600U CPU @ 2.60GHz"},
                      "usage": [10.0, 20.0, 30.0, 40.0]},
              "memory": {"total": 8265986048, "used": 415899648, "usedPercent": 5.031458383608441}}
HWMON = {"temperature": [{"name": "CPU", "value": "50.1", "unit": "Celsius"}],
         "voltage": [{"name": "VCore", "value": "0.92", "unit": "Volt"}],
         "fanspeed": [{"name": "FAN0", "value": "1234", "unit": "RPM"}]}


class FakeAdvantech(Recording):
    def __init__(self, *, username: str = "signage", password: str = "p@ssw0rd-9", token_ttl_s: float = 3600,
                 sensors: bool = True, displays: int = 2,
                 hostid: str = "d6d6752c-a6d4-4d02-96b1-96e2d3a8d2b2") -> None:
        self.host_info = {**HOST_INFO, "hostid": hostid}
        self.username, self.password = username, password
        self.token_ttl_s = token_ttl_s
        self.sensors = sensors
        self.displays = displays
        self.tokens: dict[str, float] = {}  # token -> expiry (Unix time)
        self.requests: list[Seen] = []
        self.port = 0
        self._srv = Loop("fake-advantech")
        self._lock = threading.Lock()

    def start(self) -> FakeAdvantech:
        self._srv.start(self._serve)
        return self

    async def _serve(self) -> None:
        self.port = await self._srv.site(self._handle)

    def stop(self) -> None:
        self._srv.stop()

    def revoke(self) -> None:
        """The agent restarted: every token it gave is void."""
        with self._lock:
            self.tokens.clear()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        with self._lock:
            self.requests.append(Seen(request.method, request.path, dict(request.headers), body))
        path = request.path
        if path == "/auth/ping":
            return web.Response(text="pong")
        if path == "/auth/agentinfo":
            return web.json_response({"version": "v1.8.1"})
        if path == "/auth/login" and request.method == "POST":
            if not isinstance(body, dict) or (body.get("username"), body.get("password")) != (self.username,
                                                                                               self.password):
                return web.json_response({"Code": 401, "Message": "invalid username or password"}, status=401)
            token = f"eyJ.{uuid.uuid4().hex}.sig"
            expires = time.time() + self.token_ttl_s
            with self._lock:
                self.tokens[token] = expires
            stamp = datetime.fromtimestamp(expires, timezone(timedelta(hours=8))).isoformat(timespec="seconds")
            return web.json_response({"code": 200, "expire": stamp, "token": token})
        if not path.startswith("/platform/api/"):
            return web.Response(status=404)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        with self._lock:
            valid = self.tokens.get(token, 0) > time.time()
        if not valid:
            return web.json_response({"Code": 401, "Message": ""}, status=401)
        if path == "/platform/api/host/info":
            return web.json_response(self.host_info)
        if path == "/platform/api/systemperf":
            return web.json_response(SYSTEMPERF)
        if path == "/platform/api/hwmon":
            return web.json_response(HWMON) if self.sensors else web.Response(status=404)
        if path == "/platform/api/host/display/count":
            return web.Response(text=str(self.displays), content_type="application/json")
        parts = path.split("/")
        if len(parts) == 7 and parts[4] == "screenshot" and parts[6] == "file":
            index = int(parts[5]) if parts[5].isdigit() else -1
            if not 0 <= index < self.displays:
                return web.json_response({"errors": {"Host": f"display {parts[5]} not found"}}, status=422)
            return web.Response(body=PNG_1X1 + bytes([index]), content_type="image/png")
        return web.Response(status=404)
