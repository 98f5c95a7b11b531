"""What the CLI tells a person: state in aligned rows, results that say what happened, progress and
banners on a terminal, flag bounds checked before sending, and near misses answered with the
closest names. Every test runs the real ``tvctl`` against the real daemon and fake devices; the
expected text is written out here."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Daemon
from tests.fakekvm import FakeTinyPilot
from tests.fakeroku import FakeRoku
from tests.fakesignage import FakeAdvantech
from tests.helpers import ctrl_c_as_at_a_terminal, wait_for
from tests.test_cli import TVCTL, at_terminal, run

ROOT = Path(__file__).resolve().parent.parent
ADD_ONE = "hint: Add one: tvctl device add <ip> (or tvctl device discover)"


def cli_env(d: Daemon) -> dict[str, str]:
    env = {**os.environ, "XDG_RUNTIME_DIR": str(d.runtime)}
    env.pop("TVCTL_SOCKET", None)
    return env


def columns(stdout: str) -> set[int]:
    """Where the value starts on each label/value row (one column when the labels are aligned)."""
    return {len(m.group()) for line in stdout.splitlines() if (m := re.match(r"\S+ +", line))}


# -- 12: no devices -------------------------------------------------------------------------------------
def test_with_no_devices_the_cli_says_to_add_one(daemon: Daemon) -> None:
    p = run(daemon, "state")
    assert p.returncode == 1
    assert p.stderr.splitlines() == ["tvctl: No device is known yet.", ADD_ONE]
    p = run(daemon, "-d", "ghost", "key", "home")
    assert p.returncode == 1
    assert p.stderr.splitlines() == ["tvctl: No known device matched 'ghost'.",
                                     "hint: No device is known yet. Add one: tvctl device add <ip> "
                                     "(or tvctl device discover)"]
    p = run(daemon, "--json", "state")
    assert json.loads(p.stderr) == {"code": "no_default_device", "message": "No device is known yet.",
                                    "hint": "Add one: tvctl device add <ip> (or tvctl device discover)"}


def test_with_several_devices_the_cli_says_to_pick_one(daemon: Daemon, roku: FakeRoku) -> None:
    stick = FakeRoku("stick").start()
    try:
        daemon.add(roku)
        daemon.add(stick)
        p = run(daemon, "state")
        assert p.returncode == 1
        assert p.stderr.splitlines() == [
            "tvctl: No default device is set and 2 devices are known.",
            "hint: Name a device, or set one: tvctl config set daemon.default_device <name>."]
    finally:
        stick.stop()


# -- 13: output ------------------------------------------------------------------------------------------
def test_state_shows_the_tuned_channel(daemon: Daemon, roku: FakeRoku) -> None:
    daemon.add(roku)
    assert run(daemon, "tv", "tune", "1.1").returncode == 0
    p = run(daemon, "state")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[:4] == ["device   58-onn-roku-tv",
                         "power    on (PowerOn)",
                         "app      Antenna TV [tv-input]",
                         "tv       1.1 WhatsOn — Airwolf"]
    assert columns(p.stdout) == {9}


def test_a_part_missing_in_standby_is_labelled_for_what_it_is(daemon: Daemon, roku: FakeRoku) -> None:
    daemon.add(roku)
    assert run(daemon, "power", "off").returncode == 0
    p = run(daemon, "state")
    assert p.returncode == 0, p.stderr
    assert "power    standby (Ready)" in p.stdout.splitlines()
    assert "media    unavailable: device is in standby" in p.stdout.splitlines()
    assert "n/a" not in p.stdout


def test_signage_state_reads_as_words_in_one_column(daemon: Daemon) -> None:
    agent = FakeAdvantech().start()
    try:
        daemon.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": agent.port, "platform": "advantech",
                                               "credentials": {"username": "signage", "password": "p@ssw0rd-9"}})
        p = run(daemon, "state")
        assert p.returncode == 0, p.stderr
        assert columns(p.stdout) == {13}
        assert p.stdout.splitlines() == [
            "device       uno-2484g-673xa",
            "power        on",
            "hostname     UNO-2484G-673xA",
            "os           Microsoft Windows 10 Enterprise LTSC 2019",
            "uptime       9 d 20 h 36 min",
            "cpu          25 %",
            "memory       5.03 %",
            "temperatures CPU 50.1 Celsius",
            "fans         FAN0 1234.0 RPM",
            "displays     2",
            "agent        v1.8.1",
        ]
        assert run(daemon, "--json", "state").stdout.count('"uptime_s": 851779') == 1  # --json keeps the data
    finally:
        agent.stop()


def test_events_says_it_listens_at_a_terminal_only(daemon: Daemon, roku: FakeRoku) -> None:
    import pty

    primary, secondary = pty.openpty()
    proc = subprocess.Popen([TVCTL, "events"], env=cli_env(daemon), stdout=subprocess.PIPE, stderr=secondary,
                            text=True, preexec_fn=ctrl_c_as_at_a_terminal)
    os.close(secondary)
    try:
        shown = b""
        while b"\n" not in shown:
            ready, _, _ = select.select([primary], [], [], 30)
            assert ready, f"no banner on the terminal: {shown!r}"
            shown += os.read(primary, 1024)
        assert shown.decode().strip() == "listening for events from the tvctl daemon; Ctrl-C stops"
        daemon.add(roku)
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert re.fullmatch(r"\d\d:\d\d:\d\d 58-onn-roku-tv added", line.strip()), line  # stdout: events only
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
        os.close(primary)
    assert proc.returncode == 0
    piped = subprocess.Popen([TVCTL, "events"], env=cli_env(daemon), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, preexec_fn=ctrl_c_as_at_a_terminal)
    try:
        wait_for(lambda: daemon.ok("GET", "/v1/daemon/status")["event_subscribers"] == 1, what="tvctl events")
    finally:
        piped.send_signal(signal.SIGINT)
        _out, err = piped.communicate(timeout=10)
    assert (piped.returncode, err) == (0, "")


def test_key_results_say_what_was_sent(daemon: Daemon, roku: FakeRoku) -> None:
    daemon.add(roku)
    roku.clear()
    assert run(daemon, "key", "home", "--repeat", "3").stdout == "sent home 3 times\n"
    assert run(daemon, "key", "right", "--hold", "100").stdout == "sent right (held 100 ms)\n"
    assert run(daemon, "key", "Volume_Up").stdout == "sent volume-up\n"
    assert run(daemon, "key", "literal:hi").stdout == "typed 2 characters\n"
    assert roku.paths() == ["/keypress/Home", "/keypress/Home", "/keypress/Home", "/keydown/Right", "/keyup/Right",
                            "/keypress/VolumeUp", "/keypress/Lit_h", "/keypress/Lit_i"]
    roku.clear()
    p = run(daemon, "key", "pause")  # nothing plays: the press would start it
    assert (p.returncode, p.stdout) == (0, "did not send pause: media is not playing (state close)\n")
    assert roku.paths() == []


def test_power_says_what_happened(daemon: Daemon, roku: FakeRoku) -> None:
    daemon.add(roku)
    daemon.ok("PATCH", "/v1/config", json={"roku.wol_port": roku.wol_port, "roku.wol_wait_s": 10})
    assert run(daemon, "power", "off").stdout == "power off: sent PowerOff\n"
    assert run(daemon, "power", "on").stdout == "power on: sent PowerOn\n"
    roku.mode = "asleep"  # off the network until a magic packet arrives
    p = run(daemon, "power", "on")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "power on: woke it with Wake-on-LAN (to d8:13:99:f8:b0:c6), then sent PowerOn\n"
    assert roku.power_mode == "PowerOn"


def test_empty_dev_logs_print_no_blank_line(devbox: tuple[Daemon, FakeRoku, dict[str, Any]]) -> None:
    daemon, _roku, _device = devbox
    p = run(daemon, "dev", "logs")
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "(no log lines yet)\n")
    p = run(daemon, "--json", "dev", "logs")
    assert p.returncode == 0 and json.loads(p.stdout)["lines"] == [] and p.stderr == ""


def test_adding_a_known_device_says_so(daemon: Daemon, roku: FakeRoku) -> None:
    p = run(daemon, "device", "add", "127.0.0.1", "--port", str(roku.port))
    assert p.stdout == f'added 58-onn-roku-tv (58" Onn Roku TV, 7820X) at 127.0.0.1:{roku.port}\n'
    p = run(daemon, "device", "add", "127.0.0.1", "--port", str(roku.port))
    assert p.stdout == f'already known: 58-onn-roku-tv (58" Onn Roku TV, 7820X) at 127.0.0.1:{roku.port}\n'
    moved = FakeRoku("tv").start()  # the same TV (same serial) at another address
    try:
        p = run(daemon, "device", "add", "127.0.0.1", "--port", str(moved.port))
        assert p.stdout == (f'already known: 58-onn-roku-tv (58" Onn Roku TV, 7820X) at 127.0.0.1:{moved.port} '
                            f"(address updated from 127.0.0.1:{roku.port})\n")
    finally:
        moved.stop()
    assert len(daemon.ok("GET", "/v1/devices")) == 1


def test_search_shows_progress_at_a_terminal(daemon: Daemon, roku: FakeRoku) -> None:
    daemon.add(roku)
    daemon.ok("PATCH", "/v1/config", json={"roku.search_wait_s": 0.2})
    code, shown = at_terminal([TVCTL, "search", "star", "trek", "--strategy", "browse"], cli_env(daemon))
    assert code == 0, shown
    assert b"searching for 'star trek'" in shown and b"searched for 'star trek' (browse)" in shown
    p = run(daemon, "search", "star", "trek", "--strategy", "browse")  # a pipe: the result only
    assert p.returncode == 0 and p.stderr == "" and p.stdout.startswith("searched for 'star trek'")


@pytest.mark.parametrize(("argv", "says"), [
    (["seq", "home", "--delay", "20000"], "tvctl: --delay must be at most 10000 ms (got 20000)"),
    (["seq", "home", "--delay", "-1"], "tvctl: --delay must be at least 0 ms (got -1)"),
    (["seq", "home", "--delay", "soon"], "tvctl: --delay must be a whole number of ms, not 'soon'"),
    (["seq", *["up"] * 101], "tvctl: a sequence holds at most 100 keys (got 101)"),
    (["key", "home", "--hold", "10001"], "tvctl: --hold must be at most 10000 ms (got 10001)"),
    (["key", "home", "--repeat", "51"], "tvctl: --repeat must be at most 50 (got 51)"),
    (["key", "home", "--repeat", "0"], "tvctl: --repeat must be at least 1 (got 0)"),
    (["search", "x", "--season", "0"], "tvctl: --season must be at least 1 (got 0)"),
    (["screenshot", "--display", "64"], "tvctl: --display must be at most 63 (got 64)"),
    (["dev", "logs", "--lines", "0"], "tvctl: --lines must be at least 1 (got 0)"),
    (["device", "add", "127.0.0.1", "--port", "70000"], "tvctl: --port must be at most 65535 (got 70000)"),
])  # fmt: skip
def test_flag_bounds_are_usage_errors_before_sending(daemon: Daemon, roku: FakeRoku, argv: list[str],
                                                     says: str) -> None:
    daemon.add(roku)
    roku.clear()
    p = run(daemon, *argv)
    assert p.returncode == 2, (p.stdout, p.stderr)
    lines = p.stderr.splitlines()
    assert lines[0] == says and lines[1].startswith("hint: "), p.stderr
    assert "openapi" not in p.stderr
    assert roku.paths() == [] and len(daemon.ok("GET", "/v1/devices")) == 1


def test_flag_bounds_take_the_bound_itself(daemon: Daemon, roku: FakeRoku) -> None:
    daemon.add(roku)
    roku.clear()
    assert run(daemon, "key", "up", "--repeat", "50").stdout == "sent up 50 times\n"
    assert roku.paths() == ["/keypress/Up"] * 50


def test_a_relative_url_is_named_in_good_grammar(daemon: Daemon, roku: FakeRoku) -> None:
    daemon.add(roku)
    p = run(daemon, "play", "film.mp4")
    assert p.returncode == 1
    assert p.stderr.splitlines()[0] == "tvctl: Only http:// and https:// URLs can be played, not a relative URL."


# -- 14: near misses --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("given", "meant"), [
    ("ctrl+alt+del", "ctrl+alt+Delete"),
    ("ctrl+c", "ctrl+KeyC"),
    ("control+alt+Delete", "ctrl+alt+Delete"),
    ("esc", "Escape"),
])  # fmt: skip
def test_kvm_key_near_misses_get_the_chord_meant(daemon: Daemon, pilot: FakeTinyPilot, given: str,
                                                 meant: str) -> None:
    daemon.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": pilot.port, "platform": "tinypilot"})
    pilot.clear()
    p = run(daemon, "key", given)
    assert p.returncode == 1
    assert p.stderr.splitlines()[1].startswith(f"hint: Did you mean {meant}? "), p.stderr
    assert pilot.typed == []
    assert run(daemon, "key", meant).returncode == 0  # and what it suggests is taken


def test_config_near_misses(daemon: Daemon) -> None:
    p = run(daemon, "config", "get", "state.poll_intervl")
    assert p.returncode == 2
    assert p.stderr.splitlines() == ["tvctl: no config key or section 'state.poll_intervl'",
                                     "hint: did you mean state.poll_interval_s? tvctl config show lists them"]
    p = run(daemon, "config", "set", "state.poll_intervl", "2")
    assert p.returncode == 2
    assert p.stderr.splitlines() == ["tvctl: unknown config key 'state.poll_intervl'",
                                     "hint: did you mean state.poll_interval_s? tvctl config show lists them"]
    for missing in ("nosuch", "daemon.nosuch"):
        p = run(daemon, "config", "get", missing)
        assert p.returncode == 2
        assert p.stderr.splitlines() == [f"tvctl: no config key or section '{missing}'",
                                         "hint: tvctl config show lists them"]
    assert run(daemon, "config", "get", "state").stdout == "[state]\npoll_interval_s = 10.0\n"  # a section
    # the daemon's own answer, for clients other than the CLI
    err = daemon.err("PATCH", "/v1/config", 400, "unknown_config_key", json={"state.poll_intervl": 2})
    assert err["hint"] == "Did you mean state.poll_interval_s? (tvctl config show lists every key.)"
    err = daemon.err("PATCH", "/v1/config", 400, "unknown_config_key", json={"roku.poll_interval_s": 2})
    assert err["hint"].startswith("Did you mean state.poll_interval_s?")  # the name, in another section


def test_command_near_misses(daemon: Daemon) -> None:
    p = run(daemon, "devices")
    assert p.returncode == 2
    assert p.stderr.splitlines() == ["tvctl: 'devices' is not a tvctl command; did you mean device?",
                                     "hint: tvctl --help lists the commands"]
    p = run(daemon, "device", "lst")
    assert p.returncode == 2
    assert p.stderr.splitlines()[0].endswith("; did you mean list?")
    p = run(daemon, "frobnicate")
    assert p.returncode == 2 and p.stderr.splitlines()[0] == "tvctl: 'frobnicate' is not a tvctl command"


def test_device_names_near_misses_and_the_device_as_a_trailing_word(daemon: Daemon, roku: FakeRoku) -> None:
    dev = daemon.add(roku)
    daemon.ok("PATCH", f"/v1/devices/{dev['id']}", json={"name": "living-room"})
    p = run(daemon, "-d", "livng-room", "state")
    assert p.returncode == 1
    assert p.stderr.splitlines() == ["tvctl: No known device matched 'livng-room'.",
                                     "hint: Did you mean living-room? (tvctl device list shows every device.)"]
    p = run(daemon, "-d", "attic", "state")  # nothing like it: where to look
    assert p.stderr.splitlines()[1] == "hint: Run tvctl device list to see known devices."
    roku.clear()
    p = run(daemon, "key", "home", "living-room")
    assert (p.returncode, p.stdout) == (0, "sent home\n")
    assert roku.paths() == ["/keypress/Home"]
    p = run(daemon, "key", "home", "livng-room")
    assert p.returncode == 1 and "Did you mean living-room?" in p.stderr
    p = run(daemon, "-d", "other", "key", "home", "living-room")
    assert p.returncode == 2 and "two devices given" in p.stderr
    assert roku.paths() == ["/keypress/Home"]


# -- 17: the README's test command ----------------------------------------------------------------------------
def test_readme_says_which_tests_skip_without_zsh_and_fish() -> None:
    readme = (ROOT / "README.md").read_text()
    after = re.search(r"```sh\n# run the whole test suite\n.+?\n```\n\n(.+?)\n\n", readme, re.S)
    assert after is not None
    sentence = " ".join(after.group(1).split())
    assert "zsh" in sentence and "fish" in sentence and "two" in sentence and "skipped" in sentence
    skips = (ROOT / "tests" / "test_cli_service.py").read_text().count('shutil.which("')
    assert skips == 2
