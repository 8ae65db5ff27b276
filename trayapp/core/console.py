"""The AWS console for a session: the federation sign-in URL, partition-aware.

The session's keys go to the federation endpoint in a POST body, never in a
URL or on a command line; the URL handed to the browser carries only the
short-lived sign-in token.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from trayapp.core.errors import SigninFailed
from trayapp.core.sts import Credentials
from trayapp.i18n import _

#: partition → (federation endpoint, console)
PARTITIONS = {
    "aws": ("https://signin.aws.amazon.com/federation", "https://console.aws.amazon.com/"),
    "aws-cn": ("https://signin.amazonaws.cn/federation", "https://console.amazonaws.cn/"),
    "aws-us-gov": ("https://signin.amazonaws-us-gov.com/federation", "https://console.amazonaws-us-gov.com/"),
}
#: Overrides the federation endpoint (a local stand-in in tests, a proxy in odd networks).
ENDPOINT_ENV = "TRAYAPP_SIGNIN_URL"
TIMEOUT = 10

Opener = Callable[..., Any]


def partition_of(role_arn: str) -> str:
    parts = role_arn.split(":")
    return parts[1] if len(parts) > 1 and parts[1] in PARTITIONS else "aws"


def signin_url(
    profile: str,
    credentials: Credentials,
    role_arn: str,
    region: str | None,
    *,
    opener: Opener = urllib.request.urlopen,
    environ: dict[str, str] | None = None,
) -> str:
    env = os.environ if environ is None else environ
    federation, console = PARTITIONS[partition_of(role_arn)]
    federation = env.get(ENDPOINT_ENV) or federation
    session = json.dumps(
        {
            "sessionId": credentials.access_key_id,
            "sessionKey": credentials.secret_access_key,
            "sessionToken": credentials.session_token or "",
        }
    )
    body = urllib.parse.urlencode({"Action": "getSigninToken", "Session": session}).encode()
    request = urllib.request.Request(
        federation, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}, method="POST"
    )
    try:
        with opener(request, timeout=TIMEOUT) as response:
            token = json.loads(response.read().decode())["SigninToken"]
    except urllib.error.HTTPError as exc:
        reason = _("the sign-in service answered HTTP {status}").format(status=exc.code)
        raise SigninFailed(profile=profile, reason=reason) from None
    except (urllib.error.URLError, TimeoutError, OSError):
        raise SigninFailed(profile=profile, reason=_("the sign-in service can't be reached")) from None
    except (ValueError, KeyError, TypeError):
        reason = _("the sign-in service sent an answer trayapp could not read")
        raise SigninFailed(profile=profile, reason=reason) from None
    destination = console + (f"console/home?region={urllib.parse.quote(region)}" if region else "")
    query = urllib.parse.urlencode(
        {"Action": "login", "Issuer": "trayapp", "Destination": destination, "SigninToken": token}
    )
    return f"{federation}?{query}"
