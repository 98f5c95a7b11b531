"""OpenAPI 3.1 document generated from the route table (so every route is always in it)."""

from __future__ import annotations

import inspect
import re
from typing import TYPE_CHECKING, Any

import msgspec

from tvctl import __version__
from tvctl.api.security import NO_AUTH_PATHS
from tvctl.errors import all_error_classes

if TYPE_CHECKING:
    from tvctl.api.endpoint import Endpoint

ENVELOPE_OK = {
    "type": "object", "required": ["ok", "data"],
    "properties": {"ok": {"const": True}, "data": {}},
}
# The default listener; a running daemon names the address it is actually bound to.
DEFAULT_SERVER = "http://127.0.0.1:7272"


def server_url(host: str, port: int) -> str:
    """The base URL of a TCP listener on ``host``:``port`` (a wildcard address is reached on loopback)."""
    return f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}"


def codes_by_status() -> dict[int, list[str]]:
    """Every error code of the core and of the installed platforms, by HTTP status."""
    from tvctl.platforms import installed

    installed()  # their error classes are defined when their modules load
    out: dict[int, set[str]] = {}
    for c in all_error_classes():
        out.setdefault(c.status, set()).add(c.code)
    return {status: sorted(codes) for status, codes in sorted(out.items())}


def error_response(codes: list[str]) -> dict[str, Any]:
    schema = {"allOf": [{"$ref": "#/components/schemas/Error"},
                        {"properties": {"error": {"properties": {"code": {"enum": codes}}}}}]}
    return {"description": "Error envelope; error.code is one of: " + ", ".join(codes),
            "content": {"application/json": {"schema": schema}}}


def envelope_error() -> dict[str, Any]:
    """The error envelope, with every code of the core and of the installed platforms."""
    all_codes = sorted(code for codes in codes_by_status().values() for code in codes)
    return {
        "type": "object", "required": ["ok", "error"],
        "properties": {
            "ok": {"const": False},
            "error": {
                "type": "object", "required": ["code", "message", "hint"],
                "properties": {
                    "code": {"type": "string", "enum": all_codes},
                    "message": {"type": "string"},
                    "hint": {"type": "string"},
                    "details": {"type": "object"},
                },
            },
        },
    }


def _written_out(t: object) -> bool:
    """A schema given as it is (a dict, or a function that makes one), not a type to generate it from."""
    return isinstance(t, dict) or inspect.isfunction(t)


def build(routes: list[Endpoint], server: str | None = DEFAULT_SERVER) -> dict[str, Any]:
    """The document. Success payloads, request bodies and query parameters are generated from the
    types the handlers take and return (``Endpoint.response``, ``.body``, ``.query``), so the
    schemas are those types and nothing written beside them. ``server`` is the TCP listener's
    base URL; None (HTTP disabled: only the Unix socket serves) leaves ``servers`` out."""
    types: list[Any] = []
    for e in routes:
        types += [t for t in (e.response, e.body, e.query) if t is not None and not _written_out(t)]
    schemas, components = msgspec.json.schema_components(types, ref_template="#/components/schemas/{name}")
    schema_of = {id(t): s for t, s in zip(types, schemas, strict=True)}
    by_status = codes_by_status()
    paths: dict[str, dict[str, Any]] = {}
    for e in routes:
        ok: dict[str, Any] = {"$ref": "#/components/schemas/Ok"}
        if e.response is not None:
            ok = {"type": "object", "required": ["ok", "data"],
                  "properties": {"ok": {"const": True}, "data": schema_of[id(e.response)]}}
        op: dict[str, Any] = {
            "summary": e.summary,
            "operationId": e.handler.__name__,
            "responses": {
                "200": {"description": "Success",
                        "content": {e.content: {"schema": ok} if e.content == "application/json" else {}}},
                **{str(status): error_response(codes) for status, codes in by_status.items()},
            },
        }
        if e.path in NO_AUTH_PATHS:
            op["security"] = []
        params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                  for n in re.findall(r"{(\w+)}", e.path)]
        if e.query is not None:  # a query type is spelled out as parameters, not kept as a component
            q = components.pop(e.query.__name__)
            params += [{"name": name, "in": "query", "required": name in q["required"], "schema": schema,
                        **({"explode": True} if schema.get("type") == "array" else {})}
                       for name, schema in q["properties"].items()]
        if params:
            op["parameters"] = params
        if e.body is not None:
            ctype = "multipart/form-data" if e.upload else "application/json"
            if isinstance(e.body, dict):
                body = e.body
            elif inspect.isfunction(e.body):
                body = e.body()
            else:
                body = schema_of[id(e.body)]
            op["requestBody"] = {"required": e.body_required, "content": {ctype: {"schema": body}}}
        paths.setdefault(e.path, {})[e.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "tvctl local API", "version": __version__,
                 "description": "Loopback HTTP and Unix-socket API of the tvctl daemon. See docs/api.md."},
        **({"servers": [{"url": server}]} if server else {}),
        "paths": paths,
        # Needed on TCP only when daemon.api_token is set; the Unix socket never needs it.
        "security": [{}, {"bearer": []}],
        "components": {"schemas": {**components, "Ok": ENVELOPE_OK, "Error": envelope_error()},
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "daemon.api_token"}}},
    }
