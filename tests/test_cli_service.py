"""The CLI as a new user meets it: errors reported as what they are, timeouts sized to the request,
values typed by the daemon's schema, progress only on a terminal, help, completion and output for
people. Every test runs the real ``tvctl`` command against the real daemon."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests.conftest import Daemon
from tests.fakeroku import FakeRoku
from tests.test_cli import run


# -- errors are what they are -----------------------------------------------------------------------
def big_zip(path: Path, size: int) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("manifest", "title=big\n")
        zf.writestr("blob.bin", bytes(size))
    return path


@pytest.mark.parametrize("size", [122, 3 << 20])
def test_a_refused_upload_reports_the_daemons_answer(daemon: Daemon, roku: FakeRoku, tmp_path: Path,
                                                     size: int) -> None:
    """The daemon refuses before reading the upload and closes; the CLI must show why, every time."""
    daemon.add(roku)
    z = big_zip(tmp_path / "channel.zip", size)
    for _ in range(8):
        p = run(daemon, "dev", "install", str(z))
        assert (p.returncode, p.stderr.splitlines()[0]) == (1, f"tvctl: No developer password is set for "
                                                               f"{roku_name(daemon)}; its installer needs one."), \
            p.stderr
        p = run(daemon, "-d", "no-such-tv", "dev", "install", str(z))
        assert p.returncode == 1 and "No known device matched 'no-such-tv'" in p.stderr, p.stderr
        assert "cannot reach" not in p.stderr


def roku_name(d: Daemon) -> str:
    return str(d.ok("GET", "/v1/devices")[0]["name"])


def test_a_slow_answer_is_a_timeout_not_a_dead_daemon(daemon: Daemon, roku: FakeRoku) -> None:
    daemon.add(roku)
    daemon.ok("PATCH", "/v1/config", json={"roku.request_timeout_s": 30})
    roku.mode = "hang"
    p = run(daemon, "--timeout", "1", "key", "home")
    assert p.returncode == 1, p.stderr
    assert p.stderr.splitlines() == [
        "tvctl: the daemon did not answer within 1 s; the command may still be running",
        "hint: the daemon is running and may finish it: watch tvctl events, or check tvctl state"]
    p = run(daemon, "--json", "--timeout", "1", "key", "home")
    assert json.loads(p.stderr)["code"] == "daemon_timeout"


def test_timeouts_are_sized_to_the_request() -> None:
    from tvctl.cli import build_parser, timeout_for

    def t(*argv: str) -> float | None:
        return timeout_for(build_parser().parse_args(list(argv)))

    assert t("seq", *["right"] * 14, "--delay", "10000") >= 14 * 10 + 60  # type: ignore[operator]
    assert t("power", "on") >= 120 + 60  # type: ignore[operator]
    assert t("key", "home") < t("key", "home", "--repeat", "20", "--hold", "2000")  # type: ignore[operator]
    assert t("events") is None and t("dev", "logs", "-f") is None


def test_json_errors_are_json_on_stderr(daemon: Daemon, tmp_path: Path) -> None:
    p = run(daemon, "--json", "-d", "nope", "state")
    assert p.returncode == 1 and p.stdout == ""
    err = json.loads(p.stderr)
    assert err["code"] == "device_not_found" and "nope" in err["message"] and err["hint"]
    p = run(None, "--json", "--socket", str(tmp_path / "none.sock"), "status")
    assert p.returncode == 3 and json.loads(p.stderr)["code"] == "daemon_unreachable"
    p = run(daemon, "--json", "apps", "launch", "x", "--param", "contentId")
    assert p.returncode == 2 and json.loads(p.stderr)["code"] == "usage"
