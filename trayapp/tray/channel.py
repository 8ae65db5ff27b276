"""The tray's end of the private channel (:mod:`trayapp.core.channel`): the command line asks the
running tray, whose STS client is warm and whose MFA sessions are in memory.

One listening thread blocks in ``accept()`` (no polling, no wake-ups while idle); each connection
gets a short-lived thread, so a command waiting for STS never holds up another, nor the tray's own
worker (whose dialog may be open).  At most :data:`MAX_CONNECTIONS` are served at once: one more is
told ``{"fallback": "busy"}`` by the listening thread itself, without a thread of its own, and each
connection has :data:`REQUEST_TIMEOUT` seconds in all (not per byte) to say what it wants, so idle or
trickling clients can't pile up threads.  The service is shared with the worker: its caches are
locked, the credentials file is written under its lock, the used-code record has its own; assumes
asked over the channel run one at a time (a second one is told ``busy`` at once and the command line
does it itself).  An assume is answered ``{"ready": true}`` before its code is read: see
:mod:`trayapp.core.channel` for why the code is never spent twice.

A peer of another uid is refused before a byte is read.  Requests that can't be answered exactly as
the command line would answer them (another version, other files or engine environment, no cached
session for ``credential-process``, any error of a read-only command) get ``{"fallback": …}``: the
command line then does the work itself, in the user's own words.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import stat
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trayapp.core import channel, commands
from trayapp.core.errors import TrayappError

if TYPE_CHECKING:
    from trayapp.core.hosts import Engine
    from trayapp.core.service import Service
    from trayapp.tray.channel_ask import Ask

log = logging.getLogger(__name__)

#: A client has this long in all to send its request (and, for an assume, its code).
REQUEST_TIMEOUT = 3.0
#: Connections served at once; one more is answered "busy" and closed.
MAX_CONNECTIONS = 8


class ChannelServer:
    """Serves :data:`trayapp.core.channel.COMMANDS` for *service* on the tray's socket."""

    def __init__(self, service: Service, environ: dict[str, str] | None = None, ask: Ask | None = None) -> None:
        """*ask*: shows the tray's prompt for a profile, for a caller with nobody to ask (None: not served)."""
        self.service = service
        self._ask = ask
        self._environ = environ
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._path: Path | None = None
        self._inode: int | None = None
        self._stopping = threading.Event()
        self._assume_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        config, credentials = channel.aws_paths(environ)
        self._paths = (config, credentials)
        self._fingerprint = channel.engine_fingerprint(environ)
        #: How many requests were answered here (not sent back): for the log and the tests.
        self.served = 0

    # --- life cycle --------------------------------------------------------------------

    def start(self) -> bool:
        """Listen; False (and the command line keeps its usual path) when it can't be done safely."""
        if not channel.supported() or channel.disabled(self._environ):
            return False
        from trayapp.core.runtime import private_runtime_dir

        folder = private_runtime_dir(self._environ)
        if folder is None:
            return False
        path = folder / channel.socket_name(self._paths[1])
        if not self._clear_stale(path):
            return False
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        fd: int | None = None
        try:
            address, fd = channel.reachable(str(path))
            sock.bind(address)  # inside a 0700 folder: nobody else can reach it even before the chmod
            os.chmod(path, 0o600, follow_symlinks=False)
            sock.listen(16)
            self._inode = os.lstat(path).st_ino
        except OSError:
            log.warning("the command line's channel can't be opened; it works without it", exc_info=True)
            sock.close()
            return False
        finally:
            if fd is not None:
                os.close(fd)
        self._sock, self._path = sock, path
        self._thread = threading.Thread(target=self._accept, name="trayapp-channel", daemon=True)
        self._thread.start()
        log.info("serving the command line on %s", path)
        return True

    @staticmethod
    def _clear_stale(path: Path) -> bool:
        """The single-instance lock is ours, so a socket left at *path* is a dead tray's: remove it.
        Anything else there (not a socket, not ours) is left alone, and nothing is served."""
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return True
        except OSError:
            return False
        if not stat.S_ISSOCK(st.st_mode) or st.st_uid != os.geteuid():
            log.warning("%s is not a socket of this user's; the command line's channel stays closed", path)
            return False
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return True

    def stop(self) -> None:
        self._stopping.set()
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() (Linux)
            sock.close()
        path = self._path
        if path is not None:
            with contextlib.suppress(OSError):
                if os.lstat(path).st_ino == self._inode:  # still ours, not a newer tray's
                    os.unlink(path)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    def _accept(self) -> None:
        sock = self._sock
        while sock is not None and not self._stopping.is_set():
            try:
                conn, _addr = sock.accept()
            except OSError:
                if self._stopping.is_set():
                    return
                log.warning("the command line's channel failed", exc_info=True)
                return
            self._dispatch(conn)

    def _dispatch(self, conn: socket.socket) -> None:
        """*conn* to a thread of its own, or (all slots taken) "busy" at once, without one."""
        try:
            uid = channel.peer_uid(conn)
        except OSError:
            conn.close()
            return
        if uid != os.geteuid():
            log.warning("refused a connection to the command line's channel from uid %d", uid)
            conn.close()
            return
        if not self._slots.acquire(blocking=False):
            with contextlib.suppress(OSError):
                conn.send(b'{"fallback": "busy"}\n', socket.MSG_DONTWAIT)
            conn.close()
            return
        try:
            threading.Thread(target=self._handle, args=(conn,), name="trayapp-channel-request", daemon=True).start()
        except RuntimeError:  # can't start a thread: the command line does it itself
            self._slots.release()
            conn.close()

    # --- one request ---------------------------------------------------------------------

    def _handle(self, conn: socket.socket) -> None:
        deadline = time.monotonic() + REQUEST_TIMEOUT
        try:
            with conn:
                request = self._read(conn, deadline)
                if request is None:
                    return
                try:
                    reply = self._answer(request, conn, deadline)
                except Exception:
                    log.exception("a command line request failed in the tray")
                    reply = {"fallback": "error"}
                if reply is not None:
                    self._send(conn, reply)
        finally:
            self._slots.release()

    @staticmethod
    def _send(conn: socket.socket, reply: dict[str, Any]) -> bool:
        conn.settimeout(REQUEST_TIMEOUT)  # a line fits the socket's buffer; a client that never reads
        try:
            conn.sendall(json.dumps(reply).encode() + b"\n")
        except OSError:
            return False
        return True

    @staticmethod
    def _read(conn: socket.socket, deadline: float) -> dict[str, Any] | None:
        """One line within *deadline* (for the whole line: a trickle of bytes doesn't extend it)."""
        data = b""
        try:
            while not data.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                conn.settimeout(left)
                chunk = conn.recv(65536)
                if not chunk or len(data) + len(chunk) > channel.MAX_LINE:
                    return None
                data += chunk
            request = json.loads(data)
        except (OSError, ValueError):
            return None
        return request if isinstance(request, dict) else None

    def _answer(self, request: dict[str, Any], conn: socket.socket, deadline: float) -> dict[str, Any] | None:
        if request.get("version") != channel.VERSION:
            return {"fallback": "version"}
        if request.get("paths") != list(self._paths) or request.get("engine") != self._fingerprint:
            return {"fallback": "environment"}
        if not commands.well_formed(request):
            return {"fallback": "request"}  # the command line's parser says what is wrong
        command = request.get("command")
        profile = str(request.get("profile") or "")
        if command == "status":
            reply = self._status()
        elif command == "credential-process":
            processed = self._credential_process(profile, conn, ask=request.get("ask") is True)
            if processed is None:
                return None  # the caller went away while the tray asked for it
            reply = processed
        elif command == "env":
            reply = self._env(profile, request.get("shell"), request.get("region"))
        elif command == "assume":
            if request.get("ask") is True and "code" not in request:  # nobody to ask there: the tray's prompt
                assumed = self._assume_asking(profile, request.get("duration"), conn)
            else:
                assumed = self._assume(profile, request.get("duration"), conn, deadline)
            if assumed is None:
                return None
            reply = assumed
        else:
            return {"fallback": "request"}
        if "fallback" not in reply:
            self.served += 1
            log.info("served '%s' for the command line", " ".join(filter(None, (command, profile))))
        return reply

    def _credential_process(self, profile: str, conn: socket.socket, *, ask: bool) -> dict[str, Any] | None:
        """As ``trayapp credential-process`` (:mod:`trayapp.core.process_credentials`), renewing only
        without asking anyone; a renewal (STS) is announced with ``ready`` first, so the command
        line knows the tray is alive.  A session that needs a code: the command line's own prompt,
        or — when it has nobody to ask (*ask*) — the tray's (:mod:`trayapp.tray.channel_ask`)."""
        from trayapp.core import process_credentials
        from trayapp.tray import channel_ask

        service = self.service
        needs_person: list[bool] = []

        def prompt_for(silent: bool) -> Any:
            if silent:
                return process_credentials.silent_prompt() if unasked else None
            needs_person.append(True)
            return None

        unasked = False
        try:
            renew = process_credentials.needs_renewal(service, profile)
            unasked = renew and process_credentials.can_renew_unasked(service, profile)
            if unasked and not self._send(conn, {"ready": True}):
                return {"fallback": "gone"}
            return channel_ask.document(service, profile, prompt_for)
        except TrayappError:
            if not (ask and needs_person and not unasked and self._ask is not None):
                return {"fallback": "no session"}  # assuming needs the command line's own prompt
        return channel_ask.ask_person(service, self._ask, profile, conn, self._send)

    def _env(self, profile: str, shell: object, region: object) -> dict[str, Any]:
        if not isinstance(shell, str) or (region is not None and not isinstance(region, str)):
            return {"fallback": "request"}  # (checked by commands.well_formed when given)
        try:
            return {"stdout": self.service.env_lines(profile, shell, region=region)}
        except TrayappError:
            return {"fallback": "error"}

    def _status(self) -> dict[str, Any]:
        try:
            sessions = self.service.status()
            warn = self.service.warn_lead()
            logins = []
            if self.service.login().profiles:  # the aws login sign-ins: no key, no token
                from trayapp.core.login_refresh import states

                logins = states(self.service)
        except TrayappError:
            return {"fallback": "error"}
        return {
            # The duration too: a short session is "expiring" at half its life, as on the direct path.
            "sessions": [[s.profile, s.role_arn, s.expires_at.isoformat(), s.duration] for s in sessions],
            "warn_seconds": warn.total_seconds(),
            "logins": [
                [s.profile, s.session, s.expires_at.isoformat() if s.expires_at else None, s.refreshable, s.ended]
                for s in logins
            ],
        }

    def _assume_asking(self, profile: str, duration: object, conn: socket.socket) -> dict[str, Any] | None:
        """``assume`` without a code from a command with nobody to ask: the tray's own prompt
        (:mod:`trayapp.tray.channel_ask`); None when the command line went away meanwhile."""
        from trayapp.tray import channel_ask

        if not (duration is None or type(duration) is int) or self._ask is None:
            return {"fallback": "request"}
        return channel_ask.assume_asking(self.service, self._ask, profile, duration, conn, self._send)

    def _assume(self, profile: str, duration: object, conn: socket.socket, deadline: float) -> dict[str, Any] | None:
        """``ready`` at once, then the code, then STS; None when the command line went away first
        (the code, if any came, is not used)."""
        from trayapp.core.prompts import CodeOnce

        if not (duration is None or type(duration) is int):
            return {"fallback": "request"}
        if not self._assume_lock.acquire(blocking=False):
            return {"fallback": "busy"}
        try:
            if not self._send(conn, {"ready": True}):
                return None
            message = self._read(conn, deadline)
            code = message.get("code") if message is not None else None
            if not isinstance(code, str):
                return None
            try:
                # Checked as on the direct path, whether or not the MFA session makes it unneeded.
                code = commands.code(code)
                result = self.service.assume(profile, CodeOnce(code), duration=duration)
            except TrayappError as exc:
                return {"error": str(exc), "exit": exc.exit_code}
        finally:
            self._assume_lock.release()
        s = result.session
        return {
            "profile": s.profile,
            "role_arn": s.role_arn,
            "expires_at": s.expires_at.isoformat(),
            "notes": list(result.notes),
        }


def start_channel(service: Engine, ask: Ask | None = None) -> ChannelServer | None:
    """The tray's channel, listening; None when it can't be had (the command line works without it)
    or *service* is not the engine itself (a stand-in answers no command line).  *ask* shows the
    tray's prompt for a caller with nobody to ask."""
    from trayapp.core.service import Service

    if not isinstance(service, Service):
        return None
    server = ChannelServer(service, ask=ask)
    return server if server.start() else None
