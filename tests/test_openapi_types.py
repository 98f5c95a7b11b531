"""Each operation is declared once, in the route table: every JSON success is typed in the OpenAPI
document (and the live answers fit those types), and the guard takes which routes are public and
which take uploads from the same table."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx
import jsonschema  # type: ignore[import-untyped]  # no stubs in requirements.lock
import msgspec
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.conftest import LOOPBACK_CONFIG, Daemon
from tvctl.api.app import ROUTES, build_routes
from tvctl.api.endpoint import Endpoint
from tvctl.api.openapi import build
from tvctl.api.security import GuardMiddleware
from tvctl.config import Settings

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "tok-0123456789"
TOKEN_CONFIG = LOOPBACK_CONFIG.replace("[daemon]\n", f'[daemon]\napi_token = "{TOKEN}"\n')
# Words of a schema that say nothing of the value's shape.
ANNOTATIONS = {"title", "description", "examples", "default", "deprecated", "readOnly", "writeOnly"}


def _resolve(doc: dict[str, Any], schema: Any) -> Any:
    while isinstance(schema, dict) and "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = doc["components"]["schemas"][name]
    return schema


def _says_nothing(schema: Any) -> bool:
    """True for a schema any value fits: ``{}``, ``true``, or only annotations."""
    return schema is True or (isinstance(schema, dict) and not set(schema) - ANNOTATIONS)


def _json_successes(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            content = op["responses"]["200"]["content"]
            if "application/json" in content:
                yield method.upper(), path, content["application/json"].get("schema", {})


def _validate(doc: dict[str, Any], schema: dict[str, Any], value: Any) -> None:
    """``value`` against a schema of the document, its ``$ref``s resolved in the document."""
    jsonschema.Draft202012Validator({**schema, "components": doc["components"]}).validate(value)


# -- every JSON success is typed ------------------------------------------------------------------
def test_every_json_success_has_a_typed_data_schema() -> None:
    doc = build(ROUTES)
    seen = set()
    for method, path, schema in _json_successes(doc):
        seen.add((method, path))
        schema = _resolve(doc, schema)
        if (method, path) == ("GET", "/v1/openapi.json"):  # the one success that is not enveloped
            assert not _says_nothing(schema) and schema["properties"]["openapi"] == {"const": "3.1.0"}
            continue
        assert schema.get("required") == ["ok", "data"], (method, path)
        assert schema["properties"]["ok"] == {"const": True}, (method, path)
        data = _resolve(doc, schema["properties"]["data"])
        assert not _says_nothing(data), f"{method} {path}: data is untyped ({data})"
    assert {("GET", "/v1/ping"), ("GET", "/v1/config"), ("PATCH", "/v1/config"), ("POST", "/v1/config/reload"),
            ("POST", "/v1/session"), ("GET", "/v1/openapi.json")} <= seen
    assert "Ok" not in doc["components"]["schemas"]  # the untyped envelope is no longer needed


def test_config_schema_has_every_section_and_key_typed() -> None:
    doc = build(ROUTES)
    config = _resolve(doc, doc["paths"]["/v1/config"]["get"]["responses"]["200"]["content"]["application/json"]
                      ["schema"]["properties"]["data"])
    sections = {name: _resolve(doc, s) for name, s in config["properties"].items()}
    assert {"daemon", "discovery", "state", "dev", "roku"} <= set(sections)
    assert set(config["required"]) == set(sections)
    daemon = sections["daemon"]["properties"]
    assert daemon["http_port"]["type"] == "integer"
    assert daemon["cors_enabled"]["type"] == "boolean"
    assert daemon["queue_wait_s"]["type"] == "number"
    assert daemon["api_token"]["type"] == "string" and "***" in daemon["api_token"]["description"]
    assert daemon["cors_allowed_origins"] == {
        "description": "Exact origins allowed to call the API from a browser.",
        "type": "array", "items": {"type": "string"}}
    assert sections["state"]["properties"]["poll_interval_s"]["type"] == "number"
    assert sections["roku"]["properties"]["dev_password"]["type"] == "string"
    assert sections["discovery"]["properties"]["interfaces"]["items"] == {"type": "string"}
    for name, section in sections.items():
        assert section["type"] == "object" and set(section["required"]) == set(section["properties"]), name
    # the reload and the PATCH answer the same change, around the same config
    for method, path in (("PATCH", "/v1/config"), ("POST", "/v1/config/reload")):
        data = doc["paths"][path][method.lower()]["responses"]["200"]["content"]["application/json"]["schema"]
        change = _resolve(doc, data["properties"]["data"])
        assert set(change["required"]) == {"config", "restart_required", "changed"}
        assert _resolve(doc, change["properties"]["config"]) == config
        assert change["properties"]["changed"]["items"] == {"type": "string"}


@pytest.fixture(scope="module")
def token_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    d = Daemon(tmp_path_factory.mktemp("typed"), config_text=TOKEN_CONFIG).start()
    try:
        yield d
    finally:
        d.stop()


def test_live_answers_fit_the_declared_types(token_daemon: Daemon) -> None:
    """The running daemon's own document, and what its routes answer, checked against it."""
    d = token_daemon
    auth = {"Authorization": f"Bearer {TOKEN}"}
    r = d.http("GET", "/v1/openapi.json", headers=auth)
    assert r.status_code == 200
    doc = r.json()

    def success(method: str, path: str) -> dict[str, Any]:
        schema: dict[str, Any] = doc["paths"][path][method.lower()]["responses"]["200"]["content"][
            "application/json"]["schema"]
        return schema

    _validate(doc, success("GET", "/v1/openapi.json"), doc)
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/v1/ping", {}),
        ("GET", "/v1/daemon/status", {}),
        ("GET", "/v1/config", {}),
        ("GET", "/v1/config/schema", {}),
        ("PATCH", "/v1/config", {"json": {"state.poll_interval_s": 2, "discovery.mdns_enabled": True,
                                          "daemon.cors_allowed_origins": ["http://127.0.0.1:8080"]}}),
        ("POST", "/v1/config/reload", {}),
        ("POST", "/v1/session", {"json": {"token": TOKEN}}),
        ("GET", "/v1/devices", {}),
    ]
    answers = {}
    for method, path, kw in calls:
        r = d.http(method, path, headers=auth, **kw)
        assert r.status_code == 200, (method, path, r.text)
        _validate(doc, success(method, path), r.json())
        answers[(method, path)] = r.json()["data"]
    # written-out spot checks, so a schema that took anything would not pass unseen
    assert answers[("GET", "/v1/ping")] == "pong"
    assert answers[("POST", "/v1/session")] == {"session": "created"}
    config = answers[("GET", "/v1/config")]
    assert config["daemon"]["api_token"] == "***" and config["daemon"]["http_port"] == 0
    patched = answers[("PATCH", "/v1/config")]
    assert patched["changed"] == ["daemon.cors_allowed_origins", "discovery.mdns_enabled", "state.poll_interval_s"]
    assert patched["restart_required"] == ["discovery.mdns_enabled"]
    assert patched["config"]["state"]["poll_interval_s"] == 2.0
    assert answers[("POST", "/v1/config/reload")]["changed"] == []
    # a value of the wrong type fails the same check (the schema is not "anything")
    wrong = {"ok": True, "data": {**config, "daemon": {**config["daemon"], "http_port": "0"}}}
    with pytest.raises(jsonschema.ValidationError):
        _validate(doc, success("GET", "/v1/config"), wrong)
    # and the declared types decode the live JSON strictly
    from tvctl.api.system import config_change_type, config_type

    msgspec.convert(config, config_type(), strict=True)
    msgspec.convert(patched, config_change_type(), strict=True)


# -- the guard reads the route table ----------------------------------------------------------------
def test_public_and_upload_routes_are_declared_in_the_table() -> None:
    assert {(e.method, e.path) for e in ROUTES if e.public} == {("GET", "/v1/ping"), ("POST", "/v1/session")}
    assert {(e.method, e.path) for e in ROUTES if e.upload} == {("POST", "/v1/devices/{id}/dev/install")}
    doc = build(ROUTES)
    open_ops = {(m.upper(), p) for p, ops in doc["paths"].items() for m, op in ops.items() if op.get("security") == []}
    assert open_ops == {("GET", "/v1/ping"), ("POST", "/v1/session")}


def test_security_names_no_route_paths() -> None:
    """security.py holds no path of its own: every string in it that looks like a path is a bug."""
    tree = ast.parse((ROOT / "tvctl" / "api" / "security.py").read_text())
    paths = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
             and re.fullmatch(r"/[\w./{}-]*", node.value)]
    assert paths == []


def test_public_route_needs_no_token_and_upload_takes_a_large_body(token_daemon: Daemon) -> None:
    d = token_daemon
    r = d.http("GET", "/v1/ping")
    assert r.status_code == 200 and r.json() == {"ok": True, "data": "pong"}
    d.err("GET", "/v1/daemon/status", 401, "unauthorized")
    # 100 KiB: over daemon.max_body_kb (64) for JSON, well within dev.max_archive_mb for an upload
    big = b"x" * (100 * 1024)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    d.err("POST", "/v1/devices", 413, "payload_too_large", headers={**auth, "Content-Type": "application/json"},
          content=big)
    d.err("POST", "/v1/devices/no-such-tv/dev/install", 404, "device_not_found", headers=auth,
          files={"archive": ("channel.zip", big, "application/zip")})


async def _echo(request: Request) -> Response:
    return JSONResponse({"ok": True, "data": {"path": request.url.path, "bytes": len(await request.body())}})


TOY_ROUTES = [
    Endpoint("GET", "/toy/{id}/open", _echo, "Public.", public=True),
    Endpoint("GET", "/toy/closed", _echo, "Needs the token."),
    Endpoint("POST", "/toy/{id}/upload", _echo, "Takes an upload.", upload=True),
    Endpoint("POST", "/toy/small", _echo, "Takes JSON."),
]


async def test_the_guard_follows_whatever_table_it_is_given() -> None:
    """A table of made-up routes: the guard knows its public and upload routes by their declaration."""
    settings = Settings(MappingProxyType({**Settings.defaults().values, "daemon.api_token": TOKEN}))
    app = Starlette(routes=build_routes(TOY_ROUTES), middleware=[Middleware(
        GuardMiddleware, settings=lambda: settings, bound_port=lambda: 7272, routes=TOY_ROUTES)])
    auth = {"Authorization": f"Bearer {TOKEN}"}
    big = b"x" * (100 * 1024)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:7272") as c:
        r = await c.get("/toy/abc/open")
        assert r.status_code == 200 and r.json()["data"]["path"] == "/toy/abc/open"
        r = await c.get("/toy/closed")
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
        r = await c.get("/toy/a/b/open")  # a {param} is one segment, as the router has it
        assert r.status_code == 401
        r = await c.get("/v1/ping")  # not in this table: not public here
        assert r.status_code == 401
        r = await c.post("/toy/x/upload", headers=auth, files={"archive": ("a.zip", big, "application/zip")})
        assert r.status_code == 200 and r.json()["data"]["bytes"] > 100 * 1024
        r = await c.post("/toy/x/upload", headers={**auth, "Content-Type": "application/json"}, content=b"{}")
        assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
        r = await c.post("/toy/small", headers={**auth, "Content-Type": "application/json"}, content=big)
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
        r = await c.post("/toy/small", headers=auth, files={"archive": ("a.zip", b"PK", "application/zip")})
        assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
