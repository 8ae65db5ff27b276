"""Long-term keys in the OS keyring: import, list, export, remove, rotate (issue 12).

Real parts: gnome-keyring's Secret Service on a private bus, moto's IAM and STS on
loopback, the real ``aws`` CLI running the credential_process line trayapp writes.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.fixtures import Desktop, MotoServer, aws_env, require_tools
from tests.support.planted import needs_second_uid, planted_folder, scriptless_python
from trayapp.core.credentials_file import CredentialsFile
from trayapp.core.errors import CredentialsFileError, UnparsableFile

REPO_ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
AWS = str(Path(sys.executable).parent / "aws")

# --- the careful edit of the user's own section ------------------------------------------------

KEYS = ("aws_access_key_id", "aws_secret_access_key")


def edit(tmp_path: Path, original: bytes, section: str, **kwargs: Any) -> bytes:
    folder = tmp_path / "aws"
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / "credentials"
    path.write_bytes(original)
    path.chmod(0o600)
    CredentialsFile(path).edit_keys(section, **kwargs)
    return path.read_bytes()


@pytest.mark.parametrize(
    ("original", "without"),
    [
        (
            b"# my keys\n[me]\naws_access_key_id = AKIAOLD\n; why\naws_secret_access_key = s3cr3t\n"
            b"region = x\n\n[b]\nk = v\n",
            b"# my keys\n[me]\n; why\nregion = x\n\n[b]\nk = v\n",
        ),
        (
            b"[a]\r\nk = v\r\n[me]\r\nAWS_ACCESS_KEY_ID=AKIAOLD\r\naws_secret_access_key = s3cr3t",
            b"[a]\r\nk = v\r\n[me]",
        ),
    ],
    ids=["comments-and-neighbours", "crlf-no-final-newline"],
)
def test_only_the_two_key_lines_go_and_export_puts_them_back(tmp_path: Path, original: bytes, without: bytes) -> None:
    assert edit(tmp_path, original, "me", remove=KEYS) == without
    back = edit(tmp_path, without, "me", add={"aws_access_key_id": "AKIAOLD", "aws_secret_access_key": "s3cr3t"})
    assert b"[me]" + (b"\r\n" if b"\r\n" in original else b"\n") + b"aws_access_key_id = AKIAOLD" in back
    assert CredentialsFile(tmp_path / "aws" / "credentials").read_sections()["me"]["aws_secret_access_key"] == "s3cr3t"
    # everything else byte for byte: taking the two lines out again gives the same file
    assert edit(tmp_path, back, "me", remove=KEYS) == without


@pytest.mark.parametrize(
    ("original", "error"),
    [
        (b"[me]\naws_access_key_id = A\n  swallowed = line\naws_secret_access_key = B\n", CredentialsFileError),
        (b"[me]\naws_access_key_id = A\n[me]\naws_secret_access_key = B\n", UnparsableFile),
        (b"[me]\ntrayapp_managed = 1\naws_access_key_id = A\n", CredentialsFileError),
    ],
    ids=["continued-value", "section-twice", "trayapp-session"],
)
def test_an_odd_section_is_refused_and_the_file_untouched(tmp_path: Path, original: bytes, error: type) -> None:
    with pytest.raises(error) as caught:
        edit(tmp_path, original, "me", remove=KEYS)
    assert (tmp_path / "aws" / "credentials").read_bytes() == original
    assert "= A" not in str(caught.value) and "= B" not in str(caught.value)  # no line quoted


# --- against the real keyring, moto's IAM and STS, the aws CLI ----------------------------------


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture
def keyring_desktop() -> Iterator[Desktop]:
    require_tools("Xvfb", "dbus-daemon", "gnome-keyring-daemon")
    with Desktop(notifications=False, tray=False, keyring=True) as d:
        yield d


def iam(moto: MotoServer, key_id: str = "AKIAADMINADMINADMIN0", secret: str = "admin") -> Any:
    import boto3

    return boto3.client(
        "iam",
        region_name="us-east-1",
        endpoint_url=moto.url,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )


class User:
    """A fresh IAM user in moto with one access key, and a HOME whose [me] holds it."""

    def __init__(self, moto: MotoServer, desktop: Desktop, home: Path) -> None:
        self.moto, self.home = moto, home
        self.name = f"alice-{uuid.uuid4().hex[:8]}"
        admin = iam(moto)
        admin.create_user(UserName=self.name)
        key = admin.create_access_key(UserName=self.name)["AccessKey"]
        self.key_id, self.secret = key["AccessKeyId"], key["SecretAccessKey"]
        self.arn = f"arn:aws:iam::123456789012:user/{self.name}"
        (home / ".aws").mkdir(parents=True, mode=0o700)
        self.credentials = home / ".aws" / "credentials"
        self.config = home / ".aws" / "config"
        self.original = (
            "# my keys\n[me]\n"
            f"aws_access_key_id = {self.key_id}\naws_secret_access_key = {self.secret}\n"
            "region = eu-west-1\n\n[other-tool]\naws_access_key_id = AKIAOTHEROTHEROTHER0\n"
            "aws_secret_access_key = other\n"
        ).encode()
        self.credentials.write_bytes(self.original)
        self.credentials.chmod(0o600)
        self.config.write_text(
            "[profile prod]\nrole_arn = arn:aws:iam::123456789012:role/Admin\nsource_profile = me\n"
            "mfa_serial = arn:aws:iam::123456789012:mfa/alice\nregion = eu-west-1\n"
        )
        self.env = aws_env(home, moto.url, base=desktop.env, AWS_ENDPOINT_URL_IAM=moto.url)
        self.env.pop("PYTHON_KEYRING_BACKEND", None)
        self.env["PYTHONPATH"] = str(REPO_ROOT)

    def trayapp(
        self, *args: str, python: str = PYTHON, module: tuple[str, ...] = ("trayapp",), **extra: str
    ) -> subprocess.CompletedProcess[str]:
        """``trayapp ARGS`` (or *module*'s wrapper of it, such as tests.support.kill_at's)."""
        return subprocess.run(
            [python, "-m", *module, *args],
            env={**self.env, **extra},
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def aws_identity(self, cwd: Path | None = None, **extra: str) -> str:
        done = subprocess.run(
            [AWS, "sts", "get-caller-identity", "--profile", "me", "--output", "json"],
            env={**self.env, **extra},
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return str(json.loads(done.stdout)["Arn"])

    def stored(self) -> dict[str, Any] | None:
        code = (
            "import keyring, sys; from keyring.backends import SecretService;"
            "keyring.set_keyring(SecretService.Keyring());"
            "sys.stdout.write(keyring.get_password('trayapp', 'keys/me') or 'null')"
        )
        done = subprocess.run([PYTHON, "-c", code], env=self.env, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        value: dict[str, Any] | None = json.loads(done.stdout)
        return value

    def iam_keys(self) -> list[str]:
        listed = iam(self.moto).list_access_keys(UserName=self.name)["AccessKeyMetadata"]
        return [k["AccessKeyId"] for k in listed]

    def secret_on_disk(self, secret: str) -> list[Path]:
        return [p for p in self.home.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


@pytest.fixture
def user(moto: MotoServer, keyring_desktop: Desktop, tmp_path: Path) -> User:
    return User(moto, keyring_desktop, tmp_path / "home")


@pytest.mark.desktop
def test_import_assume_rotate_assume_with_the_keys_only_in_the_keyring(user: User) -> None:
    done = user.trayapp("keys", "import", "me")
    assert done.returncode == 0, done.stderr
    short = f"{user.key_id[:4]}…{user.key_id[-4:]}"
    assert short in done.stdout
    # the file lost exactly the two lines, nothing else
    expected = user.original.replace(
        f"aws_access_key_id = {user.key_id}\naws_secret_access_key = {user.secret}\n".encode(), b""
    )
    assert user.credentials.read_bytes() == expected
    assert user.secret_on_disk(user.secret) == []
    assert "keys serve me" in user.config.read_text()
    # other tools: the real aws CLI runs the credential_process line
    assert user.aws_identity() == user.arn
    listed = json.loads(user.trayapp("keys", "list", "--json").stdout)
    mine = next(row for row in listed if row["source"] == "me")
    assert (mine["where"], mine["access_key_id"], mine["age_days"]) == ("keyring", short, 0)
    assert next(row for row in listed if row["source"] == "other-tool")["where"] == "file"
    # trayapp itself signs AssumeRole with the keyring's key
    done = user.trayapp("assume", "prod", "--code", "123456")
    assert done.returncode == 0, done.stderr
    # rotate: a new key stored, the old one deleted in IAM, other tools follow
    done = user.trayapp("keys", "rotate", "me")
    assert done.returncode == 0, done.stderr
    stored = user.stored()
    assert stored is not None
    assert stored["access_key_id"] != user.key_id
    assert user.iam_keys() == [stored["access_key_id"]]
    assert user.aws_identity() == user.arn
    done = user.trayapp("assume", "prod", "--code", "654321")
    assert done.returncode == 0, done.stderr
    assert user.secret_on_disk(stored["secret_access_key"]) == []
    assert user.secret_on_disk(user.secret) == []
    # and the way out
    done = user.trayapp("keys", "export", "me")
    assert done.returncode == 0, done.stderr
    assert user.stored() is None
    assert "keys serve" not in user.config.read_text()
    assert f"aws_access_key_id = {stored['access_key_id']}" in user.credentials.read_text()
    assert user.aws_identity() == user.arn


def bridge_line(user: User) -> str:
    return str(CredentialsFile(user.config).read_sections()["profile me"]["credential_process"])


@pytest.mark.desktop
@needs_second_uid
def test_the_bridge_line_runs_this_trayapp_from_any_folder_the_aws_cli_is_in(user: User, tmp_path: Path) -> None:
    """``python -m trayapp keys import`` with no trayapp script beside Python (``pip install --user``):
    the line written, run by the real ``aws`` CLI in a shared folder where another uid left a
    ``trayapp/__main__.py`` (and with ``PYTHONPATH`` naming it), still serves the keyring's key.
    (It was ``python -m trayapp keys serve me``: the planted module answered instead.)  A line an
    older trayapp wrote is made safe by importing again."""
    python = str(scriptless_python(tmp_path))
    done = user.trayapp("keys", "import", "me", python=python)
    assert done.returncode == 0, done.stderr
    line = bridge_line(user)
    with planted_folder() as planted:
        assert user.aws_identity(cwd=planted.folder, PYTHONPATH=str(planted.folder)) == user.arn
        assert planted.ran() == []
    assert shlex.split(line)[:2] == [python, "-I"] and line.endswith(" trayapp keys serve me")
    user.config.write_text(user.config.read_text().replace(line, f"{python} -m trayapp keys serve me"))
    done = user.trayapp("keys", "import", "me", python=python)
    assert done.returncode == 0, done.stderr
    assert bridge_line(user) == line


@pytest.mark.desktop
def test_two_keys_already_is_one_sentence_and_nothing_changes(user: User) -> None:
    assert user.trayapp("keys", "import", "me").returncode == 0
    extra = iam(user.moto).create_access_key(UserName=user.name)["AccessKey"]["AccessKeyId"]
    done = user.trayapp("keys", "rotate", "me")
    assert done.returncode == 1
    assert "already has two access keys" in done.stderr and "IAM allows two" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert sorted(user.iam_keys()) == sorted([user.key_id, extra])
    stored = user.stored()
    assert stored is not None and stored["access_key_id"] == user.key_id


STEPS = ["marked", "created", "pending", "verified", "stored", "deleted"]


@pytest.mark.desktop
@pytest.mark.parametrize("step", STEPS)
def test_a_rotation_killed_at_each_step_keeps_a_working_key_and_the_next_one_finishes(user: User, step: str) -> None:
    assert user.trayapp("keys", "import", "me").returncode == 0
    done = user.trayapp("keys", "rotate", "me", module=("tests.support.kill_at", step))
    assert done.returncode == -9, done.stderr
    stored = user.stored()
    assert stored is not None
    alive = user.iam_keys()
    # at least one working key stored, never a deleted one
    assert stored["access_key_id"] in alive
    assert stored.get("pending") is None or stored["pending"]["access_key_id"] in alive
    assert user.aws_identity() == user.arn
    done = user.trayapp("keys", "rotate", "me")
    assert done.returncode == 0, done.stderr
    stored = user.stored()
    assert stored is not None
    assert user.iam_keys() == [stored["access_key_id"]]
    assert set(stored) == {"access_key_id", "secret_access_key", "created"}
    assert user.aws_identity() == user.arn


@pytest.mark.integration
def test_without_a_keyring_import_refuses_and_nothing_moves(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True, mode=0o700)
    original = b"[me]\naws_access_key_id = AKIAEXAMPLEEXAMPLE00\naws_secret_access_key = s3cr3t\n"
    (home / ".aws" / "credentials").write_bytes(original)
    env = aws_env(home, "http://127.0.0.1:9")
    for name in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY"):
        env.pop(name, None)
    for backend in ("keyring.backends.fail.Keyring", None):
        if backend:
            env["PYTHON_KEYRING_BACKEND"] = backend
        else:
            env.pop("PYTHON_KEYRING_BACKEND", None)
        done = subprocess.run(
            [PYTHON, "-m", "trayapp", "keys", "import", "me"],
            env={**env, "PYTHONPATH": str(REPO_ROOT)},
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1
        assert done.stderr.startswith("trayapp: No usable OS keyring was found")
        assert "s3cr3t" not in done.stderr and "Traceback" not in done.stderr
        assert (home / ".aws" / "credentials").read_bytes() == original
        assert not (home / ".aws" / "config").exists()
        assert sorted(p.name for p in home.rglob("*") if p.is_file()) == ["credentials"]
