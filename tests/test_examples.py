"""The README's Home Assistant and browser-dashboard examples, exercised for real.

The browser test runs headless Chromium against pages served from two loopback origins: the one
allowed in ``daemon.cors_allowed_origins`` presses a key with the README's ``fetch``; the other
(a page the user merely visits) tries the same, plus a no-preflight ``text/plain`` POST, and
must not reach the TV.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from http.server import ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.conftest import Daemon
from tests.fakeroku import FakeRoku

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_home_assistant_rest_command(daemon: Daemon, roku: FakeRoku) -> None:
    block = re.search(r"```yaml\n(.*?)```", README, re.S)
    assert block is not None
    yaml = block.group(1)
    url = re.search(r'url: "([^"]+)"', yaml).group(1)  # type: ignore[union-attr]
    method = re.search(r"method: (\w+)", yaml).group(1)  # type: ignore[union-attr]
    ctype = re.search(r'content_type: "([^"]+)"', yaml).group(1)  # type: ignore[union-attr]
    payload = re.search(r"payload: '([^']+)'", yaml).group(1)  # type: ignore[union-attr]
    dev = daemon.add(roku)
    daemon.ok("PATCH", f"/v1/devices/{dev['id']}", json={"name": "living-room"})
    roku.clear()
    # what Home Assistant sends: the template rendered, no Origin header
    r = httpx.request(method, url.replace("127.0.0.1:7272", f"127.0.0.1:{daemon.port}"),
                      content=payload.replace("{{ key }}", "home").encode(), headers={"Content-Type": ctype})
    assert r.status_code == 200 and r.json()["ok"] is True
    assert roku.paths() == ["/keypress/Home"]


PAGE = """<!doctype html><html><body><pre id="out">pending</pre><script>
(async () => {
  const out = document.getElementById("out");
  const url = "@@API@@";
  try {
    @@FETCH@@
    out.textContent = "ok:" + JSON.stringify(body);
  } catch (e) {
    out.textContent = "blocked:" + e.name;
  }
  try {  // the no-preflight kind of request any page can send
    await fetch(url, {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"},
                      body: JSON.stringify({key: "up"})});
  } catch (e) {}
  out.dataset.done = "1";
})();
</script></body></html>"""


def readme_fetch() -> str:
    block = re.search(r"```js\n(.*?)```", README, re.S)
    assert block is not None
    js = block.group(1)
    js = re.sub(r'fetch\("http://127\.0\.0\.1:7272/v1/devices/living-room/remote/key"', "fetch(url", js)
    assert "fetch(url" in js
    return "\n".join(line for line in js.splitlines() if not line.startswith("//"))


def chromium_dom(url: str, profile: Path) -> str:
    assert CHROMIUM is not None
    p = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={profile}", "--virtual-time-budget=8000", "--dump-dom", url],
                       capture_output=True, text=True, timeout=90)
    return p.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_browser_dashboard_allowed_and_foreign_origin(
        daemon: Daemon, roku: FakeRoku, tmp_path: Path,
        page_server: tuple[tuple[ThreadingHTTPServer, ThreadingHTTPServer], dict[str, bytes]]) -> None:
    (allowed, foreign), pages = page_server
    allowed_origin = f"http://127.0.0.1:{allowed.server_address[1]}"
    foreign_origin = f"http://127.0.0.1:{foreign.server_address[1]}"
    dev = daemon.add(roku)
    daemon.ok("PATCH", f"/v1/devices/{dev['id']}", json={"name": "living-room"})
    daemon.ok("PATCH", "/v1/config", json={"daemon.cors_enabled": True,
                                           "daemon.cors_allowed_origins": [allowed_origin]})
    api = f"http://127.0.0.1:{daemon.port}/v1/devices/living-room/remote/key"
    pages["/"] = PAGE.replace("@@API@@", api).replace("@@FETCH@@", readme_fetch()).encode()
    # the dashboard on the allowed origin presses a key and reads the envelope
    roku.clear()
    dom = chromium_dom(allowed_origin + "/", tmp_path / "p1")
    assert 'data-done="1"' in dom, dom
    assert 'ok:{"ok":true' in dom
    assert roku.paths()[0] == "/keypress/Home"
    # a page on any other origin gets nothing through, not even the no-preflight text/plain POST
    roku.clear()
    dom = chromium_dom(foreign_origin + "/", tmp_path / "p2")
    assert 'data-done="1"' in dom, dom
    assert "blocked:TypeError" in dom
    assert roku.paths() == []
