"""STS AssumeRole through boto3, and STS failures turned into one sentence each.

boto3/botocore are imported lazily: they cost ~0.2 s to import, which must not
sit on the path from start to icon shown.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from trayapp.core import errors
from trayapp.core.aws_clients import ATTEMPTS, READ_TIMEOUT, client_config
from trayapp.core.aws_clients import session as _botocore_session
from trayapp.core.profiles import RoleProfile


@dataclass(frozen=True)
class Credentials:
    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    expiration: datetime | None = None


@dataclass(frozen=True)
class AssumedRole:
    credentials: Credentials
    expiration: datetime
    assumed_arn: str


class StsClientFactory(Protocol):
    """Builds an STS client signed with *credentials* for *region*."""

    def __call__(self, credentials: Credentials, region: str) -> Any: ...


class SourceResolver(Protocol):
    """Returns the credentials of a non-role source (profile name or credential_source)."""

    def __call__(self, role: RoleProfile) -> Credentials: ...


class BotoStsClients:
    """STS clients from one shared botocore session, cached per key and region.

    Loading botocore's service models is the slow part of making a client;
    sharing the session and the clients keeps a resident assume fast.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._session: Any = None
        self._clients: dict[tuple[str, str, str | None, str], Any] = {}

    def __call__(self, credentials: Credentials, region: str) -> Any:
        key = (credentials.access_key_id, credentials.secret_access_key, credentials.session_token, region)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                if self._session is None:
                    self._session = _botocore_session()
                client = self._session.create_client(
                    "sts",
                    region_name=region,
                    aws_access_key_id=credentials.access_key_id,
                    aws_secret_access_key=credentials.secret_access_key,
                    aws_session_token=credentials.session_token,
                    config=client_config(),
                )
                if len(self._clients) > 64:
                    self._clients.clear()
                self._clients[key] = client
            return client


class SourceCredentials:
    """:func:`resolve_source` with a memory: one botocore credentials object per source profile
    while the AWS files are unchanged (it refreshes itself when it can expire), and keys that
    ``trayapp keys import`` put in the keyring while their entry is unchanged: the keyring's change
    mark (:func:`trayapp.core.key_store.change_mark`) moves with every store, here or in another
    process, so a rotation is seen by the next ask (see :mod:`trayapp.core.providers`)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[object, Any]] = {}
        self._keyring: dict[str, tuple[object, _Held]] = {}

    def _stamp(self, source: str) -> object:
        from trayapp.core.ini import file_stamp
        from trayapp.core.key_store import change_mark
        from trayapp.core.profiles import config_path, credentials_path

        files = tuple(file_stamp(path) for path in (config_path(self._environ), credentials_path(self._environ)))
        return (*files, change_mark(source))

    def __call__(self, role: RoleProfile) -> Credentials:
        if role.source_profile is None:
            return resolve_source(role)  # credential_source: the environment may change
        stamp = self._stamp(role.source_profile)
        with self._lock:
            cached = self._cache.get(role.source_profile)
        if cached is None or cached[0] != stamp:
            return self._load(role, stamp)
        frozen = cached[1].get_frozen_credentials()
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token)

    def _load(self, role: RoleProfile, stamp: object) -> Credentials:
        try:
            session = _botocore_session(role.source_profile)
            creds = self._from_keyring(role.source_profile or "", session.get_scoped_config())
            if creds is None:
                refuse_untrusted_process(role.source_profile or "", session, self._environ)
                creds = session.get_credentials()
        except errors.TrayappError:
            raise
        except Exception:  # botocore raises many kinds here
            raise errors.NoSourceCredentials(source=role.source) from None
        if creds is None:
            raise errors.NoSourceCredentials(source=role.source)
        with self._lock:
            self._cache[role.source_profile or ""] = (stamp, creds)
        frozen = creds.get_frozen_credentials()
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token)

    def _from_keyring(self, source: str, scoped: Mapping[str, Any]) -> Any:
        """Keys that ``trayapp keys import`` put in the keyring: read once per change of their entry
        (one unlock per login in the tray), not through the credential_process other tools run."""
        from trayapp.core import keys
        from trayapp.core.key_store import change_mark

        if "aws_access_key_id" in scoped or keys.bridged_source(scoped.get("credential_process")) != source:
            return None
        mark = change_mark(source)
        with self._lock:
            held = self._keyring.get(source)
        if held is None or held[0] != mark:
            pair = keys.keyring_credentials(source)
            if pair is None:
                raise errors.NoSourceCredentials(source=source)
            held = (mark, _Held(Credentials(*pair)))
            with self._lock:
                self._keyring[source] = held
        return held[1]


@dataclass(frozen=True)
class _Held:
    """Long-term keys held in memory, shaped like botocore's credentials for the cache."""

    credentials: Credentials = field(repr=False)

    def get_frozen_credentials(self) -> Any:
        from types import SimpleNamespace

        c = self.credentials
        return SimpleNamespace(access_key=c.access_key_id, secret_key=c.secret_access_key, token=None)


def resolve_source(role: RoleProfile) -> Credentials:
    """Credentials of a role's non-role source, chosen by explicit name.

    A botocore session created with an explicit profile drops the environment
    provider, so exported AWS_ACCESS_KEY_ID / AWS_PROFILE can't change which
    keys sign.
    """
    if role.credential_source is not None:
        creds = _credential_source(role.credential_source)
    else:
        try:
            session = _botocore_session(role.source_profile)
            refuse_untrusted_process(role.source_profile or "", session)
            creds = session.get_credentials()
        except errors.TrayappError:
            raise
        except Exception:  # botocore raises many kinds here
            # No chaining: botocore messages may quote lines of the user's files.
            raise errors.NoSourceCredentials(source=role.source) from None
    if creds is None:
        raise errors.NoSourceCredentials(source=role.source)
    frozen = creds.get_frozen_credentials()
    return Credentials(frozen.access_key, frozen.secret_key, frozen.token)


def refuse_untrusted_process(profile: str, session: Any, environ: Mapping[str, str] | None = None) -> None:
    """Raise :class:`UntrustedCommand` before botocore runs *profile*'s ``credential_process`` from an
    AWS file another local user could have written (see ``code_sources.untrusted_aws_files``)."""
    try:
        command = session.get_scoped_config().get("credential_process")
    except Exception:  # botocore's own error comes with get_credentials()
        return
    if not command:
        return
    from trayapp.core.code_sources import untrusted_aws_files

    problem = untrusted_aws_files(environ)
    if problem is not None:
        raise errors.UntrustedCommand(key="credential_process", profile=profile, reason=problem)


def _credential_source(kind: str) -> Any:
    from botocore import credentials as bc

    provider: Any
    if kind == "Environment":
        provider = bc.EnvProvider()
    elif kind == "Ec2InstanceMetadata":
        from botocore.utils import InstanceMetadataFetcher

        provider = bc.InstanceMetadataProvider(iam_role_fetcher=InstanceMetadataFetcher(timeout=1, num_attempts=1))
    else:
        provider = bc.ContainerProvider()
    return provider.load()


def assume_role(
    client: Any,
    role: RoleProfile,
    *,
    duration: int,
    code: str | None,
    session_name: str,
    mfa_serial: str | None = None,
    now: datetime | None = None,
) -> AssumedRole:
    """One AssumeRole call; every failure becomes a :class:`~trayapp.core.errors.StsError`."""
    params: dict[str, Any] = {
        "RoleArn": role.role_arn,
        "RoleSessionName": session_name,
        "DurationSeconds": duration,
    }
    serial = mfa_serial or role.mfa_serial
    if serial and code is not None:
        params["SerialNumber"] = serial
        params["TokenCode"] = code
    if role.external_id:
        params["ExternalId"] = role.external_id
    params.update(identity_params(role))
    response = _call(client, "assume_role", params, role, duration)
    creds = _credentials(response, role, now)
    try:
        arn = response["AssumedRoleUser"]["Arn"]
    except (KeyError, TypeError):
        raise errors.MalformedResponse(role_arn=role.role_arn) from None
    if not isinstance(arn, str) or not _ASSUMED_ARN.fullmatch(arn):
        raise errors.MalformedResponse(role_arn=role.role_arn)
    assert creds.expiration is not None
    return AssumedRole(creds, creds.expiration, arn)


def identity_params(role: RoleProfile) -> dict[str, Any]:
    """``SourceIdentity``, ``Tags`` and ``TransitiveTagKeys`` of *role* (aws-vault's
    ``source_identity``, ``session_tags``, ``transitive_session_tags``), as AssumeRole takes them."""
    params: dict[str, Any] = {}
    if role.source_identity:
        params["SourceIdentity"] = role.source_identity
    if role.session_tags:
        params["Tags"] = [{"Key": key, "Value": value} for key, value in role.session_tags]
    if role.transitive_session_tags:
        params["TransitiveTagKeys"] = list(role.transitive_session_tags)
    return params


def get_session_token(
    client: Any, role: RoleProfile, *, code: str, duration: int, now: datetime | None = None
) -> Credentials:
    """GetSessionToken with the role's MFA device: the MFA session that signs many AssumeRoles."""
    params = {"DurationSeconds": duration, "SerialNumber": role.mfa_serial, "TokenCode": code}
    return _credentials(_call(client, "get_session_token", params, role, duration), role, now)


def _call(client: Any, operation: str, params: dict[str, Any], role: RoleProfile, duration: int) -> Any:
    """One STS call; every failure becomes a :class:`~trayapp.core.errors.StsError`."""
    try:
        return getattr(client, operation)(**params)
    except Exception as exc:
        raise translate(exc, role, duration=duration, endpoint=_endpoint(client)) from None


# What real STS keys look like.  Anything else (a line break, a '[', a huge value) is not
# written: a hostile or broken endpoint must not be able to inject lines into the user's file.
_KEY_ID = re.compile(r"[A-Z0-9]{16,128}")
_SECRET = re.compile(r"[A-Za-z0-9/+=]{1,256}")
_TOKEN = re.compile(r"[A-Za-z0-9/+=]{1,8192}")
_ASSUMED_ARN = re.compile(r"arn:aws[a-z-]*:sts::[0-9]{12}:assumed-role/[\w+=,.@/-]{1,1024}", re.ASCII)


def _credentials(response: Any, role: RoleProfile, now: datetime | None = None) -> Credentials:
    """The temporary credentials of an STS answer, expiry in UTC, checked before anything uses them.

    A malformed answer is one sentence; so is a session that is already over at *now*.
    """
    try:
        c = response["Credentials"]
        expiration = c["Expiration"]
        key_id, secret, token = c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]
        if not isinstance(expiration, datetime):
            raise TypeError("Expiration")
        if not (
            isinstance(key_id, str)
            and isinstance(secret, str)
            and isinstance(token, str)
            and _KEY_ID.fullmatch(key_id)
            and _SECRET.fullmatch(secret)
            and _TOKEN.fullmatch(token)
        ):
            raise TypeError("keys")
        expires = expiration.astimezone(UTC) if expiration.tzinfo else expiration.replace(tzinfo=UTC)
    except (KeyError, TypeError, ValueError, OverflowError):
        raise errors.MalformedResponse(role_arn=role.role_arn) from None
    if expires <= (now or datetime.now(UTC)):
        raise errors.ExpiredAnswer(role_arn=role.role_arn)
    return Credentials(key_id, secret, token, expires)


def _endpoint(client: Any) -> str:
    try:
        return str(client.meta.endpoint_url)
    except AttributeError:
        return "its endpoint"


def _message(exc: Any) -> tuple[str, str]:
    error: Mapping[str, Any] = getattr(exc, "response", {}).get("Error", {})
    return str(error.get("Code", "")), str(error.get("Message", ""))


_CLIENT_ERRORS: list[tuple[Callable[[str, str], bool], type[errors.StsError]]] = [
    (lambda c, m: "invalid MFA one time pass code" in m, errors.WrongCode),
    (lambda c, m: "unable to validate MFA code" in m or "MFA serial" in m, errors.WrongSerial),
    (lambda c, m: c == "AccessDenied", errors.NotAuthorised),
    (lambda c, m: c in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"), errors.ExpiredSourceKeys),
    (
        lambda c, m: c in ("InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException"),
        errors.InvalidSourceKeys,
    ),
    (lambda c, m: c == "ValidationError" and "DurationSeconds" in m, errors.DurationTooLong),
    (lambda c, m: c in ("Throttling", "ThrottlingException", "RequestLimitExceeded"), errors.Throttled),
]


def translate(exc: BaseException, role: RoleProfile, *, duration: int, endpoint: str) -> errors.TrayappError:
    """Map a botocore exception to the user's sentence."""
    from botocore import exceptions as bx
    from botocore.parsers import ResponseParserError

    fields = {
        "role_arn": role.role_arn,
        "profile": role.name,
        "source": role.source,
        "mfa_serial": role.mfa_serial or "(none)",
        "duration": duration,
        "endpoint": endpoint,
        "seconds": READ_TIMEOUT * ATTEMPTS,
    }
    if isinstance(exc, bx.ClientError):
        code, message = _message(exc)
        for matches, cls in _CLIENT_ERRORS:
            if matches(code, message):
                return cls(**fields)
        return errors.StsRefused(code=code or "unknown error", **fields)
    if isinstance(exc, (bx.ReadTimeoutError, bx.ConnectTimeoutError)):
        return errors.StsTimeout(**fields)
    if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectionClosedError, bx.HTTPClientError)):
        return errors.StsUnreachable(**fields)
    if isinstance(exc, (ResponseParserError, bx.ParamValidationError)):
        return errors.MalformedResponse(**fields)
    if isinstance(exc, bx.NoCredentialsError):
        return errors.NoSourceCredentials(**fields)
    if isinstance(exc, (ValueError, KeyError, TypeError, IndexError, OverflowError, RecursionError)):
        # botocore's parsers raise these on a body that is not STS's XML (a bad date, a proxy's page).
        return errors.MalformedResponse(**fields)
    logging.getLogger(__name__).warning("AssumeRole failed unexpectedly", exc_info=exc)  # the kind: the log only
    return errors.StsFailed(**fields)
