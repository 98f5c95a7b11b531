"""What an action on a device answers, as typed results.

An adapter returns one of these; the service completes what only it knows (how often a key was
repeated, the delay of a sequence) and the API encodes it as it is, so the OpenAPI document names
these types. A field that is ``UNSET`` is left out of the JSON: a platform reports only what it
did. A platform may return a subclass with more fields (such as the code it sent for a key).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from tvctl.models import ActiveApp, App


class KeyResult(msgspec.Struct, frozen=True, kw_only=True):
    device: str
    key: Annotated[str, Meta(description="The key name, or literal:<text>.")]
    repeat: int = 1
    sent: Annotated[int, Meta(description="Characters typed, for literal:<text>.")] | UnsetType = UNSET
    hold_ms: Annotated[int, Meta(description="How long the key was held down.")] | UnsetType = UNSET
    skipped: Annotated[str, Meta(description="Why nothing was sent (the press would do the opposite).")] \
        | UnsetType = UNSET
    wol: Annotated[bool, Meta(description="Power-on: whether Wake-on-LAN was needed.")] | UnsetType = UNSET
    mac: Annotated[str, Meta(description="The MAC the Wake-on-LAN packets went to.")] | UnsetType = UNSET


class SequenceResult(msgspec.Struct, frozen=True, kw_only=True):
    device: str
    sent: int
    delay_ms: int


class LaunchResult(msgspec.Struct, frozen=True, kw_only=True):
    device: str
    launched: App
    params: dict[str, str]
    already_running: bool | UnsetType = UNSET


class StopResult(msgspec.Struct, frozen=True, kw_only=True):
    device: str
    method: Annotated[str, Meta(description="How it was stopped: the platform's word (exit-app, home) or none.")]
    stopped: ActiveApp | None
    note: str | UnsetType = UNSET


class InstallMessage(msgspec.Struct, frozen=True):
    type: Annotated[str, Meta(description="success, info or error")]
    text: str


class InstallResult(msgspec.Struct, frozen=True, kw_only=True):
    device: str
    result: Literal["installed", "replaced", "identical"]
    messages: list[InstallMessage]
    bytes: Annotated[int, Meta(description="The package bytes sent.")]


class ReloadResult(msgspec.Struct, frozen=True, kw_only=True):
    device: str
    reloaded: bool
    left_via: Annotated[str, Meta(description="How the running package was left: exit-app, home or not-running.")]
    reinstalled: Annotated[InstallResult, Meta(description="The kept package, when the device had lost it.")] \
        | None = None


class CredentialField(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    about: str
    set: bool  # whether a value is kept for this device (the value itself is never returned)


class CredentialReport(msgspec.Struct, frozen=True, kw_only=True):
    device: str
    platform: str
    fields: list[CredentialField]
