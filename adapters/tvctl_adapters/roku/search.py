"""In-app search steps: data (search_steps.toml and the user's own file), read and checked here.

Nothing about a particular app is code: each app's way to its search box is a list of steps in a
TOML file. The built-in file ships with the package; ``roku.search_steps_file`` names a file whose
apps replace the built-in ones app by app. A file is read when a search needs it and checked as a
whole, so a mistake is reported with the step and the file, before any key is sent.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from tvctl.errors import BadRequest
from tvctl.keys import Key, parse_key

BUILT_IN = Path(__file__).with_name("search_steps.toml")
WAIT_RE = re.compile(r"wait:(\d{1,6})")
MAX_WAIT_MS = 60_000
MAX_STEPS = 100


@dataclass(frozen=True, slots=True)
class Step:
    kind: str  # key | type | wait
    key: Key | None = None
    wait_ms: int = 0


@dataclass(frozen=True, slots=True)
class AppSteps:
    app_id: str
    name: str
    steps: tuple[Step, ...]

    @property
    def keys(self) -> int:
        """How many key steps there are (typing counts as one)."""
        return sum(1 for s in self.steps if s.kind != "wait")


def _problem(where: Path, msg: str) -> BadRequest:
    return BadRequest(f"In-app search steps in {where}: {msg}",
                      hint="Each app is [apps.<id>] with steps = [...]: key names, \"type\" or \"wait:MS\".")


def parse_steps(text: str, where: Path) -> dict[str, AppSteps]:
    """The apps of one steps file, checked; raises BadRequest naming the first mistake."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _problem(where, f"not valid TOML ({exc}).") from exc
    apps = doc.get("apps", {})
    if not isinstance(apps, dict):
        raise _problem(where, "'apps' must be a table of [apps.<id>] tables.")
    out: dict[str, AppSteps] = {}
    for app_id, entry in apps.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("steps"), list):
            raise _problem(where, f"[apps.{app_id}] needs a list 'steps'.")
        raw_steps = entry["steps"]
        if not 0 < len(raw_steps) <= MAX_STEPS:
            raise _problem(where, f"[apps.{app_id}] must have 1 to {MAX_STEPS} steps.")
        steps: list[Step] = []
        for i, raw in enumerate(raw_steps, 1):
            if not isinstance(raw, str):
                raise _problem(where, f"[apps.{app_id}] step {i} is not a string.")
            wait = WAIT_RE.fullmatch(raw)
            if wait:
                ms = int(wait.group(1))
                if ms > MAX_WAIT_MS:
                    raise _problem(where, f"[apps.{app_id}] step {i} waits longer than {MAX_WAIT_MS} ms.")
                steps.append(Step("wait", wait_ms=ms))
            elif raw == "type":
                steps.append(Step("type"))
            else:
                try:
                    key = parse_key(raw)
                except BadRequest as exc:
                    raise _problem(where, f"[apps.{app_id}] step {i}: {exc.message}") from exc
                if key.name == "literal":
                    raise _problem(where, f"[apps.{app_id}] step {i}: use \"type\" for the keyword, not literal:.")
                steps.append(Step("key", key=key))
        if not any(s.kind == "type" for s in steps):
            raise _problem(where, f"[apps.{app_id}] never types the keyword (no \"type\" step).")
        out[str(app_id)] = AppSteps(str(app_id), str(entry.get("name", app_id)), tuple(steps))
    return out


def load_steps(user_file: str) -> dict[str, AppSteps]:
    """The built-in steps, with the user's file (when named) laid over them app by app."""
    steps = parse_steps(BUILT_IN.read_text("utf-8"), BUILT_IN)
    if user_file:
        path = Path(user_file).expanduser()
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise BadRequest(f"Cannot read roku.search_steps_file {path}: {exc.strerror}.",
                             hint="Fix the path, or set roku.search_steps_file to \"\" for the built-in steps.") \
                from exc
        steps |= parse_steps(text, path)
    return steps
