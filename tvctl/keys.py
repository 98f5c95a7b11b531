"""Key names: the common names every platform maps as it can, and ``literal:<text>``. Pure.

A key is parsed here only for its form; whether a platform takes it is the platform's word
(``Adapter.check_key``), so a keyboard platform can take names like ``KeyA`` or ``ctrl+alt+Delete``
that a TV does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tvctl.errors import InvalidKey

# The common names (the API contract's list and a few more). Platforms map them to their own codes.
KEY_NAMES: tuple[str, ...] = (
    "home", "back", "up", "down", "left", "right", "select",
    "play", "pause", "play-pause", "stop", "rewind", "fast-forward", "replay", "skip",
    "volume-up", "volume-down", "mute",
    "power", "power-on", "power-off",
    "channel-up", "channel-down",
    "input-hdmi1", "input-hdmi2", "input-hdmi3", "input-hdmi4", "input-av", "input-tuner",
    "search", "info", "options",
    "backspace", "enter", "find-remote",
)  # fmt: skip

LITERAL_PREFIX = "literal:"
# A key name's form: letters, digits, '-', '_' and '+' (for modifier prefixes), at most 64.
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+-]{0,63}")
MAX_LITERAL_CHARS = 500
# Every string parse_key takes, as one pattern (for the API's schema): a name, or literal text.
KEY_PATTERN = rf"^(\s*{NAME_RE.pattern}\s*|{LITERAL_PREFIX}[\s\S]{{1,{MAX_LITERAL_CHARS}}})$"


@dataclass(frozen=True, slots=True)
class Key:
    name: str  # a common name (lower case), a platform's own name as given, or "literal"
    text: str = ""  # for literal
    given: str = ""  # the name as the client spelled it ("Pause" is a keyboard's key, "pause" a remote's)


def parse_key(raw: object) -> Key:
    if not isinstance(raw, str) or not raw:
        raise InvalidKey(f"A key must be a non-empty string, got {raw!r}.", hint=key_hint())
    if raw.startswith(LITERAL_PREFIX):
        text = raw[len(LITERAL_PREFIX) :]
        if not text:
            raise InvalidKey("literal: needs some text after the colon.", hint="Example: literal:hello world")
        if len(text) > MAX_LITERAL_CHARS:
            raise InvalidKey(f"literal text is longer than {MAX_LITERAL_CHARS} characters.",
                             hint="Send long text in several requests.")
        return Key("literal", text)
    name = raw.strip()
    if name.lower() in KEY_NAMES:
        return Key(name.lower(), given=name)
    if not NAME_RE.fullmatch(name):
        raise InvalidKey(f"{raw!r} is not a key name.", hint=key_hint())
    return Key(name, given=name)


def key_hint() -> str:
    return "Valid keys: " + ", ".join(KEY_NAMES) + ", or literal:<text>."
