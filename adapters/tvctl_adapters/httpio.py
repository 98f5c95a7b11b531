"""HTTP(S) to one device, for the platforms that speak plain REST (the KVMs and signage agents),
and the one mapping of foreign errors that every tvctl transport uses (``device_error``).

``device_error`` turns what aiohttp, asyncio or the socket layer raised into the tvctl tree, the
same way for the Roku ECP transport, the ecp-2 session, the developer installer and console, and
``DeviceHttp`` here: no answer in time → DeviceTimeout ("… did not answer … within N s");
refused, reset, unreachable, or closed before a reply began → DeviceUnreachable, worded by
``connect_failure``; a reply that began and was cut short → DeviceBadResponse ("… was cut
short"); a server certificate other than the pinned one → DeviceTlsChanged, naming both
fingerprints (with a CA file instead of a pin: a certificate that CA did not sign →
DeviceTlsChanged); any other aiohttp error → DeviceBadResponse (see ``device_error``). Each
transport keeps its own handling of replies (statuses, refusals) and catches ``FOREIGN`` after it.

With a pin, aiohttp checks the certificate's SHA-256 right after the handshake, before the
request is written, so nothing is ever sent to a peer that is not the pinned one. Every body is
read to its end within a named limit.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import ssl
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from yarl import URL

from tvctl.errors import (
    DeviceBadResponse,
    DeviceError,
    DeviceTimeout,
    DeviceTlsChanged,
    DeviceUnreachable,
    TvctlError,
)
from tvctl.models import Device

MAX_JSON = 256 << 10
MAX_IMAGE = 16 << 20
# What makes a transport's client sessions: AdapterContext.open_session when the context has one
# (a test can hand the adapter sessions of its own), else aiohttp.ClientSession.
OpenSession = Callable[..., aiohttp.ClientSession]


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
    if isinstance(os_error, ssl.SSLError):  # its errno is an OpenSSL code, not an errno
        return f"{where} did not complete a TLS handshake ({os_error.reason or os_error})"
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


# What a transport catches and hands to ``device_error``: everything aiohttp raises, socket errors,
# and the TimeoutError of ``asyncio.timeout`` (a subclass of OSError, listed for the reader).
FOREIGN: tuple[type[BaseException], ...] = (aiohttp.ClientError, OSError, TimeoutError)


def device_error(exc: BaseException, *, label: str, what: str, timeout_s: float, host: str | None = None,
                 port: int | None = None, trust_hint: str = "", ca_file: str = "") -> TvctlError:
    """THE mapping of a foreign error to the tvctl tree, for every transport; raise the result
    ``from exc``. ``label`` names the device (or its part) for people, ``what`` the exchange ("GET
    /query/apps", "the ecp-2 handshake"), ``timeout_s`` the bound that ran out, ``host``/``port``
    where the connection went. ``trust_hint`` and ``ca_file`` word a changed TLS certificate."""
    if isinstance(exc, TvctlError):  # already mapped (read_body's size limit, a nested call)
        return exc
    # TLS first: both are connection errors to aiohttp, but they are answers about trust.
    if isinstance(exc, aiohttp.ServerFingerprintMismatch):
        got = exc.got.hex()
        return DeviceTlsChanged(
            f"{label} presented a different TLS certificate: pinned {exc.expected.hex()}, now {got}. "
            "Nothing was sent.", hint=trust_hint.replace("{fingerprint}", got) or None)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        signer = f"the CA in {ca_file}" if ca_file else "a trusted CA"
        return DeviceTlsChanged(f"{label}'s certificate is not signed by {signer}: {exc.certificate_error}. "
                                "Nothing was sent.",
                                hint="Check the device's ca_file option, or drop it to pin the certificate.")
    # Before OSError and ClientConnectionError: aiohttp's own timeouts subclass both.
    if isinstance(exc, TimeoutError):
        return DeviceTimeout(f"{label} did not answer {what} within {timeout_s:g} s.")
    if isinstance(exc, aiohttp.ClientPayloadError):
        return DeviceBadResponse(f"{label}'s reply to {what} was cut short: {exc}.")
    if isinstance(exc, aiohttp.ServerDisconnectedError) and not isinstance(exc.message, str | None):
        # aiohttp hands over the status line it had parsed: the reply began, then the connection
        # ended inside its headers. That is a reply cut short, not a device that never answered.
        return DeviceBadResponse(f"{label}'s reply to {what} was cut short: the connection ended inside its "
                                 "headers.")
    if isinstance(exc, aiohttp.ClientConnectionError | OSError):
        if isinstance(exc, aiohttp.ClientConnectorError):
            host, port = host or exc.host, port or exc.port
        return DeviceUnreachable(f"{label} is unreachable: {connect_failure(exc, host, port)}.")
    if isinstance(exc, aiohttp.ClientError):
        # What is left is about a reply, not a connection: a status line or headers that are not
        # HTTP (ClientResponseError), an unreadable content type, a redirect loop. Something at that
        # address answered, so "unreachable" would send people to check cables and addresses that
        # are fine, and a transport's retry of unreachable GETs would only fetch the same reply:
        # the device answered badly, so DeviceBadResponse.
        said = str(exc.message if isinstance(exc, aiohttp.ClientResponseError) else exc)
        said = said.strip().splitlines()[0].rstrip(":") if said.strip() else type(exc).__name__
        return DeviceBadResponse(f"{label}'s reply to {what} could not be read: {said}.")
    return DeviceError(f"{label}: {what} failed: {exc or type(exc).__name__}.")


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
    except ssl.SSLError as exc:  # a peer that answered, but not with TLS: say which port to use
        raise DeviceUnreachable(f"{label} does not speak TLS: {exc.reason or exc}.",
                                hint="Check the port; the device serves HTTPS on 443.") from exc
    except FOREIGN as exc:
        raise device_error(exc, label=label, what="a TLS handshake", timeout_s=timeout_s,
                           host=host, port=port) from exc
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if not der:
            raise DeviceBadResponse(f"{label} presented no TLS certificate.")
        return hashlib.sha256(der).hexdigest()
    finally:
        writer.close()
        del reader


def trust_hint(device: Device | None, host: str) -> str:
    """How to accept a certificate that was replaced on purpose (``{fingerprint}``: the new one)."""
    name = device.name if device is not None else host
    ident = device.id if device is not None else "{id}"
    return (f"If the device's certificate was replaced on purpose, accept the new one: tvctl device trust {name} "
            f'{{fingerprint}}, or PATCH /v1/devices/{ident} {{"tls_fingerprint": "{{fingerprint}}"}}.')


async def pinned_peer(host: str, port: int, timeout_s: float, label: str, known: Device | None, *,
                      by_ca: bool = False) -> str:
    """The fingerprint of the certificate the device at host:port presents, checked (before anything
    is sent) against the one ``known`` pinned when it was added: device_tls_changed when it differs,
    unless the device is trusted ``by_ca`` instead of by its pin."""
    seen = await peer_fingerprint(host, port, timeout_s, label)
    pinned = known.tls_fingerprint if known is not None else None
    if pinned is not None and pinned != seen and not by_ca:
        raise DeviceTlsChanged(
            f"{known.name if known else host} presented a different TLS certificate: pinned {pinned}, now {seen}. "
            "Nothing was sent.", hint=trust_hint(known, host).replace("{fingerprint}", seen))
    return seen


def text_or_none(value: object) -> str | None:
    """A value a device's JSON gave, as text for a field of ours: None when absent, empty or not plain."""
    return str(value) if isinstance(value, str | int | float) and value != "" else None


class DeviceHttp:
    """One keep-alive session to one device (``base`` like ``https://10.0.0.5:443``)."""

    def __init__(self, base: str, timeout_s: float, label: str, *, fingerprint: str | None = None,
                 trust_hint: str = "", ca_file: str = "", open_session: OpenSession | None = None) -> None:
        self.base = base
        self.open_session = open_session or aiohttp.ClientSession  # the context's (AdapterContext.open_session)
        self.timeout_s = timeout_s
        self.label = label
        self.fingerprint = fingerprint
        self.trust_hint = trust_hint
        self._session: aiohttp.ClientSession | None = None
        self._pin: tuple[str, aiohttp.Fingerprint] | None = None
        self.ca_file = ca_file  # set: verify against this CA (by chain, not host name) instead of the pin
        self._ca: tuple[str, ssl.SSLContext] | None = None

    @classmethod
    def pinned(cls, open_session: OpenSession | None, host: str, port: int, timeout_s: float, what: str,
               device: Device | None, fingerprint: str | None, *, ca_file: str = "") -> DeviceHttp:
        """HTTPS to a device whose certificate is pinned (``fingerprint``): labelled with the device's
        name (``what``, "The PiKVM", before it has one) and address, its TLS errors with the hint to
        trust a new certificate."""
        label = f"{device.name if device else what} ({host})"
        return cls(f"https://{host}:{port}", timeout_s, label, fingerprint=fingerprint,
                   trust_hint=trust_hint(device, host), ca_file=ca_file, open_session=open_session)

    def follow(self, device: Device) -> None:
        """Point at where ``device`` is now (it may have moved), under its pin and its current name."""
        self.base = f"{self.base.split(':', 1)[0]}://{device.host}:{device.port}"
        self.fingerprint = device.tls_fingerprint
        self.label = f"{device.name} ({device.host})"
        self.trust_hint = trust_hint(device, device.host)

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
            self._session = self.open_session(timeout=aiohttp.ClientTimeout(total=None))
        timeout = timeout_s if timeout_s is not None else self.timeout_s
        try:
            async with asyncio.timeout(timeout):
                async with self._session.request(method, self.base + path, json=json, data=data,
                                                 headers=dict(headers or {}), ssl=self._ssl(), allow_redirects=False,
                                                 skip_auto_headers=skip_auto_headers) as resp:
                    body = await read_body(resp, limit, f"{self.label}'s reply to {method} {path}")
                    return Reply(resp.status, body, resp.headers.get("Content-Type", "").split(";")[0].strip())
        except FOREIGN as exc:
            where = URL(self.base)
            raise device_error(exc, label=self.label, what=f"{method} {path}", timeout_s=timeout,
                               host=where.host, port=where.port, trust_hint=self.trust_hint,
                               ca_file=self.ca_file) from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
