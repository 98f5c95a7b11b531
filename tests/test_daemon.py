"""The daemon process: envelope, listeners, config, CORS and the loopback guard, over real sockets."""

from __future__ import annotations

import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import tomlkit

from tests.conftest import LOOPBACK_CONFIG, Daemon
from tests.fakeroku import FakeRoku
from tests.inproc import InProcDaemon

ROOT = Path(__file__).resolve().parents[1]


# -- envelope and listeners --------------------------------------------------------------------
@pytest.mark.parametrize("via", ["tcp", "unix"])
def test_ping_and_status_on_both_listeners(shared_daemon: Daemon, via: str) -> None:
    call = shared_daemon.http if via == "tcp" else shared_daemon.unix
    r = call("GET", "/v1/ping")
    assert r.status_code == 200 and r.json() == {"ok": True, "data": "pong"}
    st = call("GET", "/v1/daemon/status").json()["data"]
    assert st["pid"] == shared_daemon.proc.pid  # type: ignore[union-attr]
    assert st["socket"] == str(shared_daemon.socket)
    assert st["http_enabled"] is True and st["http_host"] == "127.0.0.1" and st["http_port"] == shared_daemon.port
    assert st["device_count"] == 0 and st["default_device"] is None
    assert st["version"] and st["uptime_s"] >= 0


@pytest.mark.parametrize("via", ["tcp", "unix"])
@pytest.mark.parametrize(("method", "path", "kw", "status", "code"), [
    ("GET", "/v1/nope", {}, 404, "route_not_found"),
    ("GET", "/nothing-here", {}, 404, "route_not_found"),
    ("PUT", "/v1/ping", {}, 405, "method_not_allowed"),
    ("DELETE", "/v1/config", {}, 405, "method_not_allowed"),
    ("PATCH", "/v1/config", {"content": b"{nope", "headers": {"Content-Type": "application/json"}}, 400,
     "invalid_json"),
    ("PATCH", "/v1/config", {"content": b"[1,2]", "headers": {"Content-Type": "application/json"}}, 400,
     "invalid_json"),
    ("PATCH", "/v1/config", {"content": b'{"a":1}', "headers": {"Content-Type": "text/plain"}}, 415,
     "unsupported_media_type"),
    ("POST", "/v1/devices", {"content": b"host=x", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
     415, "unsupported_media_type"),
    ("PATCH", "/v1/config", {"json": {"x": "y" * 70_000}}, 413, "payload_too_large"),
    ("PATCH", "/v1/config", {"json": {"daemon.http_port": "eighty"}}, 400, "invalid_config_value"),
    ("PATCH", "/v1/config", {"json": {"daemon.http_port": 70000}}, 400, "invalid_config_value"),
    ("PATCH", "/v1/config", {"json": {"daemon.bogus": 1}}, 400, "unknown_config_key"),
    ("PATCH", "/v1/config", {"json": {"daemon.cors_enabled": {"nested": 1}}}, 400, "invalid_config_value"),
    ("PATCH", "/v1/config", {"json": {}}, 400, "invalid_payload"),
    ("POST", "/v1/devices", {"json": {"host": 5}}, 400, "invalid_payload"),
    # found by schemathesis: a lone surrogate escape is valid JSON but no text (it crashed the resolver)
    ("POST", "/v1/devices", {"content": b'{"host": "\\ud800x"}', "headers": {"Content-Type": "application/json"}},
     400, "invalid_json"),
    ("PATCH", "/v1/config", {"content": b'{"dev.roku_password": "a\\udfffb"}',
                             "headers": {"Content-Type": "application/json"}}, 400, "invalid_json"),
    ("POST", "/v1/devices", {"json": {"host": "MG\u00c1.lan"}}, 400, "invalid_payload"),
    ("POST", "/v1/devices", {"json": {"host": "192.168.1.500"}}, 400, "invalid_payload"),
    ("POST", "/v1/devices", {"json": {"host": "-roku.lan"}}, 400, "invalid_payload"),
    ("POST", "/v1/devices", {"json": {"host": "fe80::1"}}, 400, "invalid_payload"),
    ("POST", "/v1/devices", {"json": {"host": "a" * 64 + ".lan"}}, 400, "invalid_payload"),
    ("POST", "/v1/devices", {"json": {}}, 400, "invalid_payload"),
    ("GET", "/v1/devices/nobody", {}, 404, "device_not_found"),
    ("GET", "/v1/devices/default/state", {}, 404, "no_default_device"),
    ("GET", "/v1/devices?limit=0", {}, 400, "invalid_query"),
    ("GET", "/v1/devices?sort_by=password", {}, 400, "invalid_query"),
    ("GET", "/v1/devices?filter=name", {}, 400, "invalid_query"),
])  # fmt: skip
def test_every_error_is_an_envelope(shared_daemon: Daemon, via: str, method: str, path: str, kw: dict[str, Any],
                                    status: int, code: str) -> None:
    call = shared_daemon.http if via == "tcp" else shared_daemon.unix
    r = call(method, path, **kw)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["ok"] is False and body["error"]["code"] == code
    assert body["error"]["message"] and body["error"]["hint"]
    assert "Traceback" not in r.text


def test_unexpected_exception_is_internal_error_without_traceback(daemon: Daemon, roku: FakeRoku) -> None:
    dev = daemon.add(roku)
    # The app cache file turns into a folder: reading it fails in a way nothing maps.
    (daemon.tmp / "cache" / "tvctl" / "apps" / f"{dev['id']}.json").mkdir(parents=True)
    r = daemon.http("GET", "/v1/devices/default/apps")
    assert r.status_code == 500
    err = r.json()["error"]
    assert err["code"] == "internal_error" and err["hint"]
    assert "Traceback" not in r.text and "IsADirectoryError" not in err["hint"]
    assert "Traceback" in daemon.log()  # logged for the operator
    assert daemon.http("GET", "/v1/ping").status_code == 200  # and the daemon carries on


def test_a_state_folder_that_cannot_be_written_is_storage_failed(inproc: InProcDaemon, roku: FakeRoku) -> None:
    dev = inproc.add(roku)
    # The state directory turns into a file: the registry cannot be saved.
    state = inproc.tmp / "state" / "tvctl"
    shutil.rmtree(state)
    state.write_text("not a directory")
    err = inproc.err("PATCH", "/v1/devices/default", 500, "storage_failed", json={"name": "den"})
    assert str(state / "devices.json") in err["message"] and "File exists" in err["message"]
    assert inproc.ok("GET", "/v1/devices")[0]["name"] == dev["name"]  # the rename did not happen


def test_openapi_lists_every_route(inproc: InProcDaemon) -> None:
    doc = inproc.http("GET", "/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    from tvctl.api.app import ROUTES

    for e in ROUTES:
        assert e.method.lower() in doc["paths"][e.path], (e.method, e.path)
    assert doc["paths"]["/v1/devices/{id}/remote/key"]["post"]["requestBody"]["content"]["application/json"]
    codes = doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    assert "device_not_found" in codes and "origin_not_allowed" in codes
    # request bodies say what the server enforces: unknown fields and unknown config keys are refused
    ref = doc["paths"]["/v1/devices"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    add = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert add["additionalProperties"] is False and add["properties"]["host"]["minLength"] == 1
    assert add["required"] == ["host"] and {"type": "null"} in add["properties"]["port"]["anyOf"]
    ref = doc["paths"]["/v1/devices/{id}/remote/key"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    key = doc["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]
    assert key["properties"]["repeat"]["anyOf"][0] == {"type": "integer", "minimum": 1, "maximum": 50}
    limit = next(p for p in doc["paths"]["/v1/devices"]["get"]["parameters"] if p["name"] == "limit")
    assert limit == {"name": "limit", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1000}}
    patch = doc["paths"]["/v1/config"]["patch"]["requestBody"]["content"]["application/json"]["schema"]
    assert "roku.dev_password" in patch["propertyNames"]["enum"] and "x" not in patch["propertyNames"]["enum"]


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("PUT", "/v1/config", {"GET", "HEAD", "PATCH"}),
    ("OPTIONS", "/v1/devices", {"GET", "HEAD", "POST"}),
    ("POST", "/v1/devices/tv", {"GET", "HEAD", "PATCH", "DELETE"}),
    ("GET", "/v1/devices/tv/remote/key", {"POST"}),
])  # fmt: skip
def test_405_names_every_method_of_the_path(inproc: InProcDaemon, method: str, path: str,
                                            allowed: set[str]) -> None:
    """Found by schemathesis: Allow used to list only the first route's methods (GET, HEAD)."""
    r = inproc.http(method, path)
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
    assert set(r.headers["allow"].split(", ")) == allowed
    assert all(m in r.json()["error"]["hint"] for m in allowed)


# -- config ------------------------------------------------------------------------------------
def test_config_get_redacts_secrets(tmp_path: Path) -> None:
    d = Daemon(tmp_path, LOOPBACK_CONFIG + '\n[dev]\nroku_password = "hunter2"\n').start()
    try:
        cfg = d.ok("GET", "/v1/config")
        assert cfg["roku"]["dev_password"] == "***"  # read from its old name, dev.roku_password
        assert "dev" not in cfg or "roku_password" not in cfg["dev"]
        assert "hunter2" not in d.http("GET", "/v1/config").text
        assert cfg["daemon"]["http_port"] == 0 and cfg["discovery"]["interfaces"] == ["127.0.0.1"]
        assert cfg["daemon"]["api_token"] == ""  # unset secrets show as empty, not as ***
    finally:
        d.stop()


def test_config_patch_keeps_comments_and_applies(daemon: Daemon) -> None:
    data = daemon.ok("PATCH", "/v1/config", json={
        "daemon.cors_enabled": True,
        "daemon.cors_allowed_origins": "http://127.0.0.1:8080",  # one string for a list key
        "state.poll_interval_s": 3,
        "daemon.default_device": "den",
    })
    assert data["restart_required"] == []
    assert data["config"]["daemon"]["cors_allowed_origins"] == ["http://127.0.0.1:8080"]
    text = daemon.config_path.read_text()
    assert text.startswith("# test config\n")  # the user's comment survived
    doc = tomlkit.parse(text)
    assert doc["daemon"]["cors_enabled"] is True and doc["state"]["poll_interval_s"] == 3.0
    assert daemon.ok("GET", "/v1/config")["daemon"]["default_device"] == "den"
    # null resets to the default and drops the key from the file
    data = daemon.ok("PATCH", "/v1/config", json={"daemon.default_device": None})
    assert data["config"]["daemon"]["default_device"] == ""
    assert "default_device" not in daemon.config_path.read_text()
    # a restart-only key is written and reported
    data = daemon.ok("PATCH", "/v1/config", json={"daemon.http_port": 7999})
    assert data["restart_required"] == ["daemon.http_port"]
    assert daemon.http("GET", "/v1/ping").status_code == 200  # still on the old port


def test_invalid_patch_writes_nothing(daemon: Daemon) -> None:
    before = daemon.config_path.read_bytes()
    daemon.err("PATCH", "/v1/config", 400, "invalid_config_value",
               json={"daemon.cors_enabled": True, "discovery.timeout_ms": 5})
    daemon.err("PATCH", "/v1/config", 400, "invalid_config_value",
               json={"daemon.cors_allowed_origins": ["http://ok:1", "*"]})
    assert daemon.config_path.read_bytes() == before
    assert daemon.ok("GET", "/v1/config")["daemon"]["cors_enabled"] is False


def test_concurrent_patches_lose_nothing(daemon: Daemon) -> None:
    keys: list[tuple[str, str | int | float]] = [
        ("daemon.default_device", "tv{}"), ("roku.wol_port", 1000), ("dev.log_buffer_lines", 500),
            ("discovery.interval_s", 100), ("state.poll_interval_s", 5.0), ("roku.console_port", 9000)]
    errors: list[object] = []

    def patch(i: int) -> None:
        key, base = keys[i % len(keys)]
        value = base.format(i) if isinstance(base, str) else base + i
        r = daemon.http("PATCH", "/v1/config", json={key: value})
        if r.status_code != 200:
            errors.append(r.text)

    threads = [threading.Thread(target=patch, args=(i,)) for i in range(len(keys))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    doc = tomlkit.parse(daemon.config_path.read_text())
    assert doc["daemon"]["default_device"] == "tv0"
    assert doc["roku"]["wol_port"] == 1001 and doc["roku"]["console_port"] == 9005
    assert doc["dev"]["log_buffer_lines"] == 502 and doc["discovery"]["interval_s"] == 103
    assert doc["state"]["poll_interval_s"] == 9.0


def test_reload_valid_invalid_and_restart_required(daemon: Daemon) -> None:
    text = daemon.config_path.read_text().replace("http_port = 0", "http_port = 7555")
    daemon.config_path.write_text(text + '\n[dev]\nroku_password = "pw"\n')
    data = daemon.ok("POST", "/v1/config/reload")
    assert data["restart_required"] == ["daemon.http_port"]
    assert data["config"]["roku"]["dev_password"] == "***"
    # bad TOML: refused, names the line; the running config stays
    daemon.config_path.write_text(text + "\n[dev\nroku_password = 1\n")
    err = daemon.err("POST", "/v1/config/reload", 400, "config_file_invalid")
    assert "line" in err["message"]
    # a key given twice: refused, names the key
    daemon.config_path.write_text(text + "\n[dev]\nroku_password = 'a'\nroku_password = 'b'\n")
    err = daemon.err("POST", "/v1/config/reload", 400, "config_file_invalid")
    assert "roku_password" in err["message"]
    # a bad value: refused, names the key
    daemon.config_path.write_text(text.replace("timeout_ms = 1500", "timeout_ms = 1"))
    err = daemon.err("POST", "/v1/config/reload", 400, "config_file_invalid")
    assert "discovery.timeout_ms" in err["message"]
    assert daemon.ok("GET", "/v1/config")["roku"]["dev_password"] == "***"


def test_sighup_reloads(daemon: Daemon) -> None:
    daemon.config_path.write_text(daemon.config_path.read_text() + '\n[state]\npoll_interval_s = 42.0\n')
    daemon.proc.send_signal(signal.SIGHUP)  # type: ignore[union-attr]
    deadline = time.monotonic() + 10
    while daemon.ok("GET", "/v1/config")["state"]["poll_interval_s"] != 42.0:
        assert time.monotonic() < deadline, daemon.log()
        time.sleep(0.05)
    assert daemon.proc.poll() is None  # type: ignore[union-attr]


def test_example_config_documents_and_loads_every_key() -> None:
    from tvctl.config import load, schema

    path = ROOT / "config.example.toml"
    load(path)  # raises if any key or value is invalid
    text = path.read_text()
    for key in schema():
        section, name = key.split(".")
        assert (f"[{section}]" in text and f"\n{name} = " in text) or f"\n# {name} = " in text, key
    lines = text.splitlines()
    for i, line in enumerate(lines):  # every key line has a comment right above it
        if " = " in line and not line.startswith("#"):
            assert lines[i - 1].startswith("#"), line


# -- CORS and the loopback guard ---------------------------------------------------------------
def test_cors_allowed_denied_preflight_and_live_change(daemon: Daemon) -> None:
    page = "http://127.0.0.1:8080"
    daemon.err("GET", "/v1/devices", 403, "origin_not_allowed", headers={"Origin": page})
    daemon.ok("PATCH", "/v1/config", json={"daemon.cors_enabled": True, "daemon.cors_allowed_origins": [page]})
    r = daemon.http("GET", "/v1/devices", headers={"Origin": page})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == page
    assert "Origin" in r.headers["vary"]
    pre = daemon.http("OPTIONS", "/v1/devices/default/remote/key", headers={
        "Origin": page, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
    assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == page
    assert "POST" in pre.headers["access-control-allow-methods"]
    assert "content-type" in pre.headers["access-control-allow-headers"].lower()
    # similar-looking origins are not reflected
    for other in ("http://0.0.0.0:8080", "http://127.0.0.1:8081", "https://127.0.0.1:8080", "null"):
        r = daemon.http("GET", "/v1/devices", headers={"Origin": other})
        assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
        r = daemon.http("OPTIONS", "/v1/devices", headers={"Origin": other, "Access-Control-Request-Method": "GET"})
        assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
    # turned off again by reload from the file: applies without restart
    text = daemon.config_path.read_text().replace("cors_enabled = true", "cors_enabled = false")
    daemon.config_path.write_text(text)
    daemon.ok("POST", "/v1/config/reload")
    daemon.err("GET", "/v1/devices", 403, "origin_not_allowed", headers={"Origin": page})


def test_foreign_origin_simple_post_is_refused_before_the_handler(daemon: Daemon) -> None:
    before = daemon.config_path.read_bytes()
    # What a web page can send without a preflight: text/plain with a JSON-looking body.
    r = daemon.http("PATCH", "/v1/config", content=b'{"daemon.cors_enabled":true}',
                    headers={"Origin": "http://evil.example", "Content-Type": "text/plain"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "origin_not_allowed"
    r = daemon.http("POST", "/v1/devices", content=b"host=127.0.0.1",
                    headers={"Origin": "http://evil.example", "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 403
    assert daemon.config_path.read_bytes() == before
    assert daemon.ok("GET", "/v1/devices") == []


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1:1", "rebind.localhost.evil:{port}",
                                  "192.168.1.10:{port}"])
def test_host_header_refused(shared_daemon: Daemon, host: str) -> None:
    shared_daemon.err("GET", "/v1/devices", 403, "host_not_allowed",
                      headers={"Host": host.format(port=shared_daemon.port)})


def test_host_header_accepted_forms(shared_daemon: Daemon) -> None:
    for host in (f"127.0.0.1:{shared_daemon.port}", f"localhost:{shared_daemon.port}"):
        assert shared_daemon.http("GET", "/v1/ping", headers={"Host": host}).status_code == 200
    # the Unix socket is authorised by its file mode; any Host is fine there
    assert shared_daemon.unix("GET", "/v1/ping", headers={"Host": "whatever"}).status_code == 200


def test_allowed_hosts_config(daemon: Daemon) -> None:
    daemon.err("GET", "/v1/ping", 403, "host_not_allowed", headers={"Host": "tv.lan"})
    daemon.ok("PATCH", "/v1/config", json={"daemon.allowed_hosts": ["tv.lan"]})
    assert daemon.http("GET", "/v1/ping", headers={"Host": f"tv.lan:{daemon.port}"}).status_code == 200


def test_api_token(tmp_path: Path) -> None:
    d = Daemon(tmp_path, LOOPBACK_CONFIG.replace("[daemon]\n", '[daemon]\napi_token = "s3cret"\n')).start()
    try:
        d.err("GET", "/v1/devices", 401, "unauthorized")
        d.err("GET", "/v1/devices", 401, "unauthorized", headers={"Authorization": "Bearer wrong"})
        assert d.http("GET", "/v1/devices", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert d.http("GET", "/v1/ping").status_code == 200  # liveness never needs the token
        assert d.unix("GET", "/v1/devices").status_code == 200  # the socket needs none
        assert "s3cret" not in d.http("GET", "/v1/config", headers={"Authorization": "Bearer s3cret"}).text
    finally:
        d.stop()


def test_non_loopback_listen_needs_a_token(tmp_path: Path) -> None:
    d = Daemon(tmp_path, LOOPBACK_CONFIG.replace("[daemon]\n", '[daemon]\nhttp_host = "0.0.0.0"\n'))
    proc = d.spawn()
    assert proc.wait(20) == 2
    assert "api_token" in d.log()
    assert not d.socket.exists()


def test_http_can_be_disabled(tmp_path: Path) -> None:
    d = Daemon(tmp_path, LOOPBACK_CONFIG.replace("[daemon]\n", "[daemon]\nhttp_enabled = false\n")).start()
    try:
        assert d.unix("GET", "/v1/daemon/status").json()["data"]["http_enabled"] is False
        assert d.port == 0
    finally:
        d.stop()


# -- socket hygiene and lifecycle --------------------------------------------------------------
def test_socket_mode_and_live_socket_refusal(daemon: Daemon) -> None:
    assert stat.S_IMODE(daemon.socket.stat().st_mode) == 0o600
    second = Daemon(daemon.tmp)  # same dirs, same socket path
    proc = second.spawn()
    assert proc.wait(20) == 1
    assert "already listening" in second.log()
    assert daemon.unix("GET", "/v1/ping").status_code == 200  # the first one is untouched


def test_stale_socket_is_replaced(tmp_path: Path) -> None:
    d = Daemon(tmp_path)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(d.socket))
    stale.close()  # the file stays, nobody listens
    assert d.socket.exists()
    d.start()
    try:
        assert d.unix("GET", "/v1/ping").status_code == 200
    finally:
        d.stop()


def test_clean_shutdown_finishes_inflight_requests(daemon: Daemon, roku: FakeRoku) -> None:
    daemon.add(roku)
    roku.mode = "hang"  # the request below waits for the 2 s device timeout
    result: dict[str, httpx.Response] = {}
    t = threading.Thread(target=lambda: result.setdefault("r", daemon.http(
        "POST", "/v1/devices/default/remote/key", json={"key": "home"})))
    t.start()
    deadline = time.monotonic() + 5
    while not roku.paths():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert daemon.stop(signal.SIGTERM) == 0
    t.join(10)
    r = result["r"]
    assert r.status_code == 500 and r.json()["error"]["code"] == "device_timeout"
    assert not daemon.socket.exists()
    assert "stopped" in daemon.log()


def test_sigint_also_shuts_down_cleanly(daemon: Daemon) -> None:
    assert daemon.stop(signal.SIGINT) == 0
    assert not daemon.socket.exists()


def test_missing_config_means_defaults(tmp_path: Path) -> None:
    d = Daemon(tmp_path)
    d.config_path.unlink()
    env = {**d.env}
    out = subprocess.run([sys.executable, "-c", "from tvctl import config, paths; "
                          "print(config.load(paths.config_file())[1]['daemon.http_port'])"],
                         env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "7272"


def test_bad_config_file_refuses_to_start(tmp_path: Path) -> None:
    d = Daemon(tmp_path, "[daemon]\nhttp_port = 'x'\n")
    assert d.spawn().wait(20) == 2
    assert "daemon.http_port" in d.log()


def test_systemd_ready_and_stopping_notifications(tmp_path: Path) -> None:
    notify_path = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(notify_path))
    listener.settimeout(20)
    d = Daemon(tmp_path, extra_env={"NOTIFY_SOCKET": str(notify_path)})
    d.start()
    try:
        assert listener.recv(256) == b"READY=1"
        # READY only comes once both listeners accept
        assert d.http("GET", "/v1/ping").status_code == 200
    finally:
        d.stop()
    assert listener.recv(256) == b"STOPPING=1"
    listener.close()


def test_corrupt_registry_is_moved_aside(tmp_path: Path) -> None:
    state = tmp_path / "state" / "tvctl"
    state.mkdir(parents=True)
    (state / "devices.json").write_text("{not json")
    d = Daemon(tmp_path).start()
    try:
        assert d.ok("GET", "/v1/devices") == []
        assert any(p.name.startswith("devices.json.corrupt-") for p in state.iterdir())
        assert "corrupt" in d.log()
    finally:
        d.stop()


def test_uvicorn_is_the_version_the_upload_protocol_was_written_for() -> None:
    """tvctl.daemon.HttpProtocol tunes uvicorn's private httptools protocol: pinned exactly."""
    import importlib.metadata
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pin = next(d for d in deps if d.startswith("uvicorn"))
    assert pin == "uvicorn==0.54.0"
    assert importlib.metadata.version("uvicorn") == "0.54.0"
