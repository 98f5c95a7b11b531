"""The ``tvctl`` command: argparse → client calls over the Unix socket → text or JSON.

Exit codes: 0 ok · 1 the daemon reported an error · 2 usage · 3 the daemon is not reachable.
Imports nothing heavy (a test checks): the daemon's modules load only for ``tvctl daemon``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from tvctl.client import Client, DaemonTimeout, DaemonUnreachable
from tvctl.errors import TvctlError
from tvctl.paths import default_socket_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any, NoReturn

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
MAX_SEQUENCE = 100  # keys in one sequence (the API's KeySequence bound)


class Usage(Exception):
    """A usage error (exit 2); ``hint`` replaces the usual pointer to the command's --help."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def _did_you_mean(given: str, choices: Iterable[str], cutoff: float = 0.8) -> list[str]:
    """The choices most like ``given`` (difflib; imported only when something is misspelt)."""
    import difflib

    return difflib.get_close_matches(given, list(choices), n=3, cutoff=cutoff)


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors told the way the rest of the CLI tells them: a misspelt choice gets
    the closest ones, a number out of bounds names its flag and the bound (exit 2 either way)."""

    def error(self, message: str) -> NoReturn:
        import re

        choice = re.fullmatch(r"argument (\S+): invalid choice: '?(.*?)'? \(choose from (.*)\)", message)
        bound = re.fullmatch(r"argument (?:\S+/)?(\S+): (must be .*)", message)
        if choice:
            what, given = choice.group(1), choice.group(2)
            options = [c.strip().strip("'\"") for c in choice.group(3).split(",")]
            near = _did_you_mean(given, options)
            if what == "COMMAND":
                text = f"{given!r} is not a tvctl command"
                hint = "tvctl --help lists the commands"
            else:
                text = f"{given!r} is not a choice for {what} (choose from {', '.join(options)})"
                hint = f"{self.prog} --help shows how"
            if near:
                text += "; did you mean " + " or ".join(near) + "?"
        elif bound:
            text, hint = f"{bound.group(1)} {bound.group(2)}", f"{self.prog} --help shows how"
        else:
            super().error(message)
        print(f"tvctl: {text}", file=sys.stderr)
        print(f"hint: {hint}", file=sys.stderr)
        self.exit(EXIT_USAGE)


def _bounded(lo: int, hi: int, unit: str = "") -> Callable[[str], int]:
    """An argparse type: a whole number from ``lo`` to ``hi``, the bounds the daemon's API declares
    (tvctl/api/bodies.py), checked before anything is sent."""
    of = f" of {unit}" if unit else ""
    unit = f" {unit}" if unit else ""

    def whole_number(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number{of}, not {text!r}") from None
        if n < lo:
            raise argparse.ArgumentTypeError(f"must be at least {lo}{unit} (got {n})")
        if n > hi:
            raise argparse.ArgumentTypeError(f"must be at most {hi}{unit} (got {n})")
        return n

    return whole_number


def quote(text: str, safe: str = "") -> str:
    """Percent-encode a path segment (urllib.parse costs start-up time; names are mostly ASCII)."""
    out = []
    for ch in text:
        if ch.isascii() and (ch.isalnum() or ch in "-._~" or ch in safe):
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode())
    return "".join(out)


def urlencode(params: dict[str, Any]) -> str:
    return "&".join(f"{quote(str(k))}={quote(str(v))}" for k, v in params.items())


def _device_name(args: argparse.Namespace) -> str:
    """The device the command is for: the positional DEVICE word, else -d, else the default one."""
    word = getattr(args, "target", None)
    flag = getattr(args, "device", None)
    if word and flag and word != flag:
        raise Usage(f"two devices given ({word!r} and -d {flag!r}); give one")
    return str(word or flag or "default")


def _device_path(args: argparse.Namespace) -> str:
    return quote(_device_name(args))


def _progress(args: argparse.Namespace, text: str) -> None:
    """A progress note on stderr, only for a person at a terminal (never with --json or in a pipe)."""
    if _shows_progress(args):
        print(text, file=sys.stderr, flush=True)


def _print(args: argparse.Namespace, data: Any, human: str | None = None) -> None:
    if args.json or human is None:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print(human)


def _ago(ts: float, now: float | None = None) -> str:
    """A moment in local time and words: '14:02:07 (3 minutes ago)', with the date when not today."""
    import time

    now = time.time() if now is None else now
    local = time.localtime(ts)
    same_day = time.localtime(now)[:3] == local[:3]
    when = time.strftime("%H:%M:%S" if same_day else "%Y-%m-%d %H:%M", local)
    delta = now - ts
    if abs(delta) < 5:
        words = "just now"
    elif delta < 0:
        words = "in " + _duration(-delta)
    else:
        words = _duration(delta) + " ago"
    return f"{when} ({words})"


def _duration(seconds: float) -> str:
    """A duration in words: '45 seconds', '3 minutes', '2 hours 5 minutes', '4 days 1 hour'."""
    s = int(seconds)
    units = [("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)]
    parts = []
    for name, size in units:
        n, s = divmod(s, size)
        if n:
            parts.append(f"{n} {name}{'' if n == 1 else 's'}")
        if len(parts) == 2:
            break
    return " ".join(parts) or "0 seconds"


def _human(key: str, value: Any) -> str:
    """One value for people: yes/no, lists joined, times in words, never a Python repr."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key.endswith(("_seen", "_at")) and isinstance(value, int | float):
        return _ago(float(value))
    if isinstance(value, list):
        return ", ".join(_human("", v) for v in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_human(k, v)}" for k, v in value.items()) or "none"
    return str(value)


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def _device_table(devices: list[dict[str, Any]]) -> str:
    if not devices:
        return "No devices known. Try: tvctl device discover, or tvctl device add <ip>"
    return _table([[d["name"], d["display_name"], d["platform"], d["model"], d["kind"], f"{d['host']}:{d['port']}",
                    "yes" if d["online"] else "no", d["id"]] for d in devices],
                  ["NAME", "DISPLAY NAME", "PLATFORM", "MODEL", "KIND", "ADDRESS", "ONLINE", "ID"])


def _params(raw: list[str] | None) -> dict[str, str]:
    """``--param KEY=VALUE`` options as a dict; one without ``=`` is a usage error."""
    out: dict[str, str] = {}
    for p in raw or []:
        key, eq, value = p.partition("=")
        if not eq or not key:
            raise Usage(f"--param {p!r} is not KEY=VALUE (e.g. --param contentId=12345)")
        out[key] = value
    return out


# -- commands -------------------------------------------------------------------------------------
def cmd_status(c: Client, a: argparse.Namespace) -> None:
    d = c.request("GET", "/v1/daemon/status")
    http = f"{d['http_host']}:{d['http_port']}" if d["http_enabled"] else "disabled"
    _print(a, d, f"tvctl {d['version']} pid {d['pid']}, up {_duration(d['uptime_s'])}\n"
                 f"socket   {d['socket']}\nhttp     {http}\ndevices  {d['device_count']}"
                 f" (default: {d['default_device'] or 'none'})")


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


def _read_secret(field: str, *, stdin: bool = False, prompt: str | None = None, echo: bool = False) -> str:
    """A secret from the terminal without echo, or the first line of a piped stdin; never from argv,
    where other users see it (ps) and the shell keeps it (history). ``prompt``: the words to ask
    with (default: the field's name); ``echo``: the field is no secret, so show what is typed."""
    if sys.stdin.isatty() and not stdin:
        if echo:
            value = input(f"{prompt or field}: ")
        else:
            import getpass

            value = getpass.getpass(f"{prompt or field}: ")
    else:
        value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise Usage(f"no value given for {field}")
    return value


def cmd_state(c: Client, a: argparse.Namespace) -> None:
    d = c.request("GET", f"/v1/devices/{_device_path(a)}/state")
    _print(a, d, _state_lines(d["device"]["name"], d["state"]))


# A part of the state the device left out (``unavailable[].part``), by the label its row has.
PART_LABELS = {"active_app": "app", "device": "info"}
# A platform's own state fields whose label is not their name less its unit (uptime_s: uptime).
STATE_LABELS = {"agent_version": "agent"}


def _state_lines(name: str, s: dict[str, Any]) -> str:
    """The state as label/value rows, every value starting in one column."""
    app = s.get("active_app") or {}
    media = s.get("media") or {}
    tv = s.get("tv") or {}
    rows = [("device", name)]
    if s.get("power") or s.get("power_mode"):
        rows.append(("power", (s.get("power") or "unknown") + (f" ({s['power_mode']})" if s.get("power_mode") else "")))
    if app:
        rows.append(("app", f"{app.get('name', '?')} [{app.get('kind', '?')}]"))
    if media:
        pos = media.get("position_ms")
        rows.append(("media", f"{media['state']}" + (f" at {pos / 1000:.0f} s" if pos is not None else "")))
    if tv:
        channel = " ".join(str(tv[k]) for k in ("number", "name") if tv.get(k)) or "?"
        if tv.get("program_title"):
            channel += f" — {tv['program_title']}"
        if tv.get("signal_state") not in (None, "valid"):
            channel += f" (signal: {tv['signal_state']})"
        rows.append(("tv", channel))
    if s.get("control_note"):
        rows.append(("control", s["control_note"]))
    shown = {"power", "power_mode", "active_app", "media", "tv", "unavailable", "control_note"}
    for k, v in s.items():  # what else the platform reports: plain values, and readings
        if k in shown or v is None:
            continue
        label = STATE_LABELS.get(k) or k.removesuffix("_mode").removesuffix("_percent").removesuffix("_s")
        label = label.replace("_", " ")
        if isinstance(v, bool):
            rows.append((label, "yes" if v else "no"))
        elif isinstance(v, int | float) and k.endswith("_s"):
            rows.append((label, _span(v)))
        elif isinstance(v, int | float) and k.endswith("_percent"):
            rows.append((label, f"{v:g} %"))
        elif isinstance(v, str | int | float):
            rows.append((label, str(v)))
        elif isinstance(v, list) and all(isinstance(r, dict) and "name" in r for r in v):
            rows.append((label, ", ".join(f"{r['name']} {r.get('value')} {r.get('unit', '')}".rstrip() for r in v)))
    for u in s.get("unavailable", []):
        rows.append((PART_LABELS.get(u["part"], u["part"]), f"unavailable: {u['reason']}"))
    width = max(8, *(len(label) for label, _ in rows))
    return "\n".join(f"{label:{width}} {value}" for label, value in rows)


def _span(seconds: float) -> str:
    """A length of time in short units: '9 d 20 h 36 min', '2 h 5 min', '45 s'."""
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    return " ".join(f"{n} {unit}" for n, unit in ((days, "d"), (hours, "h"), (s // 60, "min")) if n)


def cmd_apps(c: Client, a: argparse.Namespace) -> None:
    base = f"/v1/devices/{_device_path(a)}/apps"
    a.action = a.action or "list"
    if a.action != "launch" and a.app:
        raise Usage(f"tvctl apps {a.action} takes no app (got {a.app!r})")
    if a.action != "launch" and a.param:
        raise Usage("--param goes with apps launch")
    if a.action == "list":
        d = c.request("GET", base)
        _print(a, d, _table([[x["id"], x["name"], x["platform_id"], x.get("type") or ""] for x in d["apps"]],
                            ["ID", "NAME", "PLATFORM ID", "TYPE"]))
    elif a.action == "launch":
        if not a.app:
            raise Usage("usage: tvctl apps launch APP [--param KEY=VALUE]")
        d = c.request("POST", f"{base}/launch", {"app": a.app, "params": _params(a.param)})
        _print(a, d, f"launched {d['launched']['name']}")
    elif a.action == "stop":
        d = c.request("POST", f"{base}/stop")
        _print(a, d, f"stopped ({d['method']})" + (f": {d['note']}" if d.get("note") else ""))
    elif a.action == "refresh":
        d = c.request("POST", f"{base}/refresh", {"clear": True} if a.clear else None)
        _print(a, d, f"{len(d['apps'])} apps (added {len(d.get('added', []))}, removed {len(d.get('removed', []))})")


def cmd_key(c: Client, a: argparse.Namespace) -> None:
    body: dict[str, Any] = {"key": a.key}
    if a.hold:
        body["hold_ms"] = a.hold
    if a.repeat:
        body["repeat"] = a.repeat
    d = c.request("POST", f"/v1/devices/{_device_path(a)}/remote/key", body)
    _print(a, d, _key_line(d))


def _key_line(d: dict[str, Any]) -> str:
    """What a key result says happened: 'sent home 3 times', 'sent right (held 2000 ms)', 'typed 5 characters'."""
    if d.get("skipped"):
        return f"did not send {d['key']}: {d['skipped']}"
    if d.get("sent") is not None:
        return f"typed {d['sent']} characters"
    repeat = int(d.get("repeat") or 1)
    return f"sent {d['key']}" + (f" {repeat} times" if repeat > 1 else "") \
        + (f" (held {d['hold_ms']} ms)" if d.get("hold_ms") else "")


def cmd_seq(c: Client, a: argparse.Namespace) -> None:
    url = f"/v1/devices/{_device_path(a)}/remote/sequence"
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


def _shows_progress(args: argparse.Namespace) -> bool:
    return not args.json and sys.stderr.isatty() and sys.stdout.isatty()


def cmd_type(c: Client, a: argparse.Namespace) -> None:
    d = c.request("POST", f"/v1/devices/{_device_path(a)}/remote/key", {"key": f"literal:{a.text}"})
    _print(a, d, f"typed {d['sent']} characters")


def cmd_power(c: Client, a: argparse.Namespace) -> None:
    if a.action is None:  # bare: say whether it is on
        d = c.request("GET", f"/v1/devices/{_device_path(a)}/state")
        s = d["state"]
        power = s.get("power") or "unknown"
        _print(a, {"device": d["device"]["name"], "power": s.get("power"), "power_mode": s.get("power_mode")},
               f"{d['device']['name']}: power {power}" + (f" ({s['power_mode']})" if s.get("power_mode") else ""))
        return
    if a.action == "on":
        _progress(a, "powering on (a TV in deep standby is woken with Wake-on-LAN; that can take a while)…")
    d = c.request("POST", f"/v1/devices/{_device_path(a)}/remote/key", {"key": f"power-{a.action}"})
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


def cmd_config(c: Client, a: argparse.Namespace) -> None:
    action = a.action or "show"
    if action == "get":
        if len(a.pairs) != 1:
            raise Usage("usage: tvctl config get KEY (e.g. daemon.http_port) or SECTION (e.g. daemon)")
        shown = _config_pick(c.request("GET", "/v1/config"), a.pairs)
        section, _, name = a.pairs[0].partition(".")
        if name:
            value = shown[section][name]
            _print(a, value, _config_value(value))
            return
        action = "show"  # a section: shown as show shows it
    if action == "show":
        shown = _config_pick(c.request("GET", "/v1/config"), a.pairs)
        lines = []
        for section, values in shown.items():
            lines.append(f"[{section}]")
            lines += [f"{k} = {_config_value(v)}" for k, v in values.items()]
        _print(a, shown, "\n".join(lines))
        return
    if action in ("set", "reset"):
        schema = {k["key"]: k for k in c.request("GET", "/v1/config/schema")}
        patch = _config_patch(a.pairs, schema, stdin=a.stdin) if action == "set" else _config_reset(a.pairs, schema)
        d = c.request("PATCH", "/v1/config", patch)
    else:
        if a.pairs:
            raise Usage("tvctl config reload takes no arguments")
        d = c.request("POST", "/v1/config/reload")
    note = f"; restart required for: {', '.join(d['restart_required'])}" if d["restart_required"] else ""
    verb = {"set": "updated", "reset": "reset to defaults", "reload": "reloaded"}[action]
    _print(a, d, f"config {verb} (changed: {', '.join(d['changed']) or 'nothing'}){note}")


def _config_pick(config: dict[str, Any], wanted: list[str]) -> dict[str, Any]:
    """The sections and keys named in ``wanted`` (all of it when none), nested as the config is."""
    if not wanted:
        return config
    picked: dict[str, Any] = {}
    for want in wanted:
        section, _, name = want.partition(".")
        if section not in config or (name and name not in config[section]):
            known = [*config, *(f"{sec}.{key}" for sec, keys in config.items() for key in keys)]
            raise Usage(f"no config key or section {want!r}", _config_hint(want, known))
        if name:
            picked.setdefault(section, {})[name] = config[section][name]
        else:
            picked[section] = config[section]
    return picked


def _config_hint(given: str, known: Iterable[str]) -> str:
    near = _did_you_mean(given, known)
    return ("did you mean " + " or ".join(near) + "? " if near else "") + "tvctl config show lists them"


def _config_value(value: Any) -> str:
    """A config value as it is written in config.toml."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(json.dumps(v) for v in value) + "]"
    return json.dumps(value) if isinstance(value, str) else str(value)


TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")


def _config_patch(tokens: list[str], schema: dict[str, Any], *, stdin: bool) -> dict[str, Any]:
    """``KEY VALUE… [KEY VALUE…]`` converted by each key's declared type. A token that is a config key
    starts the next key; a list key takes every value up to it (or comma-separated ones)."""
    if not tokens:
        raise Usage("usage: tvctl config set KEY VALUE [VALUE…] [KEY VALUE…] (a secret: KEY alone, or --stdin)")
    groups: list[tuple[str, list[str]]] = []
    for tok in tokens:
        if tok in schema:
            groups.append((tok, []))
        elif not groups:
            raise Usage(f"unknown config key {tok!r}", _config_hint(tok, schema))
        else:
            groups[-1][1].append(tok)
    patch: dict[str, Any] = {}
    for key, values in groups:
        spec = schema[key]
        if spec["secret"]:
            if values:
                raise Usage(f"{key} is a secret: leave the value out to be asked for it (or pipe it with --stdin), "
                            "so it stays out of your shell history")
            patch[key] = _read_secret(key, stdin=stdin)
            continue
        patch[key] = _convert(key, spec, values)
    return patch


def _convert(key: str, spec: dict[str, Any], values: list[str]) -> Any:
    kind = spec["type"]
    if kind == "list":
        return [v.strip() for raw in values for v in raw.split(",") if v.strip()]
    if len(values) != 1:
        raise Usage(f"{key} takes one {kind} value, got {len(values)}")
    raw = values[0]
    if kind == "string":
        return raw
    if kind == "boolean":
        if raw.lower() in TRUE_WORDS:
            return True
        if raw.lower() in FALSE_WORDS:
            return False
        raise Usage(f"{key} takes true or false (yes/no, on/off), not {raw!r}")
    try:
        return int(raw) if kind == "integer" else float(raw)
    except ValueError:
        raise Usage(f"{key} takes {'an integer' if kind == 'integer' else 'a number'}, not {raw!r}") from None


def _config_reset(tokens: list[str], schema: dict[str, Any]) -> dict[str, Any]:
    if not tokens:
        raise Usage("usage: tvctl config reset KEY [KEY…]")
    for key in tokens:
        if key not in schema:
            raise Usage(f"unknown config key {key!r}", _config_hint(key, schema))
    return dict.fromkeys(tokens)


def cmd_remote(c: Client, a: argparse.Namespace) -> None:
    if not sys.stdin.isatty() or not sys.stdout.isatty():
        raise Usage("tvctl remote needs a terminal")
    os.environ.setdefault("ESCDELAY", "25")  # Esc is back: do not wait a second for an escape sequence
    from tvctl.tui import run as remote

    remote(Client(c.path, timeout=30), _device_name(a))


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


def _event_line(event: str, data: Any) -> str:
    """What an event says, in a line: who, and what changed."""
    if not isinstance(data, dict):
        return event
    if event == "state_changed":
        s = data.get("state") or {}
        app = (s.get("active_app") or {}).get("name")
        media = (s.get("media") or {}).get("state")
        parts = [f"power {s['power']}" if s.get("power") else "", f"app {app}" if app else "",
                 f"media {media}" if media else ""]
        return f"{data.get('device', '?')}: " + (", ".join(p for p in parts if p) or "state changed")
    if event.startswith("device_"):
        what = event.removeprefix("device_")
        online = "" if what != "updated" else f" (online: {_human('', data.get('online'))})"
        return f"{data.get('name', '?')} {what}{online}"
    if event == "config_reloaded":
        return "config reloaded (changed: " + (", ".join(data.get("changed") or []) or "nothing") + ")"
    return f"{event} " + _human("", {k: v for k, v in data.items() if not isinstance(v, dict | list)})


def cmd_dev(c: Client, a: argparse.Namespace) -> None:
    base = f"/v1/devices/{_device_path(a)}/dev"
    if a.action != "install" and a.archive:
        raise Usage(f"tvctl dev {a.action} takes no file (got {a.archive!r})")
    if a.action not in ("install", "reload") and a.param:
        raise Usage("--param goes with dev install or dev reload")
    if a.action == "logs":
        q: dict[str, Any] = {}
        if a.lines:
            q["lines"] = a.lines
        if a.follow:
            for _event, data in c.stream(f"{base}/logs?follow=true" + (f"&{urlencode(q)}" if q else "")):
                print(data.get("text", ""), flush=True)
            return
        d = c.request("GET", f"{base}/logs" + (f"?{urlencode(q)}" if q else ""))
        if d["lines"] or a.json:
            _print(a, d, "\n".join(line["text"] for line in d["lines"]))
        else:
            print("(no log lines yet)", file=sys.stderr)
    elif a.action == "reload":
        params = _params(a.param)
        d = c.request("POST", f"{base}/reload", {"params": params} if params else None)
        _print(a, d, "dev channel restarted" + (f" with {_joined(params)}" if params else ""))
    elif a.action == "registry":
        d = c.request("GET", f"{base}/registry")
        lines = [f"[{sec['name']}]" + "".join(f"\n{i['key']} = {i['value']}" for i in sec["items"])
                 for sec in d["sections"]]
        _print(a, d, "\n".join(lines) if lines else "the registry is empty")
    elif a.action == "packages":
        d = c.request("GET", f"{base}/packages")
        _print(a, d, _table([[p["id"], p["app_type"], p.get("file_name") or "", str(p.get("size") or ""),
                              p.get("location") or ""] for p in d["packages"]],
                            ["ID", "TYPE", "FILE", "BYTES", "WHERE"]) if d["packages"] else "nothing installed")
    elif a.action == "delete":
        d = c.request("DELETE", f"{base}/channel")
        _print(a, d, "sideloaded channel deleted" if d["deleted"] else "no sideloaded channel was installed")
    elif a.action == "screenshot":
        _save_screenshot(c, a, f"{base}/screenshot")
    elif a.action == "install":
        if not a.archive:
            raise Usage("usage: tvctl dev install CHANNEL.zip [--param KEY=VALUE …]")
        d = _upload(c, base + "/install", a.archive, _params(a.param), args=a)
        _print(a, d, f"{d['result']}: " + "; ".join(m["text"] for m in d.get("messages", []))
               + (f" (started with {_joined(d['launched'])})" if d.get("launched") else ""))


def _joined(params: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


def cmd_search(c: Client, a: argparse.Namespace) -> None:
    body: dict[str, Any] = {"keyword": " ".join(a.keyword)}
    for field in ("app", "type", "season", "strategy"):
        if getattr(a, field) is not None:
            body[field] = getattr(a, field)
    if a.launch:
        body["launch"] = True
    _progress(a, f"searching for {body['keyword']!r} (the device may open an app and type; this can take a while)…")
    d = c.request("POST", f"/v1/devices/{_device_path(a)}/search", body)
    where = f" in {d['app']['name']}" if d.get("app") else ""
    front = (d.get("active_app") or {}).get("name")
    human = f"searched{where} for {d['keyword']!r} ({d['strategy']})"
    if d["strategy"] == "browse" and not d["changed"]:
        human += "; nothing changed on screen" + (f": {d['note']}" if d.get("note") else "")
    elif front:
        human += f"; now showing {front}"
    _print(a, d, human)


def cmd_tv(c: Client, a: argparse.Namespace) -> None:
    base = f"/v1/devices/{_device_path(a)}/tv"
    if a.action == "channels":
        if a.channel:
            raise Usage("tvctl tv channels takes no channel")
        d = c.request("GET", f"{base}/channels")
        _print(a, d, _table([[ch["number"], ch.get("name") or "", ch.get("type") or "",
                              "yes" if ch["hidden"] else "no"] for ch in d["channels"]],
                            ["CHANNEL", "NAME", "TYPE", "HIDDEN"]) if d["channels"] else
               "no channels (scan for channels in the TV's settings)")
        return
    if not a.channel:
        raise Usage("usage: tvctl tv tune CHANNEL (e.g. 5.1)")
    d = c.request("POST", f"{base}/tune", {"channel": a.channel})
    _print(a, d, f"tuned to {d['channel']}" + (f" ({d['name']})" if d.get("name") else ""))


def cmd_play(c: Client, a: argparse.Namespace) -> None:
    body: dict[str, Any] = {"url": a.url}
    for field in ("type", "title", "format"):
        if getattr(a, field) is not None:
            body[field] = getattr(a, field)
    d = c.request("POST", f"/v1/devices/{_device_path(a)}/media/play", body)
    _print(a, d, f"playing {d.get('title') or d['url']} ({d['type']})")


def _save_screenshot(c: Client, a: argparse.Namespace, url: str) -> None:
    raw, ctype = c.request_bytes("GET", url)
    out = a.output or ("shot.png" if "png" in ctype else "shot.jpg")
    with open(out, "wb") as fh:
        fh.write(raw)
    _print(a, {"path": out, "bytes": len(raw), "content_type": ctype}, f"saved {out} ({len(raw)} bytes)")


def cmd_screenshot(c: Client, a: argparse.Namespace) -> None:
    which = f"?display={a.display}" if a.display is not None else ""
    _save_screenshot(c, a, f"/v1/devices/{_device_path(a)}/screenshot{which}")


def _upload(c: Client, url: str, path: str, fields: dict[str, str] | None = None, *,
            args: argparse.Namespace) -> Any:
    """Stream ``path`` as multipart field ``archive`` after ``fields``; progress on stderr when it is
    a terminal."""
    try:
        size = os.path.getsize(path)
        fh = open(path, "rb")  # noqa: SIM115 (closed below, after the streamed request)
    except OSError as exc:
        raise Usage(f"cannot read {path}: {exc.strerror}") from exc
    from tvctl.multipart import FormFraming

    form = FormFraming(fields or {}, "archive", os.path.basename(path))
    head, tail = form.head, form.tail
    show = _shows_progress(args)

    class Body:
        """head, then the file in chunks, then tail; reports progress as it goes."""

        def __init__(self) -> None:
            self.parts = [head, None, tail]
            self.sent = 0

        def read(self, n: int) -> bytes:
            while self.parts:
                part = self.parts[0]
                if part is None:
                    chunk = fh.read(n)
                    if chunk:
                        self.sent += len(chunk)
                        if show:
                            print(f"\ruploading {self.sent * 100 // max(size, 1)}%", end="", file=sys.stderr)
                        return chunk
                    self.parts.pop(0)
                    continue
                self.parts.pop(0)
                return part
            return b""

    try:
        return c.request("POST", url, raw_body=Body(), headers={  # type: ignore[arg-type]
            "Content-Type": form.content_type, "Content-Length": str(form.length(size))})
    finally:
        fh.close()
        if show:
            print(file=sys.stderr)


def cmd_completion(c: Client | None, a: argparse.Namespace) -> None:
    from argcomplete.shell_integration import shellcode

    print(shellcode(["tvctl"], shell=a.shell))


# -- completion: argcomplete over the real parser; what is known to the daemon comes from it ---------
def _quick_client(parsed: argparse.Namespace) -> Client:
    path = getattr(parsed, "socket", None) or os.environ.get("TVCTL_SOCKET") or default_socket_path()
    return Client(path, timeout=2.0)


def _ask(parsed: argparse.Namespace, url: str) -> Any:
    """The daemon's answer, or None: completion stays quiet when the daemon is down."""
    try:
        return _quick_client(parsed).request("GET", url)
    except (TvctlError, DaemonUnreachable, DaemonTimeout, OSError, ValueError):
        return None


def complete_devices(prefix: str, parsed_args: argparse.Namespace, **_kw: Any) -> list[str]:
    return [d["name"] for d in _ask(parsed_args, "/v1/devices") or []]


def complete_apps(prefix: str, parsed_args: argparse.Namespace, **_kw: Any) -> list[str]:
    dev = getattr(parsed_args, "target", None) or getattr(parsed_args, "device", None) or "default"
    listing = _ask(parsed_args, f"/v1/devices/{quote(dev)}/apps") or {}
    return [app["name"] for app in listing.get("apps", [])] + [app["id"] for app in listing.get("apps", [])]


def complete_config_keys(prefix: str, parsed_args: argparse.Namespace, **_kw: Any) -> list[str]:
    keys = [k["key"] for k in _ask(parsed_args, "/v1/config/schema") or []]
    sections = sorted({k.split(".", 1)[0] for k in keys})
    return keys + sections if getattr(parsed_args, "action", None) == "show" else keys


def complete_keys(prefix: str, parsed_args: argparse.Namespace, **_kw: Any) -> list[str]:
    from tvctl.keys import KEY_NAMES

    return [*KEY_NAMES, "literal:"]


def _attach_completers(parser: argparse.ArgumentParser) -> None:
    """Give the parser's arguments their completers (argcomplete reads ``action.completer``)."""
    from argcomplete.completers import FilesCompleter

    def walk(p: argparse.ArgumentParser, command: str | None) -> None:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, name)
                continue
            dest = action.dest
            completer: Any = None
            if dest in ("device", "target") or (command == "device" and dest == "name"):
                completer = complete_devices
            elif command == "apps" and dest == "app":
                completer = complete_apps
            elif command == "config" and dest == "pairs":
                completer = complete_config_keys
            elif command in ("key", "seq") and dest in ("key", "keys"):
                completer = complete_keys
            elif (command == "dev" and dest == "archive"):
                completer = FilesCompleter(allowednames=("zip",), directories=True)
            elif dest in ("output", "config", "socket"):
                completer = FilesCompleter(directories=True)
            if completer is not None:
                action.completer = completer  # type: ignore[attr-defined]
    walk(parser, None)


def _complete() -> None:
    """Answer a shell's completion request (argcomplete's protocol: _ARGCOMPLETE in the environment)."""
    import argcomplete

    parser = build_parser()
    _attach_completers(parser)
    argcomplete.autocomplete(parser, always_complete_options=False)


def _args_device(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("action", nargs="?", choices=["list", "show", "discover", "add", "rename", "remove",
                                                  "credentials", "trust", "option"],
                    help="what to do (default: list)")
    sp.add_argument("name", nargs="?", help="the device (for add: its address)")
    sp.add_argument("new_name", nargs="?", help="rename: the new name; trust: the fingerprint; option: KEY=VALUE")
    sp.add_argument("--port", type=_bounded(1, 65535), help="with add: the port (default: the platform's)")
    sp.add_argument("--platform", help="with add: probe only as this platform (default: each installed one)")
    sp.add_argument("--credential", metavar="NAME[=VALUE]", action="append", default=[],
                    help="with add: a credential the platform takes (GET /v1/platforms lists them); "
                         "without =VALUE it is asked for, a secret without echo; repeatable")
    sp.add_argument("--stdin", action="store_true",
                    help="with add: read the one --credential NAME given without a value from stdin")
    sp.add_argument("--username", help="with add: same as --credential username=USERNAME --credential password")
    sp.add_argument("--password-stdin", action="store_true",
                    help="with add: same as --credential password, read from stdin")
    sp.add_argument("--api-key", action="store_true", help="with add: same as --credential api_key")
    sp.add_argument("--api-key-stdin", action="store_true",
                    help="with add: same as --credential api_key, read from stdin")
    sp.add_argument("--set", metavar="FIELD", action="append", default=[],
                    help="with credentials: set FIELD, read from the terminal without echo (or one line of stdin)")
    sp.add_argument("--clear", metavar="FIELD", action="append", default=[],
                    help="with credentials: forget FIELD ('all' forgets every one)")


def _args_apps(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("action", nargs="?", choices=["list", "launch", "stop", "refresh"], help="default: list")
    sp.add_argument("app", nargs="?", help="with launch: the app's id, name or the start of its name")
    sp.add_argument("--param", action="append", metavar="KEY=VALUE", help="launch parameter (deep link)")
    sp.add_argument("--clear", action="store_true", help="with refresh: clear the cache first")


def _args_key(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("key", help="a key name (below), or literal:TEXT to type text")
    _args_device_word(sp)
    sp.add_argument("--hold", type=_bounded(0, 10_000, "ms"), metavar="MS",
                    help="hold the key down this long (at most 10000)")
    sp.add_argument("--repeat", type=_bounded(1, 50), metavar="N", help="press it this many times (at most 50)")


def _args_seq(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("keys", nargs="+", help="key names, pressed in order")
    sp.add_argument("--delay", type=_bounded(0, 10_000, "ms"), default=200, metavar="MS",
                    help="pause between keys (default 200, at most 10000)")


def _args_dev(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("action", choices=["install", "reload", "logs", "screenshot", "registry", "packages", "delete"],
                    help="what to do with the sideloaded channel")
    sp.add_argument("archive", nargs="?", help="with install: the channel zip")
    sp.add_argument("--param", action="append", metavar="KEY=VALUE",
                    help="with install or reload: a launch parameter (contentId=…, mediaType=…); repeatable")
    sp.add_argument("-f", "--follow", action="store_true", help="with logs: keep printing new lines until Ctrl-C")
    sp.add_argument("--lines", type=_bounded(1, 1_000_000), help="with logs: how many recent lines (default 200)")
    sp.add_argument("-o", "--output", help="with screenshot: the file to write (default shot.png/.jpg)")


def _args_search(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("keyword", nargs="+", help="what to search for")
    sp.add_argument("--app", help="search in this app (its id, name or the start of its name)")
    sp.add_argument("--type", choices=["movie", "tv-show", "person", "channel", "game"], help="what kind of title")
    sp.add_argument("--season", type=_bounded(1, 1000), help="with --type tv-show: the season")
    sp.add_argument("--launch", action="store_true", help="browse: start the app on the result")
    sp.add_argument("--strategy", choices=["browse", "in-app", "auto"],
                    help="the device's search, the app's own, or browse then in-app (default auto)")


def _args_tv(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("action", choices=["channels", "tune"], help="list the channels, or tune one")
    sp.add_argument("channel", nargs="?", help="with tune: the channel, e.g. 5.1")


def _args_play(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("url", help="an http:// or https:// URL the TV can reach")
    sp.add_argument("--type", choices=["video", "audio", "photo"], help="what the URL is (default video)")
    sp.add_argument("--title", help="the title the player shows")
    sp.add_argument("--format", help="the media format: mp4, hls, mkv, mp3, …")


def _args_screenshot(sp: argparse.ArgumentParser) -> None:
    _args_device_word(sp)
    sp.add_argument("-o", "--output", help="file to write (default shot.png/.jpg)")
    sp.add_argument("--display", type=_bounded(0, 63),
                    help="which display, where a device has several (default 0)")


def _args_config(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("action", nargs="?", choices=["show", "get", "set", "reset", "reload"],
                    help="show (the default), get KEY, set KEY VALUE…, reset KEY…, or reload the file")
    sp.add_argument("pairs", nargs="*", metavar="KEY [VALUE…]",
                    help="keys (show, get, reset), or keys each followed by their values (set)")
    sp.add_argument("--stdin", action="store_true", help="with set: read a secret's value from stdin")


def _args_daemon(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--config", help="the config file (default: $CONFIGURATION_DIRECTORY or ~/.config/tvctl)")
    sp.add_argument("--verbose", "-v", action="store_true", help="log debug lines")


def _args_device_word(sp: argparse.ArgumentParser) -> None:
    """The device as a first positional word, where it reads naturally: tvctl state living-room."""
    sp.add_argument("target", nargs="?", metavar="DEVICE", help="the device (same as -d DEVICE)")


def _args_power(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("action", nargs="?", choices=["on", "off"], help="on or off (none: show the power state)")


def _args_mcp(sp: argparse.ArgumentParser) -> None:
    from tvctl.mcpserve import add_arguments  # cheap: the MCP SDK loads only when the server starts

    add_arguments(sp)


# name -> (handler, help, argument setup); "daemon" and "mcp" take no --json/-d.
SUBCOMMANDS: dict[str, tuple[Any, str | None, Any]] = {
    "status": (cmd_status, "daemon status", None),
    "device": (cmd_device, "list, show, discover, add, rename, remove devices", _args_device),
    "state": (cmd_state, "live state of a device", _args_device_word),
    "apps": (cmd_apps, "list, launch, stop, refresh apps", _args_apps),
    "key": (cmd_key, "press a key", _args_key),
    "seq": (cmd_seq, "press several keys", _args_seq),
    "type": (cmd_type, "type text into an on-screen keyboard",
             lambda sp: sp.add_argument("text", help="the text (quote it when it has spaces)")),
    "power": (cmd_power, "power on or off, or show the power state", _args_power),
    "search": (cmd_search, "search for a title (the device's search or an app's own)", _args_search),
    "tv": (cmd_tv, "live TV: list channels, tune one", _args_tv),
    "play": (cmd_play, "play a video, audio or photo URL", _args_play),
    "screenshot": (cmd_screenshot, "save what the screen shows", _args_screenshot),
    "dev": (cmd_dev, "developer mode: install, reload, logs, screenshot, registry, packages, delete", _args_dev),
    "config": (cmd_config, "show, set or reload the daemon config", _args_config),
    "events": (cmd_events, "stream daemon events until Ctrl-C", None),
    "remote": (cmd_remote, "a full-screen remote control in the terminal", _args_device_word),
    "daemon": (None, "run the daemon in the foreground", _args_daemon),
    "mcp": (None, "serve the daemon's devices to an AI assistant over MCP (stdio; needs tvctl[mcp])", _args_mcp),
    "completion": (cmd_completion, "print a shell completion script",
                   lambda sp: sp.add_argument("shell", choices=["bash", "zsh", "fish"], help="the shell")),
}


# Each subcommand's help ends with these (tvctl CMD --help).
EXAMPLES: dict[str, str] = {
    "status": "tvctl status\ntvctl status --json",
    "device": "tvctl device                          # list them\ntvctl device discover\n"
              "tvctl device add 192.168.1.50\n"
              "tvctl device add 10.0.0.8 --credential username=admin --credential password   # asks for it\n"
              "tvctl device rename tv-192-168-1-50 living-room",
    "state": "tvctl state\ntvctl state living-room\ntvctl --json state living-room",
    "apps": "tvctl apps                            # list\ntvctl apps launch netflix\n"
            "tvctl apps launch you --param contentId=dQw4w9WgXcQ",
    "key": "tvctl key home\ntvctl key home living-room\ntvctl key volume-up --repeat 5\n"
           "tvctl -d living-room key right --hold 2000",
    "seq": "tvctl seq home down down select\ntvctl seq right right select --delay 500",
    "type": 'tvctl type "star trek"\ntvctl -d living-room type hello',
    "power": "tvctl power                           # is it on?\ntvctl power on\ntvctl -d bedroom power off",
    "search": 'tvctl search "star trek"\ntvctl search dune --app netflix\n'
              "tvctl search seinfeld --type tv-show --season 3 --strategy browse",
    "tv": "tvctl tv channels\ntvctl tv tune 5.1",
    "play": "tvctl play http://192.168.1.10:8000/film.mp4 --title Film\n"
            "tvctl play https://radio.example/live.mp3 --type audio",
    "screenshot": "tvctl screenshot\ntvctl screenshot living-room -o tv.png\ntvctl screenshot --display 1",
    "dev": "tvctl dev install channel.zip --param contentId=42\ntvctl dev reload\ntvctl dev logs -f",
    "config": "tvctl config show daemon\ntvctl config get daemon.http_port\n"
              "tvctl config set daemon.cors_allowed_origins http://127.0.0.1:8080,https://ha.lan\n"
              "tvctl config set daemon.api_token          # a secret: asks for it",
    "events": "tvctl events\ntvctl --json events | jq .",
    "remote": "tvctl remote\ntvctl remote living-room",
    "daemon": "tvctl daemon\ntvctl daemon --config ./config.toml -v",
    "mcp": "tvctl mcp\ntvctl mcp --tier read",
    "completion": 'eval "$(tvctl completion bash)"      # in ~/.bashrc\n'
                  'eval "$(tvctl completion zsh)"       # in ~/.zshrc\n'
                  "tvctl completion fish > ~/.config/fish/completions/tvctl.fish",
}


def _epilog(name: str) -> str | None:
    text = EXAMPLES.get(name)
    if text is None:
        return None
    out = "examples:\n" + "\n".join("  " + line for line in text.splitlines())
    if name == "key":
        from tvctl.keys import KEY_NAMES

        out = ("key names (every platform maps them as it can):\n  " + _wrap(", ".join(KEY_NAMES), 76)
               + "\n  and literal:TEXT. A platform may take names of its own: a TV its own key codes\n"
                 "  (VolumeUp, InstantReplay), a KVM KeyboardEvent.code names with modifiers\n"
                 "  (KeyA, ctrl+alt+Delete). docs/api.md lists each platform's.\n\n" + out)
    return out


def _wrap(text: str, width: int) -> str:
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "\n  ".join([*lines, line])


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """argparse's formatter without its ``import shutil`` (which pulls in zlib, bz2 and lzma).

    argparse builds a formatter for every add_argument call, so the import would happen on every
    command, not just for --help.
    """

    def __init__(self, prog: str) -> None:
        try:
            width = int(os.environ.get("COLUMNS", "")) or os.get_terminal_size(sys.stdout.fileno()).columns
        except (ValueError, OSError):
            width = 80
        super().__init__(prog, width=max(width - 2, 40))


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``only``, just that subcommand (building all costs start-up time)."""
    p = _Parser(prog="tvctl", description="Control the TVs on your LAN through the tvctl daemon.",
                formatter_class=_Formatter)
    from tvctl import __version__

    p.add_argument("--version", action="version", version=f"tvctl {__version__}")
    p.add_argument("--socket", default=None,
                   help="daemon socket (default: $TVCTL_SOCKET or $XDG_RUNTIME_DIR/tvctl.sock)")
    p.add_argument("--json", action="store_true", help="print the response data as JSON (errors too, on stderr)")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="give up waiting for the daemon's answer after this long (default: sized to the command)")
    p.add_argument("-d", "--device", help="device name or id (default: the default device)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name, (func, help_, setup) in SUBCOMMANDS.items():
        if only is not None and name != only:
            continue
        sp = sub.add_parser(name, help=help_, description=help_, epilog=_epilog(name), formatter_class=_Formatter) \
            if help_ else sub.add_parser(name, formatter_class=_Formatter)
        if func is not None:
            sp.set_defaults(func=func)
        if name not in ("daemon", "mcp", "completion"):
            sp.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
            sp.add_argument("-d", "--device", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        if setup is not None:
            setup(sp)
    return p


# How long the CLI waits for an answer: long enough for what the request asks of the device, so a
# slow command is never taken for a dead daemon. BASE covers a queued wait (daemon.queue_wait_s,
# 10 s by default) and one slow device request; each key may take a device request of its own.
BASE_TIMEOUT_S = 60.0
PER_KEY_S = 6.0
WAKE_S = 130.0  # the longest Wake-on-LAN wait a platform setting allows is 120 s
UPLOAD_S = 150.0  # a device's own installer may take this long for a large package
UPLOAD_RATE = 256 * 1024  # bytes per second assumed for the slowest link


def timeout_for(args: argparse.Namespace) -> float | None:
    """The answer timeout sized to the request; None for streams that last until Ctrl-C."""
    cmd = args.command
    if cmd in ("events", "remote") or getattr(args, "follow", False):
        return None
    if cmd == "seq":
        return BASE_TIMEOUT_S + len(args.keys) * (float(args.delay) / 1000 + PER_KEY_S)
    if cmd == "key":
        repeat = args.repeat or 1
        return BASE_TIMEOUT_S + int(repeat) * (float(args.hold or 0) / 1000 + PER_KEY_S)
    if cmd == "type":
        return BASE_TIMEOUT_S + len(args.text) * PER_KEY_S / 4
    if cmd == "power":
        return BASE_TIMEOUT_S + WAKE_S
    if cmd == "search":  # in-app steps launch an app and wait between screens
        return BASE_TIMEOUT_S + 240.0
    if cmd == "dev" and args.action in ("install", "reload"):
        size = 0
        if args.action == "install" and args.archive:
            try:
                size = os.path.getsize(args.archive)
            except OSError:
                size = 0
        return BASE_TIMEOUT_S + UPLOAD_S + size / UPLOAD_RATE
    return BASE_TIMEOUT_S


def _fail(args: argparse.Namespace, code: int, error: str, message: str, hint: str | None) -> int:
    """Report an error on stderr: two lines for people, or with --json one JSON object."""
    if getattr(args, "json", False):
        print(json.dumps({"code": error, "message": message, "hint": hint}, ensure_ascii=False), file=sys.stderr)
    else:
        print(f"tvctl: {message}", file=sys.stderr)
        if hint:
            print(f"hint: {hint}", file=sys.stderr)
    return code


def _command_word(argv: list[str]) -> str | None:
    """The subcommand named in ``argv`` (skipping global options and their values), if any."""
    it = iter(argv)
    for tok in it:
        if tok in ("--socket", "-d", "--device", "--timeout"):
            next(it, None)
        elif not tok.startswith("-"):
            return tok
    return None


def main(argv: list[str] | None = None) -> int:
    if "_ARGCOMPLETE" in os.environ:  # a shell asks for completions (tvctl completion SHELL)
        _complete()
        return EXIT_OK
    argv = sys.argv[1:] if argv is None else argv
    word = _command_word(argv)
    parser = build_parser(word if word in SUBCOMMANDS else None)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code else EXIT_OK
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if args.command == "daemon":
        from pathlib import Path

        from tvctl.daemon import run

        return run(Path(args.config) if args.config else None, args.verbose)
    if args.command == "mcp":
        from tvctl.mcpserve import run as serve_mcp  # says how to install the SDK when it is missing

        return serve_mcp(args.socket or os.environ.get("TVCTL_SOCKET") or default_socket_path(), args.tier)
    if args.command == "completion":  # needs no daemon
        cmd_completion(None, args)
        return EXIT_OK
    path = args.socket or os.environ.get("TVCTL_SOCKET") or default_socket_path()
    client = Client(path, timeout=args.timeout if args.timeout else timeout_for(args))
    try:
        args.func(client, args)
    except Usage as exc:
        return _fail(args, EXIT_USAGE, "usage", str(exc), exc.hint or f"tvctl {args.command} --help shows how")
    except DaemonUnreachable as exc:
        return _fail(args, EXIT_UNREACHABLE, "daemon_unreachable", str(exc),
                     "start it with 'systemctl --user start tvctl' or 'tvctl daemon' (or pass --socket PATH)")
    except DaemonTimeout as exc:
        return _fail(args, EXIT_ERROR, "daemon_timeout", str(exc),
                     "the daemon is running and may finish it: watch tvctl events, or check tvctl state")
    except TvctlError as exc:
        return _fail(args, EXIT_ERROR, exc.code, exc.message, exc.hint)
    except KeyboardInterrupt:  # Ctrl-C ends a stream (events, logs -f) normally
        return EXIT_OK if args.command in ("events", "dev") else 130
    except BrokenPipeError:
        return EXIT_OK
    return EXIT_OK
