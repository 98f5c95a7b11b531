"""`tvctl device add` takes a platform's credentials generically (--credential NAME[=VALUE]), asks
for them in the words the platform declares (GET /v1/platforms), and keeps the older spellings.
Real CLI, real daemon, the fake BliKVM of tests/fakekvm.py (admin / s3cret-kvm)."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

from tests.conftest import Daemon
from tests.fakekvm import FakeBliKvm

TVCTL = str(Path(sys.executable).with_name("tvctl"))


def env(d: Daemon) -> dict[str, str]:
    return {**os.environ, "XDG_RUNTIME_DIR": str(d.runtime)}


def add(d: Daemon, kvm: FakeBliKvm, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    d.ok("PATCH", "/v1/config", json={"blikvm.snapshot_port": kvm.snapshot_port})
    return subprocess.run([TVCTL, "device", "add", "127.0.0.1", "--port", str(kvm.port), *args], input=stdin,
                          capture_output=True, text=True, timeout=60, env=env(d))


def added_blikvm(d: Daemon, p: subprocess.CompletedProcess[str]) -> None:
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("added ")
    (dev,) = d.ok("GET", "/v1/devices")
    assert (dev["platform"], dev["has_credentials"]) == ("blikvm", True)
    report = d.ok("GET", f"/v1/devices/{dev['id']}/credentials")
    assert [(f["name"], f["set"]) for f in report["fields"]] == [("password", True), ("username", True)]
    assert "s3cret-kvm" not in d.log() + p.stdout + p.stderr


def test_generic_credentials_with_the_password_piped(daemon: Daemon, kvm: FakeBliKvm) -> None:
    added_blikvm(daemon, add(daemon, kvm, "--platform", "blikvm", "--credential", "username=admin",
                             "--credential", "password", stdin="s3cret-kvm\n"))


def test_generic_credentials_with_stdin_flag_and_no_platform(daemon: Daemon, kvm: FakeBliKvm) -> None:
    added_blikvm(daemon, add(daemon, kvm, "--credential", "username=admin", "--credential", "password", "--stdin",
                             stdin="s3cret-kvm\n"))


def test_the_old_spelling_still_works(daemon: Daemon, kvm: FakeBliKvm) -> None:
    added_blikvm(daemon, add(daemon, kvm, "--username", "admin", "--password-stdin", stdin="s3cret-kvm\n"))


def test_a_credential_the_platform_does_not_take_is_the_daemons_error(daemon: Daemon, kvm: FakeBliKvm) -> None:
    p = add(daemon, kvm, "--platform", "blikvm", "--credential", "api_key", "--stdin", stdin="k-1\n")
    assert p.returncode == 1 and "api_key" in p.stderr, p.stderr
    assert daemon.ok("GET", "/v1/devices") == []


def test_malformed_credential_and_stdin_usage(daemon: Daemon, kvm: FakeBliKvm) -> None:
    p = add(daemon, kvm, "--credential", "password=")
    assert p.returncode == 2 and "NAME or NAME=VALUE" in p.stderr
    p = add(daemon, kvm, "--credential", "username", "--credential", "password", "--stdin")
    assert p.returncode == 2 and "--stdin reads one credential" in p.stderr


def answer_on_a_terminal(cmd: list[str], d: Daemon, prompt: bytes, answer: bytes) -> tuple[int, bytes, bytes]:
    """Run ``cmd`` with a pseudo-terminal on stdin, wait for ``prompt`` and for echo to be off
    (getpass turned it off), type ``answer``; its exit code, stdout and stderr."""
    master, slave = pty.openpty()
    # a new session has no controlling terminal, so getpass asks on stderr and reads the pty on stdin
    proc = subprocess.Popen(cmd, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(d),
                            start_new_session=True)
    os.close(slave)
    try:
        assert proc.stderr is not None
        said = b""
        deadline = time.monotonic() + 30
        while prompt not in said and time.monotonic() < deadline:
            if select.select([proc.stderr], [], [], 0.5)[0]:
                chunk = os.read(proc.stderr.fileno(), 1024)
                if not chunk:
                    break
                said += chunk
        assert said.endswith(prompt), said
        while termios.tcgetattr(master)[3] & termios.ECHO and time.monotonic() < deadline:
            select.select([], [], [], 0.01)  # the terminal's echo flag is the signal: no fixed wait
        os.write(master, answer)
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, out, err


def test_a_terminal_is_asked_in_the_platforms_words(daemon: Daemon, kvm: FakeBliKvm) -> None:
    daemon.ok("PATCH", "/v1/config", json={"blikvm.snapshot_port": kvm.snapshot_port})
    code, out, err = answer_on_a_terminal(
        [TVCTL, "device", "add", "127.0.0.1", "--port", str(kvm.port), "--platform", "blikvm",
         "--credential", "username=admin", "--credential", "password"], daemon, b"BliKVM password: ", b"s3cret-kvm\n")
    assert code == 0, err
    assert out.startswith(b"added ") and b"s3cret-kvm" not in out + err


def test_setting_a_credential_later_asks_in_the_platforms_words(daemon: Daemon, kvm: FakeBliKvm) -> None:
    added_blikvm(daemon, add(daemon, kvm, "--credential", "username=admin", "--credential", "password",
                             stdin="s3cret-kvm\n"))
    code, out, err = answer_on_a_terminal([TVCTL, "device", "credentials", "--set", "password"], daemon,
                                          b"BliKVM password: ", b"an0ther-secret\n")
    assert code == 0, err
    assert b"password" in out and b"an0ther-secret" not in out + err


def test_device_add_help_names_no_platform(daemon: Daemon) -> None:
    p = subprocess.run([TVCTL, "device", "add", "--help"], capture_output=True, text=True, timeout=60,
                       env=env(daemon))
    assert p.returncode == 0 and "--credential NAME[=VALUE]" in p.stdout
    for word in ("roku", "tinypilot", "blikvm", "pikvm", "advantech", "kvm", "signage", "pro", "ecp"):
        assert not re.search(rf"\b{word}\b", p.stdout, re.I), word
    for alias in ("--username", "--password-stdin", "--api-key", "--api-key-stdin", "--stdin"):
        assert alias in p.stdout


def cred(name: str, about: str, prompt: str) -> dict[str, Any]:
    return {"name": name, "about": about, "secret": True, "prompt": prompt}


def test_platforms_list_their_credentials_and_prompts(daemon: Daemon) -> None:
    got = {p["platform"]: p for p in daemon.ok("GET", "/v1/platforms")}
    assert list(got) == ["roku", "tinypilot", "blikvm", "pikvm", "advantech", "fastx"]  # probe order
    assert got["roku"]["credentials"] == [
        cred("dev_password", "Developer-mode password (user rokudev) of this Roku.", "Roku developer-mode password")]
    assert got["tinypilot"]["credentials"] == [
        cred("api_key", "A TinyPilot Pro API key; without one, tokens come from /api/v1/auth.",
             "TinyPilot Pro API key")]
    assert got["blikvm"]["credentials"] == [cred("username", "The BliKVM web user.", "BliKVM user name"),
                                            cred("password", "The BliKVM web password.", "BliKVM password")]
    assert got["advantech"]["credentials"] == [
        cred("username", "The agent's OS (or admin) account.", "Advantech agent user name"),
        cred("password", "That account's password.", "Advantech agent password")]
    assert got["fastx"]["credentials"] == [
        cred("username", "The FastX (SSH) user tvctl logs in as.", "FastX user name"),
        cred("password", "That user's password.", "FastX password")]
    assert (got["fastx"]["default_port"], got["fastx"]["options"]) == (3300, [])
    assert got["roku"]["default_port"] == 8060
    assert [o["name"] for o in got["roku"]["options"]] == ["control"]
    assert [o["name"] for o in got["blikvm"]["options"]] == ["keyboard_layout"]
    assert [o["name"] for o in got["tinypilot"]["options"]] == ["keyboard_layout", "ca_file"]
