"""Writes that never half-happen, and config files that are never misread. Real daemon; the state,
config and cache folders are small tmpfs mounts the tests fill up or make read-only (as root)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Daemon
from tests.fakeroku import FakeRoku
from tests.inproc import InProcDaemon

can_mount = os.geteuid() == 0 and shutil.which("mount") is not None
needs_mount = pytest.mark.skipif(not can_mount, reason="needs root to mount a small tmpfs")


class Mounts:
    def __init__(self) -> None:
        self.points: list[Path] = []

    def tmpfs(self, where: Path, size_kb: int) -> Path:
        where.mkdir(parents=True, exist_ok=True)
        kept = {p.name: p.read_bytes() for p in where.glob("*/*") if p.is_file()}
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tvctl-test", str(where)], check=True)
        self.points.append(where)
        for name, data in kept.items():  # e.g. the config file the Daemon wrote before the mount
            (where / "tvctl").mkdir(exist_ok=True)
            (where / "tvctl" / name).write_bytes(data)
        return where

    def read_only(self, where: Path, ro: bool = True) -> None:
        subprocess.run(["mount", "-o", f"remount,{'ro' if ro else 'rw'}", str(where)], check=True)

    def undo(self) -> None:
        for p in reversed(self.points):
            subprocess.run(["umount", "-l", str(p)], check=False)


@pytest.fixture
def mounts() -> Iterator[Mounts]:
    m = Mounts()
    try:
        yield m
    finally:
        m.undo()


def fill(folder: Path) -> Path:
    """Fill the file system holding ``folder`` to the last byte."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as fh:
        try:
            while True:
                fh.write(b"\0" * 4096)
        except OSError:
            pass
    return filler


@needs_mount
def test_a_read_only_state_dir_changes_nothing_and_says_why(tmp_path: Path, mounts: Mounts) -> None:
    state = mounts.tmpfs(tmp_path / "state", 1024)
    a, b = FakeRoku("tv").start(), FakeRoku("stick").start()
    d = Daemon(tmp_path).start()
    try:
        dev = d.add(a)
        mounts.read_only(state)
        for method, path, body in (("PATCH", f"/v1/devices/{dev['id']}", {"name": "den"}),
                                   ("DELETE", f"/v1/devices/{dev['id']}", None),
                                   ("POST", "/v1/devices", {"host": b.host, "port": b.port})):
            err = d.err(method, path, 500, "storage_failed", json=body)
            assert "devices.json" in err["message"] and "Read-only file system" in err["message"]
            assert [(x["id"], x["name"]) for x in d.ok("GET", "/v1/devices")] == [(dev["id"], dev["name"])]
        d.stop()
        d.start()  # with the state dir still read-only
        assert [x["id"] for x in d.ok("GET", "/v1/devices")] == [dev["id"]]  # read from it (online: checked at start)
        assert d.ok("POST", "/v1/devices/default/remote/key", json={"key": "home"})["key"] == "home"
        assert a.paths()[-1] == "/keypress/Home"
        assert d.ok("GET", "/v1/devices")[0]["online"] is True
    finally:
        d.stop()
        a.stop()
        b.stop()


@needs_mount
def test_a_full_disk_is_storage_failed_and_changes_nothing(tmp_path: Path, mounts: Mounts) -> None:
    roku = FakeRoku("tv").start()
    d = Daemon(tmp_path)
    for folder in ("state", "config", "cache"):
        mounts.tmpfs(tmp_path / folder, 256)
    config_before = d.config_path.read_bytes()
    d.start()
    try:
        dev = d.add(roku)
        fillers = [fill(tmp_path / folder) for folder in ("state", "config", "cache")]
        err = d.err("PATCH", f"/v1/devices/{dev['id']}", 500, "storage_failed", json={"name": "den"})
        assert "devices.json" in err["message"] and "No space left on device" in err["message"]
        assert d.ok("GET", f"/v1/devices/{dev['id']}")["name"] == dev["name"]
        err = d.err("PATCH", "/v1/config", 500, "storage_failed", json={"state.poll_interval_s": 30})
        assert "config.toml" in err["message"] and "No space left on device" in err["message"]
        assert d.ok("GET", "/v1/config")["state"]["poll_interval_s"] == 10.0
        assert d.config_path.read_bytes() == config_before
        err = d.err("GET", f"/v1/devices/{dev['id']}/apps", 500, "storage_failed")
        assert f"apps/{dev['id']}.json" in err["message"] and "No space left on device" in err["message"]
        err = d.err("PATCH", f"/v1/devices/{dev['id']}/credentials", 500, "storage_failed",
                    json={"dev_password": "s3cret-pw"})
        assert "credentials.json" in err["message"] and "No space left on device" in err["message"]
        assert "s3cret-pw" not in err["message"] + err["hint"]
        assert d.ok("GET", f"/v1/devices/{dev['id']}/credentials")["fields"][0]["set"] is False
        assert not (tmp_path / "state" / "tvctl" / "credentials.json").exists()
        assert [p.name for p in (tmp_path / "state" / "tvctl").iterdir() if p.name.endswith(".tmp")] == []
        for f in fillers:
            f.unlink()
        assert d.ok("PATCH", f"/v1/devices/{dev['id']}", json={"name": "den"})["name"] == "den"
        assert d.ok("PATCH", "/v1/config", json={"state.poll_interval_s": 30})["config"]["state"][
            "poll_interval_s"] == 30.0
        assert d.ok("PATCH", f"/v1/devices/{dev['id']}/credentials",
                    json={"dev_password": "s3cret-pw"})["fields"][0]["set"] is True
    finally:
        d.stop()
        roku.stop()


@needs_mount
def test_a_corrupt_registry_in_a_read_only_state_dir_is_one_line(tmp_path: Path, mounts: Mounts) -> None:
    state = mounts.tmpfs(tmp_path / "state", 256)
    (state / "tvctl").mkdir()
    (state / "tvctl" / "devices.json").write_text('{"devices": [{"id": ')
    mounts.read_only(state)
    d = Daemon(tmp_path)
    proc = d.spawn()
    assert proc.wait(20) == 1
    out = d.log()
    assert "Traceback" not in out
    line = next(ln for ln in out.splitlines() if ln.startswith("tvctl daemon: "))
    assert "devices.json is corrupt" in line and "Read-only file system" in line and "fix or remove it" in line


def test_temp_files_of_interrupted_writes_are_removed_at_start(tmp_path: Path) -> None:
    d = Daemon(tmp_path)
    leftovers = [tmp_path / "state" / "tvctl" / f".devices.json.{i:02d}abcdef.tmp" for i in range(31)]
    leftovers += [d.config_path.parent / ".config.toml.k3j4h5g6.tmp",
                  tmp_path / "cache" / "tvctl" / "apps" / ".0b6e.json.zz_9yy8x.tmp"]
    keep = [tmp_path / "state" / "tvctl" / ".notes.tmp", tmp_path / "state" / "tvctl" / "devices.json.bak"]
    for p in leftovers + keep:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b'{"version": 1, "dev')
    d.start()
    try:
        assert [p for p in leftovers if p.exists()] == []
        assert all(p.exists() for p in keep)
        assert "removed 31 temp file(s)" in d.log()
    finally:
        d.stop()


def test_an_empty_config_file_is_refused_on_reload(inproc: InProcDaemon) -> None:
    inproc.ok("PATCH", "/v1/config", json={"daemon.api_token": "s3cret-token", "daemon.cors_enabled": True})
    auth = {"Authorization": "Bearer s3cret-token"}
    inproc.config_path.write_bytes(b"")
    err = inproc.err("POST", "/v1/config/reload", 400, "config_file_invalid", headers=auth)
    assert "empty" in err["message"] and "delete it to use the defaults" in err["hint"]
    inproc.err("GET", "/v1/config", 401, "unauthorized")  # the token still guards TCP
    cfg = inproc.ok("GET", "/v1/config", headers=auth)
    assert cfg["daemon"]["api_token"] == "***" and cfg["daemon"]["cors_enabled"] is True
    inproc.err("PATCH", "/v1/config", 400, "config_file_invalid", json={"state.poll_interval_s": 20}, headers=auth)
    assert inproc.config_path.read_bytes() == b""  # and nothing was written over it


@pytest.mark.parametrize("key", ["daemon.api_token", "roku.dev_password"])
def test_errors_about_a_secret_never_show_its_value(inproc: InProcDaemon, key: str) -> None:
    err = inproc.err("PATCH", "/v1/config", 400, "invalid_config_value", json={key: 98765432123})
    assert "98765432123" not in err["message"] + err["hint"] and key in err["message"]
    text = inproc.config_path.read_text()
    if key == "daemon.api_token":
        text = text.replace("[daemon]\n", "[daemon]\napi_token = 98765432123\n")
    else:
        text = text.replace("[roku]\n", "[roku]\ndev_password = 98765432123\n")
    inproc.config_path.write_text(text)
    err = inproc.err("POST", "/v1/config/reload", 400, "config_file_invalid")
    assert "98765432123" not in err["message"] + err["hint"] and key in err["message"]
