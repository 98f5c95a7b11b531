"""FastX (remote-desktop sessions) through the daemon's API: in-process matrices (tests/inproc.py)
against a fake FastX server over HTTPS with a certificate made at test time (tests/fakefastx.py),
and end-to-end tests through the daemon process, the CLI and the event stream. Expected requests,
sessions and images are written out here from the seed (../shared/seeds/002) and the fake's seeded
state, never taken from the adapter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Daemon
from tests.fakefastx import JPEG, FakeFastx
from tests.fakepikvm import FakePikvm
from tests.helpers import Events, wait_for
from tests.inproc import Api, InProcDaemon

TVCTL = str(Path(sys.executable).with_name("tvctl"))
PASSWORD = "s3cret-pass"
CREDS = {"username": "lab", "password": PASSWORD}
SERVER_ID = "5f0c8e2a-9d41-4b7e-a3c6-1e8f2d7b4a90"
LOBBY, DESK1, DESK2, MAP = (f"3c9a41e2-7b05-4d1f-8e6a-b20d5c7f1a0{n}" for n in range(1, 5))
SEEDED = [
    {"id": LOBBY, "name": "Signage Lobby", "user": "kiosk", "geometry": "1920x1080", "clients": 1,
     "started": "2026-12-01T06:30:00.000Z", "display": ":101"},
    {"id": DESK1, "name": "Lab Desktop 1", "user": "lab", "geometry": "1280x800", "clients": 0,
     "started": "2026-12-04T09:15:00.000Z", "display": ":102"},
    {"id": DESK2, "name": "Lab Desktop 2", "user": "ana", "geometry": "1600x900", "clients": 2,
     "started": "2026-12-03T14:02:30.000Z", "display": ":103"},
    {"id": MAP, "name": "Kiosk Map", "user": "kiosk", "geometry": "1024x768", "clients": 0,
     "started": "2026-11-28T22:45:10.000Z", "display": ":104"},
]


def add(d: Api, fake: FakeFastx, **extra: Any) -> dict[str, Any]:
    body = {"host": "127.0.0.1", "port": fake.port, "platform": "fastx", "credentials": CREDS, **extra}
    dev: dict[str, Any] = d.ok("POST", "/v1/devices", json=body)
    fake.clear()
    return dev


def names(d: Api, dev: dict[str, Any], query: str = "") -> list[str]:
    return [s["name"] for s in d.ok("GET", f"/v1/devices/{dev['id']}/sessions{query}")["sessions"]]


def list_bodies(fake: FakeFastx) -> list[Any]:
    return [r.body for r in fake.requests if r.path == "/v3/api/session/list"]


# -- identity -----------------------------------------------------------------------------------------
def test_added_with_its_certificate_pinned(inproc: InProcDaemon, fastx: FakeFastx) -> None:
    dev = add(inproc, fastx)
    assert (dev["platform"], dev["kind"], dev["model"]) == ("fastx", "remote-desktop", "FastX")
    assert dev["name"] == "fastx-lab"
    assert (dev["serial"], dev["software_version"]) == (SERVER_ID, "3.3.56")
    assert dev["tls_fingerprint"] == fastx.fingerprint
    assert set(dev["capabilities"]) == {"sessions", "screenshot", "apps", "state"}
    assert fastx.logins == 1  # the credentials given were tried at once


def test_found_without_naming_the_platform(inproc: InProcDaemon, fastx: FakeFastx) -> None:
    dev = inproc.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": fastx.port, "credentials": CREDS})
    assert (dev["platform"], dev["serial"]) == ("fastx", SERVER_ID)
    assert "GET /v3/api" in fastx.paths()


def test_the_same_server_at_another_address_keeps_its_id(tmp_path: Path, inproc: InProcDaemon,
                                                        fastx: FakeFastx) -> None:
    dev = add(inproc, fastx)
    moved = FakeFastx(tmp_path / "moved").start()  # the same serverId, moved to another port (and certificate)
    try:
        again = add(inproc, moved)
        assert (again["id"], again["name"]) == (dev["id"], "fastx-lab")
        assert (again["port"], again["tls_fingerprint"]) == (moved.port, moved.fingerprint)
        assert [d["id"] for d in inproc.ok("GET", "/v1/devices")] == [dev["id"]]
        assert len(names(inproc, again)) == 4 and moved.requests and fastx.requests == []
    finally:
        moved.stop()


def test_added_without_credentials_then_given_them(inproc: InProcDaemon, fastx: FakeFastx) -> None:
    dev = inproc.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": fastx.port, "platform": "fastx"})
    assert dev["has_credentials"] is False and fastx.logins == 0
    err = inproc.err("GET", f"/v1/devices/{dev['id']}/sessions", 500, "device_auth_failed")
    assert err["message"] == "fastx-lab (127.0.0.1) needs a user name and password to log in."
    assert f"PATCH /v1/devices/{dev['id']}" in err["hint"] and "username" in err["hint"]
    inproc.ok("PATCH", f"/v1/devices/{dev['id']}", json={"credentials": CREDS})
    assert names(inproc, dev) == ["Signage Lobby", "Lab Desktop 1", "Lab Desktop 2", "Kiosk Map"]


def test_wrong_credentials(inproc: InProcDaemon, fastx: FakeFastx) -> None:
    bad = {"username": "lab", "password": "wrong-pass-4411"}
    err = inproc.err("POST", "/v1/devices", 500, "device_auth_failed",
                     json={"host": "127.0.0.1", "port": fastx.port, "platform": "fastx", "credentials": bad})
    assert err["message"] == ("The FastX server (127.0.0.1) refused the login (HTTP 401): Authentication failed.")
    assert "wrong-pass-4411" not in json.dumps(err)
    assert inproc.ok("GET", "/v1/devices") == []
    dev = add(inproc, fastx)
    inproc.ok("PATCH", f"/v1/devices/{dev['id']}", json={"credentials": {"username": "lab",
                                                                          "password": "stale-pass-9902"}})
    err = inproc.err("POST", f"/v1/devices/{dev['id']}/sessions/Kiosk Map/terminate", 500, "device_auth_failed")
    assert "stale-pass-9902" not in json.dumps(err)
    assert len(fastx.sessions) == 4  # nothing was ended


def test_a_changed_certificate_is_refused_unsent(inproc: InProcDaemon, fastx: FakeFastx) -> None:
    dev = add(inproc, fastx)
    old, new = fastx.fingerprint, fastx.swap_certificate()
    err = inproc.err("GET", f"/v1/devices/{dev['id']}/sessions", 500, "device_tls_changed")
    assert old in err["message"] and new in err["message"]
    assert f"tvctl device trust {dev['name']} {new}" in err["hint"]
    assert fastx.requests == []  # nothing, the password least of all, reached the new peer
    inproc.ok("PATCH", f"/v1/devices/{dev['id']}", json={"tls_fingerprint": new})
    assert len(names(inproc, dev)) == 4


def test_a_plain_http_port_is_not_taken(inproc: InProcDaemon) -> None:
    import socket
    import threading

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()

    def answer() -> None:  # a server's plain-HTTP port: whatever comes, an HTTP answer
        conn, _ = srv.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    t = threading.Thread(target=answer, daemon=True)
    t.start()
    try:
        err = inproc.err("POST", "/v1/devices", 500, "device_unreachable",
                         json={"host": "127.0.0.1", "port": srv.getsockname()[1], "platform": "fastx",
                               "credentials": CREDS})
        assert "does not speak TLS" in err["message"]
        assert "port 3300 (3443 on older servers)" in err["hint"]
    finally:
        srv.close()


# -- both ways of logging in, and the token ---------------------------------------------------------
@pytest.mark.parametrize(("stage", "stage_path", "stage_body"), [
    ("password", "/v3/api/user/login/password", {"password": PASSWORD}),
    ("keyboard-interactive", "/v3/api/user/login/keyboard-interactive", {"answer": PASSWORD}),
])
def test_an_older_server_logs_in_through_its_stages(tmp_path: Path, inproc: InProcDaemon, stage: Any,
                                                    stage_path: str, stage_body: dict[str, str]) -> None:
    fake = FakeFastx(tmp_path / "tls", auth="stages", stage=stage).start()
    try:
        dev = add(inproc, fake)  # the probe logged in to check the credentials (the stages, after auth/ssh's 404)
        assert len(names(inproc, dev)) == 4
        fake.restart()  # the token dies: the stages again, without asking auth/ssh once more
        assert len(names(inproc, dev)) == 4
        assert fake.paths() == ["POST /v3/api/auth/ssh", "POST /v3/api/user/login", f"POST {stage_path}",
                                "POST /v3/api/session/list", "POST /v3/api/session/list",
                                "POST /v3/api/user/login", f"POST {stage_path}", "POST /v3/api/session/list"]
        login = next(r for r in fake.requests if r.path == "/v3/api/user/login")
        assert login.body == {"username": "lab", "serverId": SERVER_ID}
        assert "Authorization" not in login.headers
        answered = next(r for r in fake.requests if r.path == stage_path)
        assert answered.body == stage_body and answered.headers["Authorization"].startswith("Bearer ")
        assert fake.logins == 3  # adding, the first call, after the restart
    finally:
        fake.stop()


def test_the_token_is_renewed_once_after_a_restart(inproc: InProcDaemon, fastx: FakeFastx) -> None:
    dev = add(inproc, fastx)
    names(inproc, dev)
    fastx.restart()
    fastx.clear()
    assert names(inproc, dev, "?filter=user==ana") == ["Lab Desktop 2"]
    assert fastx.paths() == ["POST /v3/api/session/list", "POST /v3/api/auth/ssh", "POST /v3/api/session/list"]
    assert list_bodies(fastx)[0] == list_bodies(fastx)[1]  # the same call, sent once more
    assert fastx.logins == 3  # adding, the first call, after the restart


def test_a_refused_renewal_is_said_and_not_repeated(inproc: InProcDaemon, fastx: FakeFastx) -> None:
    dev = add(inproc, fastx)
    names(inproc, dev)
    fastx.restart()
    fastx.password = "changed-on-the-server"
    fastx.clear()
    err = inproc.err("GET", f"/v1/devices/{dev['id']}/sessions", 500, "device_auth_failed")
    assert "refused the login (HTTP 401)" in err["message"]
    assert fastx.paths() == ["POST /v3/api/session/list", "POST /v3/api/auth/ssh"]
    fastx.clear()  # asked again (a state poll): the refused password is not sent again, nor anything
    inproc.err("GET", f"/v1/devices/{dev['id']}/sessions", 500, "device_auth_failed")
    assert fastx.paths() == []
    inproc.ok("PATCH", f"/v1/devices/{dev['id']}", json={"credentials": {"username": "lab",
                                                                          "password": "changed-on-the-server"}})
    assert len(names(inproc, dev)) == 4  # changed: tried, and taken


# -- sessions and the list grammar ------------------------------------------------------------------
def test_sessions_listed(inproc: InProcDaemon, fastx: FakeFastx) -> None:
    dev = add(inproc, fastx)
    data = inproc.ok("GET", f"/v1/devices/{dev['id']}/sessions")
    assert data == {"device": "fastx-lab", "sessions": SEEDED}
    assert list_bodies(fastx) == [{"start": 0, "sortReverse": False}]
    listed = next(r for r in fastx.requests if r.path == "/v3/api/session/list")
    assert listed.headers["Authorization"].startswith("Bearer ")


@pytest.mark.parametrize(("query", "expected", "sent"), [
    ("?start=1&limit=2", ["Lab Desktop 1", "Lab Desktop 2"], {"start": 1, "limit": 2, "sortReverse": False}),
    ("?sort_by=started", ["Kiosk Map", "Signage Lobby", "Lab Desktop 2", "Lab Desktop 1"],
     {"start": 0, "sortBy": "started", "sortReverse": False}),
    ("?sort_by=started&sort_reverse=true", ["Lab Desktop 1", "Lab Desktop 2", "Signage Lobby", "Kiosk Map"],
     {"start": 0, "sortBy": "started", "sortReverse": True}),
    ("?sort_by=user", ["Lab Desktop 2", "Signage Lobby", "Kiosk Map", "Lab Desktop 1"],
     {"start": 0, "sortBy": "login", "sortReverse": False}),
    ("?sort_by=name", ["Kiosk Map", "Lab Desktop 1", "Lab Desktop 2", "Signage Lobby"],
     {"start": 0, "sortBy": "name", "sortReverse": False}),
    ("?filter=user==ana,kiosk", ["Signage Lobby", "Lab Desktop 2", "Kiosk Map"],
     {"start": 0, "sortReverse": False, "filter": ["login==ana,kiosk"]}),
    ("?filter=user==kiosk&filter=name==Kiosk%20Map,Lab%20Desktop%201", ["Kiosk Map"],
     {"start": 0, "sortReverse": False, "filter": ["login==kiosk", "name==Kiosk Map,Lab Desktop 1"]}),
    ("?filter=clients==0&sort_by=display&sort_reverse=1&limit=1", ["Kiosk Map"],
     {"start": 0, "limit": 1, "sortBy": "display", "sortReverse": True, "filter": ["clients==0"]}),
    ("?filter=windowMode==desktop&sort_by=lastConnect", ["Signage Lobby", "Lab Desktop 2", "Lab Desktop 1",
                                                        "Kiosk Map"],  # never connected: last
     {"start": 0, "sortBy": "lastConnect", "sortReverse": False, "filter": ["windowMode==desktop"]}),
    ("?filter=user==nobody", [], {"start": 0, "sortReverse": False, "filter": ["login==nobody"]}),
])  # fmt: skip
def test_the_list_grammar_passes_through(inproc: InProcDaemon, fastx: FakeFastx, query: str, expected: list[str],
                                         sent: dict[str, Any]) -> None:
    dev = add(inproc, fastx)
    assert names(inproc, dev, query) == expected
    assert list_bodies(fastx) == [sent]


@pytest.mark.parametrize(("query", "words"), [
    ("?filter=user", "filter"),
    ("?sort_by=no%20such", "sort_by"),
    ("?limit=0", "limit"),
    ("?start=-1", "start"),
    ("?order=name", "order"),
])
def test_a_bad_list_query_is_refused_unsent(inproc: InProcDaemon, fastx: FakeFastx, query: str, words: str) -> None:
    dev = add(inproc, fastx)
    err = inproc.err("GET", f"/v1/devices/{dev['id']}/sessions{query}", 400, "invalid_query")
    assert words in err["message"] + err["hint"]
    assert fastx.requests == []


def test_sessions_appear_and_disappear(inproc: InProcDaemon, fastx: FakeFastx) -> None:
    dev = add(inproc, fastx)
    new = fastx.add_session("Exam Room", "ana")
    assert names(inproc, dev, "?filter=user==ana") == ["Lab Desktop 2", "Exam Room"]
    fastx.drop_session(new)
    fastx.drop_session(DESK2)
    assert names(inproc, dev, "?filter=user==ana") == []


# -- screenshots --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("query", "sid"), [
    (f"?session={LOBBY}", LOBBY),
    ("?session=Lab%20Desktop%202", DESK2),
    ("?session=kiosk%20m", MAP),  # the start of one name, in any case
    ("?display=1", DESK1),
    ("", LOBBY),
])
def test_a_session_screenshot(inproc: InProcDaemon, fastx: FakeFastx, query: str, sid: str) -> None:
    dev = add(inproc, fastx)
    r = inproc.http("GET", f"/v1/devices/{dev['id']}/screenshot{query}")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content == fastx.png_for(sid)
    shots = [x.body for x in fastx.requests if x.path == "/v3/api/session/screenshot"]
    assert shots == [{"id": sid, "format": "png"}]


def test_a_session_screenshot_in_jpeg(inproc: InProcDaemon, fastx: FakeFastx) -> None:
    dev = add(inproc, fastx)
    r = inproc.http("GET", f"/v1/devices/{dev['id']}/screenshot?session=Signage%20Lobby&format=jpeg")
    assert (r.status_code, r.headers["content-type"], r.content) == (200, "image/jpeg", JPEG)


def test_screenshot_errors(inproc: InProcDaemon, fastx: FakeFastx) -> None:
    dev = add(inproc, fastx)
    base = f"/v1/devices/{dev['id']}/screenshot"
    err = inproc.err("GET", base + "?session=Gone%20Room", 404, "session_not_found")
    assert err["message"] == "No running session matches 'Gone Room'."
    err = inproc.err("GET", base + "?display=4", 404, "session_not_found")
    assert err["message"] == "fastx-lab has 4 session(s); there is none at display 4."
    err = inproc.err("GET", base + "?session=Lab", 400, "ambiguous_session")
    assert [m["name"] for m in err["details"]["matches"]] == ["Lab Desktop 1", "Lab Desktop 2"]
    inproc.err("GET", base + "?format=gif", 400, "invalid_query")
    fastx.screenshot_fails = True
    err = inproc.err("GET", base + "?session=Kiosk%20Map", 500, "device_bad_response")
    assert "HTTP 500" in err["message"]


def test_session_and_format_are_for_servers_of_sessions(tmp_path: Path, inproc: InProcDaemon) -> None:
    kvm = FakePikvm(tmp_path / "pi", password="pi-pass-1").start()
    try:
        dev = inproc.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": kvm.port, "platform": "pikvm",
                                                     "credentials": {"username": "admin", "password": "pi-pass-1"}})
        kvm.clear()
        err = inproc.err("GET", f"/v1/devices/{dev['id']}/screenshot?session=x", 400, "unsupported_operation")
        assert err["message"] == ("pikvm-lab (PiKVM, kvm) has no sessions: the screenshot's session parameter is "
                                  "for servers of sessions.")
        inproc.err("GET", f"/v1/devices/{dev['id']}/sessions", 400, "unsupported_operation")
        assert kvm.paths() == []
    finally:
        kvm.stop()


# -- bookmarks as apps, start and terminate -----------------------------------------------------------
def test_bookmarks_are_the_apps(inproc: InProcDaemon, fastx: FakeFastx) -> None:
    dev = add(inproc, fastx)
    apps = inproc.ok("GET", f"/v1/devices/{dev['id']}/apps")["apps"]
    assert [(a["id"], a["name"], a["platform_id"], a["type"]) for a in apps] == [
        ("signage-player", "Signage Player", "bm-signage", "bookmark"),
        ("xterm", "XTerm", "bm-xterm", "bookmark"),
        ("gnome-desktop", "GNOME Desktop", "bm-gnome", "bookmark"),
    ]


def test_a_session_started_from_a_bookmark(inproc: InProcDaemon, fastx: FakeFastx) -> None:
    dev = add(inproc, fastx)
    r = inproc.http("POST", f"/v1/devices/{dev['id']}/apps/launch", json={"app": "gnome"})
    assert r.status_code == 200
    data = r.json()["data"]
    new = [sid for sid in fastx.sessions if sid not in (LOBBY, DESK1, DESK2, MAP)]
    assert len(new) == 1
    assert data["launched"]["name"] == "GNOME Desktop"
    assert data["session"] == {"id": new[0], "name": "GNOME Desktop", "user": "lab", "geometry": "1600x900",
                               "clients": None, "started": None, "display": None}  # a connect object has no more
    assert [x.body for x in fastx.requests if x.path == "/v3/api/session/start/bookmark"] == [{"id": "bm-gnome"}]
    assert fastx.last_connect_password and fastx.last_connect_password not in r.text
    assert names(inproc, dev)[-1] == "GNOME Desktop"
    err = inproc.err("POST", f"/v1/devices/{dev['id']}/apps/launch", 400, "invalid_payload",
                     json={"app": "XTerm", "params": {"x": "1"}})
    assert err["message"] == "A FastX bookmark takes no launch parameters (got x)."


@pytest.mark.parametrize("which", ["Kiosk Map", MAP, "kiosk%20MAP"])
def test_a_session_terminated(inproc: InProcDaemon, fastx: FakeFastx, which: str) -> None:
    dev = add(inproc, fastx)
    data = inproc.ok("POST", f"/v1/devices/{dev['id']}/sessions/{which}/terminate")
    assert data == {"device": "fastx-lab", "terminated": SEEDED[3]}
    assert MAP not in fastx.sessions and len(fastx.sessions) == 3
    assert [x.body for x in fastx.requests if x.path == "/v3/api/session/terminate"] == [{"id": MAP}]
    err = inproc.err("POST", f"/v1/devices/{dev['id']}/sessions/{which}/terminate", 404, "session_not_found")
    assert "tvctl sessions" in err["hint"]


def test_terminate_refuses_what_it_cannot_tell_apart(inproc: InProcDaemon, fastx: FakeFastx) -> None:
    dev = add(inproc, fastx)
    err = inproc.err("POST", f"/v1/devices/{dev['id']}/sessions/lab%20desktop/terminate", 400, "ambiguous_session")
    assert err["message"] == (f"'lab desktop' names 2 sessions: Lab Desktop 1 ({DESK1}, lab), "
                              f"Lab Desktop 2 ({DESK2}, ana).")
    inproc.err("POST", f"/v1/devices/{dev['id']}/sessions/Kiosk%20Map/terminate", 400, "invalid_payload",
               json={"session": "Signage Lobby"})
    assert len(fastx.sessions) == 4
    assert [p for p in fastx.paths() if p.endswith("/terminate")] == []


def test_stop_is_refused_ending_a_session_is_asked_by_name(inproc: InProcDaemon, fastx: FakeFastx) -> None:
    dev = add(inproc, fastx)
    for sid in (LOBBY, DESK1, DESK2):
        fastx.drop_session(sid)
    err = inproc.err("POST", f"/v1/devices/{dev['id']}/apps/stop", 400, "unsupported_operation")
    assert "ending one ends whatever runs in it" in err["message"]
    assert "tvctl sessions terminate NAME fastx-lab" in err["hint"]
    assert list(fastx.sessions) == [MAP] and [p for p in fastx.paths() if p.endswith("/terminate")] == []


def test_a_screenshot_of_another_image_type_is_refused(inproc: InProcDaemon, fastx: FakeFastx) -> None:
    dev = add(inproc, fastx)
    fastx.image_type = "svg+xml"  # served from the daemon's own origin, an SVG could run script
    err = inproc.err("GET", f"/v1/devices/{dev['id']}/screenshot?session={LOBBY}", 500, "device_bad_response")
    assert err["message"] == "fastx-lab's screenshot is image/svg+xml, not PNG or JPEG."


# -- what it cannot do, and its state -------------------------------------------------------------------
@pytest.mark.parametrize(("path", "body"), [
    ("/remote/key", {"key": "home"}),
    ("/remote/key", {"key": "literal:hello"}),
    ("/remote/sequence", {"keys": ["up", "down"]}),
    ("/pointer", {"x": 0.5, "y": 0.5, "unit": "fraction"}),
])
def test_keys_text_and_pointer_are_unsupported(inproc: InProcDaemon, fastx: FakeFastx, path: str,
                                               body: dict[str, Any]) -> None:
    dev = add(inproc, fastx)
    inproc.err("POST", f"/v1/devices/{dev['id']}{path}", 400, "unsupported_operation", json=body)
    assert fastx.requests == []


def test_state(inproc: InProcDaemon, fastx: FakeFastx) -> None:
    dev = add(inproc, fastx)
    state = inproc.ok("GET", f"/v1/devices/{dev['id']}/state")["state"]
    assert (state["host_name"], state["version"], state["session_count"]) == ("fastx-lab", "3.3.56", 4)
    assert state["sessions_by_user"] == {"kiosk": 2, "lab": 1, "ana": 1}
    assert (state["power"], state["active_app"]) == (None, None)


# -- end to end: the daemon process, the CLI, the events and the log ------------------------------------
def test_end_to_end_through_the_daemon_and_cli(daemon: Daemon, fastx: FakeFastx, tmp_path: Path) -> None:
    events = Events(daemon.url + "/v1/events")
    dev = daemon.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": fastx.port, "credentials": CREDS})
    assert (dev["platform"], dev["name"]) == ("fastx", "fastx-lab")
    env = {"XDG_RUNTIME_DIR": str(daemon.runtime), "PATH": "/usr/bin:/bin"}

    def cli(*args: str, json_out: bool = True) -> Any:
        p = subprocess.run([TVCTL, *(["--json"] if json_out else []), *args], capture_output=True, text=True,
                           timeout=60, env=env, cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout) if json_out else p.stdout

    table = cli("sessions", "fastx-lab", json_out=False).splitlines()
    assert table[0].split() == ["ID", "NAME", "USER", "GEOMETRY", "CLIENTS", "STARTED"]
    assert [line.split()[0] for line in table[1:]] == [LOBBY, DESK1, DESK2, MAP]
    out = cli("sessions", "fastx-lab", "--filter", "user==kiosk", "--sort-by", "started", "--reverse")
    assert [s["name"] for s in out["sessions"]] == ["Signage Lobby", "Kiosk Map"]
    out = cli("-d", "fastx-lab", "apps", "launch", "XTerm")
    assert out["session"]["name"] == "XTerm" and out["session"]["id"] in fastx.sessions
    said = cli("-d", "fastx-lab", "sessions", "terminate", "Kiosk Map", json_out=False)
    assert said.strip() == f"terminated Kiosk Map ({MAP}, kiosk)"
    assert MAP not in fastx.sessions
    said = cli("screenshot", "fastx-lab", "--session", "Signage Lobby", "-o", "lobby.png", json_out=False)
    assert said.strip() == f"saved lobby.png ({len(fastx.png_for(LOBBY))} bytes)"
    assert (tmp_path / "lobby.png").read_bytes() == fastx.png_for(LOBBY)
    fastx.restart()  # the token dies under the daemon: renewed once, unseen by the user
    out = cli("sessions", "fastx-lab", "--limit", "1")
    assert [s["name"] for s in out["sessions"]] == ["Signage Lobby"]
    p = subprocess.run([TVCTL, "sessions", "terminate", "Nowhere", "fastx-lab"], capture_output=True, text=True,
                       timeout=60, env=env)
    assert p.returncode != 0 and "No running session matches 'Nowhere'." in p.stderr
    assert fastx.logins == 3  # added, first call, after the restart
    secrets = [PASSWORD, fastx.last_connect_password or "no-password", *fastx.tokens]
    wait_for(lambda: events.of("device_added"), what="the device_added event")
    seen = json.dumps(events.items) + daemon.log()
    assert [s for s in secrets if s in seen] == []


# -- a slow server, a dropped connection ------------------------------------------------------------------
def test_a_late_answer_is_a_timeout_within_the_setting(inproc: InProcDaemon, fastx: FakeFastx) -> None:
    dev = add(inproc, fastx)
    inproc.ok("PATCH", "/v1/config", json={"fastx.request_timeout_s": 0.5})
    names(inproc, dev)  # logged in
    fastx.late_s = 0.3  # slow, but within the setting: answered
    assert len(names(inproc, dev)) == 4
    fastx.late_s = 2.0
    err = inproc.err("POST", f"/v1/devices/{dev['id']}/sessions/Kiosk%20Map/terminate", 500, "device_timeout")
    assert err["message"] == "fastx-lab (127.0.0.1) did not answer POST /v3/api/session/list within 0.5 s."
    assert [p for p in fastx.paths() if p.endswith("/terminate")] == []  # it never got that far
    fastx.late_s = 0.0
    assert len(names(inproc, dev)) == 4


def test_a_dropped_connection_is_said_and_the_next_call_works(inproc: InProcDaemon, fastx: FakeFastx) -> None:
    dev = add(inproc, fastx)
    names(inproc, dev)
    fastx.drop_next = 1
    err = inproc.err("GET", f"/v1/devices/{dev['id']}/screenshot?session=Kiosk%20Map", 500, "device_unreachable")
    assert "closed the connection" in err["message"]
    r = inproc.http("GET", f"/v1/devices/{dev['id']}/screenshot?session=Kiosk%20Map")
    assert r.status_code == 200 and r.content == fastx.png_for(MAP)
    fastx.drop_next, fastx.drop_on = 1, "/v3/api/session/terminate"  # dropped: not sent again, still running
    inproc.err("POST", f"/v1/devices/{dev['id']}/sessions/{MAP}/terminate", 500, "device_unreachable")
    assert MAP in fastx.sessions
    assert [p for p in fastx.paths() if p.endswith("/terminate")] == ["POST /v3/api/session/terminate"]
