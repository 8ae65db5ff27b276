"""Start URLs as the AWS CLI v2 resolves them: a custom domain followed to the AWS access portal.

An organisation may give its access portal a domain of its own (``https://sso.example.com``) that
redirects to the portal's AWS address (``https://d-1234567890.awsapps.com/start``).  The AWS CLI v2
(``awscli/customizations/sso/resolve.py``, ``resolve_start_url``) asks such a URL once (HEAD, GET
when HEAD is refused) without following the redirect, and uses the ``Location`` as the resolved
URL: the issuer of a browser sign-in's client registration and the ``startUrl`` of a device sign-in.
Everything else — the token cache's key and ``startUrl``, the registration's cache key — keeps the
URL as configured, so the CLI, botocore and trayapp keep finding each other's files.  A start URL
on an AWS domain is used as it is, with no request.

Bounded: https only (the URL and every ``Location``), at most :data:`MAX_HOPS` requests, a
:data:`TIMEOUT` for the whole resolution, no answer body read; the resolved URL must be on an AWS
portal domain.  The CLI follows one redirect; trayapp follows up to three, so that whatever the CLI
resolves, trayapp resolves the same way.
"""

from __future__ import annotations

import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from trayapp.core.errors import SsoStartUrlRefused
from trayapp.core.sso_config import SsoSession
from trayapp.i18n import _

#: Seconds for the whole resolution (the CLI: 10 s per request).
TIMEOUT = 10.0
MAX_HOPS = 3
_REDIRECTS = (301, 302, 303, 307, 308)
_AWS_HOSTS = (
    "identitycenter.amazonaws.com",
    "identitycenter.amazonaws.com.cn",
    "identitycenter.amazonaws.eu",
    "identitycenter.us-gov.amazonaws.com",
)
_AWS_DOMAINS = (
    "app.aws",
    "portal.amazonaws.com",
    "portal.amazonaws.com.cn",
    "app.amazonwebservices.com.cn",
    "portal.amazonaws.eu",
    "api.amazonwebservices.eu",
    "awsapps.com",
    "awsapps.cn",
)
# The portal hosts that name their region: <id>.portal.<region>.app.aws, <id>.<region>.portal.amazonaws.com, …
_REGION_IN_HOST = re.compile(
    r"[^.]+\.(?:portal\.(?P<a>[a-z0-9-]+)\.(?:app\.aws|app\.amazonwebservices\.com\.cn|api\.amazonwebservices\.eu)"
    r"|(?P<b>[a-z0-9-]+)\.portal\.(?:amazonaws\.com|amazonaws\.com\.cn|amazonaws\.eu))",
    re.ASCII,
)

#: Asks one URL without following a redirect: (status, Location or None).
Asker = Callable[[str, float], tuple[int, str | None]]


def is_aws_portal(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host in _AWS_HOSTS or any(host == d or host.endswith("." + d) for d in _AWS_DOMAINS)


def region_in(host: str) -> str | None:
    found = _REGION_IN_HOST.fullmatch(host.lower().rstrip("."))
    return (found.group("a") or found.group("b")) if found else None


def _shown(url: str) -> str:
    """A server's text as it may be printed: no control characters, not too long."""
    text = "".join(c for c in url if c.isprintable())
    return text if len(text) <= 120 else text[:117] + "…"


def _normalised(url: str) -> str:
    """The CLI's ``_normalize_url``: no query or fragment, no trailing slash, no default port."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port and parts.port != 443 else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def resolve(
    session: SsoSession, *, environ: Mapping[str, str] | None = None, ask: Asker | None = None, timeout: float = TIMEOUT
) -> str:
    """The start URL to hand IAM Identity Center for *session* (its own, on an AWS domain)."""
    url = session.start_url
    host = urllib.parse.urlsplit(url).hostname or ""
    if is_aws_portal(host):
        return url
    ask = ask or _asker(environ)
    result: list[str | BaseException] = []

    def follow() -> None:
        try:
            result.append(_follow(session, url, ask, timeout))
        except BaseException as exc:  # handed to the caller's thread
            result.append(exc)

    worker = threading.Thread(target=follow, name="trayapp-start-url", daemon=True)
    worker.start()
    worker.join(timeout)
    if not result:
        reason = _("{url} did not answer within {seconds} seconds").format(url=_shown(url), seconds=int(timeout))
        raise SsoStartUrlRefused(session=session.name, reason=reason)
    if isinstance(result[0], BaseException):
        raise result[0]
    resolved = result[0]
    found = region_in(urllib.parse.urlsplit(resolved).hostname or "")
    if found is not None and found != session.region:
        reason = _("its portal is in {found}, but sso_region is {region}; set sso_region = {found}").format(
            found=found, region=session.region
        )
        raise SsoStartUrlRefused(session=session.name, reason=reason)
    return resolved


def _follow(session: SsoSession, url: str, ask: Asker, timeout: float) -> str:
    for _hop in range(MAX_HOPS):
        try:
            status, location = ask(url, timeout)
        except SsoStartUrlUnreachable as exc:
            reason = _("{url} can't be reached ({why})").format(url=_shown(url), why=_why(exc.cause))
            raise SsoStartUrlRefused(session=session.name, reason=reason) from None
        if status >= 400:
            reason = _("{url} answered HTTP {status}").format(url=_shown(url), status=status)
            raise SsoStartUrlRefused(session=session.name, reason=reason)
        if status not in _REDIRECTS:
            break
        if not location:
            reason = _("{url} redirects without saying where").format(url=_shown(url))
            raise SsoStartUrlRefused(session=session.name, reason=reason)
        if len(location) > 2048 or not location.strip().isprintable():
            reason = _("it redirects to {url}, which is not a valid address").format(url=_shown(location))
            raise SsoStartUrlRefused(session=session.name, reason=reason)
        url = urllib.parse.urljoin(url, location.strip())
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            reason = _("it redirects to {url}, which is not an https:// address").format(url=_shown(url))
            raise SsoStartUrlRefused(session=session.name, reason=reason)
        if is_aws_portal(parts.hostname):
            return _normalised(url)
    reason = _("it does not lead to an AWS access portal (last address: {url})").format(url=_shown(url))
    raise SsoStartUrlRefused(session=session.name, reason=reason)


def _why(exc: BaseException) -> str:
    """A request's failure in words (no exception class names)."""
    import socket
    import ssl

    cause = getattr(exc, "reason", exc)
    if isinstance(cause, ssl.SSLCertVerificationError):
        return _("its certificate is not trusted")
    if isinstance(cause, ssl.SSLError):
        return _("the TLS connection failed")
    if isinstance(cause, TimeoutError):
        return _("no answer in time")
    if isinstance(cause, socket.gaierror):
        return _("the name is not known")
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return _("the connection failed")


def _asker(environ: Mapping[str, str] | None) -> Asker:
    """HEAD (GET when HEAD is refused) through urllib, certificates as botocore checks them
    (``AWS_CA_BUNDLE``, else botocore's bundle); a redirect is answered, not followed."""
    import http.client
    import os
    import ssl

    from botocore.httpsession import get_cert_path

    env = os.environ if environ is None else environ
    bundle = env.get("AWS_CA_BUNDLE") or get_cert_path(True)
    context = ssl.create_default_context(cafile=bundle if bundle and os.path.isfile(bundle) else None)
    if bundle and os.path.isdir(bundle):
        context.load_verify_locations(capath=bundle)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        """A redirect comes back as an answer (an HTTPError), its Location unread by urllib."""

        def http_error_302(self, *args: Any, **kwargs: Any) -> None:
            return None

        http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302

    opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=context))

    def ask(url: str, timeout: float) -> tuple[int, str | None]:
        for method in ("HEAD", "GET"):
            try:
                with opener.open(urllib.request.Request(url, method=method), timeout=timeout) as answer:
                    return int(answer.status), None  # the body is never read
            except urllib.error.HTTPError as exc:
                exc.close()
                if exc.code in (405, 501) and method == "HEAD":
                    continue
                return exc.code, exc.headers.get("Location")
            except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
                raise SsoStartUrlUnreachable(url, exc) from None
        raise AssertionError("unreachable")  # pragma: no cover

    return ask


class SsoStartUrlUnreachable(Exception):
    """Internal: the request failed; :func:`resolve`'s caller gets a sentence instead."""

    def __init__(self, url: str, exc: BaseException) -> None:
        super().__init__(url)
        self.url, self.cause = url, exc
