"""Keys while a dashboard polls: key latency with 16 concurrent state readers vs alone, one run.

    python bench/contention.py [--keys 200] [--key-clients 1] [--readers 16] [--rounds 3] [--device-ms 15]

A fake Roku TV in its own process that takes --device-ms to answer each request (a TV on a home
network answers in 10-50 ms), one daemon. Alone: --key-clients threads each POST
/v1/devices/{id}/remote/key one at a time over loopback TCP, --keys times. Busy: the same while
--readers threads each GET /v1/devices/{id}/state in a loop on their own connections. Prints the
median over rounds of each phase's p50 and p99, the ratio busy/alone (target: key p99 busy <= 3x
key p99 alone), and how many state reads the readers got per second.
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time

from _common import FakeProc, median, start_daemon


def key_latencies(port: int, path: str, n: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    body = json.dumps({"key": "home"}).encode()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        raw = resp.read()
        out.append(time.perf_counter() - t0)
        assert resp.status == 200, raw
    conn.close()
    return out


def keys_from(clients: int, port: int, path: str, n: int) -> list[float]:
    """Latencies of ``clients`` key clients pressing ``n`` keys each at the same time."""
    results: list[list[float]] = [[] for _ in range(clients)]

    def run(i: int) -> None:
        results[i] = key_latencies(port, path, n)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    return [x for r in results for x in r]


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def reader(port: int, path: str, stop: threading.Event, counts: list[int], i: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    while not stop.is_set():
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        counts[i] += 1
    conn.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=200)
    ap.add_argument("--readers", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--device-ms", type=float, default=15.0)
    ap.add_argument("--key-clients", type=int, default=1)
    a = ap.parse_args()
    fake = FakeProc("tv", delay_s=a.device_ms / 1000)
    daemon = start_daemon()
    try:
        dev = daemon.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": fake.port})
        key_path = f"/v1/devices/{dev['id']}/remote/key"
        state_path = f"/v1/devices/{dev['id']}/state"
        key_latencies(daemon.port, key_path, 20)  # warm up
        alone50, alone99, busy50, busy99, rates = [], [], [], [], []
        for _ in range(a.rounds):
            lat = keys_from(a.key_clients, daemon.port, key_path, a.keys)
            alone50.append(pct(lat, 50))
            alone99.append(pct(lat, 99))
            stop = threading.Event()
            counts = [0] * a.readers
            threads = [threading.Thread(target=reader, args=(daemon.port, state_path, stop, counts, i), daemon=True)
                       for i in range(a.readers)]
            for t in threads:
                t.start()
            t0 = time.perf_counter()
            lat = keys_from(a.key_clients, daemon.port, key_path, a.keys)
            elapsed = time.perf_counter() - t0
            stop.set()
            for t in threads:
                t.join(30)
            busy50.append(pct(lat, 50))
            busy99.append(pct(lat, 99))
            rates.append(sum(counts) / elapsed)
        ma50, ma99, mb50, mb99 = median(alone50), median(alone99), median(busy50), median(busy99)
        print(f"key clients: {a.key_clients}, keys each per phase: {a.keys}, state readers: {a.readers}, "
              f"device answers in {a.device_ms:g} ms, rounds: {a.rounds}; medians over rounds:")
        print(f"key alone:            p50 {ma50 * 1000:7.2f} ms   p99 {ma99 * 1000:7.2f} ms  (baseline)")
        print(f"key with {a.readers} readers:  p50 {mb50 * 1000:7.2f} ms   p99 {mb99 * 1000:7.2f} ms  "
              f"p99 ratio {mb99 / ma99:.2f}x (target <= 3)")
        print(f"state reads answered meanwhile: {median(rates):.0f}/s")
    finally:
        daemon.stop()
        fake.stop()


if __name__ == "__main__":
    main()
