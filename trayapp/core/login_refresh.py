"""``aws login`` sessions kept alive ahead of the SDKs, and their keys handed out.

The keys in the cache last 15 minutes; botocore's ``LoginProvider`` refreshes them when fewer than 5
are left.  trayapp — the tray on its timer, and every command that hands the keys out — refreshes when
:data:`REFRESH_LEAD` (7 min) or less is left, so a caller never gets keys with less, and the SDKs
find fresh keys and never go to the network nor race trayapp for the refresh token (good once).

A refresh is the sign-in service's ``CreateOAuth2Token`` (``POST /v1/token``, the refresh_token
grant) through botocore's own ``signin`` client (``AWS_ENDPOINT_URL_SIGNIN`` and the region's
endpoint as botocore resolves them; the cache's ``signInRegion`` first), with a DPoP proof signed by
the cache's key (:mod:`trayapp.core.dpop`).  The answer is checked before anything is written; the
file is then rewritten as botocore writes it (:mod:`trayapp.core.login_cache`).  One refresh at a
time across every trayapp process: under a file lock in the private runtime folder, and whoever
waited reads the keys the first one got.

``TOKEN_EXPIRED`` or ``USER_CREDENTIALS_CHANGED``: the sign-in ended (12 hours passed, or the
password changed); nothing is deleted — ``aws login`` replaces the file — and that refresh token is
not sent again by this process (no retry storm).  ``INSUFFICIENT_PERMISSIONS``: the identity lacks
the ``SignInLocalDevelopmentAccess`` policy.  No refresh token, key or proof is ever logged.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from trayapp.core import errors, login_cache
from trayapp.core.login_cache import LoginToken
from trayapp.core.login_config import LoginProfile
from trayapp.core.runtime import private_runtime_dir
from trayapp.core.sts import Credentials
from trayapp.i18n import _

if TYPE_CHECKING:
    from trayapp.core.hosts import Engine, SignInHost
    from trayapp.core.results import AssumeResult
    from trayapp.core.service import Service

log = logging.getLogger(__name__)

REFRESH_LEAD = timedelta(minutes=7)
#: Seconds a process waits for another one's refresh (a refresh is one HTTP call of a few seconds).
LOCK_WAIT = 60.0
DEFAULT_REGION = "us-east-1"
Outcome = Literal["valid", "refreshed"]

_KEY_ID = re.compile(r"[A-Z0-9]{16,128}", re.ASCII)
_TOKEN = re.compile(r"[\x21-\x7e]{1,16384}", re.ASCII)  # printable ASCII, no space: never a line break
_REGION = re.compile(r"[a-z]{2}(-[a-z0-9]+){1,4}", re.ASCII)
_MAX_SECONDS = 12 * 3600


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LoginState:
    """What the user may see of a sign-in (no key, no token)."""

    profile: str
    session: str
    expires_at: datetime | None  # the keys' end; None: no sign-in cached
    refreshable: bool
    ended: bool  # the sign-in service said the sign-in is over

    def valid(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at > now

    def word(self, now: datetime) -> str:
        """``valid``, ``expired`` (keys ended, still refreshable), ``ended`` or ``signed-out``."""
        if self.expires_at is None:
            return "signed-out"
        if self.ended or not (self.valid(now) or self.refreshable):
            return "ended"
        return "valid" if self.valid(now) else "expired"

    def as_json(self, now: datetime) -> dict[str, Any]:
        return {
            "login_session": self.session,
            "expires_at": self.expires_at.isoformat(timespec="seconds") if self.expires_at else None,
            "state": self.word(now),
            "refreshable": self.refreshable and not self.ended,
        }


class SigninClients:
    """botocore's unsigned ``signin`` client per region, one botocore session for all (the refresh
    is proven by the DPoP proof and the refresh token, not by SigV4)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._session: Any = None
        self._clients: dict[str, Any] = {}

    def __call__(self, region: str) -> Any:
        with self._lock:
            if region not in self._clients:
                from botocore import UNSIGNED
                from botocore.config import Config

                from trayapp.core import aws_clients

                self._session = self._session or aws_clients.session()
                # One attempt: a retried request would spend the refresh token twice.
                config = aws_clients.client_config().merge(
                    Config(signature_version=UNSIGNED, retries={"mode": "standard", "total_max_attempts": 1})
                )
                self._clients[region] = self._session.create_client("signin", region, config=config)
            return self._clients[region]


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class LoginSessions:
    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] = _utc_now,
        clients: Callable[[str], Any] | None = None,
    ) -> None:
        self._environ = environ
        self._clock = clock
        self._clients = clients or SigninClients()
        self._lock = threading.Lock()

    # --- reading ---------------------------------------------------------------------------
    def path(self, profile: LoginProfile) -> Path:
        return login_cache.cache_path(profile.session, self._environ)

    def token(self, profile: LoginProfile) -> LoginToken | None:
        return login_cache.read(self.path(profile))

    def _ended_mark(self, profile: LoginProfile) -> Path:
        """Where every trayapp process learns that a refresh token was refused for good: the SHA-256 of
        that token (never the token), in the private runtime folder.  A new ``aws login`` writes a new
        token, which the mark no longer matches."""
        folder = private_runtime_dir(self._environ) or login_cache.cache_dir(self._environ)
        return folder / f"login-{login_cache.cache_key(profile.session)}.ended"

    def _has_ended(self, profile: LoginProfile, token: LoginToken | None) -> bool:
        if token is None or not token.refresh_token:
            return False
        try:
            told = self._ended_mark(profile).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return False
        return told == _digest(token.refresh_token)

    def _mark_ended(self, profile: LoginProfile, token: LoginToken) -> None:
        mark = self._ended_mark(profile)
        with contextlib.suppress(OSError):
            os.makedirs(mark.parent, mode=0o700, exist_ok=True)
            fd = os.open(mark, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as file:
                file.write(_digest(token.refresh_token or ""))

    def state(self, profile: LoginProfile) -> LoginState:
        token = self.token(profile)
        return LoginState(
            profile.name,
            profile.session,
            token.expires_at if token else None,
            token is not None and token.refreshable,
            self._has_ended(profile, token),
        )

    # --- keeping it alive ---------------------------------------------------------------------
    def ensure(self, profile: LoginProfile, min_left: timedelta = REFRESH_LEAD) -> tuple[LoginToken, Outcome]:
        """Keys with more than *min_left* left: the cached ones, or refreshed ones (one refresh at a
        time across processes); else an error that says why, in one sentence."""
        token = self.token(profile)
        if token is not None and token.expires_at - self._clock() > min_left:
            return token, "valid"
        with self._one_at_a_time(profile):
            token = self.token(profile)  # another process may have refreshed it meanwhile
            if token is None:
                raise errors.LoginSignedOut(profile=profile.name)
            if token.expires_at - self._clock() > min_left:
                return token, "valid"
            if self._has_ended(profile, token) or not token.refreshable:
                raise errors.LoginEnded(profile=profile.name)
            return self._refresh(profile, token), "refreshed"

    def _refresh(self, profile: LoginProfile, token: LoginToken) -> LoginToken:
        from trayapp.core import dpop

        assert token.dpop_key is not None and token.refresh_token is not None
        try:
            dpop.load_key(token.dpop_key)
        except dpop.BadKey:
            raise errors.LoginRefreshFailed(
                profile=profile.name, reason=_("its cache file holds no usable DPoP key")
            ) from None
        region = token.sign_in_region or profile.region or DEFAULT_REGION
        if not _REGION.fullmatch(region):
            raise errors.LoginRefreshFailed(
                profile=profile.name, reason=_("its cache file names no usable sign-in region")
            )
        client = self._clients(region)
        key_pem = token.dpop_key

        def add_proof(params: dict[str, Any], **_kwargs: Any) -> None:
            params["headers"]["DPoP"] = dpop.proof(key_pem, params["url"])

        event = "before-call.signin.CreateOAuth2Token"
        with self._lock:  # the handler is the client's: one refresh at a time in this process too
            client.meta.events.register(event, add_proof, unique_id="trayapp-dpop")
            try:
                answer = client.create_o_auth2_token(
                    tokenInput={
                        "clientId": token.client_id,
                        "grantType": "refresh_token",
                        "refreshToken": token.refresh_token,
                    }
                )
            except Exception as exc:
                raise self._refusal(profile, token, exc) from None
            finally:
                client.meta.events.unregister(event, unique_id="trayapp-dpop")
        output = _checked(answer)
        if output is None:
            log.info("the sign-in service's answer for %s was refused: nothing written", profile.name)
            raise errors.LoginRefreshFailed(
                profile=profile.name, reason=_("the sign-in service sent an answer trayapp can't use")
            )
        keys, expires_in, refresh_token = output
        data = dict(token.data)
        data.update(
            {
                "accessToken": {
                    "accessKeyId": keys["accessKeyId"],
                    "secretAccessKey": keys["secretAccessKey"],
                    "sessionToken": keys["sessionToken"],
                    "accountId": token.account_id,
                    "expiresAt": login_cache.time_text(self._clock() + timedelta(seconds=expires_in)),
                },
                "refreshToken": refresh_token,
            }
        )
        path = self.path(profile)
        login_cache.write(path, data)
        log.info("refreshed the aws login sign-in of %s", profile.name)
        fresh = LoginToken.from_json(data)
        assert fresh is not None
        return fresh

    def _refusal(self, profile: LoginProfile, token: LoginToken, exc: Exception) -> errors.TrayappError:
        from botocore.exceptions import ConnectionError as Unreachable
        from botocore.exceptions import HTTPClientError

        response = getattr(exc, "response", None)
        if not isinstance(response, dict) and not isinstance(exc, (Unreachable, HTTPClientError)):
            log.info("the sign-in service's answer for %s could not be read: nothing written", profile.name)
            return errors.LoginRefreshFailed(
                profile=profile.name, reason=_("the sign-in service sent an answer trayapp can't use")
            )
        if not isinstance(response, dict):
            log.info("refreshing %s failed (%s)", profile.name, type(exc).__name__)
            return errors.LoginRefreshFailed(profile=profile.name, reason=_("the sign-in service can't be reached"))
        code = response.get("Error", {}).get("Code") or "?"
        kind = response.get("error")
        if code == "AccessDeniedException" and kind in ("TOKEN_EXPIRED", "USER_CREDENTIALS_CHANGED"):
            self._mark_ended(profile, token)
            log.info("the aws login sign-in of %s has ended (%s)", profile.name, kind)
            return errors.LoginEnded(profile=profile.name)
        if code == "AccessDeniedException" and kind == "INSUFFICIENT_PERMISSIONS":
            return errors.LoginNotPermitted(profile=profile.name)
        log.info("refreshing %s was refused (%s)", profile.name, code)
        reason = _("AWS answered {code}").format(code=str(code)[:64] if str(code).isprintable() else "?")
        return errors.LoginRefreshFailed(profile=profile.name, reason=reason)

    @contextlib.contextmanager
    def _one_at_a_time(self, profile: LoginProfile) -> Iterator[None]:
        from filelock import FileLock, Timeout

        folder = private_runtime_dir(self._environ) or login_cache.cache_dir(self._environ)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        key = login_cache.cache_key(profile.session)
        lock = FileLock(str(folder / f"login-{key}.lock"), timeout=LOCK_WAIT)
        try:
            with lock:
                yield
        except Timeout:
            reason = _("another trayapp was still refreshing it after a minute")
            raise errors.LoginRefreshFailed(profile=profile.name, reason=reason) from None


def _checked(answer: Any) -> tuple[dict[str, str], int, str] | None:
    """The new keys, their lifetime and the next refresh token, when the answer is all there and sane."""
    output = answer.get("tokenOutput") if isinstance(answer, Mapping) else None
    if not isinstance(output, Mapping):
        return None
    keys, expires_in, refresh_token = output.get("accessToken"), output.get("expiresIn"), output.get("refreshToken")
    if not isinstance(keys, Mapping) or not isinstance(refresh_token, str) or not _TOKEN.fullmatch(refresh_token):
        return None
    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or not 60 <= expires_in <= _MAX_SECONDS:
        return None
    text = {k: keys.get(k) for k in ("accessKeyId", "secretAccessKey", "sessionToken")}
    if not all(isinstance(v, str) and _TOKEN.fullmatch(v) for v in text.values()):
        return None
    if not _KEY_ID.fullmatch(str(text["accessKeyId"])):
        return None
    return {k: str(v) for k, v in text.items()}, expires_in, refresh_token


# --- the service's use of it -----------------------------------------------------------------


def engine(service: SignInHost) -> LoginSessions:
    """The service's engine (one per service: a long-lived tray keeps its clients and what ended)."""
    if service.login_sessions is None:
        service.login_sessions = LoginSessions(environ=service.environ, clock=service.now)
    return service.login_sessions


def keys(service: SignInHost, profile: LoginProfile) -> tuple[Credentials, datetime]:
    """*profile*'s keys with more than :data:`REFRESH_LEAD` left (refreshed first when needed)."""
    token, _outcome = engine(service).ensure(profile)
    creds = Credentials(token.access_key_id, token.secret_access_key, token.session_token, token.expires_at)
    return creds, token.expires_at


def region(profile: LoginProfile, environ: Mapping[str, str] | None = None) -> str:
    """Where the keys are used: the profile's region, else the sign-in's, else us-east-1."""
    if profile.region:
        return profile.region
    with contextlib.suppress(errors.TrayappError):
        token = login_cache.read(login_cache.cache_path(profile.session, environ))
        if token is not None and token.sign_in_region and _REGION.fullmatch(token.sign_in_region):
            return token.sign_in_region
    return DEFAULT_REGION


def renewable(service: Service, profile: LoginProfile) -> bool:
    """Whether the keys can be had now without a person (the tray's silent renewal of the bridge)."""
    try:
        state = engine(service).state(profile)
    except errors.TrayappError:
        return False
    return state.word(service.now()) in ("valid", "expired")


def bridge(service: Engine, profile: LoginProfile) -> AssumeResult:
    """``assume`` of a login profile: its keys written as ``[<profile>-session]`` for the tools that
    have no login provider.  The duration recorded is twice the refresh lead, so the tray's timer warns
    about (and renews) the section when the keys have :data:`REFRESH_LEAD` left — when they refresh."""
    from trayapp.core.results import AssumeResult
    from trayapp.core.sessions import SessionInfo

    creds, expires = keys(service, profile)
    lead_duration = int(2 * REFRESH_LEAD.total_seconds())
    where = region(profile, service.environ)
    notes = service.write_session(profile.name, profile.session, creds, expires, where, duration=lead_duration)
    return AssumeResult(SessionInfo(profile.name, profile.session, expires, lead_duration), profile.session, notes)


def describe(state: LoginState, now: datetime) -> str:
    """What a list or the menu says of a sign-in: ``keys valid until 14:05``, or that it ended."""
    word = state.word(now)
    if word == "valid" and state.expires_at is not None:
        return _("keys valid until {time}").format(time=state.expires_at.astimezone().strftime("%H:%M"))
    if word == "expired":
        return _("keys expired, renewed on next use")
    if word == "ended":
        return _("the sign-in ended: run aws login --profile {profile}").format(profile=state.profile)
    return _("not signed in: run aws login --profile {profile}").format(profile=state.profile)


def states(service: SignInHost) -> list[LoginState]:
    """Each login profile's sign-in (no key), sorted by profile; a refused cache file says so in the log."""
    found = []
    for name, profile in sorted(service.login().profiles.items()):
        try:
            found.append(engine(service).state(profile))
        except errors.TrayappError as exc:
            log.info("the sign-in of %s can't be read: %s", name, exc)
            found.append(LoginState(name, profile.session, None, False, False))
    return found
