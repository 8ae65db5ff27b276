"""Test harness for trayapp's end-to-end tests: real processes, started and stopped per test.

Modules (stdlib-only at import time, so ``python -m tests.support.notify_server`` stays fast):

``desktop``        ``Desktop``: Xvfb + private session bus + notification recorder + trayer
                   (+ gnome-keyring), with X/xdotool helpers.
``notify_server``  the recording ``org.freedesktop.Notifications`` server (jeepney);
                   ``org.trayapp.Test.Invoke(u id, s key)`` makes it emit ``ActionInvoked``.
``sts``            ``MotoServer`` (moto's STS over HTTP) and ``FaultSts`` (programmable STS errors).
``procs``          process/timeout helpers, ``HarnessError``, ``free_port()``, ``refused_url()``.
``fixtures``       pytest fixtures (``moto_sts``, ``fault_sts``, ``desktop``, ``desktop_keyring``,
                   ``aws_home``) and ``aws_env()``; star-import it from ``tests/conftest.py``.

Every start is bounded (``procs.START_TIMEOUT`` = 10 s) and fails with ``HarnessError`` naming
what it waited for plus the tail of that process's log; every process is stopped by PID.
"""
