"""Keystroke cost through the daemon vs straight to the same fake TinyPilot over the same TLS.

    python bench/kvm.py [--keys 100] [--rounds 7]

The fake (tests/fakekvm.py, HTTPS with a certificate made by openssl) runs in its own process.
Baseline: aiohttp with a kept-alive connection pinned to the fake's certificate, posting
/api/v1/keystroke with a token fetched once, as the daemon does. Daemon: POST
/v1/devices/{id}/remote/key one at a time over loopback TCP with http.client, and
/remote/sequence with delay_ms 0 (cost per key = total / keys). Prints medians and ratios.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from _common import keystroke_bench


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


def main() -> None:
    keystroke_bench("TinyPilot", _serve, {"platform": "tinypilot"}, direct)


if __name__ == "__main__":
    main()
