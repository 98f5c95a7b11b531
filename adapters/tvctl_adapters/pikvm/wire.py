"""What the PiKVM platform computes without a device: one-time codes, pointer coordinates, kvmd's
keymap names, and the reading of kvmd's JSON envelope. Pure.

kvmd answers every JSON route as ``{"ok": true, "result": {…}}``, or on failure
``{"ok": false, "result": {"error": "<ExceptionName>", "error_msg": "<words>"}}`` with the HTTP
status saying what kind: 401 (no credentials sent), 403 (wrong ones), 400 (a refused parameter or
an operation the box cannot do, such as ATX when no ATX board is configured), 409 (busy with
another ATX operation), 503 (no video for a snapshot).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import struct
from typing import Any

TOTP_STEP_S = 30
TOTP_DIGITS = 6

# tvctl's keyboard layouts and the names of kvmd's keymaps (/api/hid/keymaps) for them.
KEYMAPS: dict[str, str] = {"en-US": "en-us", "en-GB": "en-gb", "de-DE": "de", "fr-FR": "fr"}

# kvmd's absolute pointer range (MouseRange): -32768 is the left or top edge, 32767 the right or bottom.
MOUSE_MIN, MOUSE_MAX = -32768, 32767
WHEEL_MAX = 127  # kvmd clamps a wheel delta to -127..127


def _secret_bytes(secret: str) -> bytes:
    cleaned = secret.replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def check_totp_secret(value: str) -> str | None:
    """A credential check: None when ``value`` is empty or a base32 secret."""
    if not value:
        return None
    try:
        if not _secret_bytes(value):
            return "a base32 TOTP secret (as in /etc/kvmd/totp.secret)"
    except (binascii.Error, ValueError):
        return "a base32 TOTP secret (as in /etc/kvmd/totp.secret)"
    return None


def totp(secret: str, now: float) -> str:
    """The RFC 6238 code of ``secret`` (base32) at ``now`` (Unix seconds): HMAC-SHA1, 30 s steps, 6 digits."""
    counter = int(now // TOTP_STEP_S)
    mac = hmac.new(_secret_bytes(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (int.from_bytes(mac[offset:offset + 4], "big") & 0x7FFFFFFF) % 10 ** TOTP_DIGITS
    return f"{code:0{TOTP_DIGITS}d}"


def totp_left_s(now: float) -> float:
    """Seconds until the code of ``now`` expires."""
    return TOTP_STEP_S - (now % TOTP_STEP_S)


def to_absolute(fraction: float) -> int:
    """A fraction of the screen (0 to 1) as kvmd's absolute coordinate."""
    f = min(max(fraction, 0.0), 1.0)
    return round(MOUSE_MIN + f * (MOUSE_MAX - MOUSE_MIN))


def pixel_fraction(px: float, size: int) -> float:
    """Pixel ``px`` of a side ``size`` pixels long as a fraction: 0 is the first pixel, 1 the last."""
    return px / (size - 1) if size > 1 else 0.0


def envelope(body: bytes) -> dict[str, Any] | None:
    """kvmd's ``{"ok": …, "result": {…}}``, or None when ``body`` is not one."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("ok"), bool) or not isinstance(doc.get("result"), dict):
        return None
    return doc


def error_of(body: bytes) -> tuple[str, str]:
    """kvmd's error name and words from a failure's body ("" where it has none)."""
    doc = envelope(body)
    if doc is None:
        return "", body.decode("utf-8", "replace").strip()[:200]
    result = doc["result"]
    return str(result.get("error", "")), str(result.get("error_msg", ""))


def dig(doc: Any, *path: str) -> Any:
    """``doc[path[0]][path[1]]…``, or None where a step is missing or not a mapping."""
    for part in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(part)
    return doc
