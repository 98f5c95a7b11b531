"""A command that arrived on ``BASE/NODE/DEVICE/set/COMMAND``, read into an operation of the table
(``tvctl.operations``) and its request, checked exactly as the HTTP API checks a body.

The words Home Assistant's entities send have short forms: ``key`` (a key name, or the JSON of
``POST …/remote/key``), ``sequence`` (key names apart by spaces or a JSON list, or the JSON of
``…/remote/sequence``), ``text`` (the text itself, typed), ``launch`` (an app's name or id, or the
JSON of ``…/apps/launch``), ``stop``, ``power`` (``ON``/``OFF``, a switch's words) and
``screenshot`` (answered on the device's ``screenshot`` topic). Any other operation of the table
is its name with its request's JSON (``set/tv_tune`` ``{"channel": "5.1"}``); an operation that
takes nothing takes an empty payload.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import msgspec

from tvctl.api.bodies import Body, ScreenshotQuery
from tvctl.api.reading import MAX_JSON_DEPTH, convert_body, encodes_as_utf8, json_depth
from tvctl.errors import BadRequest, InvalidJson
from tvctl.operations import LAUNCH_APP, PRESS_KEY, PRESS_KEYS, STOP_APP, Operation

SHORT = ("key", "sequence", "text", "launch", "stop", "power", "screenshot")
MAX_PAYLOAD = 64 << 10  # as daemon.max_body_kb's default: a command is small


@dataclass(frozen=True, slots=True)
class Command:
    """What to run: an operation and its request, or a screenshot (``op`` None)."""

    op: Operation[Any, Any] | None
    request: Any
    shot: ScreenshotQuery | None = None


def _json(payload: bytes, what: str) -> Any:
    """The payload as JSON, held to the HTTP API's rules (tvctl.api.reading): not too deep, and text
    that is UTF-8 (no lone surrogates written as \\u escapes)."""
    try:
        doc = json.loads(payload)
    except (ValueError, RecursionError):
        raise InvalidJson(f"The {what} payload is not JSON (or nests too deep).",
                          hint="Send a JSON object, or the short form (docs/api.md, MQTT).") from None
    if json_depth(doc) > MAX_JSON_DEPTH:
        raise InvalidJson(f"The {what} payload nests JSON more than {MAX_JSON_DEPTH} levels deep.",
                          hint="Send a flat JSON object (docs/api.md, MQTT).")
    if b"\\u" in payload and not encodes_as_utf8(doc):
        raise InvalidJson(f"The {what} payload has text that is not UTF-8 (a lone surrogate).",
                          hint="Send the text as UTF-8.")
    return doc


def _object(payload: bytes, command: str) -> dict[str, Any]:
    if not payload.strip():
        return {}
    doc = _json(payload, command)
    if not isinstance(doc, dict):
        raise BadRequest(f"The {command} payload must be a JSON object.", hint="Send the request's fields as an "
                                                                                 "object (docs/api.md).")
    return doc


def _text(payload: bytes, command: str) -> str:
    try:
        return payload.decode()
    except UnicodeDecodeError:
        raise BadRequest(f"The {command} payload is not UTF-8 text.") from None


def parse(command: str, payload: bytes, operations: dict[str, Operation[Any, Any]]) -> Command:
    """The command ``command`` with ``payload``; BadRequest (or a subclass) when it is none."""
    if len(payload) > MAX_PAYLOAD:
        raise BadRequest(f"The {command} payload is larger than {MAX_PAYLOAD} bytes.")
    text = _text(payload, command)
    stripped = text.strip()
    raw: Any
    if command == "key":
        raw = _object(payload, command) if stripped.startswith("{") else {"key": stripped}
        return _op(PRESS_KEY, raw)
    if command == "sequence":
        if stripped.startswith("{"):
            raw = _object(payload, command)
        elif stripped.startswith("["):
            raw = {"keys": _json(payload, command)}
        else:
            raw = {"keys": stripped.replace(",", " ").split()}
        return _op(PRESS_KEYS, raw)
    if command == "text":
        if not text:
            raise BadRequest("The text payload is empty.", hint="Send the text to type.")
        return _op(PRESS_KEY, {"key": f"literal:{text}"})
    if command == "launch":
        raw = _object(payload, command) if stripped.startswith("{") else {"app": stripped}
        return _op(LAUNCH_APP, raw)
    if command == "stop":
        return Command(STOP_APP, None)
    if command == "power":
        word = stripped.lower()
        if word not in ("on", "off"):
            raise BadRequest(f"The power payload is ON or OFF, not {stripped[:40]!r}.", hint="Send ON or OFF.")
        return _op(PRESS_KEY, {"key": f"power-{word}"})
    if command == "screenshot":
        try:
            return Command(None, None, msgspec.convert(_object(payload, command), ScreenshotQuery))
        except msgspec.ValidationError as exc:
            raise BadRequest(f"The screenshot payload: {exc}.", hint='Send {} or {"display": 1} or '
                                                                      '{"session": "NAME"}.') from None
    op = operations.get(command)
    if op is None:
        raise BadRequest(f"Unknown command {command!r}.",
                         hint="Commands: " + ", ".join([*SHORT, *sorted(operations)]) + ".")
    return _op(op, _object(payload, command))


def _op(op: Operation[Any, Any], raw: dict[str, Any]) -> Command:
    kind = op.request_type()
    if kind is None:
        if raw:
            raise BadRequest(f"{op.name} takes no fields; got {', '.join(sorted(raw))}.")
        return Command(op, None)
    if isinstance(kind, type) and issubclass(kind, Body):
        return Command(op, convert_body(raw, kind))
    try:  # a GET's query type: the same fields, as JSON
        return Command(op, msgspec.convert(raw, kind))
    except msgspec.ValidationError as exc:
        raise BadRequest(f"{op.name}: {exc}.", hint=f"GET /v1/operations lists {op.name}'s fields.") from None
