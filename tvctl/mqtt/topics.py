"""Where tvctl publishes and listens on the broker: every topic under ``BASE/NODE/`` (the
``mqtt.base_topic`` and this daemon's ``node_id``, so many sites share one broker), Home
Assistant's discovery under its own prefix.

::

    BASE/NODE/status                    online | offline (retained; the broker's last will says offline)
    BASE/NODE/error                     a command for a device tvctl does not know (JSON)
    BASE/NODE/event/TYPE                the daemon's events, as GET /v1/events sends them (JSON)
    BASE/NODE/DEVICE/availability       online | offline (retained)
    BASE/NODE/DEVICE/state              the device's state, as GET /v1/devices/{id}/state's "state" (retained)
    BASE/NODE/DEVICE/set/COMMAND        commands to the device (tvctl listens)
    BASE/NODE/DEVICE/result             what a command answered: {"command", "data"} (JSON)
    BASE/NODE/DEVICE/error              why a command failed: {"command", "code", "message", "hint"} (JSON)
    BASE/NODE/DEVICE/screenshot         the image a screenshot command took (bytes)
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass

_NODE_OK = re.compile(r"[^a-z0-9_-]+")


def default_node_id() -> str:
    """This machine's host name as a node id (lower case; other characters as -)."""
    return _NODE_OK.sub("-", socket.gethostname().split(".")[0].lower()).strip("-")[:63] or "tvctl"


@dataclass(frozen=True, slots=True)
class Topics:
    base_topic: str
    node_id: str
    discovery_prefix: str

    @property
    def base(self) -> str:
        return f"{self.base_topic}/{self.node_id}"

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def error(self) -> str:
        return f"{self.base}/error"

    @property
    def commands(self) -> str:
        """The subscription that takes every device's commands."""
        return f"{self.base}/+/set/#"

    @property
    def ha_status(self) -> str:
        """Where Home Assistant says it (re)started: discovery is published again then."""
        return f"{self.discovery_prefix}/status"

    def event(self, kind: str) -> str:
        return f"{self.base}/event/{kind}"

    def device(self, name: str, leaf: str) -> str:
        return f"{self.base}/{name}/{leaf}"

    def command(self, name: str, command: str) -> str:
        return f"{self.base}/{name}/set/{command}"

    def parse_command(self, topic: str) -> tuple[str, str] | None:
        """(device, command) of a command topic; None for any other topic."""
        head = f"{self.base}/"
        if not topic.startswith(head):
            return None
        parts = topic[len(head):].split("/")
        if len(parts) < 3 or parts[1] != "set" or not parts[0]:
            return None
        return parts[0], "/".join(parts[2:])

    def is_discovery_config(self, topic: str) -> bool:
        """Whether ``topic`` is one of this node's discovery configs (PREFIX/COMPONENT/tvctl_NODE/OBJECT/config)."""
        head = f"{self.discovery_prefix}/"
        if not topic.startswith(head) or not topic.endswith("/config"):
            return False
        parts = topic[len(head):].split("/")
        return len(parts) == 4 and parts[1] == f"tvctl_{self.node_id}"

    def discovery(self, component: str, device_id: str, object_id: str) -> str:
        return f"{self.discovery_prefix}/{component}/tvctl_{self.node_id}/{device_id}_{object_id}/config"
