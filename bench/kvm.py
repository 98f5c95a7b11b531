"""Keystroke cost through the daemon vs straight to the same fake TinyPilot over the same TLS.

    python bench/kvm.py [--keys 100] [--rounds 7]

The fake (tests/fakekvm.py, HTTPS with a certificate made by openssl) runs in its own process.
Baseline: aiohttp with a kept-alive connection pinned to the fake's certificate, posting
/api/v1/keystroke with a token fetched once, as the daemon does. Daemon: POST
/v1/devices/{id}/remote/key one at a time over loopback TCP with http.client, and
/remote/sequence with delay_ms 0 (cost per key = total / keys). Prints medians and ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import multiprocessing as mp
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import median, start_daemon


def _serve(conn: Any, folder: str) -> None:
    from tests.fakekvm import FakeTinyPilot

    fake = FakeTinyPilot(Path(folder)).start()
    conn.send((fake.port, fake.fingerprint))
    conn.recv()
    fake.stop()


async def direct(port: int, fingerprint: str, n: int) -> float:
    import aiohttp

    pin = aiohttp.Fingerprint(bytes.fromhex(fingerprint))
    base = f"https://127.0.0.1:{port}/api/v1"
    async with aiohttp.ClientSession(skip_auto_headers=("Origin",)) as s:
        async with s.post(f"{base}/auth", ssl=pin) as r:
            token = (await r.json())["token"]
        headers = {"Authorization": f"Bearer {token}"}
        async with s.post(f"{base}/keystroke", json={"code": "KeyA"}, headers=headers, ssl=pin) as r:
            await r.read()
        t0 = time.perf_counter()
        for _ in range(n):
            async with s.post(f"{base}/keystroke", json={"code": "KeyA"}, headers=headers, ssl=pin) as r:
                await r.read()
                assert r.status == 200
        return (time.perf_counter() - t0) / n


def post(conn: http.client.HTTPConnection, path: str, body: object) -> None:
    conn.request("POST", path, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    raw = resp.read()
    assert resp.status == 200, raw


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=7)
    a = ap.parse_args()
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(child, tempfile.mkdtemp(prefix="tvctl-bench-tls-")), daemon=True)
    proc.start()
    port, fingerprint = parent.recv()
    d = start_daemon()
    try:
        dev = d.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": port, "platform": "tinypilot"})
        conn = http.client.HTTPConnection("127.0.0.1", d.port)
        key_path = f"/v1/devices/{dev['id']}/remote/key"
        post(conn, key_path, {"key": "KeyA"})  # token and connection made
        base: list[float] = []
        keys: list[float] = []
        seqs: list[float] = []
        for _ in range(a.rounds):
            base.append(asyncio.run(direct(port, fingerprint, a.keys)))
            t0 = time.perf_counter()
            for _ in range(a.keys):
                post(conn, key_path, {"key": "KeyA"})
            keys.append((time.perf_counter() - t0) / a.keys)
            t0 = time.perf_counter()
            post(conn, f"/v1/devices/{dev['id']}/remote/sequence", {"keys": ["KeyA"] * a.keys, "delay_ms": 0})
            seqs.append((time.perf_counter() - t0) / a.keys)
        b, k, s = median(base), median(keys), median(seqs)
        print(f"keys per round: {a.keys}, rounds: {a.rounds}; medians:")
        print(f"direct to the fake TinyPilot, aiohttp over pinned TLS: {b * 1000:.3f} ms/key")
        print(f"daemon remote/key round trip:                          {k * 1000:.3f} ms/key  ratio {k / b:.2f}x")
        print(f"daemon remote/sequence, delay_ms=0:                    {s * 1000:.3f} ms/key  ratio {s / b:.2f}x")
    finally:
        d.stop()
        parent.send("stop")
        proc.join(10)


if __name__ == "__main__":
    main()
