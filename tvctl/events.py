"""In-process event bus behind ``GET /v1/events``.

Publishing never waits: each subscriber has a bounded queue, and a subscriber that falls
behind by more than its queue is cut off (it gets an ``overflow`` event and its stream ends)
rather than slowing the daemon or the other clients.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any

import msgspec

_LOGGER = logging.getLogger(__name__)

# A dashboard reading at human pace never gets near this; a stuck one is dropped after it.
SUBSCRIBER_QUEUE = 256


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    data: Any

    def sse(self) -> bytes:
        return b"event: " + self.type.encode() + b"\ndata: " + msgspec.json.encode(self.data) + b"\n\n"


_CLOSE = Event("_close", None)


class EventBus:
    def __init__(self) -> None:
        self._subs: set[asyncio.Queue[Event]] = set()
        self._taps: set[asyncio.Queue[Event]] = set()  # in-process readers that do not count as listeners
        self.on_subscribers_changed: Callable[[int], None] | None = None

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)

    def publish(self, type_: str, data: Any) -> None:
        event = Event(type_, data)
        for q in [*self._subs, *self._taps]:
            try:
                q.put_nowait(event)
            except asyncio.QueueFull:
                _LOGGER.info("dropping a slow events subscriber")
                self._drop(q, overflow=True)

    def _drop(self, q: asyncio.Queue[Event], *, overflow: bool) -> None:
        self._subs.discard(q)
        self._taps.discard(q)
        while not q.empty():
            q.get_nowait()
        if overflow:
            q.put_nowait(Event("overflow", {"reason": "client too slow; reconnect"}))
        q.put_nowait(_CLOSE)
        self._notify()

    def close_all(self) -> None:
        for q in [*self._subs, *self._taps]:
            self._drop(q, overflow=False)

    def _notify(self) -> None:
        if self.on_subscribers_changed:
            self.on_subscribers_changed(len(self._subs))

    def tap(self, *, listening: bool) -> asyncio.Queue[Event]:
        """A queue of every event from now on, for a reader in this process (the MQTT bridge).
        ``listening``: it counts as a listener (state is polled and refreshed after commands while
        anyone listens). Falling behind drops it as it drops a slow stream: an ``overflow`` event,
        then the close marker (``is_closed``). ``untap`` it when done."""
        q: asyncio.Queue[Event] = asyncio.Queue(SUBSCRIBER_QUEUE)
        (self._subs if listening else self._taps).add(q)
        if listening:
            self._notify()
        return q

    def untap(self, q: asyncio.Queue[Event]) -> None:
        if q in self._subs:
            self._subs.discard(q)
            self._notify()
        self._taps.discard(q)

    @staticmethod
    def is_closed(event: Event) -> bool:
        return event is _CLOSE

    async def subscribe(self, keepalive_s: float = 15.0) -> AsyncGenerator[bytes, None]:
        """SSE byte chunks until the bus closes or the consumer stops iterating."""
        q: asyncio.Queue[Event] = asyncio.Queue(SUBSCRIBER_QUEUE)
        self._subs.add(q)
        self._notify()
        try:
            yield b": connected\n\n"
            while True:
                try:
                    event = await asyncio.wait_for(q.get(), keepalive_s)
                except TimeoutError:
                    yield b": keepalive\n\n"
                    continue
                if event is _CLOSE:
                    return
                yield event.sse()
        finally:
            if q in self._subs:
                self._subs.discard(q)
                self._notify()
