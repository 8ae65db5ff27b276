"""Codes that nobody types: a profile's ``mfa_process``, or a YubiKey read with ``ykman``.

``mfa_process`` is aws-vault's profile key and means what it means there: a command line run through the shell
(``/bin/sh -c``; ``cmd /c`` on Windows) whose standard output is the code. A YubiKey is found without configuration:
when ``ykman`` is on ``PATH`` and the key holds an OATH account named like the profile's ``mfa_serial`` (aws-vault's
convention, ``ykman oath accounts add -t <mfa_serial>``), ``ykman oath accounts code --single <account>`` waits for a
touch and prints it.

Every process runs with a fixed argument list (the code is never on a command line, only on its standard output), no
standard input, in a process group of its own that is killed after :data:`TIMEOUT` seconds or when the prompt is closed.
Its output is read up to a few KB and must be exactly one six-digit code (:func:`trayapp.core.mfa.normalise`); it is
never logged or quoted. A failure is one sentence (:class:`trayapp.core.errors.CodeSourceFailed`) and the user types the
code instead (:class:`SourcedPrompt`)."""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from trayapp.core import errors
from trayapp.core.mfa import normalise
from trayapp.core.prompts import MfaPrompt, MfaRequest
from trayapp.core.reasons import os_reason
from trayapp.i18n import _

#: How long a code source may take (a touch included) before it is stopped.
TIMEOUT = 60.0
#: ``ykman oath accounts list``: no touch needed, so a short bound.
LIST_TIMEOUT = 10.0
#: An mfa_process that answers within this long never shows the dialog (no flash).
QUIET_START = 0.5
#: A source that printed its code gets this long to exit before it is stopped.
CODE_GRACE = 1.0
#: Windows (where the reader can't be woken): after a source exited with no line break in its
#: output yet, how long a child still holding that output may delay the last of it.
EXIT_GRACE = 1.0
#: How long the reader may take to collect what is left in the pipe once the source is done.
READER_GRACE = 2.0
#: More output than this is not a code.
MAX_OUTPUT = 4096
#: Tests (and users with an odd install) can name the ykman to use.
YKMAN_ENV = "TRAYAPP_YKMAN"


class Stopped(Exception):
    """The source was stopped on purpose (the user typed, cancelled or the app quits)."""


def shell_argv(command: str, platform: str | None = None) -> list[str]:
    """How aws-vault runs ``mfa_process``: through the system shell, as one argument."""
    if (platform or sys.platform) == "win32":
        return [os.environ.get("COMSPEC") or "cmd.exe", "/d", "/c", command]
    return ["/bin/sh", "-c", command]


class Running:
    """One code source process: wait for its code, or stop it (and its children) from any thread.

    It is done when it exits, or when it has printed a line that is a code (then it gets :data:`CODE_GRACE` to exit
    before it is stopped): never when its output reaches its end, which a child it left behind (``setsid daemon &``)
    may hold open for minutes. A reaper thread waits for the process (no zombie); the reader stops as soon as the
    source is done (POSIX)."""

    def __init__(
        self, argv: Sequence[str], source: str, hint: str, timeout: float = TIMEOUT, *, refused: str | None = None
    ) -> None:
        """*refused*: why the command is not run at all (it then fails at once with that reason)."""
        self.source = source  # for sentences: "mfa_process of profile 'prod'", "your YubiKey"
        self.hint = hint  # shown while waiting: "Touch your YubiKey…"
        self._timeout = timeout
        self._stopped = threading.Event()
        self._done = threading.Event()
        self._changed = threading.Event()  # output, end of output, exit or stop: look again
        self._exited = threading.Event()
        self._eof = threading.Event()
        self._lock = threading.Lock()
        self._output = bytearray()
        self._failure: errors.CodeSourceFailed | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        if refused is not None:
            self._failure = errors.CodeSourceFailed(source=source, reason=refused)
            self._done.set()
            return
        try:
            self._proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=_stderr(),
                close_fds=True,
                **_own_group(),
            )
        except OSError as exc:
            reason = _("it could not be started ({error})").format(error=os_reason(exc))
            self._failure = errors.CodeSourceFailed(source=source, reason=reason)
            self._done.set()
            return
        assert self._proc.stdout is not None
        fd = os.dup(self._proc.stdout.fileno())  # the reader's own; Popen's file object is closed now
        self._proc.stdout.close()
        self._wake = None if sys.platform == "win32" else os.pipe()
        self._reader = threading.Thread(target=self._read, args=(fd,), name="trayapp-code-source", daemon=True)
        self._reader.start()
        for target in (self._reap, self._wait):
            threading.Thread(target=target, name="trayapp-code-source", daemon=True).start()

    def _reap(self) -> None:
        assert self._proc is not None
        with contextlib.suppress(OSError):
            self._proc.wait()
        self._exited.set()
        self._changed.set()

    def _wait(self) -> None:
        proc = self._proc
        assert proc is not None
        deadline = time.monotonic() + self._timeout
        code_at: float | None = None  # when a code line was seen while it still ran
        exited_at: float | None = None
        given_code = False
        while not self._stopped.is_set():
            self._changed.clear()
            now = time.monotonic()
            wake = deadline
            if self._exited.is_set():
                # Everything it wrote is in the pipe now: the reader drains it when woken (POSIX).
                # Windows: a child holding the pipe gets EXIT_GRACE for the end of output to show.
                exited_at = now if exited_at is None else exited_at
                if self._wake is not None or self._eof.is_set() or self._has_line() or now >= exited_at + EXIT_GRACE:
                    break
                wake = min(wake, exited_at + EXIT_GRACE)
            elif self._has_code():
                code_at = now if code_at is None else code_at
                if now >= code_at + CODE_GRACE:
                    given_code = True  # it gave its code; what it does after that is not waited for
                    _kill_group(proc)
                    break
                wake = min(wake, code_at + CODE_GRACE)
            if now >= deadline:
                _kill_group(proc)
                reason = _("it did not answer within {seconds} s and was stopped").format(seconds=int(self._timeout))
                self._failure = errors.CodeSourceFailed(source=self.source, reason=reason)
                break
            self._changed.wait(wake - now)
        self._end_reading()
        self._reader.join(READER_GRACE)  # it takes what is already in the pipe, then stops
        status = proc.returncode
        if self._failure is None and not self._stopped.is_set() and not given_code and status not in (0, None):
            reason = _("it exited with status {status}").format(status=status)
            self._failure = errors.CodeSourceFailed(source=self.source, reason=reason)
        self._done.set()

    def _has_line(self) -> bool:
        with self._lock:
            return b"\n" in self._output

    def _has_code(self) -> bool:
        with self._lock:
            if b"\n" not in self._output or len(self._output) > MAX_OUTPUT:
                return False
            text = bytes(self._output).decode("utf-8", "replace")
        try:
            normalise(text.strip())
        except errors.InvalidCode:
            return False
        return True

    def _read(self, fd: int) -> None:
        wake = self._wake[0] if self._wake is not None else None
        try:
            while True:
                if wake is not None and wake in select.select([fd, wake], [], [])[0]:
                    # The source is done: take what is in the pipe now, then stop (a child it
                    # left may hold the pipe for long, or fill it without end).
                    budget = 16 * MAX_OUTPUT
                    while budget > 0 and select.select([fd], [], [], 0)[0] and self._take(os.read(fd, 4096)):
                        budget -= 4096
                    break
                if not self._take(os.read(fd, 1024)):
                    break
        except (OSError, ValueError):
            self._eof.set()
        finally:
            for end in (fd, wake):
                if end is not None:
                    with contextlib.suppress(OSError):
                        os.close(end)
            self._changed.set()

    def _take(self, chunk: bytes) -> bool:
        """Keep *chunk* (beyond the limit: drained, not kept); False at the end of output."""
        if not chunk:
            self._eof.set()
            return False
        with self._lock:
            if len(self._output) <= MAX_OUTPUT:
                self._output += chunk
        self._changed.set()
        return True

    def _end_reading(self) -> None:
        """Wake the reader so that it closes its end of the pipe (POSIX; Windows reads to the end)."""
        if self._wake is not None:
            with contextlib.suppress(OSError):
                os.close(self._wake[1])

    def done(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def result(self) -> str:
        """The six ASCII digits; :class:`CodeSourceFailed`, or :class:`Stopped` when stopped."""
        self._done.wait()
        if self._stopped.is_set():
            raise Stopped
        if self._failure is not None:
            raise self._failure
        with self._lock:
            text = bytes(self._output[: MAX_OUTPUT + 1]).decode("utf-8", "replace")
            too_long = len(self._output) > MAX_OUTPUT
            self._output.clear()
        try:
            if too_long:
                raise errors.InvalidCode(problem="")
            return normalise(text.strip())
        except errors.InvalidCode:
            # What it printed is never quoted: it may be close to a secret.
            raise errors.CodeSourceFailed(source=self.source, reason=_("it printed no six-digit code")) from None

    def stop(self) -> None:
        """End the process and everything it started; :meth:`result` then raises :class:`Stopped`."""
        self._stopped.set()
        self._changed.set()
        if self._proc is not None and self._proc.poll() is None:
            _kill_group(self._proc)
        with self._lock:
            self._output.clear()


def _stderr() -> int | None:
    """The source's messages ("Touch your YubiKey…") go where ours go, as in aws-vault."""
    try:
        if sys.stderr is not None and sys.stderr.fileno() >= 0:
            return None  # inherited
    except (AttributeError, OSError, ValueError):
        pass
    return subprocess.DEVNULL  # a windowed build: nowhere to write


def _own_group() -> dict[str, Any]:
    if sys.platform == "win32":
        return {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}
    return {"start_new_session": True}  # Ctrl-C on the terminal does not reach it; we end it


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    if sys.platform == "win32":
        with contextlib.suppress(OSError):
            subprocess.run(
                ["taskkill", "/T", "/F", "/PID", str(proc.pid)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
        with contextlib.suppress(OSError):
            proc.kill()
    else:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired, OSError):
        proc.wait(timeout=5)


# --- the two sources -----------------------------------------------------------------------


def start_mfa_process(request: MfaRequest, timeout: float = TIMEOUT) -> Running:
    """Run the profile's ``mfa_process`` — unless another local user could have written it there."""
    assert request.mfa_process is not None
    source = _("mfa_process of profile '{profile}'").format(profile=request.profile)
    problem = untrusted_aws_files()
    refused = None if problem is None else _("it was not run, because {problem}").format(problem=problem)
    hint = _("Waiting for the code from mfa_process…")
    return Running(shell_argv(request.mfa_process), source, hint, timeout, refused=refused)


def untrusted_aws_files(environ: Mapping[str, str] | None = None) -> str | None:
    """Why a command read from the AWS files must not run (POSIX), or None.

    A profile is read from both files (botocore merges the credentials file's section over the config's), so both are
    checked as ``ssh`` checks its files: they and every folder above them belong to the user or root, no other user
    can write to them or into the folder holding them (the checks trayapp makes before it writes the credentials
    file), and no symbolic link on the way belongs to someone else."""
    if sys.platform == "win32" or not hasattr(os, "geteuid"):
        return None  # privacy comes from the profile folder's ACL there
    from trayapp.core.credentials_file import strict_modes
    from trayapp.core.profiles import config_path, credentials_path

    for path in (config_path(environ), credentials_path(environ)):
        try:
            st = os.stat(path)
        except FileNotFoundError:
            continue
        except OSError:
            continue  # unreadable: nothing is read from it, so nothing from it runs
        try:
            reason = strict_modes.unsafe_location(path)
        except OSError:
            reason = None
        if reason is not None:
            return reason
        others = st.st_mode & 0o002 or (st.st_mode & 0o020 and not strict_modes.private_group(st.st_gid, os.geteuid()))
        if others:
            return _("other users can write to {file}; run chmod go-w {file}").format(file=path)
    return None


def ykman_path(which: Callable[[str], str | None] = shutil.which) -> str | None:
    return os.environ.get(YKMAN_ENV) or which("ykman")


def yubikey_account(serial: str, ykman: str, timeout: float = LIST_TIMEOUT) -> str | None:
    """The OATH account on the inserted YubiKey named like *serial* (``ISSUER:`` allowed), or None."""
    listing = Running([ykman, "oath", "accounts", "list"], "ykman", "", timeout)
    listing.done()
    if listing._failure is not None:  # no key, no OATH application, a password: no touch offered
        return None
    names = bytes(listing._output[:MAX_OUTPUT]).decode("utf-8", "replace").splitlines()
    listing._output.clear()
    for name in (line.strip() for line in names):
        if name == serial or name.endswith(":" + serial):
            return name
    return None


def start_yubikey(account: str, ykman: str, timeout: float = TIMEOUT) -> Running:
    return Running(
        [ykman, "oath", "accounts", "code", "--single", account],
        _("your YubiKey"),
        _("Touch your YubiKey…"),
        timeout,
    )


def find_yubikey(serial: str, ykman: str, timeout: float = TIMEOUT) -> Running | None:
    """Look up the account and start waiting for its touch; None without a matching account."""
    account = yubikey_account(serial, ykman)
    return None if account is None else start_yubikey(account, ykman, timeout)


# --- asking a source first --------------------------------------------------------------------

#: Called off the UI path: starts a source, or says there is none (None).
Starter = Callable[[], Running | None]


class SourcedPrompt:
    """Asks ``mfa_process`` or a YubiKey for the code, then *fallback* (the dialog, the terminal…).

    Each request gets one automatic try (a code that fails at STS, or a reused one, is not asked for again: a
    generator would only repeat it); after that, or when the source fails, the fallback asks with the sentence saying
    why. A fallback with ``ask_with_source`` (the dialog) shows itself at once and lets the source fill the code in
    while typing still works; others wait for the source first (on a terminal, Ctrl-C stops the wait and asks
    instead). The code goes back to the service as a typed one does, so it is normalised and checked against reuse the
    same way."""

    def __init__(
        self,
        fallback: MfaPrompt,
        *,
        ykman: Callable[[], str | None] = ykman_path,
        out: TextIO | None = None,
        timeout: float = TIMEOUT,
        interactive: bool | None = None,
    ) -> None:
        self._fallback = fallback
        self._ykman = ykman
        self._out = out
        self._timeout = timeout
        self._interactive = interactive
        self._tried: set[MfaRequest] = set()
        self._running: Running | None = None
        self._aborted = threading.Event()

    @property
    def fallback(self) -> MfaPrompt:
        """Who is asked when the source gives no code (the dialog, the terminal, or nobody)."""
        return self._fallback

    @property
    def last_error(self) -> str | None:
        last = getattr(self._fallback, "last_error", None)
        return last if isinstance(last, str) else None

    def ask(self, request: MfaRequest, error: str | None = None) -> str | None:
        if self._aborted.is_set():
            return None  # the app is quitting: nothing more is started
        if request in self._tried:
            return self._fallback.ask(request, error)
        self._tried.add(request)
        starter = self._starter(request)
        if starter is None:
            return self._fallback.ask(request, error)
        starter = self._watched(starter)
        if request.mfa_process:
            running = starter()
            assert running is not None
            if running.done(QUIET_START):  # a generator that needs no touch: no window at all
                return self._take(running, request, error)
            starter = lambda: running  # noqa: E731 - the dialog waits for the one already running
        with_source = getattr(self._fallback, "ask_with_source", None)
        if with_source is not None:
            code = with_source(request, error, starter)
            return code if isinstance(code, str) else None
        running = starter()
        if running is None:
            return self._fallback.ask(request, error)
        self._say(running.hint)
        return self._take(running, request, error)

    def _watched(self, starter: Starter) -> Starter:
        def start() -> Running | None:  # known to abort() at once: a Quit while it starts stops it
            running = starter()
            self._running = running
            if running is not None and self._aborted.is_set():
                running.stop()
            return running

        return start

    def _take(self, running: Running, request: MfaRequest, error: str | None) -> str | None:
        self._running = running
        try:
            return running.result()
        except errors.CodeSourceFailed as exc:
            code = self._fallback.ask(request, str(exc))
            if code is None:
                raise  # nobody typed instead (or nobody could): the reason is the sentence to show
            return code
        except Stopped:
            return None if self._aborted.is_set() else self._fallback.ask(request, error)
        except KeyboardInterrupt:
            running.stop()
            if not self._is_interactive():
                raise
            return self._fallback.ask(request, error)
        finally:
            self._running = None

    def _starter(self, request: MfaRequest) -> Starter | None:
        if request.mfa_process:
            return lambda: start_mfa_process(request, self._timeout)
        ykman = self._ykman()
        if ykman is None:
            return None
        return lambda: find_yubikey(request.mfa_serial, ykman, self._timeout)

    def _say(self, hint: str) -> None:
        out = self._out if self._out is not None else sys.stderr
        if out is None:
            return
        text = hint + (" " + _("(Ctrl-C to type the code instead)") if self._is_interactive() else "")
        with contextlib.suppress(OSError, ValueError):
            print(f"trayapp: {text}", file=out, flush=True)

    def _is_interactive(self) -> bool:
        """Whether someone at a terminal could type the code instead."""
        return _isatty(sys.stdin) if self._interactive is None else self._interactive

    def close(self) -> None:
        running = self._running
        if running is not None:
            running.stop()
        self._fallback.close()

    def abort(self) -> None:
        """The app is quitting: stop the source and the fallback's window."""
        self._aborted.set()
        running = self._running
        if running is not None:
            running.stop()
        abort = getattr(self._fallback, "abort", None)
        if abort is not None:
            abort()


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (OSError, ValueError):
        return False
