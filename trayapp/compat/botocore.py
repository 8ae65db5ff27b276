"""botocore's insides trayapp relies on: the reader of the AWS files, a client's sender (botocore<1.45).

botocore reads ``~/.aws/config`` and ``~/.aws/credentials`` with
``botocore.configloader.raw_config_parse``, looked up in its module at each call (by
``Session.full_config``, ``configloader.load_config`` and the shared-credentials provider,
which the session builds without an ``ini_parser``).  botocore offers no seam to give a
session another reader: neither ``Session`` nor ``register_initializer``/``register_component``
reach the file reading (checked on botocore 1.44).  So the reader is replaced in that module,
once, on purpose, by the process at start-up (``trayapp.cli.main``: the tray and the command
line's full path), with :func:`install_config_reader`; a process that never calls it reads as
botocore does, only slower.  ``tests/test_compat.py`` checks that botocore still looks the
reader up at each call, so a change upstream fails in CI instead of silently reading twice.

botocore also reads every answer's body whole before any event or parser sees it, and has no limit
on its size.  :func:`http_sender` hands out the function a client sends its requests with (its
endpoint's HTTP session, with the client's proxies, CA bundle and timeouts), so ``core/sso_wire.py``
can send from botocore's ``before-send`` event and read the body with a bound.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from trayapp.compat import Private

_NO_SEAM = "no upstream issue found (botocore offers no way to give a session its own INI reader)"
_WHY = "the fast reading of the AWS files (core/ini.py) replaces it: botocore must look it up at each call"

PRIVATE: tuple[Private, ...] = (
    Private("botocore.configloader", "raw_config_parse", "attr", _WHY, _NO_SEAM),
    Private("botocore.configloader", "load_config", "reads", _WHY, _NO_SEAM, ("raw_config_parse",)),
    *(
        Private(module, "botocore.configloader.raw_config_parse", "uses", _WHY, _NO_SEAM)
        for module in ("botocore.session", "botocore.credentials")
    ),
    Private(
        "botocore.client",
        "BaseClient._endpoint",
        "self",
        "an answer of IAM Identity Center is read with a size limit (core/sso_wire.py): botocore reads every "
        "body whole before any event sees it, so the request is sent with the endpoint's own HTTP session",
        "no upstream issue found (botocore has no limit on the size of a response body)",
    ),
)

Reader = Callable[..., dict[str, Any]]

_lock = threading.Lock()
_original: Reader | None = None


def install_config_reader(reader: Reader) -> None:
    """Make botocore's sessions and credential providers read the AWS files with *reader*
    (same arguments, result and errors as ``raw_config_parse``).  Once per process: a second
    call changes nothing."""
    global _original
    from botocore import configloader

    with _lock:
        if _original is None:
            _original = configloader.raw_config_parse
            configloader.raw_config_parse = reader


def original_config_reader() -> Reader:
    """botocore's own ``raw_config_parse``, whether or not another is installed."""
    if _original is not None:
        return _original
    from botocore import configloader

    reader: Reader = configloader.raw_config_parse
    return reader


def restore_config_reader() -> None:
    """Put botocore's own reader back (for tests that install one and must leave no trace)."""
    global _original
    from botocore import configloader

    with _lock:
        if _original is not None:
            configloader.raw_config_parse = _original
            _original = None


def http_sender(client: Any) -> Callable[[Any], Any]:
    """The function *client* sends its prepared requests with (its endpoint's HTTP session, set up
    with the client's proxies, CA bundle and timeouts); it returns botocore's ``AWSResponse``,
    whose body is left unread when the request's ``stream_output`` is true."""
    send: Callable[[Any], Any] = client._endpoint.http_session.send
    return send
