"""Keystroke cost through the daemon vs straight to the same fake PiKVM over the same pinned TLS.

    python bench/pikvm.py [--keys 100] [--rounds 7]

The fake (tests/fakepikvm.py, kvmd over HTTPS with a certificate made by openssl) runs in its own
process. Baseline: aiohttp with a kept-alive connection pinned to the fake's certificate, posting
/api/hid/events/send_key?key=KeyA with the X-KVMD-User/X-KVMD-Passwd headers, as the daemon does.
Daemon: POST /v1/devices/{id}/remote/key one at a time over loopback TCP with http.client, and
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

USER, PASSWORD = "admin", "bench-pass"


def _serve(conn: Any, folder: str) -> None:
    from tests.fakepikvm import FakePikvm

    fake = FakePikvm(Path(folder), username=USER, password=PASSWORD).start()
    conn.send((fake.port, fake.fingerprint))
    conn.recv()
    fake.stop()


async def direct(port: int, fingerprint: str, n: int) -> float:
    import aiohttp

    pin = aiohttp.Fingerprint(bytes.fromhex(fingerprint))
    url = f"https://127.0.0.1:{port}/api/hid/events/send_key?key=KeyA"
    headers = {"X-KVMD-User": USER, "X-KVMD-Passwd": PASSWORD}
    async with aiohttp.ClientSession() as s:
        async with s.post(url, headers=headers, ssl=pin) as r:  # the connection made
            await r.read()
        t0 = time.perf_counter()
        for _ in range(n):
            async with s.post(url, headers=headers, ssl=pin) as r:
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
        dev = d.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": port, "platform": "pikvm",
                                                "credentials": {"username": USER, "password": PASSWORD}})
        conn = http.client.HTTPConnection("127.0.0.1", d.port)
        key_path = f"/v1/devices/{dev['id']}/remote/key"
        post(conn, key_path, {"key": "KeyA"})  # the daemon's connection made
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
        print(f"direct to the fake PiKVM, aiohttp over pinned TLS: {b * 1000:.3f} ms/key")
        print(f"daemon remote/key round trip:                      {k * 1000:.3f} ms/key  ratio {k / b:.2f}x")
        print(f"daemon remote/sequence, delay_ms=0:                {s * 1000:.3f} ms/key  ratio {s / b:.2f}x")
    finally:
        d.stop()
        parent.send("stop")
        proc.join(10)


if __name__ == "__main__":
    main()
