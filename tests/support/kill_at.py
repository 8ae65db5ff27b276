"""``python -m tests.support.kill_at STEP ARGS…``: ``trayapp ARGS…`` that SIGKILLs itself when a
key rotation reaches STEP (:func:`trayapp.core.key_aws.reached`): a crash at that very point,
injected from here so the production code carries no test hook."""

from __future__ import annotations

import os
import signal
import sys

from trayapp.core import key_aws


def main() -> int:
    wanted, args = sys.argv[1], sys.argv[2:]

    def reached(step: str) -> None:
        if step == wanted:
            os.kill(os.getpid(), signal.SIGKILL)

    key_aws.reached = reached
    from trayapp.cli import main as trayapp

    return trayapp(args)


if __name__ == "__main__":
    sys.exit(main())
