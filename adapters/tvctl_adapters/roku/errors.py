"""Failures only Roku devices have. Each is a subclass of the core error group it belongs to, so
the API maps it to a status and the CLI to an exit code like any other."""

from __future__ import annotations

from tvctl.errors import BadRequest, DeviceError

SETTING = "Settings > System > Advanced system settings > Control by mobile apps > Network access"


class EcpLimitedMode(DeviceError):
    code = "ecp_limited_mode"
    default_hint = (
        f"On the Roku: {SETTING}, set it to Enabled (or Permissive)."
    )


class DevPasswordMissing(BadRequest):
    code = "dev_password_missing"
    default_hint = "Set it: tvctl device credentials NAME --set dev_password (or roku.dev_password in the config)."


class DevModeDisabled(DeviceError):
    code = "dev_mode_disabled"
    default_hint = (
        "Enable developer mode on the Roku: press Home 3x, Up 2x, Right, Left, Right, Left, Right "
        "on the remote and enable the installer."
    )


class DevAuthFailed(DeviceError):
    code = "dev_auth_failed"
    default_hint = ("Set the right password: tvctl device credentials NAME --set dev_password "
                    "(or roku.dev_password in the config).")


class DevConsoleBusy(DeviceError):
    code = "dev_console_busy"
    default_hint = "Another program (an IDE or telnet) holds the Roku console on port 8085; close it."


class DevNotKeyed(DeviceError):
    code = "dev_not_keyed"
    default_hint = ("The Roku has no developer key yet: package a channel once in its installer's Packager "
                    "(Utilities > Packager) or rekey it, then try again.")
