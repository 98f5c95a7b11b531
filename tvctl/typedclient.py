"""A typed client of the daemon, made from the operation table: one method per operation.

    from tvctl.typedclient import TypedClient
    tv = TypedClient("/run/user/1000/tvctl.sock")
    tv.tv_tune("living-room", channel="5.1")       # -> tvctl.results.TuneResult
    tv.call(TV_TUNE, "living-room", TvTune(channel="5.1"))  # the same, checked by mypy

Each method takes the device (its id, its name, or "default") and the request's fields as
keywords; the fields are checked against the request type before anything is sent (a bad one is
``invalid_payload``, as the daemon would answer), and the envelope's data comes back as the
result type. The methods are the core's operations and those of every installed platform
(``Adapter.operations``), so a platform's own operation is a method here with nothing written for
it. It speaks over the Unix socket through ``tvctl.client`` (the CLI's client), and raises the
same ``TvctlError`` for the daemon's error envelope.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import msgspec

from tvctl.client import DEFAULT_TIMEOUT_S, Client
from tvctl.errors import BadRequest
from tvctl.models import Device
from tvctl.operations import Operation, by_name, declared

Req = TypeVar("Req")
Res = TypeVar("Res")


class TypedClient:
    def __init__(self, socket_path: str, timeout: float | None = DEFAULT_TIMEOUT_S, *,
                 platforms: Iterable[type[Any]] | None = None) -> None:
        """``platforms``: the adapter classes whose own operations join the core's (by default the
        installed ones)."""
        if platforms is None:
            from tvctl.plugins import installed

            platforms = installed().values()
        self.raw = Client(socket_path, timeout)
        self.operations = by_name(declared(platforms))

    def call(self, op: Operation[Req, Res], device: str, request: Req | None = None) -> Res:
        """Run ``op`` on ``device`` with ``request`` (an instance of its request type, or None)."""
        fields = msgspec.to_builtins(request) if request is not None else None
        data = self.raw.perform(op, device, fields)
        return msgspec.convert(data, op.result_type())

    def request_of(self, op: Operation[Req, Any], fields: dict[str, Any]) -> Req | None:
        """``fields`` as ``op``'s request, checked against its declaration; None for an operation
        that takes none."""
        kind = op.request_type()
        if kind is None:
            if fields:
                raise BadRequest(f"{op.name} takes no fields; got {', '.join(sorted(fields))}.")
            return None
        try:
            return msgspec.convert(fields, kind)
        except msgspec.ValidationError as exc:
            raise BadRequest(f"{op.name}: {exc}.", hint=f"GET /v1/operations lists {op.name}'s fields.") from None

    def devices(self) -> list[Device]:
        return msgspec.convert(self.raw.request("GET", "/v1/devices"), list[Device])

    def __getattr__(self, name: str) -> Callable[..., Any]:
        op = self.__dict__.get("operations", {}).get(name)
        if op is None:
            raise AttributeError(f"{type(self).__name__} has no operation {name!r}")

        def method(device: str = "default", /, **fields: Any) -> Any:
            return self.call(op, device, self.request_of(op, fields))

        method.__name__ = name
        method.__doc__ = op.summary
        return method

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self.operations})
