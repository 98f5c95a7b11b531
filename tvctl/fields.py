"""What a config key is: its type, default, doc and checks. The core's sections and every
platform's section are declared with ``Field`` (pure data; ``tvctl.config`` validates with it)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Field:
    type: type  # bool, int, float, str or list (of str)
    default: Any
    doc: str
    restart: bool = False  # only takes effect after a daemon restart
    secret: bool = False
    min: float | None = None
    max: float | None = None
    check: Callable[[Any], str | None] | None = None  # returns an error text or None


def host_port(value: str) -> str | None:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        return "expected HOST:PORT, e.g. 239.255.255.250:1900"
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return "HOST must be an IPv4 address"
    return None


def ipv4_list(values: list[str]) -> str | None:
    for v in values:
        try:
            ipaddress.IPv4Address(v)
        except ValueError:
            return f"{v!r} is not an IPv4 address"
    return None


def origins(values: list[str]) -> str | None:
    for v in values:
        if v == "*" or not v.startswith(("http://", "https://")) or v.endswith("/"):
            return f"{v!r} is not an exact origin like http://127.0.0.1:8080 (no path, no wildcard)"
    return None


def ipv4_address(value: str) -> str | None:
    return ipv4_list([value])
