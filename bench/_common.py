"""Shared helpers for the benchmarks: fakes in their own processes, a daemon with temp dirs."""

from __future__ import annotations

import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
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
