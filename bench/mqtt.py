"""A key through the MQTT bridge vs the same key through the HTTP API, in one run; and how soon a
state change reaches the broker.

    python bench/mqtt.py [--keys 100] [--rounds 7]

A real Mosquitto on a free loopback port (tests/mosquitto.py), the daemon with the bridge on, a
fake Roku in its own process. Per key, one at a time:
- HTTP: POST /v1/devices/{id}/remote/key over loopback TCP (keep-alive), answered once the TV has it;
- MQTT: publish "home" (QoS 1) on tvctl/NODE/DEVICE/set/key and wait for the bridge's answer on
  .../result, published once the TV has it.
Prints the medians and the ratio (target: MQTT <= 1.5x HTTP). The broker runs with
``set_tcp_nodelay true``; ``--nagle`` measures Mosquitto's default (Nagle on), where each small
answer that follows another waits for the client's delayed ACK, about 40 ms. Then the
state-change-to-publish latency: the TV's app changed behind tvctl's back (a launch sent straight
to the fake, at a random moment of the poll interval) until the new state is on the broker, with
state.poll_interval_s = 1 (bounded by the poll: about half of it on average); and after a command
through the bridge (a launch on set/launch until the state shows it: the post-command refresh,
0.35 s after the command, or sooner when a poll comes first).
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

from _common import FakeProc, median, per_call, post, start_daemon

from tests.mosquitto import PASSWORD, USERNAME, Mosquitto
from tests.mqttclient import Watcher

NODE = "bench"


class Answers:
    """Wakes on each message of one topic (the bridge's result topic)."""

    def __init__(self, watcher: Watcher, topic: str) -> None:
        self.topic = topic
        self.cond = threading.Condition()
        self.count = 0
        watcher.client.message_callback_add(topic, self._on)

    def _on(self, _client: object, _userdata: object, _message: object) -> None:
        with self.cond:
            self.count += 1
            self.cond.notify_all()

    def wait_past(self, n: int, timeout: float = 10.0) -> None:
        with self.cond:
            if not self.cond.wait_for(lambda: self.count > n, timeout):
                raise TimeoutError(f"no answer on {self.topic}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--changes", type=int, default=15)
    ap.add_argument("--nagle", action="store_true", help="Mosquitto's default set_tcp_nodelay false")
    a = ap.parse_args()
    broker = Mosquitto(Path(tempfile.mkdtemp(prefix="bench-mqtt-")), nodelay=not a.nagle).start()
    fake = FakeProc("tv")
    daemon = start_daemon(f"""
[state]
poll_interval_s = 1.0

[mqtt]
enabled = true
url = "{broker.url}"
username = "{USERNAME}"
password = "{PASSWORD}"
node_id = "{NODE}"
""")
    watcher = Watcher(broker.port, username=USERNAME, password=PASSWORD,
                      topics=(f"tvctl/{NODE}/+/result", f"tvctl/{NODE}/+/state")).start()
    try:
        dev = daemon.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": fake.port})
        name = dev["name"]
        key_topic = f"tvctl/{NODE}/{name}/set/key"
        answers = Answers(watcher, f"tvctl/{NODE}/{name}/result")
        to_daemon = http.client.HTTPConnection("127.0.0.1", daemon.port)
        http_path = f"/v1/devices/{dev['id']}/remote/key"

        def by_mqtt() -> None:
            n = answers.count
            watcher.client.publish(key_topic, "home", qos=1)
            answers.wait_past(n)

        post(to_daemon, http_path, {"key": "home"})
        by_mqtt()
        d_http, d_mqtt = [], []
        for _ in range(a.rounds):
            d_http.append(per_call(a.keys, lambda: post(to_daemon, http_path, {"key": "home"})))
            d_mqtt.append(per_call(a.keys, by_mqtt))
        mh, mm = median(d_http), median(d_mqtt)
        print(f"keys per round: {a.keys}, rounds: {a.rounds}; broker set_tcp_nodelay {not a.nagle}; medians:")
        print(f"HTTP POST remote/key:               {mh * 1000:.3f} ms/key")
        print(f"MQTT set/key until its result:      {mm * 1000:.3f} ms/key  ratio {mm / mh:.2f}x (target <= 1.5)")

        state_topic = f"tvctl/{NODE}/{name}/state"

        def app_in_state(app: str) -> bool:
            latest = watcher.latest(state_topic)
            return latest is not None and (json.loads(latest.payload).get("active_app") or {}).get("name") == app

        to_fake = http.client.HTTPConnection("127.0.0.1", fake.port)
        behind, after = [], []
        for i in range(a.changes):
            app_id, app = ("12", "Netflix") if i % 2 == 0 else ("28", "Pandora")
            time.sleep(random.uniform(0, 1.0))  # anywhere in the poll interval, as a person would
            t0 = time.perf_counter()
            post(to_fake, f"/launch/{app_id}", None)  # behind tvctl's back
            watcher.wait_until(partial(app_in_state, app), timeout=10, what=f"{app} in the state")
            behind.append(time.perf_counter() - t0)
        for i in range(a.changes):
            app = "Netflix" if i % 2 == 0 else "Pandora"
            t0 = time.perf_counter()
            watcher.client.publish(f"tvctl/{NODE}/{name}/set/launch", app, qos=1)
            watcher.wait_until(partial(app_in_state, app), timeout=10, what=f"{app} in the state")
            after.append(time.perf_counter() - t0)
        print(f"state change behind tvctl's back to the broker (poll 1.0 s): median {median(behind) * 1000:.0f} ms, "
              f"max {max(behind) * 1000:.0f} ms ({a.changes} changes)")
        print(f"launch on set/launch to the new state on the broker: median {median(after) * 1000:.0f} ms, "
              f"max {max(after) * 1000:.0f} ms")
    finally:
        watcher.stop()
        daemon.stop()
        fake.stop()
        broker.stop()


if __name__ == "__main__":
    main()
