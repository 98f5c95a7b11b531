"""Failures only Roku devices have. Each is a subclass of the core error group it belongs to, so
the API maps it to a status and the CLI to an exit code like any other."""

from __future__ import annotations

from tvctl.errors import BadRequest, DeviceError

SETTING = "Settings > System > Advanced system settings > Control by mobile apps > Network access"


class EcpLimitedMode(DeviceError):
    """Plain ECP refused by the device's access setting (Limited or Disabled), or an operation that
    only plain ECP carries asked of a device in such a mode."""

    code = "ecp_limited_mode"
    default_hint = (
        f"On the Roku: {SETTING}, set it to Enabled (or Permissive)."
    )

    @property
    def mode(self) -> str:
        """The access mode the refusal shows: limited or disabled."""
        return str((self.details or {}).get("mode", "limited"))


class EcpSessionRefused(DeviceError):
    """The authenticated ecp-2 session could not be opened: the device refused the handshake."""

    code = "ecp_session_refused"
    default_hint = (
        f"The Roku refused tvctl's mobile-app session (a firmware update may have changed it). On the Roku: "
        f"{SETTING}, set it to Enabled; tvctl then controls it over plain ECP."
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
