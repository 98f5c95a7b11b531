"""Web remote sessions, and the brake on wrong API tokens.

A session is what ``POST /v1/session`` trades ``daemon.api_token`` for: a random cookie. Kept of
it: its SHA-256 (not the cookie itself), when it was issued, and the token *generation* it was
issued under. The generation is a counter that moves on every change of the token, so a cookie
from before a change never works again, even after the token is changed back (A → B → A). A
session lasts ``daemon.session_lifetime_s``; at most ``SESSION_LIMIT`` are kept, the oldest
dropped first, so logging in again and again costs no memory.

The brake: ``daemon.auth_fail_limit`` wrong tokens (a Bearer header or a sign-in), each within
``daemon.auth_fail_window_s`` of the one before, and every token check is refused
(``too_many_attempts``, 429 with ``Retry-After``) until that window has passed since the last
one. A right token does not end the streak (a client polling with the right token would
otherwise reset it between guesses); session cookies already issued keep working.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from tvctl.config import DaemonSettings, Settings
from tvctl.errors import TooManyAttempts

_LOGGER = logging.getLogger(__name__)

SESSION_LIMIT = 100


def _digest(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class _Session:
    generation: int
    issued: float


class TokenBrake:
    """Counts wrong tokens; refuses token checks after too many close together."""

    def __init__(self, settings: Callable[[], Settings], clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._clock = clock
        self._streak = 0
        self._last = -math.inf

    def check(self) -> None:
        """Raise ``TooManyAttempts`` while braked; call before comparing a presented token."""
        daemon = self._settings().section(DaemonSettings)
        since = self._clock() - self._last
        if self._streak >= daemon.auth_fail_limit and since < daemon.auth_fail_window_s:
            wait = max(1, math.ceil(daemon.auth_fail_window_s - since))
            raise TooManyAttempts(
                f"{self._streak} wrong API tokens, each within {daemon.auth_fail_window_s:g} s of the one before; "
                f"tokens are not checked for the next {wait} s.",
                hint=f"Wait {wait} s (Retry-After), then send the right daemon.api_token; session cookies "
                     "already issued and the Unix socket keep working.",
                details={"retry_after_s": wait})

    def failed(self) -> None:
        daemon = self._settings().section(DaemonSettings)
        now = self._clock()
        if now - self._last >= daemon.auth_fail_window_s:
            self._streak = 0
        self._streak += 1
        self._last = now
        if self._streak == daemon.auth_fail_limit:
            _LOGGER.warning("%d wrong API tokens close together: token checks refused until none has come for "
                            "%g s (daemon.auth_fail_limit)", self._streak, daemon.auth_fail_window_s)


class Sessions:
    """The web remote's sessions and the token brake, shared by the guard and ``POST /v1/session``."""

    def __init__(self, settings: Callable[[], Settings], clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._clock = clock
        self._token = settings().section(DaemonSettings).api_token
        self.generation = 0
        self._sessions: dict[str, _Session] = {}  # cookie digest -> session, oldest first
        self.brake = TokenBrake(settings, clock)

    def __len__(self) -> int:
        return len(self._sessions)

    def observe(self) -> str:
        """The current token; a changed one starts a new generation and ends every session. Called
        on each request and after each config change (so A → B → A is seen even with no request
        in between)."""
        token = self._settings().section(DaemonSettings).api_token
        if token != self._token:
            self._token = token
            self.generation += 1
            self._sessions.clear()
        return token

    def issue(self) -> str:
        """A new session cookie for the current token (check the token first)."""
        self.observe()
        now = self._clock()
        lifetime = self._settings().section(DaemonSettings).session_lifetime_s
        for key in [k for k, s in self._sessions.items() if now - s.issued >= lifetime]:
            del self._sessions[key]
        while len(self._sessions) >= SESSION_LIMIT:
            del self._sessions[next(iter(self._sessions))]
        cookie = secrets.token_urlsafe(32)
        self._sessions[_digest(cookie)] = _Session(self.generation, now)
        return cookie

    def valid(self, cookie: str) -> bool:
        """Whether ``cookie`` is a live session of the current token generation."""
        self.observe()
        key = _digest(cookie)
        session = self._sessions.get(key)
        if session is None:
            return False
        lifetime = self._settings().section(DaemonSettings).session_lifetime_s
        if session.generation != self.generation or self._clock() - session.issued >= lifetime:
            del self._sessions[key]
            return False
        return True
