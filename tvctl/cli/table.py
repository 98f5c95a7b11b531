"""Commands for the operations the CLI has no words of its own for: a platform's own operations.

When the first word is not one of tvctl's commands, the daemon's operation table
(``GET /v1/operations``) is read and each operation whose CLI words start with that word becomes
a command: ``tvctl WORD [WORD2] ARG… [DEVICE] [--field VALUE …]``, its positional arguments the
fields the operation names as such (``cli_args``), its options the other fields, typed and
bounded as the table says, its help the operation's summary and the fields' descriptions. It
prints the daemon's data as JSON. Nothing here runs for tvctl's own commands.
"""

from __future__ import annotations

import argparse
import json

from tvctl.cli.common import _device_name
from tvctl.client import Client, DaemonTimeout, DaemonUnreachable
from tvctl.errors import TvctlError
from tvctl.operations import DEVICE_ROUTE, Operation

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tvctl.cli.parser import _Parser

TABLE_TIMEOUT_S = 10.0  # reading the table: the daemon answers it from memory


def add_table_commands(parser: _Parser, word: str, socket_path: str) -> bool:
    """Add the daemon's operations whose CLI words start with ``word`` as commands of ``parser``;
    whether there were any (a daemon that does not answer has none)."""
    try:
        rows: list[dict[str, Any]] = Client(socket_path, timeout=TABLE_TIMEOUT_S).request("GET", "/v1/operations")
    except (DaemonUnreachable, DaemonTimeout, TvctlError):
        return False
    ops = [op for op in rows if op["cli"] and op["cli"][0] == word]
    if not ops:
        return False
    from tvctl.cli.parser import _Formatter

    sp = parser.commands.add_parser(word, help=ops[0]["summary"], formatter_class=_Formatter,
                                    description=ops[0]["summary"] if len(ops) == 1 else None)
    if len(ops) == 1 and len(ops[0]["cli"]) == 1:
        _arguments(sp, ops[0])
        return True
    actions = sp.add_subparsers(dest="action", metavar="COMMAND", required=True)
    for op in ops:
        if len(op["cli"]) == 2:
            _arguments(actions.add_parser(op["cli"][1], help=op["summary"], description=op["summary"],
                                          formatter_class=_Formatter), op)
    return True


def _arguments(sp: argparse.ArgumentParser, op: dict[str, Any]) -> None:
    sp.set_defaults(operation=op)
    sp.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sp.add_argument("-d", "--device", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    fields = {f["name"]: f for f in op["fields"]}
    for name in op["cli_args"]:
        sp.add_argument(name, metavar=name.upper(), help=_about(fields[name]), **_typed(fields[name]))
    sp.add_argument("target", nargs="?", metavar="DEVICE", help="the device (same as -d DEVICE)")
    for name, f in fields.items():
        if name in op["cli_args"]:
            continue
        flag = "--" + name.replace("_", "-")
        if f["type"] == "boolean":
            sp.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=_about(f))
        else:
            sp.add_argument(flag, dest=name, metavar=name.upper(), required=f["required"], help=_about(f),
                            **_typed(f))


def _about(f: dict[str, Any]) -> str:
    bounds = [f"at least {f['minimum']:g}" if f["minimum"] is not None else "",
              f"at most {f['maximum']:g}" if f["maximum"] is not None else ""]
    extra = ", ".join(b for b in bounds if b)
    return str(f["description"] or f["type"]) + (f" ({extra})" if extra else "")


def _typed(f: dict[str, Any]) -> dict[str, Any]:
    """argparse's type and choices for a field; its bounds are the daemon's to check (one place)."""
    if f["choices"]:
        return {"choices": f["choices"]}
    if f["type"] == "integer":
        return {"type": int}
    if f["type"] == "number":
        return {"type": float}
    if f["type"] in ("array", "object"):
        return {"type": json.loads}  # given as JSON text
    return {}


def cmd_operation(c: Client, a: argparse.Namespace) -> None:
    from tvctl.cli.output import _print

    row = a.operation
    fields = {f["name"]: getattr(a, f["name"], None) for f in row["fields"]}
    op: Operation[Any, Any] = Operation(row["name"], row["method"], row["path"].removeprefix(DEVICE_ROUTE),
                                        row["summary"], "", body_required=any(f["required"] for f in row["fields"]))
    _print(a, c.perform(op, _device_name(a), fields))
