"""A headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe):
open a page, run JavaScript in it once it has loaded, and record every request it makes.

No websocket library and no port: Chromium reads commands on file descriptor 3 and writes replies
on 4, each a JSON message ended by a NUL byte.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from pathlib import Path
from typing import Any


class BrowserError(RuntimeError):
    """Chromium answered a command with an error, exited, or did not answer in time."""


class Browser:
    """One Chromium process with one page; use as a context manager."""

    def __init__(self, executable: str, flags: list[str], profile: Path, timeout: float = 60.0) -> None:
        self.timeout = timeout
        to_chromium_read, self._to_chromium = os.pipe()
        self._from_chromium, from_chromium_write = os.pipe()
        command = [executable, *flags, f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"]

        def wire_pipes() -> None:  # in the child: fds 3 and 4, as Chromium expects
            os.dup2(to_chromium_read, 3)
            os.dup2(from_chromium_write, 4)

        self._process = subprocess.Popen(command, preexec_fn=wire_pipes, pass_fds=(3, 4),
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chromium_read)
        os.close(from_chromium_write)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []  # not yet waited for
        self.log: list[dict[str, Any]] = []  # every event since the page was opened
        target = next(t for t in self.send("Target.getTargets")["targetInfos"] if t["type"] == "page")
        self._session = self.send("Target.attachToTarget", targetId=target["targetId"], flatten=True)["sessionId"]
        for domain in ("Page", "Network", "Runtime"):
            self.send(f"{domain}.enable", session=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc: object) -> None:
        self._process.kill()
        self._process.wait()
        os.close(self._to_chromium)
        os.close(self._from_chromium)

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or self._process.poll() is not None:
                raise BrowserError("Chromium stopped answering")
            readable, _, _ = select.select([self._from_chromium], [], [], min(left, 1.0))
            if not readable:  # wait at most a second at a time, so the deadline and a dead Chromium are noticed
                continue
            chunk = os.read(self._from_chromium, 1 << 16)
            if not chunk:
                raise BrowserError("Chromium closed its pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        decoded = json.loads(message)
        if "method" in decoded:
            self.log.append(decoded)
        return decoded

    def send(self, method: str, session: bool = False, **params: Any) -> dict[str, Any]:
        """Send one command and return its result; events that arrive meanwhile are kept."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self._session
        os.write(self._to_chromium, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, event: str) -> dict[str, Any]:
        """The first event of this name since the last wait (waiting for it if need be)."""
        deadline = time.monotonic() + self.timeout
        while True:
            for index, seen in enumerate(self.events):
                if seen.get("method") == event:
                    del self.events[: index + 1]
                    return seen.get("params", {})
            self.events.append(self._read_message(deadline))

    def open(self, url: str) -> None:
        """Load a page and wait for its load event."""
        self.events.clear()
        self.log.clear()
        self.send("Page.navigate", session=True, url=url)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.send("Runtime.evaluate", session=True, expression=expression, awaitPromise=True,
                           returnByValue=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"JavaScript failed: {result['exceptionDetails'].get('text')}: "
                               f"{result['exceptionDetails'].get('exception', {}).get('description', '')[:300]}")
        return result["result"].get("value")

    def requested_urls(self) -> list[str]:
        """Every URL the page asked for since it was opened."""
        return [event["params"]["request"]["url"] for event in self.log
                if event.get("method") == "Network.requestWillBeSent"]
