"""The loopback listener a browser sign-in comes back to (RFC 8252), safe beside other local users.

It listens on ``127.0.0.1`` only, on a port the system picks, and takes the code only from a
request that carries the sign-in's ``state`` (compared in constant time); anything else is answered
400 and the wait goes on.  Any local user can connect to the port, so no connection can hold it:
each is served on a thread of its own (at most :data:`MAX_CONNECTIONS` at once; more are closed at
once), waits at most :data:`IDLE_SECONDS` for each read and is cut off :data:`CONNECTION_SECONDS`
after it was accepted, however it trickles; and when the sign-in ends — answered or timed out —
every connection still open is closed, so the wait ends on time.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

CALLBACK_PATH = "/oauth/callback"
IDLE_SECONDS = 5.0
CONNECTION_SECONDS = 10.0
MAX_CONNECTIONS = 64

_DONE_PAGE = (
    b"<!doctype html><meta charset=utf-8><title>trayapp</title>"
    b"<p>Signed in. You can close this tab and return to trayapp.</p>"
)


class Callback(ThreadingHTTPServer):
    """``with Callback(state) as server: …; server.wait(limit)`` → the callback's query, or None."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, state: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.expected_state = state
        self.result: dict[str, str] | None = None
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.2}, name="trayapp-sso-callback", daemon=True
        )

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{CALLBACK_PATH}"

    def __enter__(self) -> Callback:
        self._thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.shutdown()  # the accepting loop ends within its poll interval: no handler holds it
        self.server_close()
        with self._lock:
            still_open, self._open = set(self._open), set()
        for connection in still_open:  # the hard end: nobody keeps a thread of ours
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def wait(self, limit: float) -> dict[str, str] | None:
        """The query of the callback that carried the right state, None after *limit* seconds."""
        return self.result if self._done.wait(limit) else None

    def answered(self, query: dict[str, str]) -> None:
        with self._lock:
            if self.result is None:
                self.result = query
                self._done.set()

    # --- one thread per connection, with a time limit -------------------------------------------
    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)  # too many at once: refused, never queued
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._lock:
            self._open.add(request)
        cutoff = threading.Timer(CONNECTION_SECONDS, _cut, args=(request,))
        cutoff.daemon = True
        cutoff.start()
        try:
            super().process_request_thread(request, client_address)
        finally:
            cutoff.cancel()
            with self._lock:
                self._open.discard(request)
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a connection cut off or reset: nothing to report, and no traceback on stderr


def _cut(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    server: Callback
    timeout = IDLE_SECONDS  # each read of the request

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        state = query.get("state", "")
        if url.path != CALLBACK_PATH or not secrets.compare_digest(state.encode(), self.server.expected_state.encode()):
            self.send_error(400)  # another program on this machine guessing at the port
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(_DONE_PAGE)))
        self.end_headers()
        self.wfile.write(_DONE_PAGE)
        self.server.answered(query)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the query holds the code: never logged
