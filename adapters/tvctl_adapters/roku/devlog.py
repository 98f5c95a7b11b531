"""The Roku BrightScript console (TCP 8085): one reader per device, shared by every client.

The console accepts a single client and halts the app when anything is typed at a debugger
prompt, so this reader never writes. Lines end in CRLF but TCP splits them anywhere; they are
reassembled, decoded as UTF-8 with replacement, and kept in a bounded ring buffer with a
monotonically increasing sequence number (the ``since`` cursor). Followers get new lines on
bounded queues. When the device reboots or the connection drops, the reader reconnects with
backoff.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable

from tvctl_adapters.httpio import FOREIGN, connect_failure, device_error
from tvctl_adapters.roku.errors import DevConsoleBusy, DevModeDisabled

from tvctl.errors import DeviceTimeout
from tvctl.models import LogLine

_LOGGER = logging.getLogger(__name__)

BUSY_TEXT = "Console connection is already in use."
CONNECT_TIMEOUT_S = 5.0
# How long a fresh connection may take to show whether the console is busy (its first line).
BUSY_PROBE_S = 0.3
BACKOFF_S = (0.5, 1, 2, 5, 10, 30)
FOLLOWER_QUEUE = 1000
MAX_LINE = 64 * 1024  # a line longer than this is cut (a binary blob, not a log line)


class DevConsole:
    def __init__(self, host: str, port: Callable[[], int], max_lines: Callable[[], int], label: str) -> None:
        self.host = host
        self.port = port
        self.max_lines = max_lines
        self.label = label
        self.lines: collections.deque[LogLine] = collections.deque(maxlen=max_lines())
        self.seq = 0
        self.state = "idle"  # idle | connecting | connected | busy | refused
        self.error: str | None = None
        self._followers: set[asyncio.Queue[LogLine | None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._first_result: asyncio.Future[None] | None = None

    async def ensure_started(self) -> None:
        """Start the reader if needed; raise if the console is busy or closed right now."""
        if self._task is None or self._task.done():
            loop = asyncio.get_running_loop()
            self._first_result = loop.create_future()
            self._task = loop.create_task(self._run())
        if self._first_result is not None and not self._first_result.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._first_result), CONNECT_TIMEOUT_S + BUSY_PROBE_S + 1)
        if self.state == "busy":
            raise DevConsoleBusy(f"{self.label}'s console on port {self.port()} is in use by another program.")
        if self.state == "refused" and not self.lines:
            raise DevModeDisabled(f"Nothing answers on {self.label}'s console port {self.port()}: {self.error}.",
                                  hint="Enable developer mode on the Roku; the console on port 8085 comes with it.")
        if self.state == "connecting" and not self.lines:
            raise DeviceTimeout(f"{self.label}'s console did not answer within {CONNECT_TIMEOUT_S:g} s.")

    def _resolve_first(self) -> None:
        if self._first_result is not None and not self._first_result.done():
            self._first_result.set_result(None)

    async def _run(self) -> None:
        attempt = 0
        while True:
            self.state = "connecting"
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT_S):
                    reader, writer = await asyncio.open_connection(self.host, self.port())
            except FOREIGN as exc:
                err = device_error(exc, label=f"{self.label}'s console", what="a connection",
                                   timeout_s=CONNECT_TIMEOUT_S, host=self.host, port=self.port())
                if isinstance(err, DeviceTimeout):  # silence is not a refusal: ensure_started says timeout
                    self.state, self.error = "connecting", err.message
                else:
                    self.state, self.error = "refused", connect_failure(exc, self.host, self.port())
                self._resolve_first()
            else:
                try:
                    attempt = await self._read(reader, attempt)
                finally:
                    writer.close()
                    with contextlib.suppress(OSError):
                        await writer.wait_closed()
            delay = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
            attempt += 1
            _LOGGER.debug("%s: console %s; reconnecting in %s s", self.label, self.state, delay)
            await asyncio.sleep(delay)

    async def _read(self, reader: asyncio.StreamReader, attempt: int) -> int:
        buf = b""
        decided = False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BUSY_PROBE_S
        while True:
            timeout = None if decided else max(0.0, deadline - loop.time())
            try:
                chunk = await asyncio.wait_for(reader.read(65536), timeout)
            except TimeoutError:
                chunk = None
            except OSError:
                chunk = b""
            if chunk is None:  # quiet for the probe window: the console is ours
                decided = True
                self.state = "connected"
                self._resolve_first()
                continue
            if not chunk:  # EOF: device rebooted or closed us
                if buf:
                    self._add(buf)
                if not decided:
                    self.state = "refused" if self.state != "busy" else "busy"
                    self.error = self.error or "closed by the device"
                    self._resolve_first()
                elif self.state == "connected":
                    self.state = "connecting"
                return attempt
            buf += chunk
            *complete, buf = buf.split(b"\n")
            if len(buf) > MAX_LINE:
                complete.append(buf)
                buf = b""
            for raw in complete:
                text = raw.rstrip(b"\r").decode("utf-8", "replace")
                if not decided and text.strip() == BUSY_TEXT:
                    self.state = "busy"
                    self.error = BUSY_TEXT
                    self._resolve_first()
                    return attempt
                self._add(raw)
            if complete and not decided:
                decided = True
                self.state = "connected"
                self._resolve_first()
                attempt = 0

    def _add(self, raw: bytes) -> None:
        text = raw.rstrip(b"\r").decode("utf-8", "replace")
        if self.lines.maxlen != self.max_lines():
            self.lines = collections.deque(self.lines, maxlen=self.max_lines())
        self.seq += 1
        line = LogLine(self.seq, time.time(), text)
        self.lines.append(line)
        for q in list(self._followers):
            if q.qsize() >= FOLLOWER_QUEUE:  # a follower that stopped reading is cut off
                self._followers.discard(q)
                q.put_nowait(None)  # the queue keeps one slot free for this
            else:
                q.put_nowait(line)

    @property
    def follower_count(self) -> int:
        return len(self._followers)

    def recent(self, n: int | None, since: int | None) -> list[LogLine]:
        lines = [ln for ln in self.lines if since is None or ln.seq > since]
        return lines[-n:] if n else lines

    async def follow(self, since: int | None) -> AsyncIterator[LogLine]:
        q: asyncio.Queue[LogLine | None] = asyncio.Queue(FOLLOWER_QUEUE + 1)
        self._followers.add(q)
        try:
            for line in self.recent(None, since) if since is not None else []:
                yield line
            while True:
                item = await q.get()
                if item is None:
                    return
                yield item
        finally:
            self._followers.discard(q)

    def close_followers(self) -> None:
        for q in list(self._followers):
            with contextlib.suppress(asyncio.QueueFull):
                q.put_nowait(None)
        self._followers.clear()

    async def close(self) -> None:
        self.close_followers()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
