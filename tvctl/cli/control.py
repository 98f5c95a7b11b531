"""The commands that drive a device: key, seq, type, power, search, tv and play, and the ones that
stay open: events (until Ctrl-C) and remote (the terminal remote)."""

from __future__ import annotations

import argparse
import json
import os
import sys

from tvctl.cli.common import Usage, _device_name, _params, _progress, _shows_progress
from tvctl.cli.output import _event_line, _key_line, _print, _table
from tvctl.client import Client, DaemonUnreachable, route
from tvctl.errors import TvctlError
from tvctl.operations import (
    LAUNCH_APP,
    PLAY_MEDIA,
    POINTER,
    PRESS_KEY,
    PRESS_KEYS,
    SEARCH,
    STATE,
    STOP_APP,
    TV_CHANNELS,
    TV_TUNE,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tvctl.operations import Operation

MAX_SEQUENCE = 100  # keys in one sequence (the API's KeySequence bound)


def request_of(a: argparse.Namespace) -> tuple[Operation[Any, Any], dict[str, Any] | None]:
    """The operation and request fields that ``a`` (a command that acts on a device) asks for: one
    device's (the commands here) or every member's of a group (``-g``, tvctl.cli.group). None
    values are left out when sent."""
    cmd = a.command
    if cmd == "key":
        return PRESS_KEY, {"key": a.key, "hold_ms": a.hold or None, "repeat": a.repeat or None}
    if cmd == "seq":
        return PRESS_KEYS, {"keys": a.keys, "delay_ms": a.delay}
    if cmd == "type":
        return PRESS_KEY, {"key": f"literal:{a.text}"}
    if cmd == "power" and a.action in ("on", "off"):
        return PRESS_KEY, {"key": f"power-{a.action}"}
    if cmd == "apps" and a.action == "launch" and a.app:
        return LAUNCH_APP, {"app": a.app, "params": _params(a.param)}
    if cmd == "apps" and a.action == "stop":
        return STOP_APP, None
    if cmd == "search":
        body: dict[str, Any] = {"keyword": " ".join(a.keyword), "launch": True if a.launch else None}
        body |= {f: getattr(a, f) for f in ("app", "type", "season", "strategy")}
        return SEARCH, body
    if cmd == "tv" and a.action == "tune" and a.channel:
        return TV_TUNE, {"channel": a.channel}
    if cmd == "play":
        return PLAY_MEDIA, {"url": a.url, "type": a.type, "title": a.title, "format": a.format}
    raise Usage(f"tvctl {cmd} {getattr(a, 'action', '') or ''}".rstrip() + " does not act on a group",
                "with -g GROUP: key, seq, type, power on|off, apps launch|stop, search, tv tune, play")


def _perform(c: Client, a: argparse.Namespace) -> Any:
    """The command ``a`` on its device; the answer's data."""
    op, fields = request_of(a)
    return c.perform(op, _device_name(a), fields)


def cmd_key(c: Client, a: argparse.Namespace) -> None:
    d = _perform(c, a)
    _print(a, d, _key_line(d))


def cmd_seq(c: Client, a: argparse.Namespace) -> None:
    url = route(PRESS_KEYS, _device_name(a))
    if len(a.keys) > MAX_SEQUENCE:
        raise Usage(f"a sequence holds at most {MAX_SEQUENCE} keys (got {len(a.keys)})",
                    f"split it into several tvctl seq commands of {MAX_SEQUENCE} keys or fewer")
    body = {"keys": a.keys, "delay_ms": a.delay}
    if not _shows_progress(a):
        d = c.request("POST", url, body)
    else:  # at a terminal: the keys as they go (3/14)
        from tvctl.client import unwrap

        d = None
        try:
            for event, data in c.stream(url, method="POST", payload=body):
                if event == "key":
                    print(f"\rpressed {data['sent']}/{data['total']}", end="", file=sys.stderr, flush=True)
                elif event == "done":
                    d = unwrap(data)
        finally:
            print(file=sys.stderr)
        if d is None:
            raise TvctlError("The daemon ended the sequence stream without a result.")
    _print(a, d, f"sent {d['sent']} keys")


def cmd_type(c: Client, a: argparse.Namespace) -> None:
    d = _perform(c, a)
    _print(a, d, f"typed {d['sent']} characters")


def cmd_power(c: Client, a: argparse.Namespace) -> None:
    if a.action is None:  # bare: say whether it is on
        d = c.perform(STATE, _device_name(a))
        s = d["state"]
        power = s.get("power") or "unknown"
        _print(a, {"device": d["device"]["name"], "power": s.get("power"), "power_mode": s.get("power_mode")},
               f"{d['device']['name']}: power {power}" + (f" ({s['power_mode']})" if s.get("power_mode") else ""))
        return
    if a.action == "on":
        _progress(a, "powering on (a TV in deep standby is woken with Wake-on-LAN; that can take a while)…")
    d = _perform(c, a)
    if d.get("skipped"):
        human = f"power {a.action}: nothing sent ({d['skipped']})"
    else:
        # what the platform says it sent (its own code for the key, where it reports one)
        code = next((v for k, v in d.items() if k not in ("device", "key", "repeat") and isinstance(v, str)
                     and v[:1].isupper()), None)
        sent = f"sent {code}" if code else "sent"
        if d.get("wol"):
            human = f"power {a.action}: woke it with Wake-on-LAN" + (f" (to {d['mac']})" if d.get("mac") else "") \
                    + f", then {sent}"
        else:
            human = f"power {a.action}: {sent}"
    _print(a, d, human)


def cmd_search(c: Client, a: argparse.Namespace) -> None:
    _progress(a, f"searching for {' '.join(a.keyword)!r} (the device may open an app and type; this can take a "
                 "while)…")
    d = _perform(c, a)
    where = f" in {d['app']['name']}" if d.get("app") else ""
    front = (d.get("active_app") or {}).get("name")
    human = f"searched{where} for {d['keyword']!r} ({d['strategy']})"
    if d["strategy"] == "browse" and not d["changed"]:
        human += "; nothing changed on screen" + (f": {d['note']}" if d.get("note") else "")
    elif front:
        human += f"; now showing {front}"
    _print(a, d, human)


def cmd_tv(c: Client, a: argparse.Namespace) -> None:
    if a.action == "channels":
        if a.channel:
            raise Usage("tvctl tv channels takes no channel")
        d = c.perform(TV_CHANNELS, _device_name(a))
        _print(a, d, _table([[ch["number"], ch.get("name") or "", ch.get("type") or "",
                              "yes" if ch["hidden"] else "no"] for ch in d["channels"]],
                            ["CHANNEL", "NAME", "TYPE", "HIDDEN"]) if d["channels"] else
               "no channels (scan for channels in the TV's settings)")
        return
    if not a.channel:
        raise Usage("usage: tvctl tv tune CHANNEL (e.g. 5.1)")
    d = _perform(c, a)
    _print(a, d, f"tuned to {d['channel']}" + (f" ({d['name']})" if d.get("name") else ""))


def cmd_play(c: Client, a: argparse.Namespace) -> None:
    d = _perform(c, a)
    _print(a, d, f"playing {d.get('title') or d['url']} ({d['type']})")


def cmd_click(c: Client, a: argparse.Namespace) -> None:
    action = "scroll" if a.scroll is not None else a.action or "click"
    d = c.perform(POINTER, _device_name(a), {"x": a.x, "y": a.y, "unit": "fraction" if a.fraction else None,
                                             "action": action, "dy": a.scroll})
    done = {"move": "moved to", "click": "clicked at", "double-click": "double-clicked at",
            "right-click": "right-clicked at"}.get(d["action"], f"scrolled {d.get('dy', 0)} at")
    _print(a, d, f"{done} {d['x'] * 100:.0f}%, {d['y'] * 100:.0f}% of the screen")


def cmd_events(c: Client, a: argparse.Namespace) -> None:
    """Print events until Ctrl-C; the daemon going away ends it with an error (exit 3)."""
    import time

    def listening() -> None:  # once the daemon took the stream: a person at a terminal knows it waits
        if sys.stderr.isatty():
            print("listening for events from the tvctl daemon; Ctrl-C stops", file=sys.stderr, flush=True)

    for event, data in c.stream("/v1/events", opened=listening):
        if a.json:
            print(json.dumps({"event": event, "data": data}), flush=True)
        else:
            stamp = time.strftime("%H:%M:%S")
            print(f"{stamp} {_event_line(event, data)}", flush=True)
    raise DaemonUnreachable(c.path, "the daemon closed the event stream (it stopped or restarted)")


def cmd_remote(c: Client, a: argparse.Namespace) -> None:
    if not sys.stdin.isatty() or not sys.stdout.isatty():
        raise Usage("tvctl remote needs a terminal")
    os.environ.setdefault("ESCDELAY", "25")  # Esc is back: do not wait a second for an escape sequence
    from tvctl.tui import run as remote

    remote(Client(c.path, timeout=30), _device_name(a))
