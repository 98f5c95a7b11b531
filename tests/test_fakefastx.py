"""The FastX fake (tests/fakefastx.py) against the wire facts it stands for: every expected value is
written out here, from the FastX API document and WIRE.md, not read back from the fake."""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.fakefastx import FakeFastx

SERVER_ID = "5f0c8e2a-9d41-4b7e-a3c6-1e8f2d7b4a90"
SIGNAGE, DESK1, DESK2, MAP = (f"3c9a41e2-7b05-4d1f-8e6a-b20d5c7f1a0{n}" for n in (1, 2, 3, 4))
AUTH_FAILED = {"error": {"name": "AuthError", "message": "Authentication failed"}}
NO_CHECK = ssl.create_default_context()
NO_CHECK.check_hostname = False
NO_CHECK.verify_mode = ssl.CERT_NONE


def call(fake: FakeFastx, path: str, body: Any = None, *, token: str | None = None, method: str = "POST",
         raw: bytes | None = None) -> tuple[int, Any]:
    """One request; returns the status and the parsed JSON answer."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(f"https://127.0.0.1:{fake.port}{path}", data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, context=NO_CHECK, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read())


def login(fake: FakeFastx) -> str:
    status, answer = call(fake, "/v3/api/auth/ssh", {"username": "lab", "password": "s3cret-pass"})
    assert status == 200
    token: str = answer["result"]["token"]
    return token


def names(answer: Any) -> list[str]:
    return [s["params"]["name"] for s in answer["result"]]


def test_general_information_needs_no_login(fastx: FakeFastx) -> None:
    assert call(fastx, "/v3/api", method="GET") == (200, {"result": {
        "version": "3.3.56", "serverId": SERVER_ID, "port": 3000, "httpsport": 3443, "hostname": "fastx-lab",
        "servers": [SERVER_ID], "ssh": {"basic": False, "publicKey": True, "hidePasswordField": False}}})


def test_ssh_login_then_list(fastx: FakeFastx) -> None:
    status, answer = call(fastx, "/v3/api/auth/ssh", {"username": "lab", "password": "s3cret-pass"})
    assert status == 200
    token = answer["result"]["token"]
    assert answer["result"] == {"token": token, "login": "lab", "hostname": "fastx-lab"}
    assert len(token) >= 32 and set(token) <= set("0123456789abcdef")
    status, listed = call(fastx, "/v3/api/session/list", {}, token=token)
    assert status == 200
    assert names(listed) == ["Signage Lobby", "Lab Desktop 1", "Lab Desktop 2", "Kiosk Map"]
    assert listed["result"][1] == {
        "id": DESK1, "appPid": 4111, "clients": 0, "command": "gnome-session", "cpuPercentage": 100,
        "disconnectTimeout": 0, "display": ":102", "geometry": "1280x800", "hostname": "fastx-lab",
        "lastConnect": "2026-12-04T09:15:02.000Z", "lastDisconnect": "2026-12-04T11:40:12.000Z", "login": "lab",
        "params": {"name": "Lab Desktop 1"}, "serverId": SERVER_ID, "serverPid": 4110, "sharing": False,
        "started": "2026-12-04T09:15:00.000Z", "videoRam": 128000, "windowMode": "desktop"}
    assert call(fastx, "/v3/api/session/list/count", {}, token=token) == (200, {"result": 4})
    assert fastx.logins == 1
    assert fastx.paths() == ["POST /v3/api/auth/ssh", "POST /v3/api/session/list", "POST /v3/api/session/list/count"]
    assert fastx.requests[1].headers["Authorization"] == f"Bearer {token}"
    assert fastx.requests[1].body == {}


@pytest.mark.parametrize(("stage", "endpoint", "member"), [
    ("password", "/v3/api/user/login/password", "password"),
    ("keyboard-interactive", "/v3/api/user/login/keyboard-interactive", "answer"),
])
def test_login_stages_on_an_older_server(tmp_path: Path, stage: Any, endpoint: str, member: str) -> None:
    fake = FakeFastx(tmp_path / "tls", auth="stages", stage=stage).start()
    try:
        assert call(fake, "/v3/api/auth/ssh", {"username": "lab", "password": "s3cret-pass"})[0] == 404
        status, answer = call(fake, "/v3/api/user/login", {"username": "lab", "serverId": SERVER_ID})
        assert status == 200
        token = answer["result"]["token"]
        prompt = {"prompt": "Password: "} if stage == "keyboard-interactive" else {}
        assert answer["result"] == {"stage": stage, "token": token, "host": "fastx-lab", **prompt}
        # before the stage is answered the token opens nothing else
        assert call(fake, "/v3/api/session/list/count", {}, token=token)[0] == 401
        assert call(fake, endpoint, {member: "s3cret-pass"}, token=token) == (
            200, {"result": {"stage": "success", "token": token, "host": "fastx-lab"}})
        assert call(fake, "/v3/api/session/list/count", {}, token=token) == (200, {"result": 4})
        assert fake.logins == 1
    finally:
        fake.stop()


def test_password_at_once_skips_the_stage(tmp_path: Path) -> None:
    fake = FakeFastx(tmp_path / "tls", auth="stages").start()
    try:
        status, answer = call(fake, "/v3/api/user/login", {"username": "lab", "password": "s3cret-pass"})
        assert (status, answer["result"]["stage"]) == (200, "success")
        assert call(fake, "/v3/api/session/list/count", {}, token=answer["result"]["token"]) == (200, {"result": 4})
    finally:
        fake.stop()


def test_wrong_password_is_refused_with_the_error_shape(fastx: FakeFastx) -> None:
    assert call(fastx, "/v3/api/auth/ssh", {"username": "lab", "password": "nope"}) == (401, AUTH_FAILED)
    assert call(fastx, "/v3/api/auth/ssh", {"username": "root", "password": "s3cret-pass"}) == (401, AUTH_FAILED)
    _, answer = call(fastx, "/v3/api/user/login", {"username": "lab", "serverId": SERVER_ID})
    token = answer["result"]["token"]
    assert call(fastx, "/v3/api/user/login/password", {"password": "nope"}, token=token) == (401, AUTH_FAILED)
    # the stage token died with the wrong answer
    status, dead = call(fastx, "/v3/api/user/login/password", {"password": "s3cret-pass"}, token=token)
    assert (status, dead["error"]["name"]) == (401, "AuthError")
    assert fastx.logins == 0


def test_restart_kills_every_token(fastx: FakeFastx) -> None:
    token = login(fastx)
    assert call(fastx, "/v3/api/session/list/count", {}, token=token) == (200, {"result": 4})
    fastx.restart()
    status, answer = call(fastx, "/v3/api/session/list/count", {}, token=token)
    assert (status, answer["error"]["name"]) == (401, "AuthError")
    assert call(fastx, "/v3/api/session/list/count", {}, token=login(fastx)) == (200, {"result": 4})


def test_list_grammar(fastx: FakeFastx) -> None:
    token = login(fastx)

    def listed(**body: Any) -> list[str]:
        status, answer = call(fastx, "/v3/api/session/list", body, token=token)
        assert status == 200, answer
        return names(answer)

    assert listed(filter=["login==lab,ana"]) == ["Lab Desktop 1", "Lab Desktop 2"]
    assert listed(filter=["login==kiosk,ana", "clients==0"]) == ["Kiosk Map"]
    assert listed(filter=["name==Kiosk Map,Lab Desktop 1"]) == ["Lab Desktop 1", "Kiosk Map"]  # from params
    assert listed(filter=["sharing==false", "display==:101"]) == ["Signage Lobby"]
    assert listed(filter=["nosuchmember==x"]) == []
    assert listed(sortBy="name") == ["Kiosk Map", "Lab Desktop 1", "Lab Desktop 2", "Signage Lobby"]
    assert listed(sortBy="name", sortReverse=True) == ["Signage Lobby", "Lab Desktop 2", "Lab Desktop 1", "Kiosk Map"]
    assert listed(sortBy="clients", sortReverse=True) == ["Lab Desktop 2", "Signage Lobby", "Lab Desktop 1",
                                                           "Kiosk Map"]
    assert listed(sortBy="started") == ["Kiosk Map", "Signage Lobby", "Lab Desktop 2", "Lab Desktop 1"]
    assert listed(sortBy="name", start=1, limit=2) == ["Lab Desktop 1", "Lab Desktop 2"]
    assert listed(start=3) == ["Kiosk Map"]
    assert listed(limit=0) == []
    bad = {"error": {"name": "BadRequest", "message": "Invalid filter string: 'login' (expected name==value1,value2)"}}
    assert call(fastx, "/v3/api/session/list", {"filter": ["login"]}, token=token) == (400, bad)
    assert call(fastx, "/v3/api/session/list", {"start": "1"}, token=token)[0] == 400
    assert call(fastx, "/v3/api/session/list", {"limit": 1.5}, token=token)[0] == 400


def test_start_from_a_bookmark_then_terminate(fastx: FakeFastx) -> None:
    token = login(fastx)
    assert call(fastx, "/v3/api/bookmark/list", {}, token=token) == (200, {"result": {
        "suggestions": [
            {"id": "bm-xterm", "command": "xterm", "name": "XTerm", "geometry": "rootless", "tags": ["terminal"]},
            {"id": "bm-gnome", "command": "gnome-session", "name": "GNOME Desktop", "geometry": "1600x900",
             "tags": ["desktop"]}],
        "bookmarks": [{"id": "bm-signage", "command": "/opt/signage/player --fullscreen", "name": "Signage Player",
                       "geometry": "1920x1080", "tags": ["signage"]}],
        "history": []}})
    status, answer = call(fastx, "/v3/api/session/start/bookmark", {"id": "bm-xterm"}, token=token)
    assert status == 200
    new = answer["result"]
    assert new == {"geometry": "1280x800", "id": new["id"], "login": "lab", "params": {"name": "XTerm"},
                   "password": fastx.last_connect_password, "port": 40001, "windowMode": "rootless"}
    assert new["password"] and new["id"] not in (SIGNAGE, DESK1, DESK2, MAP)
    _, listed = call(fastx, "/v3/api/session/list", {"filter": ["name==XTerm"]}, token=token)
    (session,) = listed["result"]
    assert (session["id"], session["command"], session["display"], session["login"]) == (
        new["id"], "xterm", ":105", "lab")
    assert session["started"].endswith("Z") and len(session["started"]) == 24
    assert call(fastx, "/v3/api/session/terminate", {"id": new["id"]}, token=token) == (200, {"result": None})
    assert call(fastx, "/v3/api/session/list/count", {}, token=token) == (200, {"result": 4})
    status, gone = call(fastx, "/v3/api/session/terminate", {"id": new["id"]}, token=token)
    assert (status, gone["error"]["name"]) == (404, "NotFound")
    status, unknown = call(fastx, "/v3/api/session/start/bookmark", {"id": "bm-nope"}, token=token)
    assert (status, unknown["error"]["name"]) == (404, "NotFound")


def test_screenshot_is_a_real_image(fastx: FakeFastx) -> None:
    token = login(fastx)
    _, png = call(fastx, "/v3/api/session/screenshot", {"id": SIGNAGE, "format": "png"}, token=token)
    prefix, _, data = png["result"]["src"].partition(",")
    assert prefix == "data:image/png;base64"
    image = base64.b64decode(data)
    assert image == fastx.png_for(SIGNAGE)
    assert image[:8] == b"\x89PNG\r\n\x1a\n" and image[12:24] == b"IHDR\x00\x00\x00\x08\x00\x00\x00\x06"
    assert fastx.png_for(DESK1) != image
    _, jpeg = call(fastx, "/v3/api/session/screenshot", {"id": DESK1, "format": "jpeg"}, token=token)
    prefix, _, data = jpeg["result"]["src"].partition(",")
    assert prefix == "data:image/jpeg;base64"
    assert base64.b64decode(data) == fastx.JPEG
    assert fastx.JPEG[:2] == b"\xff\xd8" and fastx.JPEG[-2:] == b"\xff\xd9"
    assert call(fastx, "/v3/api/session/screenshot", {"id": DESK1, "format": "gif"}, token=token)[0] == 400
    fastx.screenshot_fails = True
    status, failed = call(fastx, "/v3/api/session/screenshot", {"id": DESK1}, token=token)
    assert (status, failed["error"]["name"]) == (500, "ScreenshotError")


def test_helpers_change_what_the_server_answers(fastx: FakeFastx) -> None:
    token = login(fastx)
    added = fastx.add_session("Hall Screen", "kiosk", geometry="1920x1080", clients=3)
    fastx.drop_session(MAP)
    _, listed = call(fastx, "/v3/api/session/list", {"filter": ["login==kiosk"]}, token=token)
    assert [(s["id"], s["params"]["name"], s["clients"], s["display"]) for s in listed["result"]] == [
        (SIGNAGE, "Signage Lobby", 1, ":101"), (added, "Hall Screen", 3, ":105")]


def test_refusals(fastx: FakeFastx) -> None:
    token = login(fastx)
    assert call(fastx, "/v3/api/nope", {}, token=token) == (
        404, {"error": {"name": "NotFound", "message": "No such endpoint: /v3/api/nope"}})
    status, answer = call(fastx, "/v3/api/session/list", token=token, method="GET")
    assert (status, answer["error"]["name"]) == (405, "MethodNotAllowed")
    assert call(fastx, "/v3/api/session/list", raw=b"[1, 2]", token=token) == (
        400, {"error": {"name": "BadRequest", "message": "The body must be a JSON object"}})
    assert call(fastx, "/v3/api/session/list", raw=b"{not json", token=token)[0] == 400
    assert call(fastx, "/v3/api/session/list", {}) == (401, {"error": {"name": "AuthError",
                                                                      "message": "Not logged in"}})
    assert call(fastx, "/v3/api/session/list", {}, token="deadbeef")[0] == 401
    assert call(fastx, "/v3/api/session/terminate", {}, token=token)[0] == 400
