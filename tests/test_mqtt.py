"""The MQTT bridge end to end: the real daemon process and a real Mosquitto (tests/mosquitto.py,
one broker per test on a free loopback port, a password file, no persistence), watched by a paho
client (tests/mqttclient.py); the devices are the usual fakes. The Home Assistant keys are written
out here from HA's MQTT documentation (button, switch, select, text, sensor, binary_sensor,
camera), never taken from the bridge."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LOOPBACK_CONFIG, Daemon
from tests.fakekvm import FakeTinyPilot
from tests.fakeroku import FakeRoku
from tests.fakesignage import FakeAdvantech
from tests.helpers import free_port, wait_for
from tests.mosquitto import PASSWORD, USERNAME, Mosquitto, mosquitto_available
from tests.mqttclient import Msg, Watcher, retained_snapshot

why_not = mosquitto_available()
pytestmark = pytest.mark.skipif(why_not is not None, reason=f"no Mosquitto: {why_not}")
TVCTL = str(Path(sys.executable).with_name("tvctl"))

# HA's documented configuration keys for each MQTT platform tvctl uses (the subset any entity may
# carry, then each platform's own), and the keys each one requires.
COMMON_KEYS = {"name", "unique_id", "device", "origin", "availability", "availability_mode", "icon",
               "entity_category", "object_id", "enabled_by_default", "qos"}
PLATFORM_KEYS = {
    "button": {"command_topic", "payload_press", "device_class", "retain"},
    "switch": {"command_topic", "state_topic", "value_template", "payload_on", "payload_off", "state_on",
               "state_off", "optimistic", "device_class", "retain"},
    "select": {"command_topic", "options", "state_topic", "value_template", "command_template", "optimistic"},
    "text": {"command_topic", "state_topic", "value_template", "min", "max", "mode", "pattern", "command_template"},
    "sensor": {"state_topic", "value_template", "unit_of_measurement", "device_class", "state_class",
               "suggested_display_precision", "expire_after", "force_update"},
    "binary_sensor": {"state_topic", "value_template", "payload_on", "payload_off", "device_class", "expire_after"},
    "camera": {"topic", "image_encoding"},
}
REQUIRED = {"button": {"command_topic"}, "switch": {"command_topic"}, "select": {"command_topic", "options"},
            "text": {"command_topic"}, "sensor": {"state_topic"}, "binary_sensor": {"state_topic"},
            "camera": {"topic"}}
DEVICE_KEYS = {"identifiers", "name", "model", "serial_number", "sw_version", "manufacturer", "connections",
               "hw_version", "suggested_area", "via_device", "configuration_url", "model_id"}

ROKU_TV_OBJECTS = {
    "key_home", "key_back", "key_select", "key_up", "key_down", "key_left", "key_right", "key_play-pause",
    "key_volume-up", "key_volume-down", "key_mute", "key_power", "power_switch", "text", "app",
    "active_app", "power", "player", "position", "channel", "program", "state_wire"}
KVM_OBJECTS = {"key_home", "key_back", "key_select", "key_up", "key_down", "key_left", "key_right", "text",
               "screen", "take_screenshot", "state_video"}
SIGNAGE_OBJECTS = {"screen", "take_screenshot", "state_hostname", "state_os", "state_uptime_s", "state_cpu_percent",
                   "state_memory_percent", "state_displays", "state_agent_version"}


def mqtt_config(broker_port: int, *, node: str = "site-a", password: str = PASSWORD, extra: str = "",
                enabled: bool = True) -> str:
    return LOOPBACK_CONFIG + f"""
[state]
poll_interval_s = 0.5

[mqtt]
enabled = {'true' if enabled else 'false'}
url = "mqtt://127.0.0.1:{broker_port}"
username = "{USERNAME}"
password = "{password}"
node_id = "{node}"
{extra}"""


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path / "mosquitto") as b:
        yield b


@pytest.fixture
def watcher(broker: Mosquitto) -> Iterator[Watcher]:
    with Watcher(broker.port, username=USERNAME, password=PASSWORD) as w:
        yield w


def start_daemon(tmp: Path, config: str, broker: Mosquitto | None = None, node: str = "site-a") -> Daemon:
    """A daemon with this config; with ``broker``, once its bridge is online there (it takes
    commands from then on)."""
    tmp.mkdir(parents=True, exist_ok=True)
    d = Daemon(tmp, config).start()
    if broker is not None:
        wait_for(lambda: retained_snapshot(broker.port, USERNAME, PASSWORD, f"tvctl/{node}").get(
            f"tvctl/{node}/status") == b"online", what=f"{node} online")
    return d


@pytest.fixture
def site(tmp_path: Path, broker: Mosquitto) -> Iterator[Daemon]:
    d = start_daemon(tmp_path / "site-a", mqtt_config(broker.port), broker)
    try:
        yield d
    finally:
        d.stop()


def configs_of(broker: Mosquitto, dev_id: str, node: str = "site-a") -> dict[str, dict[str, Any]]:
    """The retained discovery configs of one device: object id -> (component, config)."""
    snap = retained_snapshot(broker.port, USERNAME, PASSWORD, "homeassistant")
    out: dict[str, dict[str, Any]] = {}
    for topic, payload in snap.items():
        _prefix, component, node_part, object_part, _config = topic.split("/")
        if node_part == f"tvctl_{node}" and object_part.startswith(dev_id + "_") and payload:
            out[object_part.removeprefix(dev_id + "_")] = {"component": component, **json.loads(payload)}
    return out


def wait_discovered(watcher: Watcher, dev_id: str, count: int, node: str = "site-a") -> None:
    def seen() -> int:
        return len({m.topic for m in watcher.messages
                    if m.topic.endswith("/config") and f"/tvctl_{node}/{dev_id}_" in m.topic and m.payload})

    watcher.wait_until(lambda: seen() >= count, what=f"{count} discovery configs of {dev_id}")


def check_ha_keys(obj: str, cfg: dict[str, Any], node: str, dev_id: str) -> None:
    component = cfg.pop("component")
    allowed = COMMON_KEYS | PLATFORM_KEYS[component]
    assert set(cfg) <= allowed, (obj, set(cfg) - allowed)
    assert REQUIRED[component] <= set(cfg), (obj, REQUIRED[component] - set(cfg))
    assert cfg["unique_id"] == f"tvctl_{node}_{dev_id}_{obj}"
    assert set(cfg["device"]) <= DEVICE_KEYS and cfg["device"]["identifiers"] == [f"tvctl_{node}_{dev_id}"]
    assert cfg["origin"]["name"] == "tvctl"
    assert cfg["availability_mode"] == "all"


# -- discovery ----------------------------------------------------------------------------------------
def test_discovery_for_a_roku_a_kvm_and_a_signage_agent(site: Daemon, broker: Mosquitto, watcher: Watcher,
                                                        pilot: FakeTinyPilot, tmp_path: Path) -> None:
    roku = FakeRoku("tv").start()
    agent = FakeAdvantech().start()
    try:
        tv = site.add(roku)
        kvm = site.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": pilot.port, "platform": "tinypilot"})
        pc = site.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": agent.port, "platform": "advantech",
                                                   "credentials": {"username": "signage", "password": "p@ssw0rd-9"}})
        for dev, expected in ((tv, ROKU_TV_OBJECTS), (kvm, KVM_OBJECTS), (pc, SIGNAGE_OBJECTS)):
            wait_discovered(watcher, dev["id"], len(expected))
            configs = configs_of(broker, dev["id"])
            assert set(configs) == expected, (dev["platform"], set(configs) ^ expected)
            for obj, cfg in configs.items():
                check_ha_keys(obj, cfg, "site-a", dev["id"])
                assert [a["topic"] for a in cfg["availability"]] == [
                    "tvctl/site-a/status", f"tvctl/site-a/{dev['name']}/availability"]
        tv_cfg = configs_of(broker, tv["id"])
        assert tv_cfg["key_home"]["command_topic"] == f"tvctl/site-a/{tv['name']}/set/key"
        assert tv_cfg["key_home"]["payload_press"] == "home"
        assert tv_cfg["power_switch"]["command_topic"] == f"tvctl/site-a/{tv['name']}/set/power"
        assert (tv_cfg["power_switch"]["payload_on"], tv_cfg["power_switch"]["payload_off"]) == ("ON", "OFF")
        assert {"Netflix", "Pandora", "Antenna TV"} <= set(tv_cfg["app"]["options"])
        assert tv_cfg["app"]["command_topic"] == f"tvctl/site-a/{tv['name']}/set/launch"
        assert tv_cfg["position"]["unit_of_measurement"] == "s"
        assert tv_cfg["active_app"]["state_topic"] == f"tvctl/site-a/{tv['name']}/state"
        kvm_cfg = configs_of(broker, kvm["id"])
        assert (kvm_cfg["state_video"]["component"], kvm_cfg["screen"]["component"]) == ("binary_sensor", "camera")
        assert kvm_cfg["screen"]["topic"] == f"tvctl/site-a/{kvm['name']}/screenshot"
        pc_cfg = configs_of(broker, pc["id"])
        assert pc_cfg["state_cpu_percent"]["unit_of_measurement"] == "%"
        assert pc_cfg["state_uptime_s"]["unit_of_measurement"] == "s"
        assert pc_cfg["state_cpu_percent"]["state_class"] == "measurement"
        assert watcher.retained("tvctl/site-a/status") is not None
        assert watcher.latest("tvctl/site-a/status").text == "online"  # type: ignore[union-attr]
        for dev in (tv, kvm, pc):
            assert watcher.wait_topic(f"tvctl/site-a/{dev['name']}/availability").text == "online"
        state = watcher.wait_topic(f"tvctl/site-a/{tv['name']}/state").json()
        assert state["power"] == "on" and state["active_app"]["name"] == "Home"
    finally:
        roku.stop()
        agent.stop()


# -- commands -------------------------------------------------------------------------------------------
def test_a_button_presses_its_key_and_the_app_select_launches(site: Daemon, broker: Mosquitto, watcher: Watcher,
                                                              roku: FakeRoku) -> None:
    tv = site.add(roku)
    wait_discovered(watcher, tv["id"], len(ROKU_TV_OBJECTS))
    cfg = configs_of(broker, tv["id"])
    roku.clear()
    watcher.publish(cfg["key_home"]["command_topic"], cfg["key_home"]["payload_press"])  # as HA presses it
    wait_for(lambda: roku.paths() == ["/keypress/Home"], what="the key at the TV")
    result = watcher.wait_topic(f"tvctl/site-a/{tv['name']}/result").json()
    assert result == {"command": "key", "data": {"device": tv["name"], "key": "home", "repeat": 1, "ecp": "Home"}}
    roku.clear()
    watcher.publish(cfg["app"]["command_topic"], "Netflix")
    wait_for(lambda: roku.paths() == ["/launch/12"], what="the launch at the TV")
    state = watcher.wait_for(lambda m: m.topic.endswith("/state") and (m.json().get("active_app") or {}).get("name")
                             == "Netflix", what="the state after the launch")
    assert state.retain is True


@pytest.mark.parametrize(("command", "payload", "paths"), [
    ("sequence", "up down select", ["/keypress/Up", "/keypress/Down", "/keypress/Select"]),
    ("sequence", '{"keys": ["left", "right"], "delay_ms": 0}', ["/keypress/Left", "/keypress/Right"]),
    ("key", '{"key": "volume-up", "repeat": 2}', ["/keypress/VolumeUp", "/keypress/VolumeUp"]),
    ("text", "a b", ["/keypress/Lit_a", "/keypress/Lit_%20", "/keypress/Lit_b"]),
    ("power", "OFF", ["/keypress/PowerOff"]),
    ("tv_tune", '{"channel": "1.1"}', ["/launch/tvinput.dtv?ch=1.1&chan=1.1&lcn=1.1"]),
])
def test_command_topics(site: Daemon, watcher: Watcher, command: str, payload: str, paths: list[str]) -> None:
    roku = FakeRoku("tv").start()
    try:
        tv = site.add(roku)
        roku.clear()
        watcher.publish(f"tvctl/site-a/{tv['name']}/set/{command}", payload)
        wait_for(lambda: roku.paths() == paths, what=f"{paths} at the TV (got {roku.paths()})")
        watcher.wait_for(lambda m: m.topic == f"tvctl/site-a/{tv['name']}/result" and m.json()["command"] == command)
    finally:
        roku.stop()


@pytest.mark.parametrize(("topic_tail", "payload", "code", "where"), [
    ("set/key", "nonsense key", "invalid_key", "device"),
    ("set/key", '{"key": "home", "hold": 3}', "invalid_payload", "device"),
    ("set/launch", '{"app": 5}', "invalid_payload", "device"),
    ("set/sequence", "[not json", "invalid_json", "device"),
    ("set/power", "maybe", "invalid_payload", "device"),
    ("set/bogus", "{}", "invalid_payload", "device"),
    ("set/launch", "Hulu", "app_not_found", "device"),
    ("set/key", b"\xff\xfe", "invalid_payload", "device"),
])
def test_a_bad_command_is_answered_on_the_error_topic(site: Daemon, watcher: Watcher, roku: FakeRoku,
                                                      topic_tail: str, payload: str | bytes, code: str,
                                                      where: str) -> None:
    dev = site.add(roku)
    roku.clear()
    watcher.publish(f"tvctl/site-a/{dev['name']}/{topic_tail}", payload)
    err = watcher.wait_topic(f"tvctl/site-a/{dev['name']}/error").json()
    assert err["code"] == code and err["message"] and err["hint"], err
    assert err["command"] == topic_tail.removeprefix("set/")
    assert [p for p in roku.paths() if p.startswith(("/keypress", "/launch"))] == []
    watcher.publish(f"tvctl/site-a/{dev['name']}/set/key", "home")  # the bridge reads on
    wait_for(lambda: "/keypress/Home" in roku.paths(), what="the next key")
    assert site.ok("GET", "/v1/daemon/status")["mqtt"]["connected"] is True


def test_a_command_for_an_unknown_device(site: Daemon, watcher: Watcher) -> None:
    watcher.publish("tvctl/site-a/no-such-tv/set/key", "home")
    err = watcher.wait_topic("tvctl/site-a/error").json()
    assert (err["command"], err["code"]) == ("key", "device_not_found")


# -- state ----------------------------------------------------------------------------------------------
def test_the_state_follows_another_client_and_is_not_republished_unchanged(site: Daemon, watcher: Watcher,
                                                                           roku: FakeRoku) -> None:
    dev = site.add(roku)
    topic = f"tvctl/site-a/{dev['name']}/state"
    watcher.wait_for(lambda m: m.topic == topic and m.json()["active_app"]["name"] == "Home")
    roku.active = ("837", "YouTube")  # someone used the TV's own remote
    watcher.wait_for(lambda m: m.topic == topic and (m.json()["active_app"] or {}).get("name") == "YouTube",
                     what="the state after another client's launch")
    published = len([m for m in watcher.messages if m.topic == topic])
    polls = len([p for p in roku.paths("GET") if p == "/query/active-app"])
    wait_for(lambda: len([p for p in roku.paths("GET") if p == "/query/active-app"]) >= polls + 3,
             what="three more polls")
    assert len([m for m in watcher.messages if m.topic == topic]) == published  # nothing changed: nothing published


# -- faults ---------------------------------------------------------------------------------------------
def test_a_broker_restart_without_persistence_gets_everything_again(site: Daemon, broker: Mosquitto,
                                                                    watcher: Watcher, roku: FakeRoku) -> None:
    dev = site.add(roku)
    wait_discovered(watcher, dev["id"], len(ROKU_TV_OBJECTS))
    before = set(configs_of(broker, dev["id"]))
    broker.restart()
    assert retained_snapshot(broker.port, USERNAME, PASSWORD, "tvctl") == {}  # the broker forgot it all
    watcher.wait_connected(connects=2)
    wait_for(lambda: set(configs_of(broker, dev["id"])) == before, timeout=20,
             what="the discovery configs published again")
    snap = retained_snapshot(broker.port, USERNAME, PASSWORD, "tvctl")
    assert snap["tvctl/site-a/status"] == b"online"
    assert snap[f"tvctl/site-a/{dev['name']}/availability"] == b"online"
    assert json.loads(snap[f"tvctl/site-a/{dev['name']}/state"])["power"] == "on"


def test_the_broker_absent_at_start(tmp_path: Path) -> None:
    port = free_port()
    d = start_daemon(tmp_path / "d", mqtt_config(port))
    try:
        assert d.ok("GET", "/v1/devices") == []  # HTTP is served meanwhile
        status = wait_for(lambda: (s := d.ok("GET", "/v1/daemon/status")["mqtt"])["last_error"] and s,
                          what="the bridge's error")
        assert status["connected"] is False and status["broker"] == f"mqtt://127.0.0.1:{port}"
        assert "nothing accepts connections there" in status["last_error"]
        with Mosquitto(tmp_path / "late", port=port) as late:
            wait_for(lambda: d.ok("GET", "/v1/daemon/status")["mqtt"]["connected"], timeout=40,
                     what="the bridge connected once the broker came")
            assert retained_snapshot(late.port, USERNAME, PASSWORD, "tvctl")["tvctl/site-a/status"] == b"online"
    finally:
        d.stop()
    assert d.log().count("nothing accepts connections there") == 1  # said once, not at every retry


def test_wrong_credentials_are_said_and_the_password_never(tmp_path: Path, broker: Mosquitto) -> None:
    wrong = "wrong-broker-pass-77"
    d = start_daemon(tmp_path / "d", mqtt_config(broker.port, password=wrong))
    try:
        status = wait_for(lambda: (s := d.ok("GET", "/v1/daemon/status")["mqtt"])["last_error"] and s,
                          what="the bridge's error")
        assert status["connected"] is False
        assert "refused the login" in status["last_error"] and "mqtt.password" in status["last_error"]
        env = {"XDG_RUNTIME_DIR": str(d.runtime), "PATH": "/usr/bin:/bin"}
        out = subprocess.run([TVCTL, "status"], capture_output=True, text=True, timeout=30, env=env).stdout
        assert "mqtt     not connected to mqtt://127.0.0.1:" in out and "refused the login" in out
        shown = subprocess.run([TVCTL, "config", "show", "mqtt"], capture_output=True, text=True, timeout=30,
                               env=env).stdout
        assert "***" in shown
        d.ok("PATCH", "/v1/config", json={"mqtt.password": PASSWORD})  # set right: connects at once
        wait_for(lambda: d.ok("GET", "/v1/daemon/status")["mqtt"]["connected"], what="connected after the fix")
        everything = d.log() + out + shown + json.dumps(d.ok("GET", "/v1/config")) + broker.log()
        assert wrong not in everything and PASSWORD not in everything
    finally:
        d.stop()


# -- many sites, removal, reconfiguration -------------------------------------------------------------------
def test_two_sites_on_one_broker_do_not_clash(tmp_path: Path, broker: Mosquitto, watcher: Watcher,
                                             roku: FakeRoku) -> None:
    a = start_daemon(tmp_path / "a", mqtt_config(broker.port, node="site-a"), broker, "site-a")
    b = start_daemon(tmp_path / "b", mqtt_config(broker.port, node="site-b"), broker, "site-b")
    try:
        dev_a, dev_b = a.add(roku), b.add(roku)  # the same TV seen from two sites: the same device id
        assert dev_a["id"] == dev_b["id"]
        for node in ("site-a", "site-b"):
            wait_discovered(watcher, dev_a["id"], len(ROKU_TV_OBJECTS), node)
        ca, cb = configs_of(broker, dev_a["id"], "site-a"), configs_of(broker, dev_b["id"], "site-b")
        assert set(ca) == set(cb) and ca
        assert {c["unique_id"] for c in ca.values()}.isdisjoint({c["unique_id"] for c in cb.values()})
        assert ca["key_home"]["device"]["identifiers"] != cb["key_home"]["device"]["identifiers"]
        assert watcher.wait_topic("tvctl/site-b/status").text == "online"
        a.stop()  # a clean stop says offline; the other site stays
        assert watcher.wait_for(lambda m: m.topic == "tvctl/site-a/status" and m.text == "offline").retain
        assert watcher.latest("tvctl/site-b/status").text == "online"  # type: ignore[union-attr]
        roku.clear()
        watcher.publish(f"tvctl/site-b/{dev_b['name']}/set/key", "back")
        wait_for(lambda: roku.paths() == ["/keypress/Back"], what="site b's key")
    finally:
        a.stop()
        b.stop()


def test_removal_clears_discovery_and_retained_topics(site: Daemon, broker: Mosquitto, watcher: Watcher,
                                                      roku: FakeRoku) -> None:
    dev = site.add(roku)
    wait_discovered(watcher, dev["id"], len(ROKU_TV_OBJECTS))
    assert configs_of(broker, dev["id"])
    site.ok("DELETE", f"/v1/devices/{dev['id']}")
    wait_for(lambda: configs_of(broker, dev["id"]) == {}, what="the discovery configs cleared")
    snap = retained_snapshot(broker.port, USERNAME, PASSWORD, "tvctl")
    assert [t for t in snap if f"/{dev['name']}/" in t] == []
    assert snap["tvctl/site-a/status"] == b"online"


def test_a_stale_config_of_this_node_is_cleared_at_connect(tmp_path: Path, broker: Mosquitto,
                                                           watcher: Watcher) -> None:
    ghost = "homeassistant/button/tvctl_site-a/00000000-0000-5000-8000-000000000000_key_home/config"
    watcher.publish(ghost, json.dumps({"name": "Home", "command_topic": "x"}), retain=True)
    other = "homeassistant/button/tvctl_site-z/00000000-0000-5000-8000-000000000000_key_home/config"
    watcher.publish(other, json.dumps({"name": "Home", "command_topic": "y"}), retain=True)
    d = start_daemon(tmp_path / "d", mqtt_config(broker.port))
    try:
        wait_for(lambda: ghost not in retained_snapshot(broker.port, USERNAME, PASSWORD, "homeassistant"),
                 what="the removed device's config cleared")
        assert other in retained_snapshot(broker.port, USERNAME, PASSWORD, "homeassistant")  # another site's
    finally:
        d.stop()


def test_enabled_and_moved_by_a_config_change(tmp_path: Path, broker: Mosquitto, watcher: Watcher) -> None:
    d = start_daemon(tmp_path / "d", mqtt_config(broker.port, enabled=False))
    try:
        assert d.ok("GET", "/v1/daemon/status")["mqtt"] == {
            "enabled": False, "connected": False, "broker": None, "node_id": None, "connected_for_s": None,
            "last_error": None}
        d.ok("PATCH", "/v1/config", json={"mqtt.enabled": True})
        assert watcher.wait_topic("tvctl/site-a/status").text == "online"
        d.ok("PATCH", "/v1/config", json={"mqtt.node_id": "site-c"})
        watcher.wait_for(lambda m: m.topic == "tvctl/site-a/status" and m.text == "offline")
        assert watcher.wait_topic("tvctl/site-c/status").text == "online"
        status = d.ok("GET", "/v1/daemon/status")["mqtt"]
        assert (status["connected"], status["node_id"]) == (True, "site-c")
    finally:
        d.stop()


def test_a_screenshot_command_publishes_the_image(site: Daemon, watcher: Watcher, pilot: FakeTinyPilot) -> None:
    dev = site.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": pilot.port, "platform": "tinypilot"})
    watcher.publish(f"tvctl/site-a/{dev['name']}/set/screenshot", "")
    shot: Msg = watcher.wait_topic(f"tvctl/site-a/{dev['name']}/screenshot")
    assert shot.payload == pilot.screen[0]
    result = watcher.wait_topic(f"tvctl/site-a/{dev['name']}/result").json()
    assert result == {"command": "screenshot", "data": {"bytes": len(pilot.screen[0]), "content_type": "image/jpeg"}}


# -- TLS ------------------------------------------------------------------------------------------------
def test_mqtts_with_the_brokers_ca_and_tls_failures_said(tmp_path: Path) -> None:
    from tests.fakekvm import make_ca, make_signed_certificate

    ca = make_ca(tmp_path / "tls")
    cert, key, _ = make_signed_certificate(tmp_path / "tls", "broker", ca)
    with Mosquitto(tmp_path / "mosquitto", tls=(cert, key)) as tls_broker:
        d = start_daemon(tmp_path / "d", mqtt_config(tls_broker.port, extra=f'ca_file = "{ca[0]}"').replace(
            f"mqtt://127.0.0.1:{tls_broker.port}", f"mqtts://127.0.0.1:{tls_broker.tls_port}"))
        try:
            wait_for(lambda: d.ok("GET", "/v1/daemon/status")["mqtt"]["connected"], what="connected over TLS")
            assert d.ok("GET", "/v1/daemon/status")["mqtt"]["broker"] == f"mqtts://127.0.0.1:{tls_broker.tls_port}"
            d.ok("PATCH", "/v1/config", json={"mqtt.ca_file": ""})  # the system's CAs do not know this one
            status = wait_for(lambda: (s := d.ok("GET", "/v1/daemon/status")["mqtt"])["last_error"] and s,
                              what="the TLS failure said")
            assert status["connected"] is False and "TLS with the broker failed" in status["last_error"]
            assert "certificate verify failed" in status["last_error"]
            d.ok("PATCH", "/v1/config", json={"mqtt.url": f"mqtts://127.0.0.1:{tls_broker.port}",
                                              "mqtt.ca_file": str(ca[0])})  # TLS to the plain port
            wait_for(lambda: "TLS" in (d.ok("GET", "/v1/daemon/status")["mqtt"]["last_error"] or ""),
                     what="TLS to a plain port said")
            d.ok("PATCH", "/v1/config", json={"mqtt.ca_file": str(tmp_path / "missing.pem")})
            wait_for(lambda: "cannot read the TLS files" in (d.ok("GET", "/v1/daemon/status")["mqtt"]["last_error"]
                                                             or ""), what="a missing CA file said")
        finally:
            d.stop()
        assert "Traceback" not in d.log()


# -- what a client may not do to the bridge ----------------------------------------------------------
def test_a_retained_command_is_not_run_again_at_a_reconnect(tmp_path: Path, broker: Mosquitto, watcher: Watcher,
                                                            roku: FakeRoku) -> None:
    d = start_daemon(tmp_path / "d", mqtt_config(broker.port), broker)
    try:
        dev = d.add(roku)
        roku.clear()
        watcher.publish(f"tvctl/site-a/{dev['name']}/set/power", "OFF", retain=True)  # kept by the broker
        wait_for(lambda: roku.paths() == ["/keypress/PowerOff"], what="the command, live, run once")
        d.ok("PATCH", "/v1/config", json={"mqtt.keepalive_s": 31})  # reconnects: it is handed over again
        wait_for(lambda: d.ok("GET", "/v1/daemon/status")["mqtt"]["connected"], what="connected again")
        watcher.publish(f"tvctl/site-a/{dev['name']}/set/key", "home")  # a marker after it, not retained
        wait_for(lambda: "/keypress/Home" in roku.paths(), what="the marker key")
        assert roku.paths() == ["/keypress/PowerOff", "/keypress/Home"]  # not run again from the broker's store
    finally:
        d.stop()


def test_text_that_is_not_utf8_is_refused_and_the_bridge_reads_on(site: Daemon, watcher: Watcher,
                                                                   roku: FakeRoku) -> None:
    dev = site.add(roku)
    roku.clear()
    for command, payload in (("key", '{"key": "home", "\\ud800": 1}'), ("sequence", "[" * 5000)):
        watcher.publish(f"tvctl/site-a/{dev['name']}/set/{command}", payload)
        err = watcher.wait_for(lambda m: m.topic == f"tvctl/site-a/{dev['name']}/error").json()
        assert err["code"] == "invalid_json", err
        watcher.clear()
    watcher.publish(f"tvctl/site-a/{dev['name']}/set/key", "home")
    wait_for(lambda: roku.paths() == ["/keypress/Home"], what="a key after them")
    assert site.ok("GET", "/v1/daemon/status")["mqtt"]["connected"] is True
    assert "Traceback" not in site.log()


def test_a_base_topic_under_the_discovery_prefix(tmp_path: Path, broker: Mosquitto, watcher: Watcher,
                                                 roku: FakeRoku) -> None:
    d = start_daemon(tmp_path / "d", mqtt_config(broker.port, extra='base_topic = "homeassistant/tvctl"'))
    try:
        watcher.wait_for(lambda m: m.topic == "homeassistant/tvctl/site-a/status" and m.text == "online")
        dev = d.add(roku)
        roku.clear()
        watcher.publish(f"homeassistant/tvctl/site-a/{dev['name']}/set/key", "home")
        wait_for(lambda: roku.paths() == ["/keypress/Home"], what="the key")
    finally:
        d.stop()


def test_a_rename_moves_the_topics_and_keeps_the_entities(site: Daemon, broker: Mosquitto, watcher: Watcher,
                                                          roku: FakeRoku) -> None:
    dev = site.add(roku)
    wait_discovered(watcher, dev["id"], len(ROKU_TV_OBJECTS))
    watcher.clear()
    site.ok("PATCH", f"/v1/devices/{dev['id']}", json={"name": "bar-tv"})
    watcher.wait_for(lambda m: m.topic == "tvctl/site-a/bar-tv/availability" and m.text == "online")
    wait_for(lambda: configs_of(broker, dev["id"])["key_home"]["command_topic"] == "tvctl/site-a/bar-tv/set/key",
             what="the configs pointing at the new name")
    cleared = [m.topic for m in watcher.messages if m.topic.endswith("/config") and not m.payload]
    assert cleared == []  # never removed: Home Assistant keeps the entities and their settings
    snap = retained_snapshot(broker.port, USERNAME, PASSWORD, "tvctl")
    assert [t for t in snap if f"/{dev['name']}/" in t] == []  # the old name's topics are gone
