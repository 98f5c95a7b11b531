"""HTTP(S) to one device, for the platforms that speak plain REST (the KVMs and signage agents).

Foreign errors are mapped here, once: refused or unreachable → DeviceUnreachable; no answer in
time → DeviceTimeout; a reply cut short or over its size limit → DeviceBadResponse; a server
certificate other than the pinned one → DeviceTlsChanged, naming both fingerprints (with a CA
file instead of a pin: a certificate that CA did not sign → DeviceTlsChanged). With a pin,
aiohttp checks the certificate's SHA-256 right after the handshake, before the request is
written, so nothing is ever sent to a peer that is not the pinned one. Every body is read to its
end within a named limit.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import ssl
from collections.abc import Mapping
from typing import Any

import aiohttp

from tvctl.errors import DeviceBadResponse, DeviceTimeout, DeviceTlsChanged, DeviceUnreachable

MAX_JSON = 256 << 10
MAX_IMAGE = 16 << 20


class Reply:
    __slots__ = ("body", "content_type", "status")

    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type

    def text(self) -> str:
        return self.body.decode("utf-8", "replace").strip()


async def read_body(resp: aiohttp.ClientResponse, limit: int, what: str) -> bytes:
    """The whole body of ``resp`` (at most ``limit`` bytes), however it is framed and segmented.

    aiohttp raises ``ClientPayloadError`` when the connection ends before the declared length or
    the last chunk, so a cut reply never comes back as a shorter body.
    """
    declared = resp.content_length
    if declared is not None and declared > limit:
        raise DeviceBadResponse(f"{what} exceeded {limit} bytes (it declared {declared}).")
    buf = bytearray()
    async for chunk in resp.content.iter_any():
        buf += chunk
        if len(buf) > limit:
            raise DeviceBadResponse(f"{what} exceeded {limit} bytes.")
    return bytes(buf)


def connect_failure(exc: BaseException, host: str | None, port: int | None) -> str:
    """A failed connection in plain words, for people: "nothing is listening at 10.0.0.5:8060
    (connection refused)" rather than aiohttp's "Cannot connect to host … ssl:default [Connect call
    failed …]". ``exc`` is what aiohttp or asyncio raised."""
    where = f"{host}:{port}" if port else f"{host}"
    os_error = exc.os_error if isinstance(exc, aiohttp.ClientConnectorError) else exc
    code = os_error.errno if isinstance(os_error, OSError) else None
    if code == errno.ECONNREFUSED:
        return f"nothing is listening at {where} (connection refused)"
    if code in (errno.EHOSTUNREACH, errno.EHOSTDOWN):
        return f"no route to {host} (host unreachable)"
    if code == errno.ENETUNREACH:
        return f"no network route to {host} (network unreachable)"
    if code == errno.ETIMEDOUT:
        return f"{where} did not accept the connection (timed out)"
    if code in (errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE) or isinstance(
            exc, aiohttp.ServerDisconnectedError | ConnectionError):
        return f"{where} closed the connection without answering"
    if code:
        return f"cannot connect to {where}: {os.strerror(code).lower()}"
    return f"cannot connect to {where}: {exc or type(exc).__name__}"


def _no_verify() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def peer_fingerprint(host: str, port: int, timeout_s: float, label: str) -> str:
    """The SHA-256 (hex) of the certificate the server at host:port presents. Only a TLS handshake:
    nothing is sent over the connection."""
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(host, port, ssl=_no_verify())
    except TimeoutError as exc:
        raise DeviceTimeout(f"{label} did not complete a TLS handshake within {timeout_s:g} s.") from exc
    except ssl.SSLError as exc:
        raise DeviceUnreachable(f"{label} does not speak TLS: {exc.reason or exc}.",
                                hint="Check the port; the device serves HTTPS on 443.") from exc
    except OSError as exc:
        raise DeviceUnreachable(f"{label} is unreachable: {connect_failure(exc, host, port)}.") from exc
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if not der:
            raise DeviceBadResponse(f"{label} presented no TLS certificate.")
        return hashlib.sha256(der).hexdigest()
    finally:
        writer.close()
        del reader


class DeviceHttp:
    """One keep-alive session to one device (``base`` like ``https://10.0.0.5:443``)."""

    def __init__(self, base: str, timeout_s: float, label: str, *, fingerprint: str | None = None,
                 trust_hint: str = "", ca_file: str = "") -> None:
        self.base = base
        self.timeout_s = timeout_s
        self.label = label
        self.fingerprint = fingerprint
        self.trust_hint = trust_hint
        self._session: aiohttp.ClientSession | None = None
        self._pin: tuple[str, aiohttp.Fingerprint] | None = None
        self.ca_file = ca_file  # set: verify against this CA (by chain, not host name) instead of the pin
        self._ca: tuple[str, ssl.SSLContext] | None = None

    def _ssl(self) -> aiohttp.Fingerprint | ssl.SSLContext | bool:
        if not self.base.startswith("https:"):
            return True
        if self.ca_file:
            if self._ca is None or self._ca[0] != self.ca_file:
                try:
                    ctx = ssl.create_default_context(cafile=self.ca_file)
                except (OSError, ssl.SSLError) as exc:
                    raise DeviceTlsChanged(f"{self.label}: cannot read the CA file {self.ca_file}: {exc}.",
                                           hint="Point the device's ca_file option at a PEM certificate.") from exc
                ctx.check_hostname = False  # a device reached by address; the CA is the device's own
                self._ca = (self.ca_file, ctx)
            return self._ca[1]
        if self.fingerprint is None:
            raise DeviceTlsChanged(f"{self.label} has no pinned certificate; nothing is sent to it.",
                                   hint="Add the device again so its certificate is pinned.")
        # One object per pin: aiohttp pools connections by it, so a new one per request would
        # make a new TLS handshake for every request.
        if self._pin is None or self._pin[0] != self.fingerprint:
            self._pin = (self.fingerprint, aiohttp.Fingerprint(bytes.fromhex(self.fingerprint)))
        return self._pin[1]

    async def request(self, method: str, path: str, *, json: Any = None, data: bytes | None = None,
                      headers: Mapping[str, str] | None = None, limit: int = MAX_JSON,
                      timeout_s: float | None = None, skip_auto_headers: tuple[str, ...] = ()) -> Reply:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        timeout = timeout_s if timeout_s is not None else self.timeout_s
        try:
            async with asyncio.timeout(timeout):
                async with self._session.request(method, self.base + path, json=json, data=data,
                                                 headers=dict(headers or {}), ssl=self._ssl(), allow_redirects=False,
                                                 skip_auto_headers=skip_auto_headers) as resp:
                    body = await read_body(resp, limit, f"{self.label}'s reply to {method} {path}")
                    return Reply(resp.status, body, resp.headers.get("Content-Type", "").split(";")[0].strip())
        except aiohttp.ServerFingerprintMismatch as exc:
            got = exc.got.hex()
            raise DeviceTlsChanged(
                f"{self.label} presented a different TLS certificate: pinned {exc.expected.hex()}, now {got}. "
                "Nothing was sent.", hint=self.trust_hint.replace("{fingerprint}", got) or None) from exc
        except aiohttp.ClientConnectorCertificateError as exc:
            raise DeviceTlsChanged(f"{self.label}'s certificate is not signed by the CA in {self.ca_file}: "
                                   f"{exc.certificate_error}. Nothing was sent.",
                                   hint="Check the device's ca_file option, or drop it to pin the certificate.") \
                from exc
        except TimeoutError as exc:
            raise DeviceTimeout(f"{self.label} did not answer {method} {path} within {timeout:g} s.") from exc
        except aiohttp.ClientPayloadError as exc:
            raise DeviceBadResponse(f"{self.label}'s reply to {method} {path} was cut short: {exc}.") from exc
        except aiohttp.ClientConnectorError as exc:
            raise DeviceUnreachable(f"{self.label} is unreachable: {connect_failure(exc, exc.host, exc.port)}.") \
                from exc
        except aiohttp.ClientError as exc:
            raise DeviceUnreachable(f"{self.label}: {exc}.") from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
