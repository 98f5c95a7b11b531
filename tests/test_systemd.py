"""The systemd unit verifies cleanly, and the daemon honours systemd's directory variables."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import Daemon
from tests.fakeroku import FakeRoku

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_unit_verifies_without_warnings(tmp_path: Path) -> None:
    import subprocess

    home = tmp_path / "home"
    (home / ".local" / "bin").mkdir(parents=True)
    # ExecStart points at pipx's location; put the real console script there.
    (home / ".local" / "bin" / "tvctl").symlink_to(Path(sys.executable).with_name("tvctl"))
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)}
    p = subprocess.run(["systemd-analyze", "--user", "verify", str(ROOT / "systemd" / "tvctl.service")],
                       env=env, capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout == "" and p.stderr == "", p.stdout + p.stderr
    unit = (ROOT / "systemd" / "tvctl.service").read_text()
    assert "Type=notify" in unit and "ExecReload=/bin/kill -HUP $MAINPID" in unit
    assert "Restart=on-failure" in unit


def test_daemon_uses_systemd_directories(tmp_path: Path, roku: FakeRoku) -> None:
    dirs = {name: tmp_path / name.lower() for name in
            ("RUNTIME_DIRECTORY", "STATE_DIRECTORY", "CACHE_DIRECTORY", "CONFIGURATION_DIRECTORY")}
    for p in dirs.values():
        p.mkdir(mode=0o700)
    d = Daemon(tmp_path, extra_env={k: str(v) for k, v in dirs.items()})
    d.socket = dirs["RUNTIME_DIRECTORY"] / "tvctl.sock"
    d.start()
    try:
        st = d.unix("GET", "/v1/daemon/status").json()["data"]
        assert st["socket"] == str(d.socket)
        # --config still wins over $CONFIGURATION_DIRECTORY (the unit passes none)
        assert st["config_path"] == str(d.config_path)
        dev = d.add(roku)
        d.ok("GET", f"/v1/devices/{dev['id']}/apps")
        assert (dirs["STATE_DIRECTORY"] / "devices.json").exists()
        assert (dirs["CACHE_DIRECTORY"] / "apps" / f"{dev['id']}.json").exists()
    finally:
        d.stop()
