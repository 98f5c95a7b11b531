"""One mapping of foreign errors for every transport (``httpio.device_error``).

Each transport is pointed at real sockets on 127.0.0.1, in this process: a port nothing listens
on, a listener that accepts and resets, one that never answers, one that cuts its reply short
(inside the headers, or inside the body), and one that answers with something that is not HTTP.
Whatever the transport (the Roku ECP transport, the ecp-2 session, the developer installer, the
``DeviceHttp`` client the KVMs and signage agents use), the same failure gives the same code and
the same sentence, told with the transport's own label and exchange. The expected codes and
wording are written out here.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import pytest
from tvctl_adapters import httpio
from tvctl_adapters.httpio import DeviceHttp, device_error
from tvctl_adapters.roku import devinstall
from tvctl_adapters.roku.devinstall import Installer
from tvctl_adapters.roku.session import EcpSession
from tvctl_adapters.roku.transport import MAX_COMMAND_REPLY, EcpTransport

from tvctl.errors import TvctlError

TIMEOUT_S = 0.5
HOST = "127.0.0.1"


# -- the listeners -------------------------------------------------------------------------------
async def _read_request(reader: asyncio.StreamReader) -> None:
    with contextlib.suppress(asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        await reader.readuntil(b"\r\n\r\n")


def _replying(payload: bytes) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(payload)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()
    return handle


async def _resetting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    # Linger on with a zero timeout: close() sends RST instead of FIN.
    writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    with contextlib.suppress(ConnectionError):
        await reader.read()  # hold the connection until the client gives up
    writer.close()


HANDLERS = {
    "reset": _resetting,
    "silent": _silent,
    "cut-in-headers": _replying(b"HTTP/1.1 200 OK\r\nContent-Type: text/x"),
    "cut-in-body": _replying(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n<device-info>"),
    "not-http": _replying(b"SSH-2.0-OpenSSH_9.2\r\n\r\n"),
}


@contextlib.asynccontextmanager
async def listener(kind: str) -> AsyncIterator[int]:
    """The port of a listener on 127.0.0.1 that behaves as ``kind`` says."""
    if kind == "refuse":
        # Bound and never listening: connecting is refused, and the port stays ours meanwhile.
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            yield int(sock.getsockname()[1])
        return
    handler, writers = HANDLERS[kind], set()

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.add(writer)
        await handler(reader, writer)

    server = await asyncio.start_server(tracked, HOST, 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        for writer in writers:  # the silent listener's connections (Server.close leaves them open)
            writer.close()
        await server.wait_closed()


# -- the transports --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Transport:
    name: str
    label: str  # how the transport names the device in its messages
    what: str  # the exchange it names
    run: Callable[[int], Awaitable[object]]  # one exchange with 127.0.0.1:port


def _ecp(method: str, path: str) -> Callable[[int], Awaitable[object]]:
    async def run(port: int) -> object:
        ecp = EcpTransport(HOST, port, TIMEOUT_S, label="tv")
        try:
            return await ecp.request(method, path, limit=MAX_COMMAND_REPLY)
        finally:
            await ecp.close()

    return run


async def _session(port: int) -> object:
    session = EcpSession(HOST, port, label="tv")
    try:
        return await session.request("query-device-info", timeout_s=TIMEOUT_S, open_timeout_s=TIMEOUT_S)
    finally:
        await session.close()


async def _kvm(port: int) -> object:
    http = DeviceHttp(f"http://{HOST}:{port}", TIMEOUT_S, "tv")
    try:
        return await http.request("GET", "/api/status")
    finally:
        await http.close()


async def _installer(port: int) -> object:
    return await Installer(HOST, port, "secret", "tv").packages()


TRANSPORTS = [
    Transport("ecp", "tv", "POST /keypress/Home", _ecp("POST", "/keypress/Home")),
    Transport("ecp-get-retried", "tv", "GET /query/device-info", _ecp("GET", "/query/device-info")),
    Transport("ecp-2 session", "tv", "the ecp-2 handshake", _session),
    Transport("kvm DeviceHttp", "tv", "GET /api/status", _kvm),
    Transport("roku installer", "tv's developer installer", "GET /plugin_install", _installer),
]
HTTP_ONLY = [t for t in TRANSPORTS if t.name != "ecp-2 session"]  # a 200 to a WebSocket upgrade is a refusal


@pytest.fixture(autouse=True)
def _short_installer_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devinstall, "SMALL_TIMEOUT_S", TIMEOUT_S)


async def failure(transport: Transport, kind: str) -> tuple[TvctlError, int]:
    async with listener(kind) as port:
        with pytest.raises(TvctlError) as caught:
            async with asyncio.timeout(10):
                await transport.run(port)
    return caught.value, port


def ids(transport: Transport) -> str:
    return transport.name


# -- the same failure, the same answer -------------------------------------------------------------
@pytest.mark.parametrize("transport", [t for t in TRANSPORTS if t.name != "roku installer"], ids=ids)
async def test_nothing_listening_is_unreachable(transport: Transport) -> None:
    err, port = await failure(transport, "refuse")
    assert err.code == "device_unreachable" and err.status == 500
    assert err.message == f"{transport.label} is unreachable: nothing is listening at 127.0.0.1:{port} " \
                          "(connection refused)."


async def test_nothing_listening_on_the_installer_port_keeps_its_own_answer() -> None:
    # The installer's special case: its port opens with developer mode.
    err, port = await failure(TRANSPORTS[-1], "refuse")
    assert err.code == "dev_mode_disabled"
    assert err.message == f"Nothing answers on 127.0.0.1:{port}: developer mode looks disabled on tv."


@pytest.mark.parametrize("transport", TRANSPORTS, ids=ids)
async def test_a_reset_connection_is_unreachable(transport: Transport) -> None:
    err, port = await failure(transport, "reset")
    assert err.code == "device_unreachable" and err.status == 500
    assert err.message == f"{transport.label} is unreachable: 127.0.0.1:{port} closed the connection " \
                          "without answering."


@pytest.mark.parametrize("transport", [t for t in TRANSPORTS if t.name != "ecp-get-retried"], ids=ids)
async def test_no_answer_is_a_timeout(transport: Transport) -> None:
    err, _ = await failure(transport, "silent")
    assert err.code == "device_timeout" and err.status == 500
    assert err.message == f"{transport.label} did not answer {transport.what} within 0.5 s."


async def test_no_answer_to_the_ecp2_handshake_keeps_the_session_hint() -> None:
    err, _ = await failure(TRANSPORTS[2], "silent")
    assert err.code == "device_timeout"
    assert "Control by mobile apps" in err.hint


@pytest.mark.parametrize("transport", TRANSPORTS, ids=ids)
async def test_a_reply_cut_inside_its_headers_is_cut_short(transport: Transport) -> None:
    err, _ = await failure(transport, "cut-in-headers")
    assert err.code == "device_bad_response" and err.status == 500
    assert err.message == f"{transport.label}'s reply to {transport.what} was cut short: the connection " \
                          "ended inside its headers."


@pytest.mark.parametrize("transport", HTTP_ONLY, ids=ids)
async def test_a_reply_cut_inside_its_body_is_cut_short(transport: Transport) -> None:
    err, _ = await failure(transport, "cut-in-body")
    assert err.code == "device_bad_response" and err.status == 500
    assert err.message.startswith(f"{transport.label}'s reply to {transport.what} was cut short: ")


async def test_a_body_sent_to_the_ecp2_upgrade_is_a_refusal() -> None:
    err, _ = await failure(TRANSPORTS[2], "cut-in-body")
    assert err.code == "ecp_session_refused"


@pytest.mark.parametrize("transport", TRANSPORTS, ids=ids)
async def test_a_reply_that_is_not_http_is_a_bad_response(transport: Transport) -> None:
    # The "any other aiohttp error" answer: something answered, so it is not unreachable.
    err, _ = await failure(transport, "not-http")
    assert err.code == "device_bad_response" and err.status == 500
    assert re.fullmatch(rf"{re.escape(transport.label)}'s reply to {re.escape(transport.what)} could not be "
                        r"read: [^\n]+\.", err.message), err.message


# -- the mapping itself ------------------------------------------------------------------------------
def test_a_changed_pinned_certificate_keeps_its_own_error() -> None:
    exc = aiohttp.ServerFingerprintMismatch(expected=b"\x01" * 32, got=b"\x02" * 32, host=HOST, port=443)
    err = device_error(exc, label="kvm", what="GET /api/status", timeout_s=1, host=HOST, port=443,
                       trust_hint="Accept {fingerprint}.")
    assert err.code == "device_tls_changed"
    assert err.message == f"kvm presented a different TLS certificate: pinned {'01' * 32}, now {'02' * 32}. " \
                          "Nothing was sent."
    assert err.hint == f"Accept {'02' * 32}."


@pytest.mark.parametrize(("exc", "code"), [
    (TimeoutError(), "device_timeout"),
    (aiohttp.ServerTimeoutError("read"), "device_timeout"),
    (ConnectionRefusedError(111, "refused"), "device_unreachable"),
    (ConnectionResetError(104, "reset"), "device_unreachable"),
    (aiohttp.ServerDisconnectedError(), "device_unreachable"),
    (aiohttp.ClientOSError(113, "no route"), "device_unreachable"),
    (aiohttp.ClientConnectionError("lost"), "device_unreachable"),
    (aiohttp.ClientPayloadError("short"), "device_bad_response"),
    (aiohttp.TooManyRedirects(None, ()), "device_bad_response"),  # type: ignore[arg-type]
])  # fmt: skip
def test_each_foreign_error_has_one_code(exc: BaseException, code: str) -> None:
    assert isinstance(exc, httpio.FOREIGN)
    assert device_error(exc, label="d", what="GET /", timeout_s=1, host=HOST, port=80).code == code
