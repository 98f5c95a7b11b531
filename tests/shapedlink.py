"""A link shaped like home Wi-Fi between two network namespaces this test run creates.

    daemon namespace                                        device namespace
    tvh0 10.213.N.1  <-- tbf rate limit --> relay <-- tbf rate limit -->  tvd0 10.213.N.2

Each side has a TUN device (MTU 1500) with a ``tc`` token-bucket filter on its egress, so every
packet leaves at the link's rate. A relay thread moves IP packets between the two TUN devices and
holds each for the one-way delay plus or minus the jitter (packets keep their order, as on one
Wi-Fi station). Delay and jitter are done by the relay because this kernel has no ``netem``.

Everything lives in the two namespaces: no address or route is added to the machine's own
network, and deleting the namespaces removes it all. Needs root, ``ip`` and ``tc``; ``unavailable()``
says why a machine cannot build it, for a test to skip with.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import heapq
import os
import random
import selectors
import shutil
import struct
import subprocess
import threading
import time
from pathlib import Path

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000
CLONE_NEWNET = 0x40000000
MTU = 1500


def unavailable() -> str | None:
    """Why a shaped link cannot be built here, or None."""
    if os.geteuid() != 0:
        return "needs root (ip netns, tc)"
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not Path("/dev/net/tun").exists():
        return "/dev/net/tun is missing"
    return None


def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=20)


def enter_netns(name: str) -> None:
    """Move the calling thread (and threads it starts later) into network namespace ``name``."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({name}): {os.strerror(err)}")
    finally:
        os.close(fd)


def _open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


class ShapedLink:
    def __init__(self, *, rate: str = "20mbit", delay_ms: float = 5.0, jitter_ms: float = 3.0) -> None:
        n = random.randrange(1, 250)
        tag = f"{os.getpid() % 10000}-{n}"
        self.host_ns, self.device_ns = f"tvctl-h{tag}", f"tvctl-d{tag}"
        self.host_ip, self.device_ip = f"10.213.{n}.1", f"10.213.{n}.2"
        self.rate, self.delay_s, self.jitter_s = rate, delay_ms / 1000, jitter_ms / 1000
        self.packets = 0
        self.max_packet = 0
        self._fds: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def up(self) -> ShapedLink:
        try:
            for ns in (self.host_ns, self.device_ns):
                _run("ip", "netns", "add", ns)
                _run("ip", "-n", ns, "link", "set", "lo", "up")
            for dev, ns, ip, peer in (("tvh0", self.host_ns, self.host_ip, self.device_ip),
                                      ("tvd0", self.device_ns, self.device_ip, self.host_ip)):
                name = f"{dev}{os.getpid() % 100000}"[:15]
                self._fds[dev] = _open_tun(name)  # made in this namespace, then moved
                _run("ip", "link", "set", name, "netns", ns)
                _run("ip", "-n", ns, "link", "set", name, "name", dev)
                _run("ip", "-n", ns, "link", "set", dev, "mtu", str(MTU))
                _run("ip", "-n", ns, "addr", "add", ip, "peer", peer, "dev", dev)
                _run("ip", "-n", ns, "link", "set", dev, "up")
                _run("tc", "-n", ns, "qdisc", "add", "dev", dev, "root", "tbf", "rate", self.rate,
                     "burst", "15kb", "latency", "200ms")
        except BaseException:
            self.down()
            raise
        self._thread = threading.Thread(target=self._relay, daemon=True, name="shaped-link")
        self._thread.start()
        return self

    def down(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        for ns in (self.host_ns, self.device_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)

    def _relay(self) -> None:
        sel = selectors.DefaultSelector()
        h, d = self._fds["tvh0"], self._fds["tvd0"]
        sel.register(h, selectors.EVENT_READ, d)
        sel.register(d, selectors.EVENT_READ, h)
        queue: list[tuple[float, int, int, bytes]] = []
        last_due = {h: 0.0, d: 0.0}  # per direction: packets keep their order
        seq = 0
        while not self._stop.is_set():
            now = time.monotonic()
            while queue and queue[0][0] <= now:
                _, _, out, pkt = heapq.heappop(queue)
                with contextlib.suppress(OSError):  # the namespace is going away
                    os.write(out, pkt)
            timeout = min(0.05, queue[0][0] - now) if queue else 0.05
            for key, _ in sel.select(max(timeout, 0)):
                src, out = key.fd, key.data
                while True:
                    try:
                        pkt = os.read(src, 65536)
                    except BlockingIOError:
                        break
                    except OSError:
                        return
                    self.packets += 1
                    self.max_packet = max(self.max_packet, len(pkt))
                    due = time.monotonic() + self.delay_s + random.uniform(-self.jitter_s, self.jitter_s)
                    due = last_due[out] = max(due, last_due[out])
                    seq += 1
                    heapq.heappush(queue, (due, seq, out, pkt))
        sel.close()
