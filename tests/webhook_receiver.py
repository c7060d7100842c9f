"""A real local webhook receiver for notification tests: an HTTP server on 127.0.0.1 that
records every POST and answers from a script, slowly, or one byte at a time."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Receiver", "serve_webhook"]


@dataclass
class Receiver:
    """A local webhook: answers each POST with the next scripted response (the last
    repeats). ``delay_s`` waits before answering; ``drip_s`` sends the answer one byte at
    a time with that pause between bytes (a receiver that stalls its callers)."""

    url: str
    script: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    delay_s: float = 0.0
    drip_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def answer(self, status: int, body: bytes = b"ok", **headers: str) -> None:
        self.script.append((status, headers, body))

    @property
    def payloads(self) -> list[Any]:
        return [json.loads(body) for _, _, body in self.received]

    @property
    def texts(self) -> list[str]:
        """The ``text`` of every message received, in order."""
        return [str(p.get("text", "")) for p in self.payloads]

    @property
    def keys(self) -> list[str]:
        """The ``Idempotency-Key`` of every POST, in order."""
        return [headers.get("Idempotency-Key", "") for _, headers, _ in self.received]


@contextlib.contextmanager
def serve_webhook() -> Iterator[Receiver]:
    """Run a :class:`Receiver` on a free local port for the ``with`` block."""
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.lock:
                state.received.append((self.path, dict(self.headers.items()), body))
                index = min(len(state.received), len(state.script)) - 1
            if state.delay_s:
                time.sleep(state.delay_s)
            status, headers, reply = state.script[index] if state.script else (200, {}, b"ok")
            head = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}"]
            head += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
            head += [f"Content-Length: {len(reply)}", "Connection: close", "", ""]
            raw = "\r\n".join(head).encode("latin-1") + reply
            with contextlib.suppress(BrokenPipeError, ConnectionResetError, OSError):
                if state.drip_s:
                    for i in range(len(raw)):  # a client that gave up has gone away
                        self.wfile.write(raw[i : i + 1])
                        self.wfile.flush()
                        time.sleep(state.drip_s)
                else:
                    self.wfile.write(raw)
            self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/s3cretT0ken"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
