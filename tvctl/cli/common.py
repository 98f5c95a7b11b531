"""What the CLI's commands share: exit codes, the usage error, the device a command is for, URL
encoding, progress notes, ``--param`` pairs and reading a secret without echo."""

from __future__ import annotations

import argparse
import sys

from tvctl.client import quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


class Usage(Exception):
    """A usage error (exit 2); ``hint`` replaces the usual pointer to the command's --help."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def _did_you_mean(given: str, choices: Iterable[str], cutoff: float = 0.8) -> list[str]:
    """The choices most like ``given`` (difflib; imported only when something is misspelt)."""
    import difflib

    return difflib.get_close_matches(given, list(choices), n=3, cutoff=cutoff)


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


def _shows_progress(args: argparse.Namespace) -> bool:
    return not args.json and sys.stderr.isatty() and sys.stdout.isatty()


def _params(raw: list[str] | None) -> dict[str, str]:
    """``--param KEY=VALUE`` options as a dict; one without ``=`` is a usage error."""
    out: dict[str, str] = {}
    for p in raw or []:
        key, eq, value = p.partition("=")
        if not eq or not key:
            raise Usage(f"--param {p!r} is not KEY=VALUE (e.g. --param contentId=12345)")
        out[key] = value
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
