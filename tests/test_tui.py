"""`tvctl remote` in a real terminal: tmux runs it, the test sends keys and reads the screen, and
checks what reached the fake device (a Roku; a FastX server for sessions; a PiKVM for the pointer)
and that the terminal is given back on quit.

Every tmux call goes to a tmux server of the test's own (``tmux -L <unique name>``, no config
file, killed at the end), started with the test daemon's environment: a tmux server the person
running the tests already has is never used (its sessions would run the remote with *their*
environment, and so against their own daemon) and never touched."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Daemon
from tests.fakefastx import FakeFastx
from tests.fakepikvm import FakePikvm
from tests.fakeroku import FakeRoku
from tests.helpers import wait_for

TVCTL = str(Path(sys.executable).with_name("tvctl"))
# The shell tmux runs commands with: bash, whatever the person's login shell is (fish has no $?,
# and dash quits on Ctrl-C even when the remote, which handles it, exits normally).
BASH = shutil.which("bash") or "/bin/bash"
pytestmark = pytest.mark.skipif(shutil.which("tmux") is None or shutil.which("bash") is None,
                                reason="needs tmux and bash")


class Tmux:
    def __init__(self, daemon: Daemon) -> None:
        self.server = f"tvctl-test-{uuid.uuid4().hex[:12]}"  # tmux -L: a server (and socket) of our own
        self.name = "remote"
        self.socket_path: Path | None = None
        own = {k: v for k, v in daemon.env.items() if k.startswith("XDG_")}  # the test daemon's folders
        # COLUMNS and LINES (pytest-xdist's workers set them) would override the pane's own size
        env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE", "COLUMNS", "LINES")}
        self.env = {**env, **own, "TVCTL_SOCKET": str(daemon.socket), "TERM": "xterm-256color", "SHELL": BASH}

    def tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-L", self.server, "-f", "/dev/null", *args], env=self.env, check=check,
                              capture_output=True, text=True)

    def start(self, command: str, width: int = 90, height: int = 24) -> None:
        self.tmux("new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height), command)
        self.socket_path = Path(self.tmux("display-message", "-p", "#{socket_path}").stdout.strip())

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.name, *keys)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.name, check=False).stdout

    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.screen().splitlines()]

    def resize(self, width: int, height: int) -> None:
        self.tmux("resize-window", "-t", self.name, "-x", str(width), "-y", str(height))

    def kill(self) -> None:
        self.tmux("kill-server", check=False)
        if self.socket_path is not None:  # tmux leaves its socket file behind
            self.socket_path.unlink(missing_ok=True)


@pytest.fixture
def tmux(daemon: Daemon) -> Iterator[Tmux]:
    t = Tmux(daemon)
    try:
        yield t
    finally:
        t.kill()


def drive_the_remote(daemon: Daemon, roku: FakeRoku, tmux: Tmux) -> None:
    """Keys, text, an app launch, a resize and a clean quit, checked on the fake Roku."""
    dev = daemon.add(roku)
    roku.clear()
    tmux.start(f"echo BEFORE; {TVCTL} remote; echo EXIT=$?; sleep 30")
    wait_for(lambda: f"tvctl remote: {dev['name']}" in tmux.screen(), what="the remote to draw")
    tmux.keys("Up")
    wait_for(lambda: roku.paths() == ["/keypress/Up"], what="Up to reach the Roku")
    tmux.keys("Enter")
    wait_for(lambda: roku.paths()[-1:] == ["/keypress/Select"], what="OK")
    tmux.keys("h")
    wait_for(lambda: roku.paths()[-1:] == ["/keypress/Home"], what="home")
    wait_for(lambda: "sent: home" in tmux.screen(), what="the key shown in the status line")
    tmux.keys("t")
    wait_for(lambda: "type:" in tmux.screen(), what="the text prompt")
    tmux.keys("-l", "a b")
    tmux.keys("Enter")
    wait_for(lambda: roku.paths()[-3:] == ["/keypress/Lit_a", "/keypress/Lit_%20", "/keypress/Lit_b"],
             what="the typed text")
    tmux.resize(60, 20)  # a resize redraws, it does not crash
    wait_for(lambda: "tvctl remote" in tmux.screen(), what="the redraw after a resize")
    roku.clear()
    tmux.keys("a")
    wait_for(lambda: "Apps (arrows" in tmux.screen(), what="the app picker")
    tmux.keys("Down", "Down", "Down", "Down", "Enter")  # the fifth app in the list: Netflix, id 12
    wait_for(lambda: roku.paths() == ["/launch/12"], what="the launch")
    wait_for(lambda: "sent: launched Netflix" in tmux.screen(), what="the app named in the status line")
    tmux.keys("q")
    wait_for(lambda: "EXIT=0" in tmux.screen(), what="the remote to quit")
    screen = tmux.screen()
    assert "BEFORE" in screen and "tvctl remote:" not in screen  # the normal screen is back


def test_remote_keys_text_apps_and_a_clean_exit(daemon: Daemon, roku: FakeRoku, tmux: Tmux) -> None:
    drive_the_remote(daemon, roku, tmux)


def test_errors_show_in_the_status_line(daemon: Daemon, roku: FakeRoku, tmux: Tmux) -> None:
    daemon.add(roku)
    roku.refuse()  # the TV drops off the network
    tmux.start(f"{TVCTL} remote; echo EXIT=$?; sleep 30")
    wait_for(lambda: "tvctl remote:" in tmux.screen(), what="the remote to draw")
    tmux.keys("h")
    wait_for(lambda: "error: device_unreachable" in tmux.screen(), what="the error in the status line")
    tmux.keys("C-c")
    wait_for(lambda: "EXIT=0" in tmux.screen(), what="Ctrl-C to quit cleanly")


@pytest.mark.parametrize(("width", "footer"), [
    (100, ["arrows move  Enter OK  Bksp/Esc back  h home  space play/pause  +/- volume  m mute  t type  a apps",
           "d device  ? help  q quit"]),
    (60, ["arrows move  Enter OK  Bksp/Esc back  h home",
          "space play/pause  +/- volume  m mute  ? help  q quit"]),
    (140, ["arrows move  Enter OK  Bksp/Esc back  h home  space play/pause  +/- volume  m mute  t type  a apps  "
           "d device  ? help  q quit", ""]),
])  # fmt: skip
def test_the_footer_fits_the_width_and_always_shows_quit(daemon: Daemon, roku: FakeRoku, tmux: Tmux, width: int,
                                                         footer: list[str]) -> None:
    daemon.add(roku)
    tmux.start(f"{TVCTL} remote; echo EXIT=$?; sleep 30", width=width, height=24)
    wait_for(lambda: "ready" in tmux.screen(), what="the remote to draw")
    lines = tmux.lines()
    assert lines[-3:-1] == footer and lines[-1] == "ready"
    tmux.keys("q")
    wait_for(lambda: "EXIT=0" in tmux.screen(), what="q to quit")


def test_an_unbound_key_says_so_and_question_mark_lists_every_key(daemon: Daemon, roku: FakeRoku,
                                                                   tmux: Tmux) -> None:
    daemon.add(roku)
    roku.clear()
    tmux.start(f"{TVCTL} remote; echo EXIT=$?; sleep 30")
    wait_for(lambda: "ready" in tmux.screen(), what="the remote to draw")
    tmux.keys("x")
    wait_for(lambda: tmux.lines()[-1] == "x: not bound — ? for help", what="the unbound key named")
    tmux.keys("F5")
    wait_for(lambda: tmux.lines()[-1] == "F5: not bound — ? for help", what="a function key named")
    tmux.keys("?")
    wait_for(lambda: "tvctl remote: keys (any key returns)" in tmux.screen(), what="the help screen")
    assert "  r, f         rewind, fast-forward" in tmux.lines()
    assert "  q, Ctrl-C    quit" in tmux.lines()
    assert "  P            power (on or off; a KVM: its ATX power button)" in tmux.lines()
    # a Roku (not in developer mode) has no sessions, pointer or screenshots: not offered
    assert [line for line in tmux.lines() if line.startswith(("  S ", "  c ", "  s "))] == []
    tmux.keys("x")  # any key returns, and is not sent
    wait_for(lambda: "tvctl remote: 58-onn-roku-tv" in tmux.screen(), what="the remote again")
    tmux.keys("h")
    wait_for(lambda: tmux.lines()[-1] == "sent: home", what="a bound key clears the note")
    assert roku.paths() == ["/keypress/Home"]
    tmux.keys("P")  # capital P: power
    wait_for(lambda: tmux.lines()[-1] == "sent: power", what="the power key")
    assert roku.paths() == ["/keypress/Home", "/keypress/Power"]
    tmux.keys("S")
    wait_for(lambda: tmux.lines()[-1] == "58-onn-roku-tv has no sessions — ? for help", what="no sessions")
    tmux.keys("c")
    wait_for(lambda: tmux.lines()[-1] == "58-onn-roku-tv has no pointer — ? for help", what="no pointer")
    tmux.keys("s")
    wait_for(lambda: tmux.lines()[-1] == "58-onn-roku-tv takes no screenshots — ? for help", what="no screenshots")
    assert roku.paths() == ["/keypress/Home", "/keypress/Power"]


def test_the_device_picker_starts_on_the_current_device(daemon: Daemon, tmux: Tmux) -> None:
    first, second = FakeRoku("tv", serial="PICK-A").start(), FakeRoku("stick", serial="PICK-B").start()
    try:
        a, b = daemon.add(first), daemon.add(second)
        daemon.ok("PATCH", f"/v1/devices/{a['id']}", json={"name": "den"})
        daemon.ok("PATCH", f"/v1/devices/{b['id']}", json={"name": "kitchen"})  # second in the list
        tmux.start(f"{TVCTL} remote kitchen; echo EXIT=$?; sleep 30")
        wait_for(lambda: "tvctl remote: kitchen" in tmux.screen(), what="the remote to draw")
        tmux.keys("d")
        wait_for(lambda: "Devices (arrows" in tmux.screen(), what="the device picker")
        tmux.keys("Enter")  # the row it starts on is the device in use
        wait_for(lambda: "tvctl remote: kitchen" in tmux.screen(), what="the remote again")
        second.clear()
        tmux.keys("h")
        wait_for(lambda: second.paths() == ["/keypress/Home"], what="the key to reach the same device")
        assert first.paths() == []
        tmux.keys("d")
        wait_for(lambda: "Devices (arrows" in tmux.screen(), what="the device picker")
        tmux.keys("Up", "Enter")
        wait_for(lambda: "tvctl remote: den" in tmux.screen(), what="the other device")
        tmux.keys("q")
        wait_for(lambda: "EXIT=0" in tmux.screen(), what="q to quit")
    finally:
        first.stop()
        second.stop()


def test_an_unknown_device_exits_1_with_the_message(daemon: Daemon, roku: FakeRoku, tmux: Tmux) -> None:
    daemon.add(roku)
    tmux.start(f"{TVCTL} remote kitchen; echo EXIT=$?; sleep 30")
    wait_for(lambda: "EXIT=" in tmux.screen(), what="the remote to exit")
    assert [line for line in tmux.lines() if line] == [
        "tvctl: No known device matched 'kitchen'.",
        "hint: Run tvctl device list to see known devices.",
        "EXIT=1",
    ]


def test_a_tmux_server_the_person_already_runs_is_left_alone(
        daemon: Daemon, roku: FakeRoku, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The person running the tests has a tmux server on the default socket name, started with
    their own environment (their own daemon's socket), and the tests may run inside it ($TMUX). The
    remote test still drives the test daemon, and the person's server, session, screen and daemon
    are as they were. TMUX_TMPDIR keeps all of it in a temp folder: the real user's tmux is never
    involved."""
    # A folder of its own with a short name: a socket path holds at most 107 bytes, and tmp_path
    # can be longer than that leaves room for (pytest-xdist adds a folder per worker).
    tmux_dir = Path(tempfile.mkdtemp(prefix="tvctl-tmux-"))
    monkeypatch.setenv("TMUX_TMPDIR", str(tmux_dir))
    person = Daemon(tmp_path / "person").start()
    their_roku = FakeRoku("box", serial="THE-PERSONS").start()
    person_env = {**{k: v for k, v in person.env.items() if k not in ("TMUX", "TMUX_PANE", "COLUMNS", "LINES")},
                  "TVCTL_SOCKET": str(person.socket), "SHELL": BASH, "TERM": "xterm-256color"}

    def decoy(*args: str) -> str:  # the person's own tmux: default socket name, no -L
        return subprocess.run(["tmux", "-f", "/dev/null", *args], env=person_env, check=True,
                              capture_output=True, text=True).stdout
    tmux = None
    try:
        person.add(their_roku)
        their_roku.clear()
        decoy("new-session", "-d", "-s", "person", "-x", "80", "-y", "10", "echo the-persons-shell; sleep 600")
        wait_for(lambda: "the-persons-shell" in decoy("capture-pane", "-p", "-t", "person"), what="the decoy")
        before = (decoy("list-sessions", "-F", "#{session_name} #{pid} #{session_windows}"),
                  decoy("capture-pane", "-p", "-t", "person"), decoy("show-environment", "-g"))
        socket_path = decoy("display-message", "-p", "#{socket_path}").strip()
        assert socket_path == str(tmux_dir / f"tmux-{os.getuid()}" / "default")
        monkeypatch.setenv("TMUX", f"{socket_path},{before[0].split()[1]},0")  # as if run inside it
        tmux = Tmux(daemon)
        drive_the_remote(daemon, roku, tmux)
        assert their_roku.paths() == [] and their_roku.paths("GET") == []  # their TV saw nothing
        after = (decoy("list-sessions", "-F", "#{session_name} #{pid} #{session_windows}"),
                 decoy("capture-pane", "-p", "-t", "person"), decoy("show-environment", "-g"))
        assert after == before
    finally:
        if tmux is not None:
            tmux.kill()
        subprocess.run(["tmux", "-f", "/dev/null", "kill-server"], env=person_env, capture_output=True)
        shutil.rmtree(tmux_dir, ignore_errors=True)
        person.stop()
        their_roku.stop()


# -- what a device's capabilities add: a FastX server (sessions), a PiKVM (pointer, screenshot) -----
FASTX_CREDS = {"username": "lab", "password": "s3cret-pass"}
PIKVM_PASSWORD = "s3cret-pi-7781"
# the seeded sessions of tests/fakefastx.py
SIGNAGE_LOBBY = "3c9a41e2-7b05-4d1f-8e6a-b20d5c7f1a01"
LAB_DESKTOP_1 = "3c9a41e2-7b05-4d1f-8e6a-b20d5c7f1a02"
LAB_DESKTOP_2 = "3c9a41e2-7b05-4d1f-8e6a-b20d5c7f1a03"
KIOSK_MAP = "3c9a41e2-7b05-4d1f-8e6a-b20d5c7f1a04"
SESSION_ROWS = [" Signage Lobby — kiosk 1920x1080", " Lab Desktop 1 — lab 1280x800", " Lab Desktop 2 — ana 1600x900",
                " Kiosk Map — kiosk 1024x768"]
# What the daemon asks a FastX server for the state line the remote refreshes (and its login).
FASTX_STATE_READS = {"GET /v3/api", "POST /v3/api/session/list", "POST /v3/api/auth/ssh"}
# tests/fakekvm.py's JPEG_SCREEN: what the fake PiKVM's snapshot shows
PIKVM_SCREEN = b"\xff\xd8\xff\xe0" + b"KVM-SCREEN" * 50 + b"\xff\xd9"


@pytest.fixture
def pikvm(tmp_path: Path) -> Iterator[FakePikvm]:
    fake = FakePikvm(tmp_path / "tls", password=PIKVM_PASSWORD).start()
    try:
        yield fake
    finally:
        fake.stop()


def add_fastx(daemon: Daemon, fake: FakeFastx) -> dict[str, Any]:
    dev: dict[str, Any] = daemon.ok("POST", "/v1/devices", json={
        "host": "127.0.0.1", "port": fake.port, "platform": "fastx", "credentials": FASTX_CREDS})
    fake.clear()
    return dev


def remote_in(tmux: Tmux, folder: Path, width: int = 90) -> None:
    """The remote started in ``folder`` (where a screenshot is saved by default)."""
    folder.mkdir(exist_ok=True)
    tmux.start(f"cd {shlex.quote(str(folder))}; {TVCTL} remote; echo EXIT=$?; sleep 30", width=width)


def quit_remote(tmux: Tmux) -> None:
    tmux.keys("q")
    wait_for(lambda: "EXIT=0" in tmux.screen(), what="q to quit")


def status(tmux: Tmux) -> str:
    lines = tmux.lines()
    return lines[-1] if lines else ""


def status_is(tmux: Tmux, text: str) -> Callable[[], bool]:
    return lambda: status(tmux) == text


def test_fastx_lists_its_sessions_and_terminates_one_when_told_yes(daemon: Daemon, fastx: FakeFastx,
                                                                    tmux: Tmux, tmp_path: Path) -> None:
    add_fastx(daemon, fastx)
    remote_in(tmux, tmp_path / "here")
    wait_for(lambda: "tvctl remote: fastx-lab" in tmux.screen(), what="the remote to draw")
    wait_for(lambda: tmux.lines()[-3:-1] == ["a apps  s screenshot  S sessions  d device  ? help  q quit", ""],
             what="the footer of what a FastX server offers")
    tmux.keys("S")
    wait_for(lambda: "Sessions (arrows, Enter; Esc cancels)" in tmux.screen(), what="the session picker")
    assert tmux.lines()[1:5] == SESSION_ROWS
    tmux.keys("Down", "Down", "Enter")
    wait_for(lambda: "Session Lab Desktop 2 (arrows" in tmux.screen(), what="what to do with it")
    assert tmux.lines()[1:3] == [" save a screenshot", " terminate it (ends its programs)"]
    tmux.keys("Down", "Enter")
    wait_for(lambda: status(tmux) == "terminate Lab Desktop 2 (ana)? (y/n)", what="the question")
    tmux.keys("n")
    wait_for(lambda: status(tmux) == "Lab Desktop 2 left running", what="no")
    assert LAB_DESKTOP_2 in fastx.sessions
    assert not any(p.endswith("/terminate") for p in fastx.paths())
    tmux.keys("S")
    wait_for(lambda: "Sessions (arrows" in tmux.screen(), what="the session picker")
    tmux.keys("Down", "Down", "Enter")
    wait_for(lambda: "Session Lab Desktop 2 (arrows" in tmux.screen(), what="what to do with it")
    tmux.keys("Down", "Enter")
    wait_for(lambda: status(tmux) == "terminate Lab Desktop 2 (ana)? (y/n)", what="the question")
    tmux.keys("y")
    wait_for(lambda: status(tmux) == "terminated Lab Desktop 2", what="the session terminated")
    assert sorted(fastx.sessions) == [SIGNAGE_LOBBY, LAB_DESKTOP_1, KIOSK_MAP]
    assert fastx.paths().count("POST /v3/api/session/terminate") == 1
    tmux.keys("S")
    wait_for(lambda: "Sessions (arrows" in tmux.screen(), what="the session picker")
    assert tmux.lines()[1:5] == [SESSION_ROWS[0], SESSION_ROWS[1], SESSION_ROWS[3], ""]
    tmux.keys("Down", "Down", "Enter")  # Kiosk Map, which ends by itself before the answer
    wait_for(lambda: "Session Kiosk Map (arrows" in tmux.screen(), what="what to do with it")
    tmux.keys("Down", "Enter")
    wait_for(lambda: status(tmux) == "terminate Kiosk Map (kiosk)? (y/n)", what="the question")
    fastx.drop_session(KIOSK_MAP)
    tmux.keys("y")
    wait_for(status_is(tmux, "error: session_not_found: No running session matches "
                             "'3c9a41e2-7b05-4d1f-8e6a-b20d5c7f1a0"), what="the error in the status line (cut to fit)")
    tmux.keys("S")
    wait_for(lambda: "Sessions (arrows" in tmux.screen(), what="the session picker")
    assert tmux.lines()[1:4] == [SESSION_ROWS[0], SESSION_ROWS[1], ""]
    tmux.keys("Escape")
    wait_for(lambda: "tvctl remote: fastx-lab" in tmux.screen(), what="the remote again")
    quit_remote(tmux)


def test_a_fastx_sessions_screenshot_is_saved(daemon: Daemon, fastx: FakeFastx, tmux: Tmux, tmp_path: Path) -> None:
    add_fastx(daemon, fastx)
    here = tmp_path / "here"
    remote_in(tmux, here)
    wait_for(lambda: "tvctl remote: fastx-lab" in tmux.screen(), what="the remote to draw")
    tmux.keys("S")  # a session, then what to do with it
    wait_for(lambda: "Sessions (arrows" in tmux.screen(), what="the session picker")
    tmux.keys("Down", "Enter")
    wait_for(lambda: "Session Lab Desktop 1 (arrows" in tmux.screen(), what="what to do with it")
    tmux.keys("Enter")
    wait_for(lambda: status(tmux) == "save as (Enter: shot.png):", what="the path asked")
    tmux.keys("Enter")
    wait_for(lambda: status(tmux).startswith("saved shot.png ("), what="the screenshot saved")
    shot = (here / "shot.png").read_bytes()
    assert shot == fastx.png_for(LAB_DESKTOP_1) and shot[:8] == b"\x89PNG\r\n\x1a\n"
    assert status(tmux) == f"saved shot.png ({len(shot)} bytes)"
    tmux.keys("s")  # s asks which session first
    wait_for(lambda: "Sessions (arrows" in tmux.screen(), what="the session picker")
    tmux.keys("Down", "Down", "Down", "Enter")
    wait_for(lambda: status(tmux) == "save as (Enter: shot.png):", what="the path asked")
    tmux.keys("-l", "maps/kiosk.png")
    tmux.keys("Enter")
    wait_for(lambda: status(tmux).startswith("error: cannot write maps/kiosk.png: "), what="no such folder")
    assert not (here / "maps").exists()
    (here / "maps").mkdir()
    tmux.keys("s")
    wait_for(lambda: "Sessions (arrows" in tmux.screen(), what="the session picker")
    tmux.keys("Down", "Down", "Down", "Enter")
    wait_for(lambda: status(tmux) == "save as (Enter: shot.png):", what="the path asked")
    tmux.keys("-l", "maps/kiosk.png")
    tmux.keys("Enter")
    wait_for(lambda: status(tmux).startswith("saved maps/kiosk.png ("), what="the second screenshot saved")
    assert (here / "maps" / "kiosk.png").read_bytes() == fastx.png_for(KIOSK_MAP)
    assert fastx.png_for(KIOSK_MAP) != fastx.png_for(LAB_DESKTOP_1)
    assert sorted(p.name for p in here.iterdir()) == ["maps", "shot.png"]
    quit_remote(tmux)


def test_a_fastx_bookmark_starts_a_session_named_in_the_status_line(daemon: Daemon, fastx: FakeFastx,
                                                                     tmux: Tmux, tmp_path: Path) -> None:
    add_fastx(daemon, fastx)
    remote_in(tmux, tmp_path / "here")
    wait_for(lambda: "tvctl remote: fastx-lab" in tmux.screen(), what="the remote to draw")
    tmux.keys("a")
    wait_for(lambda: "Apps (arrows" in tmux.screen(), what="the bookmarks")
    assert tmux.lines()[1:4] == [" Signage Player", " XTerm", " GNOME Desktop"]  # the user's own, then suggestions
    tmux.keys("Down", "Down", "Enter")
    wait_for(lambda: status(tmux) == "sent: launched GNOME Desktop, new session GNOME Desktop", what="the session")
    started = [s for sid, s in fastx.sessions.items() if sid not in (SIGNAGE_LOBBY, LAB_DESKTOP_1, LAB_DESKTOP_2,
                                                                      KIOSK_MAP)]
    assert [(s["params"]["name"], s["login"], s["geometry"]) for s in started] == [("GNOME Desktop", "lab", "1600x900")]
    assert fastx.paths().count("POST /v3/api/session/start/bookmark") == 1
    quit_remote(tmux)


def test_a_fastx_server_takes_no_keys_and_the_remote_sends_none(daemon: Daemon, fastx: FakeFastx,
                                                                 tmux: Tmux, tmp_path: Path) -> None:
    add_fastx(daemon, fastx)
    remote_in(tmux, tmp_path / "here")
    wait_for(lambda: "tvctl remote: fastx-lab" in tmux.screen(), what="the remote to draw")
    assert "  fastx-lab takes no keys: the keys below are what it offers." in tmux.lines()
    assert "[ OK ]" not in tmux.screen()
    for key, said in [("Up", "fastx-lab takes no keys — ? for help"), ("t", "fastx-lab takes no text — ? for help"),
                      ("Enter", "fastx-lab takes no keys — ? for help"), ("x", "x: not bound — ? for help"),
                      ("Left", "fastx-lab takes no keys — ? for help"), ("c", "fastx-lab has no pointer — ? for help"),
                      ("h", "fastx-lab takes no keys — ? for help"), ("F5", "F5: not bound — ? for help"),
                      ("P", "fastx-lab takes no keys — ? for help")]:
        tmux.keys(key)
        wait_for(status_is(tmux, said), what=f"{key}: what the device lacks")
    assert set(fastx.paths()) <= FASTX_STATE_READS  # only the state line's reads reached the server
    tmux.keys("?")
    wait_for(lambda: "tvctl remote: keys (any key returns)" in tmux.screen(), what="the help screen")
    assert [line for line in tmux.lines()[2:] if line] == [
        "  (fastx-lab takes no keys)",
        "  a            start a session from a bookmark",
        "  s            save a session's screenshot to a file",
        "  S            sessions: screenshot one, or terminate it",
        "  d            switch device",
        "  ?            this help",
        "  q, Ctrl-C    quit",
    ]
    tmux.keys("x")
    wait_for(lambda: "tvctl remote: fastx-lab" in tmux.screen(), what="the remote again")
    quit_remote(tmux)


def test_a_pikvm_clicks_where_told_and_saves_its_screen(daemon: Daemon, pikvm: FakePikvm, tmux: Tmux,
                                                         tmp_path: Path) -> None:
    daemon.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": pikvm.port, "platform": "pikvm",
                                           "credentials": {"username": "admin", "password": PIKVM_PASSWORD}})
    pikvm.clear()
    here = tmp_path / "here"
    remote_in(tmux, here)
    wait_for(lambda: "tvctl remote: pikvm-lab" in tmux.screen(), what="the remote to draw")
    wait_for(lambda: tmux.lines()[-3:-1] == [
        "arrows move  Enter OK  Bksp/Esc back  h home  space play/pause  +/- volume  m mute",
        "t type  s screenshot  c click  d device  ? help  q quit"], what="the footer of what a PiKVM offers")
    tmux.keys("c")
    wait_for(lambda: status(tmux) == "click at x y (pixels, or fractions: 0.5 0.5):", what="the point asked")
    tmux.keys("-l", "0.5 0.5")
    tmux.keys("Enter")
    wait_for(lambda: status(tmux) == "clicked at 0.5, 0.5 of the screen", what="the click")
    assert pikvm.events == [("move", 0, 0), ("button", "left", True), ("button", "left", False)]
    pikvm.clear()
    tmux.keys("c")  # pixels of the 1280x720 screen
    wait_for(lambda: status(tmux).startswith("click at x y"), what="the point asked")
    tmux.keys("-l", "640 360")
    tmux.keys("Enter")
    wait_for(lambda: status(tmux) == "clicked at 0.500391, 0.500695 of the screen", what="the click in pixels")
    assert pikvm.events == [("move", 25, 45), ("button", "left", True), ("button", "left", False)]
    pikvm.clear()
    for entry in ("middle", "0.5", "1 2 3", "-3 4", "nan 1"):
        tmux.keys("c")
        wait_for(lambda: status(tmux).startswith("click at x y"), what="the point asked")
        tmux.keys("-l", "--", entry)  # "--": "-3 4" is not an option
        tmux.keys("Enter")
        wait_for(status_is(tmux, f"not a point: {entry!r} (x y: pixels, or fractions like 0.5 0.5)"),
                 what=f"{entry!r} refused")
    tmux.keys("c")
    wait_for(lambda: status(tmux).startswith("click at x y"), what="the point asked")
    tmux.keys("-l", "5000 10")  # off the screen: the daemon's answer
    tmux.keys("Enter")
    wait_for(lambda: status(tmux) == "error: invalid_payload: (5000, 10) is outside the 1280x720 screen.",
             what="the daemon's refusal")
    assert pikvm.events == []
    tmux.keys("s")
    wait_for(lambda: status(tmux) == "save as (Enter: shot.jpg):", what="the path asked")
    tmux.keys("Enter")
    wait_for(lambda: status(tmux) == "saved shot.jpg (506 bytes)", what="the screenshot saved")
    assert (here / "shot.jpg").read_bytes() == PIKVM_SCREEN
    pikvm.video = False
    tmux.keys("s")
    wait_for(status_is(tmux, "error: no_video: pikvm-lab receives no video from its target."), what="no video")
    assert sorted(p.name for p in here.iterdir()) == ["shot.jpg"]
    tmux.keys("S")
    wait_for(lambda: status(tmux) == "pikvm-lab has no sessions — ? for help", what="no sessions on a PiKVM")
    tmux.keys("Up")  # keys still go to a device that takes them
    wait_for(lambda: status(tmux) == "sent: up", what="the key sent")
    assert pikvm.events == [("key", "ArrowUp", True), ("key", "ArrowUp", False)]
    quit_remote(tmux)
