"""The MQTT bridge: the daemon's devices on a broker, for Home Assistant and any other hub.

While ``mqtt.enabled``, the bridge keeps one connection to the broker (aiomqtt over paho-mqtt),
retrying with a doubling wait (1 s up to ``RETRY_MAX_S``) while the broker is away or refuses,
and says why in ``GET /v1/daemon/status`` and the log (once per new reason; the password never).
A config change to any ``mqtt.*`` key reconnects at once with the new settings.

Connected, it publishes ``online`` on the daemon's status topic (its last will says ``offline``),
then for every device its availability, its state (retained: the same JSON as ``GET
…/state``'s ``state``) and its Home Assistant discovery (``tvctl.mqtt.discovery``); all of it
again after every reconnect (a broker restarted without persistence has forgotten it) and when
Home Assistant says it started. It reads the daemon's events as a listener, so devices are
polled (``state.poll_interval_s``) and refreshed after commands as for any listener: a state
that changed is published, one that did not is not. Each event also goes out on
``BASE/NODE/event/TYPE``. A removed device's retained topics and discovery are cleared, and so is
a discovery config of this node's whose device the registry no longer has.

Commands (``tvctl.mqtt.commands``) run through the operation table's implementations, the same
path as the HTTP API (the device lock, the queue wait, every check), one at a time per device in
arrival order; what one answered goes to the device's ``result`` topic, why one failed (the
envelope's code, message and hint) to its ``error`` topic. Nothing a client sends can stop the
bridge: every failure of a command is answered and the bridge reads on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import msgspec

from tvctl.api.operated import performer
from tvctl.config import DaemonSettings, MqttSettings, Settings
from tvctl.errors import DeviceBusy, DeviceNotFound, TvctlError
from tvctl.events import Event, EventBus
from tvctl.models import Device, MqttStatus
from tvctl.mqtt import commands, discovery
from tvctl.mqtt.topics import Topics, default_node_id
from tvctl.operations import by_name, declared

if TYPE_CHECKING:
    import aiomqtt

    from tvctl.service import DeviceService

_LOGGER = logging.getLogger(__name__)
RETRY_MIN_S = 1.0
RETRY_MAX_S = 30.0
CONNECT_TIMEOUT_S = 10.0
GOODBYE_S = 2.0  # how long shutting down waits to say offline
COMMAND_QUEUE = 100  # commands waiting for one device; more are answered device_busy


class _Reconfigure(Exception):
    """The mqtt settings changed: reconnect with the new ones."""


def broker_of(url: str) -> tuple[str, int, bool]:
    """(host, port, tls) of a broker URL (checked by the config: mqtt:// or mqtts://)."""
    parts = urlsplit(url)
    tls = parts.scheme == "mqtts"
    return parts.hostname or "127.0.0.1", parts.port or (8883 if tls else 1883), tls


def _tls(cfg: MqttSettings) -> ssl.SSLContext:
    try:
        ctx = ssl.create_default_context(cafile=cfg.ca_file or None)
        if cfg.client_cert:
            ctx.load_cert_chain(cfg.client_cert, cfg.client_key or None)
    except (OSError, ssl.SSLError) as exc:
        raise ConnectionError(f"cannot read the TLS files (mqtt.ca_file, mqtt.client_cert, mqtt.client_key): "
                              f"{exc}") from exc
    return ctx


def _first(group: BaseExceptionGroup[Any]) -> BaseException:
    """The exception that ended a task group: a reconfiguration if there is one, else the first."""
    leaves: list[BaseException] = []

    def walk(g: BaseExceptionGroup[Any]) -> None:
        for e in g.exceptions:
            walk(e) if isinstance(e, BaseExceptionGroup) else leaves.append(e)

    walk(group)
    return next((e for e in leaves if isinstance(e, _Reconfigure)), leaves[0])


def _why(exc: BaseException, tls: bool = False) -> str:
    """One line a person can act on, for a failed connection (never the password)."""
    text = str(exc) or type(exc).__name__
    low = text.lower()
    if tls and ("reset by peer" in low or "eof" in low or "unexpected" in low):
        return (f"TLS with the broker failed: it closed the connection ({text}); is mqtt.url's port the "
                "broker's TLS port (mqtts, usually 8883)?")
    if "not authori" in low or "bad user name or password" in low or "code:5]" in low or "code:134" in low \
            or "code:135" in low:
        return f"the broker refused the login ({text}): check mqtt.username and mqtt.password"
    if isinstance(exc, ssl.SSLError) or "certificate" in low or "ssl" in low or "tls" in low:
        return f"TLS with the broker failed ({text}): check mqtt.url's scheme and port, and mqtt.ca_file"
    if "refused" in low:
        return f"nothing accepts connections there ({text}): is the broker running, and is mqtt.url right?"
    if "timed out" in low or "timeout" in low:
        return f"the broker did not answer in time ({text})"
    return text


class MqttBridge:
    def __init__(self, service: DeviceService, settings: Callable[[], Settings], bus: EventBus, version: str) -> None:
        self.service = service
        self.settings = settings
        self.bus = bus
        self.version = version
        self._changed = asyncio.Event()
        self._connected_since: float | None = None
        self._broker: str | None = None
        self._node: str | None = None
        self._last_error: str | None = None
        self._client: aiomqtt.Client | None = None
        self._topics: Topics | None = None
        self._published: dict[str, set[str]] = {}  # device id -> the discovery topics published for it
        self._shown: dict[str, tuple[str, frozenset[str], bool]] = {}  # device id -> name, capabilities, online
        self._extras: dict[str, dict[str, str]] = {}  # device id -> the state's extra fields seen (state_extras)
        self._player: dict[str, bool] = {}  # device id -> whether its state has shown a media player
        self._queues: dict[str, asyncio.Queue[tuple[str, str, bytes, float]]] = {}  # by device id
        self._workers: set[asyncio.Task[None]] = set()
        self._ops: dict[str, Any] | None = None

    # -- what the daemon sees ---------------------------------------------------------------------
    def status(self) -> MqttStatus:
        cfg = self.settings().section(MqttSettings)
        return MqttStatus(enabled=cfg.enabled, connected=self._connected_since is not None,
                          broker=self._broker if cfg.enabled else None, node_id=self._node if cfg.enabled else None,
                          connected_for_s=round(time.monotonic() - self._connected_since, 1)
                          if self._connected_since is not None else None,
                          last_error=self._last_error if cfg.enabled else None)

    def reconfigure(self) -> None:
        """An mqtt.* setting changed (a PATCH or a reload): reconnect with the new settings."""
        self._changed.set()

    def _fail(self, why: str) -> None:
        if why != self._last_error:
            _LOGGER.warning("MQTT: %s (%s); trying again", why, self._broker)
        self._last_error = why

    # -- the connection -----------------------------------------------------------------------------
    async def run(self) -> None:
        """Keep the bridge connected while enabled, until cancelled (the daemon stops)."""
        wait = RETRY_MIN_S
        while True:
            cfg = self.settings().section(MqttSettings)
            self._changed.clear()
            if not cfg.enabled:
                self._broker = self._node = self._last_error = None
                await self._changed.wait()
                continue
            import aiomqtt  # only a daemon that uses MQTT pays for it (about 60 ms, once)

            host, port, tls = broker_of(cfg.url)
            self._broker = f"{'mqtts' if tls else 'mqtt'}://{host}:{port}"
            self._node = cfg.node_id or default_node_id()
            try:
                await self._session(aiomqtt, cfg, host, port, tls)
                wait = RETRY_MIN_S
            except _Reconfigure:
                wait = RETRY_MIN_S
                continue
            except (aiomqtt.MqttError, OSError, ssl.SSLError, ConnectionError) as exc:
                self._fail(_why(exc, tls))
            except Exception as exc:  # a bug must not end the bridge for good: logged, then connect again
                _LOGGER.exception("MQTT: the session failed")
                self._fail(f"the bridge failed ({type(exc).__name__}); see the daemon's log")
            if self._connected_since is None and self._last_error is None:
                self._fail("the broker closed the connection")
            self._connected_since = None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), wait)
                wait = RETRY_MIN_S
                continue
            wait = min(wait * 2, RETRY_MAX_S)

    async def _session(self, aiomqtt: Any, cfg: MqttSettings, host: str, port: int, tls: bool) -> None:
        node = self._node or default_node_id()
        topics = Topics(cfg.base_topic, node, cfg.discovery_prefix)
        client = aiomqtt.Client(
            host, port, username=cfg.username or None, password=cfg.password or None, identifier=f"tvctl-{node}",
            will=aiomqtt.Will(topics.status, "offline", qos=1, retain=True), keepalive=cfg.keepalive_s,
            timeout=CONNECT_TIMEOUT_S, tls_context=_tls(cfg) if tls else None, logger=_LOGGER.getChild("client"),
            # paho leaves Nagle on: a command's PUBACK then a result would wait out the broker's
            # delayed ACK (about 40 ms each); bench/mqtt.py measured 87 ms a key with it, see there
            socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),))
        async with client:
            self._client, self._topics = client, topics
            self._connected_since = time.monotonic()
            self._last_error = None
            _LOGGER.info("MQTT: connected to %s as node %s", self._broker, node)
            events = self.bus.tap(listening=True)
            try:
                await client.subscribe(topics.commands, qos=1)  # before saying online: online takes commands
                await client.subscribe(topics.ha_status, qos=1)
                if cfg.discovery:
                    await client.subscribe(f"{cfg.discovery_prefix}/+/tvctl_{node}/+/config", qos=1)
                await client.publish(topics.status, "online", qos=1, retain=True)
                async with asyncio.TaskGroup() as tg:
                    tg.create_task(self._announce_all(cfg))
                    tg.create_task(self._forward(events, cfg))
                    tg.create_task(self._receive(client, cfg, tg))
                    tg.create_task(self._until_changed())
            except BaseExceptionGroup as group:  # the first reason the tasks ended is the session's
                first = _first(group)
                if isinstance(first, _Reconfigure):
                    await self._goodbye(client, topics)
                raise first from None
            except asyncio.CancelledError:  # the daemon stops
                await self._goodbye(client, topics)
                raise
            finally:
                self.bus.untap(events)
                self._client = None
                self._connected_since = None
                for w in list(self._workers):
                    w.cancel()
                self._queues.clear()

    async def _goodbye(self, client: aiomqtt.Client, topics: Topics) -> None:
        """Say offline before leaving on purpose (the last will only speaks for a lost connection)."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.publish(topics.status, "offline", qos=1, retain=True), GOODBYE_S)

    async def _until_changed(self) -> None:
        await self._changed.wait()
        raise _Reconfigure

    async def _publish(self, topic: str, payload: bytes | str, *, retain: bool = False) -> None:
        """Retained topics (status, availability, state, discovery) at QoS 1: the broker has them
        for certain. The rest (a command's answer, events, a screenshot) at QoS 0, sent at once
        over the connection: a command's answer is not held back until the broker acknowledges it."""
        assert self._client is not None
        await self._client.publish(topic, payload, qos=1 if retain else 0, retain=retain)

    # -- what is published ----------------------------------------------------------------------------
    async def _announce_all(self, cfg: MqttSettings) -> None:
        await asyncio.gather(*(self._announce(dev, cfg) for dev in self.service.registry.all()))

    async def _announce(self, dev: Device, cfg: MqttSettings) -> None:
        """A device's availability, state and discovery, all retained."""
        topics = self._topics
        assert topics is not None
        self._shown[dev.id] = (dev.name, frozenset(dev.capabilities), dev.online)
        await self._publish(topics.device(dev.name, "availability"), "online" if dev.online else "offline",
                            retain=True)
        state: dict[str, Any] | None = None
        if "state" in dev.capabilities:
            with contextlib.suppress(TvctlError):
                report = await self.service.state(dev.id)
                raw = msgspec.json.encode(report.state)
                state = msgspec.json.decode(raw)
                await self._publish(topics.device(dev.name, "state"), raw, retain=True)
        if cfg.discovery:
            await self._discover(dev, cfg, state)

    async def _discover(self, dev: Device, cfg: MqttSettings, state: dict[str, Any] | None) -> None:
        topics = self._topics
        assert topics is not None
        apps: list[str] | None = None
        if "apps" in dev.capabilities:
            with contextlib.suppress(TvctlError):
                apps = [a.name for a in (await self.service.apps(dev.id)).apps]
        platform = self.service.adapter_classes.get(dev.platform)

        def takes(key: str) -> bool:
            from tvctl.keys import parse_key

            if platform is None:
                return False
            try:
                platform.check_key(parse_key(key))
            except TvctlError:
                return False
            return True

        # a field once seen keeps its entity (a value that comes and goes does not make it come and go)
        extras = {**discovery.state_extras(state or {}), **self._extras.get(dev.id, {})}
        self._extras[dev.id] = extras
        self._player[dev.id] = self._player.get(dev.id, False) or (state or {}).get("media") is not None
        configs = discovery.build(topics, dev, version=self.version, takes_key=takes, apps=apps,
                                  player=self._player[dev.id], extras=extras)
        now = {c.topic for c in configs}
        for c in configs:
            await self._publish(c.topic, c.payload(), retain=True)
        for gone in self._published.get(dev.id, set()) - now:  # what it can no longer do
            await self._publish(gone, b"", retain=True)
        self._published[dev.id] = now

    async def _forget(self, dev_id: str, name: str) -> None:
        """Clear what was published of a device that is gone (or renamed)."""
        topics = self._topics
        assert topics is not None
        for topic in self._published.pop(dev_id, set()):
            await self._publish(topic, b"", retain=True)
        for leaf in ("availability", "state"):
            await self._publish(topics.device(name, leaf), b"", retain=True)
        self._shown.pop(dev_id, None)
        self._extras.pop(dev_id, None)
        self._player.pop(dev_id, None)

    async def _forward(self, events: asyncio.Queue[Event], cfg: MqttSettings) -> None:
        topics = self._topics
        assert topics is not None
        while True:
            event = await events.get()
            if event.type == "overflow":
                raise ConnectionError("fell behind the daemon's events; connecting again to publish afresh")
            if EventBus.is_closed(event):  # the daemon is stopping: the session ends when its task is cancelled
                return
            await self._publish(topics.event(event.type), msgspec.json.encode(event.data))
            await self._on_event(event, cfg)

    async def _on_event(self, event: Event, cfg: MqttSettings) -> None:
        topics = self._topics
        assert topics is not None
        data = event.data
        if event.type == "state_changed":
            dev_id, name = str(data["id"]), str(data["device"])
            raw = msgspec.json.encode(data["state"])
            await self._publish(topics.device(name, "state"), raw, retain=True)
            if cfg.discovery and dev_id in self._published:
                state = msgspec.json.decode(raw)
                new = set(discovery.state_extras(state)) - set(self._extras.get(dev_id, {}))
                if new or (state.get("media") is not None and not self._player.get(dev_id)):
                    with contextlib.suppress(DeviceNotFound):
                        await self._discover(self.service.resolve(dev_id), cfg, state)
        elif event.type in ("device_added", "device_updated"):
            dev = Device.from_dict(data)
            shown = self._shown.get(dev.id)
            if shown is not None and shown[0] != dev.name:  # renamed: its topics move; its discovery
                for leaf in ("availability", "state"):  # configs (keyed by id) are overwritten in place,
                    await self._publish(topics.device(shown[0], leaf), b"", retain=True)  # never removed
                shown = None
            if shown is None or shown[1] != frozenset(dev.capabilities):
                await self._announce(dev, cfg)
            elif shown[2] != dev.online:
                self._shown[dev.id] = (dev.name, frozenset(dev.capabilities), dev.online)
                await self._publish(topics.device(dev.name, "availability"), "online" if dev.online else "offline",
                                    retain=True)
        elif event.type == "device_removed":
            await self._forget(str(data["id"]), str(data["name"]))

    # -- what arrives -----------------------------------------------------------------------------------
    async def _receive(self, client: aiomqtt.Client, cfg: MqttSettings, tg: asyncio.TaskGroup) -> None:
        topics = self._topics
        assert topics is not None
        async for message in client.messages:
            topic = str(message.topic)
            payload = message.payload if isinstance(message.payload, bytes) else str(message.payload or "").encode()
            if topic == topics.ha_status:
                if payload.strip() == b"online" and cfg.discovery:
                    tg.create_task(self._announce_all(cfg))  # Home Assistant (re)started: tell it again
                continue
            parsed = topics.parse_command(topic)
            if parsed is None:
                if topics.is_discovery_config(topic):
                    await self._stale_config(topic, payload)
                continue
            if message.retain:  # a command kept by the broker would run again at every (re)connect
                continue
            await self._enqueue(tg, *parsed, payload)

    async def _enqueue(self, tg: asyncio.TaskGroup, name: str, command: str, payload: bytes) -> None:
        """Queue a command behind its device's earlier ones (one worker per device, in the order they
        came); a device tvctl does not know, or a full queue, is answered at once."""
        topics = self._topics
        assert topics is not None
        try:
            dev = self.service.resolve(name)
        except TvctlError as exc:
            await self._answer_error(topics.error, command, exc)
            return
        queue = self._queues.get(dev.id)
        if queue is None:
            queue = self._queues[dev.id] = asyncio.Queue(COMMAND_QUEUE)
            worker = tg.create_task(self._work(queue))
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)
        try:
            queue.put_nowait((name, command, payload, time.monotonic()))
        except asyncio.QueueFull:
            await self._answer_error(topics.device(name, "error"), command, DeviceBusy(
                f"{dev.name} has {COMMAND_QUEUE} commands waiting; this one was not taken.",
                hint="Send fewer commands at a time, or wait for the answers on its result topic."))

    async def _stale_config(self, topic: str, payload: bytes) -> None:
        """A retained discovery config of this node: cleared when its device is gone."""
        if not payload:
            return
        object_part = topic.rsplit("/", 2)[-2]  # DEVICE-ID_OBJECT
        dev_id = object_part[:36]
        if not self.service.registry.has(dev_id):
            await self._publish(topic, b"", retain=True)

    async def _work(self, queue: asyncio.Queue[tuple[str, str, bytes, float]]) -> None:
        while True:
            name, command, payload, came = await queue.get()
            wait_s = self.settings().section(DaemonSettings).queue_wait_s
            if time.monotonic() - came > wait_s:  # as a command that waited too long for the device lock
                topics = self._topics
                assert topics is not None
                await self._answer_error(topics.device(name, "error"), command, DeviceBusy(
                    f"{name}: the command waited more than {wait_s:g} s behind earlier ones; it was not sent.",
                    hint="Send it again once the device answers (daemon.queue_wait_s)."))
                continue
            await self._run(name, command, payload)

    async def _answer_error(self, topic: str, command: str, exc: TvctlError) -> None:
        try:
            body = msgspec.json.encode({"command": command, **exc.to_dict()})
        except (UnicodeEncodeError, TypeError, msgspec.EncodeError):  # text that is not UTF-8 (a lone surrogate)
            body = msgspec.json.encode({"command": command, "code": exc.code, "message": "The command was refused.",
                                        "hint": exc.hint})
        await self._publish(topic, body)

    def _operations(self) -> dict[str, Any]:
        if self._ops is None:  # the installed platforms do not change while the daemon runs
            self._ops = by_name(declared(self.service.adapter_classes.values()))
        return self._ops

    async def _run(self, name: str, command: str, payload: bytes) -> None:
        """One command, answered on the device's result or error topic (the daemon's, for a device
        tvctl does not know)."""
        topics = self._topics
        assert topics is not None
        where = topics.error
        try:
            dev = self.service.resolve(name)
            where = topics.device(name, "error")
            cmd = commands.parse(command, payload, self._operations())
            if cmd.shot is not None:
                q = cmd.shot
                body, ctype = await self.service.screenshot(dev.id, q.display, q.session, q.format)
                await self._publish(topics.device(name, "screenshot"), body)
                data: Any = {"bytes": len(body), "content_type": ctype}
            else:
                assert cmd.op is not None
                data = await performer(cmd.op)(self.service, dev.id, cmd.request, None)
            await self._publish(topics.device(name, "result"), msgspec.json.encode({"command": command, "data": data}))
        except TvctlError as exc:
            await self._answer_error(where, command, exc)
        except Exception as exc:  # a bug must not end the bridge: said on the error topic and in the log
            if isinstance(exc, ConnectionError) or type(exc).__module__.startswith("aiomqtt"):
                raise  # the connection's own trouble: the session ends and connects again
            _LOGGER.exception("MQTT: command %s for %s failed", command, name)
            await self._publish(where, msgspec.json.encode({
                "command": command, "code": "internal_error", "message": f"The command failed: {type(exc).__name__}.",
                "hint": "See the daemon's log."}))
