"""The argument parser: each subcommand's arguments, help and examples (SUBCOMMANDS, EXAMPLES), and
argparse made to tell its errors the way the rest of the CLI does."""

from __future__ import annotations

import argparse
import os
import sys

from tvctl.cli.common import EXIT_USAGE, _did_you_mean
from tvctl.operations import SEQUENCE_DELAY_MS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, NoReturn


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors told the way the rest of the CLI tells them: a misspelt choice gets
    the closest ones, a number out of bounds names its flag and the bound (exit 2 either way)."""

    commands: Any  # the subcommands' action, where more are added (tvctl.cli.table)

    def error(self, message: str) -> NoReturn:
        import re

        choice = re.fullmatch(r"argument (\S+): invalid choice: '?(.*?)'? \(choose from (.*)\)", message)
        bound = re.fullmatch(r"argument (?:\S+/)?(\S+): (must be .*)", message)
        if choice:
            what, given = choice.group(1), choice.group(2)
            options = [c.strip().strip("'\"") for c in choice.group(3).split(",")]
            near = _did_you_mean(given, options)
            if what == "COMMAND":
                words = self.prog.removeprefix("tvctl").strip()  # a command's own words: tvctl toy wave
                text = f"{(words + ' ' + given).strip()!r} is not a tvctl command"
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
    sp.add_argument("--delay", type=_bounded(0, 10_000, "ms"), default=SEQUENCE_DELAY_MS, metavar="MS",
                    help=f"pause between keys (default {SEQUENCE_DELAY_MS}, at most 10000)")


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


def _args_click(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("x", type=float, help="across: pixels of the screen as a screenshot shows it (or a fraction)")
    sp.add_argument("y", type=float, help="down: pixels (or a fraction)")
    _args_device_word(sp)
    sp.add_argument("--fraction", action="store_true", help="X and Y are fractions of the screen, 0 to 1")
    what = sp.add_mutually_exclusive_group()
    what.add_argument("--double", action="store_const", dest="action", const="double-click", help="double-click")
    what.add_argument("--right", action="store_const", dest="action", const="right-click", help="right-click")
    what.add_argument("--move", action="store_const", dest="action", const="move", help="only move the pointer")
    what.add_argument("--scroll", type=_bounded(-100, 100), metavar="STEPS",
                      help="scroll there, STEPS wheel steps (negative is up)")


def _args_screenshot(sp: argparse.ArgumentParser) -> None:
    _args_device_word(sp)
    sp.add_argument("-o", "--output", help="file to write (default shot.png/.jpg)")
    sp.add_argument("--display", type=_bounded(0, 63),
                    help="which display, where a device has several (default 0); a server of sessions: "
                         "the session at that place of tvctl sessions")
    sp.add_argument("--session", metavar="SESSION", help="a server of sessions: the session (its id or name)")
    sp.add_argument("--format", choices=["png", "jpeg"], help="a server of sessions: the image format")


def _args_group(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("action", nargs="?", choices=["list", "show", "create", "add", "remove", "delete"],
                    help="default: list")
    sp.add_argument("words", nargs="*", metavar="NAME [DEVICE…]", help="the group, then devices (names or ids)")


def _args_sessions(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("words", nargs="*", metavar="[terminate SESSION] [DEVICE]",
                    help="none: list the sessions; terminate SESSION: end one (its id or name)")
    sp.add_argument("--filter", action="append", metavar="FIELD==V1,V2",
                    help="sessions whose FIELD is one of the values (repeat: all must hold)")
    sp.add_argument("--sort-by", metavar="FIELD", help="id, name, user, geometry, clients, started, display")
    sp.add_argument("--reverse", action="store_true", help="the other way round")
    sp.add_argument("--start", type=_bounded(0, 1_000_000), help="skip this many")
    sp.add_argument("--limit", type=_bounded(1, 1000), help="at most this many")


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


# name -> (the module of tvctl.cli whose cmd_NAME runs it, help, argument setup); a command's module is
# imported only when it runs. "daemon" and "mcp" have no cmd_ function and take no --json/-d.
SUBCOMMANDS: dict[str, tuple[str | None, str | None, Any]] = {
    "status": ("devices", "daemon status", None),
    "device": ("devices", "list, show, discover, add, rename, remove devices", _args_device),
    "state": ("devices", "live state of a device", _args_device_word),
    "apps": ("devices", "list, launch, stop, refresh apps", _args_apps),
    "key": ("control", "press a key", _args_key),
    "seq": ("control", "press several keys", _args_seq),
    "type": ("control", "type text into an on-screen keyboard",
             lambda sp: sp.add_argument("text", help="the text (quote it when it has spaces)")),
    "power": ("control", "power on or off, or show the power state", _args_power),
    "search": ("control", "search for a title (the device's search or an app's own)", _args_search),
    "tv": ("control", "live TV: list channels, tune one", _args_tv),
    "play": ("control", "play a video, audio or photo URL", _args_play),
    "click": ("control", "move the pointer to a point of the screen and click, or scroll there", _args_click),
    "group": ("group", "named groups of devices: list, show, create, add, remove, delete", _args_group),
    "screenshot": ("dev", "save what the screen shows", _args_screenshot),
    "sessions": ("devices", "a server's sessions (remote desktops): list them, terminate one", _args_sessions),
    "dev": ("dev", "developer mode: install, reload, logs, screenshot, registry, packages, delete", _args_dev),
    "config": ("config", "show, set or reload the daemon config", _args_config),
    "events": ("control", "stream daemon events until Ctrl-C", None),
    "remote": ("control", "a full-screen remote control in the terminal", _args_device_word),
    "daemon": (None, "run the daemon in the foreground", _args_daemon),
    "mcp": (None, "serve the daemon's devices to an AI assistant over MCP (stdio; needs tvctl[mcp])", _args_mcp),
    "completion": ("complete", "print a shell completion script",
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
    "click": "tvctl screenshot kvm -o screen.png   # look first\ntvctl click 640 360 kvm\n"
             "tvctl click 0.5 0.5 --fraction --double\ntvctl click 640 360 --scroll -3",
    "play": "tvctl play http://192.168.1.10:8000/film.mp4 --title Film\n"
            "tvctl play https://radio.example/live.mp3 --type audio",
    "screenshot": "tvctl screenshot\ntvctl screenshot living-room -o tv.png\ntvctl screenshot --display 1\n"
                  "tvctl screenshot lab --session 'Signage Lobby' --format jpeg -o lobby.jpg",
    "group": "tvctl group create lobby bar-tv lobby-kvm\ntvctl group add lobby patio-tv\ntvctl group\n"
             "tvctl -g lobby key home                  # every member; a line each\ntvctl -g lobby apps launch netflix",
    "sessions": "tvctl sessions lab\ntvctl sessions lab --filter user==ana,kiosk --sort-by started --reverse\n"
                "tvctl apps launch 'GNOME Desktop' -d lab      # start a session from a bookmark\n"
                "tvctl sessions terminate 'Signage Lobby' lab",
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


def build_parser(only: str | None = None) -> _Parser:
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
    p.add_argument("-g", "--group", help="act on every device of this group (key, seq, type, power, apps, search, "
                                         "tv tune, play)")
    sub = p.commands = p.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_module, help_, setup) in SUBCOMMANDS.items():
        if only is not None and name != only:
            continue
        sp = sub.add_parser(name, help=help_, description=help_, epilog=_epilog(name), formatter_class=_Formatter) \
            if help_ else sub.add_parser(name, formatter_class=_Formatter)
        if name not in ("daemon", "mcp", "completion"):
            sp.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
            sp.add_argument("-d", "--device", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
            sp.add_argument("-g", "--group", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        if setup is not None:
            setup(sp)
    return p
