"""Key names: the common names every platform maps as it can, and ``literal:<text>``. Pure.

A key is parsed here only for its form; whether a platform takes it is the platform's word
(``Adapter.check_key``), so a keyboard platform can take names like ``KeyA`` or ``ctrl+alt+Delete``
that a TV does not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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
# A key name's form: letters, digits, '-', '_', '+' (modifier prefixes) and '%' (a platform's own
# percent-encoded names), at most 64.
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+%-]{0,63}")
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
    common = common_name(name)
    if common is not None:
        return Key(common, given=name)
    if not NAME_RE.fullmatch(name):
        raise InvalidKey(f"{raw!r} is not a key name.", hint=key_hint())
    return Key(name, given=name)


def common_name(name: str) -> str | None:
    """The common name ``name`` spells, whatever its case and separators (``Volume_Up`` → volume-up)."""
    folded = name.lower().replace("_", "-")
    return folded if folded in _COMMON else None


_COMMON = frozenset(KEY_NAMES)


def closest(name: str, names: Iterable[str], n: int = 3) -> list[str]:
    """The names most like ``name`` (case and '-'/'_' ignored), best first; none when nothing is close."""
    import difflib  # only when a name is unknown: the CLI's start-up does not pay for it

    by_fold: dict[str, str] = {}
    for candidate in names:
        by_fold.setdefault(_fold(candidate), candidate)
    return [by_fold[f] for f in difflib.get_close_matches(_fold(name), list(by_fold), n=n, cutoff=0.75)]


def _fold(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def unknown_key_hint(name: str, names: Iterable[str]) -> str:
    """"Did you mean …" with the closest names (the first of ``names`` where two fold alike), else the
    names themselves when they are few, else where the list is."""
    names = list(names)  # in the caller's order: where two spell the same key, the first is named
    near = closest(name, names)
    if near:
        return "Did you mean " + " or ".join(near) + "? (tvctl key --help lists every name.)"
    if len(names) <= SHORT_LIST:
        return "Valid keys: " + ", ".join(sorted(names)) + ", or literal:<text>."
    return "tvctl key --help and docs/api.md list the key names; literal:<text> types text."


SHORT_LIST = 20  # a platform with this many names or fewer gets them all in the hint


def key_hint() -> str:
    return "Key names are listed by tvctl key --help and in docs/api.md, e.g. home, select, volume-up; " \
           "literal:<text> types text."
