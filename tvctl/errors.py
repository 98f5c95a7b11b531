"""The one exception tree of tvctl; every class maps to a stable envelope ``code``.

Callers react by group, so the tree is grouped the way they react::

    TvctlError                      internal_error          500
    ├── StorageFailed               storage_failed          500
    ├── BadRequest                  invalid_payload         400
    │   ├── InvalidJson             invalid_json
    │   ├── InvalidRequest          invalid_request
    │   ├── InvalidKey              invalid_key
    │   ├── InvalidQuery            invalid_query
    │   ├── AmbiguousApp            ambiguous_app
    │   ├── AmbiguousSession        ambiguous_session
    │   ├── UnknownConfigKey        unknown_config_key
    │   ├── InvalidConfigValue      invalid_config_value
    │   ├── ConfigFileInvalid       config_file_invalid
    │   ├── InvalidUrl              invalid_url
    │   ├── UnsupportedOperation    unsupported_operation
    │   ├── DeviceNameTaken         device_name_taken
    │   ├── GroupNameTaken          group_name_taken
    │   ├── InvalidArchive          invalid_archive
    │   ├── NoDevChannel            no_dev_channel
    │   └── DevAppNotActive         dev_app_not_active
    ├── Unauthorized                unauthorized            401
    ├── Forbidden                   forbidden               403
    │   ├── HostNotAllowed          host_not_allowed
    │   └── OriginNotAllowed        origin_not_allowed
    ├── NotFound                    not_found               404
    │   ├── RouteNotFound           route_not_found
    │   ├── DeviceNotFound          device_not_found
    │   ├── NoDefaultDevice         no_default_device
    │   ├── AppNotFound             app_not_found
    │   ├── GroupNotFound           group_not_found
    │   └── SessionNotFound         session_not_found
    ├── MethodNotAllowed            method_not_allowed      405
    ├── PayloadTooLarge             payload_too_large       413
    ├── UnsupportedMediaType        unsupported_media_type  415
    ├── TooManyAttempts             too_many_attempts       429
    └── DeviceError                 device_error            500
        ├── DeviceUnreachable       device_unreachable
        ├── DeviceTimeout           device_timeout
        ├── DeviceBadResponse       device_bad_response
        ├── DeviceForbidden         device_forbidden
        ├── DeviceAuthFailed        device_auth_failed
        ├── DeviceTlsChanged        device_tls_changed
        ├── NoVideo                 no_video
        ├── DevInstallFailed        dev_install_failed
        └── DeviceBusy              device_busy             503

A status is given for each group, and where a class differs from its group. Platforms add
their own subclasses (in their package; docs/api.md lists their codes), for failures only they
have; the API and the CLI treat them by their group like any other. Foreign exceptions (aiohttp,
tomlkit, OSError) are translated into this tree at one edge each (a platform's transport, the
config loader, atomic_write); nothing above those edges sees them.
This module is stdlib-only so the CLI can import it cheaply.
"""

from __future__ import annotations

TYPE_CHECKING = False  # the CLI imports this module; keep typing out of its start-up
if TYPE_CHECKING:
    from typing import Any, ClassVar


class TvctlError(Exception):
    """Base of every error tvctl reports; carries ``code``, ``status``, ``message`` and ``hint``."""

    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500
    default_hint: ClassVar[str] = "See the daemon log (journalctl --user -u tvctl) for details."

    def __init__(self, message: str, *, hint: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint
        self.details = details

    def restated(self, message: str | None = None, *, hint: str | None = None,
                 sent: int | None = None, total: int | None = None) -> TvctlError:
        """The same error (same class, so the same code and status) told again with more context:
        a new message or hint, or how far a multi-step command got. Raise it ``from`` this one."""
        details = dict(self.details or {})
        if sent is not None and total is not None:
            details |= {"sent": sent, "total": total}
        return type(self)(message if message is not None else self.message,
                          hint=hint if hint is not None else self.hint, details=details or None)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message, "hint": self.hint}
        if self.details:
            out["details"] = self.details
        return out


class StorageFailed(TvctlError):
    code = "storage_failed"
    default_hint = "Free some disk space in the daemon's state folder (or fix its permissions), then try again."


class BadRequest(TvctlError):
    code = "invalid_payload"
    status = 400
    default_hint = "Check the request body against docs/api.md."


class InvalidJson(BadRequest):
    code = "invalid_json"
    default_hint = "Send a JSON object with Content-Type: application/json."


class InvalidRequest(BadRequest):
    code = "invalid_request"
    default_hint = "Send one of each header and the path alone as the request target (GET /v1/devices HTTP/1.1)."


class InvalidKey(BadRequest):
    code = "invalid_key"
    default_hint = "Use a key name from docs/api.md (home, back, up, …) or literal:<text>."


class InvalidQuery(BadRequest):
    code = "invalid_query"
    default_hint = "Check the query parameters against docs/api.md."


class AmbiguousApp(BadRequest):
    code = "ambiguous_app"
    default_hint = "Launch by the app's platform id instead (see tvctl apps list)."


class AmbiguousSession(BadRequest):
    code = "ambiguous_session"
    default_hint = "Name the session by its id instead (see tvctl sessions)."


class UnknownConfigKey(BadRequest):
    code = "unknown_config_key"
    default_hint = "Run tvctl config show to see the valid keys."


class InvalidConfigValue(BadRequest):
    code = "invalid_config_value"


class ConfigFileInvalid(BadRequest):
    code = "config_file_invalid"
    default_hint = "Fix the config file and run tvctl config reload; the running config was kept."


class InvalidUrl(BadRequest):
    code = "invalid_url"
    default_hint = "Give an http:// or https:// URL the TV can reach, e.g. http://192.168.1.10:8000/film.mp4."


class UnsupportedOperation(BadRequest):
    code = "unsupported_operation"
    default_hint = "This device does not offer that; see the device's capabilities in tvctl device show."


class DeviceNameTaken(BadRequest):
    code = "device_name_taken"
    default_hint = "Pick a name no other device uses (tvctl device list)."


class GroupNameTaken(BadRequest):
    code = "group_name_taken"
    default_hint = "Pick another name, or change that group: tvctl group add NAME DEVICE…"


class InvalidArchive(BadRequest):
    code = "invalid_archive"
    default_hint = "Upload the package in the form the device takes (see docs/api.md for each platform)."


class NoDevChannel(BadRequest):
    code = "no_dev_channel"
    default_hint = "Sideload a channel first: tvctl dev install channel.zip."


class DevAppNotActive(BadRequest):
    code = "dev_app_not_active"
    default_hint = "Bring the sideloaded channel to the front first: tvctl dev reload."


class Unauthorized(TvctlError):
    code = "unauthorized"
    status = 401
    default_hint = "Send Authorization: Bearer <daemon.api_token>, or use the Unix socket."


class Forbidden(TvctlError):
    code = "forbidden"
    status = 403
    default_hint = "Call the API from the local machine without a foreign Origin."


class HostNotAllowed(Forbidden):
    code = "host_not_allowed"
    default_hint = "Use http://127.0.0.1:<port> or http://localhost:<port>, or add the name to daemon.allowed_hosts."


class OriginNotAllowed(Forbidden):
    code = "origin_not_allowed"
    default_hint = (
        "Add the page's exact origin to daemon.cors_allowed_origins and set daemon.cors_enabled = true."
    )


class NotFound(TvctlError):
    code = "not_found"
    status = 404
    default_hint = "Check the path against docs/api.md."


class RouteNotFound(NotFound):
    code = "route_not_found"
    default_hint = "Every endpoint is under /v1; see /v1/openapi.json."


class DeviceNotFound(NotFound):
    code = "device_not_found"
    default_hint = "Run tvctl device list to see known devices."


class NoDefaultDevice(NotFound):
    code = "no_default_device"
    default_hint = "Name a device, or set one: tvctl config set daemon.default_device <name>."


class AppNotFound(NotFound):
    code = "app_not_found"
    default_hint = "Run tvctl apps list (or tvctl apps refresh) to see installed apps."


class GroupNotFound(NotFound):
    code = "group_not_found"
    default_hint = "Run tvctl group list to see the groups."


class SessionNotFound(NotFound):
    code = "session_not_found"
    default_hint = "Run tvctl sessions to see the sessions running now."


class MethodNotAllowed(TvctlError):
    code = "method_not_allowed"
    status = 405
    default_hint = "Check the method for this path in docs/api.md."


class PayloadTooLarge(TvctlError):
    code = "payload_too_large"
    status = 413
    default_hint = "Send a smaller body (JSON bodies are limited by daemon.max_body_kb)."


class UnsupportedMediaType(TvctlError):
    code = "unsupported_media_type"
    status = 415
    default_hint = "Send the body with Content-Type: application/json."


class TooManyAttempts(TvctlError):
    code = "too_many_attempts"
    status = 429
    default_hint = "Wait the seconds the Retry-After header gives, then send the right daemon.api_token."


class DeviceError(TvctlError):
    code = "device_error"
    status = 500
    default_hint = "Check that the TV is on and on the network."


class DeviceUnreachable(DeviceError):
    code = "device_unreachable"
    default_hint = "Check that the TV is powered and on the same network (tvctl device discover)."


class DeviceTimeout(DeviceError):
    code = "device_timeout"
    default_hint = "The TV did not answer in time; it may be waking up. Try again in a few seconds."


class DeviceBadResponse(DeviceError):
    code = "device_bad_response"
    default_hint = "The device sent something tvctl cannot read; run the daemon with --verbose and report it."


class DeviceForbidden(DeviceError):
    code = "device_forbidden"
    default_hint = "The device refused; check the settings on the device that allow control over the network."


class DeviceAuthFailed(DeviceError):
    code = "device_auth_failed"
    default_hint = "Check the credentials kept for the device: PATCH /v1/devices/{id} {\"credentials\": {…}}."


class DeviceTlsChanged(DeviceError):
    code = "device_tls_changed"
    default_hint = "If the device's certificate was replaced on purpose, accept the new one (tvctl device trust)."


class NoVideo(DeviceError):
    code = "no_video"
    default_hint = "Check that the target computer is on and its HDMI cable is plugged into the KVM."


class DevInstallFailed(DeviceError):
    code = "dev_install_failed"
    default_hint = "Read the device's messages in details.messages, or tvctl dev logs for compile errors."


class DeviceBusy(DeviceError):
    code = "device_busy"
    status = 503
    default_hint = ("Earlier commands to this device are still running (a slow device, or a long sequence); "
                    "try again when they are done.")


def all_error_classes() -> list[type[TvctlError]]:
    """Every class of the tree, base first (used by docs and tests)."""
    out: list[type[TvctlError]] = [TvctlError]
    stack = list(TvctlError.__subclasses__())
    while stack:
        cls = stack.pop(0)
        out.append(cls)
        stack.extend(cls.__subclasses__())
    return out


def error_for_code(code: str) -> type[TvctlError]:
    """The class that owns ``code`` (the CLI maps envelope codes back with this)."""
    for cls in all_error_classes():
        if cls.code == code:
            return cls
    return TvctlError
