"""The /v1 envelope: ``{"ok": true, "data": …}`` / ``{"ok": false, "error": {code, message, hint}}``."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from tvctl.errors import TvctlError


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def ok(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(_dumps({"ok": True, "data": data}), status, headers, media_type="application/json")


def error(exc: TvctlError, headers: dict[str, str] | None = None) -> Response:
    return Response(_dumps({"ok": False, "error": exc.to_dict()}), exc.status, headers,
                    media_type="application/json")


def error_body(exc: TvctlError) -> bytes:
    return _dumps({"ok": False, "error": exc.to_dict()})
