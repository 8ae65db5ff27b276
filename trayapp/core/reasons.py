"""One sentence for a failure no trayapp code put into words: the command line's last resort and the
tray's failed actions say it instead of an exception's class name.

:func:`sentence` knows trayapp's own errors (their message), the network failures of botocore (an
endpoint that can't be reached or does not answer — named by its scheme, host and port only, never a
path or query) and the operating system's (its ``strerror``).  Anything else is None: the caller says
what failed and where the log file is, and logs the traceback there.
"""

from __future__ import annotations

import sys
import urllib.parse

from trayapp.core.errors import TrayappError
from trayapp.i18n import _

__all__ = ["os_reason", "sentence"]


def _endpoint(url: object) -> str:
    """``https://host:port`` of *url*: no path, no query, no credentials."""
    try:
        parts = urllib.parse.urlsplit(str(url))
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return _("the AWS endpoint")
    if not host:
        return _("the AWS endpoint")
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}" if parts.scheme else host + port


def _botocore(exc: BaseException) -> str | None:
    bx = sys.modules.get("botocore.exceptions")  # not loaded: not one of its errors
    if bx is None:
        return None
    kwargs = getattr(exc, "kwargs", {}) or {}
    endpoint = _endpoint(kwargs.get("endpoint_url", ""))
    if isinstance(exc, (bx.ConnectTimeoutError, bx.ReadTimeoutError)):
        return _("{endpoint} did not answer in time; check your network connection.").format(endpoint=endpoint)
    if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectionClosedError, bx.HTTPClientError)):
        return _("{endpoint} can't be reached; check your network connection.").format(endpoint=endpoint)
    if isinstance(exc, bx.NoCredentialsError):
        return _("no AWS credentials were found to sign the request with.")
    return None


def sentence(exc: BaseException) -> str | None:
    """*exc* in one sentence a person can act on, or None when trayapp can't tell more than its kind."""
    if isinstance(exc, TrayappError):
        return str(exc)
    known = _botocore(exc)
    if known is not None:
        return known
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return _("the network connection failed; check your network connection.")
    if isinstance(exc, OSError) and exc.strerror:
        if exc.filename:
            return _("{path}: {reason}.").format(path=exc.filename, reason=exc.strerror)
        return exc.strerror + "."
    return None


def os_reason(exc: OSError) -> str:
    """An operating system error as the reason inside a sentence: its own words, never its kind."""
    return exc.strerror or _("the system refused")
