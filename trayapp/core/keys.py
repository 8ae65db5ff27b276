"""Long-term keys of source profiles in the OS keyring, never on disk (opt-in).

``trayapp keys import SOURCE`` moves the two key lines of a source profile out of
the AWS files into the keyring (service ``trayapp``, one entry per source profile:
JSON ``{access_key_id, secret_access_key, created}``), and writes

    credential_process = <trayapp> keys serve SOURCE

into SOURCE's profile of the config file, so every other tool (the ``aws`` CLI,
SDKs) still gets the keys — from trayapp, which reads the keyring.  trayapp itself
skips that process: :class:`~trayapp.core.sts.SourceCredentials` recognises the
line and reads the keyring directly (once per process, and again after a change of the entry:
:func:`~trayapp.core.key_store.change_mark`).

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

import re
import shlex
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trayapp.core import errors, key_aws, launch, profiles
from trayapp.core.credentials_file import CredentialsFile, managed_only
from trayapp.core.key_aws import VERIFY_PAUSE, caller, delete_key, iam_call, works
from trayapp.core.key_aws import client as aws_client
from trayapp.core.key_store import (
    SERVICE,
    KeyringUnavailable,
    KeysError,
    KeyStore,
    StoredKey,
    iso,
    keyring_credentials,
    short_id,
    username,
)
from trayapp.core.key_store import utc_now as now_utc
from trayapp.i18n import _

__all__ = [
    "SERVICE",
    "KeySource",
    "KeyStore",
    "KeyringUnavailable",
    "Keys",
    "KeysError",
    "StoredKey",
    "bridge_command",
    "bridged_source",
    "keyring_credentials",
    "short_id",
    "username",
]

KEY_ID = "aws_access_key_id"
SECRET = "aws_secret_access_key"
TOKEN = "aws_session_token"
PROCESS = "credential_process"
#: GetCallerIdentity tries for a new key (IAM takes a few seconds to know it everywhere).
VERIFY_TRIES = 8
_NAME = re.compile(r"[\w+=,.@-]{1,128}", re.ASCII)
_BRIDGE = re.compile(r"(?:^|\s)keys\s+serve\s+(\S+)\s*$")


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
            return max(0, ((now or now_utc()) - datetime.fromisoformat(self.created)).days)
        except ValueError:
            return None


class Keys:
    """The use cases: list, import, export, remove, serve, rotate."""

    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        store: KeyStore | None = None,
        clock: Callable[[], datetime] = now_utc,
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
        created = existing.created if existing and existing.access_key_id == values[KEY_ID] else iso(self._clock())
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
        clients = iam_factory or aws_client
        key = self._stored(source)

        def client(service: str, k: StoredKey | Mapping[str, str]) -> Any:
            if isinstance(k, StoredKey):
                return clients(service, k.access_key_id + "\0" + k.secret_access_key)
            return clients(service, k["access_key_id"] + "\0" + k["secret_access_key"])

        iam = client("iam", key)
        identity = caller(client("sts", key), source)
        # Finish what a killed rotation left: that finishes this rotation too.
        pending = key.extra.get("pending")
        if isinstance(pending, dict):
            if works(client("sts", pending), identity, tries=2):
                return self._promote(source, iam, key, pending)
            key = StoredKey(key.access_key_id, key.secret_access_key, key.created, {})
            self.store.put(source, key)
        retired = key.extra.get("retired")
        if isinstance(retired, str):
            delete_key(iam, retired, source)
            key = StoredKey(key.access_key_id, key.secret_access_key, key.created, {})
            self.store.put(source, key)
            return key
        listed = iam_call(lambda: iam.list_access_keys()["AccessKeyMetadata"], source, "ListAccessKeys")
        ids = [str(item["AccessKeyId"]) for item in listed]
        marker = key.extra.get("rotation")
        if isinstance(marker, dict):
            before = set(marker.get("before") or [])
            for orphan in [i for i in ids if i not in before and i != key.access_key_id]:
                delete_key(iam, orphan, source)  # made by a rotation killed before it could store it
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
        self.store.put(source, key, rotation={"before": ids, "started": iso(self._clock())})
        key_aws.reached("marked")
        made = iam_call(lambda: iam.create_access_key()["AccessKey"], source, "CreateAccessKey")
        new = {
            "access_key_id": str(made["AccessKeyId"]),
            "secret_access_key": str(made["SecretAccessKey"]),
            "created": iso(made.get("CreateDate") or self._clock()),
        }
        key_aws.reached("created")
        key = StoredKey(key.access_key_id, key.secret_access_key, key.created, {})
        self.store.put(source, key, pending=new)
        key_aws.reached("pending")
        if not works(client("sts", new), identity, tries=VERIFY_TRIES):
            delete_key(iam, new["access_key_id"], source)
            self.store.put(source, key)
            raise KeysError(
                reason=_(
                    "The new access key of '{source}' did not work within {seconds} s, so it was deleted; "
                    "the stored key {key} is unchanged."
                ).format(source=source, seconds=int(VERIFY_TRIES * VERIFY_PAUSE), key=short_id(key.access_key_id))
            )
        key_aws.reached("verified")
        return self._promote(source, iam, key, new)

    def _promote(self, source: str, iam: Any, old: StoredKey, new: Mapping[str, str]) -> StoredKey:
        key = StoredKey(new["access_key_id"], new["secret_access_key"], new.get("created") or iso(self._clock()), {})
        self.store.put(source, key, retired=old.access_key_id)
        key_aws.reached("stored")
        delete_key(iam, old.access_key_id, source)
        key_aws.reached("deleted")
        self.store.put(source, key)
        return key
