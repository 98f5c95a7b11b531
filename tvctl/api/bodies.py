"""What the API takes: request bodies and query strings, declared once as typed structs.

Each struct is the validation (``reading.read_body`` / ``reading.read_query``), the OpenAPI
schema (``openapi``) and the bounds the service relies on, so no limit is written twice. A field
that may be ``null`` in a body says so in its type (the server took null as "not given" before
these types existed, and still does). Query strings arrive as text and are converted in lax mode
(``"5"`` → 5, ``"true"``/``"1"`` → True); an integer must be written as digits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, ClassVar, Literal, get_args
from urllib.parse import urlsplit

import msgspec
from msgspec import UNSET, Meta, UnsetType

from tvctl.errors import InvalidUrl
from tvctl.keys import KEY_PATTERN, parse_key
from tvctl.models import NAME_RE
from tvctl.operations import SEQUENCE_DELAY_MS

KeyName = Annotated[str, Meta(pattern=KEY_PATTERN,
                              description="A key name from docs/api.md, or literal:<text> to type text.")]


class Body(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """A JSON request body: unknown fields are refused (400 invalid_payload).

    ``text_checks``: where a string breaks its field's bounds, the check (by path pattern) that
    raises the error to answer with, so it says exactly what is wrong; invalid_payload elsewhere.
    """

    text_checks: ClassVar[dict[str, Callable[[str], object]]] = {}


class Query(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """A query string: unknown parameters are refused (400 invalid_query)."""


# -- devices ------------------------------------------------------------------------------------
# A credentials change: field -> new value, or null to forget it. Which fields a device takes is
# its platform's declaration (checked by the service; the OpenAPI schema lists every platform's).
CredentialValue = Annotated[str, Meta(min_length=1, max_length=1024)]
CredentialChanges = dict[str, CredentialValue | None]
Credentials = Annotated[dict[str, CredentialValue],
                        Meta(description="The platform's credential fields (docs/api.md lists each platform's).")]
Fingerprint = Annotated[str, Meta(pattern="^[0-9a-f]{64}$", description="A SHA-256 fingerprint, 64 hex digits.")]


class AddDevice(Body, frozen=True):
    host: Annotated[str, Meta(min_length=1, max_length=253,
                              description="An IPv4 address or a host name (RFC 1123 labels).")]
    port: Annotated[int, Meta(ge=1, le=65535, description="Leave it out for the platform's default.")] | None = None
    platform: Annotated[str, Meta(min_length=1, description="Probe only as this platform.")] | None = None
    credentials: Credentials | None = None


class PatchDevice(Body, frozen=True):
    name: Annotated[str, Meta(pattern=NAME_RE.pattern, description="Lower-case letters, digits and dashes.")] \
        | None = None
    credentials: Annotated[Credentials, Meta(description="Replaces every credential kept for the device.")] \
        | None = None
    options: Annotated[dict[str, Annotated[str, Meta(min_length=1, max_length=256)] | None],
                       Meta(description="Per-device options the platform declares; null drops one.")] | None = None
    tls_fingerprint: Annotated[Fingerprint, Meta(description="Accept this certificate (the new one a "
                                                             "device_tls_changed error named).")] | None = None


SortField = Literal["name", "display_name", "model", "host", "first_seen", "last_seen", "id", "kind", "online"]
FilterField = Literal["name", "display_name", "platform", "host", "model", "serial", "kind", "online", "id"]
SORT_FIELDS: frozenset[str] = frozenset(get_args(SortField))
FILTER_FIELDS: frozenset[str] = frozenset(get_args(FilterField))


class DeviceListQuery(Query, frozen=True):
    limit: Annotated[int, Meta(ge=1, le=1000)] = 1000
    start: Annotated[int, Meta(ge=0, le=1_000_000)] = 0
    sort_by: SortField = "name"
    sort_reverse: bool = False
    filter: list[Annotated[str, Meta(pattern="^(" + "|".join(sorted(FILTER_FIELDS)) + ")==.+$",
                                     description="FIELD==v1,v2: devices whose FIELD is one of the values.")]] = []




# -- groups -------------------------------------------------------------------------------------
Members = Annotated[list[Annotated[str, Meta(min_length=1, max_length=200)]],
                    Meta(max_length=1000, description="Devices by id or name.")]


class CreateGroup(Body, frozen=True):
    name: Annotated[str, Meta(pattern=NAME_RE.pattern, description="Lower-case letters, digits and dashes.")]
    devices: Members = []


class PatchGroup(Body, frozen=True):
    devices: Annotated[Members, Meta(description="Replaces the members.")] | None = None
    add: Annotated[Members, Meta(description="Members to add.")] | None = None
    remove: Annotated[Members, Meta(description="Members to take out.")] | None = None


# -- apps ---------------------------------------------------------------------------------------
class LaunchApp(Body, frozen=True):
    app: Annotated[str, Meta(min_length=1, description="An app id, name or platform id.")]
    params: Annotated[dict[str, str | int | float], Meta(description="Passed to the app (deep-link ids…).")] \
        | None = None


class RefreshApps(Body, frozen=True):
    clear: Annotated[bool, Meta(description="Drop the cache first, so a failed fetch leaves none.")] | None = None


# -- keys ---------------------------------------------------------------------------------------
class KeyPress(Body, frozen=True):
    text_checks: ClassVar[dict[str, Callable[[str], object]]] = {"key": parse_key}
    key: KeyName
    hold_ms: Annotated[int, Meta(ge=0, le=10_000)] | None = None
    repeat: Annotated[int, Meta(ge=1, le=50)] | None = None


class KeySequence(Body, frozen=True):
    text_checks: ClassVar[dict[str, Callable[[str], object]]] = {r"keys\[\d+\]": parse_key}
    keys: Annotated[list[KeyName], Meta(min_length=1, max_length=100)]
    delay_ms: Annotated[int, Meta(ge=0, le=10_000,
                                  description=f"Pause between keys; {SEQUENCE_DELAY_MS} when left out.")] | None = None


class Pointer(Body, frozen=True):
    x: Annotated[float, Meta(ge=0, le=65535, description="Across: screen pixels of the last screenshot, or a "
                                                         "fraction of the width (0 to 1) with unit fraction.")]
    y: Annotated[float, Meta(ge=0, le=65535, description="Down: screen pixels, or a fraction of the height.")]
    unit: Literal["px", "fraction"] | None = None
    action: Annotated[Literal["move", "click", "double-click", "right-click", "scroll"],
                      Meta(description="What to do there; click when left out.")] | None = None
    dy: Annotated[int, Meta(ge=-100, le=100, description="With scroll: wheel steps, negative is up.")] | None = None


class ScreenshotQuery(Query, frozen=True):
    display: Annotated[int, Meta(ge=0, le=63, description="Which display, where a device has several (on a "
                                                          "server of sessions: the session's place in its list).")] = 0
    session: Annotated[str, Meta(min_length=1, max_length=200, description="On a server of sessions: the session "
                                                                           "(its id or name).")] | None = None
    format: Annotated[Literal["png", "jpeg"], Meta(description="The image format, where the device can make either "
                                                               "(a server of sessions).")] | None = None


# -- sessions (a server whose screens are sessions) ---------------------------------------------
SESSION_FIELD = r"[A-Za-z_][A-Za-z0-9_]{0,63}"


class SessionQuery(Query, frozen=True):
    start: Annotated[int, Meta(ge=0, le=1_000_000, description="Skip this many sessions.")] = 0
    limit: Annotated[int, Meta(ge=1, le=1000, description="At most this many sessions.")] | None = None
    sort_by: Annotated[str, Meta(pattern=f"^{SESSION_FIELD}$", description="A session field (id, name, user, "
                                 "geometry, clients, started, display) or one of the server's own members.")] \
        | None = None
    sort_reverse: bool = False
    filter: list[Annotated[str, Meta(pattern=f"^{SESSION_FIELD}==.+$",
                                     description="FIELD==v1,v2: sessions whose FIELD is one of the values; "
                                                 "several filters must all hold.")]] = []


class TerminateSession(Body, frozen=True):
    session: Annotated[str, Meta(min_length=1, max_length=200, description="The session: its id or name.")]


class SessionLogin(Body, frozen=True):
    token: Annotated[str, Meta(min_length=1, max_length=1024, description="daemon.api_token")]


# -- search, live TV, media ---------------------------------------------------------------------
class Search(Body, frozen=True):
    keyword: Annotated[str, Meta(min_length=1, max_length=200, description="What to search for.")]
    app: Annotated[str, Meta(min_length=1, description="Search in this app (id, name, or the start of its name)."
                             )] | None = None
    type: Literal["movie", "tv-show", "person", "channel", "game"] | None = None
    season: Annotated[int, Meta(ge=1, le=1000, description="With type tv-show: the season.")] | None = None
    launch: Annotated[bool, Meta(description="Browse: start the app on the result when it is the only one.")] \
        | None = None
    strategy: Annotated[Literal["browse", "in-app", "auto"],
                        Meta(description="browse: the device's search; in-app: open the app's own search and type; "
                                         "auto (default): browse, then in-app when the app in front did not change."
                             )] | None = None


class TvTune(Body, frozen=True):
    channel: Annotated[str, Meta(pattern=r"^\d{1,5}(\.\d{1,5})?$", description="Major.minor (5.1), or a number.")]


def check_media_url(url: str) -> str:
    """An absolute http(s) URL with a host and nothing a request line could be split on."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidUrl("Only http:// and https:// URLs can be played, not "
                         + (f"{parts.scheme} URLs." if parts.scheme else "a relative URL."))
    if not parts.hostname:
        raise InvalidUrl(f"The URL {url!r} names no host.")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise InvalidUrl("The URL contains spaces or control characters; percent-encode them (%20).")
    if len(url) > MAX_URL:
        raise InvalidUrl(f"The URL is longer than {MAX_URL} characters.")
    return url


MAX_URL = 2048


class PlayMedia(Body, frozen=True):
    text_checks: ClassVar[dict[str, Callable[[str], object]]] = {"url": check_media_url}
    url: Annotated[str, Meta(min_length=1, max_length=MAX_URL, pattern="^[Hh][Tt][Tt][Pp][Ss]?://",
                             description="An http:// or https:// URL the TV can reach.")]
    type: Literal["video", "audio", "photo"] | None = None
    title: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    format: Annotated[str, Meta(pattern="^[A-Za-z0-9.+-]{1,16}$", description="mp4, hls, mkv, mp3, …")] | None = None


# -- developer mode -----------------------------------------------------------------------------
LaunchParams = Annotated[dict[str, str | int | float],
                         Meta(description="Launch parameters (contentId, mediaType, anything else) for the package.")]


class DevReload(Body, frozen=True):
    params: LaunchParams | None = None


class LogQuery(Query, frozen=True):
    lines: Annotated[int, Meta(ge=1, le=1_000_000, description="How many recent lines.")] = 200
    since: Annotated[int, Meta(ge=0, le=1 << 62, description="Lines after this cursor.")] | UnsetType = UNSET
    follow: Annotated[bool, Meta(description="Stream new lines as Server-Sent Events.")] = False
