"""The /v1 envelope: ``{"ok": true, "data": …}`` / ``{"ok": false, "error": {code, message, hint}}``."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.responses import Response

from tvctl.errors import TvctlError


def _dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON; ``data`` may hold the typed models (dataclasses) as they are."""
    return msgspec.json.encode(obj)


def ok(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(_dumps({"ok": True, "data": data}), status, headers, media_type="application/json")


def error(exc: TvctlError, headers: dict[str, str] | None = None) -> Response:
    return Response(_dumps({"ok": False, "error": exc.to_dict()}), exc.status, headers,
                    media_type="application/json")


def error_body(exc: TvctlError) -> bytes:
    return _dumps({"ok": False, "error": exc.to_dict()})
