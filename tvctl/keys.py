"""Normalized remote-key names (the API's vocabulary) and ``literal:<text>`` parsing. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from tvctl.errors import InvalidKey

# The seed's key list plus a few Roku extras. Adapters map these to their own key codes.
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
MAX_LITERAL_CHARS = 500


@dataclass(frozen=True, slots=True)
class Key:
    name: str  # a KEY_NAMES entry, or "literal"
    text: str = ""  # for literal


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
    name = raw.strip().lower()
    if name not in KEY_NAMES:
        raise InvalidKey(f"Unknown key {raw!r}.", hint=key_hint())
    return Key(name)


def key_hint() -> str:
    return "Valid keys: " + ", ".join(KEY_NAMES) + ", or literal:<text>."
