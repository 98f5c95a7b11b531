"""``tvctl remote``: a full-screen remote control in the terminal, over the daemon's socket.

Keys: arrows move, Enter is OK, Backspace or Esc is back, ``h`` home, space play-pause, ``+``
and ``-`` volume, ``m`` mute, ``t`` types a line of text into the device, ``a`` picks an app to
launch, ``d`` switches device, ``q`` or Ctrl-C quits (the terminal is restored). The status line
shows the device and its active app, the last key sent, and any error in one line. Only this
command imports curses.
"""

from __future__ import annotations

import contextlib
import curses
import time
from typing import Any
from urllib.parse import quote

from tvctl.client import Client, DaemonUnreachable
from tvctl.errors import TvctlError

KEYMAP: dict[int, str] = {
    curses.KEY_UP: "up", curses.KEY_DOWN: "down", curses.KEY_LEFT: "left", curses.KEY_RIGHT: "right",
    10: "select", 13: "select", curses.KEY_ENTER: "select",
    curses.KEY_BACKSPACE: "back", 127: "back", 8: "back", 27: "back",
    ord("h"): "home", ord(" "): "play-pause", ord("+"): "volume-up", ord("="): "volume-up",
    ord("-"): "volume-down", ord("m"): "mute", ord("r"): "rewind", ord("f"): "fast-forward",
}
HELP = "arrows move  Enter OK  Bksp/Esc back  h home  space play/pause  +/- volume  m mute  " \
       "t type  a apps  d device  q quit"
STATE_EVERY_S = 3.0


class Remote:
    def __init__(self, client: Client, device: str) -> None:
        self.client = client
        self.device = device
        self.name = device
        self.app = "?"
        self.last = ""
        self.error = ""
        self._state_at = 0.0

    def _path(self, tail: str) -> str:
        return f"/v1/devices/{quote(self.device, safe='')}{tail}"

    def call(self, method: str, tail: str, body: Any = None) -> Any:
        try:
            out = self.client.request(method, self._path(tail), body)
            self.error = ""
            return out
        except TvctlError as exc:
            self.error = f"{exc.code}: {exc.message}"
        except DaemonUnreachable as exc:
            self.error = str(exc)
        return None

    def press(self, key: str) -> None:
        if self.call("POST", "/remote/key", {"key": key}) is not None:
            self.last = key if not key.startswith("literal:") else f"typed {key[8:]!r}"
            self._state_at = 0.0  # the app may have changed

    def refresh(self) -> None:
        if time.monotonic() - self._state_at < STATE_EVERY_S:
            return
        self._state_at = time.monotonic()
        out = self.call("GET", "/state")
        if out is not None:
            self.name = out["device"]["name"]
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
        put(scr, h - 3, 0, HELP[: w - 1], curses.A_DIM)
        status = f"error: {self.error}" if self.error else (f"sent: {self.last}" if self.last else "ready")
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

    def pick(self, scr: Any, title: str, items: list[tuple[str, str]]) -> str | None:
        """A list to choose from with the arrows and Enter (Esc or q: none). Items are (value, label)."""
        if not items:
            self.error = f"no {title.lower()} to choose from"
            return None
        at = 0
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
            if ch in KEYMAP:
                self.press(KEYMAP[ch])
            elif ch == ord("t"):
                text = self.prompt(scr, "type: ")
                if text:
                    self.press(f"literal:{text}")
            elif ch == ord("a"):
                apps = self.call("GET", "/apps")
                if apps is not None:
                    chosen = self.pick(scr, "Apps", [(a["platform_id"], a["name"]) for a in apps["apps"]])
                    if chosen is not None and self.call("POST", "/apps/launch", {"app": chosen}) is not None:
                        self.last = f"launched {chosen}"
                        self._state_at = 0.0
            elif ch == ord("d"):
                try:
                    devices = self.client.request("GET", "/v1/devices")
                except (TvctlError, DaemonUnreachable) as exc:
                    self.error = str(getattr(exc, "message", exc))
                    continue
                chosen = self.pick(scr, "Devices", [(d["id"], f"{d['name']}  ({d['platform']}, {d['model']})")
                                                   for d in devices])
                if chosen is not None:
                    self.device, self.app, self.last, self._state_at = chosen, "?", "", 0.0


def put(scr: Any, y: int, x: int, text: str, attr: int = curses.A_NORMAL) -> None:
    """Write what fits; a terminal too small for the layout draws less instead of failing."""
    h, w = scr.getmaxyx()
    if 0 <= y < h and 0 <= x < w:
        with contextlib.suppress(curses.error):  # the bottom-right cell cannot be written
            scr.addnstr(y, x, text, max(0, w - x - 1), attr)


def run(client: Client, device: str) -> int:
    remote = Remote(client, device)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C quits; wrapper has restored the terminal
        curses.wrapper(remote.run)
    return 0
