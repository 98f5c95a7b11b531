"""The CLI as a new user meets it: errors reported as what they are, timeouts sized to the request,
values typed by the daemon's schema, progress only on a terminal, help, completion and output for
people. Every test runs the real ``tvctl`` command against the real daemon."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Daemon
from tests.fakeroku import FakeRoku
from tests.helpers import wait_for
from tests.test_cli import TVCTL, run


# -- errors are what they are -----------------------------------------------------------------------
def big_zip(path: Path, size: int) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("manifest", "title=big\n")
        zf.writestr("blob.bin", bytes(size))
    return path


@pytest.mark.parametrize("size", [122, 3 << 20])
def test_a_refused_upload_reports_the_daemons_answer(daemon: Daemon, roku: FakeRoku, tmp_path: Path,
                                                     size: int) -> None:
    """The daemon refuses before reading the upload and closes; the CLI must show why, every time."""
    daemon.add(roku)
    z = big_zip(tmp_path / "channel.zip", size)
    for _ in range(8):
        p = run(daemon, "dev", "install", str(z))
        assert (p.returncode, p.stderr.splitlines()[0]) == (1, f"tvctl: No developer password is set for "
                                                               f"{roku_name(daemon)}; its installer needs one."), \
            p.stderr
        p = run(daemon, "-d", "no-such-tv", "dev", "install", str(z))
        assert p.returncode == 1 and "No known device matched 'no-such-tv'" in p.stderr, p.stderr
        assert "cannot reach" not in p.stderr


def roku_name(d: Daemon) -> str:
    return str(d.ok("GET", "/v1/devices")[0]["name"])


def test_a_slow_answer_is_a_timeout_not_a_dead_daemon(daemon: Daemon, roku: FakeRoku) -> None:
    daemon.add(roku)
    daemon.ok("PATCH", "/v1/config", json={"roku.request_timeout_s": 30})
    roku.mode = "hang"
    p = run(daemon, "--timeout", "1", "key", "home")
    assert p.returncode == 1, p.stderr
    assert p.stderr.splitlines() == [
        "tvctl: the daemon did not answer within 1 s; the command may still be running",
        "hint: the daemon is running and may finish it: watch tvctl events, or check tvctl state"]
    p = run(daemon, "--json", "--timeout", "1", "key", "home")
    assert json.loads(p.stderr)["code"] == "daemon_timeout"


def test_timeouts_are_sized_to_the_request() -> None:
    from tvctl.cli import build_parser, timeout_for

    def t(*argv: str) -> float | None:
        return timeout_for(build_parser().parse_args(list(argv)))

    assert t("seq", *["right"] * 14, "--delay", "10000") >= 14 * 10 + 60  # type: ignore[operator]
    assert t("power", "on") >= 120 + 60  # type: ignore[operator]
    assert t("key", "home") < t("key", "home", "--repeat", "20", "--hold", "2000")  # type: ignore[operator]
    assert t("events") is None and t("dev", "logs", "-f") is None


def test_json_errors_are_json_on_stderr(daemon: Daemon, tmp_path: Path) -> None:
    p = run(daemon, "--json", "-d", "nope", "state")
    assert p.returncode == 1 and p.stdout == ""
    err = json.loads(p.stderr)
    assert err["code"] == "device_not_found" and "nope" in err["message"] and err["hint"]
    p = run(None, "--json", "--socket", str(tmp_path / "none.sock"), "status")
    assert p.returncode == 3 and json.loads(p.stderr)["code"] == "daemon_unreachable"
    p = run(daemon, "--json", "apps", "launch", "x", "--param", "contentId")
    assert p.returncode == 2 and json.loads(p.stderr)["code"] == "usage"


# -- config values typed by the daemon's schema --------------------------------------------------------
def test_config_set_converts_by_the_declared_type(daemon: Daemon) -> None:
    p = run(daemon, "config", "set", "roku.dev_password", "--stdin", env=None, timeout=30)
    assert p.returncode == 2  # stdin is empty: no value
    p = subprocess_run_with_stdin(daemon, "1234\n", "config", "set", "roku.dev_password", "--stdin")
    assert p.returncode == 0, p.stderr
    assert "1234" not in p.stdout + p.stderr
    assert daemon.ok("GET", "/v1/config")["roku"]["dev_password"] == "***"
    # a list key: repeated and comma-separated values, each one checked as an origin
    p = run(daemon, "config", "set", "daemon.cors_allowed_origins", "http://127.0.0.1:8080,https://ha.lan",
            "http://10.0.0.2:3000", "daemon.cors_enabled", "yes", "state.poll_interval_s", "2")
    assert p.returncode == 0, p.stderr
    cfg = daemon.ok("GET", "/v1/config")
    assert cfg["daemon"]["cors_allowed_origins"] == ["http://127.0.0.1:8080", "https://ha.lan", "http://10.0.0.2:3000"]
    assert cfg["daemon"]["cors_enabled"] is True and cfg["state"]["poll_interval_s"] == 2.0
    for bad in ("http://127.0.0.1:8080/path", "*", "http://user@host", "HTTP://HOST", "http://h?x"):
        p = run(daemon, "config", "set", "daemon.cors_allowed_origins", bad)
        assert p.returncode == 1 and "is not an exact origin" in p.stderr, (bad, p.stderr)
    p = run(daemon, "config", "set", "daemon.cors_enabled", "maybe")
    assert p.returncode == 2 and "takes true or false" in p.stderr
    p = run(daemon, "config", "set", "daemon.http_port", "80.5")
    assert p.returncode == 2 and "takes an integer" in p.stderr
    p = run(daemon, "config", "set", "daemon.default_device", "a", "b")
    assert p.returncode == 2 and "takes one string value, got 2" in p.stderr
    # a string that looks like a number stays a string
    assert run(daemon, "config", "set", "daemon.default_device", "1234").returncode == 0
    assert run(daemon, "config", "get", "daemon.default_device").stdout.strip() == '"1234"'
    assert run(daemon, "config", "get", "state.poll_interval_s").stdout.strip() == "2.0"
    assert run(daemon, "config", "show", "state").stdout.splitlines() == ["[state]", "poll_interval_s = 2.0"]
    assert run(daemon, "config", "reset", "state.poll_interval_s").returncode == 0
    assert run(daemon, "config", "get", "state.poll_interval_s").stdout.strip() == "10.0"
    assert run(daemon, "config", "get", "nope.key").returncode == 2
    assert run(daemon, "config").stdout.startswith("[daemon]")  # bare: show


def subprocess_run_with_stdin(d: Daemon, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_RUNTIME_DIR": str(d.runtime)}
    env.pop("TVCTL_SOCKET", None)
    return subprocess.run([TVCTL, *args], env=env, input=text, capture_output=True, text=True, timeout=30)


# -- the shape of the commands -----------------------------------------------------------------------
def test_version_bare_commands_and_the_device_as_a_word(daemon: Daemon, roku: FakeRoku) -> None:
    from tvctl import __version__

    p = run(None, "--version")
    assert (p.returncode, p.stdout.strip()) == (0, f"tvctl {__version__}")
    dev = daemon.add(roku)
    name = dev["name"]
    daemon.ok("POST", f"/v1/devices/{dev['id']}/apps/refresh", json={})
    assert run(daemon, "apps").stdout.splitlines()[0].split() == ["ID", "NAME", "PLATFORM", "ID", "TYPE"]
    assert run(daemon, "device").stdout.splitlines()[1].split()[0] == name
    assert run(daemon, "power").stdout.strip() == f"{name}: power on (PowerOn)"
    assert run(daemon, "state", name).stdout.splitlines()[0] == f"device   {name}"
    p = run(daemon, "-d", "other", "state", name)
    assert p.returncode == 2 and "two devices given" in p.stderr


@pytest.mark.parametrize("argv", [
    ["apps", "list", "extra"],
    ["apps", "stop", "netflix"],
    ["device", "list", "x"],
    ["device", "show", "a", "b"],
    ["dev", "reload", "x.zip"],
    ["apps", "launch", "netflix", "--param", "contentId"],
    ["tv", "channels", "5.1"],
    ["config", "reload", "now"],
])  # fmt: skip
def test_extra_arguments_are_errors(daemon: Daemon, roku: FakeRoku, argv: list[str]) -> None:
    daemon.add(roku)
    roku.clear()
    p = run(daemon, *argv)
    assert p.returncode == 2, (argv, p.stdout, p.stderr)
    assert p.stderr.startswith("tvctl: ") and "hint:" in p.stderr
    assert roku.paths() == []


def test_every_subcommand_has_help_and_examples() -> None:
    import argparse

    from tvctl.cli import SUBCOMMANDS, build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sp in sub.choices.items():
        if name.startswith("_"):
            continue
        for action in sp._actions:
            if action.help != argparse.SUPPRESS and not isinstance(action, argparse._HelpAction):
                assert action.help, (name, action.dest)
        p = run(None, name, "--help")
        assert p.returncode == 0
        examples = p.stdout.split("examples:\n", 1)
        assert len(examples) == 2 and examples[1].count("\n  ") + 1 >= 2, (name, p.stdout)
    assert set(SUBCOMMANDS) - {"_devices"} == set(sub.choices) - {"_devices"}
    out = run(None, "key", "--help").stdout
    for key in ("home", "volume-up", "input-hdmi4", "find-remote", "literal:TEXT"):
        assert key in out


# -- output for people ---------------------------------------------------------------------------------
def test_device_show_and_status_read_as_words(daemon: Daemon, roku: FakeRoku) -> None:
    dev = daemon.add(roku)
    out = run(daemon, "device", "show", dev["name"]).stdout
    assert "['" not in out and "True" not in out and "False" not in out and "None" not in out
    rows = dict(line.split(None, 1) for line in out.splitlines())
    assert rows["online"] == "yes"
    assert rows["capabilities"].startswith("keys, text, apps, state")
    assert re.fullmatch(r"\d\d:\d\d:\d\d \((just now|\d+ seconds? ago)\)", rows["last_seen"]), rows["last_seen"]
    status = run(daemon, "status").stdout
    assert re.search(r", up (\d+ seconds?|\d+ minutes?( \d+ seconds?)?)\n", status), status


def test_events_show_time_and_change_and_fail_when_the_daemon_goes(daemon: Daemon, roku: FakeRoku) -> None:
    env = {**os.environ, "XDG_RUNTIME_DIR": str(daemon.runtime)}
    proc = subprocess.Popen([TVCTL, "events"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: daemon.ok("GET", "/v1/daemon/status")["event_subscribers"] == 1, what="tvctl events")
        dev = daemon.add(roku)
        assert re.fullmatch(rf"\d\d:\d\d:\d\d {dev['name']} added", proc.stdout.readline().strip())  # type: ignore[union-attr]
        daemon.ok("POST", f"/v1/devices/{dev['id']}/remote/key", json={"key": "home"})
        daemon.stop()
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, (out, err)
    assert "the daemon closed the event stream" in err and "Traceback" not in err


# -- completion in real shells ---------------------------------------------------------------------------
def shell_env(d: Daemon) -> dict[str, str]:
    env = {**os.environ, "XDG_RUNTIME_DIR": str(d.runtime), "PATH": f"{Path(TVCTL).parent}:{os.environ['PATH']}"}
    env.pop("TVCTL_SOCKET", None)
    return env


def bash_complete(d: Daemon, line: str) -> list[str]:
    """What bash offers at the end of ``line`` with the script tvctl prints."""
    script = run(d, "completion", "bash").stdout
    probe = (f'{script}\nCOMP_LINE={shlex.quote(line)}; COMP_POINT=${{#COMP_LINE}}\n'
             'read -ra COMP_WORDS <<< "$COMP_LINE"\n'
             '[[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")\nCOMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n'
             '_python_argcomplete tvctl; printf "%s\\n" "${COMPREPLY[@]}"')
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, env=shell_env(d), timeout=30)
    return [w.strip() for w in out.stdout.splitlines() if w.strip()]


@pytest.fixture
def completing(daemon: Daemon, tmp_path: Path) -> Iterator[Daemon]:
    apps = (b'<?xml version="1.0" encoding="UTF-8" ?>\n<apps>\n<app id="837" type="appl" version="2">YouTube</app>\n'
            b'<app id="12" type="appl" version="4">Netflix</app>\n</apps>\n')
    roku = FakeRoku("tv", apps=apps).start()
    dev = daemon.add(roku)
    daemon.ok("PATCH", f"/v1/devices/{dev['id']}", json={"name": "living-room"})
    daemon.ok("POST", "/v1/devices/living-room/apps/refresh", json={})
    files = tmp_path / "files"
    (files / "sub").mkdir(parents=True)
    (files / "channel.zip").write_bytes(b"PK")
    (files / "notes.txt").write_text("x")
    daemon.tmp_files = files  # type: ignore[attr-defined]
    yield daemon
    roku.stop()


def test_bash_completes_from_the_parser_and_the_daemon(completing: Daemon) -> None:
    d = completing
    assert {"device", "apps", "search", "tv", "play", "dev", "config"} <= set(bash_complete(d, "tvctl "))
    assert bash_complete(d, "tvctl -d ") == ["living-room"]
    assert bash_complete(d, "tvctl --json -d liv") == ["living-room"]  # after global options
    assert bash_complete(d, "tvctl state ") == ["living-room"]
    assert set(bash_complete(d, "tvctl -d living-room apps launch ")) >= {"YouTube", "Netflix"}
    assert bash_complete(d, "tvctl apps launch Net") == ["Netflix"]
    assert bash_complete(d, "tvctl config get daemon.http_p") == ["daemon.http_port"]
    assert "roku.search_steps_file" in bash_complete(d, "tvctl config set roku.")
    assert bash_complete(d, "tvctl key volume-u") == ["volume-up"]
    assert bash_complete(d, "tvctl dev ") == ["install", "reload", "logs", "screenshot", "registry", "packages",
                                             "delete"]
    folder = str(d.tmp_files)  # type: ignore[attr-defined]
    assert sorted(bash_complete(d, f"tvctl dev install {folder}/")) == [f"{folder}/channel.zip", f"{folder}/sub/"]


def test_completion_is_quiet_without_the_daemon(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_RUNTIME_DIR": str(tmp_path), "PATH": f"{Path(TVCTL).parent}:{os.environ['PATH']}"}
    script = subprocess.run([TVCTL, "completion", "bash"], capture_output=True, text=True, env=env).stdout
    probe = (f'{script}\nCOMP_LINE="tvctl -d "; COMP_POINT=${{#COMP_LINE}}; COMP_WORDS=(tvctl -d ""); COMP_CWORD=2\n'
             '_python_argcomplete tvctl; echo "n=${#COMPREPLY[@]}"')
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, env=env, timeout=30)
    assert out.stdout.strip() == "n=0" and "Traceback" not in out.stderr


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed (.ci/run installs it)")
def test_fish_completes(completing: Daemon) -> None:
    d = completing
    script = run(d, "completion", "fish").stdout

    def fish(line: str) -> list[str]:
        out = subprocess.run(["fish", "--no-config", "-c", f"{script}\ncomplete --do-complete={shlex.quote(line)}"],
                             capture_output=True, text=True, env=shell_env(d), timeout=30)
        return [w.split("\t")[0] for w in out.stdout.splitlines()]

    assert fish("tvctl -d ") == ["living-room"]
    assert "Netflix" in fish("tvctl -d living-room apps launch ")
    assert fish("tvctl config get state.") == ["state.poll_interval_s"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed (.ci/run installs it)")
def test_zsh_loads_the_script_and_gets_answers(completing: Daemon) -> None:
    """zsh completes only inside its line editor; its script loads cleanly, and the answers it asks
    tvctl for (the same protocol, with _ARGCOMPLETE_SHELL=zsh) are right."""
    d = completing
    script = run(d, "completion", "zsh").stdout
    loaded = subprocess.run(["zsh", "-f", "-c", f"autoload -U compinit && compinit -u\n{script}\nprint ok"],
                            capture_output=True, text=True, env=shell_env(d), timeout=30)
    assert loaded.stdout.strip().endswith("ok") and loaded.stderr == "", loaded.stderr
    out_file = Path(str(d.tmp_files)) / "zsh-answers"  # type: ignore[attr-defined]
    line = "tvctl -d "
    env = {**shell_env(d), "_ARGCOMPLETE": "1", "_ARGCOMPLETE_SHELL": "zsh", "COMP_LINE": line,
           "COMP_POINT": str(len(line)), "_ARGCOMPLETE_STDOUT_FILENAME": str(out_file)}
    subprocess.run([TVCTL], env=env, capture_output=True, timeout=30)
    assert out_file.read_text().split("\n")[0].split(":")[0].strip() == "living-room"


# -- progress on long work ------------------------------------------------------------------------------
def test_seq_shows_progress_only_at_a_terminal(daemon: Daemon, roku: FakeRoku) -> None:
    from tests.test_cli import at_terminal

    daemon.add(roku)
    roku.clear()
    env = {**os.environ, "XDG_RUNTIME_DIR": str(daemon.runtime)}
    env.pop("TVCTL_SOCKET", None)
    code, shown = at_terminal([TVCTL, "seq", "up", "down", "left", "--delay", "0"], env)
    assert code == 0, shown
    assert b"pressed 1/3" in shown and b"pressed 3/3" in shown and b"sent 3 keys" in shown
    assert roku.paths() == ["/keypress/Up", "/keypress/Down", "/keypress/Left"]
    code, shown = at_terminal([TVCTL, "--json", "seq", "up", "--delay", "0"], env)
    assert code == 0 and b"pressed" not in shown and json.loads(shown)["sent"] == 1
    p = run(daemon, "seq", "up", "down", "--delay", "0")  # a pipe: the result only
    assert (p.stdout, p.stderr) == ("sent 2 keys\n", "")
    code, shown = at_terminal([TVCTL, "seq", "up", "jump", "--delay", "0"], env)  # refused before any key
    assert code == 1 and b"jump" in shown and b"pressed" not in shown
    code, shown = at_terminal([TVCTL, "power", "on"], env)
    assert code == 0 and b"powering on" in shown
    assert b"powering on" not in at_terminal([TVCTL, "--json", "power", "on"], env)[1]


def test_streamed_sequence_over_http(daemon: Daemon, roku: FakeRoku) -> None:
    dev = daemon.add(roku)
    with httpx.stream("POST", f"{daemon.url}/v1/devices/{dev['id']}/remote/sequence",
                      json={"keys": ["up", "down"], "delay_ms": 0}, headers={"Accept": "text/event-stream"},
                      timeout=30) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        text = "".join(r.iter_text())
    events = [(block.split("\n")[0], json.loads(block.split("\n")[1][5:]))
              for block in text.split("\n\n") if block.startswith("event:")]
    assert events == [("event: key", {"sent": 1, "total": 2}), ("event: key", {"sent": 2, "total": 2}),
                      ("event: done", {"ok": True, "data": {"device": dev["name"], "sent": 2, "delay_ms": 0}})]
    r2 = daemon.http("POST", f"/v1/devices/{dev['id']}/remote/sequence", json={"keys": ["jump"]},
                     headers={"Accept": "text/event-stream"})
    assert r2.status_code == 400 and r2.json()["error"]["code"] == "invalid_key"
