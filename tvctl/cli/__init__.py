"""The ``tvctl`` command: argparse → client calls over the Unix socket → text or JSON.

Exit codes: 0 ok · 1 the daemon reported an error · 2 usage · 3 the daemon is not reachable.
Imports nothing heavy (a test checks): the daemon's modules load only for ``tvctl daemon``, and a
command's own module only when it runs. Here: main() and how long to wait for an answer;
parser.py the arguments, help and examples; common.py and output.py what the commands share;
devices.py, control.py, dev.py, config.py and complete.py the commands.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from tvctl.cli.common import EXIT_ERROR, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE, Usage
from tvctl.cli.parser import EXAMPLES, SUBCOMMANDS, build_parser
from tvctl.client import Client, DaemonTimeout, DaemonUnreachable
from tvctl.errors import TvctlError
from tvctl.operations import ANSWER_S, DEV_RELOAD, SEARCH
from tvctl.paths import default_socket_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["EXAMPLES", "EXIT_ERROR", "EXIT_OK", "EXIT_UNREACHABLE", "EXIT_USAGE", "SUBCOMMANDS", "Usage",
           "build_parser", "main", "timeout_for"]


# How long the CLI waits for an answer: long enough for what the request asks of the device, so a
# slow command is never taken for a dead daemon. The operation table gives each operation's own
# (tvctl.operations: ANSWER_S covers a queued wait and one slow device request); what depends on
# the request is added here: each key may take a device request of its own.
BASE_TIMEOUT_S = ANSWER_S
PER_KEY_S = 6.0
WAKE_S = 130.0  # the longest Wake-on-LAN wait a platform setting allows is 120 s
UPLOAD_S = 150.0  # a device's own installer may take this long for a large package
UPLOAD_RATE = 256 * 1024  # bytes per second assumed for the slowest link


def timeout_for(args: argparse.Namespace) -> float | None:
    """The answer timeout sized to the request; None for streams that last until Ctrl-C."""
    cmd = args.command
    if getattr(args, "operation", None) is not None:
        return float(args.operation["timeout_s"])
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
    if cmd == "search":
        return SEARCH.timeout_s
    if cmd == "dev" and args.action == "reload":
        return DEV_RELOAD.timeout_s
    if cmd == "dev" and args.action == "install":
        size = 0
        if args.archive:
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
        if tok in ("--socket", "-d", "--device", "-g", "--group", "--timeout"):
            next(it, None)
        elif not tok.startswith("-"):
            return tok
    return None


def _socket_path(given: str | None) -> str:
    return given or os.environ.get("TVCTL_SOCKET") or default_socket_path()


def _given_socket(argv: list[str]) -> str | None:
    """The --socket option's value in ``argv``, before it is parsed."""
    for i, tok in enumerate(argv):
        if tok == "--socket" and i + 1 < len(argv):
            return argv[i + 1]
        if tok.startswith("--socket="):
            return tok.partition("=")[2]
    return None


def _handler(args: argparse.Namespace) -> Callable[[Client, argparse.Namespace], None]:
    """The command's ``cmd_`` function, importing its module (SUBCOMMANDS says which) only now."""
    from importlib import import_module

    if getattr(args, "operation", None) is not None:  # a platform's own operation (tvctl.cli.table)
        from tvctl.cli.table import cmd_operation

        return cmd_operation
    command = args.command
    handler: Callable[[Client, argparse.Namespace], None] = getattr(
        import_module(f"tvctl.cli.{SUBCOMMANDS[command][0]}"), f"cmd_{command}")
    return handler


def main(argv: list[str] | None = None) -> int:
    if "_ARGCOMPLETE" in os.environ:  # a shell asks for completions (tvctl completion SHELL)
        from tvctl.cli.complete import _complete

        _complete()
        return EXIT_OK
    argv = sys.argv[1:] if argv is None else argv
    word = _command_word(argv)
    parser = build_parser(word if word in SUBCOMMANDS else None)
    if word is not None and word not in SUBCOMMANDS:  # perhaps a platform's own operation
        from tvctl.cli.table import add_table_commands

        add_table_commands(parser, word, _socket_path(_given_socket(argv)))
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

        return serve_mcp(_socket_path(args.socket), args.tier)
    if args.command == "completion":  # needs no daemon
        from tvctl.cli.complete import cmd_completion

        cmd_completion(None, args)
        return EXIT_OK
    client = Client(_socket_path(args.socket), timeout=args.timeout if args.timeout else timeout_for(args))
    try:
        if getattr(args, "group", None) and args.command != "group":
            from tvctl.cli.group import act

            return act(client, args)
        _handler(args)(client, args)
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
