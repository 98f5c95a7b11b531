"""GET /v1/devices with 50 registered devices, against GET /v1/ping on the same daemon, one run.

    python bench/devices.py [--devices 50] [--requests 400] [--rounds 5]

The registry file is written before the daemon starts (50 devices of one recorded model), so no
device is contacted. Both requests go over one keep-alive http.client connection on loopback TCP,
alternating round by round. Prints the median per-request time of each and the ratio.
"""

from __future__ import annotations

import argparse
import http.client
import json
import tempfile
import time
import uuid
from pathlib import Path

from _common import median

from tests.conftest import LOOPBACK_CONFIG, Daemon


def registry(n: int) -> bytes:
    now = time.time()
    devices = [{
        "id": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"bench-{i}")), "name": f"tv-{i:02d}",
        "display_name": f"Living room {i}", "platform": "roku", "host": f"127.0.0.{i + 2}", "port": 8060,
        "model": "7820X", "serial": f"BENCH{i:07d}", "kind": "tv", "wake_mac": "d8:13:99:f8:b0:c6",
        "sources": ["ssdp"], "first_seen": now, "last_seen": now, "online": False, "udn": None,
        "software_version": "9.2.0", "developer_enabled": False,
        "capabilities": ["keys", "text", "apps", "state", "inputs", "channels", "volume", "power"],
    } for i in range(n)]
    return json.dumps({"version": 1, "devices": devices}).encode()


def per_request(conn: http.client.HTTPConnection, path: str, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        assert resp.status == 200, body
    return (time.perf_counter() - t0) / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=50)
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tvctl-bench-"))
    state = tmp / "state" / "tvctl"
    state.mkdir(parents=True)
    (state / "devices.json").write_bytes(registry(a.devices))
    daemon = Daemon(tmp, LOOPBACK_CONFIG).start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", daemon.port)
        assert len(json.loads(daemon.http("GET", "/v1/devices").content)["data"]) == a.devices
        per_request(conn, "/v1/devices", 50)  # warm up
        lists, pings = [], []
        for _ in range(a.rounds):
            lists.append(per_request(conn, "/v1/devices", a.requests))
            pings.append(per_request(conn, "/v1/ping", a.requests))
        ml, mp = median(lists), median(pings)
        print(f"devices: {a.devices}, requests per round: {a.requests}, rounds: {a.rounds}; medians:")
        print(f"GET /v1/ping (baseline):  {mp * 1000:.3f} ms")
        print(f"GET /v1/devices:          {ml * 1000:.3f} ms  ratio {ml / mp:.2f}x")
    finally:
        daemon.stop()


if __name__ == "__main__":
    main()
