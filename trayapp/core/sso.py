"""IAM Identity Center (SSO): keep one sign-in per session alive, and get a profile's keys with it.

The sign-in lives in botocore's token cache (core/sso_cache.py), so the AWS CLI, boto3, SAM and
Terraform use it too.  trayapp refreshes the access token with the refresh token when
:data:`REFRESH_LEAD` (20 min) or less is left — before the SDKs' own 15-minute window, so they
never race trayapp for the same (single-use) refresh token — and signs in again only when there is
no token left to refresh.  A refresh token SSO refuses (``InvalidGrantException``) signs the
session out only when its access token ends: until then the token is served as it is and the user
is told once to sign in again (core/sso_refresh.py).  The OIDC client registration is the AWS CLI's
(core/sso_registration.py) and a custom-domain start URL is resolved as the CLI resolves it
(core/sso_start_url.py).  One sign-in at a time per session across every trayapp process: the work happens
under a file lock in the private runtime folder, and whoever waited reads the token the first
one got instead of opening another browser tab.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from trayapp.core import (
    errors,
    sso_answers,
    sso_cache,
    sso_refresh,
    sso_registration,
    sso_signin,
    sso_start_url,
    sso_wire,
)
from trayapp.core.prompts import has_display
from trayapp.core.runtime import private_runtime_dir
from trayapp.core.sso_cache import SsoToken
from trayapp.core.sso_config import SsoProfile, SsoSession
from trayapp.core.sso_signin import DeviceCode, Opener, SsoClients, open_browser, print_device_code
from trayapp.core.sts import Credentials
from trayapp.i18n import _

if TYPE_CHECKING:
    from trayapp.core.hosts import SignInHost
    from trayapp.core.service import Service

log = logging.getLogger(__name__)

REFRESH_LEAD = timedelta(minutes=20)
#: How long a process waits for another one's sign-in before giving up.
LOCK_WAIT = sso_signin.SIGN_IN_LIMIT + 60
#: "ending": a token that can't be refreshed, served with :data:`REFRESH_LEAD` or less left.
Outcome = Literal["valid", "refreshed", "signed-in", "ending"]


@dataclass(frozen=True)
class SsoState:
    """What the user may see of a sign-in (no token)."""

    session: str
    signed_in: bool
    expires_at: datetime | None
    refreshable: bool

    def as_json(self, now: datetime) -> dict[str, Any]:
        left = (self.expires_at - now).total_seconds() if self.expires_at else None
        return {
            "session": self.session,
            "signed_in": self.signed_in,
            "expires_at": self.expires_at.isoformat(timespec="seconds") if self.expires_at else None,
            "seconds_left": max(0, int(left)) if left is not None and self.signed_in else 0,
            "refreshable": self.refreshable,
        }


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SsoSignIns:
    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] = _utc_now,
        clients: Callable[[str, str], Any] | None = None,
        opener: Opener = open_browser,
        notice: Callable[[DeviceCode], object] = print_device_code,
        ending: Callable[[str, datetime], object] = sso_refresh.print_sign_in_before,
        sees_codes: Callable[[], bool] = sys.stderr.isatty,
    ) -> None:
        self._environ = environ
        self._clock = clock
        self._clients = clients or SsoClients()
        self.opener = opener
        self.notice = notice
        #: Told of a token served that can't be refreshed (session, its end): "sign in again before".
        self.ending = ending
        #: Whether a person sees what :attr:`notice` shows (a device code on a terminal).
        self.sees_codes = sees_codes

    def client(self, service: str, region: str) -> Any:
        """botocore's ``sso-oidc`` or ``sso`` (the portal) client for *region*."""
        return self._clients(service, region)

    # --- reading ---------------------------------------------------------------------------
    def path(self, session: SsoSession) -> Path:
        return sso_cache.cache_path(session, self._environ)

    def token(self, session: SsoSession) -> SsoToken | None:
        return sso_cache.read(self.path(session))

    def state(self, session: SsoSession) -> SsoState:
        token = self.token(session)
        now = self._clock()
        return SsoState(
            session.name,
            token is not None and token.expires_at > now,
            token.expires_at if token else None,
            token is not None and self._refreshable(token, now),
        )

    @staticmethod
    def _refreshable(token: SsoToken, now: datetime) -> bool:
        registration = token.registration_expires_at
        return bool(
            token.refresh_token and token.client_id and token.client_secret and registration and registration > now
        )

    # --- keeping it alive ---------------------------------------------------------------------
    def ensure(
        self, session: SsoSession, *, interactive: bool, device: bool | None = None, asked: bool = False
    ) -> tuple[SsoToken, Outcome]:
        """A token with more than :data:`REFRESH_LEAD` left when one can be had: the cached one,
        a refreshed one, or (when *interactive*) a new sign-in — in the browser, or by device code
        when *device* or (None) when there is no display and no ``BROWSER`` to open the page in.

        A token that can't be refreshed (refused, or nothing to refresh it with) is served to its
        end ("ending", and :attr:`ending` told) unless the user *asked* for a sign-in.  A device code
        nobody would see (not *asked*, no terminal) is never waited for: a sentence at once."""
        token = self.token(session)
        if token is not None and token.expires_at - self._clock() > REFRESH_LEAD:
            return token, "valid"
        with self._one_at_a_time(session):
            token, outcome = self._ensure_locked(session, interactive, device, asked)
        if outcome == "ending":
            self.ending(session.name, token.expires_at)
        return token, outcome

    def _ensure_locked(
        self, session: SsoSession, interactive: bool, device: bool | None, asked: bool
    ) -> tuple[SsoToken, Outcome]:
        token = self.token(session)  # another process may have just done it
        now = self._clock()
        if token is not None and token.expires_at - now > REFRESH_LEAD:
            return token, "valid"
        if token is not None and self._refreshable(token, now):
            refreshed = self._refresh(session, token)
            if refreshed is not None:
                return refreshed, "refreshed"
            token = self.token(session)
        now = self._clock()
        if token is not None and token.expires_at > now:
            refreshable = self._refreshable(token, now)  # still: the network failed, try again later
            if refreshable or not (asked and interactive):
                return token, "valid" if refreshable else "ending"
        if not interactive:
            raise errors.SsoSignedOut(session=session.name)
        if device is None:
            device = not (has_display(self._environ) or (self._environ or os.environ).get("BROWSER"))
            if device and not asked and not self.sees_codes():
                raise errors.SsoNobodyToAsk(session=session.name)
        return self._sign_in(session, device), "signed-in"

    def _refresh(self, session: SsoSession, token: SsoToken) -> SsoToken | None:
        oidc = self._clients("sso-oidc", session.region)
        try:
            answer = oidc.create_token(
                clientId=token.client_id,
                clientSecret=token.client_secret,
                grantType="refresh_token",
                refreshToken=token.refresh_token,
            )
            return self._store(
                session, answer, token.client_id or "", token.client_secret or "", token.registration_expires_at, token
            )
        except (oidc.exceptions.InvalidGrantException, oidc.exceptions.InvalidClientException) as exc:
            log.info("the refresh token for %s was refused: the token serves to its end", session.name)
            sso_refresh.keep_without_refresh(self.path(session), token)
            if isinstance(exc, oidc.exceptions.InvalidClientException) and token.client_id:
                sso_registration.forget(session, token.client_id, self._environ)  # a new sign-in registers anew
            return None
        except Exception as exc:  # the network, a throttle, nonsense: the token is kept as it is
            if isinstance(exc, errors.TrayappError) and not isinstance(exc, errors.SsoMalformedAnswer):
                raise  # the cache can't be written: said as it is
            said = sso_wire.failure(exc, sso_wire.endpoint_of(oidc))
            if said is None and not sso_wire.error_code(exc):
                raise  # not the service's answer: a bug of trayapp's, shown as one
            if said is not None and token.expires_at <= self._clock():
                raise said from None  # nothing left to keep using: say why, not "signed out"
            if isinstance(said, errors.SsoMalformedAnswer):
                log.warning("%s", said)
            else:
                log.info("refreshing %s failed: %s", session.name, said or sso_wire.error_code(exc))
            return None

    def _sign_in(self, session: SsoSession, device: bool) -> SsoToken:
        oidc = self._clients("sso-oidc", session.region)
        endpoint = sso_wire.endpoint_of(oidc)

        def refused(code: str) -> errors.TrayappError:
            return errors.SsoSignInFailed(session=session.name, reason=_("AWS answered {code}").format(code=code))

        with sso_wire.plain_errors(oidc, refused):  # no network, throttled, nonsense: one sentence
            issuer = sso_start_url.resolve(session, environ=self._environ)  # a custom domain: the portal's URL
            registration = sso_registration.registration(
                oidc,
                session,
                "device" if device else "pkce",
                issuer_url=issuer,
                now=self._clock(),
                environ=self._environ,
                endpoint=endpoint,
            )
            client = registration.as_client()
            if device:
                # The device page is asked for with the resolved URL; the cache keeps the configured one.
                asked_with = dataclasses.replace(session, start_url=issuer)
                answer = sso_signin.device_authorization(oidc, asked_with, client, self._device_notice)
            else:
                answer = sso_signin.authorization_code(oidc, session, client, self.opener)
            return self._store(
                session, answer, registration.client_id, registration.client_secret, registration.expires_at
            )

    def _device_notice(self, code: DeviceCode) -> None:
        self.notice(code)
        if code.verification_uri_complete:
            with contextlib.suppress(Exception):
                self.opener(code.verification_uri_complete)

    def _store(
        self,
        session: SsoSession,
        answer: Mapping[str, Any],
        client_id: str,
        secret: str,
        registered: datetime | None,
        old: SsoToken | None = None,
    ) -> SsoToken:
        """Write CreateToken's *answer*, checked first: nonsense, or a refreshed token that would
        end before the *old* one it replaces, is refused and the cache is left as it was."""
        endpoint = sso_wire.endpoint_of(self._clients("sso-oidc", session.region))
        new = sso_answers.new_token(answer, endpoint)
        expires = sso_answers.expiry(new, self._clock())
        if old is not None and expires < old.expires_at:
            reason = _("its token would end before the one it replaces")
            raise errors.SsoMalformedAnswer(endpoint=endpoint, reason=reason)
        token = SsoToken(
            start_url=session.start_url,
            region=session.region,
            access_token=new.access_token,
            expires_at=expires,
            client_id=client_id,
            client_secret=secret,
            registration_expires_at=registered,
            refresh_token=new.refresh_token,
        )
        sso_cache.write(self.path(session), token)
        return token

    @contextlib.contextmanager
    def _one_at_a_time(self, session: SsoSession) -> Iterator[None]:
        from filelock import FileLock, Timeout

        folder = private_runtime_dir(self._environ) or sso_cache.cache_dir(self._environ)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        lock = FileLock(str(folder / f"sso-{session.cache_key}.lock"), timeout=LOCK_WAIT)
        try:
            with lock:
                yield
        except Timeout:
            reason = _("another trayapp was still signing in after 10 minutes")
            raise errors.SsoSignInFailed(session=session.name, reason=reason) from None

    # --- signing out (core/sso_logout.py), and the portal ------------------------------------------
    @contextlib.contextmanager
    def locked(self, session: SsoSession) -> Iterator[None]:
        """No other trayapp signs in to or refreshes *session* meanwhile (a sign-out)."""
        with self._one_at_a_time(session):
            yield

    def role_credentials(self, profile: SsoProfile, *, interactive: bool) -> Credentials:
        """The permission set's keys (GetRoleCredentials), signing in first when needed."""
        token, _outcome = self.ensure(profile.session, interactive=interactive)
        portal = self._clients("sso", profile.session.region)

        def refused(code: str) -> errors.TrayappError:
            if code == "UnauthorizedException":
                return errors.SsoSignedOut(session=profile.session.name)
            return errors.SsoRefused(profile=profile.name, code=code)

        with sso_wire.plain_errors(portal, refused):
            answer = portal.get_role_credentials(
                roleName=profile.role_name, accountId=profile.account_id, accessToken=token.access_token
            )
            return sso_answers.role_credentials(answer, sso_wire.endpoint_of(portal), self._clock())


def sign_ins(service: SignInHost) -> SsoSignIns:
    """The service's sign-in engine (one per service: a long-lived tray keeps its clients)."""
    if service.sso_signins is None:
        service.sso_signins = SsoSignIns(environ=service.environ, clock=service.now)
    return service.sso_signins


def signed_in_without_a_browser(service: Service, name: str | None) -> bool:
    """Whether SSO profile *name*'s keys can be had now without a sign-in (the tray's silent renewal)."""
    profile = service.sso().profiles.get(name or "")
    if profile is None:
        return False
    state = sign_ins(service).state(profile.session)
    return state.signed_in or state.refreshable
