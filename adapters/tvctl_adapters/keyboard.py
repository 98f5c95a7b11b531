"""A USB keyboard as KVM-over-IP boxes drive it: key positions, chords and keyboard layouts.

Shared by the keyboard platforms (TinyPilot, BliKVM). A key is a ``KeyboardEvent.code`` name, a
position on the keyboard rather than a character (``KeyQ`` is labelled A on a French keyboard),
with modifier prefixes: ``ctrl+alt+Delete``, ``shift+KeyA``, ``rmeta+KeyD``. tvctl's common names
map onto codes where a keyboard has the key; the media, volume, power and input names do not
exist on a keyboard report and are refused (unsupported_operation). Text is typed for the
target's layout: each character becomes a code plus Shift or AltGr, and a character the layout
cannot type is refused before anything is sent. Dead keys are not used, so a character that
needs one (the acute accent or ``^`` on a German keyboard) counts as one the layout cannot type. Pure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tvctl.errors import DeviceBadResponse, InvalidKey, UnsupportedOperation
from tvctl.keys import Key, closest
from tvctl.models import DeviceState


@dataclass(frozen=True, slots=True)
class KvmState(DeviceState):
    """What a KVM can tell of its target: whether it sends video."""

    video: bool = False


class KeystrokeFailed(DeviceBadResponse):
    code = "keystroke_failed"
    default_hint = "Check the USB cable between the KVM and the target computer, and that the target is on."

# KeyboardEvent.code names of the keys on a USB keyboard's report, with their HID usage ids.
CODES: dict[str, int] = {
    **{f"Key{c}": 4 + i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ")},
    **{f"Digit{d}": 30 + i for i, d in enumerate("1234567890")},
    "Enter": 40, "Escape": 41, "Backspace": 42, "Tab": 43, "Space": 44, "Minus": 45, "Equal": 46,
    "BracketLeft": 47, "BracketRight": 48, "Backslash": 49, "Semicolon": 51, "Quote": 52, "Backquote": 53,
    "Comma": 54, "Period": 55, "Slash": 56, "CapsLock": 57,
    **{f"F{n}": 57 + n for n in range(1, 13)},
    "PrintScreen": 70, "ScrollLock": 71, "Pause": 72, "Insert": 73, "Home": 74, "PageUp": 75, "Delete": 76,
    "End": 77, "PageDown": 78, "ArrowRight": 79, "ArrowLeft": 80, "ArrowDown": 81, "ArrowUp": 82,
    "NumLock": 83, "NumpadDivide": 84, "NumpadMultiply": 85, "NumpadSubtract": 86, "NumpadAdd": 87,
    "NumpadEnter": 88, **{f"Numpad{d}": 89 + i for i, d in enumerate("1234567890")}, "NumpadDecimal": 99,
    "IntlBackslash": 100, "ContextMenu": 101,
    "ControlLeft": 224, "ShiftLeft": 225, "AltLeft": 226, "MetaLeft": 227,
    "ControlRight": 228, "ShiftRight": 229, "AltRight": 230, "MetaRight": 231,
}  # fmt: skip

# Modifier prefixes of a chord, and the modifier key each one holds.
MODIFIERS: dict[str, str] = {
    "ctrl": "ControlLeft", "alt": "AltLeft", "shift": "ShiftLeft", "meta": "MetaLeft",
    "rctrl": "ControlRight", "ralt": "AltRight", "rshift": "ShiftRight", "rmeta": "MetaRight",
}  # fmt: skip

# tvctl's common names that a keyboard has.
COMMON: dict[str, str] = {
    "up": "ArrowUp", "down": "ArrowDown", "left": "ArrowLeft", "right": "ArrowRight",
    "select": "Enter", "enter": "Enter", "back": "Escape", "home": "Home", "backspace": "Backspace",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Chord:
    """One keyboard report: the modifier keys held and the key pressed with them."""

    code: str
    modifiers: tuple[str, ...] = ()  # modifier key codes (ShiftLeft, AltRight, …), in order

    @property
    def codes(self) -> list[str]:
        return [*self.modifiers, self.code]


def chord_for(key: Key, platform: str) -> Chord:
    """The chord a (non-literal) key stands for; raises InvalidKey or UnsupportedOperation."""
    given = key.given or key.name
    *prefixes, code = given.split("+")
    if code in CODES:
        mods: list[str] = []
        for p in prefixes:
            mod = MODIFIERS.get(p.lower())
            if mod is None:
                raise InvalidKey(f"{p!r} in {given!r} is not a modifier.",
                                 hint=_did_you_mean(given)
                                 + "Modifiers: " + ", ".join(MODIFIERS) + " (r… for the right-hand keys).")
            if mod not in mods:
                mods.append(mod)
        return Chord(code, tuple(mods))
    if not prefixes and key.name in COMMON:
        return Chord(COMMON[key.name])
    if not prefixes and key.name in COMMON_NOT_ON_A_KEYBOARD:
        raise UnsupportedOperation(f"{key.name!r} has no key on a keyboard, so a {platform} box cannot press it.",
                                   hint="Keyboard platforms take up, down, left, right, select, back, home, "
                                        "backspace, enter and KeyboardEvent.code names such as KeyA or F5.")
    raise InvalidKey(f"{given!r} is not a key of a {platform} keyboard.",
                     hint=_did_you_mean(given)
                     + "Use a KeyboardEvent.code name (KeyA, Digit1, Enter, ArrowUp, F5, …), optionally with "
                       "modifiers (ctrl+alt+Delete), a common name (home, back, up, …) or literal:<text>.")


# What people type for a key or a modifier, by the name a keyboard platform takes.
ABBREVIATIONS: dict[str, str] = {
    "del": "Delete", "esc": "Escape", "ins": "Insert", "pgup": "PageUp", "pgdn": "PageDown",
    "pgdown": "PageDown", "bksp": "Backspace", "return": "Enter", "prtsc": "PrintScreen", "prtscr": "PrintScreen",
    "caps": "CapsLock", "menu": "ContextMenu", "spacebar": "Space", "tab": "Tab",
}  # fmt: skip
MODIFIER_ABBREVIATIONS: dict[str, str] = {
    "control": "ctrl", "ctl": "ctrl", "option": "alt", "opt": "alt", "altgr": "ralt",
    "cmd": "meta", "command": "meta", "win": "meta", "windows": "meta", "super": "meta",
}  # fmt: skip


def suggestions(given: str) -> list[str]:
    """Chords a keyboard platform takes that ``given`` most likely meant (``ctrl+alt+del`` →
    ``ctrl+alt+Delete``, ``ctrl+c`` → ``ctrl+KeyC``); none when a part has no likely meaning."""
    *prefixes, code = given.split("+")
    mods: list[str] = []
    for p in prefixes:
        low = p.lower()
        mod = low if low in MODIFIERS else MODIFIER_ABBREVIATIONS.get(low)
        if mod is None:
            near = closest(p, MODIFIERS, n=1)
            if not near:
                return []
            mod = near[0]
        mods.append(mod)
    if code in CODES:
        codes = [code]
    elif len(code) == 1 and code.isascii() and code.isalpha():
        codes = [f"Key{code.upper()}"]
    elif len(code) == 1 and code.isdigit():
        codes = [f"Digit{code}"]
    elif code.lower() in ABBREVIATIONS:
        codes = [ABBREVIATIONS[code.lower()]]
    else:
        codes = closest(code, [*CODES, *COMMON] if not prefixes else CODES)
        if not codes and len(code) >= 3:  # the start of a name: Arrow, Numpad, Page
            codes = [c for c in CODES if c.lower().startswith(code.lower())][:3]
    return ["+".join([*mods, c]) for c in codes]


def _did_you_mean(given: str) -> str:
    near = suggestions(given)
    return "Did you mean " + " or ".join(near) + "? " if near else ""


def check_key(key: Key, platform: str, known: frozenset[str] | None = None) -> None:
    """Raise unless the platform can press ``key``; for literal text, unless the layout types it."""
    if key.name == "literal":
        return
    chord = chord_for(key, platform)
    if known is not None:
        for code in chord.codes:
            if code not in known:
                raise InvalidKey(f"A {platform} box does not know the key {code!r}.",
                                 hint="It takes the keys of its own list; see docs/api.md.")


# The common names of a remote control that no keyboard report carries (consumer page or none).
COMMON_NOT_ON_A_KEYBOARD = frozenset({
    "play", "pause", "play-pause", "stop", "rewind", "fast-forward", "replay", "skip",
    "volume-up", "volume-down", "mute", "power", "power-on", "power-off", "channel-up", "channel-down",
    "input-hdmi1", "input-hdmi2", "input-hdmi3", "input-hdmi4", "input-av", "input-tuner",
    "search", "info", "options", "find-remote",
})  # fmt: skip


# -- layouts ------------------------------------------------------------------------------------
# Per code: the characters it types alone, with Shift, and with AltGr ("" where none, or a dead key).
_Row = tuple[str, str, str]
_LETTERS: dict[str, _Row] = {f"Key{c}": (c.lower(), c, "") for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
_COMMON_KEYS: dict[str, _Row] = {"Space": (" ", " ", ""), "Enter": ("\n", "", ""), "Tab": ("\t", "", "")}


def _digits(shifted: str) -> dict[str, _Row]:
    return {f"Digit{d}": (d, s, "") for d, s in zip("1234567890", shifted, strict=True)}


EN_US: dict[str, _Row] = {
    **_LETTERS, **_COMMON_KEYS, **_digits("!@#$%^&*()"),
    "Minus": ("-", "_", ""), "Equal": ("=", "+", ""), "BracketLeft": ("[", "{", ""), "BracketRight": ("]", "}", ""),
    "Backslash": ("\\", "|", ""), "Semicolon": (";", ":", ""), "Quote": ("'", '"', ""), "Backquote": ("`", "~", ""),
    "Comma": (",", "<", ""), "Period": (".", ">", ""), "Slash": ("/", "?", ""),
}  # fmt: skip

EN_GB: dict[str, _Row] = {
    **EN_US, **_digits('!"£$%^&*()'), "Digit4": ("4", "$", "€"),
    "Quote": ("'", "@", ""), "Backquote": ("`", "¬", "¦"), "Backslash": ("#", "~", ""),
    "IntlBackslash": ("\\", "|", ""),
}  # fmt: skip

DE_DE: dict[str, _Row] = {
    **_LETTERS, **_COMMON_KEYS, **_digits('!"§$%&/()='),
    "KeyY": ("z", "Z", ""), "KeyZ": ("y", "Y", ""), "KeyQ": ("q", "Q", "@"), "KeyE": ("e", "E", "€"),
    "KeyM": ("m", "M", "µ"), "Digit2": ("2", '"', "²"), "Digit3": ("3", "§", "³"), "Digit7": ("7", "/", "{"),
    "Digit8": ("8", "(", "["), "Digit9": ("9", ")", "]"), "Digit0": ("0", "=", "}"),
    "Minus": ("ß", "?", "\\"), "Equal": ("", "", ""), "Backquote": ("", "°", ""),
    "BracketLeft": ("ü", "Ü", ""), "BracketRight": ("+", "*", "~"), "Semicolon": ("ö", "Ö", ""),
    "Quote": ("ä", "Ä", ""),
    "Backslash": ("#", "'", ""), "IntlBackslash": ("<", ">", "|"),
    "Comma": (",", ";", ""), "Period": (".", ":", ""), "Slash": ("-", "_", ""),
}  # fmt: skip

FR_FR: dict[str, _Row] = {
    **_LETTERS, **_COMMON_KEYS,
    "KeyQ": ("a", "A", ""), "KeyW": ("z", "Z", ""), "KeyA": ("q", "Q", ""), "KeyZ": ("w", "W", ""),
    "KeyE": ("e", "E", "€"), "Semicolon": ("m", "M", ""), "KeyM": (",", "?", ""),
    "Digit1": ("&", "1", ""), "Digit2": ("é", "2", ""), "Digit3": ('"', "3", "#"), "Digit4": ("'", "4", "{"),
    "Digit5": ("(", "5", "["), "Digit6": ("-", "6", "|"), "Digit7": ("è", "7", ""), "Digit8": ("_", "8", "\\"),
    "Digit9": ("ç", "9", "^"), "Digit0": ("à", "0", "@"), "Minus": (")", "°", "]"), "Equal": ("=", "+", "}"),
    "Backquote": ("²", "", ""), "BracketLeft": ("", "", ""), "BracketRight": ("$", "£", "¤"),
    "Quote": ("ù", "%", ""), "Backslash": ("*", "µ", ""), "IntlBackslash": ("<", ">", ""),
    "Comma": (";", ".", ""), "Period": (":", "/", ""), "Slash": ("!", "§", ""),
}  # fmt: skip

LAYOUTS: dict[str, dict[str, _Row]] = {"en-US": EN_US, "en-GB": EN_GB, "de-DE": DE_DE, "fr-FR": FR_FR}


def check_layout(value: str) -> str | None:
    """A config or option check: None when ``value`` names a layout, else what it must be."""
    return None if value in LAYOUTS else "one of " + ", ".join(LAYOUTS)


def _by_char(layout: dict[str, _Row]) -> dict[str, Chord]:
    out: dict[str, Chord] = {}
    for mods, column in (((), 0), (("ShiftLeft",), 1), (("AltRight",), 2)):
        for code, row in layout.items():
            ch = row[column]
            if ch and ch not in out:  # the plainest way to type it wins
                out[ch] = Chord(code, mods)
    return out


_CHARS: dict[str, dict[str, Chord]] = {name: _by_char(table) for name, table in LAYOUTS.items()}


async def press_each(chords: list[Chord], press: Callable[[Chord], Awaitable[None]]) -> None:
    """Press the chords of a text in order; a failure says how many characters went out."""
    for i, chord in enumerate(chords):
        try:
            await press(chord)
        except KeystrokeFailed as exc:
            raise exc.restated(f"{exc.message} ({i} of {len(chords)} characters were sent.)",
                               sent=i, total=len(chords)) from exc


def type_text(text: str, layout: str, known: frozenset[str] | None = None) -> list[Chord]:
    """The chords that type ``text`` on a target set to ``layout``; raises InvalidKey naming the
    first character it cannot type (before anything is sent)."""
    chars = _CHARS[layout]
    out: list[Chord] = []
    for i, ch in enumerate(text.replace("\r\n", "\n")):
        chord = chars.get(ch)
        if chord is None or (known is not None and chord.code not in known):
            raise InvalidKey(f"The {layout} keyboard layout cannot type {ch!r} (character {i + 1} of the text).",
                             hint="Set the device's keyboard layout to the target's, or leave the character out.")
        out.append(chord)
    return out
