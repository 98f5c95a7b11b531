"""Keystroke cost through the daemon vs straight to the same fake PiKVM over the same pinned TLS.

    python bench/pikvm.py [--keys 100] [--rounds 7]

The fake (tests/fakepikvm.py, kvmd over HTTPS with a certificate made by openssl) runs in its own
process. Baseline: aiohttp with a kept-alive connection pinned to the fake's certificate, posting
/api/hid/events/send_key?key=KeyA with the X-KVMD-User/X-KVMD-Passwd headers, as the daemon does.
Daemon: POST /v1/devices/{id}/remote/key one at a time over loopback TCP with http.client, and
/remote/sequence with delay_ms 0 (cost per key = total / keys). Prints medians and ratios.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from _common import keystroke_bench

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


def main() -> None:
    keystroke_bench("PiKVM", _serve, {"platform": "pikvm", "credentials": {"username": USER, "password": PASSWORD}},
                    direct)


if __name__ == "__main__":
    main()
