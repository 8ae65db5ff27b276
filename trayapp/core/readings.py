"""What the AWS files say, read again only when one of them changed: the part of the ``Service``
that reads.

The config (:func:`trayapp.core.profiles.load`) is read again when either file changed, the
credentials file's sections when it changed, the sessions trayapp wrote when those sections did.
A *resident* reader (the tray, which reads again after every change of the files) also keeps what
the last reading found — each file's sections by their text (:class:`trayapp.core.ini.Recall`), each
role profile's own check (``AwsConfig.own``), each role's entry —, so that a change of one profile
among 10,000 costs what changed, not the whole files again.  What it returns is the same as a first
reading's: ``tests/test_readings.py`` compares both over generated configs and changes.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Set

from trayapp.core import ini, profiles, session_record
from trayapp.core.credentials_file import CredentialsFile, managed_only
from trayapp.core.profiles import AwsConfig
from trayapp.core.results import RoleEntry
from trayapp.core.session_record import KEY_EXPIRES, KEY_PROFILE, KEY_ROLE
from trayapp.core.sessions import SESSION_SUFFIX, SessionInfo, session_name

__all__ = ["Readings"]

Sections = dict[str, dict[str, str]]


class Readings:
    """The files of one environment, read as they are now; safe to call from several threads."""

    def __init__(self, environ: Mapping[str, str] | None, *, resident: bool = False) -> None:
        self._environ = environ
        self._resident = resident
        self._lock = threading.RLock()
        self._config: AwsConfig | None = None
        self._config_stamp: tuple[object, ...] | None = None
        self._credentials: CredentialsFile | None = None
        self._sections: tuple[tuple[int, ...] | None, Sections] | None = None
        self._sessions: tuple[Sections, dict[str, SessionInfo]] | None = None
        self._entries: dict[str, RoleEntry] = {}
        self._session_of: dict[str, tuple[dict[str, str], SessionInfo]] = {}
        # A Recall has one reader at a time: the config's is used under _lock, the credentials' under its own.
        self._config_recall = ini.Recall() if resident else None
        self._credentials_recall = ini.Recall() if resident else None
        self._recall_lock = threading.Lock()

    def config(self) -> AwsConfig:
        """The current config; re-read only when either file changed."""
        with self._lock:
            stamp = tuple(
                ini.file_stamp(p)
                for p in (profiles.config_path(self._environ), profiles.credentials_path(self._environ))
            )
            if self._config is None or stamp != self._config_stamp:
                # One parse of the credentials file serves both the profiles and the sessions.
                self._config = profiles.load(
                    self._environ,
                    credential_sections=self.sections(),
                    recall=self._config_recall,
                    previous=self._config if self._resident else None,
                )
                self._config_stamp = stamp
            return self._config

    def credentials_file(self) -> CredentialsFile:
        """One object per path: it remembers the bytes it last verified, so updates stay fast."""
        path = profiles.credentials_path(self._environ)
        with self._lock:
            if self._credentials is None or self._credentials.path != path:
                self._credentials = CredentialsFile(path)
                self._sections = None
                if self._resident:
                    self._credentials_recall = ini.Recall()
            return self._credentials

    def sections(self) -> Sections:
        """Every section of the credentials file, parsed again only when the file changed."""
        file = self.credentials_file()
        stamp = ini.file_stamp(file.path)
        with self._lock:
            cached = self._sections
            if cached is not None and stamp is not None and cached[0] == stamp:
                return cached[1]
            recall = self._credentials_recall
        if recall is None:
            sections = file.read_sections()
        else:
            with self._recall_lock:
                sections = file.read_sections(recall)
        with self._lock:
            self._sections = (stamp, sections)
        return sections

    def sessions(self) -> dict[str, SessionInfo]:
        """Sessions the applet wrote, by role profile name (worked out again when the file changed)."""
        sections = self.sections()
        with self._lock:
            if self._sessions is not None and self._sessions[0] is sections:
                return dict(self._sessions[1])
            last = self._session_of  # the last reading's, reused for a section whose values are equal
        found: dict[str, SessionInfo] = {}
        session_of: dict[str, tuple[dict[str, str], SessionInfo]] = {}
        for section, values in managed_only(sections).items():
            held = last.get(section)
            if held is not None and held[0] == values:
                info = held[1]
            else:
                profile = values.get(KEY_PROFILE) or section.removesuffix(SESSION_SUFFIX)
                if session_name(profile) != section:
                    continue
                info = SessionInfo(
                    profile,
                    values.get(KEY_ROLE, ""),
                    session_record.parse_expiry(values.get(KEY_EXPIRES)),
                    session_record.parse_duration(values),
                )
            found[info.profile] = info
            session_of[section] = (values, info)
        with self._lock:
            self._sessions = (sections, found)
            if self._resident:
                self._session_of = session_of
        return dict(found)

    def roles(self, hidden: Set[str]) -> list[RoleEntry]:
        """Each role profile with its session, in the config's order, but those *hidden*."""
        cfg = self.config()
        sessions = self.sessions()
        with self._lock:
            last = self._entries  # the last call's, reused where role and session are the same objects
            entries: dict[str, RoleEntry] = {}
            for name, role in cfg.roles.items():
                session = sessions.get(name)
                entry = last.get(name)
                if entry is None or entry.role is not role or entry.session is not session:
                    entry = RoleEntry(role, session)
                entries[name] = entry
            self._entries = entries
        return [entry for name, entry in entries.items() if name not in hidden]
