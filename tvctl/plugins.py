"""The platforms installed: adapter classes found through the ``tvctl.adapters`` entry points.

The core knows no platform by name. Each entry point names an ``Adapter`` subclass, which
declares everything the core needs (see ``tvctl.platform``); a platform package is added by
installing it, with nothing in ``tvctl/`` changed.
"""

from __future__ import annotations

import functools
import logging
from importlib.metadata import entry_points

from tvctl.platform import Adapter

_LOGGER = logging.getLogger(__name__)
GROUP = "tvctl.adapters"


@functools.cache
def installed() -> dict[str, type[Adapter]]:
    """Every installed platform by name, in the order their probes are tried."""
    found: list[type[Adapter]] = []
    for ep in entry_points(group=GROUP):
        try:
            cls = ep.load()
        except Exception:
            _LOGGER.exception("cannot load the platform %s", ep.name)
            continue
        if not (isinstance(cls, type) and issubclass(cls, Adapter) and cls.platform):
            _LOGGER.error("entry point %s does not name an Adapter subclass with a platform name", ep.name)
            continue
        found.append(cls)
    found.sort(key=lambda c: (c.probe_order, c.platform))
    return {cls.platform: cls for cls in found}
