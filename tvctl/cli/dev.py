"""Developer mode and screenshots: tvctl dev (install, which streams the upload, reload, logs,
registry, packages, delete, screenshot) and tvctl screenshot."""

from __future__ import annotations

import argparse
import os
import sys

from tvctl.cli.common import Usage, _device_name, _device_path, _params, _shows_progress
from tvctl.cli.output import _print, _table
from tvctl.client import urlencode
from tvctl.operations import DEV_DELETE, DEV_PACKAGES, DEV_REGISTRY, DEV_RELOAD

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tvctl.client import Client


def cmd_dev(c: Client, a: argparse.Namespace) -> None:
    base = f"/v1/devices/{_device_path(a)}/dev"
    if a.action != "install" and a.archive:
        raise Usage(f"tvctl dev {a.action} takes no file (got {a.archive!r})")
    if a.action not in ("install", "reload") and a.param:
        raise Usage("--param goes with dev install or dev reload")
    if a.action == "logs":
        q: dict[str, Any] = {}
        if a.lines:
            q["lines"] = a.lines
        if a.follow:
            for _event, data in c.stream(f"{base}/logs?follow=true" + (f"&{urlencode(q)}" if q else "")):
                print(data.get("text", ""), flush=True)
            return
        d = c.request("GET", f"{base}/logs" + (f"?{urlencode(q)}" if q else ""))
        if d["lines"] or a.json:
            _print(a, d, "\n".join(line["text"] for line in d["lines"]))
        else:
            print("(no log lines yet)", file=sys.stderr)
    elif a.action == "reload":
        params = _params(a.param)
        d = c.perform(DEV_RELOAD, _device_name(a), {"params": params or None})
        _print(a, d, "dev channel restarted" + (f" with {_joined(params)}" if params else ""))
    elif a.action == "registry":
        d = c.perform(DEV_REGISTRY, _device_name(a))
        lines = [f"[{sec['name']}]" + "".join(f"\n{i['key']} = {i['value']}" for i in sec["items"])
                 for sec in d["sections"]]
        _print(a, d, "\n".join(lines) if lines else "the registry is empty")
    elif a.action == "packages":
        d = c.perform(DEV_PACKAGES, _device_name(a))
        _print(a, d, _table([[p["id"], p["app_type"], p.get("file_name") or "", str(p.get("size") or ""),
                              p.get("location") or ""] for p in d["packages"]],
                            ["ID", "TYPE", "FILE", "BYTES", "WHERE"]) if d["packages"] else "nothing installed")
    elif a.action == "delete":
        d = c.perform(DEV_DELETE, _device_name(a))
        _print(a, d, "sideloaded channel deleted" if d["deleted"] else "no sideloaded channel was installed")
    elif a.action == "screenshot":
        _save_screenshot(c, a, f"{base}/screenshot")
    elif a.action == "install":
        if not a.archive:
            raise Usage("usage: tvctl dev install CHANNEL.zip [--param KEY=VALUE …]")
        d = _upload(c, base + "/install", a.archive, _params(a.param), args=a)
        _print(a, d, f"{d['result']}: " + "; ".join(m["text"] for m in d.get("messages", []))
               + (f" (started with {_joined(d['launched'])})" if d.get("launched") else ""))


def _joined(params: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


def _save_screenshot(c: Client, a: argparse.Namespace, url: str) -> None:
    raw, ctype = c.request_bytes("GET", url)
    out = a.output or ("shot.png" if "png" in ctype else "shot.jpg")
    with open(out, "wb") as fh:
        fh.write(raw)
    _print(a, {"path": out, "bytes": len(raw), "content_type": ctype}, f"saved {out} ({len(raw)} bytes)")


def cmd_screenshot(c: Client, a: argparse.Namespace) -> None:
    from tvctl.client import urlencode

    asked = {k: v for k, v in (("display", a.display), ("session", a.session), ("format", a.format)) if v is not None}
    which = f"?{urlencode(asked)}" if asked else ""
    _save_screenshot(c, a, f"/v1/devices/{_device_path(a)}/screenshot{which}")


def _upload(c: Client, url: str, path: str, fields: dict[str, str] | None = None, *,
            args: argparse.Namespace) -> Any:
    """Stream ``path`` as multipart field ``archive`` after ``fields``; progress on stderr when it is
    a terminal."""
    try:
        size = os.path.getsize(path)
        fh = open(path, "rb")  # noqa: SIM115 (closed below, after the streamed request)
    except OSError as exc:
        raise Usage(f"cannot read {path}: {exc.strerror}") from exc
    from tvctl.multipart import FormFraming

    form = FormFraming(fields or {}, "archive", os.path.basename(path))
    head, tail = form.head, form.tail
    show = _shows_progress(args)

    class Body:
        """head, then the file in chunks, then tail; reports progress as it goes."""

        def __init__(self) -> None:
            self.parts = [head, None, tail]
            self.sent = 0

        def read(self, n: int) -> bytes:
            while self.parts:
                part = self.parts[0]
                if part is None:
                    chunk = fh.read(n)
                    if chunk:
                        self.sent += len(chunk)
                        if show:
                            print(f"\ruploading {self.sent * 100 // max(size, 1)}%", end="", file=sys.stderr)
                        return chunk
                    self.parts.pop(0)
                    continue
                self.parts.pop(0)
                return part
            return b""

    try:
        return c.request("POST", url, raw_body=Body(), headers={  # type: ignore[arg-type]
            "Content-Type": form.content_type, "Content-Length": str(form.length(size))})
    finally:
        fh.close()
        if show:
            print(file=sys.stderr)
