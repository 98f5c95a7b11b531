"""Where tvctl keeps its files: XDG directories, with systemd's directory variables winning.

Stdlib only. pathlib and tempfile are imported inside the functions that need them: the CLI
imports this module for the socket path, and every millisecond of its start-up counts.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any, TypeVar

    T = TypeVar("T")

APP = "tvctl"


def _env_dir(systemd_var: str, xdg_var: str, fallback: Path) -> Path:
    from pathlib import Path

    # systemd sets e.g. STATE_DIRECTORY to the unit's own directory (possibly a ':'-list).
    sd = os.environ.get(systemd_var)
    if sd:
        return Path(sd.split(":")[0])
    xdg = os.environ.get(xdg_var)
    base = Path(xdg) if xdg else fallback
    return base / APP


def config_file() -> Path:
    from pathlib import Path

    sd = os.environ.get("CONFIGURATION_DIRECTORY")
    if sd:
        return Path(sd.split(":")[0]) / "config.toml"
    return _env_dir("", "XDG_CONFIG_HOME", Path.home() / ".config") / "config.toml"


def state_dir() -> Path:
    from pathlib import Path

    return _env_dir("STATE_DIRECTORY", "XDG_STATE_HOME", Path.home() / ".local" / "state")


def cache_dir() -> Path:
    from pathlib import Path

    return _env_dir("CACHE_DIRECTORY", "XDG_CACHE_HOME", Path.home() / ".cache")


def default_socket_path() -> str:
    """``$XDG_RUNTIME_DIR/tvctl.sock``, else ``$RUNTIME_DIRECTORY``, else a per-user folder in /tmp.

    The daemon and the CLI both use this rule, so it must give the same answer in a login shell
    and in the systemd user unit: both have ``$XDG_RUNTIME_DIR``, and it comes first.
    (``tvctl.socket`` listens at ``%t/tvctl.sock``, the same place.)
    """
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return os.path.join(xdg, "tvctl.sock")
    sd = os.environ.get("RUNTIME_DIRECTORY")
    if sd:
        return os.path.join(sd.split(":")[0], "tvctl.sock")
    import tempfile

    return os.path.join(tempfile.gettempdir(), f"tvctl-{os.getuid()}", "tvctl.sock")


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` so that a crash at any point leaves either the old or the new file, and a
    failure (disk full, read-only, permissions) leaves the old one and raises StorageFailed.

    Temp file in the same directory (named like ``TEMP_GLOB``), fsync, rename over, fsync the
    directory. Once the rename is done the write has happened: a failing directory fsync after it
    is not reported as a failed write.
    """
    import tempfile
    from pathlib import Path

    from tvctl.errors import StorageFailed

    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).replace(path)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise StorageFailed(f"Cannot write {path}: {exc.strerror or exc}.") from exc
    except BaseException:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def read_json_file(path: Path, what: str, parse: Callable[[Any], T], *, version: int | None = None) -> T | None:
    """``parse`` of the JSON file at ``path`` (blocking); None when there is none. A file that
    is not what ``parse`` expects (or, with ``version``, whose ``"version"`` is another) is moved
    aside (``<name>.corrupt-<time>``, or ``<name>.version-<found>-<time>``; logged) and None
    returned, so the daemon starts empty rather than not at all, and the original is kept for
    whoever can read it. StorageFailed when it cannot be read, or cannot be moved aside."""
    import json
    import logging

    from tvctl.errors import StorageFailed

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StorageFailed(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    try:
        doc = json.loads(raw)
        if version is not None:
            found = doc.get("version") if isinstance(doc, dict) else None
            if found is None or isinstance(found, bool) or not isinstance(found, int):
                raise ValueError('it has no "version" number')
            if found != version:
                aside = _move_aside(path, f"version-{found}", what,
                                    f"is version {found} (this daemon reads {version})")
                logging.getLogger(__name__).warning(
                    "%s %s is version %d; this daemon reads version %d. Moved it to %s (kept as it was) and "
                    "started empty; a tvctl that reads version %d can use it again", what, path, found, version,
                    aside, found)
                return None
        return parse(doc)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        # RecursionError: JSON nested deeper than Python's stack (a hostile or broken file)
        reason = "it is nested too deeply to read" if isinstance(exc, RecursionError) else str(exc)
        aside = _move_aside(path, "corrupt", what, f"is corrupt ({reason})")
        logging.getLogger(__name__).warning("%s %s is corrupt (%s); moved it to %s and started empty",
                                            what, path, reason, aside)
        return None


def _move_aside(path: Path, tag: str, what: str, problem: str) -> Path:
    """Rename ``path`` to ``<name>.<tag>-<time>`` (a free name: an earlier one is never replaced)."""
    import time

    from tvctl.errors import StorageFailed

    stamp = int(time.time())
    aside = path.with_name(f"{path.name}.{tag}-{stamp}")
    n = 1
    while aside.exists():
        aside = path.with_name(f"{path.name}.{tag}-{stamp}-{n}")
        n += 1
    try:
        path.replace(aside)
    except OSError as move_exc:
        raise StorageFailed(f"{what} {path} {problem} and cannot be moved aside "
                            f"({move_exc.strerror or move_exc}); fix or remove it") from move_exc
    return aside


# What atomic_write's temp files are called; a crash mid-write leaves one behind.
TEMP_GLOB = ".*.tmp"


def remove_temp_files(folder: Path) -> int:
    """Delete the temp files of interrupted atomic writes under ``folder``; how many there were."""
    import re

    pattern = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")  # mkstemp's 8 random characters
    removed = 0
    if folder.is_dir():
        for p in folder.rglob(TEMP_GLOB):
            if pattern.match(p.name) and p.is_file():
                try:
                    p.unlink()
                    removed += 1
                except OSError:
                    pass
    return removed
