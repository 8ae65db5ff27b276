"""botocore sessions and clients as trayapp makes them: one place for the timeouts and retries every
AWS call of trayapp's shares (STS, IAM), used by ``sts`` and ``keys`` alike.

botocore is imported lazily: it costs ~0.2 s to import, which must not sit on the path from start to
icon shown.
"""

from __future__ import annotations

from typing import Any

# Seconds, not minutes: a hung endpoint gives up after two tries of 5 s.
CONNECT_TIMEOUT = 3
READ_TIMEOUT = 5
ATTEMPTS = 2


def session(profile: str | None = None) -> Any:
    """A botocore session reading the AWS files (for *profile*, else the default one)."""
    import botocore.session
    from botocore.exceptions import ProfileNotFound

    made = botocore.session.Session(profile=profile)
    if profile is None:
        try:
            made.get_scoped_config()
        except ProfileNotFound:
            # An exported AWS_PROFILE naming no profile (a stale shell) must not break a client that
            # is given its keys and region explicitly: read the default profile instead.
            made = botocore.session.Session(profile="default")
    return made


def client_config() -> Any:
    """botocore's ``Config`` with trayapp's timeouts and retries."""
    from botocore.config import Config

    return Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"mode": "standard", "total_max_attempts": ATTEMPTS},
    )
