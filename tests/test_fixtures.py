"""Every recorded reply of the kinds tvctl reads, parsed by the Roku platform, one test per file
(ids are the file names). Expected values are read off the recorded files by hand and written
out here. Recorded files of kinds no code reads yet (tv-channels, dev registry, DIAL, UPnP
descriptions, installer package lists) are for the Roku feature issue still open."""

from __future__ import annotations

from pathlib import Path

import pytest
from tvctl_adapters.roku import parse
from tvctl_adapters.roku.ecp import RokuAdapter

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
