"""The commands about devices and the daemon: status, device (list, show, discover, add with the
credentials it asks for, rename, remove, trust, option, credentials), state and apps."""

from __future__ import annotations

import argparse

from tvctl.cli.common import Usage, _device_name, _params, _read_secret
from tvctl.cli.output import _device_table, _duration, _human, _print, _state_lines, _table
from tvctl.client import quote
from tvctl.errors import TvctlError
from tvctl.operations import LAUNCH_APP, LIST_APPS, LIST_SESSIONS, REFRESH_APPS, STATE, STOP_APP, TERMINATE_SESSION

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tvctl.client import Client


def cmd_status(c: Client, a: argparse.Namespace) -> None:
    d = c.request("GET", "/v1/daemon/status")
    http = f"{d['http_host']}:{d['http_port']}" if d["http_enabled"] else "disabled"
    _print(a, d, f"tvctl {d['version']} pid {d['pid']}, up {_duration(d['uptime_s'])}\n"
                 f"socket   {d['socket']}\nhttp     {http}\ndevices  {d['device_count']}"
                 f" (default: {d['default_device'] or 'none'})\nmqtt     {_mqtt_line(d.get('mqtt') or {})}")


def _mqtt_line(m: dict[str, Any]) -> str:
    if not m.get("enabled"):
        return "disabled"
    if m.get("connected"):
        return f"connected to {m['broker']} as node {m['node_id']}"
    return f"not connected to {m['broker']}: {m.get('last_error') or 'connecting'}"


# device action -> how many positional words it takes (name, new_name)
DEVICE_WORDS = {"list": 0, "discover": 0, "show": 1, "add": 1, "remove": 1, "credentials": 1, "rename": 2,
                "trust": 2, "option": 2}


def cmd_device(c: Client, a: argparse.Namespace) -> None:
    a.action = a.action or "list"
    given = [w for w in (a.name, a.new_name) if w]
    if len(given) > DEVICE_WORDS[a.action]:
        extra = given[DEVICE_WORDS[a.action]:]
        raise Usage(f"tvctl device {a.action} takes {DEVICE_WORDS[a.action] or 'no'} more word(s); "
                    f"unexpected: {' '.join(extra)}")
    if a.action == "list":
        d = c.request("GET", "/v1/devices")
        _print(a, d, _device_table(d))
    elif a.action == "show":
        d = c.request("GET", f"/v1/devices/{quote(a.name or a.device or 'default', safe='')}")
        _print(a, d, "\n".join(f"{k:18} {_human(k, v)}" for k, v in d.items()))
    elif a.action == "discover":
        from tvctl.client import unwrap

        d = None
        for event, data in c.stream("/v1/devices/discover", method="POST"):
            if event == "device_found" and not a.json:
                where = f"{data['host']}:{data['port']}"
                print(f"found {data['name']} ({data['display_name']}, {data['model']}) at {where}", flush=True)
            elif event == "done":
                d = unwrap(data)
        if d is None:
            raise TvctlError("The daemon ended the discovery stream without a result.")
        n = len(d["devices"])
        _print(a, d, f"{n} device(s) found" if n else
               "found no devices (multicast blocked? add one with tvctl device add <ip>)")
    elif a.action == "add":
        if not a.name:
            raise Usage("usage: tvctl device add HOST [--port N]")
        body: dict[str, Any] = {"host": a.name}
        if a.port:
            body["port"] = a.port
        if a.platform:
            body["platform"] = a.platform
        creds = _credentials_to_add(c, a)
        if creds:
            body["credentials"] = creds
        before = {k["id"]: k for k in c.request("GET", "/v1/devices")}  # to tell a new device from a known one
        d = c.request("POST", "/v1/devices", body)
        where = f"{d['host']}:{d['port']}"
        old = before.get(d["id"])
        if old is None:
            human = f"added {d['name']} ({d['display_name']}, {d['model']}) at {where}"
        else:
            was = f"{old['host']}:{old['port']}"
            human = f"already known: {d['name']} ({d['display_name']}, {d['model']}) at {where}" \
                    + (f" (address updated from {was})" if was != where else "")
        _print(a, d, human)
    elif a.action == "rename":
        if not a.name or not a.new_name:
            raise Usage("usage: tvctl device rename NAME NEW_NAME")
        d = c.request("PATCH", f"/v1/devices/{quote(a.name, safe='')}", {"name": a.new_name})
        _print(a, d, f"renamed to {d['name']}")
    elif a.action == "remove":
        d = c.request("DELETE", f"/v1/devices/{quote(a.name or a.device or 'default', safe='')}")
        _print(a, d, f"removed {d['name']}")
    elif a.action == "trust":
        if not a.name or not a.new_name:
            raise Usage("usage: tvctl device trust NAME FINGERPRINT (the new one a device_tls_changed error named)")
        d = c.request("PATCH", f"/v1/devices/{quote(a.name, safe='')}", {"tls_fingerprint": a.new_name.lower()})
        _print(a, d, f"{d['name']}: now trusting certificate {d['tls_fingerprint']}")
    elif a.action == "option":
        if not a.name or not a.new_name or "=" not in a.new_name:
            raise Usage("usage: tvctl device option NAME KEY=VALUE (KEY= drops it)")
        k, _, v = a.new_name.partition("=")
        d = c.request("PATCH", f"/v1/devices/{quote(a.name, safe='')}", {"options": {k: v or None}})
        _print(a, d, "\n".join(f"{k:18} {_human(k, v)}" for k, v in d["options"].items())
               or f"{d['name']}: no options set")
    elif a.action == "credentials":
        path = f"/v1/devices/{quote(a.name or a.device or 'default', safe='')}/credentials"
        if "all" in a.clear:
            d = c.request("DELETE", path)
        elif a.set or a.clear:
            changes: dict[str, str | None] = {f: None for f in a.clear}
            if a.set:  # asked for in the words the device's platform declares
                fields = _credential_fields(c, c.request("GET", path)["platform"])
                for field in a.set:
                    about = fields.get(field, {})
                    changes[field] = _read_secret(field, prompt=about.get("prompt") or None,
                                                  echo=about.get("secret") is False)
            d = c.request("PATCH", path, changes)
        else:
            d = c.request("GET", path)
        rows = [f"{f['name']:16} {'set' if f['set'] else 'not set':8} {f['about']}" for f in d["fields"]]
        _print(a, d, "\n".join(rows) if rows else f"{d['platform']} devices keep no credentials")


def _credentials_to_add(c: Client, a: argparse.Namespace) -> dict[str, str]:
    """The credentials ``device add`` sends: ``--credential NAME[=VALUE]`` (repeatable) and the older
    spellings, which mean the same (``--username U``: username=U and password; ``--password-stdin``:
    password from stdin; ``--api-key``: api_key; ``--api-key-stdin``: api_key from stdin). A field
    given without a value is asked for (without echo unless the platform says it is no secret) or,
    with ``--stdin`` or a piped stdin, read as one line of stdin. Which names a platform takes is
    the daemon's to check."""
    wanted: dict[str, str | None] = {}  # name -> the value given, or None: ask for it
    from_stdin: set[str] = set()
    if a.username:
        wanted["username"] = a.username
    if a.username or a.password_stdin:
        wanted["password"] = None
    if a.password_stdin:
        from_stdin.add("password")
    if a.api_key or a.api_key_stdin:
        wanted["api_key"] = None
    if a.api_key_stdin:
        from_stdin.add("api_key")
    for item in a.credential:
        name, eq, value = item.partition("=")
        if not name or (eq and not value):
            raise Usage(f"--credential {item!r}: expected NAME or NAME=VALUE (a secret is best asked for: give NAME)")
        wanted[name] = value if eq else None
    missing = [n for n, v in wanted.items() if v is None]
    if a.stdin:
        if len(missing) != 1:
            raise Usage("--stdin reads one credential: give exactly one --credential NAME without a value")
        from_stdin.add(missing[0])
    fields = _credential_fields(c, a.platform) if missing else {}
    out: dict[str, str] = {}
    for name, value in wanted.items():
        if value is None:
            about = fields.get(name, {})
            value = _read_secret(name, stdin=name in from_stdin, prompt=str(about.get("prompt") or name),
                                 echo=about.get("secret") is False)
        out[name] = value
    return out


def _credential_fields(c: Client, platform: str | None) -> dict[str, dict[str, Any]]:
    """The credential fields the installed platforms declare (``GET /v1/platforms``), by name:
    those of ``platform`` when it is given; otherwise a name's words where every platform that
    takes it agrees, else just its name. Empty when the daemon cannot say (an older one)."""
    try:
        platforms = c.request("GET", "/v1/platforms")
    except TvctlError:
        return {}
    out: dict[str, dict[str, Any]] = {}
    seen: dict[str, list[dict[str, Any]]] = {}
    for p in platforms:
        if platform and p["platform"] != platform:
            continue
        for f in p["credentials"]:
            seen.setdefault(f["name"], []).append(f)
    for name, fs in seen.items():
        same = all(f["prompt"] == fs[0]["prompt"] for f in fs)
        out[name] = {"prompt": fs[0]["prompt"] if same else name, "secret": any(f["secret"] for f in fs)}
    return out


def cmd_state(c: Client, a: argparse.Namespace) -> None:
    d = c.perform(STATE, _device_name(a))
    _print(a, d, _state_lines(d["device"]["name"], d["state"]))


def cmd_apps(c: Client, a: argparse.Namespace) -> None:
    device = _device_name(a)
    a.action = a.action or "list"
    if a.action != "launch" and a.app:
        raise Usage(f"tvctl apps {a.action} takes no app (got {a.app!r})")
    if a.action != "launch" and a.param:
        raise Usage("--param goes with apps launch")
    if a.action == "list":
        d = c.perform(LIST_APPS, device)
        _print(a, d, _table([[x["id"], x["name"], x["platform_id"], x.get("type") or ""] for x in d["apps"]],
                            ["ID", "NAME", "PLATFORM ID", "TYPE"]))
    elif a.action == "launch":
        if not a.app:
            raise Usage("usage: tvctl apps launch APP [--param KEY=VALUE]")
        d = c.perform(LAUNCH_APP, device, {"app": a.app, "params": _params(a.param)})
        started = d.get("session")
        _print(a, d, f"launched {d['launched']['name']}"
                     + (f": session {started['name']} ({started['id']})" if started else ""))
    elif a.action == "stop":
        d = c.perform(STOP_APP, device)
        _print(a, d, f"stopped ({d['method']})" + (f": {d['note']}" if d.get("note") else ""))
    elif a.action == "refresh":
        d = c.perform(REFRESH_APPS, device, {"clear": True if a.clear else None})
        _print(a, d, f"{len(d['apps'])} apps (added {len(d.get('added', []))}, removed {len(d.get('removed', []))})")


def cmd_sessions(c: Client, a: argparse.Namespace) -> None:
    words = list(a.words)
    if words and words[0] == "terminate":
        if len(words) < 2:
            raise Usage("usage: tvctl sessions terminate SESSION [DEVICE]")
        if len(words) > 3:
            raise Usage(f"tvctl sessions terminate takes a session and a device; unexpected: {' '.join(words[3:])}")
        if a.filter or a.sort_by or a.reverse or a.start is not None or a.limit is not None:
            raise Usage("--filter, --sort-by, --reverse, --start and --limit go with listing sessions")
        a.target = words[2] if len(words) == 3 else None
        d = c.perform(TERMINATE_SESSION, _device_name(a), {"session": words[1]})
        gone = d["terminated"]
        _print(a, d, f"terminated {gone['name']} ({gone['id']}, {gone['user']})")
        return
    if words and words[0] == "list":
        words.pop(0)
    if len(words) > 1:
        raise Usage(f"tvctl sessions takes one device; unexpected: {' '.join(words[1:])}")
    a.target = words[0] if words else None
    d = c.perform(LIST_SESSIONS, _device_name(a), {
        "filter": a.filter or None, "sort_by": a.sort_by, "sort_reverse": True if a.reverse else None,
        "start": a.start, "limit": a.limit})
    _print(a, d, _table([[s["id"], s["name"], s["user"], s.get("geometry") or "", str(s.get("clients", "")),
                          s.get("started") or ""] for s in d["sessions"]],
                        ["ID", "NAME", "USER", "GEOMETRY", "CLIENTS", "STARTED"]))
