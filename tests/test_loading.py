"""What the daemon reads at start: a config file or a state file it cannot trust is never taken
for something else. Real daemon; every file here is written by the test before the daemon starts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import Daemon
from tests.fakeroku import FakeRoku

DEEP = 100_000  # far deeper than Python's recursion limit


def state_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "state" / "tvctl"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def log_lines(d: Daemon, needle: str) -> list[str]:
    return [line for line in d.log().splitlines() if needle in line]


def test_an_empty_config_file_stops_the_daemon_at_start(tmp_path: Path) -> None:
    d = Daemon(tmp_path, config_text="")
    proc = d.spawn()
    assert proc.wait(20) == 2
    assert d.log().splitlines() == [
        f"tvctl daemon: {d.config_path} is empty (0 bytes): fix it, or delete it to start with the defaults"]
    assert d.config_path.read_bytes() == b""  # nothing written over it
    assert not d.socket.exists()


def test_a_registry_of_another_version_is_moved_aside_and_kept(tmp_path: Path) -> None:
    state = state_dir(tmp_path)
    original = json.dumps({"version": 99, "devices": [{"id": "from-the-future", "name": "den"}]}).encode()
    (state / "devices.json").write_bytes(original)
    d = Daemon(tmp_path).start()
    roku = FakeRoku("tv").start()
    try:
        assert d.ok("GET", "/v1/devices") == []
        [aside] = [p for p in state.iterdir() if p.name.startswith("devices.json.")]
        assert re.fullmatch(r"devices\.json\.version-99-\d+", aside.name)
        assert aside.read_bytes() == original
        [line] = log_lines(d, "is version 99")
        assert (f"the device registry {state / 'devices.json'} is version 99; this daemon reads version 1. "
                f"Moved it to {aside} (kept as it was) and started empty; a tvctl that reads version 99 can use "
                "it again") in line
        d.add(roku)  # the registry written from then on is this daemon's
        assert json.loads((state / "devices.json").read_text())["version"] == 1
    finally:
        d.stop()
        roku.stop()


def test_a_registry_without_a_version_is_corrupt(tmp_path: Path) -> None:
    state = state_dir(tmp_path)
    (state / "devices.json").write_text('{"devices": []}')
    d = Daemon(tmp_path).start()
    try:
        [aside] = [p for p in state.iterdir() if p.name.startswith("devices.json.")]
        assert re.fullmatch(r"devices\.json\.corrupt-\d+", aside.name)
        [line] = log_lines(d, "is corrupt")
        assert f'{state / "devices.json"} is corrupt (it has no "version" number); moved it to {aside}' in line
    finally:
        d.stop()


@pytest.mark.parametrize("name", ["devices.json", "credentials.json"])
@pytest.mark.parametrize("shape", ["array", "object"])
def test_a_state_file_nested_too_deep_is_moved_aside(tmp_path: Path, name: str, shape: str) -> None:
    state = state_dir(tmp_path)
    body = "[" * DEEP + "]" * DEEP if shape == "array" else '{"a":' * DEEP + "1" + "}" * DEEP
    (state / name).write_text(body)
    d = Daemon(tmp_path).start()
    try:
        assert d.ok("GET", "/v1/devices") == []
        [aside] = [p for p in state.iterdir() if p.name.startswith(f"{name}.")]
        assert re.fullmatch(re.escape(name) + r"\.corrupt-\d+", aside.name)
        assert aside.read_text() == body
        what = "the device registry" if name == "devices.json" else "the credentials file"
        [line] = log_lines(d, "is corrupt")
        assert f"{what} {state / name} is corrupt (it is nested too deeply to read); moved it to {aside}" in line
        assert "Traceback" not in d.log() and "RecursionError" not in d.log()
    finally:
        d.stop()


def test_a_credential_that_is_not_a_string_is_left_out(tmp_path: Path) -> None:
    a, b = FakeRoku("tv", serial="CREDS-A").start(), FakeRoku("tv", serial="CREDS-B").start()
    d = Daemon(tmp_path).start()
    try:
        dev_a, dev_b = d.add(a), d.add(b)
        for dev in (dev_a, dev_b):
            d.ok("PATCH", f"/v1/devices/{dev['id']}/credentials", json={"dev_password": "s3cret-pw"})
        d.stop()
        stored = tmp_path / "state" / "tvctl" / "credentials.json"
        doc = json.loads(stored.read_text())
        doc["devices"][dev_a["id"]]["dev_password"] = 5  # a hand edit: a number, not "5"
        stored.write_text(json.dumps(doc))
        written = stored.read_bytes()
        d.start()
        report = d.ok("GET", f"/v1/devices/{dev_a['id']}/credentials")
        assert [(f["name"], f["set"]) for f in report["fields"]] == [("dev_password", False)]
        report = d.ok("GET", f"/v1/devices/{dev_b['id']}/credentials")  # the other device's secret still works
        assert [(f["name"], f["set"]) for f in report["fields"]] == [("dev_password", True)]
        assert d.ok("GET", f"/v1/devices/{dev_a['id']}")["has_credentials"] is False
        [line] = log_lines(d, "not a string")
        assert (f"the credentials file {stored}: dev_password of device {dev_a['id']} is a number, not a string; "
                f"left it out (set it again: tvctl -d {dev_a['id']} device credentials --set dev_password)") in line
        assert stored.read_bytes() == written  # left as it is on disk until the next change
        assert [p.name for p in stored.parent.iterdir() if ".corrupt-" in p.name] == []
        d.ok("PATCH", f"/v1/devices/{dev_a['id']}/credentials", json={"dev_password": "5"})
        assert json.loads(stored.read_text())["devices"][dev_a["id"]] == {"dev_password": "5"}
    finally:
        d.stop()
        a.stop()
        b.stop()


@pytest.mark.parametrize(("doc", "reason"), [
    ({"version": 1, "devices": []}, '"devices" is not an object'),
    ({"version": 1, "devices": {"x": "pw"}}, "the entry of device x is not an object"),
    ({"version": 7, "devices": {}}, None),
])  # fmt: skip
def test_a_credentials_file_of_the_wrong_shape_is_moved_aside(tmp_path: Path, doc: dict[str, object],
                                                               reason: str | None) -> None:
    state = state_dir(tmp_path)
    (state / "credentials.json").write_text(json.dumps(doc))
    d = Daemon(tmp_path).start()
    try:
        [aside] = [p for p in state.iterdir() if p.name.startswith("credentials.json.")]
        if reason is None:
            assert re.fullmatch(r"credentials\.json\.version-7-\d+", aside.name)
            assert "is version 7; this daemon reads version 1" in d.log()
        else:
            assert re.fullmatch(r"credentials\.json\.corrupt-\d+", aside.name)
            assert f"is corrupt ({reason}); moved it to {aside}" in d.log()
    finally:
        d.stop()
