"""Requests to kvmd and the reading of its answers: the X-KVMD headers (with the one-time code
for two-factor accounts) and kvmd's failures as tvctl's errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from tvctl_adapters.httpio import DeviceHttp, Reply
from tvctl_adapters.pikvm import wire

from tvctl.errors import DeviceAuthFailed, DeviceBadResponse, DeviceBusy, UnsupportedOperation


async def request(http: DeviceHttp, credentials: Mapping[str, str], method: str, path: str, *,
                   data: bytes | None = None, limit: int = 64 << 10) -> Reply:
    """One request with kvmd's X-headers; with a TOTP secret, the code is appended to the password
    (waiting out the last second of a code, and sending once more if it turned over meanwhile)."""
    secret = credentials.get("totp_secret", "")
    password = credentials.get("password", "")
    code = ""
    if secret:
        if wire.check_totp_secret(secret) is not None:
            raise DeviceAuthFailed(f"{http.label}: the totp_secret kept for it is not a base32 TOTP secret.",
                                   hint="Set the secret from /etc/kvmd/totp.secret on the PiKVM as "
                                        "credentials.totp_secret.")
        left = wire.totp_left_s(time.time())
        if left < 1.0:  # kvmd's advice: do not send a code about to expire
            await asyncio.sleep(left)
        code = wire.totp(secret, time.time())
    user = credentials.get("username", "")
    headers = {"X-KVMD-User": user, "X-KVMD-Passwd": password + code} if user else {}  # none: kvmd's 401
    if data is not None:
        headers["Content-Type"] = "text/plain; charset=utf-8"
    reply = await http.request(method, path, data=data, headers=headers, limit=limit)
    if reply.status == 403 and secret and wire.totp(secret, time.time()) != code:
        headers["X-KVMD-Passwd"] = password + wire.totp(secret, time.time())
        reply = await http.request(method, path, data=data, headers=headers, limit=limit)
    return reply


def refused(who: str, reply: Reply, credentials: Mapping[str, str], device_id: str = "{id}") -> DeviceAuthFailed:
    name, msg = wire.error_of(reply.body)
    if not credentials.get("username"):
        hint = "Give the PiKVM user and password as credentials (username, password)."
    else:
        hint = (f'Set the right ones: PATCH /v1/devices/{device_id} {{"credentials": {{"username": "…", '
                '"password": "…"}}}}; with two-factor authentication, add totp_secret too.')
    return DeviceAuthFailed(f"{who} refused the credentials (HTTP {reply.status}): {msg or name or 'no reason'}.",
                            hint=hint)


def fail(reply: Reply, who: str, what: str) -> None:
    name, msg = wire.error_of(reply.body)
    words = msg or name or "no reason given"
    if reply.status == 400 and name == "AtxDisabledError":
        raise UnsupportedOperation(f"{who} has no ATX board enabled: {words}.",
                                   hint="Connect and configure the ATX board on the PiKVM (kvmd atx: type gpio), "
                                        "then add the device again.")
    if reply.status == 409:
        raise DeviceBusy(f"{who} is busy: {words}.", hint="Try again in a few seconds.")
    raise DeviceBadResponse(f"{who} answered {what} with HTTP {reply.status}: {words}.")


def result_of(reply: Reply, who: str, what: str) -> dict[str, Any]:
    if reply.status != 200:
        fail(reply, who, what)
    doc = wire.envelope(reply.body)
    if doc is None or doc["ok"] is not True:
        raise DeviceBadResponse(f"{who}'s answer to {what} is not kvmd's {{\"ok\": true, \"result\": …}}.")
    result: dict[str, Any] = doc["result"]
    return result

