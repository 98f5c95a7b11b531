"""Search, live TV, playing a URL, the developer workflow and Roku's own key names, through the
daemon's API (in-process, tests/inproc.py; the CLI against the daemon process) against the fake Roku
(which records what it receives and changes state as a Roku does: a launch brings the app to the
front, a tune changes the active channel, a Delete removes the sideloaded channel)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Daemon
from tests.fakeroku import FakeRoku
from tests.inproc import InProcDaemon
from tests.test_devmode import install, make_zip

APPS = (b'<?xml version="1.0" encoding="UTF-8" ?>\n<apps>\n'
        b'<app id="837" type="appl" version="2.21">YouTube</app>\n'
        b'<app id="195316" type="appl" version="1.0">YouTube TV</app>\n'
        b'<app id="12" type="appl" version="4.1">Netflix</app>\n'
        b'<app id="2285" type="appl" version="6.0">Hulu</app>\n'
        b'<app id="tvinput.dtv" type="tvin" version="1.0.0">Antenna TV</app>\n</apps>\n')

# In-app steps for the tests: the same shape as the built-in file, with short waits.
STEPS = """
[apps.12]
name = "Netflix"
steps = ["wait:10", "left", "Up", "select", "type", "enter"]

[apps.2285]
name = "Hulu"
steps = ["up", "type"]
"""


@pytest.fixture
def tv(inproc: InProcDaemon, tmp_path: Path) -> Iterator[tuple[InProcDaemon, FakeRoku, dict[str, Any]]]:
    roku = FakeRoku("tv", apps=APPS).start()
    steps = tmp_path / "steps.toml"
    steps.write_text(STEPS)
    try:
        device = inproc.add(roku)
        inproc.ok("PATCH", "/v1/config", json={"roku.search_steps_file": str(steps),
                                                      "roku.search_wait_s": 0.3})
        inproc.ok("POST", f"/v1/devices/{device['id']}/apps/refresh", json={"clear": True})
        roku.clear()
        yield inproc, roku, device
    finally:
        inproc.ok("PATCH", "/v1/config", json={"roku.search_steps_file": "", "roku.search_wait_s": 3.0})
        roku.stop()


def lit(text: str) -> list[str]:
    return [f"/keypress/Lit_{c}" for c in text]


# -- key names ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("given", "sent"), [
    ("VolumeUp", "/keypress/VolumeUp"),
    ("volumeup", "/keypress/VolumeUp"),
    ("volume_up", "/keypress/VolumeUp"),
    ("Volume-Up", "/keypress/VolumeUp"),
    ("VOLUME_DOWN", "/keypress/VolumeDown"),
    ("InstantReplay", "/keypress/InstantReplay"),
    ("InputHDMI2", "/keypress/InputHDMI2"),
    ("Sleep", "/keypress/Sleep"),
    ("Lit_a", "/keypress/Lit_a"),
    ("LIT_%E2%82%AC", "/keypress/Lit_%E2%82%AC"),
    ("Home", "/keypress/Home"),
])  # fmt: skip
def test_roku_names_and_spellings(tv: tuple[Daemon, FakeRoku, dict[str, Any]], given: str, sent: str) -> None:
    d, roku, device = tv
    d.ok("POST", f"/v1/devices/{device['id']}/remote/key", json={"key": given})
    assert roku.paths() == [sent]


def test_roku_names_follow_the_device_kind(inproc: InProcDaemon) -> None:
    roku = FakeRoku("stick").start()
    try:
        device = inproc.add(roku)
        roku.clear()
        err = inproc.err("POST", f"/v1/devices/{device['id']}/remote/key", 400, "unsupported_operation",
                         json={"key": "InputHDMI1"})
        assert "not a Roku TV" in err["message"]
        assert roku.paths() == []
    finally:
        roku.stop()


@pytest.mark.parametrize(("given", "hint"), [
    ("volme-up", "Did you mean volume-up"),
    ("InstantReplya", "Did you mean InstantReplay?"),
    ("VolumUp", "Did you mean VolumeUp"),
    ("KeyA", "tvctl key --help"),
    ("Lit_ab", "tvctl key --help"),
])  # fmt: skip
def test_unknown_names_get_the_closest(tv: tuple[Daemon, FakeRoku, dict[str, Any]], given: str, hint: str) -> None:
    d, roku, device = tv
    err = d.err("POST", f"/v1/devices/{device['id']}/remote/key", 400, "invalid_key", json={"key": given})
    assert hint in err["hint"]
    assert "channel-down" not in err["hint"]  # not the whole list
    assert roku.paths() == []


def test_app_by_the_start_of_its_name(tv: tuple[Daemon, FakeRoku, dict[str, Any]]) -> None:
    d, roku, device = tv
    base = f"/v1/devices/{device['id']}/apps/launch"
    assert d.ok("POST", base, json={"app": "net"})["launched"]["name"] == "Netflix"
    assert d.ok("POST", base, json={"app": "YouTube T"})["launched"]["platform_id"] == "195316"
    err = d.err("POST", base, 400, "ambiguous_app", json={"app": "you"})
    assert "YouTube (837)" in err["message"] and "YouTube TV (195316)" in err["message"]
    assert {m["platform_id"] for m in err["details"]["matches"]} == {"837", "195316"}
    assert d.ok("POST", base, json={"app": "youtube"})["launched"]["platform_id"] == "837"  # exact wins
    assert roku.paths() == ["/launch/12", "/launch/195316", "/launch/837"]


# -- search ---------------------------------------------------------------------------------------
def test_browse_with_the_app_as_provider(tv: tuple[Daemon, FakeRoku, dict[str, Any]]) -> None:
    d, roku, device = tv
    roku.search_browse = "launch"  # older firmware: the provider's app opens on the result
    r = d.ok("POST", f"/v1/devices/{device['id']}/search",
             json={"keyword": "star trek", "app": "netflix", "type": "tv-show", "season": 2, "launch": True})
    assert roku.paths() == ["/search/browse?keyword=star%20trek&type=tv-show&season=2&provider-id=12&launch=true"]
    assert (r["strategy"], r["tried"], r["changed"]) == ("browse", ["browse"], True)
    assert r["active_app"]["platform_id"] == "12" and r["app"]["name"] == "Netflix"


def test_auto_falls_back_to_the_apps_own_search(tv: tuple[Daemon, FakeRoku, dict[str, Any]]) -> None:
    d, roku, device = tv  # the fake ignores search/browse, as Roku OS 12+ does
    r = d.ok("POST", f"/v1/devices/{device['id']}/search", json={"keyword": "Dune", "app": "net"})
    assert roku.paths() == ["/search/browse?keyword=Dune&provider-id=12", "/launch/12",
                            "/keypress/Left", "/keypress/Up", "/keypress/Select", *lit("Dune"), "/keypress/Enter"]
    assert (r["strategy"], r["tried"], r["changed"], r["steps"]) == ("in-app", ["browse", "in-app"], True, 5)
    assert r["active_app"]["platform_id"] == "12"


def test_in_app_only_and_steps_are_data(tv: tuple[Daemon, FakeRoku, dict[str, Any]]) -> None:
    d, roku, device = tv
    r = d.ok("POST", f"/v1/devices/{device['id']}/search", json={"keyword": "a b", "app": "hulu",
                                                                  "strategy": "in-app"})
    assert roku.paths() == ["/launch/2285", "/keypress/Up", "/keypress/Lit_a", "/keypress/Lit_%20", "/keypress/Lit_b"]
    assert (r["strategy"], r["tried"]) == ("in-app", ["in-app"])


def test_search_without_a_way_says_so(tv: tuple[Daemon, FakeRoku, dict[str, Any]]) -> None:
    d, roku, device = tv
    base = f"/v1/devices/{device['id']}/search"
    # browse only, nothing changed: reported, not an error
    r = d.ok("POST", base, json={"keyword": "x", "strategy": "browse"})
    assert (r["strategy"], r["changed"], r["app"]) == ("browse", False, None)
    # auto for an app without steps: browse, and a note why nothing more was tried
    r = d.ok("POST", base, json={"keyword": "x", "app": "YouTube TV"})
    assert r["tried"] == ["browse"] and "no in-app search steps are known for YouTube TV" in r["note"]
    roku.clear()
    err = d.err("POST", base, 400, "unsupported_operation", json={"keyword": "x", "app": "YouTube TV",
                                                                   "strategy": "in-app"})
    assert "roku.search_steps_file" in err["hint"]
    d.err("POST", base, 400, "unsupported_operation", json={"keyword": "x", "strategy": "in-app"})
    err = d.err("POST", base, 400, "invalid_payload", json={"keyword": "x", "strategy": "voice"})
    assert "strategy" in err["message"]
    d.err("POST", base, 400, "invalid_payload", json={"keyword": ""})
    d.err("POST", base, 400, "invalid_payload", json={"keyword": "x", "type": "album"})
    d.err("POST", base, 404, "app_not_found", json={"keyword": "x", "app": "disney"})
    assert roku.paths() == []


def test_a_broken_steps_file_is_named_before_anything_is_sent(tv: tuple[Daemon, FakeRoku, dict[str, Any]],
                                                              tmp_path: Path) -> None:
    d, roku, device = tv
    bad = tmp_path / "bad.toml"
    bad.write_text('[apps.12]\nsteps = ["left", "jump!", "type"]\n')
    d.ok("PATCH", "/v1/config", json={"roku.search_steps_file": str(bad)})
    err = d.err("POST", f"/v1/devices/{device['id']}/search", 400, "invalid_payload",
                json={"keyword": "x", "app": "netflix", "strategy": "in-app"})
    assert str(bad) in err["message"] and "step 2" in err["message"]
    assert roku.paths() == []


def test_the_built_in_steps_file_parses() -> None:
    from tvctl_adapters.roku.search import load_steps

    steps = load_steps("")
    assert {"837", "12", "2285"} <= set(steps)
    assert [s.kind for s in steps["837"].steps].count("type") == 1


# -- live TV --------------------------------------------------------------------------------------
def test_channels_and_tune(tv: tuple[Daemon, FakeRoku, dict[str, Any]]) -> None:
    d, roku, device = tv
    base = f"/v1/devices/{device['id']}"
    channels = d.ok("GET", base + "/tv/channels")["channels"]
    assert channels == [{"number": "1.1", "name": "WhatsOn", "type": "air-digital", "hidden": False},
                        {"number": "1.3", "name": "QVC", "type": "air-digital", "hidden": False}]
    r = d.ok("POST", base + "/tv/tune", json={"channel": "1.3"})
    assert r == {"device": device["name"], "channel": "1.3", "name": "QVC", "input": "tvinput.dtv"}
    assert roku.paths() == ["/launch/tvinput.dtv?ch=1.3&chan=1.3&lcn=1.3"]
    state = d.ok("GET", base + "/state")["state"]
    assert state["active_app"]["platform_id"] == "tvinput.dtv"
    assert (state["tv"]["number"], state["tv"]["name"], state["tv"]["program_title"]) == ("1.3", "QVC", "Airwolf")
    for bad in ("five", "5.1.2", "", "5;ls"):
        d.err("POST", base + "/tv/tune", 400, "invalid_payload", json={"channel": bad})


def test_live_tv_on_a_device_that_is_not_a_tv(inproc: InProcDaemon) -> None:
    roku = FakeRoku("stick").start()
    try:
        device = inproc.add(roku)
        roku.clear()
        base = f"/v1/devices/{device['id']}"
        err = inproc.err("GET", base + "/tv/channels", 400, "unsupported_operation")
        assert "not a Roku TV" in err["message"]
        inproc.err("POST", base + "/tv/tune", 400, "unsupported_operation", json={"channel": "5.1"})
        assert roku.paths("GET") == [] and roku.paths() == []
    finally:
        roku.stop()


# -- play a URL -----------------------------------------------------------------------------------
def test_play_a_url(tv: tuple[Daemon, FakeRoku, dict[str, Any]]) -> None:
    d, roku, device = tv
    base = f"/v1/devices/{device['id']}/media/play"
    r = d.ok("POST", base, json={"url": "http://192.168.1.10:8000/a film.mp4?x=1&y=2".replace(" ", "%20"),
                                 "title": "Big Buck", "format": "mp4"})
    assert r == {"device": device["name"], "url": "http://192.168.1.10:8000/a%20film.mp4?x=1&y=2", "type": "video",
                 "title": "Big Buck", "format": "mp4"}
    assert roku.paths() == ["/input/15985?t=v&u=http%3A%2F%2F192.168.1.10%3A8000%2Fa%2520film.mp4%3Fx%3D1%26y%3D2"
                            "&videoName=Big%20Buck&videoFormat=mp4"]
    assert d.ok("GET", f"/v1/devices/{device['id']}/state")["state"]["media"]["state"] == "play"
    roku.clear()
    d.ok("POST", base, json={"url": "https://radio.example/stream.mp3", "type": "audio", "title": "News"})
    d.ok("POST", base, json={"url": "HTTPS://photos.example/cat.jpg", "type": "photo"})
    assert roku.paths() == ["/input/15985?t=a&u=https%3A%2F%2Fradio.example%2Fstream.mp3&songname=News",
                            "/input/15985?t=p&u=HTTPS%3A%2F%2Fphotos.example%2Fcat.jpg"]


@pytest.mark.parametrize(("body", "code", "says"), [
    ({"url": "ftp://host/film.mp4"}, "invalid_url", "not ftp URLs"),
    ({"url": "file:///etc/passwd"}, "invalid_url", "not file URLs"),
    ({"url": "/film.mp4"}, "invalid_url", "not a relative URL."),
    ({"url": "http:///film.mp4"}, "invalid_url", "names no host"),
    ({"url": "http://host/a film.mp4"}, "invalid_url", "spaces or control characters"),
    ({"url": "http://host/a\r\nX: y"}, "invalid_url", "spaces or control characters"),
    ({"url": "http://host/" + "a" * 3000}, "invalid_url", "longer than 2048"),
    ({"url": "http://host/x.mp4", "type": "movie"}, "invalid_payload", "type"),
    ({"url": "http://host/x.mp4", "format": "mp4&t=a"}, "invalid_payload", "format"),
])  # fmt: skip
def test_bad_urls_are_refused_before_anything_is_sent(tv: tuple[Daemon, FakeRoku, dict[str, Any]],
                                                      body: dict[str, Any], code: str, says: str) -> None:
    d, roku, device = tv
    err = d.err("POST", f"/v1/devices/{device['id']}/media/play", 400, code, json=body)
    assert says in err["message"] and err["hint"]
    assert roku.paths() == []


# -- developer workflow -----------------------------------------------------------------------------
def test_install_and_reload_with_launch_params(devbox: tuple[Daemon, FakeRoku, dict[str, Any]]) -> None:
    d, roku, device = devbox
    z = make_zip()
    r = d.http("POST", f"/v1/devices/{device['id']}/dev/install", timeout=60,
               files={"archive": ("channel.zip", z, "application/zip")},
               data={"contentId": "ep 42&x", "mediaType": "episode"})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["result"] == "installed" and data["launched"] == {"contentId": "ep 42&x", "mediaType": "episode"}
    # the device was told not to start it, and tvctl started it with the parameters
    assert roku.upload_fields[-1] == {"mysubmit": "Replace", "dev_autolaunch": "0"}
    assert roku.paths()[-1] == "/launch/dev?contentId=ep%2042%26x&mediaType=episode"
    assert roku.active[0] == "dev"
    roku.clear()
    r = d.ok("POST", f"/v1/devices/{device['id']}/dev/reload", json={"params": {"contentId": "7", "bookmark": 30}})
    assert r["reloaded"] and r["params"] == {"contentId": "7", "bookmark": "30"}
    assert roku.paths()[-1] == "/launch/dev?contentId=7&bookmark=30"
    # without parameters, nothing changes: the device starts the channel itself
    roku.clear()
    assert "launched" not in install(d, device["id"], make_zip(extra=b"' v2\n")).json()["data"]
    assert roku.upload_fields[-1] == {"mysubmit": "Replace"}
    assert not any(p.startswith("/launch/") for p in roku.paths())
    d.err("POST", f"/v1/devices/{device['id']}/dev/reload", 400, "invalid_payload", json={"params": ["contentId"]})


def test_registry(devbox: tuple[Daemon, FakeRoku, dict[str, Any]]) -> None:
    d, roku, device = devbox
    url = f"/v1/devices/{device['id']}/dev/registry"
    err = d.err("GET", url, 400, "no_dev_channel")  # nothing sideloaded yet
    assert "Plugin dev not found" in err["message"]
    install(d, device["id"], make_zip())
    assert d.ok("GET", url) == {
        "device": device["name"], "dev_id": "12345", "space_available": 32590,
        "sections": [
            {"name": "section One", "items": [{"key": "first key in section one", "value": "value one section one"}]},
            {"name": "section Two", "items": [
                {"key": "first key in section two", "value": "value one section two"},
                {"key": "second key in section two", "value": "value two section two"}]}]}
    roku.keyed = False
    err = d.err("GET", url, 500, "dev_not_keyed")
    assert "Device not keyed" in err["message"] and "Packager" in err["hint"]
    roku.registry_query = False  # older firmware has no such query
    err = d.err("GET", url, 400, "unsupported_operation")
    assert "Roku OS 12 or later" in err["message"]


def test_registry_on_a_device_not_in_developer_mode(inproc: InProcDaemon) -> None:
    roku = FakeRoku("tv").start()
    try:
        device = inproc.add(roku)
        err = inproc.err("GET", f"/v1/devices/{device['id']}/dev/registry", 500, "dev_mode_disabled")
        assert "not in developer mode" in err["message"] and "Home 3x" in err["hint"]
    finally:
        roku.stop()


def test_packages_and_delete(devbox: tuple[Daemon, FakeRoku, dict[str, Any]]) -> None:
    d, roku, device = devbox
    base = f"/v1/devices/{device['id']}/dev"
    assert d.ok("GET", base + "/packages")["packages"] == []
    z = make_zip()
    install(d, device["id"], z)
    kept = d.tmp / "state" / "tvctl" / "dev" / f"{device['id']}.zip"
    assert kept.exists()
    packages = d.ok("GET", base + "/packages")["packages"]
    assert packages == [{"id": "0", "app_type": "channel", "file_name": "some-package.zip", "file_type": "zip",
                         "location": "sdcard", "md5": roku.dev_md5, "size": 455694}]
    r = d.ok("DELETE", base + "/channel")
    assert r == {"device": device["name"], "deleted": True, "messages": []}
    assert roku.uploads[-1] == {"size": 0, "mysubmit": "Delete"}
    assert d.ok("GET", base + "/packages")["packages"] == []
    assert not kept.exists()  # reload must not bring back what was deleted on purpose
    d.err("POST", base + "/reload", 400, "no_dev_channel")
    assert d.ok("DELETE", base + "/channel")["deleted"] is False


def test_packages_and_delete_need_the_password(devbox: tuple[Daemon, FakeRoku, dict[str, Any]]) -> None:
    d, roku, device = devbox
    d.ok("PATCH", "/v1/config", json={"roku.dev_password": ""})
    roku.clear()
    d.err("GET", f"/v1/devices/{device['id']}/dev/packages", 400, "dev_password_missing")
    d.err("DELETE", f"/v1/devices/{device['id']}/dev/channel", 400, "dev_password_missing")
    assert roku.unauthenticated == 0 and roku.uploads == []


# -- the CLI ----------------------------------------------------------------------------------------
def test_cli_search_tv_play(daemon: Daemon, tmp_path: Path) -> None:
    from tests.test_cli import ok_json, run

    roku = FakeRoku("tv", apps=APPS).start()
    steps = tmp_path / "steps.toml"
    steps.write_text(STEPS)
    try:
        daemon.add(roku)
        daemon.ok("PATCH", "/v1/config", json={"roku.search_steps_file": str(steps), "roku.search_wait_s": 0.2})
        roku.clear()
        p = run(daemon, "search", "star", "trek", "--app", "hulu", "--strategy", "in-app")
        assert p.returncode == 0, p.stderr
        assert p.stdout.strip() == "searched in Hulu for 'star trek' (in-app); now showing Hulu"
        assert roku.paths() == ["/launch/2285", "/keypress/Up", *lit("star"), "/keypress/Lit_%20", *lit("trek")]
        p = run(daemon, "search", "x", "--strategy", "browse")
        assert p.stdout.strip() == "searched for 'x' (browse); nothing changed on screen"
        assert run(daemon, "search", "x", "--strategy", "voice").returncode == 2
        assert run(daemon, "tv", "channels").stdout.splitlines() == [
            "CHANNEL  NAME     TYPE         HIDDEN",
            "1.1      WhatsOn  air-digital  no",
            "1.3      QVC      air-digital  no"]
        assert run(daemon, "tv", "tune", "1.1").stdout.strip() == "tuned to 1.1 (WhatsOn)"
        assert ok_json(daemon, "tv", "tune", "1.3")["name"] == "QVC"
        p = run(daemon, "tv", "tune")
        assert p.returncode == 2 and "usage: tvctl tv tune CHANNEL" in p.stderr
        roku.clear()
        p = run(daemon, "play", "http://10.0.0.5/film.mp4", "--title", "Film")
        assert p.stdout.strip() == "playing Film (video)"
        assert roku.paths() == ["/input/15985?t=v&u=http%3A%2F%2F10.0.0.5%2Ffilm.mp4&videoName=Film"]
        p = run(daemon, "play", "ftp://10.0.0.5/film.mp4")
        assert p.returncode == 1 and "invalid" not in p.stdout and "http:// and https://" in p.stderr
        assert "hint:" in p.stderr
        assert run(daemon, "key", "VolumeUp").returncode == 0
        p = run(daemon, "key", "volme-up")
        assert p.returncode == 1 and "Did you mean volume-up" in p.stderr
    finally:
        roku.stop()


def test_cli_dev_workflow(devbox: tuple[Daemon, FakeRoku, dict[str, Any]], tmp_path: Path) -> None:
    from tests.test_cli import run

    daemon, roku, _device = devbox
    z = tmp_path / "channel.zip"
    z.write_bytes(make_zip())
    p = run(daemon, "dev", "install", str(z), "--param", "contentId=42", "--param", "mediaType=movie")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == ("installed: Application Received: 2500809 bytes stored. "
                                "(started with contentId=42, mediaType=movie)")
    assert roku.upload_fields[-1] == {"mysubmit": "Replace", "dev_autolaunch": "0"}
    assert roku.paths()[-1] == "/launch/dev?contentId=42&mediaType=movie"
    p = run(daemon, "dev", "install", str(z), "--param", "contentId")
    assert p.returncode == 2 and "not KEY=VALUE" in p.stderr
    assert run(daemon, "dev", "reload", "--param", "contentId=7").stdout.strip() == \
        "dev channel restarted with contentId=7"
    assert run(daemon, "dev", "registry").stdout.splitlines() == [
        "[section One]", "first key in section one = value one section one",
        "[section Two]", "first key in section two = value one section two",
        "second key in section two = value two section two"]
    assert run(daemon, "dev", "packages").stdout.splitlines()[1].split() == [
        "0", "channel", "some-package.zip", "455694", "sdcard"]
    assert run(daemon, "dev", "delete").stdout.strip() == "sideloaded channel deleted"
    assert run(daemon, "dev", "delete").stdout.strip() == "no sideloaded channel was installed"
    assert run(daemon, "dev", "packages").stdout.strip() == "nothing installed"
    p = run(daemon, "dev", "registry", "extra.zip")
    assert p.returncode == 2 and "takes no file" in p.stderr
    p = run(daemon, "dev", "registry")
    assert p.returncode == 1 and "no sideloaded channel" in p.stderr
