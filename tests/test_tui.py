"""`tvctl remote` in a real terminal: tmux runs it, the test sends keys and reads the screen, and
checks what reached the fake Roku and that the terminal is given back on quit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Daemon
from tests.fakeroku import FakeRoku
from tests.helpers import wait_for

TVCTL = str(Path(sys.executable).with_name("tvctl"))
pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


class Tmux:
    def __init__(self, daemon: Daemon) -> None:
        self.name = f"tvctl-{uuid.uuid4().hex[:8]}"
        self.env = {**os.environ, "XDG_RUNTIME_DIR": str(daemon.runtime), "TERM": "xterm-256color"}

    def start(self, command: str) -> None:
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", "90", "-y", "24", command],
                       env=self.env, check=True)

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def screen(self) -> str:
        out = subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True)
        return out.stdout

    def resize(self, width: int, height: int) -> None:
        subprocess.run(["tmux", "resize-window", "-t", self.name, "-x", str(width), "-y", str(height)], check=True)

    def kill(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def tmux(daemon: Daemon) -> Iterator[Tmux]:
    t = Tmux(daemon)
    try:
        yield t
    finally:
        t.kill()


def test_remote_keys_text_apps_and_a_clean_exit(daemon: Daemon, roku: FakeRoku, tmux: Tmux) -> None:
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
    tmux.keys("Enter")  # the first app in the list
    wait_for(lambda: any(p.startswith("/launch/") for p in roku.paths()), what="the launch")
    tmux.keys("q")
    wait_for(lambda: "EXIT=0" in tmux.screen(), what="the remote to quit")
    screen = tmux.screen()
    assert "BEFORE" in screen and "tvctl remote:" not in screen  # the normal screen is back


def test_errors_show_in_the_status_line(daemon: Daemon, roku: FakeRoku, tmux: Tmux) -> None:
    daemon.add(roku)
    roku.refuse()  # the TV drops off the network
    tmux.start(f"{TVCTL} remote; echo EXIT=$?; sleep 30")
    wait_for(lambda: "tvctl remote:" in tmux.screen(), what="the remote to draw")
    tmux.keys("h")
    wait_for(lambda: "error: device_unreachable" in tmux.screen(), what="the error in the status line")
    tmux.keys("C-c")
    wait_for(lambda: "EXIT=0" in tmux.screen(), what="Ctrl-C to quit cleanly")
