"""Sideloading a 50 MB channel through the daemon vs. curl straight to the same fake installer.

    python bench/sideload.py [--mb 50] [--rounds 5]

Both uploads use curl (so the client is the same): to the daemon, `curl -F archive=@zip` on
/v1/devices/{id}/dev/install; directly, `curl --digest -u rokudev:… -F archive=@zip` on the fake
installer (which runs in its own process and does real digest auth). The two alternate, round by
round. Prints the median wall time of each and their ratio (target <= 1.3); the median of the
per-round ratios too, since a daemon upload and the direct one before it share the machine's
momentary load; and the daemon's peak RSS growth during the uploads (VmHWM after resetting it via
/proc/PID/clear_refs; target <= 16 MB).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

from _common import FakeProc, median, start_daemon


def make_archive(path: Path, mb: int) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("manifest", "title=bench\nmajor_version=1\nminor_version=0\n")
        zf.writestr("source/main.brs", "sub Main()\nend sub\n")
        with zf.open("images/blob.bin", "w") as fh:  # incompressible, like images and video
            for _ in range(mb):
                fh.write(os.urandom(1 << 20))


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def curl(args: list[str]) -> float:
    t0 = time.perf_counter()
    out = subprocess.run(["curl", "-s", "-S", "-o", "/dev/null", "-w", "%{http_code}", *args],
                         capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - t0
    assert out.stdout == "200", (out.stdout, out.stderr)
    return elapsed


def settle(dev_dir: Path) -> None:
    """Wait until the daemon has deleted the upload it no longer needs.

    It does that after answering; letting it overlap the next round's direct upload would slow the
    baseline and flatter the ratio.
    """
    deadline = time.monotonic() + 10
    while any(dev_dir.glob("upload-*")) or any(dev_dir.glob("*.old-*")):
        if time.monotonic() > deadline:
            raise SystemExit("the daemon did not delete its temporary upload within 10 s")
        time.sleep(0.005)
    time.sleep(0.05)  # and let the unlink's page-cache work drain


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tvctl-sideload-"))
    archive = tmp / "channel.zip"
    make_archive(archive, a.mb)
    fake = FakeProc("devbox")
    daemon = start_daemon(f'\n[dev]\nroku_password = "{fake.password}"\nmax_archive_mb = {a.mb + 16}\n')
    try:
        daemon.ok("PATCH", "/v1/config", json={"roku.installer_port": fake.installer_port})
        dev = daemon.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": fake.port})
        pid = daemon.proc.pid  # type: ignore[union-attr]
        dev_dir = daemon.tmp / "state" / "tvctl" / "dev"
        via_daemon = ["-F", f"archive=@{archive};type=application/zip",
                      f"{daemon.url}/v1/devices/{dev['id']}/dev/install"]
        direct = ["--digest", "-u", f"rokudev:{fake.password}", "-F", "mysubmit=Replace",
                  "-F", f"archive=@{archive};type=application/zip",
                  f"http://127.0.0.1:{fake.installer_port}/plugin_install"]
        curl(via_daemon)  # warm up: imports, first connection, the kept-archive folder
        settle(dev_dir)
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak-RSS mark
        rss0 = status_kb(pid, "VmRSS")
        t_daemon, t_direct = [], []
        for _ in range(a.rounds):
            t_direct.append(curl(direct))
            t_daemon.append(curl(via_daemon))
            settle(dev_dir)
        peak = status_kb(pid, "VmHWM")
        md, mc = median(t_daemon), median(t_direct)
        size = archive.stat().st_size
        print(f"archive: {size / 1048576:.1f} MiB, rounds: {a.rounds}")
        print(f"curl -> daemon -> fake installer: median {md:.3f} s")
        print(f"curl -> fake installer (direct):  median {mc:.3f} s")
        print(f"wall-time ratio: {md / mc:.2f}x (target <= 1.3)")
        print(f"median of per-round ratios: {median([d / c for d, c in zip(t_daemon, t_direct, strict=True)]):.2f}x")
        print(f"daemon peak RSS growth during uploads: {(peak - rss0) / 1024:.1f} MiB (target <= 16); "
              f"RSS before {rss0 / 1024:.1f} MiB")
    finally:
        daemon.stop()
        fake.stop()
        archive.unlink()


if __name__ == "__main__":
    main()
