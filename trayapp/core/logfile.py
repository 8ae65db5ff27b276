"""trayapp's log file: where the tray (and, for warnings, the command line) writes what it did and
what went wrong, with tracebacks that never reach a person's screen.

Where: ``$XDG_STATE_HOME/trayapp/trayapp.log`` on Linux and the BSDs (default
``~/.local/state/trayapp/trayapp.log``), ``~/Library/Logs/trayapp/trayapp.log`` on macOS,
``%LOCALAPPDATA%\\trayapp\\Logs\\trayapp.log`` on Windows (platformdirs' folders).

How: rotated at 1 MB, three old files kept (``trayapp.log.1`` … ``.3``); the folder is made 0700 and
every file 0600.  On POSIX a folder that is a symbolic link, belongs to another user or is open to
others (and can't be closed), or a log file that is a link or another user's, is not written through:
the process then logs on standard error only, and says so once.  Several trayapp processes append
to the same file (``O_APPEND``); one of them may rotate it under another, which then writes on into
the renamed file until its next start: nothing is lost.

What: every line is passed through :func:`redact` after formatting (the message *and* any
traceback), so an access key, a secret, a token, an OAuth code or state that reached a message by
accident becomes ``[redacted]``.  The templates of trayapp's own messages hold no secret in the
first place (:mod:`trayapp.core.errors`); this is the net under them.

:func:`setup` wires it: the file takes trayapp's INFO lines in the tray (WARNING in the command line;
``TRAYAPP_LOG`` lowers both), standard error takes WARNING lines as sentences (``trayapp: …``, never a
traceback unless ``TRAYAPP_LOG=debug``).  A record logged with ``extra=FILE_ONLY`` (a notice with no
notification server to show it, a traceback) goes to the file alone while the file works.
botocore's loggers stay at WARNING: its debug log prints request bodies.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import stat
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trayapp.i18n import _

__all__ = ["FILE_ONLY", "LogFile", "current", "log_path", "redact", "setup", "write_line"]

MAX_BYTES = 1_000_000
BACKUPS = 3
#: ``log.info(..., extra=FILE_ONLY)``: for the log file only (while there is one).
FILE_ONLY: Mapping[str, Any] = {"trayapp_file_only": True}
_APP = "trayapp"
_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"

_current: LogFile | None = None
_installed: list[logging.Handler] = []  # what setup() added to the root logger


def log_path(environ: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """The log file's path (nothing is created)."""
    import platformdirs

    plat = sys.platform if platform is None else platform
    if plat in ("darwin", "win32"):
        return Path(platformdirs.user_log_dir(_APP, appauthor=False)) / "trayapp.log"
    env = os.environ if environ is None else environ
    state = env.get("XDG_STATE_HOME", "")
    if state and os.path.isabs(state):  # as the XDG spec and platformdirs read it
        return Path(state) / _APP / "trayapp.log"
    return Path(platformdirs.user_state_dir(_APP, appauthor=False)) / "trayapp.log"


# --- redaction ------------------------------------------------------------------------------------

#: ``name=value``, ``name: value``, ``"name": "value"`` for a name that holds a secret.
_NAMED = re.compile(
    r"(?i)(\b(?:aws_secret_access_key|aws_session_token|secret_?access_?key|session_?token|access_?token|"
    r"refresh_?token|id_?token|client_?secret|code_?verifier|device_?code|user_?code|bearer_?token|"
    r"authorization|password|secret|token|code|state)\b[\"']?\s*[:=]\s*(?:bearer\s+)?[\"']?)"
    r"([^\s\"'&,;}\]]+)"
)
_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{12,}\b")
#: A long run of base64 or hex (a secret key, a session token, an OAuth token) that does not start
#: like a path; it must hold a letter and a digit.
_BLOB = re.compile(r"(?<![\w+/=.~-])(?![/~])[A-Za-z0-9+/=_-]{32,}(?![\w+/=-])")


def _blob(match: re.Match[str]) -> str:
    text = match.group(0)
    if any(c.isdigit() for c in text) and any(c.isalpha() for c in text):
        return "[redacted]"
    return text


def redact(text: str) -> str:
    """*text* with anything that looks like a key, a secret, a token or a code replaced."""
    text = _NAMED.sub(lambda m: m.group(1) + "[redacted]", text)
    text = _KEY_ID.sub("[redacted]", text)
    return _BLOB.sub(_blob, text)


class RedactingFormatter(logging.Formatter):
    """The file's lines: time, process, level, logger, message and traceback — all redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class SentenceFormatter(logging.Formatter):
    """Standard error's lines: ``trayapp: <message>``; a traceback only with *tracebacks*."""

    def __init__(self, tracebacks: bool) -> None:
        super().__init__("trayapp: %(message)s")
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        if self.tracebacks:
            return redact(super().format(record))
        return redact("trayapp: " + record.getMessage())


# --- the file -------------------------------------------------------------------------------------


def _unsafe_folder(folder: Path) -> str | None:
    """Why *folder* can't hold the log (made 0700 if missing), or None (POSIX)."""
    from trayapp.core.runtime import private_folder, safe_folder

    with contextlib.suppress(OSError):
        folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not safe_folder(folder.parent, own=False):
        return _("another user can change its folder {folder}").format(folder=folder.parent)
    if private_folder(folder) is None:
        return _("{folder} is not a folder of yours closed to other users").format(folder=folder)
    return None


def _open_private(path: Path) -> str | None:
    """Create *path* 0600 if missing (or close a file of ours that is open to others); why it can't
    be used, or None."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        if os.path.islink(path):
            return _("{path} is a symbolic link").format(path=path)
        return exc.strerror or _("it can't be opened")
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return _("{path} is not a regular file").format(path=path)
        if sys.platform != "win32":
            if st.st_uid != os.geteuid():
                return _("{path} belongs to another user (uid {uid})").format(path=path, uid=st.st_uid)
            if stat.S_IMODE(st.st_mode) & 0o077:
                os.fchmod(fd, 0o600)
    except OSError as exc:
        return exc.strerror or _("it can't be opened")
    finally:
        os.close(fd)
    return None


def _prepare(path: Path) -> str | None:
    """Make *path* ready to append to: why not, or None."""
    if sys.platform == "win32":
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
    else:
        reason = _unsafe_folder(path.parent)
        if reason is not None:
            return reason
    return _open_private(path)


def _rotate(source: str, dest: str) -> None:
    """The rotating handler's rotator: rename, then start the new file 0600 (the handler opens it
    with the umask's mode otherwise)."""
    with contextlib.suppress(FileNotFoundError):
        os.replace(source, dest)
    _open_private(Path(source))


class LogFile(logging.Handler):
    """The log file as a logging handler, opened on the first line (or :meth:`open`), so a command
    that logs nothing costs nothing.  Never raises, never prints logging's own error report."""

    def __init__(self, path: Path | None = None, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self._path = path
        self._inner: logging.Handler | None = None
        #: Why the file can't be used, once that is known.
        self.refused: str | None = None
        self.setFormatter(RedactingFormatter(_FORMAT))

    @property
    def path(self) -> Path:
        if self._path is None:
            self._path = log_path()
        return self._path

    def open(self) -> Path | None:
        """The path when the file can be written (made ready now), else None (see ``refused``)."""
        if self._inner is not None:
            return self.path
        if self.refused is not None:
            return None
        reason = _prepare(self.path)
        if reason is not None:
            self.refused = reason
            return None
        from logging.handlers import RotatingFileHandler

        try:
            inner = RotatingFileHandler(self.path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
        except OSError as exc:
            self.refused = exc.strerror or str(exc)
            return None
        inner.rotator = _rotate
        inner.handleError = lambda record: None  # type: ignore[method-assign]  # a full disk stays quiet
        inner.setFormatter(self.formatter)
        self._inner = inner
        return self.path

    def emit(self, record: logging.LogRecord) -> None:
        if self.open() is not None and self._inner is not None:
            self._inner.handle(record)

    def handleError(self, record: logging.LogRecord) -> None:
        pass  # logging's report would land on standard error with a traceback

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()
        super().close()


def current() -> LogFile | None:
    """The log file :func:`setup` installed in this process, if any."""
    return _current


def write_line(text: str) -> bool:
    """Append *text* as one line (a windowed process with no standard error: :func:`trayapp.protocol.report`)."""
    handler = _current if _current is not None else LogFile()
    path = handler.open()
    if path is None:
        return False
    try:
        with open(path, "a", encoding="utf-8") as log:
            log.write(time.strftime("%Y-%m-%d %H:%M:%S ") + redact(text) + "\n")
    except OSError:
        return False
    return True


class _NotFileOnly(logging.Filter):
    """Standard error's filter: what the file takes alone stays off it while the file works.  A
    traceback logged with ``FILE_ONLY`` belongs to a failure already told in a sentence: it shows here
    only to a developer who asked for tracebacks (``TRAYAPP_LOG=debug``); a notice with ``FILE_ONLY``
    comes here when there is no file."""

    def __init__(self, file: LogFile, tracebacks: bool) -> None:
        super().__init__()
        self.file = file
        self.tracebacks = tracebacks

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info is not None and self.tracebacks:
            return True
        if getattr(record, "trayapp_file_only", False):
            return record.exc_info is None and self.file.open() is None
        if record.exc_info is not None and record.levelno >= logging.ERROR:
            return self.file.open() is None
        return True


def _wanted(environ: Mapping[str, str]) -> int | None:
    name = environ.get("TRAYAPP_LOG", "").upper()
    return logging.getLevelNamesMapping().get(name) if name else None


def setup(*, tray: bool, environ: Mapping[str, str] | None = None) -> LogFile:
    """Send this process's logging to the log file and to standard error (see the module's text);
    called again (the tray after the command line's set-up), it replaces what it installed."""
    global _current
    env = os.environ if environ is None else environ
    wanted = _wanted(env)
    file_level = logging.INFO if tray else logging.WARNING
    stderr_level = logging.WARNING
    if wanted is not None:
        file_level, stderr_level = min(file_level, wanted), min(stderr_level, wanted)
    root = logging.getLogger()
    while _installed:
        handler = _installed.pop()
        root.removeHandler(handler)
        handler.close()
    root.setLevel(logging.WARNING)  # botocore and the other libraries: warnings only
    file = LogFile(level=file_level)
    stream = logging.StreamHandler(sys.stderr)
    stream.setLevel(stderr_level)
    tracebacks = wanted is not None and wanted <= logging.DEBUG
    stream.setFormatter(SentenceFormatter(tracebacks))
    stream.addFilter(_NotFileOnly(file, tracebacks))
    for handler in (file, stream):
        _installed.append(handler)
        root.addHandler(handler)
    logging.getLogger(_APP).setLevel(min(file_level, stderr_level))
    _current = file
    if tray:
        file.open()  # the tray says at once when it can't (see ``refused``)
    return file
