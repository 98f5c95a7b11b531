"""The core works from platform declarations alone: a toy platform, installed through the
tvctl.adapters entry point with no file outside tests/toyplatform/ written for it, is driven
through the real daemon's API and the real CLI; and no core module names a platform."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Daemon

ROOT = Path(__file__).resolve().parents[1]
TOY = Path(__file__).parent / "toyplatform"
TVCTL = str(Path(sys.executable).with_name("tvctl"))


def with_toy() -> dict[str, str]:
    return {"PYTHONPATH": os.pathsep.join([str(TOY), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}


@pytest.fixture
def toy_daemon(tmp_path: Path) -> Iterator[Daemon]:
    d = Daemon(tmp_path, extra_env=with_toy()).start()
    try:
        yield d
    finally:
        d.stop()


def cli(d: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **with_toy(), "XDG_RUNTIME_DIR": str(d.runtime)}
    return subprocess.run([TVCTL, *args], env=env, capture_output=True, text=True, timeout=60)


def test_a_toy_platform_through_the_api_and_the_cli(toy_daemon: Daemon, tmp_path: Path) -> None:
    d = toy_daemon
    # its settings section is part of the config, with its default
    assert d.ok("GET", "/v1/config")["toy"] == {"greeting": "hello"}
    # added without naming a platform: Roku is tried first (nothing on port 9), then the toy
    dev = d.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": 9})
    assert (dev["platform"], dev["kind"], dev["serial"]) == ("toy", "toy", "TOY-127.0.0.1")
    assert dev["capabilities"] == ["keys", "text", "screenshot", "pointer"]
    base = f"/v1/devices/{dev['id']}"
    # keyboard-style names reach it; a name it does not take is invalid_key with its own list
    for name in ("home", "KeyA", "ctrl+alt+Delete"):
        assert d.ok("POST", base + "/remote/key", json={"key": name})["key"] == name
    err = d.err("POST", base + "/remote/key", 400, "invalid_key", json={"key": "power"})
    assert "toy" in err["message"] and "ctrl+alt+Delete" in err["hint"]
    # a sequence with one bad key sends none of them
    d.err("POST", base + "/remote/sequence", 400, "invalid_key", json={"keys": ["up", "volume-up"]})
    # what it cannot do is a checked state
    assert d.err("GET", base + "/apps", 400, "unsupported_operation")
    d.err("GET", base + "/state", 400, "unsupported_operation")
    # the CLI: a key, text, a setting of its section, and the screenshot
    p = cli(d, "-d", dev["name"], "key", "up")
    assert p.returncode == 0, p.stderr
    assert cli(d, "-d", dev["name"], "type", "hi").returncode == 0
    assert cli(d, "config", "set", "toy.greeting", "hey").returncode == 0
    shot = tmp_path / "toy.shot"
    p = cli(d, "-d", dev["name"], "screenshot", "-o", str(shot))
    assert p.returncode == 0, p.stderr
    assert shot.read_bytes() == b"hey:home,KeyA,ctrl+alt+Delete,up,literal:hi"
    r = d.http("GET", base + "/screenshot")
    assert r.headers["content-type"] == "image/x-toy" and r.headers["x-content-type-options"] == "nosniff"
    # and Roku's ECP names are not a toy's: the platform says so before anything is sent
    p = cli(d, "device", "add", "127.0.0.1", "--port", "9", "--platform", "roku")
    assert p.returncode == 1 and "roku at 127.0.0.1:9" in p.stderr


def test_keyboard_names_are_invalid_on_a_roku(shared_daemon: Daemon) -> None:
    from tests.fakeroku import FakeRoku

    roku = FakeRoku("tv", serial="NOKEYBOARD").start()
    try:
        dev = shared_daemon.add(roku)
        roku.clear()
        for name in ("KeyA", "ctrl+alt+Delete"):
            err = shared_daemon.err("POST", f"/v1/devices/{dev['id']}/remote/key", 400, "invalid_key",
                                    json={"key": name})
            assert "roku" in err["message"] and "tvctl key --help" in err["hint"]
        assert roku.paths() == []
    finally:
        roku.stop()


def test_no_core_module_names_a_platform() -> None:
    offenders = []
    for path in sorted((ROOT / "tvctl").rglob("*.py")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"roku|tvctl_adapters|\becp\b", line, re.I):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []


def test_a_generated_client_has_typed_models(shared_daemon: Daemon, tmp_path: Path) -> None:
    """datamodel-codegen, run on the daemon's own /v1/openapi.json, emits real Device,
    DeviceState and App classes with typed fields (not 'anything')."""
    spec = tmp_path / "openapi.json"
    spec.write_bytes(shared_daemon.http("GET", "/v1/openapi.json").content)
    out = tmp_path / "models.py"
    codegen = Path(sys.executable).with_name("datamodel-codegen")
    p = subprocess.run([str(codegen), "--input", str(spec), "--input-file-type", "openapi", "--output", str(out),
                        "--output-model-type", "dataclasses.dataclass"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    code = out.read_text()
    for cls, fields in (("Device", ["id: str", "host: str", "port: int", "online: bool", "capabilities: list[str]"]),
                        ("DeviceState", ["active_app: ActiveApp | None", "unavailable: list[Unavailable]"]),
                        ("App", ["platform_id: str", "version: str | None"]),
                        ("KeyResult", ["device: str", "key: str", "sent: int | None = None"]),
                        ("LaunchResult", ["launched: App", "params: dict[str, str]"]),
                        ("StopResult", ["stopped: ActiveApp | None"]),
                        ("ReloadResult", ["reinstalled: InstallResult | None = None"]),
                        ("LogReport", ["lines: list[LogLine]", "cursor: int"]),
                        ("KeyPress", ["key: str", "repeat: int | None = None"])):
        body = re.search(rf"^class {cls}:\n((?:    .*\n|\n)+?)(?=^\S)", code + "\nEND\n", re.M)
        assert body is not None, f"no class {cls} in the generated client"
        for f in fields:
            assert f"    {f}" in body.group(1), (cls, f, body.group(1))


def test_openapi_declares_queries_errors_by_status_and_the_token(shared_daemon: Daemon) -> None:
    doc = shared_daemon.http("GET", "/v1/openapi.json").json()
    listing = doc["paths"]["/v1/devices"]["get"]
    assert [p["name"] for p in listing["parameters"]] == ["limit", "start", "sort_by", "sort_reverse", "filter"]
    assert listing["parameters"][0]["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1000}
    assert "device_not_found" in listing["responses"]["404"]["description"]
    key = doc["paths"]["/v1/devices/{id}/remote/key"]["post"]["responses"]
    assert "device_busy" in key["503"]["description"] and "invalid_key" in key["400"]["description"]
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer",
                                                              "description": "daemon.api_token"}
    assert doc["paths"]["/v1/ping"]["get"]["security"] == []


def test_settings_are_read_as_typed_frozen_sections() -> None:
    """One declaration per section: the config keys (with defaults and flags) come from it, and
    code reads it as a frozen, typed object."""
    import dataclasses

    from tvctl.config import DaemonSettings, DiscoverySettings, Settings, schema
    from tvctl.fields import fields_of

    s = Settings.defaults()
    daemon = s.section(DaemonSettings)
    assert (daemon.http_port, daemon.queue_wait_s, daemon.cors_allowed_origins) == (7272, 10.0, ())
    assert s.section(DaemonSettings) is daemon  # built once per Settings
    with pytest.raises(dataclasses.FrozenInstanceError):
        daemon.http_port = 1  # type: ignore[misc]
    assert s.section(DiscoverySettings).timeout_ms == 2000
    keys = schema()
    assert keys["daemon.api_token"].secret and keys["daemon.http_port"].restart
    assert (keys["discovery.timeout_ms"].min, keys["discovery.timeout_ms"].max) == (1500, 30000)
    assert keys["discovery.interfaces"].type is list and keys["discovery.interfaces"].default == []
    assert set(fields_of(DaemonSettings)) == {k.split(".", 1)[1] for k in keys if k.startswith("daemon.")}
