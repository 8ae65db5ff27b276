"""The wire to IAM Identity Center: answers bounded in size, and every failure one sentence.

botocore reads a whole answer into memory before it parses it (a 200 MB answer took a sign-in to
452 MB).  :func:`bound` makes a client's answers go through :func:`read_bounded` instead: botocore
sends the request as it always does (its proxies, CA bundle and timeouts), the body is left
unread, and then at most :data:`MAX_ANSWER` bytes are read, within :data:`ANSWER_SECONDS` — a
larger (or longer) answer is refused before it is read whole, and its connection closed.

:func:`failure` turns whatever a call raised into the user's sentence, as ``sts.translate`` does
for STS: no network, no name, refused, timed out, throttled, the service's own error (5xx), or an
answer that isn't what it should be.  Which exception classes botocore raises is known here only.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from trayapp.core import errors
from trayapp.core.aws_clients import ATTEMPTS, READ_TIMEOUT
from trayapp.i18n import _

log = logging.getLogger(__name__)

MAX_ANSWER = 1 << 20
#: The whole body of one answer, however it trickles in.
ANSWER_SECONDS = 30.0
_THROTTLED = {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded", "SlowDown"}


class AnswerTooLarge(Exception):
    """The answer was larger than :data:`MAX_ANSWER` (never read whole)."""


class AnswerTooSlow(Exception):
    """The answer's body took longer than :data:`ANSWER_SECONDS`."""


class _Body:
    """What botocore's ``AWSResponse`` reads a body from (``raw.stream()``): bytes already read."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, *args: object, **kwargs: object) -> Iterator[bytes]:
        yield self._data


def read_bounded(raw: Any, limit: int = MAX_ANSWER, seconds: float = ANSWER_SECONDS) -> bytes:
    """At most *limit* bytes of a urllib3 response *raw*; :class:`AnswerTooLarge` beyond (the
    declared length is believed first), :class:`AnswerTooSlow` after *seconds*."""
    declared = raw.headers.get("content-length", "") if raw.headers is not None else ""
    if declared.strip().isdigit() and int(declared) > limit:
        raise AnswerTooLarge
    chunks: list[bytes] = []
    size, deadline = 0, time.monotonic() + seconds
    while chunk := raw.read1(65536):
        size += len(chunk)
        if size > limit:
            raise AnswerTooLarge
        if time.monotonic() > deadline:
            raise AnswerTooSlow
        chunks.append(chunk)
    return b"".join(chunks)


def bound(client: Any, limit: int = MAX_ANSWER) -> Any:
    """*client* (botocore's), its every answer read through :func:`read_bounded`."""
    from botocore.awsrequest import AWSResponse
    from botocore.exceptions import ConnectionClosedError, ReadTimeoutError
    from urllib3.exceptions import ProtocolError
    from urllib3.exceptions import ReadTimeoutError as Urllib3ReadTimeout

    from trayapp.compat.botocore import http_sender

    send = http_sender(client)

    def bounded_send(request: Any, **_kwargs: object) -> Any:
        request.stream_output = True  # botocore leaves the body to us
        response = send(request)
        try:
            body = read_bounded(response.raw, limit)
        except BaseException as exc:
            response.raw.close()  # a refused answer's connection is never reused
            if isinstance(exc, Urllib3ReadTimeout):
                raise ReadTimeoutError(endpoint_url=request.url, error=exc) from None
            if isinstance(exc, ProtocolError):
                raise ConnectionClosedError(error=exc, request=request, endpoint_url=request.url) from None
            raise
        response.raw.release_conn()
        return AWSResponse(response.url, response.status_code, response.headers, _Body(body))

    client.meta.events.register("before-send", bounded_send, unique_id="trayapp-bounded-answers")
    return client


def endpoint_of(client: Any) -> str:
    try:
        return str(client.meta.endpoint_url)
    except AttributeError:
        return _("its endpoint")


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` (``""`` for anything else)."""
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code") or "") if isinstance(response, dict) else ""


def failure(exc: BaseException, endpoint: str) -> errors.TrayappError | None:
    """The sentence for a failed call to IAM Identity Center at *endpoint*, or None for a request
    the service refused with an error code of its own (4xx: the caller says what it means)."""
    from botocore import exceptions as bx
    from botocore.parsers import ResponseParserError

    if isinstance(exc, errors.TrayappError):
        return exc
    if isinstance(exc, AnswerTooLarge):
        reason = _("it was larger than {size} MB").format(size=MAX_ANSWER >> 20)
        return errors.SsoMalformedAnswer(endpoint=endpoint, reason=reason)
    timeout = {"endpoint": endpoint, "seconds": READ_TIMEOUT * ATTEMPTS}
    if isinstance(exc, AnswerTooSlow):
        return errors.SsoTimeout(**timeout | {"seconds": int(ANSWER_SECONDS)})
    if isinstance(exc, bx.ClientError):
        response = exc.response if isinstance(exc.response, dict) else {}
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if status == 429 or error_code(exc) in _THROTTLED:
            return errors.SsoThrottled(endpoint=endpoint)
        if status >= 500:
            return errors.SsoServerError(endpoint=endpoint, status=status)
        return None
    if isinstance(exc, (bx.ReadTimeoutError, bx.ConnectTimeoutError)):
        return errors.SsoTimeout(**timeout)
    if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectionError, bx.HTTPClientError)):
        return errors.SsoUnreachable(endpoint=endpoint)
    if isinstance(exc, (ResponseParserError, ValueError, KeyError, TypeError, IndexError, OverflowError)):
        reason = _("it is not the JSON it should be")
        return errors.SsoMalformedAnswer(endpoint=endpoint, reason=reason)
    if isinstance(exc, RecursionError):
        reason = _("it is nested too deeply")
        return errors.SsoMalformedAnswer(endpoint=endpoint, reason=reason)
    return None


@contextlib.contextmanager
def plain_errors(client: Any, refused: Callable[[str], errors.TrayappError]) -> Iterator[None]:
    """Calls to *client* inside end in a sentence: :func:`failure`'s, else ``refused(code)``."""
    try:
        yield
    except errors.TrayappError:
        raise
    except Exception as exc:
        said = failure(exc, endpoint_of(client))
        if said is None and not error_code(exc):
            raise  # not the service's answer: a bug of trayapp's, shown as one
        from trayapp.core.logfile import FILE_ONLY

        # The cause, for a developer: the log file only (the person is told the sentence below).
        log.warning("a call to %s failed", endpoint_of(client), exc_info=True, extra=FILE_ONLY)
        raise (said or refused(error_code(exc))) from None
