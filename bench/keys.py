"""Per-key cost through the daemon vs driving the same fake Roku directly, in one run.

    python bench/keys.py [--keys 200] [--rounds 5]

Two direct baselines, both keep-alive, to the fake (which runs in its own process):
http.client (the same client the daemon path is driven with here) and aiohttp (the client the daemon
itself uses towards the TV). Ratios are printed against both.
Daemon: POST /v1/devices/{id}/remote/key one at a time over loopback TCP, and
POST /v1/devices/{id}/remote/sequence with delay_ms 0 (cost per key = total / keys).
Prints the median of each over several rounds and the ratios (targets: sequence ≤ 1.2x, key ≤ 3x).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import time

from _common import FakeProc, median, per_call, start_daemon


def post(conn: http.client.HTTPConnection, path: str, body: object | None = None) -> bytes:
    data = json.dumps(body).encode() if body is not None else b""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    conn.request("POST", path, body=data, headers=headers)
    resp = conn.getresponse()
    raw = resp.read()
    assert resp.status == 200, raw
    return raw


async def direct_aiohttp(port: int, n: int) -> float:
    import aiohttp

    async with aiohttp.ClientSession() as s:
        url = f"http://127.0.0.1:{port}/keypress/Home"
        async with s.post(url, headers={"Content-Length": "0"}) as r:  # open the connection
            await r.read()
        t0 = time.perf_counter()
        for _ in range(n):
            async with s.post(url, headers={"Content-Length": "0"}) as r:
                await r.read()
        return (time.perf_counter() - t0) / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=7)
    a = ap.parse_args()
    fake = FakeProc("tv")
    daemon = start_daemon()
    try:
        dev = daemon.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": fake.port})
        base = f"/v1/devices/{dev['id']}/remote"
        to_fake = http.client.HTTPConnection("127.0.0.1", fake.port)
        to_daemon = http.client.HTTPConnection("127.0.0.1", daemon.port)
        post(to_fake, "/keypress/Home")
        post(to_daemon, base + "/key", {"key": "home"})
        seq_len = min(a.keys, 100)
        d_direct, d_aio, d_key, d_seq = [], [], [], []
        for _ in range(a.rounds):
            d_direct.append(per_call(a.keys, lambda: post(to_fake, "/keypress/Home")))
            d_aio.append(asyncio.run(direct_aiohttp(fake.port, a.keys)))
            d_key.append(per_call(a.keys, lambda: post(to_daemon, base + "/key", {"key": "home"})))
            d_seq.append(per_call(1, lambda: post(to_daemon, base + "/sequence",
                                                  {"keys": ["home"] * seq_len, "delay_ms": 0})) / seq_len)
        md, ma, mk, ms = median(d_direct), median(d_aio), median(d_key), median(d_seq)
        print(f"keys per round: {a.keys} (sequence: {seq_len}), rounds: {a.rounds}; medians:")
        print(f"direct, http.client:                {md * 1000:.3f} ms/key")
        print(f"direct, aiohttp:                    {ma * 1000:.3f} ms/key")
        print(f"daemon remote/key round trip:       {mk * 1000:.3f} ms/key  "
              f"ratio {mk / md:.2f}x vs http.client, {mk / ma:.2f}x vs aiohttp (target <= 3)")
        print(f"daemon remote/sequence, delay_ms=0: {ms * 1000:.3f} ms/key  "
              f"ratio {ms / md:.2f}x vs http.client, {ms / ma:.2f}x vs aiohttp (target <= 1.2)")
    finally:
        daemon.stop()
        fake.stop()


if __name__ == "__main__":
    main()
