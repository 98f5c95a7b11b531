"""A key through tvctl to a Roku in Limited mode (the ecp-2 session) vs the same key to a Roku in
Enabled mode (plain ECP over HTTP), in one run.

    python bench/session.py [--keys 100] [--rounds 7]

Three fake TCL Roku TVs, each in its own process: one in Enabled mode, one in Limited mode, and one
in Enabled mode with the device option control=session (the session where HTTP would also work,
to decide whether auto should prefer it). One daemon; POST /v1/devices/{id}/remote/key one at a
time over loopback TCP to each, interleaved round by round. Prints the median per-key time of
each and the ratios against HTTP in Enabled mode (the baseline, measured in the same run).
Target: Limited (session) / Enabled (HTTP) <= 1.0.
"""

from __future__ import annotations

import argparse
import http.client
import json

from _common import FakeProc, median, per_call, start_daemon


def post(conn: http.client.HTTPConnection, path: str, body: object) -> None:
    conn.request("POST", path, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    raw = resp.read()
    assert resp.status == 200, raw


def per_key(conn: http.client.HTTPConnection, path: str, n: int) -> float:
    return per_call(n, lambda: post(conn, path, {"key": "home"}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=7)
    a = ap.parse_args()
    fakes = {"enabled": FakeProc("tcl", serial="BENCH0000001"),
             "limited": FakeProc("tcl", serial="BENCH0000002", access="limited"),
             "forced": FakeProc("tcl", serial="BENCH0000003")}
    daemon = start_daemon()
    try:
        paths: dict[str, str] = {}
        for name, fake in fakes.items():
            dev = daemon.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": fake.port})
            if name == "forced":
                dev = daemon.ok("PATCH", f"/v1/devices/{dev['id']}", json={"options": {"control": "session"}})
            paths[name] = f"/v1/devices/{dev['id']}/remote/key"
        wires = {name: daemon.ok("GET", path.removesuffix("/remote/key"))["wire"] for name, path in paths.items()}
        assert wires == {"enabled": "http", "limited": "session", "forced": "session"}, wires
        conn = http.client.HTTPConnection("127.0.0.1", daemon.port)
        for path in paths.values():  # warm up: connections and sessions opened
            per_key(conn, path, 5)
        times: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(a.rounds):
            for name, path in paths.items():
                times[name].append(per_key(conn, path, a.keys))
        m = {name: median(ts) for name, ts in times.items()}
        print(f"keys per round: {a.keys}, rounds: {a.rounds}; medians of the per-key round trip through tvctl:")
        print(f"Enabled mode, plain ECP (HTTP):       {m['enabled'] * 1000:.3f} ms/key  (baseline)")
        print(f"Limited mode, ecp-2 session:          {m['limited'] * 1000:.3f} ms/key  "
              f"ratio {m['limited'] / m['enabled']:.2f}x (target <= 1.0)")
        print(f"Enabled mode, session forced:         {m['forced'] * 1000:.3f} ms/key  "
              f"ratio {m['forced'] / m['enabled']:.2f}x")
    finally:
        daemon.stop()
        for fake in fakes.values():
            fake.stop()


if __name__ == "__main__":
    main()
