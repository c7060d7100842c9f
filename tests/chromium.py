"""Drive a real headless Chromium from tests, over the DevTools protocol, without extra packages.

One browser per :class:`HeadlessChromium` context: it starts ``/usr/bin/chromium`` with a
throw-away profile and ``--remote-debugging-port=0``, reads the port the browser chose
from ``DevToolsActivePort``, and talks to one page target over a flattened DevTools
session on the browser websocket. The websocket client is :class:`_WebSocket`, a few
lines of the standard library (RFC 6455, text frames only), so the tests need no
package beyond the project's own. :meth:`HeadlessChromium.load`
navigates to a URL and returns what a person would have seen go wrong: console errors,
uncaught exceptions, error log entries and JavaScript dialogs (which are dismissed, so a
stray ``alert`` cannot hang the test). :meth:`HeadlessChromium.screenshot` writes a
full-page PNG. :meth:`~HeadlessChromium.type_text`, :meth:`~HeadlessChromium.click` and
:meth:`~HeadlessChromium.text` act on a page as a person would: keyboard input, a mouse
click in the middle of an element (waiting for the page a form post leads to), and the
text they would read.

Every wait is bounded; the browser's whole process group is killed on exit, whatever
happened.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = [
    "CHROMIUM",
    "ChromiumError",
    "HeadlessChromium",
    "PageLoad",
    "chromium_missing",
    "kill_group",
]

#: Debian's package; the launcher script execs the real binary, keeping this pid.
CHROMIUM = Path("/usr/bin/chromium")

_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--mute-audio",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
)


class ChromiumError(RuntimeError):
    """The browser did not start, answer or load in time."""


def kill_group(process: subprocess.Popen[bytes], *, term_wait: float) -> None:
    """SIGTERM the process group of ``process`` (started with ``start_new_session``),
    then SIGKILL it if it has not ended after ``term_wait`` s; never raises."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, term_wait), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def chromium_missing() -> bool:
    """True when the Chromium binary is not installed."""
    return not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK))


@dataclass
class PageLoad:
    """What went wrong while a page loaded, as the browser reported it."""

    url: str
    loaded: bool = False
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    log_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """Every error, exception and dialog, one line each."""
        return (
            [f"console: {m}" for m in self.console_errors]
            + [f"exception: {m}" for m in self.exceptions]
            + [f"log: {m}" for m in self.log_errors]
            + [f"dialog: {m}" for m in self.dialogs]
        )


class _WebSocket:
    """The client half of RFC 6455, as much as the DevTools protocol needs: text messages.

    Every read is bounded by the deadline it is given; pings are answered.
    """

    _GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self, port: int, path: str, *, timeout: float) -> None:
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self._buffer = bytearray()
        key = base64.b64encode(os.urandom(16)).decode()
        self._sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self._buffer:
            self._fill(deadline)
        head, _, rest = bytes(self._buffer).partition(b"\r\n\r\n")
        self._buffer = bytearray(rest)
        accept = base64.b64encode(hashlib.sha1((key + self._GUID).encode()).digest()).decode()
        if not head.startswith(b"HTTP/1.1 101") or accept.encode() not in head:
            raise ChromiumError(f"websocket handshake refused: {head[:200]!r}")

    def send(self, text: str) -> None:
        payload = text.encode()
        header = bytearray([0x81])  # FIN + text frame
        if len(payload) < 126:
            header.append(0x80 | len(payload))
        elif len(payload) < 1 << 16:
            header += bytes([0x80 | 126]) + len(payload).to_bytes(2, "big")
        else:
            header += bytes([0x80 | 127]) + len(payload).to_bytes(8, "big")
        self._send_frame(header, payload)

    def _send_frame(self, header: bytearray, payload: bytes) -> None:
        mask = os.urandom(4)  # a client must mask every frame
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self._sock.sendall(bytes(header) + mask + masked)

    def recv(self, deadline: float) -> str:
        """The next text message; TimeoutError when ``deadline`` (monotonic) passes first."""
        message = bytearray()
        while True:
            first, second = self._read(2, deadline)
            length = second & 0x7F
            if length == 126:
                length = int.from_bytes(self._read(2, deadline), "big")
            elif length == 127:
                length = int.from_bytes(self._read(8, deadline), "big")
            if second & 0x80:  # servers do not mask, but tolerate it
                mask = self._read(4, deadline)
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(self._read(length, deadline)))
            else:
                payload = self._read(length, deadline)
            opcode = first & 0x0F
            if opcode == 0x9:  # ping
                self._send_frame(bytearray([0x8A, 0x80 | len(payload)]), payload)
                continue
            if opcode == 0xA:  # pong
                continue
            if opcode == 0x8:
                raise ChromiumError("the browser closed the DevTools connection")
            message += payload
            if first & 0x80:  # FIN: the last fragment
                return message.decode()

    def _read(self, n: int, deadline: float) -> bytes:
        while len(self._buffer) < n:
            self._fill(deadline)
        out = bytes(self._buffer[:n])
        del self._buffer[:n]
        return out

    def _fill(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        self._sock.settimeout(remaining)
        chunk = self._sock.recv(1 << 20)  # socket.timeout is a TimeoutError
        if not chunk:
            raise ChromiumError("the browser dropped the DevTools connection")
        self._buffer += chunk

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._send_frame(bytearray([0x88, 0x80]), b"")  # close, no payload
        self._sock.close()


class HeadlessChromium:
    """A headless Chromium with one page, driven over the DevTools protocol.

    Parameters
    ----------
    profile_dir : Path
        An empty directory for the throw-away profile (and the browser's log).
    width, height : int
        Viewport in CSS pixels.
    timeout : float
        Seconds allowed for each step: start, every command, a page load.
    """

    def __init__(
        self, profile_dir: Path, *, width: int = 1280, height: int = 2400, timeout: float = 20.0
    ) -> None:
        self.profile_dir = profile_dir
        self.width, self.height = width, height
        self.timeout = timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._socket: _WebSocket | None = None
        self._session: str | None = None
        self._next_id = 0
        self._events: list[dict[str, Any]] = []

    # ---------------------------------------------------------------- lifecycle

    def __enter__(self) -> HeadlessChromium:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _start(self) -> None:
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        log = (self.profile_dir / "chromium.log").open("wb")
        with log:
            self._process = subprocess.Popen(
                [
                    str(CHROMIUM),
                    *_FLAGS,
                    f"--user-data-dir={self.profile_dir}",
                    f"--window-size={self.width},{self.height}",
                    "about:blank",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so close() gets every child
            )
        port_file = self.profile_dir / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        lines: list[str] = []
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ChromiumError(
                    f"chromium exited with {self._process.returncode}: {self._log_tail()}"
                )
            if port_file.is_file():
                lines = port_file.read_text().split()
                if len(lines) >= 2:
                    break
            time.sleep(0.05)
        else:
            raise ChromiumError(f"no DevToolsActivePort after {self.timeout} s: {self._log_tail()}")
        port, path = lines[0], lines[1]
        self._socket = _WebSocket(int(port), path, timeout=self.timeout)
        target = self._send("Target.createTarget", {"url": "about:blank"}, session=False)
        attached = self._send(
            "Target.attachToTarget",
            {"targetId": target["targetId"], "flatten": True},
            session=False,
        )
        self._session = attached["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            self._send(f"{domain}.enable")
        self._send(
            "Emulation.setDeviceMetricsOverride",
            {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False},
        )

    def close(self) -> None:
        """Close the connection and kill the browser's process group; never raises."""
        if self._socket is not None:
            with contextlib.suppress(OSError):  # teardown goes on whatever the socket says
                self._socket.close()
            self._socket = None
        process, self._process = self._process, None
        if process is not None:
            kill_group(process, term_wait=3.0)

    def _log_tail(self) -> str:
        try:
            return (self.profile_dir / "chromium.log").read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"

    # ----------------------------------------------------------------- protocol

    def _send(
        self, method: str, params: dict[str, Any] | None = None, *, session: bool = True
    ) -> dict[str, Any]:
        """Send one command and wait (bounded) for its answer, queueing events meanwhile."""
        if self._socket is None:
            raise ChromiumError("not connected")
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session
        self._socket.send(json.dumps(message))
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._receive(deadline, waiting_for=method)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise ChromiumError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            if "method" in reply:
                self._handle_event(reply)

    def _receive(self, deadline: float, *, waiting_for: str) -> dict[str, Any]:
        assert self._socket is not None
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ChromiumError(f"timed out after {self.timeout} s waiting for {waiting_for}")
        try:
            raw = self._socket.recv(deadline)
        except TimeoutError as exc:
            raise ChromiumError(
                f"timed out after {self.timeout} s waiting for {waiting_for}"
            ) from exc
        message: dict[str, Any] = json.loads(raw)
        return message

    def _handle_event(self, event: dict[str, Any]) -> None:
        self._events.append(event)
        if event["method"] == "Page.javascriptDialogOpening":
            # Dismiss at once: an open dialog blocks the page and the load event.
            self._socket.send(  # type: ignore[union-attr]
                json.dumps(
                    {
                        "id": 0,
                        "method": "Page.handleJavaScriptDialog",
                        "params": {"accept": False},
                        "sessionId": self._session,
                    }
                )
            )

    # ------------------------------------------------------------------- pages

    def load(self, url: str, *, settle: float = 0.3) -> PageLoad:
        """Navigate to ``url``, wait for its load event, and report what went wrong.

        The ``settle`` seconds after the load event are listened to as well, for late errors.
        """
        self._events.clear()
        result = PageLoad(url=url)
        navigated = self._send("Page.navigate", {"url": url})
        if navigated.get("errorText"):
            result.log_errors.append(f"navigation failed: {navigated['errorText']}")
            return self._collect(result)
        return self._await_load(result, settle)

    def _collect(self, result: PageLoad) -> PageLoad:
        for event in self._events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                result.console_errors.append(
                    " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
                )
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                exception = details.get("exception", {})
                result.exceptions.append(
                    str(exception.get("description") or details.get("text", "exception"))
                )
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                entry = params["entry"]
                result.log_errors.append(f"{entry.get('source')}: {entry.get('text')}")
            elif method == "Page.javascriptDialogOpening":
                result.dialogs.append(f"{params.get('type')}: {params.get('message')}")
        return result

    def _await_load(self, result: PageLoad, settle: float) -> PageLoad:
        deadline = time.monotonic() + self.timeout
        loaded = any(e["method"] == "Page.loadEventFired" for e in self._events)
        while not loaded:
            event = self._receive(deadline, waiting_for="Page.loadEventFired")
            if "method" in event:
                self._handle_event(event)
                loaded = event["method"] == "Page.loadEventFired"
        result.loaded = True
        settle_until = time.monotonic() + settle
        while time.monotonic() < settle_until:
            try:
                event = self._receive(settle_until, waiting_for="late events")
            except ChromiumError:
                break
            if "method" in event:
                self._handle_event(event)
        return self._collect(result)

    def type_text(self, selector: str, text: str) -> None:
        """Focus the element matching ``selector`` and type ``text`` into it, as a
        keyboard would (``Input.insertText``)."""
        found = self.evaluate(
            f"(function () {{ var e = document.querySelector({json.dumps(selector)});"
            " if (!e) { return false; } e.focus(); return true; })()"
        )
        if not found:
            raise ChromiumError(f"no element matches {selector!r}")
        self._send("Input.insertText", {"text": text})

    def click(self, selector: str, *, navigates: bool = True, settle: float = 0.3) -> PageLoad:
        """Click the middle of the element matching ``selector`` with the mouse; when
        ``navigates``, wait for the page that follows (a form post, a link) to load and
        report what went wrong on it, as :meth:`load` does."""
        point = self.evaluate(
            f"(function () {{ var e = document.querySelector({json.dumps(selector)});"
            " if (!e) { return null; } e.scrollIntoView({block: 'center'});"
            " var r = e.getBoundingClientRect(); return [r.left + r.width / 2,"
            " r.top + r.height / 2]; })()"
        )
        if point is None:
            raise ChromiumError(f"no element matches {selector!r}")
        self._events.clear()
        for kind in ("mousePressed", "mouseReleased"):
            self._send(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": point[0], "y": point[1], "button": "left", "clickCount": 1},
            )
        result = PageLoad(url=f"click {selector}")
        if not navigates:
            return self._collect(result)
        return self._await_load(result, settle)

    def text(self, selector: str) -> str | None:
        """The visible text of the first element matching ``selector`` (None: no match)."""
        value = self.evaluate(
            f"(function () {{ var e = document.querySelector({json.dumps(selector)});"
            " return e ? e.innerText : null; })()"
        )
        return None if value is None else str(value)

    def viewport(self, width: int, height: int, *, mobile: bool = False) -> None:
        """Resize the page's viewport (``mobile``: a phone's, with touch and meta
        viewport honoured)."""
        self.width, self.height = width, height
        self._send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
        )

    def clear_cookies(self) -> None:
        """Forget every cookie (a new visitor)."""
        self._send("Network.clearBrowserCookies")

    @property
    def url(self) -> str:
        """The address of the page shown."""
        return str(self.evaluate("location.href"))

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (JSON-serialisable results)."""
        reply = self._send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in reply:
            raise ChromiumError(f"evaluate failed: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def screenshot(self, path: Path, *, full_page: bool = True) -> Path:
        """Write a PNG of the page (the whole page by default, 1 CSS px = 1 px)."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            metrics = self._send("Page.getLayoutMetrics")
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            params |= {
                "captureBeyondViewport": True,
                "clip": {
                    "x": 0,
                    "y": 0,
                    "width": self.width,
                    "height": min(float(size["height"]), 16000.0),
                    "scale": 1,
                },
            }
        shot = self._send("Page.captureScreenshot", params)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def pdf(self, path: Path) -> Path:
        """Print the page as the browser would (print stylesheet, backgrounds) to a PDF."""
        printed = self._send(
            "Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True}
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(printed["data"]))
        return path
