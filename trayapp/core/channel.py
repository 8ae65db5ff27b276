"""The private channel between the command line and the running tray: where it is, what it says.

When a tray runs for the same AWS files, ``trayapp assume P --code…``, ``credential-process``,
``env`` and ``status`` ask it over a Unix socket instead of starting the engine (botocore, an STS
client) in a fresh process.  The socket lives in the private runtime folder
(:mod:`trayapp.core.runtime`), is named after the credentials file like the tray's single-instance
lock, and is mode 0600.  Both ends check the other: the tray serves only a peer of its own uid
(``SO_PEERCRED``), and the command line connects only to a socket of its own uid, mode 0600, in a
folder of its own, and then checks the listening process's uid too.  One JSON line each way; the MFA
code (in) and the session's keys (out) travel only on this socket.

Anything unexpected — no tray, a stale socket (connection refused), someone else's socket, another
version, a tray that says nothing within :data:`GIVE_UP` seconds (stopped, swapped out, deadlocked)
— and the command line takes its usual path, silently.

The tray's first line comes at once, before any work that can wait on the network: the answer of a
read-only command, ``{"fallback": …}`` (``"busy"`` among them), or ``{"ready": true}`` — for an
assume, and for a ``credential-process`` the tray renews first (no code involved there).
Only after that does the command line send the MFA code (a second line), and from then on the code
is the tray's: the command line waits for its result and never sends the code to STS itself, so a
code is never spent twice (a tray that goes silent *after* taking the code leaves the command line
saying so, not retrying).  A request left unread in a stopped tray's queue holds no code.

A ``credential-process`` whose caller has nobody to ask (no display, standard input not a
terminal: an SDK run by a service, an ssh shell) says so (``"ask": true``).  When the session needs
a person, the tray then shows its own prompt — the MFA dialog a menu click opens, or the sign-in the
menu's **Sign in…** starts, joined when one is open already — and says ``{"asking": true}`` at once
(or falls back, and the command line's own at-once refusal stands).  While the prompt is shown it
sends ``{"waiting": true}`` every :data:`KEEP_ALIVE` seconds; the command line waits as long as
those come (:data:`ASK_LINE_TIMEOUT` per line, no total), and ends with the keys or one sentence.
A caller that goes away leaves the prompt as a normal one: a code entered still makes the session.

This module is on the command line's fast path, where a bare interpreter start is the yardstick: it
imports no pathlib, typing, socket, json or hashlib (each costs more than the whole request), only
their C halves (``_socket``, ``_json``, ``_sha256``), so the runtime folder is found here read-only,
by the same rules as :func:`trayapp.core.runtime.private_runtime_dir`, and the JSON lines are written
and read with ``_json``'s encoder and scanner (the standard ``json`` module where those are missing).

Linux only for now (``SO_PEERCRED``); elsewhere :func:`supported` is False and nothing changes.
"""

from __future__ import annotations

import os
import stat
import sys

import trayapp
from trayapp.core import commands

TYPE_CHECKING = False  # typing itself costs more than a request to the tray
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

#: Bumped when the requests or replies change meaning; a tray of another version is not asked.
PROTOCOL = 3
VERSION = f"{PROTOCOL}/{trayapp.__version__}"
#: The commands the channel serves (defined, with their options and checks, in core/commands.py).
COMMANDS = tuple(commands.TABLE)
#: Set (to anything but "" or "0") to never use the channel.
DISABLE_ENV = "TRAYAPP_NO_CHANNEL"
#: A request or reply line longer than this is not ours.
MAX_LINE = 64 * 1024
#: A tray that has not answered this long after the command line began to connect is given up
#: on (connect, send and the tray's first line, all together).
GIVE_UP = 1.5
#: An assume whose code the tray took waits for STS (botocore retries included).
ASSUME_TIMEOUT = 120.0
#: A credential-process the tray renews without a code (STS: 3 s connect, 5 s read, two tries);
#: after that the command line renews by itself, which is safe: no code was handed over.
RENEW_TIMEOUT = 30.0
#: While the tray shows a prompt for a caller with nobody to ask, a line comes this often…
KEEP_ALIVE = 3.0
#: …and a tray that sends none for this long (quit, stopped, stuck) is given up on.
ASK_LINE_TIMEOUT = 10.0
#: sockaddr_un holds 108 bytes; a longer path is reached through /proc/self/fd (Linux).
_SUN_PATH_MAX = 100

#: Environment variables that change what the engine does: a tray started with other values
#: (another STS endpoint, other keys for ``credential_source = Environment``, a proxy) can't
#: answer for this command line.
_ENGINE_ENV_PREFIXES = ("AWS_", "TRAYAPP_")
_ENGINE_ENV_EXTRA = ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy")
#: …but not these, which only tools or this command line itself read.
_NOT_ENGINE_ENV = frozenset(
    {
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_EB_PROFILE",
        "AWS_PAGER",
        "AWS_DEFAULT_OUTPUT",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_CLI_AUTO_PROMPT",
        # The AWS CLI v1 sets it (to its own data folder, which holds no service model) for every
        # credential_process it runs: counted, it kept the aws CLI from ever using the tray.
        "AWS_DATA_PATH",
        "AWS_SDK_LOAD_CONFIG",
        "AWS_CONFIG_FILE",  # compared as resolved paths instead
        "AWS_SHARED_CREDENTIALS_FILE",
        "TRAYAPP_LOG",
        "TRAYAPP_SHELL",
        DISABLE_ENV,
    }
)


def nobody_here(environ: Mapping[str, str] | None = None) -> bool:
    """True when this command can show no prompt of its own: no display (the channel is Linux's:
    ``DISPLAY``/``WAYLAND_DISPLAY``, as :func:`trayapp.core.prompts.has_display` decides there) and
    standard input not a terminal.  Such a caller asks the tray to ask the person."""
    env = os.environ if environ is None else environ
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return False
    try:
        return not os.isatty(0)
    except OSError:
        return True


def supported() -> bool:
    """True where the peer's uid can be checked on a Unix socket (Linux's ``SO_PEERCRED``)."""
    return sys.platform.startswith("linux")


def disabled(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get(DISABLE_ENV, "") not in ("", "0")


# --- which files, and which socket -------------------------------------------------------------


def aws_paths(environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The config and credentials files, resolved (POSIX: ``$VAR`` and ``~`` expanded as botocore does)."""
    env = os.environ if environ is None else environ
    found = []
    for name, default in (("AWS_CONFIG_FILE", "~/.aws/config"), ("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")):
        path = os.path.expanduser(os.path.expandvars(env.get(name) or default))
        found.append(os.path.realpath(path))
    return found[0], found[1]


def _sha256() -> Any:
    for name in ("_sha2", "_sha256"):  # CPython's own SHA-256 (3.12+, 3.11): no OpenSSL to load
        try:
            return __import__(name).sha256()
        except (ImportError, AttributeError):
            continue
    import hashlib

    return hashlib.sha256()


def socket_name(credentials: str) -> str:
    """``tray-<key>.sock``, keyed like the single-instance lock by the resolved credentials path."""
    digest = _sha256()
    digest.update(credentials.encode(errors="surrogateescape"))
    return f"tray-{str(digest.hexdigest())[:16]}.sock"


def engine_fingerprint(environ: Mapping[str, str] | None = None) -> str:
    """A digest of the environment the engine reads (no value leaves the process)."""
    env = os.environ if environ is None else environ
    names = sorted(
        k for k in env if (k.startswith(_ENGINE_ENV_PREFIXES) or k in _ENGINE_ENV_EXTRA) and k not in _NOT_ENGINE_ENV
    )
    digest = _sha256()
    for name in names:
        digest.update(f"{name}\0{env[name]}\0".encode(errors="surrogateescape"))
    return str(digest.hexdigest())


def _safe(path: str, *, own: bool) -> bool:
    """:func:`trayapp.core.runtime.safe_folder`, without pathlib."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode):
        return False
    mode = stat.S_IMODE(st.st_mode)
    if own:
        return st.st_uid == os.geteuid() and not mode & 0o077
    if st.st_uid not in (os.geteuid(), 0):
        return False
    return not mode & 0o022 or bool(mode & stat.S_ISVTX)


def find_runtime_dir(environ: Mapping[str, str] | None = None) -> str | None:
    """The private runtime folder the tray uses, if it exists; never creates anything."""
    env = os.environ if environ is None else environ
    parents = []
    xdg = env.get("XDG_RUNTIME_DIR", "")
    if xdg and os.path.isabs(xdg):
        parents.append(xdg)
    run_user = f"/run/user/{os.geteuid()}"
    if run_user not in parents:
        parents.append(run_user)
    for parent in parents:
        if _safe(parent, own=False):
            folder = os.path.join(parent, "trayapp")
            if _safe(folder, own=True):
                return folder
    home = env.get("HOME") or os.path.expanduser("~")
    cache = env.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
    folder = os.path.join(cache, "trayapp-run")
    if _safe(cache, own=False) and _safe(folder, own=True):
        return folder
    return None


def reachable(path: str) -> tuple[str, int | None]:
    """An address ``bind``/``connect`` accept for *path*: itself, or (too long for sockaddr_un)
    the same file through an open descriptor of its folder (close the descriptor afterwards)."""
    if len(os.fsencode(path)) <= _SUN_PATH_MAX:
        return path, None
    folder, name = os.path.split(path)
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    return f"/proc/self/fd/{fd}/{name}", fd


def peer_uid(sock: Any) -> int:
    """The uid of the process at the other end of a connected Unix socket (Linux)."""
    import _socket

    creds = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)  # struct ucred: pid, uid, gid
    return int.from_bytes(creds[4:8], sys.byteorder)


# --- JSON lines without the json module (and the re module it loads) ---------------------------------


class _ScanContext:
    """What ``_json.make_scanner`` reads off ``json.JSONDecoder``."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name: str) -> Any:
        raise ValueError(name)  # NaN, Infinity: never sent


def encode(value: Any) -> bytes:
    """*value* (dicts, lists, str, int, float, bool, None) as one JSON line."""
    try:
        from _json import encode_basestring_ascii as quote
    except ImportError:  # another Python: the module itself
        import json

        return json.dumps(value).encode() + b"\n"

    def text(v: Any) -> str:
        if v is None or isinstance(v, bool):
            return {None: "null", True: "true", False: "false"}[v]
        if isinstance(v, str):
            return str(quote(v))
        if isinstance(v, int | float):
            return repr(int(v) if isinstance(v, int) else float(v))
        if isinstance(v, dict):
            return "{" + ", ".join(f"{quote(str(k))}: {text(x)}" for k, x in v.items()) + "}"
        if isinstance(v, list | tuple):
            return "[" + ", ".join(text(x) for x in v) + "]"
        raise TypeError(type(v).__name__)

    return text(value).encode() + b"\n"


def decode(line: bytes) -> Any:
    """One JSON line; ValueError when it is not exactly one JSON value."""
    text = line.decode()
    try:
        from _json import make_scanner
    except ImportError:
        import json

        return json.loads(text)
    start = len(text) - len(text.lstrip())
    try:
        value, end = make_scanner(_ScanContext())(text, start)  # type: ignore[arg-type]
    except StopIteration:
        raise ValueError("not JSON") from None
    if text[end:].strip():
        raise ValueError("more than one JSON value")
    return value


# --- the command line's end ----------------------------------------------------------------------


class Connection:
    """One request to the tray: connect (checked), send a line, read a line, each within a deadline
    for the whole exchange (not per byte)."""

    def __init__(self, sock: Any, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline
        self._buffer = b""  # bytes after the line read last (the tray may send lines back to back)

    def ask(self, request: dict[str, Any], timeout: float | None = None) -> dict[str, Any] | None:
        """The tray's first reply, or None (nothing usable came back before the deadline: by
        default :data:`GIVE_UP` seconds after :func:`connect` began)."""
        from time import monotonic

        deadline = self._deadline if timeout is None else monotonic() + timeout
        return self._exchange({**request, "version": VERSION}, deadline)

    def follow(self, message: dict[str, Any] | None, timeout: float = ASSUME_TIMEOUT) -> dict[str, Any] | None:
        """Send *message* (if any) after the tray's ``{"ready": true}`` and wait up to *timeout* for
        the result; None when none came (the caller must not assume the tray did nothing)."""
        from time import monotonic

        return self._exchange(message, monotonic() + timeout)

    def _exchange(self, message: dict[str, Any] | None, deadline: float) -> dict[str, Any] | None:
        try:
            if message is not None:
                _settimeout(self._sock, deadline)
                self._sock.sendall(encode(message))
            while b"\n" not in self._buffer:
                _settimeout(self._sock, deadline)
                chunk = self._sock.recv(65536)
                if not chunk or len(self._buffer) + len(chunk) > MAX_LINE:
                    return None
                self._buffer += chunk
            line, self._buffer = self._buffer.split(b"\n", 1)
            reply = decode(line)
        except (OSError, ValueError):
            return None
        return reply if isinstance(reply, dict) else None

    def close(self) -> None:
        self._sock.close()


def _settimeout(sock: Any, deadline: float) -> None:
    """What is left of *deadline* as the socket's timeout; a TimeoutError once it has passed."""
    from time import monotonic

    left = deadline - monotonic()
    if left <= 0:
        raise TimeoutError("the tray did not answer in time")
    sock.settimeout(left)


def connect(environ: Mapping[str, str] | None = None) -> Connection | None:
    """A checked connection to the tray running for these files, or None (then: the usual path)."""
    if not supported() or disabled(environ):
        return None
    folder = find_runtime_dir(environ)
    if folder is None:
        return None
    _config, credentials = aws_paths(environ)
    path = os.path.join(folder, socket_name(credentials))
    try:
        st = os.lstat(path)
    except OSError:
        return None  # no tray
    if not stat.S_ISSOCK(st.st_mode) or st.st_uid != os.geteuid() or stat.S_IMODE(st.st_mode) & 0o077:
        return None  # not a socket the tray made: someone else's, or a mistake; leave it alone
    import _socket
    from time import monotonic

    deadline = monotonic() + GIVE_UP
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    fd: int | None = None
    try:
        _settimeout(sock, deadline)  # a stopped tray's full queue makes connect() wait
        address, fd = reachable(path)
        sock.connect(address)
        if peer_uid(sock) != os.geteuid():
            sock.close()
            return None
    except OSError:  # refused (a stale socket), a timeout…
        sock.close()
        return None
    finally:
        if fd is not None:
            os.close(fd)
    return Connection(sock, deadline)
