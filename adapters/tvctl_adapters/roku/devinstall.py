"""Roku developer installer (port 80): digest auth, streamed channel upload, reply parsing, screenshot.

The installer answers an unauthenticated request with 401 *without reading the body* and closes
the socket, so a large upload sent on that first leg dies with EPIPE. We therefore obtain the
challenge with a body-less GET first and send the upload once, already authenticated
(reference §9.2). The installer replies 200 even on failure; the outcome is in one of three
message forms in the HTML (legacy ``<font color="red">``, ``Shell.create('Roku.Message')``, or a
``JSON.parse('…')`` blob), all parsed here. One request at a time per device, Connection: close.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

import aiohttp
import msgspec
from tvctl_adapters.httpio import FOREIGN, OpenSession, device_error, read_body
from tvctl_adapters.roku.errors import DevAuthFailed, DevModeDisabled

from tvctl.errors import (
    DeviceBadResponse,
    DevInstallFailed,
)
from tvctl.multipart import FormFraming
from tvctl.results import InstalledPackage, InstallMessage, InstallResult

USER = "rokudev"
# Uploads of ~2 MB have needed up to 60 s on slow players; roku-deploy allows 150 s.
UPLOAD_TIMEOUT_S = 150.0
# Challenge/screenshot requests are small; the installer can be slow right after a reboot.
SMALL_TIMEOUT_S = 15.0
CHUNK = 1 << 20
# Installer pages are 5-40 KB of HTML; screenshots of a 4K UI are a few MB.
MAX_PAGE = 1 << 20
MAX_IMAGE = 16 << 20

_SHELL_RE = re.compile(
    r"Shell\.create\('Roku\.Message'\)\.trigger\('Set message type', '(\w+)'\)"
    r"\.trigger\('Set message content', '((?:[^'\\]|\\.)*)'\)"
)
_JSON_RE = re.compile(r"JSON\.parse\('((?:[^'\\]|\\.)*)'\)")
_FONT_RE = re.compile(r'<font color="red">([^<]*)</font>', re.I)
_IMAGE_RE = re.compile(r"pkgs/dev\.(jpg|png)(\?time=\d+)?")
# The legacy page's "Currently Installed Application" block: md5, then "zip file in … (N bytes)".
_LEGACY_INSTALLED_RE = re.compile(r"Currently Installed Application:.*?([0-9a-f]{32})\s*(?:<br\s*/?>)?\s*"
                                  r"(\w+) file in ([^(<]*?)\s*\((\d+) bytes\)", re.S)


Message = InstallMessage  # type (success | info | error) and text of one installer message


def _js_unescape(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s)


def parse_messages(page: str) -> list[Message]:
    """Every installer message in any of the three forms, deduplicated, in page order."""
    out: list[Message] = []
    for m in _JSON_RE.finditer(page):
        try:
            blob = json.loads(_js_unescape(m.group(1)))
        except ValueError:
            continue
        for msg in blob.get("messages") or []:
            if isinstance(msg, dict) and msg.get("text"):
                out.append(Message(str(msg.get("type", "info")), str(msg["text"])))
    for m in _SHELL_RE.finditer(page):
        out.append(Message(m.group(1), _js_unescape(m.group(2))))
    for m in _FONT_RE.finditer(page):
        text = m.group(1).strip()
        if text:
            kind = "error" if re.search(r"fail|error|invalid", text, re.I) else "success"
            out.append(Message(kind, text))
    if not out:  # bare text bodies (newer firmware sends some replies as plain lines)
        for line in page.splitlines():
            line = line.strip()
            if line.startswith(("Install Failure", "Failure", "Identical to previous version", "Install Success",
                                "Application Received")):
                kind = "error" if line.startswith(("Install Failure", "Failure")) else "success"
                out.append(Message(kind, line))
    seen: set[tuple[str, str]] = set()
    unique = []
    for msg in out:
        key = (msg.type, msg.text.rstrip(". "))
        if key not in seen:
            seen.add(key)
            unique.append(msg)
    return unique


def parse_packages(page: str) -> list[InstalledPackage]:
    """What the installer page lists as installed: the JSON blob's ``packages`` (newer firmware),
    else the legacy "Currently Installed Application" block (the sideloaded channel only)."""
    for m in _JSON_RE.finditer(page):
        try:
            blob = json.loads(_js_unescape(m.group(1)))
        except ValueError:
            continue
        if not isinstance(blob, dict) or not isinstance(blob.get("packages"), list):
            continue
        out = []
        for p in blob["packages"]:
            if not isinstance(p, dict):
                continue
            size = str(p.get("size", ""))
            out.append(InstalledPackage(
                id=str(p.get("id", "")), app_type=str(p.get("appType") or "channel"),
                file_name=_opt(p.get("archiveFileName")), file_type=_opt(p.get("fileType")),
                location=_opt(p.get("location")), md5=_opt(p.get("md5")), size=int(size) if size.isdigit() else None))
        return out
    legacy = _LEGACY_INSTALLED_RE.search(page)
    if legacy:
        return [InstalledPackage(id="dev", app_type="channel", file_name=None, file_type=legacy.group(2),
                                 location=legacy.group(3).strip() or None, md5=legacy.group(1),
                                 size=int(legacy.group(4)))]
    return []


def _opt(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def classify(messages: list[Message], had_dev_channel: bool) -> Literal["installed", "replaced", "identical"]:
    """installed | replaced | identical; raises DevInstallFailed on any error message."""
    errors = [m for m in messages if m.type == "error"]
    if errors:
        raise DevInstallFailed("The Roku refused the channel: " + "; ".join(m.text for m in errors),
                               details={"messages": [msgspec.to_builtins(m) for m in messages]})
    if any(m.text.startswith("Identical to previous version") for m in messages):
        return "identical"
    if not messages:
        raise DeviceBadResponse("The installer's reply carried no message; the outcome is unknown.")
    return "replaced" if had_dev_channel else "installed"


def _parse_challenge(header: str) -> dict[str, str]:
    if not header.lower().startswith("digest "):
        return {}
    return {k.lower(): v for k, v in re.findall(r'(\w+)="?([^",]*)"?', header[7:])}


class DigestAuth:
    """HTTP digest (MD5, qop=auth) for one challenge, with an incrementing nonce count."""

    def __init__(self, challenge: dict[str, str], password: str) -> None:
        self.c = challenge
        self.password = password
        self.nc = 0

    def header(self, method: str, uri: str) -> str:
        self.nc += 1
        realm, nonce = self.c.get("realm", USER), self.c.get("nonce", "")
        # MD5 is what the protocol prescribes (RFC 2617 digest as the Roku implements it).
        ha1 = hashlib.md5(f"{USER}:{realm}:{self.password}".encode()).hexdigest()
        ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
        parts = [f'username="{USER}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"']
        if "auth" in self.c.get("qop", "").split(","):
            cnonce, nc = os.urandom(8).hex(), f"{self.nc:08x}"
            resp = hashlib.md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}".encode()).hexdigest()
            parts += ["qop=auth", f"nc={nc}", f'cnonce="{cnonce}"']
        else:
            resp = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
        parts.append(f'response="{resp}"')
        if "opaque" in self.c:
            parts.append(f'opaque="{self.c["opaque"]}"')
        return "Digest " + ", ".join(parts)


class Multipart:
    """A multipart/form-data body streamed from disk, with its exact length known up front."""

    def __init__(self, fields: dict[str, str], file_field: str, path: Path | None, filename: str = "channel.zip"):
        self.framing = FormFraming(fields, file_field, filename if path is not None else None)
        self.head, self.tail = self.framing.head, self.framing.tail
        self.path = path
        self.length = self.framing.length(path.stat().st_size if path else 0)

    @property
    def content_type(self) -> str:
        return self.framing.content_type

    async def chunks(self) -> AsyncIterator[bytes]:
        yield self.head
        if self.path is not None:
            loop = asyncio.get_running_loop()
            with self.path.open("rb") as fh:
                # Read the next block in a thread while the current one is being sent.
                nxt = loop.run_in_executor(None, fh.read, CHUNK)
                try:
                    while chunk := await nxt:
                        nxt = loop.run_in_executor(None, fh.read, CHUNK)
                        yield chunk
                finally:
                    with contextlib.suppress(Exception):  # the send failed: finish the read before closing
                        await nxt
        yield self.tail


class Installer:
    def __init__(self, host: str, port: int, password: str, label: str, *,
                 open_session: OpenSession | None = None) -> None:
        self.base = f"http://{host}:{port}"
        self.open_session = open_session or aiohttp.ClientSession
        self.host, self.port = host, port
        self.password = password
        self.label = label
        self._lock = asyncio.Lock()  # the installer dislikes concurrent requests

    async def _request(self, session: aiohttp.ClientSession, method: str, path: str, *, timeout: float,
                       headers: dict[str, str] | None = None, data: Any = None, limit: int = MAX_PAGE,
                       ) -> tuple[int, dict[str, str], bytes]:
        hdrs = {"Connection": "close", **(headers or {})}
        try:
            async with asyncio.timeout(timeout):
                async with session.request(method, self.base + path, headers=hdrs, data=data) as resp:
                    body = await read_body(resp, limit, f"{self.label}'s installer reply to {method} {path}")
                    return resp.status, dict(resp.headers), body
        except aiohttp.ClientConnectorError as exc:
            # The installer's own reading of a failed connection: the port opens with developer mode.
            raise DevModeDisabled(
                f"Nothing answers on {self.host}:{self.port}: developer mode looks disabled on {self.label}."
            ) from exc
        except FOREIGN as exc:
            raise device_error(exc, label=f"{self.label}'s developer installer", what=f"{method} {path}",
                               timeout_s=timeout, host=self.host, port=self.port) from exc

    async def _challenge(self, session: aiohttp.ClientSession) -> DigestAuth:
        status, headers, _ = await self._request(session, "GET", "/plugin_install", timeout=SMALL_TIMEOUT_S)
        challenge = _parse_challenge(headers.get("WWW-Authenticate", ""))
        if status != 401 or not challenge:
            raise DeviceBadResponse(
                f"{self.label}'s installer answered GET /plugin_install with HTTP {status} and no digest challenge."
            )
        return DigestAuth(challenge, self.password)

    async def _authed(self, method: str, path: str, *, body: Multipart | None, timeout: float,
                      limit: int = MAX_PAGE) -> tuple[int, dict[str, str], bytes]:
        async with self._lock, self.open_session(auto_decompress=False) as session:
            auth = await self._challenge(session)
            for attempt in range(2):
                headers = {"Authorization": auth.header(method, path)}
                data = None
                if body is not None:
                    headers |= {"Content-Type": body.content_type, "Content-Length": str(body.length)}
                    data = body.chunks()
                status, resp_headers, raw = await self._request(session, method, path, timeout=timeout,
                                                                headers=headers, data=data, limit=limit)
                if status != 401:
                    return status, resp_headers, raw
                fresh = _parse_challenge(resp_headers.get("WWW-Authenticate", ""))
                if attempt == 0 and fresh.get("stale", "").lower() == "true":
                    auth = DigestAuth(fresh, self.password)  # nonce expired mid-way: once more
                    continue
                break
            raise DevAuthFailed(f"{self.label} refused the developer password (user {USER}).")

    async def packages(self) -> list[InstalledPackage]:
        status, _, raw = await self._authed("GET", "/plugin_install?dcl_enabled=1", body=None,
                                            timeout=SMALL_TIMEOUT_S)
        if status != 200:
            raise DeviceBadResponse(f"{self.label}'s installer answered its package list with HTTP {status}.")
        return parse_packages(raw.decode("utf-8", "replace"))

    async def delete(self) -> list[Message]:
        """Remove the sideloaded channel (mysubmit=Delete, an empty archive field); its messages."""
        body = Multipart({"mysubmit": "Delete"}, "archive", None)
        status, _, raw = await self._authed("POST", "/plugin_install", body=body, timeout=SMALL_TIMEOUT_S)
        messages = parse_messages(raw.decode("utf-8", "replace"))
        errors = [m for m in messages if m.type == "error"]
        if status != 200 or errors:
            raise DevInstallFailed(f"{self.label} did not delete the sideloaded channel"
                                   + (": " + "; ".join(m.text for m in errors or messages) if messages
                                      else f" (HTTP {status})."),
                                   details={"messages": [msgspec.to_builtins(m) for m in messages]})
        return messages

    async def install(self, archive: Path, had_dev_channel: bool, *, autolaunch: bool = True) -> InstallResult:
        fields = {"mysubmit": "Replace"} if autolaunch else {"mysubmit": "Replace", "dev_autolaunch": "0"}
        body = Multipart(fields, "archive", archive)
        status, _, raw = await self._authed("POST", "/plugin_install", body=body, timeout=UPLOAD_TIMEOUT_S)
        page = raw.decode("utf-8", "replace")
        if status != 200:
            messages = parse_messages(page)
            raise DevInstallFailed(f"{self.label}'s installer answered HTTP {status}"
                                   + (": " + "; ".join(m.text for m in messages) if messages else "."),
                                   details={"messages": [msgspec.to_builtins(m) for m in messages]})
        messages = parse_messages(page)
        result = classify(messages, had_dev_channel)
        return InstallResult(device=self.label, result=result, messages=messages,
                             bytes=body.length - len(body.head) - len(body.tail))

    async def screenshot(self) -> tuple[bytes, str]:
        body = Multipart({"mysubmit": "Screenshot", "passwd": ""}, "archive", None)
        status, _, raw = await self._authed("POST", "/plugin_inspect", body=body, timeout=SMALL_TIMEOUT_S)
        m = _IMAGE_RE.search(raw.decode("utf-8", "replace"))
        if status != 200 or m is None:
            messages = parse_messages(raw.decode("utf-8", "replace"))
            raise DevInstallFailed(f"{self.label} did not take a screenshot"
                                   + (": " + "; ".join(x.text for x in messages) if messages else "."),
                                   hint="Screenshots work only while the sideloaded channel is in front.")
        status, _headers, image = await self._authed("GET", "/" + m.group(0), body=None, timeout=SMALL_TIMEOUT_S,
                                                    limit=MAX_IMAGE)
        if status != 200 or not image:
            raise DeviceBadResponse(f"{self.label} took a screenshot but serving it failed (HTTP {status}).",
                                    hint="Screenshots work only while the sideloaded channel is in front.")
        return image, "image/png" if m.group(1) == "png" else "image/jpeg"
