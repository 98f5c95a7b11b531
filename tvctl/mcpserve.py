"""``tvctl mcp``: a Model Context Protocol server on stdio for AI assistants.

A thin client of the daemon's Unix-socket API (``tvctl.client``): every tool is one or two API
calls and no device logic lives here. Tools come in tiers chosen with ``--tier``: ``read``
(devices, state, apps, screenshots), ``control`` (the default: also keys, text, launching and
stopping apps) and ``dev`` (also developer logs and reload). A daemon error comes back as a tool
error carrying the envelope's message and hint. Needs the optional extra ``tvctl[mcp]`` (the
official ``mcp`` SDK, 2.x); nothing else imports this module.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import anyio.to_thread
from mcp.server.mcpserver import Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

from tvctl.client import Client, DaemonUnreachable
from tvctl.errors import TvctlError

TIERS = ("read", "control", "dev")
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
"""


def _call(client: Client, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except TvctlError as exc:
        raise ToolError(f"{exc.code}: {exc.message} Hint: {exc.hint}") from exc
    except DaemonUnreachable as exc:
        raise ToolError(f"{exc}. Hint: start the daemon (tvctl daemon, or systemctl --user start tvctl).") from exc


def build(client: Client, tier: str = "control") -> MCPServer:
    """The server with the tools of ``tier`` and those below it."""
    level = TIERS.index(tier)
    server = MCPServer("tvctl", instructions=INSTRUCTIONS)
    read_only = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)
    acts = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)

    async def api(method: str, url: str, payload: Any = None) -> Any:
        return await anyio.to_thread.run_sync(lambda: _call(client, lambda: client.request(method, url, payload)))

    def dev(device: str) -> str:
        return "/v1/devices/" + quote(device, safe="")

    async def list_devices() -> str:
        """Every known device: id, name, platform, model, address, online, capabilities."""
        return json.dumps(await api("GET", "/v1/devices"), indent=1)

    async def device_state(device: str) -> str:
        """What the device tells now: power, active app, media, and what its platform adds."""
        return json.dumps(await api("GET", dev(device) + "/state"), indent=1)

    async def list_apps(device: str) -> str:
        """The apps installed on the device (id, name, platform_id)."""
        return json.dumps(await api("GET", dev(device) + "/apps"), indent=1)

    async def screenshot(device: str, display: int = 0) -> Image:
        """What the device's screen shows, as an image (devices with the screenshot capability)."""
        raw, ctype = await anyio.to_thread.run_sync(lambda: _call(
            client, lambda: client.request_bytes("GET", f"{dev(device)}/screenshot?display={display}")))
        return Image(data=raw, format=ctype.removeprefix("image/") or "png")

    async def press_keys(device: str, keys: list[str], delay_ms: int = 200) -> str:
        """Press keys in order (one key or a sequence, delay_ms apart)."""
        if len(keys) == 1:
            out = await api("POST", dev(device) + "/remote/key", {"key": keys[0]})
        else:
            out = await api("POST", dev(device) + "/remote/sequence", {"keys": keys, "delay_ms": delay_ms})
        return json.dumps(out)

    async def type_text(device: str, text: str) -> str:
        """Type text into the focused field of the device (an on-screen keyboard, a search box)."""
        return json.dumps(await api("POST", dev(device) + "/remote/key", {"key": f"literal:{text}"}))

    async def launch_app(device: str, app: str, params: dict[str, str] | None = None) -> str:
        """Launch an app by id, name or platform id; params are deep-link parameters (contentId, …)."""
        body: dict[str, Any] = {"app": app}
        if params:
            body["params"] = params
        return json.dumps(await api("POST", dev(device) + "/apps/launch", body))

    async def stop_app(device: str) -> str:
        """Leave the app in front (back to the home screen)."""
        return json.dumps(await api("POST", dev(device) + "/apps/stop"))

    async def dev_logs(device: str, lines: int = 100) -> str:
        """The latest lines of the device's developer console (a device in developer mode)."""
        out = await api("GET", f"{dev(device)}/dev/logs?lines={lines}")
        return "\n".join(line["text"] for line in out["lines"])

    async def dev_reload(device: str) -> str:
        """Restart the sideloaded developer channel."""
        return json.dumps(await api("POST", dev(device) + "/dev/reload"))

    tools: list[tuple[int, Callable[..., Any], ToolAnnotations]] = [
        (0, list_devices, read_only), (0, device_state, read_only), (0, list_apps, read_only),
        (0, screenshot, read_only),
        (1, press_keys, acts), (1, type_text, acts), (1, launch_app, acts), (1, stop_app, acts),
        (2, dev_logs, read_only),
        (2, dev_reload, ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False)),
    ]
    for needed, fn, hints in tools:
        if needed <= level:
            server.add_tool(fn, annotations=hints)
    return server


def run(socket_path: str, tier: str) -> int:
    build(Client(socket_path, timeout=None), tier).run("stdio")
    return 0
