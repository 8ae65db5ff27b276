"""The AWS files the command-line tests share: a config with four role profiles, a credentials file with
source keys and another tool's section, and the environment that points trayapp and `aws` at them."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.support.fixtures import aws_env

AWS = str(Path(sys.executable).with_name("aws"))


CONFIG = """\
[default]
region = eu-west-1

[profile prod]
role_arn = arn:aws:iam::222222222222:role/Admin
source_profile = base
mfa_serial = arn:aws:iam::000000000000:mfa/alice
region = eu-central-1

[profile dev]
role_arn = arn:aws:iam::111111111111:role/Dev
source_profile = base
region = us-west-2

[profile partner]
role_arn = arn:aws:iam::333333333333:role/Partner
source_profile = base
external_id = partner-ext-42
duration_seconds = 1800
role_session_name = alice-at-partner
region = ap-northeast-1

[profile deep]
role_arn = arn:aws:iam::444444444444:role/Deep
source_profile = prod
mfa_serial = arn:aws:iam::000000000000:mfa/alice-deep
"""


CREDENTIALS = (
    "# my keys — keep this comment\n"
    "[base]\n"
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
    "\n"
    "; another tool's section\n"
    "[other-tool]\n"
    "aws_access_key_id = AKIAOTHER0000EXAMPLE\n"
    "aws_secret_access_key = otherSecretKeyExample\n"
    "\n"
    "\n"
)


def env_for(home: Path, sts_url: str, **extra: str) -> dict[str, str]:
    """aws_env plus a private runtime dir, so the shared used-code memory is per test."""
    run = home / "run"
    run.mkdir(mode=0o700, exist_ok=True)
    env = aws_env(home, sts_url)
    env.update({"XDG_RUNTIME_DIR": str(run), **extra})
    return env


def write_aws_files(home: Path, config: str = CONFIG, credentials: str = CREDENTIALS) -> Path:
    """``home/.aws/config`` and a 0600 ``home/.aws/credentials`` (``.aws`` 0700); the credentials path."""
    aws = home / ".aws"
    aws.mkdir(mode=0o700, exist_ok=True)
    (aws / "config").write_text(config)
    path = aws / "credentials"
    path.write_text(credentials)
    path.chmod(0o600)
    return path


#: The session token :func:`write_session` writes, to tell its session from a renewed one.
OLD_TOKEN = "FwoGZXIvYXdzEXAMPLE"


def write_session(
    credentials: str | Path, profile: str = "dev", minutes: float = 60, duration: int | None = None
) -> None:
    """A session of *profile* written as trayapp writes it, with *minutes* left (fake keys) and, with
    *duration*, the seconds it was assumed for (``trayapp_duration``)."""
    from datetime import UTC, datetime, timedelta

    from trayapp.core.credentials_file import CredentialsFile

    expires = (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat(timespec="seconds")
    CredentialsFile(credentials).write_section(
        f"{profile}-session",
        {
            "aws_access_key_id": "ASIAIOSFODNN7EXAMPLE",
            "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws_session_token": OLD_TOKEN,
            "region": "us-west-2",
            "trayapp_profile": profile,
            "trayapp_role_arn": "arn:aws:iam::111111111111:role/Dev",
            "trayapp_expiration": expires,
            **({"trayapp_duration": str(duration)} if duration is not None else {}),
        },
    )
