"""Every recorded file, read by the code that reads its kind, one test per file (ids are the file
names). Expected values are read off the recorded files by hand and written out here. The last
test checks that no recorded file is left out (nor left without its attribution)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from tvctl_adapters.roku import devinstall, parse
from tvctl_adapters.roku.devlog import DevConsole
from tvctl_adapters.roku.ecp import RokuAdapter
from tvctl_adapters.roku.errors import DevConsoleBusy

from tvctl.errors import DeviceBadResponse
from tvctl.models import SsdpReply

FIXTURES = Path(__file__).parent / "fixtures" / "roku"


def fx(rel: str) -> bytes:
    return (FIXTURES / rel).read_bytes()


DEVICE_INFO = {  # file: (serial, model, kind, wake MAC, power mode, developer mode, user name)
    "box_roku-express-3900X_os9.2.0.xml": ("YG00AE419756", "3900X", "box", "d8:31:34:85:54:45", "PowerOn", False,
                                           "NNB CT"),
    "box_roku-ultra-4660X_os9.3.0_devmode-redacted.xml": ("123", "4660X", "box", "e8:31:34:36:2d:2e", "PowerOn",
                                                          True, "Brian's Roku Ultra"),
    "box_roku3-4200X_os7.5.0_power-off.xml": ("1GU48T017973", "4200X", "box", "b0:a7:37:96:4d:fa", "PowerOff", True,
                                              "My Roku 3"),
    "box_roku3-4200X_os7.5.0_power-ready.xml": ("1GU48T017973", "4200X", "box", "b0:a7:37:96:4d:fa", "Ready", True,
                                                "My Roku 3"),
    "stick_roku-stick-3500X_os10.0.0.xml": ("2L647N055555", "3500X", "stick", "b0:a7:37:6a:ec:2d", "PowerOn", False,
                                            "My Roku Stick"),
    "tv_onn-7820X_os9.2.0.xml": ("YN00H5555555", "7820X", "tv", "d8:13:99:f8:b0:c6", "PowerOn", False,
                                 '58" Onn Roku TV'),
    "tv_onn-D803X_os10.0.0.xml": ("X00755550DCH", "D803X", "tv", "d4:ab:cd:2f:6b:55", "PowerOn", False,
                                  '42" Onn Roku TV'),
    "tv_tcl-C147X_os11.5.0_no-user-name.xml": ("X000008YG08J", "C147X", "tv", "d4:ab:cd:f8:e1:d5", "PowerOn", False,
                                               None),
}


@pytest.mark.parametrize("name", sorted(DEVICE_INFO))
def test_device_info(name: str) -> None:
    info = parse.device_info(fx(f"device-info/{name}"))
    assert (info.serial, info.model, info.kind, info.wake_mac, info.power_mode, info.developer_enabled,
            info.user_name) == DEVICE_INFO[name]


ACTIVE_APP = {  # file: (kind, id, name, platform id, screensaver)
    "app_amazon.xml": ("app", "amazon-video-on-demand", "Amazon Video on Demand", "13", None),
    "app_netflix.xml": ("app", "netflix", "Netflix", "12", None),
    "app_pluto-with-subtype.xml": ("app", "pluto-tv-its-free-tv", "Pluto TV - It's Free TV", "74519", None),
    "home_legacy-no-id.xml": ("home", None, "Home", None, None),
    "screensaver_default.xml": ("screensaver", None, "Home", None, "Default screensaver"),
    "screensaver_third-party.xml": ("screensaver", None, "Home", None, "Neon Party Games Screensaver"),
    "tv_input-dtv-antenna.xml": ("tv-input", "antenna-tv", "Antenna TV", "tvinput.dtv", None),
}


@pytest.mark.parametrize("name", sorted(ACTIVE_APP))
def test_active_app(name: str) -> None:
    a = parse.active_app(fx(f"active-app/{name}"))
    assert (a.kind, a.id, a.name, a.platform_id, a.screensaver) == ACTIVE_APP[name]


MEDIA = {  # file: (state, app platform id, position ms, duration ms, live)
    "amazon_pause.xml": ("pause", "13", 139051, None, False),
    "amazon_play.xml": ("play", "13", 31820, None, False),
    "closed.xml": ("close", None, None, None, False),
    "dev-channel_play-dash-widevine.xml": ("play", "dev", 12012, 10570977, False),
    "pluto_pause-hls.xml": ("pause", "74519", 313813, 6496762, False),
    "pluto_play-hls.xml": ("play", "74519", 38813, 6496762, False),
    "pluto_play-live.xml": ("play", "74519", 73313, 95000, True),
}


@pytest.mark.parametrize("name", sorted(MEDIA))
def test_media_player(name: str) -> None:
    m = parse.media_player(fx(f"media-player/{name}"))
    assert (m.state, m.app_platform_id, m.position_ms, m.duration_ms, m.live) == MEDIA[name]
    assert m.error is False


def test_single_entry_app_list() -> None:
    apps = parse.apps(fx("apps/apps_single-entry.xml"))
    assert len(apps) == 1 and apps[0].platform_id and apps[0].name


def ssdp_reply(raw: bytes, source: str) -> SsdpReply:
    head = raw.decode("utf-8").replace("\r\n", "\n").split("\n")[1:]
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head) if k.strip()}
    return SsdpReply(source=source, headers=headers)


SSDP = {  # file: the serial a Roku ECP sighting carries, or None for other search targets
    "msearch-response_os11.5.0_device-a_st-dial.txt": None,
    "msearch-response_os11.5.0_device-a_st-roku-ecp.txt": "X000008HLY9X",
    "msearch-response_os11.5.0_device-a_st-upnp-rootdevice.txt": None,
    "msearch-response_os11.5.0_device-b_st-roku-ecp.txt": "YK00HD760105",
    "msearch-response_os11.5.0_device-b_st-upnp-rootdevice.txt": None,
    "msearch-response_os8.0.0_st-roku-ecp.txt": "YU00J2327631",
}


@pytest.mark.parametrize("name", sorted(p.name for p in (FIXTURES / "ssdp").iterdir()))
def test_ssdp_replies(name: str) -> None:
    seen = RokuAdapter.recognise_ssdp(ssdp_reply(fx(f"ssdp/{name}"), "192.168.1.2"))
    assert (seen.serial_hint if seen else None) == SSDP[name]


TV_CHANNELS = {  # file: [(number, name, type, hidden)]
    "tv-channels.xml": [("1.1", "WhatsOn", "air-digital", False), ("1.3", "QVC", "air-digital", False)],
    "tv-channels_empty.xml": [],
    "tv-channels_single.xml": [("1.1", "WhatsOn", "air-digital", False)],
}


@pytest.mark.parametrize("name", sorted(TV_CHANNELS))
def test_tv_channels(name: str) -> None:
    got = [(c.number, c.name, c.type, c.hidden) for c in parse.tv_channels(fx(f"tv/{name}"))]
    assert got == TV_CHANNELS[name]


ECP_DEVMODE = {  # file: what the parser gives, or the error message it raises
    "app-state_dev_active.xml": ("dev", "my app", "10.0.0", "active"),
    "app-state_failed_app-not-found.xml": "The device refused the app-state query: App not found.",
    "registry_dev_two-sections.xml": ("12345", 32590, [
        ("section One", [("first key in section one", "value one section one")]),
        ("section Two", [("first key in section two", "value one section two"),
                         ("second key in section two", "value two section two")])]),
    "registry_failed_device-not-keyed.xml": "The device refused the registry query: Device not keyed.",
    "registry_failed_not-in-dev-mode.xml": "The device refused the registry query: Plugin dev not found.",
    "exit-app_ok.xml": None,  # served by tests/fakeroku.py to the stop and reload tests
    "exit-app_failed_app-not-found.xml": None,
}


@pytest.mark.parametrize("name", sorted(ECP_DEVMODE))
def test_ecp_developer_queries(name: str) -> None:
    want = ECP_DEVMODE[name]
    body = fx(f"ecp-devmode/{name}")
    if want is None:
        assert b"<status>" in body
        return
    read = parse.app_state if name.startswith("app-state") else parse.dev_registry
    if isinstance(want, str):
        with pytest.raises(DeviceBadResponse) as err:
            read(body)
        assert err.value.message == want
    elif name.startswith("app-state"):
        st = parse.app_state(body)
        assert (st.app_id, st.title, st.version, st.state) == want
    else:
        reg = parse.dev_registry(body)
        assert (reg.dev_id, reg.space_available, reg.sections) == want


def test_dial_app_status() -> None:
    assert parse.dial_app_state(fx("dial/dial-app-status_youtube-stopped.xml")) == ("YouTube", "stopped")


UPNP = {  # file: (friendly name, manufacturer, model name, model number, serial, udn)
    "root-description_box_roku-express-3900X.xml": ("NNB CT", "Roku", "Roku Express", "3900X", "YG00AE419756",
                                                    "uuid:295c0011-5406-1067-80ac-d83134855445"),
    "root-description_tv_sharp-7000X.xml": ("Whcowork TV", "Roku", "LC-55LBU591U", "7000X", "YN00RW847759",
                                            "uuid:29780022-9c0c-10ef-808f-00f48d382d34"),
}


@pytest.mark.parametrize("name", sorted(UPNP))
def test_upnp_root_description(name: str) -> None:
    d = parse.upnp_description(fx(f"upnp/{name}"))
    assert (d.friendly_name, d.manufacturer, d.model_name, d.model_number, d.serial, d.udn) == UPNP[name]
    assert d.service_types == ("urn:roku-com:service:ecp:1", "urn:dial-multiscreen-org:service:dial:1")


def test_digest_challenge() -> None:
    head = fx("devinstaller/unauthorized_401_digest-challenge_simplified.http").decode()
    status = head.split("\r\n" if "\r\n" in head else "\n")[0]
    challenge = re.search(r"^www-authenticate: (.+?)\r?$", head, re.M | re.I)
    assert status == "HTTP/1.1 401 Unauthorized" and challenge is not None
    assert devinstall._parse_challenge(challenge.group(1)) == {"realm": "rokudev"}


# -- ecp2/: one TCL Roku TV (OS 15.3.4) in each network-access mode, over HTTP and the ecp-2 session ------
def recorded_reply(rel: str) -> tuple[tuple[str, str, str, str, str | None], bytes]:
    """A recorded ecp-2 reply: (response, response-id, status, status-msg, content-type) and its document."""
    r = json.loads(fx(rel))
    data = base64.b64decode(r["content-data"], validate=True) if "content-data" in r else b""
    return (r["response"], r["response-id"], r["status"], r["status-msg"], r.get("content-type")), data


XML_UTF8 = 'text/xml; charset="utf-8"'


def test_ecp2_challenge_is_answered_with_the_mobile_app_key() -> None:
    challenge = json.loads(fx("ecp2/tcl-roku-tv-32s357-enabled/challenge.json"))
    assert challenge == {"notify": "authenticate", "param-challenge": "dHZlbXUtY2hhbGxlbmdlIQ==",
                         "param-methods": ["client-id", "jwt"], "timestamp": "2535.064"}
    # the key as the reference gives it, and as the app stores it (each hex digit n as (24 - n) mod 16)
    stored = "95E610D0-7C29-44EF-FB0F-97F1FCE4C297"
    key = "".join(c if c == "-" else f"{(24 - int(c, 16)) % 16:X}" for c in stored)
    assert key == "F3A278B8-1C6F-44A9-9D89-F1979CA4C6F1"
    digest = hashlib.sha1(challenge["param-challenge"].encode("utf-8") + key.encode("ascii")).digest()
    assert base64.b64encode(digest).decode() == "SZjg3gAnufgAB4lIYHaao22f3cQ="
    assert json.loads(fx("ecp2/tcl-roku-tv-32s357-enabled/authenticate.json")) == {
        "request": "authenticate", "request-id": "1", "param-response": "SZjg3gAnufgAB4lIYHaao22f3cQ="}
    assert recorded_reply("ecp2/tcl-roku-tv-32s357-disabled/authenticate-response.json") == (
        ("authenticate", "1", "200", "OK", None), b"")


ECP2_DEVICE_INFO = {  # file: the ecp-setting-mode it reports (the access mode of its folder)
    "ecp2/tcl-roku-tv-32s357-enabled/device-info.xml": "enabled",
    "ecp2/tcl-roku-tv-32s357-enabled/ws-query-device-info-response.json": "enabled",
    "ecp2/tcl-roku-tv-32s357-15-3-4/device-info.xml": "limited",
    "ecp2/tcl-roku-tv-32s357-15-3-4/query-device-info-response.json": "limited",
    "ecp2/tcl-roku-tv-32s357-disabled/query-device-info-response.json": "disabled",
}


@pytest.mark.parametrize("rel", sorted(ECP2_DEVICE_INFO))
def test_ecp2_device_info_in_each_access_mode(rel: str) -> None:
    body = fx(rel)
    if rel.endswith(".json"):
        meta, body = recorded_reply(rel)
        assert meta == ("query-device-info", "2", "200", "OK", XML_UTF8)
        # only the session's copy adds virtual-device-id (after udn)
        added = re.findall(rb"</udn>\s*<virtual-device-id>([^<]*)</virtual-device-id>", body)
        assert added == [b"E0MU0000000000000025"]
    else:
        assert b"virtual-device-id" not in body
    info = parse.device_info(body)
    assert (info.serial, info.model, info.kind, info.wake_mac, info.power_mode, info.developer_enabled,
            info.user_name) == ("X02000EM0025", "H104X", "tv", "02:00:00:00:00:25", "PowerOn", True,
                                "TCL Roku TV 32S357")
    assert re.findall(rb"<udn>([^<]*)</udn>", body) == [b"28002000-0000-1000-8000-020000000025"]
    assert re.findall(rb"<software-version>([^<]*)</software-version>", body) == [b"15.3.4"]
    assert re.findall(rb"<ecp-setting-mode>([^<]*)</ecp-setting-mode>", body) == [ECP2_DEVICE_INFO[rel].encode()]


def test_ecp2_app_list_over_both_wires() -> None:
    http_xml = fx("ecp2/tcl-roku-tv-32s357-enabled/apps.xml")
    apps = [(a.platform_id, a.name, a.type) for a in parse.apps(http_xml)]
    assert len(apps) == 26
    assert apps[:6] == [("tvinput.hdmi1", "HDMI\u00a01", "tvin"), ("tvinput.hdmi2", "Roku", "tvin"),
                        ("tvinput.hdmi3", "HDMI\u00a03\u00a0(ARC)", "tvin"), ("tvinput.cvbs", "AV", "tvin"),
                        ("tvinput.dtv", "Live\u00a0TV", "tvin"), ("12", "Netflix", "appl")]
    assert apps[-1] == ("dev", "Sideloaded development channel", "appl")
    assert b"subtype" not in http_xml
    meta, session_xml = recorded_reply("ecp2/tcl-roku-tv-32s357-15-3-4/query-apps-response.json")
    assert meta == ("query-apps", "4", "200", "OK", XML_UTF8)
    # the session's list is the same list, with a subtype on each of the 21 channels (not on inputs)
    assert re.findall(rb'type="appl" subtype="(ndka|rsga|sdka)"', session_xml)[:3] == [b"ndka", b"ndka", b"rsga"]
    assert len(re.findall(rb" subtype=", session_xml)) == 21
    assert re.sub(rb' subtype="[a-z]+"', b"", session_xml) == http_xml


def test_ecp2_home_screen_documents() -> None:
    a = parse.active_app(fx("ecp2/tcl-roku-tv-32s357-enabled/active-app.xml"))
    assert (a.kind, a.id, a.name, a.platform_id, a.screensaver) == ("home", None, "Home", None, None)
    player = fx("ecp2/tcl-roku-tv-32s357-enabled/media-player.xml")
    m = parse.media_player(player)
    assert (m.state, m.app_platform_id, m.position_ms, m.duration_ms, m.error) == ("none", "native-ui", None, None,
                                                                                  False)
    meta, over_session = recorded_reply("ecp2/tcl-roku-tv-32s357-enabled/ws-query-media-player-response.json")
    assert meta == ("query-media-player", "5", "200", "OK", XML_UTF8)
    assert over_session == player  # byte for byte the document HTTP gave


def test_ecp2_session_only_documents() -> None:
    meta, textedit = recorded_reply("ecp2/tcl-roku-tv-32s357-enabled/ws-query-textedit-state-response.json")
    assert meta == ("query-textedit-state", "6", "200", "OK", 'application/json; charset="utf-8"')
    assert json.loads(textedit) == {"textedit-state": {"textedit-id": "none"}}
    meta, audio = recorded_reply("ecp2/tcl-roku-tv-32s357-15-3-4/query-audio-device-response.json")
    assert meta == ("query-audio-device", "7", "200", "OK", XML_UTF8)
    a = parse.audio_device(audio)
    assert (a.volume, a.muted) == (9, False)
    assert re.findall(rb'<destination name="(\w+)">\s*<muted>(\w+)</muted>\s*<volume>(\d+)</volume>', audio) == [
        (b"speakers", b"false", b"9"), (b"spdif", b"false", b"100"), (b"lineout", b"false", b"100")]
    assert recorded_reply("ecp2/tcl-roku-tv-32s357-enabled/ws-key-up-unheld-response.json") == (
        ("key-up", "12", "202", "Accepted", None), b"")


ECP2_REPLIES = [
    *sorted(rel for rel in ECP2_DEVICE_INFO if rel.endswith(".json")),
    "ecp2/tcl-roku-tv-32s357-15-3-4/query-apps-response.json",
    "ecp2/tcl-roku-tv-32s357-15-3-4/query-audio-device-response.json",
    "ecp2/tcl-roku-tv-32s357-disabled/authenticate-response.json",
    "ecp2/tcl-roku-tv-32s357-enabled/ws-key-up-unheld-response.json",
    "ecp2/tcl-roku-tv-32s357-enabled/ws-query-media-player-response.json",
    "ecp2/tcl-roku-tv-32s357-enabled/ws-query-textedit-state-response.json",
]


@pytest.mark.parametrize("rel", ECP2_REPLIES)
def test_ecp2_replies_are_compact_with_sorted_keys(rel: str) -> None:
    reply: dict[str, Any] = json.loads(fx(rel))
    assert fx(rel).rstrip(b"\n") == json.dumps(reply, sort_keys=True, separators=(",", ":")).encode()


def test_ecp2_limited_mode_refusal() -> None:
    assert fx("ecp2/tcl-roku-tv-32s357-15-3-4/limited-refusal.txt") == b"ECP command not allowed in Limited mode."
    assert fx("ecp-errors/limited-mode_403_body.txt") == b"ECP command not allowed in Limited mode."


def test_ecp2_device_description_answers_in_disabled_mode() -> None:
    body = fx("ecp2/tcl-roku-tv-32s357-disabled/device-description.xml")
    d = parse.upnp_description(body)
    assert (d.friendly_name, d.manufacturer, d.model_name, d.model_number, d.serial, d.udn) == (
        "TCL Roku TV 32S357", "TCL", "H104X", "H104X", "X02000EM0025", "uuid:28002000-0000-1000-8000-020000000025")
    assert d.service_types == ("urn:roku-com:service:ecp:1", "urn:dial-multiscreen-org:service:dial:1")
    assert body.count(b"\r\n") == body.count(b"\n") == 44  # CRLF line endings, as recorded


def test_ecp2_notice_travels_with_the_captures() -> None:
    notice = fx("ecp2/NOTICE").decode()
    assert notice.splitlines()[:2] == ["Smart TV Emulator", "Copyright 2026 Oleg Marchik"]
    assert "Apache License, Version 2.0" in notice


MDNS = {"airplay-display_roku-tv_hisense-G220X_records.json"}  # read by tests/test_registry_discovery.py


def test_every_recorded_file_is_read_and_attributed() -> None:
    """Each file under tests/fixtures is named in a test (its id or a literal), and SOURCES.md says
    where each folder of recordings came from."""
    tests = "".join(p.read_text() for p in Path(__file__).parent.glob("*.py"))
    unread = [p.relative_to(FIXTURES).as_posix() for p in sorted(FIXTURES.rglob("*"))
              if p.is_file() and p.name != "SOURCES.md" and p.name not in tests]
    assert unread == []
    sources = (FIXTURES / "SOURCES.md").read_text()
    for folder in sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()):
        assert f"{folder}/" in sources, f"SOURCES.md does not say where {folder}/ came from"


DEVLOG = {  # file: (lines the console reader gives, first line, last line); None: the console is busy
    "console_chanperf-repeat.log": (40, "channel: Start",
                                    "channel: mem=71676KiB{anon=46324,file=25104,shared=248},%cpu=3{user=2,sys=1}"),
    "console_compile-error_error-loading-file.log": (
        15, "03-25 13:48:30.501 [beacon.signal] |AppLaunchInitiate ---------> TimeBase(0 ms)",
        "-------> Compilation Failed."),
    "console_compile-error_syntax.log": (
        18, "10-05 18:03:33.677 [beacon.signal] |AppCompileInitiate --------> TimeBase(0 ms)", "MainScene"),
    "console_compile-error_xml-parse-with-warnings.log": (
        20, "08-25 19:03:56.531 [beacon.signal] |AppLaunchInitiate ---------> TimeBase(0 ms)",
        "-------> Error parsing XML component Foo.xml"),
    "console_complib-compile-error_app-exit-beacons.log": (
        48, "10-06 19:37:12.462 [beacon.signal] |AppLaunchInitiate ---------> TimeBase(0 ms)",
        "10-06 19:37:14.515 [beacon.footer] __________________________________________"),
    "console_debugger-prompt_thread-attached.txt": (8, "Warning: operation may not be interruptible.", ""),
    "console_rendezvous-logging.log": (
        41, "channel: Start", "06-18 19:06:20.206 [sg.node.UNBLOCK] Rendezvous[31233] completed in 0.008 s"),
    "console_second-client_in-use.txt": None,
    "console_sideload-launch_success_app-and-sdkl-tags.log": (
        15, "03-20 14:33:26.231 app  [beacon.signal] |AppLaunchInitiate ---------> TimeBase(0 ms)",
        "03-20 14:33:27.979 sdkl [plg.dbg.conn.ok] remote debugger connected"),
    "console_sideload-launch_success_running.log": (
        16, "03-26 23:57:28.111 [beacon.signal] |AppLaunchInitiate ---------> TimeBase(0)",
        "------ Running dev 'sampleApp' main ------"),
}


@pytest.mark.parametrize("name", sorted(DEVLOG))
async def test_devlog_console_reads_each_recording(name: str) -> None:
    """The console reader, connected over TCP to a server that sends the recording in 5-byte
    writes (lines split anywhere, CRLF split from its LF), gives back exactly its lines."""
    data = fx(f"devlog/{name}")
    done = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for i in range(0, len(data), 5):
            writer.write(data[i : i + 5])
            await writer.drain()
        await done.wait()  # keep the connection open, as a running Roku does
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    console = DevConsole("127.0.0.1", lambda: port, lambda: 2000, "test roku")
    try:
        want = DEVLOG[name]
        if want is None:
            with pytest.raises(DevConsoleBusy):
                await console.ensure_started()
            return
        count, first, last = want
        await console.ensure_started()
        got: list[str] = []
        async with asyncio.timeout(10):
            async for line in console.follow(0):  # every line since the first, then new ones
                got.append(line.text)
                if len(got) == count:
                    break
        assert (len(got), got[0], got[-1]) == (count, first, last)
        assert console.seq == count  # and nothing more was made of it
    finally:
        done.set()
        await console.close()
        server.close()
        await server.wait_closed()
