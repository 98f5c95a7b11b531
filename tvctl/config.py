"""Config schema, loading, validation, dotted-key patching and atomic rewrite.

``Settings`` is inert data (a validated flat mapping of dotted keys); the daemon owns what runs.
The file is kept as a tomlkit document so that a PATCH rewrites it with the user's comments and
layout intact. Every key is validated against ``schema()`` before anything touches the disk:
the core's own sections (``CORE_SCHEMA``) and one section per installed platform, which each
platform declares (``Adapter.settings``).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Literal

import tomlkit
import tomlkit.exceptions

from tvctl.errors import ConfigFileInvalid, InvalidConfigValue, UnknownConfigKey
from tvctl.fields import (
    Field,
    S,
    Section,
    build_section,
    fields_of,
    host_port,
    ipv4_address,
    ipv4_list,
    origins,
    setting,
)
from tvctl.paths import atomic_write
from tvctl.results import ConfigKey

_LOGGER = logging.getLogger(__name__)
REDACTED = "***"


@dataclass(frozen=True, slots=True)
class DaemonSettings(Section):
    name: ClassVar[str] = "daemon"
    http_enabled: bool = setting(True, "Serve the API on loopback TCP as well as the Unix socket.", restart=True)
    http_host: str = setting("127.0.0.1", "Address of the TCP listener.", restart=True, check=ipv4_address)
    http_port: int = setting(7272, "Port of the TCP listener (0 picks a free one).", restart=True, min=0, max=65535)
    socket_path: str = setting("", "Unix socket path; empty means $XDG_RUNTIME_DIR/tvctl.sock.", restart=True)
    default_device: str = setting("", "Device used when a request names 'default' (name or id).")
    cors_enabled: bool = setting(False, "Answer CORS requests from the origins below.")
    cors_allowed_origins: tuple[str, ...] = setting([], "Exact origins allowed to call the API from a browser.",
                                                    check=origins)
    allowed_hosts: tuple[str, ...] = setting([], "Extra Host names accepted on TCP besides 127.0.0.1/localhost.")
    api_token: str = setting("", "If set, TCP requests need Authorization: Bearer <token>.", secret=True)
    queue_wait_s: float = setting(10.0, "How long a device command may wait behind earlier commands to the same "
                                  "device; after that it is refused unsent (device_busy).", min=0.1, max=600)
    max_body_kb: int = setting(64, "Largest JSON request body, in KiB.", min=1, max=10240)
    header_timeout_s: float = setting(10.0, "A connection whose request line and headers have not all arrived this "
                                      "many seconds after it opened (or after its next request began) is closed.",
                                      min=0.2, max=300)
    session_lifetime_s: int = setting(604800, "How long a web remote session cookie is taken, in seconds "
                                      "(604800: a week).", min=1, max=31_536_000)
    auth_fail_limit: int = setting(20, "Wrong API tokens (Bearer or web sign-in) in a row, each within "
                                   "auth_fail_window_s of the one before, after which token checks are refused "
                                   "(too_many_attempts, 429) for auth_fail_window_s.", min=1, max=100_000)
    auth_fail_window_s: float = setting(60.0, "See auth_fail_limit, in seconds.", min=0.1, max=3600)
    group_parallel: int = setting(32, "How many members of a group an action drives at once (the others wait "
                                  "for a free slot; each member's own queue still applies).", min=1, max=256)


@dataclass(frozen=True, slots=True)
class DiscoverySettings(Section):
    name: ClassVar[str] = "discovery"
    enabled: bool = setting(True, "Run discovery at start and every interval_s.")
    interval_s: int = setting(300, "Seconds between background discovery runs (0: only at start).", min=0, max=86400)
    timeout_ms: int = setting(2000, "How long one discovery run listens for answers; devices are asked to answer "
                              "within it (SSDP MX), so at least 1500.", min=1500, max=30000)
    interfaces: tuple[str, ...] = setting([], "IPv4 addresses to search from; empty means every non-loopback one.",
                                          check=ipv4_list)
    ssdp_target: str = setting("239.255.255.250:1900", "Where M-SEARCH is sent (HOST:PORT).", check=host_port)
    ssdp_listen: str = setting("0.0.0.0:1900", "Where to listen for NOTIFY announcements (HOST:PORT); empty "
                               "disables.", restart=True, check=lambda v: None if v == "" else host_port(v))
    mdns_enabled: bool = setting(True, "Listen for mDNS announcements as a second source.", restart=True)


@dataclass(frozen=True, slots=True)
class StateSettings(Section):
    name: ClassVar[str] = "state"
    poll_interval_s: float = setting(10.0, "Seconds between state polls while a client listens to events.",
                                     min=0.2, max=3600)


@dataclass(frozen=True, slots=True)
class DevSettings(Section):
    name: ClassVar[str] = "dev"
    max_archive_mb: int = setting(64, "Largest channel zip accepted for sideloading, in MiB.", min=1, max=1024)
    log_buffer_lines: int = setting(2000, "Dev console lines kept per device.", min=10, max=1_000_000)


def _broker_url(value: str) -> str | None:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return f"{value!r} is not a broker URL like mqtt://10.0.0.2:1883"
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.fragment or port == 0:
        return f"{value!r} is not a broker URL like mqtt://10.0.0.2:1883 or mqtts://broker.lan:8883"
    if parts.username is not None or parts.password is not None:
        return "keep the user and password out of the URL: set mqtt.username and mqtt.password"
    return None


def _topic_part(value: str) -> str | None:
    if not value or any(c in value for c in "+#\0") or value.startswith("/") or value.endswith("/") \
            or "//" in value or any(c.isspace() for c in value):
        return f"{value!r} is not a topic prefix (no +, #, spaces, empty levels or leading/trailing /)"
    return None


def _node_id(value: str) -> str | None:
    import re

    if value and not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,62}", value):
        return f"{value!r} is not a node id (lower-case letters, digits, _ and -; at most 63)"
    return None


@dataclass(frozen=True, slots=True)
class MqttSettings(Section):
    """The MQTT bridge (tvctl.mqtt): Home Assistant discovery, state and commands on a broker."""

    name: ClassVar[str] = "mqtt"
    enabled: bool = setting(False, "Connect to the broker below and publish the devices there.")
    url: str = setting("mqtt://127.0.0.1:1883", "The broker: mqtt://HOST[:PORT] (1883) or mqtts://HOST[:PORT] "
                       "(8883, TLS).", check=_broker_url)
    username: str = setting("", "User name at the broker (empty: none).")
    password: str = setting("", "Password at the broker.", secret=True)
    base_topic: str = setting("tvctl", "First level of every topic tvctl publishes.", check=_topic_part)
    node_id: str = setting("", "This daemon's name on the broker, telling sites apart (empty: from the host "
                           "name).", check=_node_id)
    discovery_prefix: str = setting("homeassistant", "Home Assistant's discovery prefix (its MQTT integration's "
                                    "setting).", check=_topic_part)
    discovery: bool = setting(True, "Publish Home Assistant discovery messages.")
    ca_file: str = setting("", "mqtts: the CA certificate (PEM) to check the broker's against (empty: the "
                           "system's).")
    client_cert: str = setting("", "mqtts: a client certificate (PEM) to present, where the broker asks for one.")
    client_key: str = setting("", "mqtts: the client certificate's key (PEM; empty: in client_cert).")
    keepalive_s: int = setting(30, "MQTT keepalive, in seconds: how soon the broker notices the daemon is gone.",
                               min=5, max=3600)


CORE_SECTIONS: tuple[type[Section], ...] = (DaemonSettings, DiscoverySettings, StateSettings, DevSettings,
                                            MqttSettings)
CORE_SCHEMA: dict[str, Field] = {f"{sec.name}.{key}": f for sec in CORE_SECTIONS for key, f in fields_of(sec).items()}


@functools.cache
def schema() -> dict[str, Field]:
    """Every config key: the core's and each installed platform's section."""
    from tvctl.plugins import installed

    out = dict(CORE_SCHEMA)
    for cls in installed().values():
        if cls.settings is not None:
            out.update({f"{cls.platform}.{name}": f for name, f in fields_of(cls.settings).items()})
    return out


@functools.cache
def renamed_keys() -> dict[str, str]:
    """Old dotted key -> its new name, for config files written before a key moved."""
    from tvctl.plugins import installed

    return {old: new for cls in installed().values() for old, new in cls.renamed_settings.items()}


def describe() -> list[ConfigKey]:
    """Every key of the schema, typed, for clients (GET /v1/config/schema)."""
    names: dict[type, Literal["boolean", "integer", "number", "string", "list"]] = {
        bool: "boolean", int: "integer", float: "number", str: "string", list: "list"}
    return [ConfigKey(key=key, type=names[f.type],
                      default=list(f.default) if isinstance(f.default, tuple | list) else f.default,
                      about=f.doc, secret=f.secret, restart=f.restart, min=f.min, max=f.max)
            for key, f in sorted(schema().items())]


def _type_name(t: type) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "list of strings"}[t]


def unknown_key_hint(key: str) -> str:
    """The keys most like ``key`` (a slip of the keyboard, a key under the wrong section), else all of them."""
    import difflib

    keys = sorted(schema())
    name = key.rpartition(".")[2]
    near = [k for k in keys if k.rpartition(".")[2] == name]  # the right name in another section
    near = near or difflib.get_close_matches(key, keys, n=3, cutoff=0.8)
    if near:
        return "Did you mean " + " or ".join(near) + "? (tvctl config show lists every key.)"
    return "Valid keys: " + ", ".join(keys)


def coerce(key: str, value: Any) -> Any:
    """Validate one value for ``key``; return it in canonical form or raise."""
    field = schema().get(key)
    if field is None:
        raise UnknownConfigKey(f"Unknown config key {key!r}.", hint=unknown_key_hint(key))
    if value is None:
        return field.default
    want = field.type
    hint = f"{key} takes a {_type_name(want)}; default {field.default!r}."
    ok = True
    if want is bool:
        ok = isinstance(value, bool)
    elif want is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif want is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok:
            value = float(value)
    elif want is str:
        ok = isinstance(value, str)
    elif want is list:
        if isinstance(value, str):  # one string for a list key is that one-item list
            value = [value] if value else []
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        if ok:
            value = list(value)
    shown = f"a {type(value).__name__}" if field.secret else repr(value)  # a secret's value is never echoed
    if not ok:
        raise InvalidConfigValue(f"Wrong type for {key}: got {shown}.", hint=hint)
    if (field.min is not None and value < field.min) or (field.max is not None and value > field.max):
        raise InvalidConfigValue(
            f"{key} = {shown} is out of range.", hint=f"{key} must be between {field.min:g} and {field.max:g}."
        )
    if field.check is not None:
        problem = field.check(value)
        if problem:
            raise InvalidConfigValue(f"Invalid value for {key}: {problem}.", hint=hint)
    return value


@dataclass(frozen=True, slots=True)
class Settings:
    """A validated, complete, read-only config (every key of ``schema()`` present), read as typed
    sections: ``settings.section(DaemonSettings).api_token``."""

    values: Mapping[str, Any]
    _sections: dict[type[Section], Section] = dataclass_field(default_factory=dict, compare=False, repr=False)

    def section(self, kind: type[S]) -> S:
        got = self._sections.get(kind)
        if got is None:
            got = self._sections[kind] = build_section(kind, self.values)
        assert isinstance(got, kind)
        return got

    @classmethod
    def defaults(cls) -> Settings:
        return cls(MappingProxyType({k: f.default for k, f in schema().items()}))

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def nested(self, *, redact: bool = True) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for key, value in self.values.items():
            section, name = key.split(".", 1)
            if redact and schema()[key].secret and value:
                value = REDACTED
            out.setdefault(section, {})[name] = list(value) if isinstance(value, list) else value
        return out

    def changed_keys(self, other: Settings) -> list[str]:
        return sorted(k for k in schema() if self.values[k] != other.values[k])


def _flatten(doc: Mapping[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for section, table in doc.items():
        if not isinstance(table, Mapping):
            raise UnknownConfigKey(
                f"Top-level key {section!r} is not a [section].", hint="Valid keys: " + ", ".join(sorted(schema()))
            )
        for name, value in table.items():
            key = f"{section}.{name}"
            new = renamed_keys().get(key)
            if new is not None:
                if new in flat:
                    continue  # the new name wins when both are there
                _LOGGER.info("config: %s is now called %s; read from the old name (tvctl config set %s … "
                             "moves it)", key, new, new)
                key = new
            flat[key] = value.unwrap() if hasattr(value, "unwrap") else value
    return flat


def settings_from_document(doc: Mapping[str, Any]) -> Settings:
    values = {k: f.default for k, f in schema().items()}
    for key, value in _flatten(doc).items():
        values[key] = coerce(key, value)
    return Settings(MappingProxyType(values))


def read_document(path: Path, *, allow_empty: bool = True) -> tomlkit.TOMLDocument:
    """Parse the config file (missing file: empty document). Errors name the line or key.

    The daemon refuses a 0-byte file (``allow_empty=False``), at start as at a reload: that is what
    an editor or a full disk leaves mid-save, and reading it as "all defaults" would drop the API
    token and the CORS origins without a word.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return tomlkit.document()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileInvalid(f"Cannot read config file {path}: {exc}.") from exc
    if not text and not allow_empty:
        raise ConfigFileInvalid(f"{path} is empty (0 bytes); the running config was kept.",
                                hint="Fix the file, or delete it to use the defaults, then reload.")
    try:
        return tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise ConfigFileInvalid(f"{path}: TOML syntax error at line {exc.line}, column {exc.col}: {exc}.") from exc
    except tomlkit.exceptions.TOMLKitError as exc:  # e.g. KeyAlreadyPresent: a key given twice
        raise ConfigFileInvalid(f"{path}: {exc}") from exc


def is_empty_file(path: Path) -> bool:
    """Whether ``path`` is a file of 0 bytes (a missing one is not: that means the defaults)."""
    try:
        return path.is_file() and path.stat().st_size == 0
    except OSError:
        return False


def load(path: Path, *, allow_empty: bool = True) -> tuple[tomlkit.TOMLDocument, Settings]:
    doc = read_document(path, allow_empty=allow_empty)
    try:
        return doc, settings_from_document(doc)
    except (UnknownConfigKey, InvalidConfigValue) as exc:
        raise ConfigFileInvalid(f"{path}: {exc.message}", hint=exc.hint) from exc


def validate_patch(patch: Mapping[str, Any]) -> dict[str, Any]:
    """Check every dotted key and value; returns canonical values (None means reset)."""
    out: dict[str, Any] = {}
    for key, value in patch.items():
        key = renamed_keys().get(key, key)
        if value is not None and not isinstance(value, str | int | float | bool | list):
            raise InvalidConfigValue(
                f"Value for {key} must be a string, number, boolean or null.", hint="Send flat dotted keys."
            )
        coerced = coerce(key, value)
        out[key] = None if value is None else coerced
    return out


def apply_patch(path: Path, patch: Mapping[str, Any]) -> Settings:
    """Apply a validated patch to the file on disk (comments kept), atomically. Blocking: run in a thread."""
    doc = read_document(path, allow_empty=False)
    moved = {new: old for old, new in renamed_keys().items()}
    for key, value in patch.items():
        if key in moved:  # setting a renamed key drops its old name from the file
            old_section, old_name = moved[key].split(".", 1)
            old_table = doc.get(old_section)
            if old_table is not None and old_name in old_table:
                del old_table[old_name]
        section, name = key.split(".", 1)
        table = doc.get(section)
        if value is None:
            if table is not None and name in table:
                del table[name]
            continue
        if table is None:
            table = tomlkit.table()
            doc[section] = table
        table[name] = value
    settings = settings_from_document(doc)
    atomic_write(path, tomlkit.dumps(doc).encode("utf-8"))
    return settings
