"""Discovery of N simulated Rokus through the daemon, against a direct search in the same run.

    python bench/discovery.py [--devices 20] [--runs 5]

Each fake Roku serves real HTTP on 127.0.0.1; one loopback SSDP responder answers for all of
them (nothing leaves the machine). Per run the registry is emptied, POST /v1/devices/discover is
called, and the time until the Nth ``device_added`` event arrives on /v1/events is taken.
Baseline, same run: this process sends the M-SEARCH itself and fetches every device-info
directly (asyncio + aiohttp, all in parallel): the floor for "search, then confirm each".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import threading
import time

import aiohttp
import httpx
from _common import median, start_daemon

from tests.fakeroku import FakeRoku, FakeSsdp
from tvctl.discovery.ssdp import build_msearch


def daemon_run(daemon, n: int) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    for d in daemon.ok("GET", "/v1/devices"):
        daemon.ok("DELETE", f"/v1/devices/{d['id']}")
    found: list[float] = []
    ready = threading.Event()
    done = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", daemon.url + "/v1/events", timeout=30) as r:
            for line in r.iter_lines():
                if line.startswith(": connected"):
                    ready.set()
                if line.startswith("event: device_added"):
                    found.append(time.perf_counter())
                    if len(found) == n:
                        done.set()
                        return

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    ready.wait(10)
    t0 = time.perf_counter()
    seen = daemon.ok("POST", "/v1/devices/discover")["devices"]
    done.wait(10)
    last = found[-1] if found else time.perf_counter()
    return last - t0, len(seen)


async def direct_run(responder_port: int, n: int) -> tuple[float, int]:
    loop = asyncio.get_running_loop()
    replies: asyncio.Queue[tuple[bytes, object]] = asyncio.Queue()

    class Proto(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            replies.put_nowait((data, addr))

    t0 = time.perf_counter()
    transport, _ = await loop.create_datagram_endpoint(Proto, local_addr=("127.0.0.1", 0), family=socket.AF_INET)
    transport.sendto(build_msearch(("127.0.0.1", responder_port)), ("127.0.0.1", responder_port))
    ok = 0
    async with aiohttp.ClientSession() as s:
        async def confirm(location: str) -> bool:
            async with s.get(location + "query/device-info") as r:
                return r.status == 200 and b"<serial-number>" in await r.read()

        tasks = []
        while len(tasks) < n:
            data, _ = await asyncio.wait_for(replies.get(), 5)
            loc = next(line.split(":", 1)[1].strip() for line in data.decode().split("\r\n")
                       if line.upper().startswith("LOCATION:"))
            tasks.append(asyncio.create_task(confirm(loc)))
        ok = sum(await asyncio.gather(*tasks))
    elapsed = time.perf_counter() - t0
    transport.close()
    return elapsed, ok


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=20)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    rokus = [FakeRoku(("stick", "box", "tv")[i % 3], serial=f"BENCH{i:07d}").start() for i in range(a.devices)]
    responder = FakeSsdp()
    for r in rokus:
        responder.add_device(r)
    daemon = start_daemon()
    try:
        daemon.ok("PATCH", "/v1/config", json={"discovery.ssdp_target": f"127.0.0.1:{responder.port}",
                                               "discovery.timeout_ms": 1500})
        d_times, d_found, b_times, b_found = [], [], [], []
        for _ in range(a.runs):
            bt, bf = asyncio.run(direct_run(responder.port, a.devices))
            b_times.append(bt)
            b_found.append(bf)
            dt, df = daemon_run(daemon, a.devices)
            d_times.append(dt)
            d_found.append(df)
        md, mb = median(d_times), median(b_times)
        print(f"devices: {a.devices}, runs: {a.runs}")
        print(f"daemon: all found after median {md * 1000:.1f} ms; found per run {d_found}")
        print(f"direct search + device-info (baseline): median {mb * 1000:.1f} ms; found per run {b_found}")
        print(f"ratio daemon/baseline: {md / mb:.2f}x")
        print("runs (ms): daemon " + json.dumps([round(t * 1000, 1) for t in d_times])
              + " baseline " + json.dumps([round(t * 1000, 1) for t in b_times]))
    finally:
        daemon.stop()
        responder.close()
        for r in rokus:
            r.stop()


if __name__ == "__main__":
    main()
