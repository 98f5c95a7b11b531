"""OpenAPI 3.1 document generated from the route table (so every route is always in it)."""

from __future__ import annotations

import inspect
import re
from typing import TYPE_CHECKING, Any

import msgspec

from tvctl import __version__
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
    from tvctl.plugins import installed

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


def _resolve(t: Any) -> Any:
    """A declared type or schema as the document uses it: a function (a type or a schema that
    depends on what is installed) is called now."""
    return t() if inspect.isfunction(inspect.unwrap(t)) else t


def build(routes: list[Endpoint], server: str | None = DEFAULT_SERVER) -> dict[str, Any]:
    """The document. Success payloads, request bodies and query parameters are generated from the
    types the handlers take and return (``Endpoint.response``, ``.body``, ``.query``), so the
    schemas are those types and nothing written beside them. ``server`` is the TCP listener's
    base URL; None (HTTP disabled: only the Unix socket serves) leaves ``servers`` out."""
    declared = [{"response": _resolve(e.response), "body": _resolve(e.body), "query": e.query} for e in routes]
    types = [t for d in declared for t in d.values() if t is not None and not isinstance(t, dict)]
    schemas, components = msgspec.json.schema_components(types, ref_template="#/components/schemas/{name}")
    schema_of = {id(t): s for t, s in zip(types, schemas, strict=True)}

    def schema(t: object) -> dict[str, Any]:
        return t if isinstance(t, dict) else schema_of[id(t)]

    by_status = codes_by_status()
    paths: dict[str, dict[str, Any]] = {}
    untyped = False
    for e, d in zip(routes, declared, strict=True):
        ok: dict[str, Any] = {"$ref": "#/components/schemas/Ok"}
        if d["response"] is None:
            untyped = untyped or e.content == "application/json"
        elif not e.enveloped:
            ok = schema(d["response"])
        else:
            ok = {"type": "object", "required": ["ok", "data"],
                  "properties": {"ok": {"const": True}, "data": schema(d["response"])}}
        op: dict[str, Any] = {
            "summary": e.summary,
            "operationId": e.handler.__name__,
            "responses": {
                "200": {"description": "Success",
                        "content": {e.content: {"schema": ok} if e.content == "application/json" else {}}},
                **{str(status): error_response(codes) for status, codes in by_status.items()},
            },
        }
        if e.public:
            op["security"] = []
        params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                  for n in re.findall(r"{(\w+)}", e.path)]
        if e.query is not None:  # a query type is spelled out as parameters, not kept as a component
            q = components.pop(e.query.__name__)
            params += [{"name": name, "in": "query", "required": name in q["required"], "schema": s,
                        **({"explode": True} if s.get("type") == "array" else {})}
                       for name, s in q["properties"].items()]
        if params:
            op["parameters"] = params
        if d["body"] is not None:
            ctype = "multipart/form-data" if e.upload else "application/json"
            op["requestBody"] = {"required": e.body_required, "content": {ctype: {"schema": schema(d["body"])}}}
        paths.setdefault(e.path, {})[e.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "tvctl local API", "version": __version__,
                 "description": "Loopback HTTP and Unix-socket API of the tvctl daemon. See docs/api.md."},
        **({"servers": [{"url": server}]} if server else {}),
        "paths": paths,
        # Needed on TCP only when daemon.api_token is set; the Unix socket never needs it.
        "security": [{}, {"bearer": []}],
        "components": {"schemas": {**components, **({"Ok": ENVELOPE_OK} if untyped else {}), "Error": envelope_error()},
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "daemon.api_token"}}},
    }


# The success of GET /v1/openapi.json: this document itself, not enveloped.
DOCUMENT = {
    "type": "object", "required": ["openapi", "info", "paths", "security", "components"],
    "description": "An OpenAPI 3.1 document (this one).",
    "properties": {
        "openapi": {"const": "3.1.0"},
        "info": {"type": "object", "required": ["title", "version"],
                 "properties": {"title": {"type": "string"}, "version": {"type": "string"},
                                "description": {"type": "string"}}},
        "servers": {"type": "array", "items": {"type": "object", "required": ["url"],
                                               "properties": {"url": {"type": "string"}}}},
        "paths": {"type": "object", "additionalProperties": {"type": "object"}},
        "security": {"type": "array", "items": {"type": "object"}},
        "components": {"type": "object", "required": ["schemas"],
                       "properties": {"schemas": {"type": "object", "additionalProperties": {"type": "object"}},
                                      "securitySchemes": {"type": "object"}}},
    },
}
