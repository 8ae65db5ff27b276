"""The AWS calls of a key rotation: IAM and STS clients signed with a long-term key, and IAM's
refusals turned into one sentence each."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from trayapp.core import errors
from trayapp.core.key_store import KeysError
from trayapp.i18n import _

#: Seconds between GetCallerIdentity tries for a new key.
VERIFY_PAUSE = 1.5


def reached(step: str) -> None:
    """A rotation has reached *step* (``marked``, ``created``, ``pending``, ``verified``,
    ``stored``, ``deleted``): each leaves the key store in a state a later rotation finishes from.
    Nothing happens here; the tests replace this function to kill the process at a step."""


def client(service: str, secret_pair: str) -> Any:
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


def iam_call(call: Callable[[], Any], source: str, action: str) -> Any:
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
            action=action, source=source, code=code or _("no error code")
        )
    )


def _error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def caller(sts: Any, source: str) -> str:
    return str(iam_call(lambda: sts.get_caller_identity()["Arn"], source, "GetCallerIdentity"))


def works(sts: Any, identity: str, *, tries: int) -> bool:
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


def delete_key(iam: Any, key_id: str, source: str) -> None:
    try:
        iam.delete_access_key(AccessKeyId=key_id)
    except Exception as exc:
        if _error_code(exc) != "NoSuchEntity":  # already gone: what was wanted
            raise _iam_error(exc, source, "DeleteAccessKey") from None
