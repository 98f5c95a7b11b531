"""Acting on a group: the same operation to every member at once, each through the device's own
command path (its queue, ``daemon.queue_wait_s``, every check), at most ``daemon.group_parallel``
members driven at the same time. Each member's answer is its own: one that fails, times out or
is gone is said in its place and never holds back or fails another (the whole answer waits
only as long as the slowest member)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from tvctl.config import DaemonSettings, Settings
from tvctl.errors import TvctlError
from tvctl.registry import Registry
from tvctl.results import GroupResult, MemberError, MemberResult

_LOGGER = logging.getLogger(__name__)


async def act_on_group(registry: Registry, settings: Callable[[], Settings], name: str,
                       run: Callable[[str], Awaitable[Any]]) -> GroupResult:
    """``run`` (given a device id) for every member of group ``name``."""
    group = registry.group(name)
    slots = asyncio.Semaphore(settings().section(DaemonSettings).group_parallel)

    async def one(dev_id: str) -> MemberResult:
        label = dev_id
        try:
            label = registry.resolve(dev_id).name
            async with slots:
                return MemberResult(device=label, ok=True, data=await run(dev_id))
        except TvctlError as exc:
            return MemberResult(device=label, ok=False, error=MemberError(**exc.to_dict()))
        except Exception as exc:  # a bug for one member is said there; the others go on
            _LOGGER.exception("group %s: %s failed", group.name, label)
            return MemberResult(device=label, ok=False, error=MemberError(
                code="internal_error", message=f"The command failed: {type(exc).__name__}.",
                hint="See the daemon's log."))

    return GroupResult(group=group.name, results=list(await asyncio.gather(*(one(i) for i in group.devices))))
