"""Discovery of N simulated Rokus whose SSDP answers come late, as the spec lets them.

    python bench/discovery.py [--devices 20] [--runs 20]

Each fake Roku serves real HTTP on 127.0.0.1; one loopback SSDP responder answers for all of
them and, like a real responder, waits a random 0..MX seconds before each answer (MX is what the
search asked for). Nothing leaves the machine. The daemon runs with its default discovery window
(discovery.timeout_ms as shipped); only the SSDP target is pointed at the responder.

Per run the registry is emptied and POST /v1/devices/discover is streamed (Accept:
text/event-stream): the time until the Nth ``device_found`` and the number of devices the run
missed are recorded. Baseline, same run, same responder: this process sends one M-SEARCH with the
same MX and fetches each device-info as its answer arrives, stopping at the Nth (it knows N; the
daemon cannot). Printed: medians, the ratio, and misses over all runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import socket
import time

import aiohttp
import httpx
from _common import median, start_daemon

from tests.fakeroku import FakeRoku, FakeSsdp
from tvctl.discovery.ssdp import build_msearch


def daemon_run(daemon, n: int) -> tuple[float | None, int, float]:
    """(time until all n were found, or None; how many the run found; how long the run took)."""
    for d in daemon.ok("GET", "/v1/devices"):
        daemon.ok("DELETE", f"/v1/devices/{d['id']}")
    found: list[float] = []
    t0 = time.perf_counter()
    with httpx.stream("POST", daemon.url + "/v1/devices/discover", headers={"Accept": "text/event-stream"},
                      timeout=60) as r:
        event = ""
        for line in r.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "device_found":
                found.append(time.perf_counter() - t0)
            elif line.startswith("data:") and event == "done":
                devices = json.loads(line[5:])["data"]["devices"]
    took = time.perf_counter() - t0
    return (found[n - 1] if len(found) >= n else None), len(devices), took


async def direct_run(responder_port: int, n: int, mx: int) -> tuple[float, int]:
    loop = asyncio.get_running_loop()
    replies: asyncio.Queue[bytes] = asyncio.Queue()

    class Proto(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            replies.put_nowait(data)

    t0 = time.perf_counter()
    transport, _ = await loop.create_datagram_endpoint(Proto, local_addr=("127.0.0.1", 0), family=socket.AF_INET)
    transport.sendto(build_msearch(("127.0.0.1", responder_port), "roku:ecp", mx=mx), ("127.0.0.1", responder_port))
    async with aiohttp.ClientSession() as s:
        async def confirm(location: str) -> bool:
            async with s.get(location + "query/device-info") as r:
                return r.status == 200 and b"<serial-number>" in await r.read()

        tasks: list[asyncio.Task[bool]] = []
        seen: set[str] = set()
        while len(tasks) < n:
            data = (await asyncio.wait_for(replies.get(), 10)).decode()
            loc = re.search(r"\r\nLOCATION: *(\S+)", data, re.I)
            if loc and loc.group(1) not in seen:
                seen.add(loc.group(1))
                tasks.append(asyncio.create_task(confirm(loc.group(1))))
        ok = sum(await asyncio.gather(*tasks))
    elapsed = time.perf_counter() - t0
    transport.close()
    return elapsed, ok


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=20)
    ap.add_argument("--runs", type=int, default=20)
    a = ap.parse_args()
    rokus = [FakeRoku(("stick", "box", "tv")[i % 3], serial=f"BENCH{i:07d}").start() for i in range(a.devices)]
    responder = FakeSsdp(delay="random")
    for r in rokus:
        responder.add_device(r)
    daemon = start_daemon()
    try:
        daemon.ok("PATCH", "/v1/config", json={"discovery.timeout_ms": None,  # the shipped default
                                               "discovery.ssdp_target": f"127.0.0.1:{responder.port}"})
        window = daemon.ok("GET", "/v1/config")["discovery"]["timeout_ms"]
        d_all, d_took, misses, b_all = [], [], [], []
        mx = 1
        for _ in range(a.runs):
            searches = len(responder.searches)
            t_all, n_found, took = daemon_run(daemon, a.devices)
            m = re.search(rb"\r\nMX: *(\d+)\r\n", responder.searches[searches])
            mx = int(m.group(1)) if m else 1
            misses.append(a.devices - n_found)
            d_took.append(took)
            if t_all is not None:
                d_all.append(t_all)
            bt, bf = asyncio.run(direct_run(responder.port, a.devices, mx))
            assert bf == a.devices
            b_all.append(bt)
        complete = sum(1 for x in misses if x == 0)
        print(f"devices: {a.devices}, runs: {a.runs}, window: {window} ms (default), MX asked: {mx} s")
        print(f"runs that found all {a.devices}: {complete} of {a.runs}; devices missed per run: {misses}")
        if d_all:
            print(f"daemon: all found after median {median(d_all) * 1000:.0f} ms "
                  f"(max {max(d_all) * 1000:.0f}); whole run median {median(d_took) * 1000:.0f} ms")
        print(f"direct search + device-info (baseline, stops at the Nth): median {median(b_all) * 1000:.0f} ms")
        if d_all:
            print(f"ratio daemon/baseline (time to all found): {median(d_all) / median(b_all):.2f}x")
    finally:
        daemon.stop()
        responder.close()
        for r in rokus:
            r.stop()


if __name__ == "__main__":
    main()
