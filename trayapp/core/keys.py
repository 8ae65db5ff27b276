"""Long-term keys of source profiles in the OS keyring, never on disk (opt-in).

``trayapp keys import SOURCE`` moves the two key lines of a source profile out of
the AWS files into the keyring (service ``trayapp``, one entry per source profile:
JSON ``{access_key_id, secret_access_key, created}``), and writes

    credential_process = <trayapp> keys serve SOURCE

into SOURCE's profile of the config file, so every other tool (the ``aws`` CLI,
SDKs) still gets the keys — from trayapp, which reads the keyring.  trayapp itself
skips that process: :class:`~trayapp.core.sts.SourceCredentials` recognises the
line and reads the keyring directly (once per process).

Without a usable keyring backend nothing moves: never a plaintext file of ours.

Rotation (:func:`rotate`) keeps at every instant one working key stored and never
stores a key it deleted: CreateAccessKey → the new key stored as *pending* →
verified with GetCallerIdentity → stored as the key (the old one's id kept as
*retired*, without its secret) → DeleteAccessKey of the old one.  A rotation
killed half-way is finished by the next one (a key created just before the kill,
whose secret was never stored, is recognised by a marker written before it and
deleted).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from trayapp.core import errors, launch, profiles
from trayapp.core.credentials_file import CredentialsFile, managed_only
from trayapp.i18n import _

SERVICE = "trayapp"
KEY_ID = "aws_access_key_id"
SECRET = "aws_secret_access_key"
TOKEN = "aws_session_token"
PROCESS = "credential_process"
#: Test hook: the step of :func:`rotate` at which the process SIGKILLs itself.
KILL_AT_ENV = "TRAYAPP_TEST_KILL_AT"
#: Seconds before the CLI says it is waiting for the keyring (an unlock prompt).
WAIT_NOTICE = 1.0
#: GetCallerIdentity tries for a new key (IAM takes a few seconds to know it everywhere).
VERIFY_TRIES = 8
VERIFY_PAUSE = 1.5
_NAME = re.compile(r"[\w+=,.@-]{1,128}", re.ASCII)
_BRIDGE = re.compile(r"(?:^|\s)keys\s+serve\s+(\S+)\s*$")
_PLAINTEXT_BACKENDS = ("keyrings.alt", "keyring.backends.fail", "keyring.backends.null")


class KeysError(errors.TrayappError):
    template = "{reason}"


class KeyringUnavailable(KeysError):
    template = (
        "No usable OS keyring was found ({backend}); trayapp keeps long-term keys only in the keyring, "
        "never in a file of its own, so nothing was moved."
    )


def short_id(key_id: str) -> str:
    """``AKIA…WXYZ``: enough to tell keys apart, not enough to use one."""
    return key_id if len(key_id) <= 8 else f"{key_id[:4]}…{key_id[-4:]}"


def username(source: str) -> str:
    return f"keys/{source}"


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class StoredKey:
    access_key_id: str
    secret_access_key: str
    created: str
    #: The rest of the entry: a rotation's marker, pending key, retired key id.
    extra: Mapping[str, Any]

    def __repr__(self) -> str:  # never the secret
        return f"StoredKey({short_id(self.access_key_id)}, created={self.created})"

    def as_json(self, **extra: Any) -> str:
        data = {
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key,
            "created": self.created,
            **{k: v for k, v in {**self.extra, **extra}.items() if v is not None},
        }
        return json.dumps(data, sort_keys=True)

    def age_days(self, now: datetime | None = None) -> int | None:
        try:
            created = datetime.fromisoformat(self.created)
        except ValueError:
            return None
        return max(0, ((now or _now()) - created).days)


def _parse_entry(text: str) -> StoredKey | None:
    try:
        data = json.loads(text)
        key_id, secret = data["access_key_id"], data["secret_access_key"]
        if not (isinstance(key_id, str) and isinstance(secret, str) and key_id and secret):
            return None
    except (ValueError, KeyError, TypeError):
        return None
    extra = {k: v for k, v in data.items() if k not in ("access_key_id", "secret_access_key", "created")}
    return StoredKey(key_id, secret, str(data.get("created") or ""), extra)


class KeyStore:
    """The keyring entries of source profiles' keys (``keyring`` imported lazily)."""

    def __init__(self, backend: Any = None, on_wait: Callable[[], None] | None = None) -> None:
        self._backend = backend
        self._on_wait = on_wait

    def _keyring(self) -> Any:
        if self._backend is not None:
            return self._backend
        from trayapp.core.preferences import NoSessionBus, _keyring

        try:
            module = _keyring()
            backend = module.get_keyring()
        except NoSessionBus:
            raise KeyringUnavailable(backend=_("no session bus")) from None
        except Exception as exc:  # keyring raises its own and backend-specific errors
            raise KeyringUnavailable(backend=type(exc).__name__) from None
        kind = f"{type(backend).__module__}.{type(backend).__name__}"
        chained = getattr(backend, "backends", None)
        if kind.startswith(_PLAINTEXT_BACKENDS) or (chained is not None and not chained):
            raise KeyringUnavailable(backend=kind)
        if chained:  # a chainer: refuse if the first backend writes plain text
            first = type(chained[0]).__module__
            if first.startswith(_PLAINTEXT_BACKENDS):
                raise KeyringUnavailable(backend=first)
        self._backend = backend
        return backend

    @contextmanager
    def _waiting(self) -> Iterator[None]:
        timer = threading.Timer(WAIT_NOTICE, self._on_wait) if self._on_wait else None
        if timer is not None:
            timer.daemon = True
            timer.start()
        try:
            yield
        finally:
            if timer is not None:
                timer.cancel()

    def get(self, source: str) -> StoredKey | None:
        backend = self._keyring()
        try:
            with self._waiting():
                text = backend.get_password(SERVICE, username(source))
        except Exception as exc:
            raise KeyringUnavailable(backend=type(exc).__name__) from None
        return None if text is None else _parse_entry(text)

    def put(self, source: str, key: StoredKey, **extra: Any) -> None:
        backend = self._keyring()
        text = key.as_json(**extra)
        try:
            with self._waiting():
                backend.set_password(SERVICE, username(source), text)
                back = backend.get_password(SERVICE, username(source))
        except Exception as exc:
            raise KeyringUnavailable(backend=type(exc).__name__) from None
        if back != text:
            raise KeysError(reason=_("The keyring did not give back the keys just stored; nothing else was changed."))

    def delete(self, source: str) -> bool:
        backend = self._keyring()
        try:
            with self._waiting():
                if backend.get_password(SERVICE, username(source)) is None:
                    return False
                backend.delete_password(SERVICE, username(source))
        except Exception as exc:
            raise KeyringUnavailable(backend=type(exc).__name__) from None
        return True


# --- the bridge other tools use --------------------------------------------------


def launcher() -> list[str]:
    """How to run this trayapp again from another program's folder (:func:`launch.trayapp_argv`):
    its script or executable, else an isolated Python told where this trayapp is."""
    return launch.trayapp_argv()


def bridge_command(source: str) -> str:
    argv = [*launcher(), "keys", "serve", source]
    if sys.platform == "win32":
        import subprocess

        return subprocess.list2cmdline(argv)
    return shlex.join(argv)


def bridged_source(value: object) -> str | None:
    """The source profile a ``credential_process`` value of trayapp's bridge serves, else None."""
    if not isinstance(value, str) or "trayapp" not in value:
        return None
    found = _BRIDGE.search(value)
    return found.group(1).strip("'\"") if found else None


def config_section(source: str) -> str:
    return "default" if source == "default" else f"profile {source}"


# --- where each source's keys live ---------------------------------------------------


@dataclass(frozen=True)
class KeySource:
    name: str
    #: "file" (credentials file), "config" (config file) or "keyring".
    where: str
    access_key_id: str | None
    created: str | None = None

    def age_days(self, now: datetime | None = None) -> int | None:
        if not self.created:
            return None
        try:
            return max(0, ((now or _now()) - datetime.fromisoformat(self.created)).days)
        except ValueError:
            return None


class Keys:
    """The use cases: list, import, export, remove, serve, rotate."""

    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        store: KeyStore | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._environ = environ
        self.store = store or KeyStore()
        self._clock = clock

    # files

    def _credentials(self) -> CredentialsFile:
        return CredentialsFile(profiles.credentials_path(self._environ))

    def _config(self) -> CredentialsFile:
        return CredentialsFile(profiles.config_path(self._environ))

    def _config_sections(self) -> dict[str, dict[str, str]]:
        try:
            return self._config().read_sections()
        except errors.CredentialsFileError as exc:
            raise errors.ConfigUnreadable(path=exc.fields.get("path"), reason=exc.fields.get("reason", "")) from None

    def _config_edit(self, section: str, **kwargs: Any) -> bool:
        try:
            return self._config().edit_keys(section, **kwargs)
        except errors.CredentialsFileError as exc:
            reason = exc.fields.get("reason") or _("it could not be changed safely")
            raise KeysError(
                reason=_("The AWS config file {path} was not changed: {reason}.").format(
                    path=profiles.config_path(self._environ), reason=reason
                )
            ) from None

    @staticmethod
    def _check_name(source: str) -> None:
        if not _NAME.fullmatch(source):
            raise errors.UsageError(
                reason=_("'{source}' can't be a source profile name here (letters, digits and +=,.@-_ only).").format(
                    source=source[:40]
                )
            )

    def sources(self) -> list[KeySource]:
        """Every profile holding long-term keys: in the credentials file, the config file or the keyring."""
        found: dict[str, KeySource] = {}
        config = self._config_sections()
        for section, values in config.items():
            name = "default" if section == "default" else section.removeprefix("profile ").strip()
            if section != "default" and not section.startswith("profile "):
                continue
            if bridged_source(values.get(PROCESS)) == name:
                stored = self.store.get(name)
                found[name] = KeySource(
                    name, "keyring", stored.access_key_id if stored else None, stored.created if stored else None
                )
            elif values.get(KEY_ID) and not values.get(TOKEN):
                found[name] = KeySource(name, "config", values[KEY_ID])
        for section, values in self._credentials().read_sections().items():
            if values.get(KEY_ID) and not values.get(TOKEN) and section not in managed_only({section: values}):
                found[section] = KeySource(section, "file", values[KEY_ID])
        return [found[name] for name in sorted(found)]

    # import / export / remove

    def import_keys(self, source: str) -> StoredKey:
        """Move SOURCE's keys into the keyring; the file keeps every other byte."""
        self._check_name(source)
        creds = self._credentials()
        in_file = {k: v for k, v in creds.read_sections().get(source, {}).items()}
        section = config_section(source)
        in_config = self._config_sections().get(section, {})
        where = "file" if in_file.get(KEY_ID) else "config" if in_config.get(KEY_ID) else None
        values = in_file if where == "file" else in_config
        if where is None or not values.get(SECRET):
            stored = self.store.get(source)
            if stored is not None and bridged_source(in_config.get(PROCESS)) == source:
                if launch.runs_from_cwd(str(in_config[PROCESS])):  # an older trayapp's line: made safe
                    self._config_edit(section, remove=(PROCESS,))
                    self._config_edit(section, add={PROCESS: bridge_command(source)})
                return stored  # already done
            raise errors.UsageError(
                reason=_("Source profile '{source}' has no long-term keys in the AWS files to move.").format(
                    source=source
                )
            )
        if values.get(TOKEN):
            raise errors.UsageError(
                reason=_(
                    "The keys of '{source}' have a session token: they are temporary, not long-term keys to keep."
                ).format(source=source)
            )
        if where == "file" and in_config.get(KEY_ID):
            raise errors.UsageError(
                reason=_(
                    "'{source}' has keys in both the credentials and the config file; keep one, then try again."
                ).format(source=source)
            )
        process = in_config.get(PROCESS)
        if process and bridged_source(process) != source:
            raise errors.UsageError(
                reason=_("Profile '{source}' in the config file already has a credential_process of its own.").format(
                    source=source
                )
            )
        existing = self.store.get(source)
        created = existing.created if existing and existing.access_key_id == values[KEY_ID] else _iso(self._clock())
        key = StoredKey(values[KEY_ID], values[SECRET], created, {})
        self.store.put(source, key)  # read back and compared
        bridge = {} if process else {PROCESS: bridge_command(source)}
        if where == "config":
            self._config_edit(section, remove=(KEY_ID, SECRET), add=bridge, create=True)
        else:
            if bridge:
                self._config_edit(section, add=bridge, create=True)
            creds.edit_keys(source, remove=(KEY_ID, SECRET))
        return key

    def export_keys(self, source: str) -> StoredKey:
        """Put SOURCE's keys back into the credentials file, then take them out of the keyring."""
        self._check_name(source)
        key = self._stored(source)
        creds = self._credentials()
        current = creds.read_sections().get(source, {})
        if current.get(KEY_ID) not in (None, key.access_key_id):
            raise errors.UsageError(
                reason=_("[{source}] in the credentials file already holds other keys; nothing was changed.").format(
                    source=source
                )
            )
        if not current.get(KEY_ID):
            creds.edit_keys(source, add={KEY_ID: key.access_key_id, SECRET: key.secret_access_key}, create=True)
        self._remove_bridge(source)
        self.store.delete(source)
        return key

    def remove(self, source: str) -> StoredKey:
        """Forget SOURCE's keys: the keyring entry and the bridge line (the key stays valid in IAM)."""
        self._check_name(source)
        key = self._stored(source)
        self._remove_bridge(source)
        self.store.delete(source)
        return key

    def _remove_bridge(self, source: str) -> None:
        section = config_section(source)
        if bridged_source(self._config_sections().get(section, {}).get(PROCESS)) == source:
            self._config_edit(section, remove=(PROCESS,))

    def _stored(self, source: str) -> StoredKey:
        key = self.store.get(source)
        if key is None:
            raise errors.UsageError(
                reason=_("The keyring holds no keys for '{source}'; 'trayapp keys list' shows where keys are.").format(
                    source=source
                )
            )
        return key

    def serve(self, source: str) -> dict[str, Any]:
        """Process credentials (Version 1) of SOURCE's stored key, for ``credential_process``."""
        self._check_name(source)
        key = self._stored(source)
        return {"Version": 1, "AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key}

    # rotation

    def rotate(self, source: str, iam_factory: Callable[[str, str], Any] | None = None) -> StoredKey:
        """Replace SOURCE's stored key with a new one; see the module docstring for the steps."""
        self._check_name(source)
        clients = iam_factory or _client
        key = self._stored(source)

        def client(service: str, k: StoredKey | Mapping[str, str]) -> Any:
            if isinstance(k, StoredKey):
                return clients(service, k.access_key_id + "\0" + k.secret_access_key)
            return clients(service, k["access_key_id"] + "\0" + k["secret_access_key"])

        iam = client("iam", key)
        identity = _caller(client("sts", key), source)
        # Finish what a killed rotation left: that finishes this rotation too.
        pending = key.extra.get("pending")
        if isinstance(pending, dict):
            if _works(client("sts", pending), identity, tries=2):
                return self._promote(source, iam, key, pending)
            key = StoredKey(key.access_key_id, key.secret_access_key, key.created, {})
            self.store.put(source, key)
        retired = key.extra.get("retired")
        if isinstance(retired, str):
            _delete_key(iam, retired, source)
            key = StoredKey(key.access_key_id, key.secret_access_key, key.created, {})
            self.store.put(source, key)
            return key
        listed = _iam(lambda: iam.list_access_keys()["AccessKeyMetadata"], source, "ListAccessKeys")
        ids = [str(item["AccessKeyId"]) for item in listed]
        marker = key.extra.get("rotation")
        if isinstance(marker, dict):
            before = set(marker.get("before") or [])
            for orphan in [i for i in ids if i not in before and i != key.access_key_id]:
                _delete_key(iam, orphan, source)  # made by a rotation killed before it could store it
                ids.remove(orphan)
            key = StoredKey(key.access_key_id, key.secret_access_key, key.created, {})
        others = [i for i in ids if i != key.access_key_id]
        if others:
            raise KeysError(
                reason=_(
                    "The IAM user of '{source}' already has two access keys ({other} besides the stored {key}), "
                    "and IAM allows two; delete the one you no longer use, then try again."
                ).format(source=source, other=short_id(others[0]), key=short_id(key.access_key_id))
            )
        self.store.put(source, key, rotation={"before": ids, "started": _iso(self._clock())})
        _kill_at("marked")
        made = _iam(lambda: iam.create_access_key()["AccessKey"], source, "CreateAccessKey")
        new = {
            "access_key_id": str(made["AccessKeyId"]),
            "secret_access_key": str(made["SecretAccessKey"]),
            "created": _iso(made.get("CreateDate") or self._clock()),
        }
        _kill_at("created")
        key = StoredKey(key.access_key_id, key.secret_access_key, key.created, {})
        self.store.put(source, key, pending=new)
        _kill_at("pending")
        if not _works(client("sts", new), identity, tries=VERIFY_TRIES):
            _delete_key(iam, new["access_key_id"], source)
            self.store.put(source, key)
            raise KeysError(
                reason=_(
                    "The new access key of '{source}' did not work within {seconds} s, so it was deleted; "
                    "the stored key {key} is unchanged."
                ).format(source=source, seconds=int(VERIFY_TRIES * VERIFY_PAUSE), key=short_id(key.access_key_id))
            )
        _kill_at("verified")
        return self._promote(source, iam, key, new)

    def _promote(self, source: str, iam: Any, old: StoredKey, new: Mapping[str, str]) -> StoredKey:
        key = StoredKey(new["access_key_id"], new["secret_access_key"], new.get("created") or _iso(self._clock()), {})
        self.store.put(source, key, retired=old.access_key_id)
        _kill_at("stored")
        _delete_key(iam, old.access_key_id, source)
        _kill_at("deleted")
        self.store.put(source, key)
        return key


def _kill_at(step: str) -> None:
    if os.environ.get(KILL_AT_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def _client(service: str, secret_pair: str) -> Any:
    """An IAM or STS client signed with a long-term key (endpoint from AWS_ENDPOINT_URL_*)."""
    from trayapp.core import aws_clients

    key_id, secret = secret_pair.split("\0", 1)
    return aws_clients.session().create_client(
        service,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=aws_clients.client_config(),
    )


def _iam(call: Callable[[], Any], source: str, action: str) -> Any:
    try:
        return call()
    except Exception as exc:
        raise _iam_error(exc, source, action) from None


def _iam_error(exc: Exception, source: str, action: str) -> errors.TrayappError:
    code = _error_code(exc)
    if code == "LimitExceeded":
        return KeysError(
            reason=_("The IAM user of '{source}' already has two access keys, and IAM allows two.").format(
                source=source
            )
        )
    if code in ("InvalidClientTokenId", "SignatureDoesNotMatch"):
        return errors.InvalidSourceKeys(source=source, role_arn="")
    return KeysError(
        reason=_("AWS IAM refused {action} for '{source}' ({code}); the stored key was kept.").format(
            action=action, source=source, code=code or type(exc).__name__
        )
    )


def _error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def _caller(sts: Any, source: str) -> str:
    return str(_iam(lambda: sts.get_caller_identity()["Arn"], source, "GetCallerIdentity"))


def _works(sts: Any, identity: str, *, tries: int) -> bool:
    """The key is the same IAM identity as the stored one (IAM may need a few seconds to know it)."""
    for attempt in range(tries):
        try:
            if sts.get_caller_identity()["Arn"] == identity:
                return True
        except Exception:  # not known yet, or not at all
            pass
        if attempt < tries - 1:
            time.sleep(VERIFY_PAUSE)
    return False


def _delete_key(iam: Any, key_id: str, source: str) -> None:
    try:
        iam.delete_access_key(AccessKeyId=key_id)
    except Exception as exc:
        if _error_code(exc) != "NoSuchEntity":  # already gone: what was wanted
            raise _iam_error(exc, source, "DeleteAccessKey") from None


def keyring_credentials(source: str, store: KeyStore | None = None) -> tuple[str, str] | None:
    """The stored key of *source* for :class:`~trayapp.core.sts.SourceCredentials`, or None."""
    key = (store or KeyStore()).get(source)
    return None if key is None else (key.access_key_id, key.secret_access_key)
