"""The values the use cases of :class:`trayapp.core.service.Service` hand back: plain, frozen data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trayapp.core.profiles import RoleProfile
    from trayapp.core.sessions import SessionInfo
    from trayapp.core.sts import Credentials

__all__ = ["AssumeResult", "MfaSession", "RoleEntry"]


@dataclass(frozen=True)
class RoleEntry:
    role: RoleProfile
    session: SessionInfo | None


@dataclass(frozen=True)
class MfaSession:
    """Credentials from GetSessionToken with MFA: in memory only, never on disk."""

    source: str
    serial: str
    credentials: Credentials = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True)
class AssumeResult:
    session: SessionInfo
    assumed_arn: str
    #: Sentences for the user (permissions tightened, a shadowing config profile…).
    notes: list[str] = field(default_factory=list)
