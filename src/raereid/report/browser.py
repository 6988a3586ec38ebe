"""Open a report in headless Chromium and check it: console errors, images that did not load, a screenshot.

Drives the browser over the DevTools protocol on a pipe (`--remote-debugging-pipe`: NUL-separated
JSON on file descriptors 3 and 4), so it needs no WebSocket library, no port and no network.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from raereid.errors import RaeReidError

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Flags for a closed network: without the background-networking ones Chromium stalls on its update/sync calls.
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
    "--hide-scrollbars", "--mute-audio", "--remote-debugging-pipe",
)
# Started by a fresh interpreter (no preexec_fn, unsafe in a threaded parent): put the pipe ends on fds 3 and 4, exec.
_EXEC_ON_FDS_3_4 = """
import fcntl, os, sys
fds = [int(fd) for fd in sys.argv[1:3]]
high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in fds]
for fd in fds:
    os.close(fd)
os.dup2(high[0], 3)
os.dup2(high[1], 4)
os.execv(sys.argv[3], sys.argv[3:])
"""
MAX_HEIGHT = 16000  # CSS pixels: taller screenshots hit Chromium's texture limit
IMAGES_JS = ("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
             ".map(i => i.getAttribute('src'))")


class BrowserError(RaeReidError):
    """Chromium is missing, did not start, or did not answer in time."""


def find_browser() -> str | None:
    """The path of a Chromium-family browser on PATH ($RAEREID_CHROMIUM first), or None."""
    wanted = os.environ.get("RAEREID_CHROMIUM")
    if wanted:
        return shutil.which(wanted)
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


@dataclass
class PageCheck:
    """What the browser saw: console errors (messages, exceptions, failed loads), images not loaded, a screenshot."""

    errors: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    image_count: int = 0
    screenshot: bytes = b""
    values: dict = field(default_factory=dict)  # results of the `evaluate` expressions


class _Pipe:
    """A DevTools session over the browser's pipe: commands in, responses and events out."""

    def __init__(self, binary: str, profile: str, timeout: float):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        browser = [binary, *FLAGS, f"--user-data-dir={profile}", "--window-size=1280,900", "about:blank"]
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _EXEC_ON_FDS_3_4, str(to_browser_r), str(from_browser_w), *browser],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(to_browser_r, from_browser_w), start_new_session=True,  # its helpers die with it (close)
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.timeout = timeout
        self.events: list[dict] = []
        self._buffer = b""
        self._next_id = 0

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from_browser], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise BrowserError("Chromium did not answer in time",
                                   fix="check that `chromium --headless` starts on this machine")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError("Chromium closed its DevTools pipe (it crashed or did not start)",
                                   fix="run the browser by hand with the same flags to see why")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, session: str | None = None, **params: Any) -> dict:
        """Send one command and return its result (events arriving meanwhile are kept in `events`)."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params,
                   **({"sessionId": session} if session else {})}
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"DevTools {method} failed: {reply['error'].get('message')}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> dict:
        """The first event named `method` (already received or arriving before the timeout)."""
        deadline = time.monotonic() + self.timeout
        while True:
            for event in self.events:
                if event.get("method") == method:
                    return event
            self.events.append(self._read_message(deadline))

    def close(self) -> None:
        for fd in (self._to_browser, self._from_browser):
            os.close(fd)
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        try:  # Chromium's helper processes (GPU, utility, crash handler) may outlive it, still writing the profile
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _errors(events: list[dict]) -> list[str]:
    """Console errors, uncaught exceptions and failed loads among the DevTools events."""
    out = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            out.append(f"exception: {details.get('exception', {}).get('description') or details.get('text')}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            out.append("console: " + " ".join(str(a.get("value", a.get("description", "")))
                                              for a in params.get("args", [])))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            out.append(f"log: {entry.get('text')} {entry.get('url', '')}".strip())
    return out


def check_page(
    page: str | Path, width: int = 1280, max_height: int | None = None, evaluate: dict[str, str] | None = None,
    timeout: float = 60.0, binary: str | None = None,
) -> PageCheck:
    """Load `page` (a file) in headless Chromium; report errors and broken images and take a screenshot of the
    whole page (cut at `max_height` CSS pixels, at most MAX_HEIGHT). `evaluate`: name -> JS expression, run in
    order after the page loaded, results in `values`."""
    binary = binary or find_browser()
    if binary is None:
        raise BrowserError("no Chromium browser found",
                           fix="install it (Debian: apt-get install chromium) or set RAEREID_CHROMIUM")
    url = Path(page).resolve().as_uri()
    # A helper that wrote into the profile after the kill leaves a file in /tmp, not a failed check.
    with tempfile.TemporaryDirectory(prefix="raereid-chromium-", ignore_cleanup_errors=True) as profile:
        pipe = _Pipe(binary, profile, timeout)
        try:
            target = pipe.call("Target.createTarget", url="about:blank")["targetId"]
            session = pipe.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            for domain in ("Page", "Runtime", "Log"):
                pipe.call(f"{domain}.enable", session)
            pipe.call("Emulation.setDeviceMetricsOverride", session, width=width, height=900, deviceScaleFactor=1,
                      mobile=False)
            pipe.call("Page.navigate", session, url=url)
            pipe.wait_for("Page.loadEventFired")

            def value(expression: str) -> Any:
                return pipe.call("Runtime.evaluate", session, expression=expression,
                                 returnByValue=True)["result"].get("value")

            check = PageCheck(broken_images=value(IMAGES_JS), image_count=value("document.images.length"))
            check.values = {name: value(js) for name, js in (evaluate or {}).items()}
            height = min(int(value("Math.ceil(document.documentElement.scrollHeight)")), max_height or MAX_HEIGHT)
            pipe.call("Emulation.setDeviceMetricsOverride", session, width=width, height=height, deviceScaleFactor=1,
                      mobile=False)
            shot = pipe.call("Page.captureScreenshot", session, format="png", captureBeyondViewport=False)
            check.screenshot = base64.b64decode(shot["data"])
            check.errors = _errors(pipe.events)
            return check
        finally:
            pipe.close()
