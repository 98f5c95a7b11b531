"""Roku developer mode through the daemon's API: sideload, reload, logs, screenshot. In-process
(tests/inproc.py), except what the daemon process owns: its upload path and file limits, a client
leaving mid-upload, log streams, the CLI and restarts.

The fake installer does real digest auth and, like the device, answers an unauthenticated
request with 401 without reading its body and closes the connection. The fake console replays
the recorded logs in 7-byte writes with CRLF line ends, and refuses a second client.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import resource
import socket
import stat
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Daemon
from tests.fakeroku import FIXTURES, JPEG_STUB, PNG_1X1, FakeRoku
from tests.helpers import Events, free_port, wait_for
from tests.inproc import Api, InProcDaemon

TVCTL = str(Path(sys.executable).with_name("tvctl"))


def make_zip(manifest: bool = True, extra: bytes = b"", nested: bool = False, pad: int = 2048) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        if manifest:
            zf.writestr("app/manifest" if nested else "manifest", "title=sampleApp\nmajor_version=1\n")
        zf.writestr("source/main.brs", b"sub Main()\n  print \"hello\"\nend sub\n" + extra + b"'" * pad)
    return buf.getvalue()


Dev = tuple[InProcDaemon, FakeRoku, dict[str, Any]]
Devbox = tuple[Daemon, FakeRoku, dict[str, Any]]  # the daemon process: what its listener and its limits do


@pytest.fixture
def dev(inproc_devbox: Dev) -> Dev:
    return inproc_devbox


def install(d: Api, dev_id: str, data: bytes, name: str = "channel.zip") -> httpx.Response:
    return d.http("POST", f"/v1/devices/{dev_id}/dev/install", files={"archive": (name, data, "application/zip")},
                  timeout=120)


# -- sideload ----------------------------------------------------------------------------------
def test_install_replace_identical(dev: Dev) -> None:
    d, roku, device = dev
    z = make_zip()
    r = install(d, device["id"], z)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["result"] == "installed" and data["bytes"] == len(z)
    assert data["messages"] == [{"type": "success", "text": "Application Received: 2500809 bytes stored."}]
    # the upload went once, authenticated; only the body-less challenge request was refused
    assert roku.uploads == [{"size": len(z), "mysubmit": "Replace"}]
    assert roku.unauthenticated == 1
    assert roku.active[0] == "dev"
    kept = d.tmp / "state" / "tvctl" / "dev" / f"{device['id']}.zip"
    assert kept.read_bytes() == z
    assert install(d, device["id"], z).json()["data"]["result"] == "identical"
    z2 = make_zip(extra=b"' v2\n")
    assert install(d, device["id"], z2).json()["data"]["result"] == "replaced"
    assert kept.read_bytes() == z2
    # the temp upload and the replaced archive are deleted after the response, not before it
    wait_for(lambda: sorted(p.name for p in kept.parent.iterdir()) == [kept.name], what="only the kept archive")


def test_large_upload_arrives_intact_and_the_connection_stays_usable(
        devbox: Devbox) -> None:
    """Multi-MiB bodies take the daemon's large-read, no-copy path; the bytes must not change."""
    d, roku, device = devbox
    kept = d.tmp / "state" / "tvctl" / "dev" / f"{device['id']}.zip"
    rng = random.Random(5)
    with httpx.Client(base_url=d.url, timeout=60) as client:  # one keep-alive connection throughout
        for size in (3 << 20, 9 << 20):
            z = make_zip(extra=rng.randbytes(size))
            r = client.post(f"/v1/devices/{device['id']}/dev/install",
                            files={"archive": ("c.zip", z, "application/zip")})
            assert r.status_code == 200, r.text
            assert r.json()["data"]["bytes"] == len(z)
            assert roku.dev_md5 == hashlib.md5(z).hexdigest()  # what the device got
            assert kept.read_bytes() == z  # what the daemon kept for reload
            # a small request on the same connection after the big body
            r = client.post(f"/v1/devices/{device['id']}/remote/key", json={"key": "home"})
            assert r.status_code == 200, r.text
        # chunked transfer encoding: many body pieces per socket read, appended while the handler is busy
        z = make_zip(extra=rng.randbytes(5 << 20))
        body = b"".join([b'--b\r\nContent-Disposition: form-data; name="archive"; filename="c.zip"\r\n\r\n', z,
                         b"\r\n--b--\r\n"])
        r = client.post(f"/v1/devices/{device['id']}/dev/install",
                        content=iter([body[i:i + 4096] for i in range(0, len(body), 4096)]),
                        headers={"Content-Type": "multipart/form-data; boundary=b"})
        assert r.status_code == 200, r.text
        assert roku.dev_md5 == hashlib.md5(z).hexdigest() and kept.read_bytes() == z
    assert len(roku.uploads) == 3


def test_an_upload_the_disk_cannot_hold_is_refused_cleanly(devbox: Devbox) -> None:
    d, roku, device = devbox
    assert d.proc is not None
    folder = d.tmp / "state" / "tvctl" / "dev"
    # A file-size limit on the daemon process: its writes past 512 KiB fail with EFBIG, as on a full disk.
    resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE, (512 * 1024, resource.RLIM_INFINITY))
    try:
        r = install(d, device["id"], make_zip(pad=2 << 20))
        err = r.json()["error"]
        assert r.status_code == 500 and err["code"] == "storage_failed", r.text
        assert "Cannot store the upload" in err["message"] and "File too large" in err["message"]
        assert "disk space" in err["hint"]
        assert roku.uploads == [] and roku.unauthenticated == 0  # nothing reached the device
        wait_for(lambda: not list(folder.glob("upload-*")), what="the partial upload to be deleted")
    finally:
        resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    assert install(d, device["id"], make_zip()).status_code == 200  # the daemon carries on


def test_leftovers_of_a_crash_are_removed_at_start(tmp_path: Path) -> None:
    d = Daemon(tmp_path)
    folder = tmp_path / "state" / "tvctl" / "dev"
    folder.mkdir(parents=True)
    kept = folder / "2f0c.zip"
    z = make_zip()  # zip entries carry the current time: keep the one written
    kept.write_bytes(z)
    (folder / "upload-x1y2.zip").write_bytes(b"half an upload")
    (folder / "2f0c.zip.old-0a1b2c3d").write_bytes(b"a replaced archive")
    d.start()
    try:
        wait_for(lambda: sorted(p.name for p in folder.iterdir()) == ["2f0c.zip"], what="leftovers removed")
        assert kept.read_bytes() == z
    finally:
        d.stop()


@pytest.mark.parametrize(("payload", "code", "words"), [
    (b"not a zip at all", "invalid_archive", "not a readable zip"),
    (make_zip(manifest=False), "invalid_archive", "no 'manifest' at its root"),
    (make_zip(nested=True), "invalid_archive", "app/manifest"),
])  # fmt: skip
def test_bad_archives_never_reach_the_device(dev: Dev, payload: bytes,
                                             code: str, words: str) -> None:
    d, roku, device = dev
    r = install(d, device["id"], payload)
    assert r.status_code == 400 and r.json()["error"]["code"] == code
    assert words in r.json()["error"]["message"] and r.json()["error"]["hint"]
    assert roku.uploads == [] and roku.unauthenticated == 0


def test_upload_limits_and_form_errors(dev: Dev) -> None:
    d, roku, device = dev
    url = f"/v1/devices/{device['id']}/dev/install"
    d.ok("PATCH", "/v1/config", json={"dev.max_archive_mb": 1})
    big = make_zip(pad=2 * 1024 * 1024)
    d.err("POST", url, 413, "payload_too_large", files={"archive": ("c.zip", big, "application/zip")})
    # chunked, without a Content-Length: the limit is enforced while streaming
    body = b"".join([b"--b\r\nContent-Disposition: form-data; name=\"archive\"; filename=\"c.zip\"\r\n\r\n", big,
                     b"\r\n--b--\r\n"])
    r = d.http("POST", url, content=iter([body[i:i + 65536] for i in range(0, len(body), 65536)]),
               headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    d.err("POST", url, 400, "invalid_archive", files={"other": ("c.zip", make_zip(), "application/zip")})
    # a body without its closing boundary is refused, even when the part holds a whole zip
    cut = b"--b\r\nContent-Disposition: form-data; name=\"archive\"; filename=\"c.zip\"\r\n\r\n" + make_zip()
    err = d.err("POST", url, 400, "invalid_payload", content=cut,
                headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert "closing boundary" in err["message"]
    d.err("POST", url, 415, "unsupported_media_type", json={"archive": "x"})
    assert roku.uploads == []


def test_client_gone_mid_upload_is_not_an_error(devbox: Devbox) -> None:
    d, roku, device = devbox
    folder = d.tmp / "state" / "tvctl" / "dev"
    head = (b"--b\r\nContent-Disposition: form-data; name=\"archive\"; filename=\"c.zip\"\r\n\r\n")
    with socket.create_connection(("127.0.0.1", d.port), timeout=10) as s:
        s.sendall(f"POST /v1/devices/{device['id']}/dev/install HTTP/1.1\r\nHost: 127.0.0.1:{d.port}\r\n"
                  f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {3 << 20}\r\n\r\n".encode()
                  + head + b"\0" * (1 << 20))
        wait_for(lambda: list(folder.glob("upload-*")), what="the upload to start")
    # the client is gone (like Ctrl-C): the partial upload is deleted, nothing reached the device
    wait_for(lambda: "client disconnected during POST" in d.log(), what="the disconnect to be noticed")
    wait_for(lambda: not list(folder.glob("upload-*")), what="the partial upload to be deleted")
    assert roku.uploads == [] and roku.unauthenticated == 0
    assert "Traceback" not in d.log() and "internal error" not in d.log()
    assert install(d, device["id"], make_zip()).status_code == 200


def test_missing_password_is_refused_first(dev: Dev) -> None:
    d, roku, device = dev
    d.ok("PATCH", "/v1/config", json={"roku.dev_password": None})
    err = d.err("POST", f"/v1/devices/{device['id']}/dev/install", 400, "dev_password_missing",
                files={"archive": ("c.zip", make_zip(), "application/zip")})
    assert err["hint"] == (f"Set it: tvctl -d {device['name']} device credentials --set dev_password "
                           "(or roku.dev_password in the config, for every Roku).")
    assert roku.unauthenticated == 0


def test_each_roku_keeps_its_own_password(daemon: Daemon) -> None:
    """Two Rokus with different developer passwords, no global one: each is set per device through
    the real CLI (read from stdin, never from argv), used for that device only, never returned by
    any endpoint, kept 0600 across a restart, and forgotten with the device."""
    first, second = FakeRoku("devbox").start(), FakeRoku("devbox", host="127.0.0.2", serial="DEV2").start()
    second.password = "another-secret-2"
    try:
        one, two = daemon.add(first), daemon.add(second)
        assert first.installer_port and second.installer_port
        report = daemon.ok("GET", f"/v1/devices/{one['id']}/credentials")
        assert report == {"device": one["name"], "platform": "roku", "fields": [
            {"name": "dev_password", "about": "Developer-mode password (user rokudev) of this Roku.", "set": False}]}
        for dev, roku in ((one, first), (two, second)):
            p = subprocess.run([TVCTL, "-d", dev["name"], "device", "credentials", "--set", "dev_password"],
                               input=roku.password + "\n", capture_output=True, text=True, timeout=60,
                               env={**os.environ, "XDG_RUNTIME_DIR": str(daemon.runtime)})
            assert p.returncode == 0, p.stderr
            assert p.stdout.split() == ["dev_password", "set", "Developer-mode", "password", "(user", "rokudev)",
                                        "of", "this", "Roku."]
        stored = daemon.tmp / "state" / "tvctl" / "credentials.json"
        assert stat.S_IMODE(stored.stat().st_mode) == 0o600
        every_answer = "".join(daemon.http("GET", path).text for path in (
            "/v1/devices", f"/v1/devices/{one['id']}", f"/v1/devices/{one['id']}/credentials", "/v1/config"))
        assert first.password not in every_answer and second.password not in every_answer
        daemon.stop()
        daemon.start()  # kept across a restart
        for dev, roku in ((one, first), (two, second)):
            daemon.ok("PATCH", "/v1/config", json={"roku.installer_port": roku.installer_port})
            assert install(daemon, dev["id"], make_zip()).status_code == 200, dev["name"]
            assert len(roku.uploads) == 1
        daemon.ok("DELETE", f"/v1/devices/{two['id']}")
        assert two["id"] not in stored.read_text() and one["id"] in stored.read_text()
        cleared = daemon.ok("DELETE", f"/v1/devices/{one['id']}/credentials")
        assert (cleared["fields"][0]["set"] is False and not stored.exists()) or one["id"] not in stored.read_text()
        daemon.err("POST", f"/v1/devices/{one['id']}/dev/install", 400, "dev_password_missing",
                   files={"archive": ("c.zip", make_zip(), "application/zip")})
    finally:
        first.stop()
        second.stop()


@pytest.mark.parametrize(("body", "code", "message"), [
    ({"password": "x"}, "invalid_payload", "roku devices keep no credential named 'password'."),
    ({"dev_password": ""}, "invalid_payload", "A credential must be a string of 1 to 1024 characters, or null: "
                                              "Expected `str` of length >= 1 - at `$[...]`."),
    ({"dev_password": 1234}, "invalid_payload", "A credential must be a string of 1 to 1024 characters, or null: "
                                                "Expected `str | null`, got `int` - at `$[...]`."),
    ({}, "invalid_payload", "Name at least one credential to set or clear."),
])  # fmt: skip
def test_bad_credentials_change_nothing(dev: Dev, body: dict[str, Any],
                                        code: str, message: str) -> None:
    d, _roku, device = dev
    d.ok("PATCH", f"/v1/devices/{device['id']}/credentials", json={"dev_password": "kept-one"})
    err = d.err("PATCH", f"/v1/devices/{device['id']}/credentials", 400, code, json=body)
    assert err["message"] == message and "kept-one" not in err["message"] + err["hint"]
    assert d.ok("GET", f"/v1/devices/{device['id']}/credentials")["fields"][0]["set"] is True


def test_wrong_password(dev: Dev) -> None:
    d, roku, device = dev
    d.ok("PATCH", "/v1/config", json={"roku.dev_password": "wrong"})
    r = install(d, device["id"], make_zip())
    assert r.status_code == 500 and r.json()["error"]["code"] == "dev_auth_failed"
    assert roku.uploads == []


def test_installer_not_listening_means_dev_mode_disabled(dev: Dev) -> None:
    d, _roku, device = dev
    d.ok("PATCH", "/v1/config", json={"roku.installer_port": free_port()})
    r = install(d, device["id"], make_zip())
    assert r.status_code == 500 and r.json()["error"]["code"] == "dev_mode_disabled"
    assert "developer mode" in r.json()["error"]["hint"]


@pytest.mark.parametrize(("page", "text"), [
    ("devinstaller/install_failure_compilation_shell-message.html", "Install Failure: Compilation Failed"),
    ("devinstaller/install_failure_xml-component_json-messages.html",
     "Install Failure: Error parsing XML component SupportedFeaturesView.xml"),
    ("devinstaller/form_error_archive-missing_shell-and-legacy.html",
     'Failure: Form Error: "archive" Field Not Found'),
    ("devinstaller/install_failure_unzip-corrupt-or-undersized_fw15_body.txt",
     "Install Failure: Unzip failed. Invalid or corrupt zip archive.  Unloading."),
])  # fmt: skip
def test_install_failures_carry_the_device_messages(dev: Dev, page: str,
                                                    text: str) -> None:
    d, roku, device = dev
    roku.install_reply = page  # HTTP 200 with an error message, as the device does
    r = install(d, device["id"], make_zip())
    assert r.status_code == 500
    err = r.json()["error"]
    assert err["code"] == "dev_install_failed" and text in err["message"]
    assert {"type": "error", "text": text} in err["details"]["messages"]


# -- reload ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["devbox", "tv"])
def test_reload(inproc: InProcDaemon, kind: str) -> None:
    roku = FakeRoku(kind).start()
    try:
        device = inproc.add(roku)
        url = f"/v1/devices/{device['id']}/dev/reload"
        inproc.err("POST", url, 400, "no_dev_channel")
        inproc.ok("PATCH", "/v1/config", json={"roku.installer_port": roku.installer_port,
                                               "roku.dev_password": roku.password})
        assert install(inproc, device["id"], make_zip()).status_code == 200
        roku.clear()
        data = inproc.ok("POST", url)
        assert data["reloaded"] is True
        posts = roku.paths()
        if kind == "devbox":  # developer_enabled: exit-app works
            assert data["left_via"] == "exit-app" and posts == ["/exit-app/dev", "/launch/dev"]
        else:
            assert data["left_via"] == "home" and posts == ["/keypress/Home", "/launch/dev"]
        assert roku.active[0] == "dev"
        # not running: launched straight away
        roku.active = (None, "Roku")
        roku.clear()
        assert inproc.ok("POST", url)["left_via"] == "not-running" and roku.paths() == ["/launch/dev"]
    finally:
        roku.stop()


def test_reload_reinstalls_a_lost_channel_from_the_kept_archive(dev: Dev) -> None:
    d, roku, device = dev
    assert install(d, device["id"], make_zip()).status_code == 200
    roku.apps_xml = roku.apps_xml.replace(b'<app id="dev" type="appl" version="1.0.1">sampleApp</app>\n', b"")
    roku.dev_md5 = None  # the device lost it (e.g. after a factory reset of dev mode)
    data = d.ok("POST", f"/v1/devices/{device['id']}/dev/reload")
    assert data["reinstalled"]["result"] == "installed" and roku.active[0] == "dev"


# -- logs --------------------------------------------------------------------------------------
def recorded(name: str) -> list[str]:
    return (FIXTURES / "devlog" / name).read_text().splitlines()


def crlf(lines: list[str]) -> bytes:
    return "".join(f"{ln}\r\n" for ln in lines).encode()


def test_logs_recent_lines_and_cursor(dev: Dev) -> None:
    d, roku, device = dev
    lines = recorded("console_sideload-launch_success_running.log")
    roku.console_script = crlf(lines)
    url = f"/v1/devices/{device['id']}/dev/logs"
    d.ok("GET", url)  # starts the reader
    got = wait_lines(d, url, len(lines))
    assert [x["text"] for x in got["lines"]] == lines  # reassembled across 7-byte reads, CR stripped
    assert got["device"]["id"] == device["id"] and got["console"] == "connected"
    last3 = d.ok("GET", url + "?lines=3")["lines"]
    assert [x["text"] for x in last3] == lines[-3:]
    cursor = got["cursor"]
    roku.console_push("------ Running dev 'sampleApp' main ------\nhello from main\n")
    newer = wait_for(lambda: d.ok("GET", url + f"?since={cursor}")["lines"], 2)
    assert [x["text"] for x in newer] == ["------ Running dev 'sampleApp' main ------", "hello from main"]
    assert getattr(roku, "console_received", b"") == b""  # the daemon never types into the console
    d.err("GET", url + "?lines=0", 400, "invalid_query")
    d.err("GET", url + "?since=abc", 400, "invalid_query")


def test_logs_utf8_and_long_lines(dev: Dev) -> None:
    d, roku, device = dev
    roku.console_script = "Café ✓ 🙂\r\n".encode() + b"\xff\xfe broken\r\n"
    url = f"/v1/devices/{device['id']}/dev/logs"
    d.ok("GET", url)
    texts = [x["text"] for x in wait_lines(d, url, 2)["lines"]]
    assert texts == ["Café ✓ 🙂", "\ufffd\ufffd broken"]


def test_logs_follow_many_clients(devbox: Devbox) -> None:
    d, roku, device = devbox
    url = f"{d.url}/v1/devices/{device['id']}/dev/logs?follow=true"
    results: list[list[str]] = [[], []]
    ready = [threading.Event(), threading.Event()]

    def follow(i: int) -> None:
        with httpx.stream("GET", url, timeout=20) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            for line in r.iter_lines():
                if line.startswith(": following"):
                    ready[i].set()
                if line.startswith("data:"):
                    results[i].append(json.loads(line[5:])["text"])
                    if len(results[i]) == 3:
                        return

    threads = [threading.Thread(target=follow, args=(i,), daemon=True) for i in range(2)]
    for t in threads:
        t.start()
    assert all(e.wait(10) for e in ready)
    wait_for(lambda: roku.console_clients, 5)
    roku.console_push("one\ntwo\nthree\n")
    for t in threads:
        t.join(10)
    assert results == [["one", "two", "three"]] * 2
    assert len(roku.console_clients) == 1  # one reader per device, shared


def test_console_busy(dev: Dev) -> None:
    d, roku, device = dev
    ide = socket.create_connection(("127.0.0.1", roku.console_port))  # another program got there first
    try:
        wait_for(lambda: roku.console_clients, 5)
        err = d.err("GET", f"/v1/devices/{device['id']}/dev/logs", 500, "dev_console_busy")
        assert "port" in err["message"] and "close it" in err["hint"]
    finally:
        ide.close()


def test_console_reconnects_after_a_reboot(dev: Dev) -> None:
    d, roku, device = dev
    url = f"/v1/devices/{device['id']}/dev/logs"
    roku.console_script = b"before reboot\r\n"
    d.ok("GET", url)
    wait_lines(d, url, 1)
    roku.console_script = b"after reboot\r\n"
    roku.console_drop()
    got = wait_for(lambda: [x["text"] for x in d.ok("GET", url)["lines"]] == ["before reboot", "after reboot"], 10)
    assert got


def test_console_closed_means_dev_mode_disabled(dev: Dev) -> None:
    d, _roku, device = dev
    d.ok("PATCH", "/v1/config", json={"roku.console_port": free_port()})
    d.err("GET", f"/v1/devices/{device['id']}/dev/logs", 500, "dev_mode_disabled")


# -- screenshot --------------------------------------------------------------------------------
@pytest.mark.parametrize(("page", "ctype"), [("screenshot_ok_jpg.html", "image/jpeg"),
                                             ("screenshot_ok_png.html", "image/png")])
def test_screenshot(dev: Dev, page: str, ctype: str) -> None:
    d, roku, device = dev
    roku.screenshot_page = f"devinstaller/{page}"
    roku.screenshot = (PNG_1X1 if ctype == "image/png" else JPEG_STUB, ctype)
    url = f"/v1/devices/{device['id']}/dev/screenshot"
    d.err("GET", url, 400, "dev_app_not_active")
    assert install(d, device["id"], make_zip()).status_code == 200
    for path in (url, f"/v1/devices/{device['id']}/screenshot"):
        r = d.http("GET", path)
        assert r.status_code == 200 and r.headers["content-type"] == ctype and r.content == roku.screenshot[0]


# -- helpers -----------------------------------------------------------------------------------
def wait_lines(d: Api, url: str, n: int) -> dict[str, Any]:
    found: dict[str, Any] = wait_for(lambda: (x := d.ok("GET", url)) and len(x["lines"]) >= n and x, 10)
    return found


def test_fixture_pages_parse() -> None:
    from tvctl_adapters.roku.devinstall import parse_messages

    page = (FIXTURES / "devinstaller" / "form_error_archive-missing_shell-and-legacy.html").read_text()
    msgs = parse_messages(page)
    assert [(m.type, m.text) for m in msgs] == [("error", 'Failure: Form Error: "archive" Field Not Found')]
    legacy = parse_messages((FIXTURES / "devinstaller" / "legacy-font_messages.html").read_text())
    assert any(m.text == "Failed: Invalid Password." and m.type == "error" for m in legacy)
    assert parse_messages(Path(FIXTURES / "devinstaller" / "plugin-package_packages-list_json.html").read_text()) \
        == []  # "messages": null


def test_fake_installer_drops_an_unauthenticated_upload(dev: Dev) -> None:
    """The pitfall the daemon avoids: sending the body on the unauthenticated leg."""
    _d, roku, _device = dev
    body = make_zip(pad=8 * 1024 * 1024)
    try:
        r = httpx.post(f"http://127.0.0.1:{roku.installer_port}/plugin_install",
                       files={"archive": ("c.zip", body, "application/zip")}, timeout=10)
        assert r.status_code == 401
    except httpx.TransportError:
        pass  # EPIPE / reset while the body was still being written, as on the device
    assert roku.uploads == []


def test_credentials_given_when_adding_and_replaced_by_patch(daemon: Daemon) -> None:
    roku = FakeRoku("devbox").start()
    try:
        err = daemon.err("POST", "/v1/devices", 400, "invalid_payload",
                         json={"host": roku.host, "port": roku.port, "credentials": {"pin": "k"}})
        assert err["message"] == "No platform takes the credentials pin."
        assert daemon.ok("GET", "/v1/devices") == []  # nothing was added
        dev = daemon.ok("POST", "/v1/devices", json={"host": roku.host, "port": roku.port,
                                                     "credentials": {"dev_password": roku.password}})
        assert dev["has_credentials"] is True and roku.password not in json.dumps(dev)
        daemon.ok("PATCH", "/v1/config", json={"roku.installer_port": roku.installer_port})
        assert install(daemon, dev["id"], make_zip()).status_code == 200
        replaced = daemon.ok("PATCH", f"/v1/devices/{dev['id']}", json={"credentials": {"dev_password": "other"}})
        assert replaced["has_credentials"] is True and replaced["name"] == dev["name"]
        r = install(daemon, dev["id"], make_zip(extra=b"'2"))
        assert r.status_code == 500 and r.json()["error"]["code"] == "dev_auth_failed"
        cleared = daemon.ok("PATCH", f"/v1/devices/{dev['id']}", json={"credentials": {}})
        assert cleared["has_credentials"] is False
        assert "other" not in daemon.log() and roku.password not in daemon.log()
    finally:
        roku.stop()


def test_developer_mode_switched_on_later_shows_at_the_next_poll(daemon: Daemon, roku: FakeRoku) -> None:
    """No need to add the Roku again: the poll that reads device-info brings its developer
    capabilities, and switching developer mode off takes them away."""
    dev = daemon.add(roku)
    developer = {"screenshot", "dev-install", "dev-logs", "dev-screenshot"}
    assert dev["developer_enabled"] is False and not developer & set(dev["capabilities"])
    events = Events(daemon.url + "/v1/events")
    events.connected.wait(10)
    daemon.ok("PATCH", "/v1/config", json={"state.poll_interval_s": 0.2})
    roku.device_info_xml = roku.device_info_xml.replace(b"<developer-enabled>false</developer-enabled>",
                                                        b"<developer-enabled>true</developer-enabled>")
    updated = wait_for(lambda: [d for d in events.of("device_updated") if d["id"] == dev["id"]
                                and d["developer_enabled"]], what="device_updated with developer mode on")[-1]
    assert developer <= set(updated["capabilities"])
    assert developer <= set(daemon.ok("GET", f"/v1/devices/{dev['id']}")["capabilities"])
    roku.device_info_xml = roku.device_info_xml.replace(b"<developer-enabled>true</developer-enabled>",
                                                        b"<developer-enabled>false</developer-enabled>")
    wait_for(lambda: not developer & set(daemon.ok("GET", f"/v1/devices/{dev['id']}")["capabilities"]),
             what="developer capabilities gone")
