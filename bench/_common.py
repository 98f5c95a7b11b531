"""Shared helpers for the benchmarks: fakes in their own processes, a daemon with temp dirs."""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "adapters"))

from tests.conftest import LOOPBACK_CONFIG, Daemon  # noqa: E402
from tests.fakeroku import FakeRoku  # noqa: E402


def _serve_fake(conn: Any, kind: str, serial: str | None, access: str, delay_s: float) -> None:
    roku = FakeRoku(kind, serial=serial).start()
    roku.access = access
    roku.delay_s = delay_s
    conn.send((roku.port, roku.installer_port, roku.password))
    conn.recv()  # until the parent says stop
    roku.stop()


class FakeProc:
    """A FakeRoku in a child process, so it does not share the benchmark's GIL."""

    def __init__(self, kind: str = "tv", serial: str | None = None, access: str = "enabled",
                 delay_s: float = 0.0) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve_fake, args=(child, kind, serial, access, delay_s),
                                 daemon=True)
        self._proc.start()
        self.port, self.installer_port, self.password = self._conn.recv()
        self.host = "127.0.0.1"

    def stop(self) -> None:
        self._conn.send("stop")
        self._proc.join(10)


def start_daemon(extra_config: str = "") -> Daemon:
    tmp = Path(tempfile.mkdtemp(prefix="tvctl-bench-"))
    return Daemon(tmp, LOOPBACK_CONFIG + extra_config).start()


def per_call(n: int, fn: Callable[[], object]) -> float:
    """Seconds per call of ``fn``, over ``n`` calls."""
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def post(conn: http.client.HTTPConnection, path: str, body: object) -> None:
    conn.request("POST", path, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    raw = resp.read()
    assert resp.status == 200, raw


def keystroke_bench(fake: str, serve: Callable[[Any, str], None], add: dict[str, Any],
                    direct: Callable[[int, str, int], Coroutine[Any, Any, float]]) -> None:
    """The KVM keystroke benchmark: a fake (``serve(conn, folder)`` in a spawned process sends back
    its port and certificate fingerprint, then stops when told) added to a daemon with the body
    ``add`` (its port filled in); per round, ``direct(port, fingerprint, n)`` straight to the fake,
    then n single keys and one n-key sequence through the daemon. Prints medians and ratios."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=7)
    a = ap.parse_args()
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=serve, args=(child, tempfile.mkdtemp(prefix="tvctl-bench-tls-")), daemon=True)
    proc.start()
    port, fingerprint = parent.recv()
    d = start_daemon()
    try:
        dev = d.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": port, **add})
        conn = http.client.HTTPConnection("127.0.0.1", d.port)
        key_path = f"/v1/devices/{dev['id']}/remote/key"
        post(conn, key_path, {"key": "KeyA"})  # the daemon's token and connection made
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
        first = f"direct to the fake {fake}, aiohttp over pinned TLS: "
        print(f"keys per round: {a.keys}, rounds: {a.rounds}; medians:")
        print(f"{first}{b * 1000:.3f} ms/key")
        print(f"{'daemon remote/key round trip:':<{len(first)}}{k * 1000:.3f} ms/key  ratio {k / b:.2f}x")
        print(f"{'daemon remote/sequence, delay_ms=0:':<{len(first)}}{s * 1000:.3f} ms/key  ratio {s / b:.2f}x")
    finally:
        d.stop()
        parent.send("stop")
        proc.join(10)
