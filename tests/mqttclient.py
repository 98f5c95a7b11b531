"""An MQTT client for tests (paho-mqtt, callback API version 2): a ``Watcher`` records every message
on its topics in its own network thread, and ``retained_snapshot`` reads what a broker holds
retained under a prefix.

Waits wake on each event (a message, a CONNACK, a SUBACK, a disconnect) through one
threading.Condition, with a deadline; nothing polls.

The Watcher speaks MQTT 5 and subscribes with *retain as published*: ``Msg.retain`` is the flag the
publisher set (a discovery config published retained shows ``retain=True`` also to a Watcher that
was subscribed before), not only "delivered from the broker's store" as in MQTT 3.1.1.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

DEFAULT_TIMEOUT = 10.0
SENTINEL_PREFIX = "tvctl-harness/sentinel"  # retained_snapshot's private topics


@dataclass(frozen=True)
class Msg:
    """One message as the Watcher received it."""

    topic: str
    payload: bytes
    retain: bool
    qos: int

    @property
    def text(self) -> str:
        return self.payload.decode()

    def json(self) -> Any:
        return json.loads(self.payload)


class Watcher:
    """A client on 127.0.0.1:``port`` subscribed to ``topics`` (QoS 1), recording every message.

    ``tls_ca``: connect with TLS, trusting that CA certificate (and checking the host name).
    paho reconnects by itself after a lost connection (1 s later, then 2 s at most) and the Watcher
    subscribes again on every connection; ``connects`` and ``disconnects`` count them
    (``disconnects`` leaves out the one ``stop()`` makes).
    """

    def __init__(self, port: int, *, username: str | None = None, password: str | None = None,
                 topics: Iterable[str] = ("#",), client_id: str | None = None, tls_ca: Path | None = None,
                 keepalive: int = 30) -> None:
        self.port = port
        self.username = username
        self.topics = tuple(topics)
        self.client_id = client_id or f"watcher-{uuid.uuid4().hex[:10]}"
        self.keepalive = keepalive
        self._cond = threading.Condition()
        self._messages: list[Msg] = []
        self._cleared = 0  # how many times clear() ran: a waiting scan starts over then
        self._connected = False
        self._subscribed = False
        self._refused: str | None = None
        self._closed_early: str | None = None  # the connection ended before any CONNACK
        self._stopping = False
        self._started = False
        self.connects = 0
        self.disconnects = 0
        self.last_disconnect_reason: str | None = None

        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5)
        if username is not None:
            c.username_pw_set(username, password)
        if tls_ca is not None:
            c.tls_set(ca_certs=str(tls_ca), cert_reqs=ssl.CERT_REQUIRED)
        c.reconnect_delay_set(min_delay=1, max_delay=2)
        c.on_connect = self._on_connect
        c.on_subscribe = self._on_subscribe
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        # paho leaves Nagle on: a small write (a PUBACK) after another then waits for the peer's
        # delayed ACK, about 40 ms; a hub's client that answers at once is what is measured against
        c.on_socket_open = lambda _c, _u, sock: _no_delay(sock)
        self.client = c

    # -- paho's callbacks (its network thread) --------------------------------------------------
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: mqtt.ConnectFlags, reason: ReasonCode,
                    properties: Properties | None) -> None:
        if reason.is_failure:
            with self._cond:
                self._refused = f"{reason.getName()} (CONNACK reason code {reason.value:#04x})"
                give_up = not self.connects
                self._cond.notify_all()
            if give_up:
                _no_retry(client)
            return
        with self._cond:
            self._connected, self._subscribed = True, False
            self.connects += 1
        # SUBACK is handled on this same thread, so it cannot come before this call returns.
        client.subscribe([(t, SubscribeOptions(qos=1, retainAsPublished=True)) for t in self.topics])

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: list[ReasonCode],
                      properties: Properties | None) -> None:
        with self._cond:
            failed = [f"{t}: {r.getName()}" for t, r in zip(self.topics, reasons, strict=False) if r.is_failure]
            if failed:
                self._refused = "subscription refused: " + ", ".join(failed)
            else:
                self._subscribed = True
            self._cond.notify_all()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: mqtt.DisconnectFlags, reason: ReasonCode,
                       properties: Properties | None) -> None:
        with self._cond:
            was_connected = self._connected
            self._connected = self._subscribed = False
            closed_early = not self.connects and self._refused is None and not self._stopping
            if closed_early:
                self._closed_early = reason.getName()
            self.last_disconnect_reason = reason.getName()
            if was_connected and not self._stopping:
                self.disconnects += 1
            self._cond.notify_all()
        if closed_early:
            _no_retry(client)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        msg = Msg(message.topic, bytes(message.payload), bool(message.retain), int(message.qos))
        with self._cond:
            self._messages.append(msg)
            self._cond.notify_all()

    # -- life cycle -----------------------------------------------------------------------------
    def start(self, timeout: float = DEFAULT_TIMEOUT) -> Watcher:
        """Connect and subscribe; return once CONNACK and SUBACK arrived. ConnectionRefusedError
        when the broker refuses the client (its CONNACK reason: "Bad user name or password", "Not
        authorized", …) or nothing listens; ConnectionError when the connection closes before any
        CONNACK (say, plain MQTT to a TLS port); TimeoutError when no answer comes in time."""
        if self._started:
            raise RuntimeError(f"{self.client_id} was started already")
        self._started = True
        try:
            self.client.connect("127.0.0.1", self.port, keepalive=self.keepalive)
        except OSError:  # nothing listens (ConnectionRefusedError), or TLS failed
            self.stop()
            raise
        self.client.loop_start()
        try:
            self.wait_until(lambda: self._subscribed or self._refused is not None or self._closed_early is not None,
                            timeout, "CONNACK and SUBACK", error=TimeoutError)
        except TimeoutError:
            self.stop()
            raise
        if self._refused is not None:
            self.stop()
            who = f"user {self.username!r}" if self.username is not None else "an anonymous client"
            raise ConnectionRefusedError(f"the broker on port {self.port} refused {who}: {self._refused}")
        if not self._subscribed:
            self.stop()
            raise ConnectionError(f"the server on port {self.port} closed the connection before its CONNACK "
                                  f"({self._closed_early}): not MQTT there, or TLS expected?")
        return self

    def stop(self) -> None:
        """Disconnect (cleanly, if connected) and end the network thread. Safe to call twice."""
        with self._cond:
            if self._stopping:
                return
            self._stopping = True
        if self._started:
            self.client.disconnect()
            self.client.loop_stop()
        # loop_stop() leaves paho's wake-up socket pair open until the client is collected
        # (eclipse-paho/paho.mqtt.python#627), which the tests' ResourceWarning-as-error catches.
        self.client._reset_sockets()

    def __enter__(self) -> Watcher:
        return self if self._started else self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def connected(self) -> bool:
        """Connected and subscribed (on the current connection)."""
        with self._cond:
            return self._connected and self._subscribed

    # -- what was received ----------------------------------------------------------------------
    @property
    def messages(self) -> list[Msg]:
        """A copy of every message received since the start (or the last ``clear()``), in order."""
        with self._cond:
            return list(self._messages)

    def latest(self, topic: str) -> Msg | None:
        """The last message received on ``topic`` (exactly that topic, not a filter), or None."""
        with self._cond:
            return next((m for m in reversed(self._messages) if m.topic == topic), None)

    def retained(self, topic: str) -> Msg | None:
        """What the broker holds retained on ``topic``, as far as this Watcher saw: the last message
        there with the retain flag, or None if there was none or it was a clear (an empty retained
        payload). For the broker's own view, use ``retained_snapshot``."""
        with self._cond:
            m = next((m for m in reversed(self._messages) if m.topic == topic and m.retain), None)
        return m if m is not None and m.payload else None

    def topics_seen(self, last: int = 20) -> list[str]:
        with self._cond:
            return [m.topic for m in self._messages[-last:]]

    def clear(self) -> None:
        with self._cond:
            self._messages = []
            self._cleared += 1
            self._cond.notify_all()

    # -- waiting --------------------------------------------------------------------------------
    def wait_until(self, pred: Callable[[], object], timeout: float = DEFAULT_TIMEOUT,
                   what: str = "condition", *, error: type[Exception] = AssertionError) -> None:
        """Wait until ``pred()`` (called under the Watcher's lock, on each event) is truthy: e.g.
        ``w.wait_until(lambda: w.disconnects >= 1, what="the disconnect")``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not pred():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise error(f"timed out after {timeout:g}s waiting for {what} ({self._state()})")
                self._cond.wait(remaining)

    def wait_connected(self, connects: int = 1, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until connected and subscribed, for at least the ``connects``-th time."""
        self.wait_until(lambda: self._connected and self._subscribed and self.connects >= connects, timeout,
                        f"connection #{connects}")

    def wait_for(self, pred: Callable[[Msg], object], timeout: float = DEFAULT_TIMEOUT,
                 what: str = "a matching message") -> Msg:
        """The first message (received so far or to come) for which ``pred`` is truthy."""
        deadline = time.monotonic() + timeout
        seen, cleared = 0, -1
        with self._cond:
            while True:
                if cleared != self._cleared:
                    seen, cleared = 0, self._cleared
                while seen < len(self._messages):
                    m = self._messages[seen]
                    seen += 1
                    if pred(m):
                        return m
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"timed out after {timeout:g}s waiting for {what} ({self._state()}); "
                                         f"the last topics seen: {self.topics_seen()}")
                self._cond.wait(remaining)

    def wait_topic(self, topic: str, timeout: float = DEFAULT_TIMEOUT) -> Msg:
        """The latest message on ``topic``, waiting for the first one if none came yet."""
        self.wait_for(lambda m: m.topic == topic, timeout, f"a message on {topic!r}")
        latest = self.latest(topic)
        assert latest is not None
        return latest

    def _state(self) -> str:  # under the lock
        conn = "connected" if self._connected else "not connected"
        extra = f", refused: {self._refused}" if self._refused else ""
        return (f"{self.client_id} {conn}, {self.connects} connects, {self.disconnects} disconnects, "
                f"{len(self._messages)} messages{extra}")

    # -- publishing -----------------------------------------------------------------------------
    def publish(self, topic: str, payload: str | bytes, retain: bool = False, qos: int = 1,
                timeout: float = DEFAULT_TIMEOUT) -> None:
        """Publish and wait until it is done (QoS 1: PUBACK came; QoS 0: written to the socket)."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(timeout)  # RuntimeError if not connected or the publish failed
        if not info.is_published():
            raise AssertionError(f"publishing to {topic!r} did not complete in {timeout:g}s")


def _no_delay(sock: Any) -> None:
    with contextlib.suppress(OSError, AttributeError):  # a TLS socket wraps a TCP one: both take it
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _no_retry(client: mqtt.Client) -> None:
    """The first connection failed and start() raises: paho must not retry. Its retry would first
    sleep a second, which loop_stop() then waits out; disconnect() in a callback does not prevent
    it after a lost connection (paho sets the state back to "connection lost" after on_disconnect),
    and the flag it checks has no public setter after the constructor."""
    client._reconnect_on_failure = False


def retained_snapshot(port: int, username: str | None, password: str | None, prefix: str, *,
                      timeout: float = DEFAULT_TIMEOUT, tls_ca: Path | None = None) -> dict[str, bytes]:
    """What the broker holds retained under ``prefix`` (``prefix/#``, which includes ``prefix``
    itself): topic -> payload.

    A fresh client subscribes to ``prefix/#`` and to a private sentinel topic, then publishes one
    non-retained message to the sentinel. The broker queues the retained messages when it handles
    the SUBSCRIBE, before it handles that PUBLISH, and delivers one connection's messages in order
    (all at QoS 1): once the sentinel is back, every retained message came. A retained change
    published meanwhile by someone else counts too (an empty payload removes the topic). Limit:
    Mosquitto's default queue (max_queued_messages 1000) bounds how many it hands over at once.
    """
    sentinel = f"{SENTINEL_PREFIX}/{uuid.uuid4().hex}"
    w = Watcher(port, username=username, password=password, topics=(f"{prefix}/#", sentinel), tls_ca=tls_ca,
                client_id=f"snapshot-{uuid.uuid4().hex[:10]}")
    with w.start(timeout):
        w.publish(sentinel, b"end of the retained messages", qos=1, timeout=timeout)
        end = w.wait_for(lambda m: m.topic == sentinel, timeout, "the snapshot's sentinel")
        out: dict[str, bytes] = {}
        for m in w.messages:
            if m is end:
                break
            if m.retain and m.topic != sentinel:
                if m.payload:
                    out[m.topic] = m.payload
                else:
                    out.pop(m.topic, None)
        return out
