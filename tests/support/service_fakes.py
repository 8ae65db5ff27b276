"""The service without a network: a scripted STS client, a scripted prompt, and the config they serve."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from trayapp.core.prompts import MfaRequest
from trayapp.core.sts import Credentials

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


CONFIG = """\
[profile prod]
role_arn = arn:aws:iam::222222222222:role/Admin
source_profile = base
mfa_serial = arn:aws:iam::000000000000:mfa/alice
region = eu-central-1

[profile deep]
role_arn = arn:aws:iam::444444444444:role/Deep
source_profile = prod
mfa_serial = arn:aws:iam::000000000000:mfa/deep
duration_seconds = 7200

[profile dev]
role_arn = arn:aws:iam::111111111111:role/Dev
source_profile = base

[profile stage]
role_arn = arn:aws:iam::555555555555:role/Stage
source_profile = base
mfa_serial = arn:aws:iam::000000000000:mfa/alice

[profile long]
role_arn = arn:aws:iam::666666666666:role/Long
source_profile = base
mfa_serial = arn:aws:iam::000000000000:mfa/alice
duration_seconds = 14400

[profile dev-session]
role_arn = arn:aws:iam::111111111111:role/Shadow
source_profile = base
"""


def sts_error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "AssumeRole")


class FakeSts:
    """Answers AssumeRole from a script: a ClientError to raise, or success."""

    def __init__(self) -> None:
        self.script: list[ClientError | None] = []
        self.calls: list[dict[str, Any]] = []
        self.signers: list[str] = []
        self._ids = itertools.count(1)

    def client(self, credentials: Credentials, region: str) -> Any:
        fake = self

        class Client:
            def assume_role(self, **params: Any) -> dict[str, Any]:
                fake.calls.append(params)
                fake.signers.append(credentials.access_key_id)
                if fake.script and (err := fake.script.pop(0)) is not None:
                    raise err
                n = next(fake._ids)
                role = params["RoleArn"].rsplit("/", 1)[-1]
                return {
                    "Credentials": {
                        "AccessKeyId": f"ASIAFAKE{n:012d}",
                        "SecretAccessKey": f"secret{n}",
                        "SessionToken": f"token{n}",
                        "Expiration": NOW + timedelta(seconds=params["DurationSeconds"]),
                    },
                    "AssumedRoleUser": {
                        "Arn": f"arn:aws:sts::111111111111:assumed-role/{role}/{params['RoleSessionName']}"
                    },
                }

            def get_session_token(self, **params: Any) -> dict[str, Any]:
                fake.calls.append({"Action": "GetSessionToken", **params})
                fake.signers.append(credentials.access_key_id)
                return {
                    "Credentials": {
                        "AccessKeyId": "ASIAMFASESSION000001",
                        "SecretAccessKey": "mfaSecret",
                        "SessionToken": "mfaToken",
                        "Expiration": NOW + timedelta(seconds=params["DurationSeconds"]),
                    }
                }

        return Client()


class ScriptedPrompt:
    def __init__(self, *codes: str | None) -> None:
        self.codes = list(codes)
        self.asked: list[tuple[MfaRequest, str | None]] = []
        self.closed = False

    def ask(self, request: MfaRequest, error: str | None = None) -> str | None:
        self.asked.append((request, error))
        return self.codes.pop(0) if self.codes else None

    def close(self) -> None:
        self.closed = True
