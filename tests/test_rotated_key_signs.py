"""Issue 29: a key rotated while the tray runs is the key its next AssumeRole signs with.

The tray's engine (a resident :class:`Service`, as tray/app.py makes it) holds a source's keys from
the real gnome-keyring; the rotation runs against moto's IAM, either as ``trayapp keys rotate`` in
another process or as the tray's own Rotate (the same ``Keys.rotate``, in the tray's process).  STS is
the recording stand-in (tests/support/sts.py), which keeps the access key id of every request: that
proves which key signed.  Before, the keys were held until the AWS files' stamps changed, and a
rotation changes no file: the assume signed with the key IAM had just deleted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fixtures import Desktop, MotoServer, aws_env, require_tools
from tests.support.sts import FaultSts, iam_client, iam_user
from trayapp.core.prompts import SilentPrompt
from trayapp.core.service import Service

pytestmark = pytest.mark.desktop
REPO_ROOT = Path(__file__).resolve().parents[1]
ROLE = "arn:aws:iam::123456789012:role/Admin"


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


def _signed_by(sts: FaultSts) -> str | None:
    return sts.requests_for("AssumeRole")[-1].access_key


@pytest.mark.parametrize("where", ["trayapp keys rotate", "the tray's Rotate"])
def test_after_a_rotation_in_a_running_tray_the_next_assume_signs_with_the_new_key(
    where: str, moto: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    require_tools("Xvfb", "dbus-daemon", "gnome-keyring-daemon")
    user, old_key, old_secret = iam_user(moto)
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True, mode=0o700)
    (home / ".aws" / "config").write_text(f"[profile prod]\nrole_arn = {ROLE}\nsource_profile = ci\n")
    (home / ".aws" / "credentials").write_text(
        f"[ci]\naws_access_key_id = {old_key}\naws_secret_access_key = {old_secret}\n"
    )
    with FaultSts() as sts, Desktop(notifications=False, tray=False, keyring=True) as desktop:
        env = aws_env(home, sts.url, base=desktop.env, AWS_ENDPOINT_URL_IAM=moto.url, PYTHONPATH=str(REPO_ROOT))
        env.pop("PYTHON_KEYRING_BACKEND", None)
        for name, value in env.items():  # the tray's process: these files, this keyring, this STS
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
        import keyring.core

        previous = keyring.get_keyring()  # an earlier test in this process may have chosen another
        keyring.core.init_backend()  # this desktop's gnome-keyring, found as the tray finds it
        request.addfinalizer(lambda: keyring.set_keyring(previous))

        def trayapp(*args: str) -> subprocess.CompletedProcess[str]:
            done = subprocess.run([sys.executable, "-m", "trayapp", *args], env=env, capture_output=True,
                                  text=True, timeout=120)  # fmt: skip
            assert done.returncode == 0, done.stderr
            return done

        trayapp("keys", "import", "ci")  # the keys live in the keyring now, not in a file
        engine = Service(environ=env, mfa_sessions=True, resident=True)  # the running tray's
        engine.assume("prod", SilentPrompt())
        assert _signed_by(sts) == old_key

        if where == "trayapp keys rotate":
            trayapp("keys", "rotate", "ci")
        else:
            from trayapp.core.keys import Keys

            Keys(environ=env).rotate("ci")  # what the tray's Rotate runs, on its worker
        (new_key,) = [k["AccessKeyId"] for k in iam_client(moto).list_access_keys(UserName=user)["AccessKeyMetadata"]]
        assert new_key != old_key  # IAM holds the new key alone: the old one is deleted
        listed = json.loads(trayapp("keys", "list", "--json").stdout)
        shown = next(row for row in listed if row["source"] == "ci")["access_key_id"]
        assert shown == f"{new_key[:4]}…{new_key[-4:]}"  # and the keyring holds it

        engine.assume("prod", SilentPrompt())

    assert _signed_by(sts) == new_key
