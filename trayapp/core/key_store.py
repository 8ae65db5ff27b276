"""The keyring entries that hold source profiles' long-term keys (``keyring`` imported lazily):
one JSON entry per source profile under the service ``trayapp``.  Without a usable backend nothing
is stored: never a plaintext file of ours."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trayapp.core import errors
from trayapp.i18n import _

SERVICE = "trayapp"
#: Seconds before the CLI says it is waiting for the keyring (an unlock prompt).
WAIT_NOTICE = 1.0
_PLAINTEXT_BACKENDS = ("keyrings.alt", "keyring.backends.fail", "keyring.backends.null")


class KeysError(errors.TrayappError):
    template = "{reason}"


class KeyringUnavailable(KeysError):
    template = (
        "No usable OS keyring was found ({backend}); trayapp keeps long-term keys only in the keyring, "
        "never in a file of its own, so nothing was moved."
    )


def _mark_path(source: str) -> Path | None:
    from trayapp.core.runtime import private_runtime_dir

    folder = private_runtime_dir()
    return None if folder is None else folder / f"keys-{source}.changed"


#: Changes made by this process, by source: seen at once, also without a private runtime folder.
_changes: dict[str, int] = {}


def change_mark(source: str) -> object:
    """What says *source*'s keyring entry is unchanged since it was read (in this process or any
    other of this user's): this process's count of its changes, and the stamp of a file in the
    private runtime folder that every store and delete replaces.  The file holds no secret, only the
    moment of the change."""
    from trayapp.core.ini import file_stamp

    path = _mark_path(source)
    return (_changes.get(source, 0), None if path is None else file_stamp(path))


def mark_changed(source: str) -> None:
    """Tell every trayapp of this user that *source*'s keyring entry changed (a new file: a new stamp)."""
    _changes[source] = _changes.get(source, 0) + 1
    path = _mark_path(source)
    if path is None:
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        tmp.write_text(f"{time.time_ns()}\n")
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


def short_id(key_id: str) -> str:
    """``AKIA…WXYZ``: enough to tell keys apart, not enough to use one."""
    return key_id if len(key_id) <= 8 else f"{key_id[:4]}…{key_id[-4:]}"


def username(source: str) -> str:
    return f"keys/{source}"


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
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
        return max(0, ((now or utc_now()) - created).days)


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
        except Exception:  # keyring raises its own and backend-specific errors
            raise KeyringUnavailable(backend=_("the keyring did not answer")) from None
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
        except Exception:
            raise KeyringUnavailable(backend=_("the keyring did not answer")) from None
        return None if text is None else _parse_entry(text)

    def put(self, source: str, key: StoredKey, **extra: Any) -> None:
        backend = self._keyring()
        text = key.as_json(**extra)
        try:
            with self._waiting():
                backend.set_password(SERVICE, username(source), text)
                back = backend.get_password(SERVICE, username(source))
        except Exception:
            raise KeyringUnavailable(backend=_("the keyring did not answer")) from None
        finally:
            mark_changed(source)  # whatever the keyring holds now, whoever held it reads it again
        if back != text:
            raise KeysError(reason=_("The keyring did not give back the keys just stored; nothing else was changed."))

    def delete(self, source: str) -> bool:
        backend = self._keyring()
        try:
            with self._waiting():
                if backend.get_password(SERVICE, username(source)) is None:
                    return False
                backend.delete_password(SERVICE, username(source))
        except Exception:
            raise KeyringUnavailable(backend=_("the keyring did not answer")) from None
        finally:
            mark_changed(source)
        return True


def keyring_credentials(source: str, store: KeyStore | None = None) -> tuple[str, str] | None:
    """The stored key of *source* for :class:`~trayapp.core.sts.SourceCredentials`, or None."""
    key = (store or KeyStore()).get(source)
    return None if key is None else (key.access_key_id, key.secret_access_key)
