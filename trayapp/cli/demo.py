"""``trayapp demo``: the whole flow without an AWS account.

:func:`start_sts` runs moto's server (the ``demo`` extra: ``pipx install 'aws-session-tray[demo]'``)
on 127.0.0.1 as a child process; :func:`prepare_demo` writes a throwaway AWS config
with a few role profiles and fake source keys; :func:`demo_session` points this process
at both and starts the tray.  moto accepts any six-digit MFA code.  Nothing outside
the throwaway folder is written, and the real ``~/.aws`` is never read.

``--dir`` never overwrites AWS files the demo did not make: a folder whose ``.aws``
holds a config or credentials file is refused unless the demo's own marker file is
there and both files still start with the demo's header.  Quit, Ctrl-C (SIGINT) and
SIGTERM all end the demo the same way: the STS stand-in is stopped and the
throwaway folder, with its fake and session keys, is removed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trayapp.core.errors import TrayappError

ACCOUNT = "123456789012"
#: Profiles a newcomer can try: one per kind the tray treats differently.
PROFILES = {
    "demo-admin": "needs an MFA code",
    "demo-readonly": "no MFA",
    "demo-deploy": "chained: assumed with demo-admin's session",
    "demo-partner": "another account, external ID, 30-minute sessions",
}
CONFIG = f"""\
# trayapp demo: role profiles against a local STS stand-in (moto).  Any 6-digit code works.
[default]
region = us-east-1

[profile demo-user]
region = us-east-1

[profile demo-admin]
role_arn = arn:aws:iam::{ACCOUNT}:role/DemoAdmin
source_profile = demo-user
mfa_serial = arn:aws:iam::{ACCOUNT}:mfa/demo-user
region = us-east-1

[profile demo-readonly]
role_arn = arn:aws:iam::{ACCOUNT}:role/DemoReadOnly
source_profile = demo-user
region = us-east-1

[profile demo-deploy]
role_arn = arn:aws:iam::{ACCOUNT}:role/DemoDeploy
source_profile = demo-admin
role_session_name = demo-deploy
region = eu-west-1

[profile demo-partner]
role_arn = arn:aws:iam::210987654321:role/DemoPartner
source_profile = demo-user
mfa_serial = arn:aws:iam::{ACCOUNT}:mfa/demo-user
external_id = demo-external-id
duration_seconds = 1800
region = eu-central-1
"""
#: Fake keys in the shape of AWS's documentation examples; moto accepts anything.
CREDENTIALS = """\
# trayapp demo: fake source keys for the local STS stand-in.
[demo-user]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
"""

#: Variables that would point the demo at the user's real AWS set-up.
_OVERRIDDEN = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ENDPOINT_URL_STS",
    "AWS_EC2_METADATA_DISABLED",
)
START_TIMEOUT = 30.0


#: Written by the demo beside its files: a folder holding it may be written again.
MARKER = ".trayapp-demo"
#: The first words of both demo files.
HEADER = "# trayapp demo:"


class DemoUnavailable(TrayappError):
    template = "The demo can't start: {reason}"


class DemoFolderInUse(TrayappError):
    exit_code = 2
    template = (
        "The demo won't write into {folder}: its .aws folder holds AWS files the demo did not make "
        "({names}); choose another folder, or run trayapp demo without --dir."
    )


# --- the STS stand-in ---------------------------------------------------------------------

#: The child ends itself when its standard input closes, so it can't outlive the applet
#: even when the applet is killed.
_CHILD = (
    "import os, sys, threading\n"
    "threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()\n"
    "from moto.server import main\n"
    "main(sys.argv[1:])\n"
)


@dataclass
class LocalSts:
    """moto's server on loopback; ``url`` is the endpoint for ``AWS_ENDPOINT_URL_STS``."""

    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()


def moto_available() -> bool:
    return importlib.util.find_spec("moto") is not None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_sts(python: str = sys.executable, timeout: float = START_TIMEOUT) -> LocalSts:
    """Start moto's server on 127.0.0.1 on a free port; returns when it accepts connections."""
    if getattr(sys, "frozen", False) or not moto_available():
        raise DemoUnavailable(
            reason="it needs moto; install trayapp with the demo extra: pipx install 'aws-session-tray[demo]'."
        )
    port = free_port()
    process = subprocess.Popen(
        # -P -E: not the current folder nor PYTHON* variables (a planted moto/ would run as you).
        [python, "-P", "-E", "-c", _CHILD, "-H", "127.0.0.1", "-p", str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        close_fds=True,
    )
    sts = LocalSts(url=f"http://127.0.0.1:{port}", process=process)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise DemoUnavailable(reason=f"the local STS stand-in exited with status {process.returncode}.")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return sts
        if time.monotonic() > deadline:
            sts.stop()
            raise DemoUnavailable(reason=f"the local STS stand-in did not answer within {timeout:.0f} s.")
        time.sleep(0.1)


# --- the throwaway AWS set-up -------------------------------------------------------------


def check_folder(folder: Path) -> None:
    """Raise :class:`DemoFolderInUse` unless the demo may write ``.aws/`` under *folder*: no
    config or credentials file there, or only the ones an earlier demo wrote."""
    aws = folder / ".aws"
    names = [name for name in ("config", "credentials") if os.path.lexists(aws / name)]
    if not names:
        return
    if (aws / MARKER).is_file() and all(_starts_with_header(aws / name) for name in names):
        return
    raise DemoFolderInUse(folder=str(folder), names=", ".join(f".aws/{name}" for name in names))


def _starts_with_header(path: Path) -> bool:
    if path.is_symlink() or not path.is_file():
        return False
    try:
        with path.open("rb") as f:
            return f.read(len(HEADER)) == HEADER.encode()
    except OSError:
        return False


def prepare_demo(folder: Path, sts_url: str | None = None) -> dict[str, str]:
    """Write ``.aws/config`` and ``.aws/credentials`` under *folder* (refused with
    :class:`DemoFolderInUse` when they would replace someone else's); return the
    environment variables that point botocore (and trayapp) at them and at *sts_url*."""
    check_folder(folder)
    aws = folder / ".aws"
    aws.mkdir(mode=0o700, parents=True, exist_ok=True)
    (aws / MARKER).write_text("Written by trayapp demo: this folder's AWS files are throwaway demo files.\n")
    config, credentials = aws / "config", aws / "credentials"
    config.write_text(CONFIG, encoding="utf-8")
    credentials.write_text(CREDENTIALS, encoding="utf-8")
    credentials.chmod(0o600)
    env = {
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    if sts_url:
        env["AWS_ENDPOINT_URL_STS"] = sts_url
    return env


@contextlib.contextmanager
def environment(env: Mapping[str, str], target: MutableMapping[str, str] | None = None) -> Iterator[None]:
    """Set *env* in *target* (``os.environ``) without the user's AWS variables; restore after."""
    if target is None:
        target = os.environ
    saved = {k: target.get(k) for k in (*_OVERRIDDEN, *env)}
    try:
        for key in _OVERRIDDEN:
            target.pop(key, None)
        target.update(env)
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                target.pop(key, None)
            else:
                target[key] = value


def banner(env: Mapping[str, str], keep: bool = False) -> str:
    lines = ["trayapp demo: a local STS stand-in and these role profiles (any 6-digit MFA code works):"]
    lines += [f"  {name:<14} {what}" for name, what in PROFILES.items()]
    lines.append("Use a session from another shell with:")
    lines += [f"  export {k}={v}" for k, v in env.items() if k.startswith("AWS_")]
    lines.append("  aws sts get-caller-identity --profile demo-admin-session")
    lines.append("Quit the tray to end the demo" + ("." if keep else "; its files are removed then."))
    return "\n".join(lines)


def say_now(text: str) -> None:
    """Print *text* and flush: the banner's export lines are used while the tray runs, so they
    must reach a pipe (``trayapp demo | tee``, a script reading them) at once, not when the demo
    ends.  Only ``PYTHONUNBUFFERED`` did that before, and a plain Debian shell does not set it."""
    print(text, flush=True)


def _interrupted(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def demo_session(
    *,
    folder: Path | None = None,
    say: Callable[[str], None] = say_now,
    on_forced_exit: Callable[[Callable[[], None]], Callable[[], None]] | None = None,
) -> Iterator[dict[str, str]]:
    """Start the STS stand-in, write the demo profiles and point this process at them for the
    duration of the block; then stop the stand-in and remove the files (kept when *folder* is given).

    SIGTERM inside the block ends it like Ctrl-C.  *on_forced_exit* registers the clean-up with
    whatever may end the process abruptly (the tray's watchdog), so it runs then too."""
    if folder is not None:
        check_folder(folder)  # before anything is started or written
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _interrupted)
    sts: LocalSts | None = None
    temp: Path | None = None
    done = threading.Lock()

    def clean_up() -> None:
        if not done.acquire(blocking=False):
            return
        if sts is not None:
            sts.stop()
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)

    forget_hook = on_forced_exit(clean_up) if on_forced_exit is not None else (lambda: None)
    try:
        sts = start_sts()
        temp = None if folder is not None else Path(tempfile.mkdtemp(prefix="trayapp-demo-"))
        where = folder if folder is not None else temp
        assert where is not None
        env = prepare_demo(where, sts.url)
        say(banner(env, keep=temp is None))
        with environment(env):
            yield env
    finally:
        forget_hook()
        clean_up()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def tray_refusal(environ: MutableMapping[str, str] | None = None) -> str | None:
    """Why the tray can't start here (no display, no usable backend), as the sentence to show — asked
    before anything is started or written, so no export lines are printed for files that the same
    command then removes."""
    from trayapp.core.prompts import has_display
    from trayapp.i18n import _
    from trayapp.tray import backend

    env = os.environ if environ is None else environ
    if env.get("PYSTRAY_BACKEND") != "dummy" and not has_display(env):
        return _(
            "trayapp demo shows the tray icon and there is no display here (DISPLAY is not set); "
            "nothing was started: run it inside your desktop session."
        )
    return backend.choose_backend(env)


def run_demo(start_tray: Callable[[], int], *, folder: Path | None = None, say: Callable[[str], None] = say_now) -> int:
    """*start_tray* inside a :func:`demo_session`; its exit status."""
    with demo_session(folder=folder, say=say):
        return start_tray()
