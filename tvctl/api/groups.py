"""Groups: named sets of devices (kept in the registry), and actions on all members at once.

``/v1/groups`` lists and creates them, ``/v1/groups/{name}`` reads, changes and deletes one. A
group action is a device operation's path and body under the group (``POST
/v1/groups/lobby/remote/key {"key": "home"}``) for the operations that act on a device (keys,
sequences, launch, stop, search, tune, play): each member gets it through the same code as
``/v1/devices/{id}/…`` (``tvctl.grouping``), and the answer lists each member's result or error.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tvctl.api import envelope
from tvctl.api.bodies import CreateGroup, PatchGroup
from tvctl.api.endpoint import Endpoint, Handler
from tvctl.api.operated import performer, read_request
from tvctl.api.reading import client_presence, read_body, rt
from tvctl.errors import BadRequest
from tvctl.grouping import act_on_group
from tvctl.models import Group
from tvctl.operations import GROUP_OPERATIONS, GROUP_ROUTE, Operation
from tvctl.results import GroupResult


async def list_groups(request: Request) -> Response:
    return envelope.ok(rt(request).service.registry.groups())


async def create_group(request: Request) -> Response:
    body = await read_body(request, CreateGroup)
    return envelope.ok(await rt(request).service.directory.create_group(body.name, list(body.devices)))


async def get_group(request: Request) -> Response:
    return envelope.ok(rt(request).service.registry.group(request.path_params["name"]))


async def patch_group(request: Request) -> Response:
    body = await read_body(request, PatchGroup)
    if body.devices is None and body.add is None and body.remove is None:
        raise BadRequest("Name the members: devices (all of them), add or remove.",
                         hint='Example: {"add": ["bar-tv"]}')
    return envelope.ok(await rt(request).service.directory.change_group(
        request.path_params["name"], devices=list(body.devices) if body.devices is not None else None,
        add=list(body.add or []), remove=list(body.remove or [])))


async def delete_group(request: Request) -> Response:
    return envelope.ok(await rt(request).service.directory.delete_group(request.path_params["name"]))


def action_for(op: Operation[Any, Any]) -> Handler:
    """The group route of ``op``: its body read once, then the operation for every member."""
    perform = performer(op)

    async def handle(request: Request) -> Response:
        body = await read_request(request, op)
        service = rt(request).service
        async with client_presence(request) as caller:
            return envelope.ok(await act_on_group(service.registry, service.settings, request.path_params["name"],
                                                  lambda dev_id: perform(service, dev_id, body, caller)))

    handle.__name__ = handle.__qualname__ = f"group_{op.name}"  # the OpenAPI operationId
    return handle


def endpoints(_platforms: Iterable[Any] = ()) -> list[Endpoint]:
    out = [
        Endpoint("GET", "/v1/groups", list_groups, "The groups: each one's name and members (device ids).",
                 response=list[Group]),
        Endpoint("POST", "/v1/groups", create_group, "Create a group of devices (by id or name).", CreateGroup,
                 response=Group),
        Endpoint("GET", GROUP_ROUTE, get_group, "One group.", response=Group),
        Endpoint("PATCH", GROUP_ROUTE, patch_group, "Replace, add or remove a group's members.", PatchGroup,
                 response=Group),
        Endpoint("DELETE", GROUP_ROUTE, delete_group, "Delete a group (its devices stay).", response=Group),
    ]
    for op in GROUP_OPERATIONS:
        kind = op.request_type()
        out.append(Endpoint("POST", GROUP_ROUTE + op.path, action_for(op),
                            f"Every member of the group: {op.summary[:1].lower()}{op.summary[1:]}",
                            body=kind, body_required=op.body_required, response=GroupResult))
    return out
