"""Groups from the CLI: ``tvctl group list|show|create|add|remove|delete``, and ``-g GROUP`` on the
commands that act on a device (key, seq, type, power on|off, apps launch|stop, search, tv tune,
play): the same request to ``/v1/groups/GROUP/…``, answered with a line per member; the exit
status is 1 when any member failed."""

from __future__ import annotations

import argparse
import sys

from tvctl.cli.common import EXIT_ERROR, EXIT_OK, Usage
from tvctl.cli.control import request_of
from tvctl.cli.output import _print, _table
from tvctl.client import Client, group_route, quote

GROUP_WORDS = {"list": 0, "show": 1, "create": 1, "add": 1, "remove": 1, "delete": 1}


def cmd_group(c: Client, a: argparse.Namespace) -> None:
    action = a.action or "list"
    words = list(a.words)
    if GROUP_WORDS[action] and not words:
        raise Usage(f"usage: tvctl group {action} NAME" + (" DEVICE…" if action in ("add", "remove") else ""))
    if action in ("list", "show", "delete") and len(words) > GROUP_WORDS[action]:
        raise Usage(f"tvctl group {action} takes {GROUP_WORDS[action] or 'no'} word(s); unexpected: "
                    + " ".join(words[GROUP_WORDS[action]:]))
    names = {d["id"]: d["name"] for d in c.request("GET", "/v1/devices")}
    if action == "list":
        groups = c.request("GET", "/v1/groups")
        _print(a, groups, _table([[g["name"], ", ".join(names.get(i, i) for i in g["devices"]) or "(none)"]
                                  for g in groups], ["GROUP", "DEVICES"]) if groups else "no groups")
        return
    name, devices = words[0], words[1:]
    if action == "show":
        g = c.request("GET", f"/v1/groups/{quote(name)}")
    elif action == "create":
        g = c.request("POST", "/v1/groups", {"name": name, "devices": devices})
    elif action == "delete":
        g = c.request("DELETE", f"/v1/groups/{quote(name)}")
    else:
        if not devices:
            raise Usage(f"usage: tvctl group {action} NAME DEVICE…")
        g = c.request("PATCH", f"/v1/groups/{quote(name)}", {action: devices})
    members = ", ".join(names.get(i, i) for i in g["devices"]) or "no devices"
    said = {"show": "", "create": "created ", "delete": "deleted ", "add": "", "remove": ""}[action]
    _print(a, g, f"{said}{g['name']}: {members}")


def act(c: Client, a: argparse.Namespace) -> int:
    """Run the device command ``a`` on every member of ``a.group``; the exit status."""
    if getattr(a, "device", None) or getattr(a, "target", None):
        raise Usage("a group and a device given; give one")
    op, fields = request_of(a)
    body = {k: v for k, v in (fields or {}).items() if v is not None}
    d = c.request("POST", group_route(op, a.group), body if body or op.body_required else None)
    lines = []
    for r in d["results"]:
        if r["ok"]:
            lines.append(f"{r['device']}: ok")
        else:
            err = r["error"]
            lines.append(f"{r['device']}: {err['message']}" + (f" (hint: {err['hint']})" if err.get("hint") else ""))
    _print(a, d, "\n".join(lines) or f"{d['group']} has no devices")
    failed = [r["device"] for r in d["results"] if not r["ok"]]
    if failed and not a.json:
        print(f"tvctl: {len(failed)} of {len(d['results'])} failed", file=sys.stderr)
    return EXIT_ERROR if failed else EXIT_OK
