"""The MQTT test harness itself, against a real Mosquitto: users and refusals, retained messages,
a restart without persistence, an anonymous broker, TLS, a start that fails."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakekvm import make_ca, make_signed_certificate
from tests.mosquitto import PASSWORD, USERNAME, Mosquitto, mosquitto_available
from tests.mqttclient import Watcher, retained_snapshot

pytestmark = pytest.mark.skipif(mosquitto_available() is not None, reason=mosquitto_available() or "")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path / "mosquitto") as b:
        yield b


def watcher(broker: Mosquitto, topics: tuple[str, ...] = ("#",)) -> Watcher:
    return Watcher(broker.port, username=USERNAME, password=PASSWORD, topics=topics).start()


def test_broker_config_and_log(broker: Mosquitto) -> None:
    assert broker.url == f"mqtt://127.0.0.1:{broker.port}"
    conf = broker.config_path.read_text()
    assert f"listener {broker.port} 127.0.0.1" in conf and "persistence false" in conf
    assert "allow_anonymous false" in conf
    assert broker.password_path.read_text().startswith(f"{USERNAME}:$7$")  # hashed, not the password
    assert PASSWORD not in broker.password_path.read_text()
    assert "mosquitto version 2." in broker.log() and " running" in broker.log()
    with pytest.raises(OSError):  # loopback only
        socket.create_connection(("127.0.0.2", broker.port), timeout=2).close()


def test_retained_message_reaches_watchers_and_snapshot(broker: Mosquitto) -> None:
    with watcher(broker) as early, watcher(broker, topics=("tvctl/#",)) as publisher:
        config = {"name": "Living room", "unique_id": "tv1"}
        publisher.publish("tvctl/tv1/config", json.dumps(config), retain=True)
        publisher.publish("tvctl/tv1/state", "on")  # not retained
        publisher.publish("other/thing", "x", retain=True)  # outside the prefix

        seen = early.wait_topic("tvctl/tv1/config")
        assert seen.json() == config and seen.retain and seen.qos == 1  # retain as published
        assert early.wait_topic("tvctl/tv1/state").text == "on"
        assert early.retained("tvctl/tv1/config") == seen and early.retained("tvctl/tv1/state") is None

        with watcher(broker, topics=("tvctl/#",)) as late:  # subscribes after: gets the stored one
            assert late.wait_topic("tvctl/tv1/config").retain
            assert late.latest("tvctl/tv1/state") is None

        assert retained_snapshot(broker.port, USERNAME, PASSWORD, "tvctl") == {
            "tvctl/tv1/config": json.dumps(config).encode()}

        publisher.publish("tvctl/tv1/config", b"", retain=True)  # clearing a retained message
        early.wait_for(lambda m: m.topic == "tvctl/tv1/config" and m.payload == b"", what="the clear")
        assert early.retained("tvctl/tv1/config") is None
        assert retained_snapshot(broker.port, USERNAME, PASSWORD, "tvctl") == {}
        assert retained_snapshot(broker.port, USERNAME, PASSWORD, "other") == {"other/thing": b"x"}


def test_wait_for_reports_what_it_saw(broker: Mosquitto) -> None:
    with watcher(broker) as w:
        w.publish("a/b", "1")
        w.wait_topic("a/b")
        with pytest.raises(AssertionError, match=r"waiting for the answer .*'a/b'"):
            w.wait_for(lambda m: m.topic == "never", timeout=0.2, what="the answer")
        w.clear()
        assert w.messages == [] and w.latest("a/b") is None


@pytest.mark.parametrize(("username", "password"), [(USERNAME, "wrong-pass"), ("nobody", PASSWORD), (None, None)])
def test_refused_client(broker: Mosquitto, username: str | None, password: str | None) -> None:
    """Mosquitto 2.0.11 answers an MQTT 5 client with 0x87 Not authorized whatever is wrong (never
    0x86 Bad user name or password), and logs it without its client id."""
    w = Watcher(broker.port, username=username, password=password)
    with pytest.raises(ConnectionRefusedError, match=r"Bad user name or password|Not authorized") as e:
        w.start()
    assert str(broker.port) in str(e.value) and "0x87" in str(e.value)
    assert w.connects == 0 and not w.connected
    assert "Sending CONNACK to 127.0.0.1 (0, 135)" in broker.log()
    assert "Client <unknown> disconnected, not authorised." in broker.log()


def test_nothing_listening(broker: Mosquitto) -> None:
    broker.stop()
    with pytest.raises(ConnectionRefusedError):
        Watcher(broker.port, username=USERNAME, password=PASSWORD).start()


def test_restart_drops_retained_messages_and_watcher_reconnects(broker: Mosquitto) -> None:
    port = broker.port
    with watcher(broker) as w:
        w.publish("tvctl/tv1/config", "{}", retain=True)
        w.wait_topic("tvctl/tv1/config")
        assert retained_snapshot(broker.port, USERNAME, PASSWORD, "tvctl") == {"tvctl/tv1/config": b"{}"}

        broker.restart()
        assert broker.port == port and broker.starts == 2
        w.wait_until(lambda: w.disconnects == 1, what="the disconnect")
        w.wait_connected(connects=2)  # paho reconnected, the Watcher subscribed again

        assert retained_snapshot(broker.port, USERNAME, PASSWORD, "tvctl") == {}
        w.clear()
        w.publish("tvctl/tv1/state", "off")
        assert w.wait_topic("tvctl/tv1/state").text == "off"
    assert w.disconnects == 1  # its own stop() is not counted
    assert broker.log().count(" running") == 2


def test_anonymous_broker(tmp_path: Path) -> None:
    with Mosquitto(tmp_path, users=None) as b, Watcher(b.port).start() as w:
        assert "allow_anonymous true" in b.config_path.read_text() and not b.password_path.exists()
        w.publish("x/y", b"\x00\x01", retain=True)
        assert w.wait_topic("x/y").payload == b"\x00\x01"
        assert retained_snapshot(b.port, None, None, "x") == {"x/y": b"\x00\x01"}


def test_tls_listener(tmp_path: Path) -> None:
    ca = make_ca(tmp_path / "tls")
    cert, key, _ = make_signed_certificate(tmp_path / "tls", "broker", ca)
    with Mosquitto(tmp_path / "mosquitto", tls=(cert, key)) as b:
        assert b.tls_port not in (0, b.port) and b.tls_url == f"mqtts://127.0.0.1:{b.tls_port}"
        with Watcher(b.tls_port, username=USERNAME, password=PASSWORD, tls_ca=ca[0]).start() as w:
            w.publish("secure/t", "1", retain=True)
            assert w.wait_topic("secure/t").text == "1"
        assert retained_snapshot(b.port, USERNAME, PASSWORD, "secure") == {"secure/t": b"1"}  # one broker
        with pytest.raises(ConnectionError, match="closed the connection before its CONNACK"):
            Watcher(b.tls_port, username=USERNAME, password=PASSWORD).start()  # plain MQTT to the TLS port


def test_start_failure_shows_the_log(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        b = Mosquitto(tmp_path, port=taken.getsockname()[1])
        with pytest.raises(RuntimeError, match="Address already in use"):
            b.start()
    assert not b.running
