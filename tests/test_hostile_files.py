"""The credentials file against another local user and against odd files (issue 10).

Tests run as root here; the other user is a real second uid (``setpriv``), who
plants files and symbolic links the way an attacker on the same machine would.
The user trayapp runs for is root in most tests (root and the user are the
trusted owners) and uid 65534 with its own HOME in one, where the attacker is
uid 65533.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.fixtures import aws_env
from trayapp.core.credentials_file import CredentialsFile, NotRegularFile, read_regular_file
from trayapp.core.errors import FileAccessError

ROOT = Path(__file__).resolve().parents[1]
OTHER, THIRD = 65534, 65533
VALUES = {
    "aws_access_key_id": "ASIAEXAMPLEKEY",
    "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "aws_session_token": "FwoGZXIvYXdzEXAMPLEtoken",
}
USER_FILE = b"[base]\naws_access_key_id = AKIAUSER\naws_secret_access_key = user-secret\n"
GITCONFIG = b"[user]\n\tname = Alice\n\temail = alice@example.com\n"

needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv to act as a second local user",
)


def as_user(uid: int, *command: str) -> None:
    """Run *command* as another local user (a real second uid)."""
    subprocess.run(
        ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", *command],
        check=True,
        capture_output=True,
        timeout=30,
    )


def snapshot(top: Path) -> dict[str, tuple[int, bytes | str]]:
    """Every entry under *top*: mode and content (or link target)."""
    seen: dict[str, tuple[int, bytes | str]] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in [*dirnames, *filenames]:
            entry = Path(dirpath, name)
            st = entry.lstat()
            if stat.S_ISLNK(st.st_mode):
                seen[str(entry)] = (st.st_mode, os.readlink(entry))
            elif stat.S_ISREG(st.st_mode):
                seen[str(entry)] = (st.st_mode, entry.read_bytes())
            else:
                seen[str(entry)] = (st.st_mode, "")
    return seen


@pytest.fixture
def home() -> Iterator[Path]:
    """A home another user can walk into (pytest's tmp_path is private to root): ~/.aws 0700."""
    top = Path(tempfile.mkdtemp(prefix="trayapp-hostile-"))
    top.chmod(0o755)
    home = top / "home"
    home.mkdir(mode=0o755)
    (home / ".aws").mkdir(mode=0o700)
    (home / ".aws" / "credentials").write_bytes(USER_FILE)
    (home / ".aws" / "credentials").chmod(0o600)
    (home / ".gitconfig").write_bytes(GITCONFIG)
    (home / ".gitconfig").chmod(0o644)
    try:
        yield home
    finally:
        shutil.rmtree(top)


def plant_symlink(home: Path, target: str, uid: int = OTHER) -> None:
    """The other user replaces ~/.aws/credentials by their own symbolic link while ~/.aws is open to all."""
    aws = home / ".aws"
    aws.chmod(0o777)
    as_user(uid, "rm", "-f", str(aws / "credentials"))
    as_user(uid, "ln", "-s", target, str(aws / "credentials"))


# --- row: a folder others can write into, a symbolic link or file of another user ----------------


@needs_root
def test_world_writable_aws_with_a_foreign_link_to_gitconfig_is_refused_by_the_cli(moto_sts: Any, home: Path) -> None:
    (home / ".aws" / "config").write_text(
        "[profile ops]\nrole_arn = arn:aws:iam::222222222222:role/Ops\ncredential_source = Environment\n"
    )
    plant_symlink(home, "../.gitconfig")
    before = snapshot(home)
    run = home.parent / "run"
    run.mkdir(mode=0o700)
    env = aws_env(
        home,
        moto_sts.url,
        XDG_RUNTIME_DIR=str(run),
        AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMIEXAMPLEKEY",
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    result = subprocess.run(
        [sys.executable, "-m", "trayapp", "assume", "ops"], env=env, capture_output=True, text=True, timeout=60
    )
    aws = home / ".aws"
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr == (
        f"trayapp: The credentials file {aws / 'credentials'} can't be written: other users can write into "
        f"the folder {aws}; run chmod go-w {aws}.\n"
    )
    assert "Tightened" not in result.stdout
    assert snapshot(home) == before  # .gitconfig untouched; nothing written anywhere
    assert (home / ".gitconfig").read_bytes() == GITCONFIG


@needs_root
@pytest.mark.parametrize(
    ("arrange", "reason"),
    [
        pytest.param(
            lambda h: (h / ".aws").chmod(0o777),
            "other users can write into the folder {aws}; run chmod go-w {aws}",
            id="aws-0777",
        ),
        pytest.param(
            lambda h: (h / ".aws").chmod(0o1777),
            "other users can create files in its folder {aws}; keep the credentials file in a folder of your own",
            id="aws-sticky",
        ),
        pytest.param(
            lambda h: (os.chown(h / ".aws", -1, OTHER), (h / ".aws").chmod(0o770)),
            "other users can write into the folder {aws}; run chmod go-w {aws}",
            id="aws-group-nogroup",
        ),
        pytest.param(
            lambda h: os.chmod(h, 0o777),
            "other users can write into the folder {home}; run chmod go-w {home}",
            id="home-0777",
        ),
        pytest.param(
            lambda h: os.chown(h / ".aws", OTHER, -1),
            "the folder {aws} belongs to another user (uid 65534)",
            id="aws-of-another-user",
        ),
    ],
)
def test_folders_others_can_write_are_refused(home: Path, arrange: Any, reason: str) -> None:
    arrange(home)
    before = snapshot(home)
    path = home / ".aws" / "credentials"
    with pytest.raises(FileAccessError) as refused:
        CredentialsFile(path).write_section("prod-session", VALUES)
    aws = home / ".aws"
    assert str(refused.value) == f"The credentials file {path} can't be written: {reason.format(aws=aws, home=home)}."
    assert snapshot(home) == before
    with pytest.raises(FileAccessError):
        CredentialsFile(path).remove_section("prod-session")
    assert snapshot(home) == before


@needs_root
def test_a_symlink_planted_by_another_user_is_refused_after_the_folder_is_fixed(home: Path) -> None:
    plant_symlink(home, "../.gitconfig")
    (home / ".aws").chmod(0o700)  # the user fixed the folder, the link is still theirs
    before = snapshot(home)
    path = home / ".aws" / "credentials"
    with pytest.raises(FileAccessError) as refused:
        CredentialsFile(path).write_section("prod-session", VALUES)
    assert str(refused.value) == (
        f"The credentials file {path} can't be written: {path} is a symbolic link that belongs to another "
        "user (uid 65534); remove it if you did not make it."
    )
    assert snapshot(home) == before


@needs_root
@pytest.mark.parametrize("name", ["credentials", "credentials.lock"])
def test_a_file_planted_by_another_user_is_refused(home: Path, name: str) -> None:
    aws = home / ".aws"
    aws.chmod(0o777)
    (aws / "credentials").unlink()
    as_user(OTHER, "sh", "-c", f"printf '[base]\\nx = 1\\n' > {aws / name}")
    aws.chmod(0o700)
    before = snapshot(home)
    with pytest.raises(FileAccessError) as refused:
        CredentialsFile(aws / "credentials").write_section("prod-session", VALUES)
    assert f"{aws / name} belongs to another user (uid 65534); remove it if you did not make it." in str(refused.value)
    assert snapshot(home) == before


@needs_root
def test_own_symlink_to_own_file_and_private_group_still_work(home: Path) -> None:
    aws = home / ".aws"
    real = home / "keys" / "credentials"
    real.parent.mkdir(mode=0o700)
    (aws / "credentials").rename(real)
    (aws / "credentials").symlink_to(real)
    aws.chmod(0o770)  # group root: root's own private group, as Debian's ssh allows
    cf = CredentialsFile(aws / "credentials")
    assert cf.write_section("prod-session", VALUES) == []
    assert (aws / "credentials").is_symlink()
    assert real.read_bytes().startswith(USER_FILE + b"[prod-session]\n")
    assert cf.remove_section("prod-session") is True
    assert real.read_bytes() == USER_FILE


CHILD = """
import sys
from trayapp.core.credentials_file import CredentialsFile
try:
    CredentialsFile(sys.argv[1]).write_section("prod-session", {"aws_access_key_id": "ASIAEXAMPLEKEY"})
    print("written")
except Exception as exc:
    print(type(exc).__name__, exc)
"""


@needs_root
def test_a_user_who_is_not_root_is_protected_from_a_third_user(home: Path) -> None:
    """trayapp runs as uid 65534 (its own HOME); uid 65533 plants the link."""
    python = shutil.which("python3", path="/usr/bin")
    probe = subprocess.run(
        [python or "false", "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True
    )
    if python is None or probe.stdout.strip() != str(sys.version_info[:2]):
        pytest.skip("needs /usr/bin/python3 of this Python version for the unprivileged child")
    for entry in [home, *home.rglob("*")]:
        os.lchown(entry, OTHER, OTHER)
    env = {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "LANGUAGE": "en",
        "PYTHONPATH": os.pathsep.join([str(ROOT), sysconfig.get_paths()["purelib"]]),
    }

    def victim_writes() -> str:
        result = subprocess.run(
            [
                "setpriv",
                f"--reuid={OTHER}",
                f"--regid={OTHER}",
                "--clear-groups",
                python,
                "-c",
                CHILD,
                str(home / ".aws" / "credentials"),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert victim_writes() == "written"  # the user's own files work
    plant_symlink(home, "../.gitconfig", uid=THIRD)
    (home / ".aws").chmod(0o700)
    before = snapshot(home)
    assert victim_writes() == (
        f"FileAccessError The credentials file {home / '.aws' / 'credentials'} can't be written: "
        f"{home / '.aws' / 'credentials'} is a symbolic link that belongs to another user (uid {THIRD}); "
        "remove it if you did not make it."
    )
    assert snapshot(home) == before


# --- row: a FIFO, a socket or a device never hangs a read or a write ---------------------------


READER = """
import sys
from trayapp.core.credentials_file import CredentialsFile
cf = CredentialsFile(sys.argv[1])
for call in (cf.read_sections, lambda: cf.write_section("prod-session", {"aws_access_key_id": "ASIAEXAMPLEKEY"})):
    try:
        call()
        print("no error")
    except Exception as exc:
        print(exc)
"""


def make_odd(kind: str, path: Path) -> Iterator[None]:
    if kind == "fifo":
        os.mkfifo(path, 0o600)
        yield
    elif kind == "socket":
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(path))
            server.listen()
            yield
    else:
        path.symlink_to("/dev/zero")
        yield


@pytest.mark.parametrize("kind", ["fifo", "socket", "device"])
def test_a_non_regular_file_is_refused_at_once(tmp_path: Path, kind: str) -> None:
    aws = tmp_path / ".aws"
    aws.mkdir(mode=0o700)
    path = aws / "credentials"
    odd = make_odd(kind, path)
    next(odd)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", READER, str(path)], capture_output=True, text=True, timeout=20, cwd=ROOT
    )
    assert time.monotonic() - started < 10
    assert result.stdout.splitlines() == [
        f"The credentials file {path} can't be read: it is not a regular file.",
        f"The credentials file {path} can't be written: it is not a regular file.",
    ], result.stderr
    with pytest.raises(NotRegularFile):
        read_regular_file(path)
    assert sorted(p.name for p in aws.iterdir()) == ["credentials"]
    next(odd, None)


def test_read_regular_file_reads_files_and_reports_missing_ones(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abc")
    assert read_regular_file(tmp_path / "f") == b"abc"
    assert read_regular_file(tmp_path / "missing") is None
    with pytest.raises(IsADirectoryError):
        read_regular_file(tmp_path)


def test_the_cli_with_a_fifo_for_credentials_does_not_hang(moto_sts: Any, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True, mode=0o700)
    (home / ".aws" / "config").write_text(
        "[profile ops]\nrole_arn = arn:aws:iam::222222222222:role/Ops\ncredential_source = Environment\n"
    )
    os.mkfifo(home / ".aws" / "credentials", 0o600)
    run = home / "run"
    run.mkdir(mode=0o700)
    env = aws_env(
        home,
        moto_sts.url,
        XDG_RUNTIME_DIR=str(run),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMIEXAMPLEKEY",
    )
    for command in (["status"], ["list"], ["assume", "ops"]):
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "trayapp", *command], env=env, capture_output=True, text=True, timeout=30
        )
        assert time.monotonic() - started < 15, command
        assert result.returncode != 0, command
        assert "it is not a regular file" in result.stderr, (command, result.stderr)
        assert result.stderr.count("\n") == 1, result.stderr
