"""A session's section as trayapp writes it into the credentials file: its keys, and how its
recorded expiry and duration are read back (the one format the tray, the CLI and a restart share)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trayapp.core.sts import Credentials

KEY_PROFILE = "trayapp_profile"
KEY_ROLE = "trayapp_role_arn"
KEY_EXPIRES = "trayapp_expiration"
#: ``long-term`` when an IAM user's long-term keys signed the AssumeRole, else ``temporary``
#: (an MFA session's or another role's keys): the console sign-in follows AWS's rules for each.
KEY_SIGNED = "trayapp_signed_with"
#: The seconds the session was asked for: every renewal asks for the same (issue 21).
KEY_DURATION = "trayapp_duration"


def values(
    profile: str,
    role_arn: str,
    c: Credentials,
    expiration: datetime,
    region: str,
    long_term: bool = False,
    duration: int = 0,
) -> dict[str, str]:
    """The section's keys: the session's three keys and region (what botocore reads), and trayapp's own."""
    out = {
        "aws_access_key_id": c.access_key_id,
        "aws_secret_access_key": c.secret_access_key,
        "aws_session_token": c.session_token or "",
        "region": region,
        KEY_PROFILE: profile,
        KEY_ROLE: role_arn,
        KEY_EXPIRES: expiration.isoformat(timespec="seconds"),
        KEY_SIGNED: "long-term" if long_term else "temporary",
    }
    if duration > 0:
        out[KEY_DURATION] = str(duration)
    return out


def parse_duration(values: Mapping[str, str]) -> int | None:
    """The recorded duration of a session (None: not recorded, or not a sane number)."""
    text = values.get(KEY_DURATION, "")
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) <= 7 * 24 * 3600 else None


def parse_expiry(text: str | None) -> datetime:
    """An expiry written by the applet; anything unreadable counts as long expired."""
    try:
        value = datetime.fromisoformat(text or "")
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
