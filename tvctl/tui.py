"""``tvctl remote``: a full-screen remote control in the terminal, over the daemon's socket.

Keys: arrows move, Enter is OK, Backspace or Esc is back, ``h`` home, space play-pause, ``+``
and ``-`` volume, ``m`` mute, ``r``/``f`` rewind and fast-forward, ``t`` types a line of text
into the device, ``a`` picks an app to launch, ``d`` switches device, ``?`` lists every key,
``q`` or Ctrl-C quits (the terminal is restored). What a device can do beyond that, by its
``capabilities``: ``s`` saves a screenshot to a file (``screenshot``), ``c`` clicks at a point
(``pointer``), ``S`` picks one of a server's sessions to screenshot or terminate (``sessions``: on
such a server ``s`` asks for the session first, and ``a`` starts a session from a bookmark). The
keys, the help screen and the footer offer only what the device in use can do: a device without
``keys`` (a FastX server) sends nothing for the arrows and the rest, and says so. The footer (two
rows) fits the terminal's width and always ends with ``? help`` and ``q quit``; a key that does
nothing says so. The status line shows the device and its active app, the last key sent, and any
error in one line. A device the daemon does not know is an error before the screen is taken
(exit 1). Only this command imports curses.
"""

from __future__ import annotations

import contextlib
import curses
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from tvctl.client import Client, DaemonUnreachable, quote, urlencode
from tvctl.errors import TvctlError
from tvctl.operations import (
    LAUNCH_APP,
    LIST_APPS,
    LIST_SESSIONS,
    POINTER,
    PRESS_KEY,
    STATE,
    TERMINATE_SESSION,
    Operation,
)

T = TypeVar("T")

KEYMAP: dict[int, str] = {
    curses.KEY_UP: "up", curses.KEY_DOWN: "down", curses.KEY_LEFT: "left", curses.KEY_RIGHT: "right",
    10: "select", 13: "select", curses.KEY_ENTER: "select",
    curses.KEY_BACKSPACE: "back", 127: "back", 8: "back", 27: "back",
    ord("h"): "home", ord(" "): "play-pause", ord("+"): "volume-up", ord("="): "volume-up",
    ord("-"): "volume-down", ord("m"): "mute", ord("r"): "rewind", ord("f"): "fast-forward",
    ord("P"): "power",  # capital: not pressed by a slip of the finger (a KVM: the ATX power button)
}
# Each hint and help line with the capability the device needs for it (None: any device).
# The footer: as many of these as the width allows, in this order, then always TAIL.
FOOTER: tuple[tuple[str | None, str], ...] = (
    ("keys", "arrows move"), ("keys", "Enter OK"), ("keys", "Bksp/Esc back"), ("keys", "h home"),
    ("keys", "space play/pause"), ("keys", "+/- volume"), ("keys", "m mute"), ("text", "t type"), ("apps", "a apps"),
    ("screenshot", "s screenshot"), ("pointer", "c click"), ("sessions", "S sessions"), (None, "d device"),
)
TAIL = ("? help", "q quit")
HELP_LINES: tuple[tuple[str | None, str], ...] = (
    ("keys", "arrows       move"), ("keys", "Enter        OK"), ("keys", "Bksp, Esc    back"),
    ("keys", "h            home"), ("keys", "space        play/pause"), ("keys", "+ (or =), -  volume up, down"),
    ("keys", "m            mute"), ("keys", "r, f         rewind, fast-forward"),
    ("keys", "P            power (on or off; a KVM: its ATX power button)"),
    ("text", "t            type a line of text"), ("apps", "a            pick an app to launch"),
    ("screenshot", "s            save a screenshot to a file"),
    ("pointer", "c            click at a point: x y in pixels, or fractions (0.5 0.5)"),
    ("sessions", "S            sessions: screenshot one, or terminate it"),
    (None, "d            switch device"), (None, "?            this help"), (None, "q, Ctrl-C    quit"),
)
# On a server of sessions (capability sessions) some keys do a little more: these lines instead.
SESSION_HELP: dict[str, str] = {
    "apps": "a            start a session from a bookmark",
    "screenshot": "s            save a session's screenshot to a file",
}
# What a device without the capability is said to lack when its key is pressed.
LACKS: dict[str, str] = {"keys": "takes no keys", "text": "takes no text", "apps": "has no apps",
                         "screenshot": "takes no screenshots", "pointer": "has no pointer",
                         "sessions": "has no sessions"}
STATE_EVERY_S = 3.0


def footer(width: int, lines: int = 2, hints: tuple[str, ...] | None = None) -> list[str]:
    """The key hints laid out in at most ``lines`` rows of ``width`` columns (the last column is
    never written: curses): as many of ``hints`` (all of FOOTER when None) as fit, in order, and
    always TAIL at the end, so quitting is shown on any terminal (on a very narrow one, ``q quit``
    alone)."""
    items = tuple(text for _, text in FOOTER) if hints is None else hints
    room = max(width - 1, 1)
    for tail in (TAIL, TAIL[-1:]):
        for n in range(len(items), -1, -1):
            rows = _wrap([*items[:n], *tail], room)
            if rows is not None and len(rows) <= lines:
                return rows
    return [TAIL[-1][:room]]


def _wrap(items: list[str], room: int) -> list[str] | None:
    """``items`` two spaces apart, wrapped to ``room`` columns; None if one is wider than that."""
    rows: list[str] = []
    for item in items:
        if len(item) > room:
            return None
        if rows and len(rows[-1]) + 2 + len(item) <= room:
            rows[-1] += "  " + item
        else:
            rows.append(item)
    return rows


def parse_point(text: str) -> tuple[float, float, bool] | None:
    """``x y`` (or ``x,y``) as typed: (x, y, fraction). Fractions when both are at most 1 and
    written with a dot (``0.5 0.5``); pixels otherwise. None when it is not two numbers of 0 or more."""
    parts = text.replace(",", " ").split()
    if len(parts) != 2:
        return None
    try:
        x, y = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    if not (math.isfinite(x) and math.isfinite(y)) or x < 0 or y < 0:
        return None
    fraction = x <= 1 and y <= 1 and all("." in p for p in parts)
    if not fraction and x.is_integer() and y.is_integer():
        return int(x), int(y), False
    return x, y, fraction


def key_label(ch: int) -> str:
    """How a key read by curses is called on screen: ``x``, ``F5``, ``^X``."""
    if 32 < ch < 127:
        return chr(ch)
    try:
        name = curses.keyname(ch).decode("ascii", "replace")
    except (ValueError, curses.error):
        return f"key {ch}"
    if name.startswith("KEY_F("):
        return "F" + name[6:].rstrip(")")
    return name.removeprefix("KEY_").lower() if name.startswith("KEY_") else name


class Remote:
    def __init__(self, client: Client, device: str) -> None:
        self.client = client
        self.device = device
        self.name = device
        self.device_id = ""  # known once the daemon resolved the name (check, then each state read)
        self.app = "?"
        self.last = ""
        self.error = ""
        self.notice = ""  # what the last key did or why it did nothing (shown as it is)
        self.capabilities: frozenset[str] = frozenset()  # the device's (GET /v1/devices/{id}), kept current
        self._state_at = 0.0

    def check(self) -> None:
        """Resolve the device before the screen is taken: an unknown one raises the daemon's error."""
        out = self.client.request("GET", self._path(""))
        self.device, self.device_id, self.name = out["id"], out["id"], out["name"]
        self.capabilities = frozenset(out.get("capabilities") or ())

    def can(self, capability: str | None) -> bool:
        return capability is None or capability in self.capabilities

    def lacks(self, capability: str) -> bool:
        """True, with the status line saying so, when the device does not have ``capability``."""
        if self.can(capability):
            return False
        self.notice = f"{self.name} {LACKS[capability]} — ? for help"
        return True

    def hints(self) -> tuple[str, ...]:
        return tuple(text for cap, text in FOOTER if self.can(cap))

    def help_lines(self) -> list[str]:
        sessions = self.can("sessions")
        lines = [SESSION_HELP.get(cap, text) if sessions and cap else text for cap, text in HELP_LINES if self.can(cap)]
        if not self.can("keys"):
            lines.insert(0, f"({self.name} takes no keys)")
        return lines

    def _path(self, tail: str) -> str:
        return f"/v1/devices/{quote(self.device, safe='')}{tail}"

    def call(self, op: Operation[Any, Any], fields: dict[str, Any] | None = None) -> Any:
        """Run ``op`` (tvctl.operations) on this device; None, with the error kept, when it fails."""
        return self._ask(lambda: self.client.perform(op, self.device, fields))

    def _ask(self, asking: Callable[[], T]) -> T | None:
        """What ``asking`` (a request to the daemon) answers; None, with the error kept, when it fails."""
        try:
            out = asking()
            self.error = ""
            return out
        except TvctlError as exc:
            self.error = f"{exc.code}: {exc.message}"
        except DaemonUnreachable as exc:
            self.error = str(exc)
        return None

    def press(self, key: str) -> None:
        if self.call(PRESS_KEY, {"key": key}) is not None:
            self.last = key if not key.startswith("literal:") else f"typed {key[8:]!r}"
            self._state_at = 0.0  # the app may have changed

    def refresh(self) -> None:
        if time.monotonic() - self._state_at < STATE_EVERY_S:
            return
        self._state_at = time.monotonic()
        out = self.call(STATE)
        if out is not None:
            self.name, self.device_id = out["device"]["name"], out["device"]["id"]
            if "capabilities" in out["device"]:  # they change (developer mode switched on, an access mode)
                self.capabilities = frozenset(out["device"]["capabilities"])
            app = out["state"].get("active_app") or {}
            self.app = app.get("name") or ("online" if out["device"]["online"] else "offline")

    # -- drawing ------------------------------------------------------------------------------
    def draw(self, scr: Any) -> None:
        scr.erase()
        h, w = scr.getmaxyx()
        put(scr, 0, 0, f" tvctl remote: {self.name}  [{self.app}]".ljust(w), curses.A_REVERSE)
        pad = [
            "            [ up ]",
            "   [left]   [ OK ]   [right]",
            "            [down]",
            "",
            " [back]  [home]  [play/pause]  [vol-]  [vol+]  [mute]",
        ] if self.can("keys") else [f"{self.name} takes no keys: the keys below are what it offers."]
        for i, line in enumerate(pad):
            put(scr, 2 + i, 2, line)
        for row, line in enumerate(footer(w, hints=self.hints())):
            put(scr, h - 3 + row, 0, line, curses.A_DIM)
        status = f"error: {self.error}" if self.error else self.notice or (
            f"sent: {self.last}" if self.last else "ready")
        put(scr, h - 1, 0, status.ljust(w)[: w - 1], curses.A_BOLD if self.error else curses.A_NORMAL)
        scr.refresh()

    def prompt(self, scr: Any, label: str) -> str:
        h, w = scr.getmaxyx()
        put(scr, h - 1, 0, label.ljust(w)[: w - 1])
        curses.echo()
        curses.curs_set(1)
        scr.timeout(-1)
        try:
            raw = scr.getstr(h - 1, min(len(label), w - 2), 500)
        finally:
            curses.noecho()
            curses.curs_set(0)
            scr.timeout(500)
        return str(raw.decode("utf-8", "replace"))

    def show_help(self, scr: Any) -> None:
        """Every key, until the next key press."""
        scr.erase()
        _h, w = scr.getmaxyx()
        put(scr, 0, 0, " tvctl remote: keys (any key returns)".ljust(w), curses.A_REVERSE)
        for row, line in enumerate(self.help_lines()):
            put(scr, 2 + row, 2, line)
        scr.refresh()
        scr.timeout(-1)
        try:
            scr.getch()
        finally:
            scr.timeout(500)

    def pick(self, scr: Any, title: str, items: list[tuple[str, str]], start: str = "") -> str | None:
        """A list to choose from with the arrows and Enter (Esc or q: none). Items are (value, label);
        the one whose value is ``start`` is chosen to begin with."""
        if not items:
            self.error = f"no {title.lower()} to choose from"
            return None
        at = next((i for i, (value, _) in enumerate(items) if value == start), 0)
        scr.timeout(-1)
        try:
            while True:
                scr.erase()
                h, w = scr.getmaxyx()
                put(scr, 0, 0, f" {title} (arrows, Enter; Esc cancels)".ljust(w), curses.A_REVERSE)
                top = max(0, at - (h - 3))
                for row, (_, label) in enumerate(items[top: top + h - 2]):
                    put(scr, 1 + row, 1, label[: w - 2], curses.A_REVERSE if top + row == at else curses.A_NORMAL)
                scr.refresh()
                ch = scr.getch()
                if ch == curses.KEY_UP:
                    at = max(0, at - 1)
                elif ch == curses.KEY_DOWN:
                    at = min(len(items) - 1, at + 1)
                elif ch in (10, 13, curses.KEY_ENTER):
                    return items[at][0]
                elif ch in (27, ord("q")):
                    return None
        finally:
            scr.timeout(500)

    def confirm(self, scr: Any, question: str) -> bool:
        """``question (y/n)`` in the status line; True only for ``y`` (one key, no Enter)."""
        h, w = scr.getmaxyx()
        put(scr, h - 1, 0, f"{question} (y/n)".ljust(w), curses.A_BOLD)
        scr.refresh()
        scr.timeout(-1)
        try:
            return bool(scr.getch() in (ord("y"), ord("Y")))
        finally:
            scr.timeout(500)

    # -- what the capabilities add --------------------------------------------------------------
    def pick_session(self, scr: Any) -> dict[str, Any] | None:
        """One of the server's sessions, chosen in a list (None: cancelled, or the error kept)."""
        out = self.call(LIST_SESSIONS)
        if out is None:
            return None
        sessions: list[dict[str, Any]] = out["sessions"]
        items = [(s["id"], f"{s['name']} — {s['user']} {s.get('geometry') or ''}".rstrip()) for s in sessions]
        chosen = self.pick(scr, "Sessions", items)
        return next((s for s in sessions if s["id"] == chosen), None)

    def screenshot(self, scr: Any, session: dict[str, Any] | None = None) -> None:
        """The screen (or ``session``'s) saved to a file the prompt names, in the current folder by default."""
        if session is None and self.can("sessions"):
            session = self.pick_session(scr)
            if session is None:
                return
        which = f"?{urlencode({'session': session['id']})}" if session is not None else ""
        got = self._ask(lambda: self.client.request_bytes("GET", self._path(f"/screenshot{which}")))
        if got is None:
            return
        raw, ctype = got
        default = "shot.png" if "png" in ctype else "shot.jpg"
        self.draw(scr)
        where = self.prompt(scr, f"save as (Enter: {default}): ").strip() or default
        try:
            Path(where).expanduser().write_bytes(raw)
        except OSError as exc:
            self.error = f"cannot write {where}: {exc.strerror or exc}"
            return
        self.notice = f"saved {where} ({len(raw)} bytes)"

    def click(self, scr: Any) -> None:
        text = self.prompt(scr, "click at x y (pixels, or fractions: 0.5 0.5): ").strip()
        if not text:
            self.notice = "no click"
            return
        point = parse_point(text)
        if point is None:
            self.notice = f"not a point: {text!r} (x y: pixels, or fractions like 0.5 0.5)"
            return
        x, y, fraction = point
        out = self.call(POINTER, {"x": x, "y": y, **({"unit": "fraction"} if fraction else {})})
        if out is not None:
            self.notice = f"clicked at {out['x']:g}, {out['y']:g} of the screen"
            self._state_at = 0.0

    def sessions(self, scr: Any) -> None:
        session = self.pick_session(scr)
        if session is None:
            return
        name = session["name"]
        action = self.pick(scr, f"Session {name}", [("screenshot", "save a screenshot"),
                                                    ("terminate", "terminate it (ends its programs)")])
        if action == "screenshot":
            self.screenshot(scr, session)
        elif action == "terminate":
            self.draw(scr)
            if not self.confirm(scr, f"terminate {name} ({session['user']})?"):
                self.notice = f"{name} left running"
            elif self.call(TERMINATE_SESSION, {"session": session["id"]}) is not None:
                self.notice = f"terminated {name}"
                self._state_at = 0.0

    def apps(self, scr: Any) -> None:
        apps = self.call(LIST_APPS)
        if apps is None:
            return
        chosen = self.pick(scr, "Apps", [(a["platform_id"], a["name"]) for a in apps["apps"]])
        launched = None if chosen is None else self.call(LAUNCH_APP, {"app": chosen})
        if launched is not None:
            self.last = f"launched {launched['launched']['name']}"
            if launched.get("session"):  # a server of sessions: the bookmark started one
                self.last += f", new session {launched['session']['name']}"
            self._state_at = 0.0

    def switch(self, scr: Any) -> None:
        try:
            devices = self.client.request("GET", "/v1/devices")
        except (TvctlError, DaemonUnreachable) as exc:
            self.error = str(getattr(exc, "message", exc))
            return
        chosen = self.pick(scr, "Devices", [(d["id"], f"{d['name']}  ({d['platform']}, {d['model']})")
                                           for d in devices], start=self.device_id)
        device = next((d for d in devices if d["id"] == chosen), None)
        if device is not None:
            self.device, self.device_id, self.name = device["id"], device["id"], device["name"]
            self.capabilities = frozenset(device.get("capabilities") or ())
            self.app, self.last, self._state_at = "?", "", 0.0

    def run(self, scr: Any) -> None:
        curses.curs_set(0)
        scr.keypad(True)
        scr.timeout(500)  # wake up to refresh the state line
        while True:
            self.refresh()
            self.draw(scr)
            ch = scr.getch()
            if ch == -1 or ch == curses.KEY_RESIZE:
                continue
            if ch in (ord("q"), ord("Q")):
                return
            self.notice = ""
            self.handle(scr, ch)

    def handle(self, scr: Any, ch: int) -> None:
        """One key: sent to the device, or what it stands for; a device without the capability
        it needs is not asked (the status line says what it lacks)."""
        if ch in KEYMAP:
            if not self.lacks("keys"):
                self.press(KEYMAP[ch])
        elif ch == ord("t"):
            if not self.lacks("text"):
                text = self.prompt(scr, "type: ")
                if text:
                    self.press(f"literal:{text}")
        elif ch == ord("a"):
            if not self.lacks("apps"):
                self.apps(scr)
        elif ch == ord("s"):
            if not self.lacks("screenshot"):
                self.screenshot(scr)
        elif ch == ord("c"):
            if not self.lacks("pointer"):
                self.click(scr)
        elif ch == ord("S"):
            if not self.lacks("sessions"):
                self.sessions(scr)
        elif ch == ord("d"):
            self.switch(scr)
        elif ch == ord("?"):
            self.show_help(scr)
        else:
            self.notice = f"{key_label(ch)}: not bound — ? for help"


def put(scr: Any, y: int, x: int, text: str, attr: int = curses.A_NORMAL) -> None:
    """Write what fits; a terminal too small for the layout draws less instead of failing."""
    h, w = scr.getmaxyx()
    if 0 <= y < h and 0 <= x < w:
        with contextlib.suppress(curses.error):  # the bottom-right cell cannot be written
            scr.addnstr(y, x, text, max(0, w - x - 1), attr)


def run(client: Client, device: str) -> int:
    """The remote for ``device`` until it is quit. A device the daemon does not know (or no daemon)
    raises before the terminal is touched, so the CLI reports it and exits non-zero."""
    remote = Remote(client, device)
    remote.check()
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C quits; wrapper has restored the terminal
        curses.wrapper(remote.run)
    return 0
