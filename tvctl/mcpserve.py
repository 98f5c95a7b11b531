"""``tvctl mcp``: a Model Context Protocol server on stdio for AI assistants.

A thin client of the daemon's Unix-socket API: every tool is one or two API calls and no device
logic lives here. Most tools are made from the operation table (``tvctl.operations``: each
operation that names an MCP tier, the core's and every installed platform's), called through the
typed client (``tvctl.typedclient``), their parameters the request type's fields with its
descriptions; a few are written here (``list_devices``, ``screenshot``, ``press_keys``,
``type_text``, ``dev_logs``). Tools come in tiers chosen with ``--tier``: ``read`` (devices,
state, apps, channels, screenshots, sessions), ``control`` (the default: also keys, text, apps,
search, TV tuning, playing a URL, clicking, ending a session) and ``dev`` (also developer logs,
reload, registry and packages). A tool's result is the daemon's data as a JSON object
(``structuredContent``, and the same as text). A daemon error comes back as a tool error
carrying the envelope's code, message and hint, the hint pointing at the tools where the CLI's
would point at a command.

Needs the optional extra ``tvctl[mcp]`` (the official ``mcp`` SDK, 2.x), imported only when the
server starts: this module's help text and the message for a missing extra need nothing beyond
the standard library, so the CLI can use them without the SDK installed.
"""

# No ``from __future__ import annotations``: the SDK reads the tools' annotations with
# inspect.signature(eval_str=True) against this module's globals, and the tools' types (Image)
# are imported inside build(), so the annotations must already be objects.

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tvctl.client import Client, DaemonUnreachable
from tvctl.errors import TvctlError
from tvctl.operations import SEQUENCE_DELAY_MS, TIERS

if TYPE_CHECKING:
    import argparse

    from mcp.server.mcpserver import MCPServer

    from tvctl.operations import Operation
    from tvctl.typedclient import TypedClient

EXIT_MISSING_EXTRA = 2  # as a usage error: nothing ran
INSTRUCTIONS = """\
tvctl controls the screens on this LAN (TVs and streaming players, KVM-over-IP boxes, signage PCs)
through the local tvctl daemon.

Devices: call list_devices first. A device is named by its id (a UUID), its friendly name
(for example living-room), or "default" when only one device is known. Each device lists its
capabilities; a tool for something a device cannot do fails with unsupported_operation.

Keys (press_keys): common names work everywhere they make sense: home, back, up, down, left,
right, select, play, pause, play-pause, rewind, fast-forward, volume-up, volume-down, mute,
power, power-on, power-off, backspace, enter. Keyboard platforms (KVMs) also take
KeyboardEvent.code names (KeyA, Digit1, F5, Escape) with modifiers: ctrl+alt+Delete.
To type text use type_text (it sends literal:<text>), not one key per letter.

Groups (list_groups): the tools that act on a device (press_keys, type_text, launch_app,
stop_app, search, tv_tune, play_media) take group= instead of device= and act on every member at
once; the result lists each member's answer, and one member failing does not stop the others.
To see a screen, take a screenshot; on a device with a pointer (a KVM), click where you saw
something and take another screenshot to check. A remote-desktop server's screens are its
sessions (list_sessions; screenshot with session=).
"""
# Where the daemon's hint sends a person to a CLI command, an assistant has a tool for it.
TOOL_HINTS = {
    "device_not_found": "Call the list_devices tool for the known devices' ids and names.",
    "no_default_device": "Name the device: the list_devices tool gives every known device's id and name.",
    "app_not_found": "Call the list_apps tool for the apps installed on the device.",
    "session_not_found": "Call the list_sessions tool for the sessions running on the device.",
    "group_not_found": "Call the list_groups tool for the groups and their members.",
}
DESCRIPTION = ("serve the daemon's devices to an AI assistant over MCP (Model Context Protocol, on stdio; "
               "needs tvctl[mcp])")
MISSING_EXTRA_HINT = ("install the extra into tvctl's environment: pip install 'tvctl[mcp]'; "
                      "installed with pipx: pipx install --force 'tvctl[mcp]' or pipx inject tvctl mcp")


def _own_command() -> str:
    """The full path of the ``tvctl`` command being run, for the registration example (not
    resolved: pipx's link in ~/.local/bin stays right across upgrades). os.path, not pathlib: the
    CLI builds this help on its start-up path."""
    import os

    argv0 = sys.argv[0] if sys.argv else ""
    if os.path.basename(argv0) == "tvctl":  # noqa: PTH119
        return os.path.abspath(argv0)  # noqa: PTH100
    return "/full/path/to/tvctl"


# The tools written here (build()), by tier; the others come from the operation table. Those of the
# control tier act on the device; the others only read.
OWN_TOOLS = {"read": ("list_devices", "list_groups", "screenshot"), "control": ("press_keys", "type_text"),
             "dev": ("dev_logs",)}


def tool_names(tier: str) -> list[str]:
    """The tools a tier adds to the one below it (the core's; an installed platform may add more)."""
    from tvctl.operations import OPERATIONS

    return [*OWN_TOOLS[tier], *(op.tool or op.name for op in OPERATIONS if op.mcp == tier)]


def epilog() -> str:
    """``tvctl mcp --help`` after the options: what it needs, how to register it, examples."""
    import textwrap

    command = _own_command()
    tools = textwrap.fill(
        f"Tools: read ({', '.join(tool_names('read'))}); control, the default, adds "
        f"{', '.join(tool_names('control'))}; dev adds {', '.join(tool_names('dev'))} (and a platform's own "
        "operations, in the tier it names).", 96)
    entry = json.dumps({"mcpServers": {"tvctl": {"command": command, "args": ["mcp"]}}})
    return f"""\
The tvctl daemon must be running (tvctl daemon, or systemctl --user start tvctl): this server
only talks to it, over its socket ($TVCTL_SOCKET, or tvctl --socket PATH mcp).
{tools}

Register it with an MCP client as a stdio server, by this tvctl's full path (a client does not
start it from your shell, so a venv's bin folder is not on its PATH), e.g. in the client's JSON:
  {entry}
or for Claude Code:
  claude mcp add tvctl -- {command} mcp

examples:
  tvctl mcp
  tvctl mcp --tier read
  tvctl --socket /run/user/1000/tvctl.sock mcp --tier dev"""


def add_arguments(sp: "argparse.ArgumentParser") -> None:
    """Set up the ``tvctl mcp`` subcommand's parser: its option, description and help text."""
    sp.add_argument("--tier", choices=list(TIERS), default="control",
                    help="which tools: read only, control (default), or dev as well")
    sp.description = DESCRIPTION
    sp.epilog = epilog()


def _call(fn: Callable[[], Any]) -> Any:
    from mcp.server.mcpserver.exceptions import ToolError

    try:
        return fn()
    except TvctlError as exc:
        hint = TOOL_HINTS.get(exc.code, exc.hint)
        raise ToolError(f"{exc.code}: {exc.message} Hint: {hint}") from exc
    except DaemonUnreachable as exc:
        raise ToolError(f"{exc}. Hint: the tvctl daemon is not running; ask the user to start it (tvctl daemon, "
                        "or systemctl --user start tvctl).") from exc


def _tool(typed: "TypedClient", op: "Operation[Any, Any]") -> Callable[..., Any]:
    """The MCP tool of operation ``op``: its parameters the device and the request's fields (with
    their descriptions), its result the daemon's data as an object."""
    import inspect
    from typing import Annotated

    import anyio.to_thread
    import msgspec
    from pydantic import Field

    from tvctl.client import group_route
    from tvctl.operations import GROUP_OPERATIONS
    from tvctl.results import fields_of

    kind = op.request_type()
    about = {f.name: f.description for f in fields_of(kind)}
    grouped = op in GROUP_OPERATIONS
    params = [inspect.Parameter("device", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Annotated[
        str, Field(description='The device: its id, its name, or "default" when only one is known.'
                               + (" Leave it out to act on a group." if grouped else ""))],
        **({"default": ""} if grouped else {}))]
    if grouped:
        params.append(inspect.Parameter("group", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
            str | None, Field(description="Instead of a device: every device of this group (list_groups); the "
                                          "result has each member's answer.")]))
    for f in msgspec.structs.fields(kind) if kind is not None else ():
        params.append(inspect.Parameter(
            f.name, inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[f.type, Field(description=about.get(f.name))],
            **({} if f.required else {"default": None})))

    async def tool(device: str = "", group: str | None = None, **fields: Any) -> dict[str, Any]:
        given = {k: v for k, v in fields.items() if v is not None}
        if group:
            request = typed.request_of(op, given)  # checked here, as for a device
            body = msgspec.to_builtins(request) if request is not None else None
            data: dict[str, Any] = await anyio.to_thread.run_sync(lambda: _call(
                lambda: typed.raw.request("POST", group_route(op, group), body)))
            return data
        result = await anyio.to_thread.run_sync(lambda: _call(
            lambda: typed.call(op, device or "default", typed.request_of(op, given))))
        out: dict[str, Any] = msgspec.to_builtins(result)
        return out

    tool.__name__ = tool.__qualname__ = op.tool or op.name
    tool.__doc__ = op.summary
    tool.__signature__ = inspect.Signature(params, return_annotation=dict[str, Any])  # type: ignore[attr-defined]
    return tool


def build(client: Client, tier: str = "control", platforms: Any = None) -> "MCPServer":
    """The server with the tools of ``tier`` and those below it: a tool for each operation of the
    table (tvctl.operations) that names an MCP tier, and the few written here, which join or
    reshape API calls (``press_keys`` is one key or a sequence, ``type_text`` a literal key)."""
    import anyio.to_thread
    from mcp.server.mcpserver import Image, MCPServer
    from mcp.types import ToolAnnotations

    from tvctl.typedclient import TypedClient

    level = TIERS.index(tier)
    server = MCPServer("tvctl", instructions=INSTRUCTIONS)
    typed = TypedClient(client.path, client.timeout, platforms=platforms)

    def hints(read_only: bool, destructive: bool = False) -> ToolAnnotations:
        return ToolAnnotations(read_only_hint=read_only, destructive_hint=destructive, open_world_hint=False)

    async def api(method: str, url: str, payload: Any = None) -> Any:
        return await anyio.to_thread.run_sync(lambda: _call(lambda: client.request(method, url, payload)))

    def dev(device: str) -> str:
        return "/v1/devices/" + quote(device, safe="")

    async def list_devices() -> dict[str, Any]:
        """Every known device (under "devices"): id, name, platform, model, address, online, capabilities."""
        return {"devices": await api("GET", "/v1/devices")}

    async def list_groups() -> dict[str, Any]:
        """Every group of devices (under "groups"): its name and members (device ids). Tools that act on a
        device (keys, launch, search, …) take group= instead of device= to act on every member."""
        return {"groups": await api("GET", "/v1/groups")}

    async def screenshot(device: str, display: int = 0, session: str | None = None) -> Image:
        """What the device's screen shows, as an image (devices with the screenshot capability). On a
        server of sessions (the sessions capability), session names one (its id or name from
        list_sessions); display is then the session's place in that list."""
        which = f"display={display}" + (f"&session={quote(session, safe='')}" if session else "")
        raw, ctype = await anyio.to_thread.run_sync(lambda: _call(
            lambda: client.request_bytes("GET", f"{dev(device)}/screenshot?{which}")))
        return Image(data=raw, format=ctype.removeprefix("image/") or "png")

    def target(device: str, group: str | None) -> str:
        return f"/v1/groups/{quote(group, safe='')}" if group else dev(device or "default")

    async def press_keys(device: str = "", keys: list[str] | None = None, delay_ms: int = SEQUENCE_DELAY_MS,
                         group: str | None = None) -> dict[str, Any]:
        """Press keys in order (one key or a sequence, delay_ms apart) on a device, or with group= on
        every device of that group (the result has each member's answer)."""
        keys = keys or []
        if len(keys) == 1:
            out: dict[str, Any] = await api("POST", target(device, group) + "/remote/key", {"key": keys[0]})
        else:
            out = await api("POST", target(device, group) + "/remote/sequence", {"keys": keys, "delay_ms": delay_ms})
        return out

    async def type_text(device: str = "", text: str = "", group: str | None = None) -> dict[str, Any]:
        """Type text into the focused field of the device (an on-screen keyboard, a search box), or with
        group= on every device of that group."""
        out: dict[str, Any] = await api("POST", target(device, group) + "/remote/key", {"key": f"literal:{text}"})
        return out

    async def dev_logs(device: str, lines: int = 100) -> dict[str, Any]:
        """The latest lines of the device's developer console (a device in developer mode), oldest first."""
        out = await api("GET", f"{dev(device)}/dev/logs?lines={lines}")
        return {"device": out["device"], "lines": [line["text"] for line in out["lines"]]}

    own = {fn.__name__: fn for fn in (list_devices, list_groups, screenshot, press_keys, type_text, dev_logs)}
    tools: list[tuple[str, Callable[..., Any], ToolAnnotations]] = [
        (tier, own[name], hints(tier != "control")) for tier, names in OWN_TOOLS.items() for name in names]
    tools += [(op.mcp, _tool(typed, op), hints(op.read_only, op.destructive))
              for op in typed.operations.values() if op.mcp is not None]
    for needed, fn, annotations in tools:
        if TIERS.index(needed) <= level:
            server.add_tool(fn, annotations=annotations)
    return server


def run(socket_path: str, tier: str) -> int:
    """Serve on stdio until the client closes it. Without the SDK: a message and the ways to
    install it, on stderr, and ``EXIT_MISSING_EXTRA``."""
    try:
        import anyio.to_thread  # noqa: F401  (what build() needs, checked before anything starts)
        import mcp.server.mcpserver  # noqa: F401
    except ImportError as exc:
        print(f"tvctl: the MCP server needs the optional extra tvctl[mcp] ({exc.name or 'mcp'} is not installed)",
              file=sys.stderr)
        print(f"hint: {MISSING_EXTRA_HINT}", file=sys.stderr)
        return EXIT_MISSING_EXTRA
    build(Client(socket_path, timeout=None), tier).run("stdio")
    return 0
