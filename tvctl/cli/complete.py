"""Shell completion: the script tvctl completion SHELL prints, and the answers to the shell's
requests (argcomplete over the real parser; device, app and config key names come from the daemon
when it answers). Loaded only for those two."""

from __future__ import annotations

import argparse
import os

from tvctl.cli.parser import build_parser
from tvctl.client import Client, DaemonTimeout, DaemonUnreachable, quote
from tvctl.errors import TvctlError
from tvctl.paths import default_socket_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def cmd_completion(c: Client | None, a: argparse.Namespace) -> None:
    from argcomplete.shell_integration import shellcode

    print(shellcode(["tvctl"], shell=a.shell))


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
