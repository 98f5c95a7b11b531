"""Headless Chromium driven over the DevTools protocol (aiohttp's WebSocket client, no extra
package, nothing downloaded): open a page, click at an element's centre with real mouse events,
type with real key input, read the DOM, collect console errors, take screenshots."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-port=0"]


class Page:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self.errors: list[str] = []  # console errors and uncaught exceptions
        # The page's JavaScript dialogs (confirm, alert): (type, message) as each opened, answered as a
        # person would with the next of dialog_answers (dismissed when none is left).
        self.dialogs: list[tuple[str, str]] = []
        self.dialog_answers: list[bool] = []
        self._dialog = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            doc = json.loads(msg.data)
            if "id" in doc and doc["id"] in self._waiting:
                self._waiting.pop(doc["id"]).set_result(doc)
            elif doc.get("method") == "Runtime.exceptionThrown":
                self.errors.append(doc["params"]["exceptionDetails"].get("text", "exception"))
            elif doc.get("method") == "Runtime.consoleAPICalled" and doc["params"]["type"] == "error":
                self.errors.append(" ".join(str(a.get("value", a.get("description"))) for a in doc["params"]["args"]))
            elif doc.get("method") == "Log.entryAdded" and doc["params"]["entry"]["level"] == "error":
                self.errors.append(doc["params"]["entry"]["text"])
            elif doc.get("method") == "Page.javascriptDialogOpening":
                self.dialogs.append((doc["params"]["type"], doc["params"]["message"]))
                accept = self.dialog_answers.pop(0) if self.dialog_answers else False
                await self.ws.send_str(json.dumps({"id": next(self._ids), "method": "Page.handleJavaScriptDialog",
                                                   "params": {"accept": accept}}))
                self._dialog.set()

    async def send(self, method: str, **params: Any) -> Any:
        n = next(self._ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[n] = fut
        await self.ws.send_str(json.dumps({"id": n, "method": method, "params": params}))
        doc = await asyncio.wait_for(fut, 30)
        if "error" in doc:
            raise RuntimeError(f"{method}: {doc['error']}")
        return doc.get("result", {})

    async def wait_dialogs(self, count: int, timeout: float = 10) -> None:
        """Until ``count`` dialogs have opened."""
        async with asyncio.timeout(timeout):
            while len(self.dialogs) < count:
                self._dialog.clear()
                await self._dialog.wait()

    async def eval(self, expression: str) -> Any:
        out = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in out:
            raise RuntimeError(f"{expression}: {out['exceptionDetails']}")
        return out["result"].get("value")

    async def wait(self, expression: str, timeout: float = 10) -> Any:
        """Poll a JavaScript condition in the page until it is truthy; on a timeout, say what the
        page shows (its text) and what went wrong in it (console errors)."""
        try:
            async with asyncio.timeout(timeout):
                while not (value := await self.eval(expression)):
                    await asyncio.sleep(0.05)
                return value
        except TimeoutError:
            shown = await self.eval("document.body ? document.body.innerText.slice(0, 400) : ''")
            raise AssertionError(f"timed out waiting for {expression}; the page shows {shown!r}; "
                                 f"errors {self.errors}") from None

    async def click(self, selector: str) -> None:
        """A real mouse click at the element's centre, once the element is where it will stay (images
        loading above it move it) and nothing else is on top of it."""
        sel = json.dumps(selector)
        box = await self.wait(f"""(() => {{
            const e = document.querySelector({sel});
            if (!e || e.offsetParent === null) return null;
            e.scrollIntoView({{block: "center"}});
            const r = e.getBoundingClientRect(), x = r.x + r.width / 2, y = r.y + r.height / 2;
            const key = [Math.round(x), Math.round(y)].join();
            const hit = document.elementFromPoint(x, y);
            const steady = window.__lastBox === key && hit !== null && (hit === e || e.contains(hit));
            window.__lastBox = key;
            return steady ? [x, y] : null;
        }})()""")
        for kind in ("mousePressed", "mouseReleased"):
            await self.send("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    async def type(self, selector: str, text: str) -> None:
        await self.click(selector)
        await self.send("Input.insertText", text=text)

    async def screenshot(self, path: Path, width: int, height: int, mobile: bool = False) -> None:
        await self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                        mobile=mobile)
        out = await self.send("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(out["data"]))


class Browser:
    def __init__(self, profile: Path) -> None:
        assert CHROMIUM is not None
        self.profile = profile
        self.proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.session = aiohttp.ClientSession()
        self.port = 0
        self.pages: list[Page] = []

    async def start(self) -> Browser:
        port_file = self.profile / "DevToolsActivePort"
        async with asyncio.timeout(30):
            while not port_file.exists() or not port_file.read_text().strip():
                await asyncio.sleep(0.05)
        self.port = int(port_file.read_text().split()[0])
        return self

    async def open(self, url: str) -> Page:
        async with self.session.put(f"http://127.0.0.1:{self.port}/json/new?about:blank") as r:
            target = await r.json()
        ws = await self.session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=64 << 20)
        page = Page(ws)
        for domain in ("Runtime.enable", "Log.enable", "Page.enable"):
            await page.send(domain)
        await page.send("Page.navigate", url=url)
        await page.wait("document.readyState === 'complete'")
        self.pages.append(page)
        return page

    async def close(self) -> None:
        for p in self.pages:
            await p.ws.close()
            p._reader.cancel()
        await self.session.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
