"""A key to a group of 20 devices vs the same key to one of them, in one run.

    python bench/groups.py [--devices 20] [--delay-ms 40] [--keys 20] [--rounds 7]

Twenty fake Rokus, each in a process of its own and each answering every request 40 ms late (a
TV on Wi-Fi), are added to the daemon and put in one group. Per round, one at a time over
loopback TCP (keep-alive): ``--keys`` presses of POST /v1/groups/bar/remote/key (answered once
every member has answered) and as many of POST /v1/devices/{id}/remote/key to one member.
Prints the medians and the ratio (target: group <= 1.5x one device): the members are driven at
once, so a group costs about as long as its slowest member, not the sum.
"""

from __future__ import annotations

import argparse
import http.client

from _common import FakeProc, median, per_call, post, start_daemon


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=20)
    ap.add_argument("--delay-ms", type=int, default=40)
    ap.add_argument("--keys", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=7)
    a = ap.parse_args()
    fakes = [FakeProc("stick", serial=f"BENCH{n:07d}", delay_s=a.delay_ms / 1000) for n in range(a.devices)]
    daemon = start_daemon()
    try:
        ids = [daemon.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": f.port})["id"] for f in fakes]
        daemon.ok("POST", "/v1/groups", json={"name": "bar", "devices": ids})
        conn = http.client.HTTPConnection("127.0.0.1", daemon.port)
        one, group = f"/v1/devices/{ids[0]}/remote/key", "/v1/groups/bar/remote/key"
        post(conn, one, {"key": "home"})
        post(conn, group, {"key": "home"})
        d_one, d_group = [], []
        for _ in range(a.rounds):
            d_one.append(per_call(a.keys, lambda: post(conn, one, {"key": "home"})))
            d_group.append(per_call(a.keys, lambda: post(conn, group, {"key": "home"})))
        m1, mg = median(d_one), median(d_group)
        print(f"{a.devices} devices answering {a.delay_ms} ms late; {a.keys} keys per round, {a.rounds} rounds; "
              "medians:")
        print(f"one device  POST /v1/devices/{{id}}/remote/key: {m1 * 1000:.1f} ms/key")
        print(f"the group   POST /v1/groups/bar/remote/key:   {mg * 1000:.1f} ms/key  ratio {mg / m1:.2f}x "
              "(target <= 1.5)")
    finally:
        daemon.stop()
        for f in fakes:
            f.stop()


if __name__ == "__main__":
    main()
