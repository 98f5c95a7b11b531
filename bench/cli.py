"""Start-up cost of the CLI: `tvctl device list` against a running daemon vs `python3 -c pass`.

    python bench/cli.py [--runs 30]

Both are whole-process wall times measured in the same run, alternating, with the same
interpreter; prints the medians and the ratio (target <= 2.5). Bytecode caching is on for both
(PYTHONDONTWRITEBYTECODE is dropped and one warm-up run writes the .pyc files), as it is for an
installed tool: pip and pipx compile bytecode at install time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import median, start_daemon

TVCTL = str(Path(sys.executable).with_name("tvctl"))


def wall(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    a = ap.parse_args()
    daemon = start_daemon()
    try:
        env = {**os.environ, "XDG_RUNTIME_DIR": str(daemon.runtime)}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        wall([TVCTL, "device", "list"], env)  # warm the page cache
        base, cli = [], []
        for _ in range(a.runs):
            base.append(wall([sys.executable, "-c", "pass"], env))
            cli.append(wall([TVCTL, "device", "list"], env))
        mb, mc = median(base), median(cli)
        print(f"runs: {a.runs}")
        print(f"python3 -c pass:    median {mb * 1000:.1f} ms")
        print(f"tvctl device list:  median {mc * 1000:.1f} ms")
        print(f"ratio: {mc / mb:.2f}x (target <= 2.5)")
    finally:
        daemon.stop()


if __name__ == "__main__":
    main()
