"""How results read: the JSON data with --json, otherwise text for people (tables, times in words,
a device's state, a line for a key press or an event)."""

from __future__ import annotations

import argparse
import json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


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


def _key_line(d: dict[str, Any]) -> str:
    """What a key result says happened: 'sent home 3 times', 'sent right (held 2000 ms)', 'typed 5 characters'."""
    if d.get("skipped"):
        return f"did not send {d['key']}: {d['skipped']}"
    if d.get("sent") is not None:
        return f"typed {d['sent']} characters"
    repeat = int(d.get("repeat") or 1)
    return f"sent {d['key']}" + (f" {repeat} times" if repeat > 1 else "") \
        + (f" (held {d['hold_ms']} ms)" if d.get("hold_ms") else "")


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
