"""The AWS console for a session: the federation sign-in URL, partition-aware.

The session's keys go to the federation endpoint in a POST body, never in a
URL or on a command line, and only over https (plain http only to this
computer, for a local stand-in).  The answer is read with a size limit and its
``SigninToken`` checked before it is used.

The sign-in URL itself carries the token, a 15-minute key to the console, so it
never goes on a command line either (``ps`` and ``/proc/PID/cmdline`` show
command lines to every local user): :func:`open_signin_page` writes a small
page that forwards the browser to it, mode 0600 in a fresh 0700 folder inside
trayapp's private runtime folder, and hands the browser only that page's
``file://`` address.  The folder is removed :data:`PAGE_SECONDS` later by a
detached sweeper process (so neither the CLI nor the tray waits), and any
leftover of an earlier run whose sweeper was killed is removed at the next open.
"""

from __future__ import annotations

import atexit
import contextlib
import html
import ipaddress
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from trayapp.core.commands import MAX_DURATION, MIN_DURATION
from trayapp.core.errors import ConfigError, SigninFailed
from trayapp.core.sts import Credentials
from trayapp.i18n import _

#: partition → (federation endpoint, console)
PARTITIONS = {
    "aws": ("https://signin.aws.amazon.com/federation", "https://console.aws.amazon.com/"),
    "aws-cn": ("https://signin.amazonaws.cn/federation", "https://console.amazonaws.cn/"),
    "aws-us-gov": ("https://signin.amazonaws-us-gov.com/federation", "https://console.amazonaws-us-gov.com/"),
}
#: Overrides the federation endpoint (a local stand-in in tests, a proxy in odd networks).
ENDPOINT_ENV = "TRAYAPP_SIGNIN_URL"
TIMEOUT = 10
#: The federation endpoint's answer is a small JSON object; anything larger is refused.
MAX_ANSWER = 64 * 1024
#: A sign-in token: URL-safe text of a sane length (real ones are about a thousand characters).
TOKEN = re.compile(r"[A-Za-z0-9_.~+/=-]{8,16384}")
#: How long the forwarding page stays for the browser to read it (``TRAYAPP_CONSOLE_PAGE_SECONDS``).
PAGE_SECONDS = 60.0
PAGE_SECONDS_ENV = "TRAYAPP_CONSOLE_PAGE_SECONDS"
PAGE_PREFIX = "trayapp-console-"
#: ``SessionDuration`` bounds of the federation endpoint (a console session of 15 min to 12 h).
MIN_CONSOLE_SECONDS, MAX_CONSOLE_SECONDS = MIN_DURATION, MAX_DURATION
PAGE_NAME = "signin.html"

Opener = Callable[..., Any]
Browser = Callable[[str], bool]


class InsecureSigninEndpoint(ConfigError):
    template = (
        "The sign-in endpoint {endpoint} is refused: session keys are sent only to an https "
        "address (plain http only to this computer); fix TRAYAPP_SIGNIN_URL."
    )


def partition_of(role_arn: str) -> str:
    parts = role_arn.split(":")
    return parts[1] if len(parts) > 1 and parts[1] in PARTITIONS else "aws"


def _is_loopback(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def checked_endpoint(url: str) -> str:
    """*url* when keys may be sent there: https, or http to a loopback address."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        parts, host = urllib.parse.urlsplit(""), ""
    scheme = parts.scheme.lower()
    if host and (scheme == "https" or (scheme == "http" and _is_loopback(host))):
        return url
    shown = f"{scheme}://{host}" if scheme and host else _("(not a URL)")
    raise InsecureSigninEndpoint(endpoint=shown)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: the keys must go to the endpoint that was checked, nowhere else."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _default_opener(request: urllib.request.Request, timeout: float) -> Any:
    return urllib.request.build_opener(_NoRedirect).open(request, timeout=timeout)


def _read_limited(response: Any, limit: int) -> bytes | None:
    """Up to *limit* bytes of *response*; None when it holds more."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = response.read(min(16384, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return None


def console_seconds(left: int | None) -> int | None:
    """The ``SessionDuration`` to ask for: the session's *left* seconds within the endpoint's
    bounds; None (ask for none) when AWS takes none (*left* None) or the bounds can't hold it."""
    if left is None or left <= 0:
        return None
    return max(MIN_CONSOLE_SECONDS, min(MAX_CONSOLE_SECONDS, left))


def signin_url(
    profile: str,
    credentials: Credentials,
    role_arn: str,
    region: str | None,
    *,
    opener: Opener = _default_opener,
    environ: Mapping[str, str] | None = None,
    session_duration: int | None = None,
) -> str:
    """The console sign-in URL for *credentials*.

    AWS's rules for the federation endpoint's ``SessionDuration`` (a role session's bounds): it may
    be sent only for keys of a role that an IAM user's long-term keys assumed; for a role assumed with
    temporary keys (an MFA session's, or another role's: role chaining) the endpoint refuses the
    request.  So *session_duration* (the session's seconds left) is passed only for the first
    kind, and when the endpoint still refuses it (HTTP 400) the request is sent once more without
    it, which the endpoint accepts for every kind of role keys (the console's default length).
    """
    env = os.environ if environ is None else environ
    federation, console = PARTITIONS[partition_of(role_arn)]
    federation = checked_endpoint(env.get(ENDPOINT_ENV) or federation)
    session = json.dumps(
        {
            "sessionId": credentials.access_key_id,
            "sessionKey": credentials.secret_access_key,
            "sessionToken": credentials.session_token or "",
        }
    )
    seconds = console_seconds(session_duration)
    try:
        data = _ask_token(federation, session, seconds, opener)
    except urllib.error.HTTPError as exc:
        if seconds is None or exc.code != 400:
            raise SigninFailed(profile=profile, reason=_http_reason(exc.code)) from None
        try:
            data = _ask_token(federation, session, None, opener)
        except urllib.error.HTTPError as again:
            raise SigninFailed(profile=profile, reason=_http_reason(again.code)) from None
        except (urllib.error.URLError, TimeoutError, OSError, ValueError):
            raise SigninFailed(profile=profile, reason=_("the sign-in service can't be reached")) from None
    except (urllib.error.URLError, TimeoutError, OSError, ValueError):
        raise SigninFailed(profile=profile, reason=_("the sign-in service can't be reached")) from None
    unreadable = _("the sign-in service sent an answer trayapp could not read")
    if data is None:
        raise SigninFailed(profile=profile, reason=unreadable)
    try:
        answer = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise SigninFailed(profile=profile, reason=unreadable) from None
    token = answer.get("SigninToken") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not TOKEN.fullmatch(token):
        raise SigninFailed(profile=profile, reason=unreadable)
    destination = console + (f"console/home?region={urllib.parse.quote(region)}" if region else "")
    query = urllib.parse.urlencode(
        {"Action": "login", "Issuer": "trayapp", "Destination": destination, "SigninToken": token}
    )
    return f"{federation}?{query}"


def _http_reason(status: int) -> str:
    return _("the sign-in service answered HTTP {status}").format(status=status)


def _ask_token(federation: str, session: str, seconds: int | None, opener: Opener) -> bytes | None:
    """One ``getSigninToken`` request (keys in the POST body); the answer, None when too large."""
    fields = {"Action": "getSigninToken", "Session": session}
    if seconds is not None:
        fields["SessionDuration"] = str(seconds)
    request = urllib.request.Request(
        federation,
        data=urllib.parse.urlencode(fields).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    with opener(request, timeout=TIMEOUT) as response:
        return _read_limited(response, MAX_ANSWER)


# --- handing the URL to the browser without a command line ----------------------------


def forwarding_page(url: str, label: str | None = None) -> str:
    """A page that sends the browser on to *url* at once (meta refresh, script, and a link)."""
    attribute = html.escape(url, quote=True)
    script = json.dumps(url).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    label = html.escape(label or _("Open AWS console"))
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f'<meta http-equiv="refresh" content="0;url={attribute}">\n'
        "<title>trayapp</title>\n"
        f"<script>window.location.replace({script});</script>\n"
        f'</head><body><p><a href="{attribute}">{label}</a></p></body></html>\n'
    )


def page_seconds(environ: Mapping[str, str] | None = None) -> float:
    env = os.environ if environ is None else environ
    try:
        seconds = float(env.get(PAGE_SECONDS_ENV, ""))
    except ValueError:
        return PAGE_SECONDS
    return seconds if 0 <= seconds <= 3600 else PAGE_SECONDS


def _page_parent() -> Path:
    from trayapp.core.runtime import private_runtime_dir

    return private_runtime_dir() or Path(tempfile.gettempdir())


def _ours(path: Path) -> bool:
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and (not hasattr(os, "getuid") or st.st_uid == os.getuid())


def sweep_leftovers(parent: Path, older_than: float, now: float | None = None) -> None:
    """Remove forwarding pages of earlier runs whose sweeper never ran (killed, power cut)."""
    now = time.time() if now is None else now
    with contextlib.suppress(OSError):
        for entry in parent.iterdir():
            if entry.name.startswith(PAGE_PREFIX):
                with contextlib.suppress(OSError):
                    if _ours(entry) and now - os.lstat(entry).st_mtime > older_than:
                        shutil.rmtree(entry, ignore_errors=True)


def write_page(url: str, parent: Path | None = None, label: str | None = None) -> Path:
    """The forwarding page for *url*: 0600, alone in a new 0700 folder under *parent*."""
    parent = _page_parent() if parent is None else parent
    folder = Path(tempfile.mkdtemp(prefix=PAGE_PREFIX, dir=parent))  # 0700, a name nobody could guess
    page = folder / PAGE_NAME
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(page, flags, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(forwarding_page(url, label).encode("utf-8"))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return page


_SWEEPER = "import shutil,sys,time; time.sleep(float(sys.argv[2])); shutil.rmtree(sys.argv[1], ignore_errors=True)"


def remove_later(folder: Path, seconds: float) -> None:
    """Remove *folder* after *seconds*, without keeping this process waiting.

    A detached ``python -c`` child does it (its command line holds only the folder's name),
    so the CLI exits at once and a tray that quits does not cut it short.  A frozen build
    has no ``python -c``: a daemon timer does it, and at exit whatever is left is removed
    after waiting at most 10 s of the remaining time.
    """
    if not getattr(sys, "frozen", False):
        options: dict[str, Any] = {}
        if sys.platform == "win32":
            options["creationflags"] = getattr(subprocess, "DETACHED_PROCESS", 0) | getattr(
                subprocess, "CREATE_NO_WINDOW", 0
            )
        else:
            options["start_new_session"] = True
        try:
            subprocess.Popen(
                [sys.executable, "-I", "-c", _SWEEPER, str(folder), repr(seconds)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                close_fds=True,
                **options,
            )
            return
        except OSError:
            pass
    deadline = time.monotonic() + seconds
    timer = threading.Timer(seconds, shutil.rmtree, args=(folder,), kwargs={"ignore_errors": True})
    timer.daemon = True
    timer.start()

    def at_exit() -> None:
        timer.cancel()
        time.sleep(max(0.0, min(10.0, deadline - time.monotonic())))
        shutil.rmtree(folder, ignore_errors=True)

    atexit.register(at_exit)


def open_signin_page(
    url: str,
    *,
    browser: Browser | None = None,
    parent: Path | None = None,
    environ: Mapping[str, str] | None = None,
    label: str | None = None,
) -> bool:
    """Open the console sign-in *url* (or any address with a secret in it: an SSO sign-in's
    authorize page) in the browser through a private forwarding page; *label* is its link's text.

    Returns what the browser launcher said (False: no browser could be opened; the page is
    then removed at once).
    """
    if browser is None:
        import webbrowser

        browser = webbrowser.open
    seconds = page_seconds(environ)
    parent = _page_parent() if parent is None else parent
    sweep_leftovers(parent, older_than=max(seconds, PAGE_SECONDS))
    page = write_page(url, parent, label)
    try:
        opened = bool(browser(page.as_uri()))
    except BaseException:
        shutil.rmtree(page.parent, ignore_errors=True)
        raise
    if not opened:
        shutil.rmtree(page.parent, ignore_errors=True)
        return False
    remove_later(page.parent, seconds)
    return True
