"""tvctl config: show, get, set, reset and reload the daemon's config; what is set is converted by
the type the daemon's schema declares for each key."""

from __future__ import annotations

import argparse
import json

from tvctl.cli.common import Usage, _did_you_mean, _read_secret
from tvctl.cli.output import _print

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from tvctl.client import Client


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
