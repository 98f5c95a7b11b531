"""Talking to a FastX server: its two ways of logging in, the token kept and renewed, and its
answers read into tvctl's types and errors.

Every call but ``GET /v3/api`` is a ``POST`` of a JSON object with ``Authorization: Bearer
TOKEN``; a success is ``{"result": …}``, a failure ``{"error": {"name", "message"}}`` with an HTTP
status (``AuthError`` with 401 when the token is unknown, for example after the server restarted).
Newer servers hand out a token at ``POST /v3/api/auth/ssh``; older ones (404 there) take the
login stages of their document: ``/v3/api/user/login`` answers a stage and a token, the password
is given at the ``password`` or ``keyboard-interactive`` stage, and the token works once the
stage is ``success``. A call refused with ``AuthError`` logs in again and is sent once more (a
refused call did nothing on the server, so sending it again is safe). Credentials the server
refused are not sent again for ``REFUSED_HOLD_S`` unless they change: a wrong password at every
state poll would lock the account on many servers. Neither the password, the token nor the
one-time password a started session comes with is ever put in a message or a log.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
from collections.abc import Mapping
from typing import Any

from tvctl_adapters.httpio import DeviceHttp, Reply, text_or_none

from tvctl.errors import BadRequest, DeviceAuthFailed, DeviceBadResponse, SessionNotFound
from tvctl.results import ScreenSession, SessionListRequest

# tvctl's names of a session's fields -> the server's members (the others are passed as they are)
MEMBERS = {"user": "login"}
MAX_STAGES = 4  # login stages followed before giving up (password, keyboard-interactive, success)
REFUSED_HOLD_S = 300.0  # refused credentials are not sent again for this long (unless they change)


def error_of(body: bytes) -> tuple[str, str]:
    """The ``name`` and ``message`` of a FastX error answer ("" where it has none)."""
    try:
        doc = json.loads(body)
    except ValueError:
        return "", ""
    err = doc.get("error") if isinstance(doc, dict) else None
    if not isinstance(err, dict):
        return "", ""
    name, msg = err.get("name", err.get("id", "")), err.get("message", err.get("msg", ""))
    return (name if isinstance(name, str) else ""), (msg if isinstance(msg, str) else "")


def result_of(reply: Reply, who: str, what: str) -> Any:
    """The ``result`` of a successful answer; a failure as tvctl's error."""
    if reply.status != 200:
        fail(reply, who, what)
    try:
        doc = json.loads(reply.body)
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or "result" not in doc:
        raise DeviceBadResponse(f"{who}'s answer to {what} is not FastX's {{\"result\": …}}.")
    return doc["result"]


def fail(reply: Reply, who: str, what: str) -> None:
    name, msg = error_of(reply.body)
    words = msg or name or "no reason given"
    if reply.status == 404 and name == "NotFound":
        raise SessionNotFound(f"{who} has no such session or bookmark ({what}): {words}.")
    if reply.status == 400:
        raise BadRequest(f"{who} refused {what}: {words}.",
                         hint="Check the session fields and filters (tvctl sessions --help).")
    raise DeviceBadResponse(f"{who} answered {what} with HTTP {reply.status}: {words}.")


def is_auth_error(reply: Reply) -> bool:
    return reply.status == 401 or (reply.status != 200 and error_of(reply.body)[0] == "AuthError")


class FastxApi:
    """One server's calls and its token (logged in on first need, renewed once when refused)."""

    def __init__(self, http: DeviceHttp, server_id: str, credentials_hint: str) -> None:
        self.http = http
        self.server_id = server_id
        self.credentials_hint = credentials_hint  # how to set the right credentials
        self.token: str | None = None
        self.style: str | None = None  # "ssh" (POST /v3/api/auth/ssh) or "stages", once known
        # the credentials the server refused, and how: not tried again until they change (a wrong
        # password sent at every state poll would lock the account on many servers)
        self._refused: tuple[tuple[str, str], float, DeviceAuthFailed] | None = None
        self._login = asyncio.Lock()

    async def info(self) -> dict[str, Any]:
        """``GET /v3/api``: the server's identity, answered without logging in."""
        result = result_of(await self.http.request("GET", "/v3/api"), self.http.label, "GET /v3/api")
        if not isinstance(result, dict) or not isinstance(result.get("serverId"), str) or not result["serverId"]:
            raise DeviceBadResponse(f"{self.http.label} answered GET /v3/api without a serverId; not a FastX server?")
        return result

    async def call(self, path: str, body: Mapping[str, Any], credentials: Mapping[str, str], *,
                   limit: int = 256 << 10) -> Any:
        """``POST path`` with ``body``, logged in; the ``result``."""
        token = self.token or await self._log_in(credentials, None)
        reply = await self._post(path, body, token, limit)
        if is_auth_error(reply):  # the token died (a restart, a timeout on the server): once more, logged in anew
            token = await self._log_in(credentials, token)
            reply = await self._post(path, body, token, limit)
            if is_auth_error(reply):
                raise self.refused(reply)
        return result_of(reply, self.http.label, path)

    async def _post(self, path: str, body: Mapping[str, Any], token: str | None, limit: int) -> Reply:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.http.request("POST", path, json=dict(body), headers=headers, limit=limit)

    def refused(self, reply: Reply) -> DeviceAuthFailed:
        _name, msg = error_of(reply.body)
        return DeviceAuthFailed(f"{self.http.label} refused the login (HTTP {reply.status}): {msg or 'AuthError'}.",
                                hint=self.credentials_hint)

    async def _log_in(self, credentials: Mapping[str, str], dead: str | None) -> str:
        """A fresh token (``dead``: the one just refused; another call may have renewed it already)."""
        async with self._login:
            if self.token is not None and self.token != dead:
                return self.token
            self.token = None
            user, password = credentials.get("username", ""), credentials.get("password", "")
            if not user or not password:
                raise DeviceAuthFailed(f"{self.http.label} needs a user name and password to log in.",
                                       hint=self.credentials_hint)
            if self._refused is not None and self._refused[0] == (user, password) \
                    and time.monotonic() - self._refused[1] < REFUSED_HOLD_S:
                raise self._refused[2]
            try:
                token = await self._ssh(user, password) if self.style != "stages" else None
                if token is None:
                    token = await self._stages(user, password)
            except DeviceAuthFailed as exc:
                self._refused = ((user, password), time.monotonic(), exc)
                raise
            self._refused = None
            self.token = token
            return token

    async def _ssh(self, user: str, password: str) -> str | None:
        """The newer servers' login; None where the server has none (an older one: use the stages)."""
        reply = await self._post("/v3/api/auth/ssh", {"username": user, "password": password}, None, 64 << 10)
        if reply.status == 404:
            self.style = "stages"
            return None
        if is_auth_error(reply):
            raise self.refused(reply)
        self.style = "ssh"
        return _token(result_of(reply, self.http.label, "the login (/v3/api/auth/ssh)"), self.http.label)

    async def _stages(self, user: str, password: str) -> str:
        """The login stages: a stage and its token, the password given where a stage asks for it."""
        reply = await self._post("/v3/api/user/login", {"username": user, "serverId": self.server_id}, None, 64 << 10)
        answered = False  # the password is given once: a server asking again has refused it
        for _ in range(MAX_STAGES):
            if is_auth_error(reply):
                raise self.refused(reply)
            result = result_of(reply, self.http.label, "a login stage")
            stage = result.get("stage") if isinstance(result, dict) else None
            token = _token(result, self.http.label)
            if stage == "success":
                return token
            if stage in ("password", "keyboard-interactive") and answered:
                raise DeviceAuthFailed(f"{self.http.label} asked for the password again: it refused it.",
                                       hint=self.credentials_hint)
            answered = True
            if stage == "password":
                reply = await self._post("/v3/api/user/login/password", {"password": password}, token, 64 << 10)
            elif stage == "keyboard-interactive":
                # the password is the answer a password prompt asks for; another prompt (a one-time
                # code) cannot be answered from the credentials kept
                prompt = str(result.get("prompt") or "")
                if prompt and "password" not in prompt.lower():
                    raise DeviceAuthFailed(f"{self.http.label} asks for more than a password at login "
                                           f"(its prompt: {prompt[:80]!r}).",
                                           hint="Use an account that logs in with a password alone.")
                reply = await self._post("/v3/api/user/login/keyboard-interactive", {"answer": password}, token,
                                         64 << 10)
            else:
                raise DeviceAuthFailed(f"{self.http.label} asks for a login stage tvctl cannot answer ({stage!r}); "
                                       "tvctl logs in with a password.",
                                       hint="Allow password logins for this account on the FastX server.")
        raise DeviceBadResponse(f"{self.http.label}'s login did not finish after {MAX_STAGES} stages.")


def _token(result: Any, who: str) -> str:
    token = result.get("token") if isinstance(result, dict) else None
    if not isinstance(token, str) or not token:
        raise DeviceBadResponse(f"{who}'s login answer has no token.")
    return token


def member(field: str) -> str:
    return MEMBERS.get(field, field)


def list_body(request: SessionListRequest) -> dict[str, Any]:
    """``POST /v3/api/session/list``'s parameters for tvctl's list grammar."""
    body: dict[str, Any] = {"start": request.start, "sortReverse": request.sort_reverse}
    if request.limit is not None:
        body["limit"] = request.limit
    if request.sort_by:
        body["sortBy"] = member(request.sort_by)
    if request.filter:
        body["filter"] = [f"{member(name)}=={','.join(values)}" for name, values in request.filter]
    return body


def session_of(raw: Any, who: str) -> ScreenSession:
    """A session object (of session/list, or a connect object) as tvctl shows it: never its one-time
    password or its port."""
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        raise DeviceBadResponse(f"{who} answered a session without an id.")
    params = raw.get("params")
    name = (params.get("name") if isinstance(params, dict) else None) or raw.get("command") or raw["id"]
    clients = raw.get("clients")
    return ScreenSession(id=raw["id"], name=str(name), user=str(raw.get("login") or ""),
                         geometry=text_or_none(raw.get("geometry")),
                         clients=clients if isinstance(clients, int) else None,
                         started=text_or_none(raw.get("started")), display=text_or_none(raw.get("display")))


def image_of(result: Any, who: str) -> tuple[bytes, str]:
    """The image a screenshot's data URL carries, and its type."""
    src = result.get("src") if isinstance(result, dict) else None
    if not isinstance(src, str) or not src.startswith("data:image/") or ";base64," not in src:
        raise DeviceBadResponse(f"{who}'s screenshot is not an image data URL.")
    head, _, data = src.partition(";base64,")
    if head not in ("data:image/png", "data:image/jpeg"):  # served from the daemon's origin: no SVG, no script
        raise DeviceBadResponse(f"{who}'s screenshot is {head.removeprefix('data:')[:40]}, not PNG or JPEG.")
    try:
        return base64.b64decode(data, validate=True), head.removeprefix("data:")
    except (binascii.Error, ValueError):
        raise DeviceBadResponse(f"{who}'s screenshot data URL is not valid base64.") from None
