"""What a config key is: its type, default, doc and checks.

A config section is declared once, as a frozen dataclass subclassing ``Section`` whose fields
are made with ``setting()`` (default, doc, bounds, restart and secret flags). Code reads a
section as that typed object (``Settings.section(DaemonSettings).queue_wait_s``); the config
loader, the PATCH checks, the OpenAPI and config.example.toml read the same declaration as
``Field``s (``fields_of``). The core's sections are in ``tvctl.config``; a platform's is its
``Adapter.settings``. Pure data.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar


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
    prompt: str = ""  # the words a client asks for it with ("BliKVM password"); empty: its name


class Section:
    """Base of a config section: subclass it as ``@dataclass(frozen=True, slots=True)`` with a
    ``name`` (the ``[name]`` table; a platform's section is named like the platform)."""

    name: ClassVar[str] = ""


_META = "tvctl.setting"
_PLAIN = {bool: bool, int: int, float: float, str: str}


def setting(default: Any, doc: str, *, restart: bool = False, secret: bool = False, min: float | None = None,
            max: float | None = None, check: Callable[[Any], str | None] | None = None) -> Any:
    """One key of a section: its default and what is said and checked of it."""
    meta = {_META: (doc, restart, secret, min, max, check)}
    if isinstance(default, list | tuple):
        items = tuple(default)
        return dataclasses.field(default_factory=lambda: items, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def fields_of(section: type[Section]) -> dict[str, Field]:
    """The section's keys as Fields (list keys are tuples in the section, lists in the file)."""
    hints = typing.get_type_hints(section)
    out: dict[str, Field] = {}
    for f in dataclasses.fields(section):  # type: ignore[arg-type]
        doc, restart, secret, lo, hi, check = f.metadata[_META]
        hint = hints[f.name]
        kind = list if typing.get_origin(hint) is tuple else _PLAIN[hint]
        default = list(f.default_factory()) if f.default_factory is not dataclasses.MISSING else f.default
        out[f.name] = Field(kind, default, doc, restart=restart, secret=secret, min=lo, max=hi, check=check)
    return out


S = typing.TypeVar("S", bound=Section)


def build_section(section: type[S], values: typing.Mapping[str, Any]) -> S:
    """The section from flat dotted values (``values["<name>.<key>"]``)."""
    kwargs = {}
    for f in dataclasses.fields(section):  # type: ignore[arg-type]
        v = values[f"{section.name}.{f.name}"]
        kwargs[f.name] = tuple(v) if isinstance(v, list) else v
    return section(**kwargs)


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
    """Each value an exact browser origin: scheme://host[:port] and nothing else."""
    from urllib.parse import urlsplit

    for v in values:
        bad = (f"{v!r} is not an exact origin like http://127.0.0.1:8080 (scheme://host[:port] in lower case: "
               "no path, no wildcard)")
        if v == "*" or "," in v or any(c.isspace() for c in v):
            return bad
        try:
            parts = urlsplit(v)
            port = parts.port
        except ValueError:
            return bad
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username is not None \
                or parts.path or parts.query or parts.fragment or v.endswith(("?", "#")) or port == 0 \
                or parts.netloc != parts.netloc.lower():
            return bad
    return None


def ipv4_address(value: str) -> str | None:
    return ipv4_list([value])
