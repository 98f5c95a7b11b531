"""``tvctl remote``: a full-screen remote control in the terminal, over the daemon's socket.

Keys: arrows move, Enter is OK, Backspace or Esc is back, ``h`` home, space play-pause, ``+``
and ``-`` volume, ``m`` mute, ``r``/``f`` rewind and fast-forward, ``t`` types a line of text
into the device, ``a`` picks an app to launch, ``d`` switches device, ``?`` lists every key,
``q`` or Ctrl-C quits (the terminal is restored). The footer (two rows) fits the terminal's
width and always ends with ``? help`` and ``q quit``; a key that does nothing says so. The status
line shows the device and its active app, the last key sent, and any error in one line. A device
the daemon does not know is an error before the screen is taken (exit 1). Only this command
imports curses.
"""

from __future__ import annotations

import contextlib
import curses
import time
from typing import Any

from tvctl.client import Client, DaemonUnreachable, quote
from tvctl.errors import TvctlError
from tvctl.operations import LAUNCH_APP, LIST_APPS, PRESS_KEY, STATE, Operation

KEYMAP: dict[int, str] = {
    curses.KEY_UP: "up", curses.KEY_DOWN: "down", curses.KEY_LEFT: "left", curses.KEY_RIGHT: "right",
    10: "select", 13: "select", curses.KEY_ENTER: "select",
    curses.KEY_BACKSPACE: "back", 127: "back", 8: "back", 27: "back",
    ord("h"): "home", ord(" "): "play-pause", ord("+"): "volume-up", ord("="): "volume-up",
    ord("-"): "volume-down", ord("m"): "mute", ord("r"): "rewind", ord("f"): "fast-forward",
    ord("P"): "power",  # capital: not pressed by a slip of the finger (a KVM: the ATX power button)
}
# The footer: as many of these as the width allows, in this order, then always TAIL.
FOOTER: tuple[str, ...] = ("arrows move", "Enter OK", "Bksp/Esc back", "h home", "space play/pause",
                           "+/- volume", "m mute", "t type", "a apps", "d device")
TAIL = ("? help", "q quit")
HELP_LINES: tuple[str, ...] = (
    "arrows       move", "Enter        OK", "Bksp, Esc    back", "h            home", "space        play/pause",
    "+ (or =), -  volume up, down", "m            mute", "r, f         rewind, fast-forward",
    "P            power (on or off; a KVM: its ATX power button)",
    "t            type a line of text", "a            pick an app to launch", "d            switch device",
    "?            this help", "q, Ctrl-C    quit",
)
STATE_EVERY_S = 3.0


def footer(width: int, lines: int = 2) -> list[str]:
    """The key hints laid out in at most ``lines`` rows of ``width`` columns (the last column is
    never written: curses): as many of FOOTER as fit, in order, and always TAIL at the end, so
    quitting is shown on any terminal (on a very narrow one, ``q quit`` alone)."""
    room = max(width - 1, 1)
    for tail in (TAIL, TAIL[-1:]):
        for n in range(len(FOOTER), -1, -1):
            rows = _wrap([*FOOTER[:n], *tail], room)
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
        self.notice = ""  # a hint about the last key (one that is not bound)
        self._state_at = 0.0

    def check(self) -> None:
        """Resolve the device before the screen is taken: an unknown one raises the daemon's error."""
        out = self.client.request("GET", self._path(""))
        self.device, self.device_id, self.name = out["id"], out["id"], out["name"]

    def _path(self, tail: str) -> str:
        return f"/v1/devices/{quote(self.device, safe='')}{tail}"

    def call(self, op: Operation[Any, Any], fields: dict[str, Any] | None = None) -> Any:
        """Run ``op`` (tvctl.operations) on this device; None, with the error kept, when it fails."""
        try:
            out = self.client.perform(op, self.device, fields)
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
        ]
        for i, line in enumerate(pad):
            put(scr, 2 + i, 2, line)
        for row, line in enumerate(footer(w)):
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
        for row, line in enumerate(HELP_LINES):
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
            if ch in KEYMAP:
                self.press(KEYMAP[ch])
            elif ch == ord("t"):
                text = self.prompt(scr, "type: ")
                if text:
                    self.press(f"literal:{text}")
            elif ch == ord("a"):
                apps = self.call(LIST_APPS)
                if apps is not None:
                    chosen = self.pick(scr, "Apps", [(a["platform_id"], a["name"]) for a in apps["apps"]])
                    launched = None if chosen is None else self.call(LAUNCH_APP, {"app": chosen})
                    if launched is not None:
                        self.last = f"launched {launched['launched']['name']}"
                        self._state_at = 0.0
            elif ch == ord("d"):
                try:
                    devices = self.client.request("GET", "/v1/devices")
                except (TvctlError, DaemonUnreachable) as exc:
                    self.error = str(getattr(exc, "message", exc))
                    continue
                chosen = self.pick(scr, "Devices", [(d["id"], f"{d['name']}  ({d['platform']}, {d['model']})")
                                                   for d in devices], start=self.device_id)
                if chosen is not None:
                    self.device, self.device_id, self.app, self.last, self._state_at = chosen, chosen, "?", "", 0.0
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
