"""The credentials file and its paths under imitated Windows conditions (issue 16).

tests/support/winfs.py reproduces Windows file semantics in this process: no
``os.pread``, no replace/rename/delete of a file that has an open handle (here
or in another process), modes that always read 0666.  The core and the real
command line (against moto's STS) must work there exactly as on Linux.
"""

from __future__ import annotations

import codecs
import configparser
import ntpath
import os
import posixpath
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.fixtures import aws_env
from tests.support.winfs import WindowsFiles, hold_open, hold_until_refused, windows_files
from trayapp import cli
from trayapp.core.credentials_file import MANAGED_KEY, CredentialsFile
from trayapp.core.credentials_file import transaction as cfmod
from trayapp.core.errors import CredentialsFileError, FileAccessError, UnparsableFile
from trayapp.core.profiles import config_path, credentials_path, expand

VALUES = {
    "aws_access_key_id": "ASIAEXAMPLEKEY",
    "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "aws_session_token": "FwoGZXIvYXdzEXAMPLE%token==",
    "trayapp_expires": "2030-01-01T00:00:00+00:00",
}
USER_FILE = b"# my keys\r\n[default]\r\naws_access_key_id = AKIAUSER\r\naws_secret_access_key = user-secret\r\n"


def block(section: str, nl: str = "\r\n") -> bytes:
    rows = [f"[{section}]", f"{MANAGED_KEY} = 1", *(f"{k} = {v}" for k, v in VALUES.items())]
    return (nl.join(rows) + nl).encode()


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".trayapp-tmp"))


@pytest.fixture
def creds(tmp_path: Path) -> Path:
    path = tmp_path / ".aws" / "credentials"
    path.parent.mkdir(mode=0o700)
    path.write_bytes(USER_FILE)
    path.chmod(0o600)
    return path


@pytest.fixture
def winfs(tmp_path: Path) -> Iterator[WindowsFiles]:
    with windows_files(tmp_path) as state:
        yield state


# --- the imitation itself -----------------------------------------------------------------


def test_the_imitation_refuses_what_windows_refuses(tmp_path: Path, winfs: WindowsFiles) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("a")
    b.write_text("b")
    assert not hasattr(os, "pread")
    with open(b, "rb"), pytest.raises(PermissionError) as refused:
        os.replace(a, b)
    assert refused.value.winerror == 32  # type: ignore[attr-defined]
    fd = os.open(a, os.O_RDONLY)
    with pytest.raises(PermissionError):
        os.unlink(a)
    os.close(fd)
    os.replace(a, b)
    assert b.read_text() == "a"
    assert stat.S_IMODE(os.stat(b).st_mode) == 0o666
    with hold_open(b, 5), pytest.raises(PermissionError):
        os.remove(b)
    assert winfs.refused == [("replace", str(b)), ("unlink", str(a)), ("remove", str(b))]


# --- row: os.pread does not exist on Windows ----------------------------------------------


def test_an_existing_file_is_updated_without_pread(creds: Path, winfs: WindowsFiles) -> None:
    cf = CredentialsFile(creds)
    assert cf.write_section("prod-session", VALUES) == []
    assert creds.read_bytes() == USER_FILE + block("prod-session")


def test_posix_path_needs_no_pread_either(creds: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "pread")
    monkeypatch.setattr(cfmod, "WINDOWS", False, raising=False)
    cf = CredentialsFile(creds)
    cf.write_section("prod-session", VALUES)
    assert cf.remove_section("prod-session") is True
    assert creds.read_bytes() == USER_FILE


# --- row: no handle open at the replace; another reader is waited for -----------------------


def test_write_and_remove_hold_no_handle_at_the_replace(creds: Path, winfs: WindowsFiles) -> None:
    cf = CredentialsFile(creds)
    started = time.monotonic()
    cf.write_section("prod-session", VALUES)
    cf.write_section("prod-session", {**VALUES, "aws_access_key_id": "ASIASECOND"})
    assert cf.remove_section("prod-session") is True
    assert time.monotonic() - started < 1.5  # no retry was needed
    assert winfs.refused == []
    assert creds.read_bytes() == USER_FILE
    assert leftovers(creds.parent) == []


def test_no_handle_is_open_at_the_replace_even_where_pread_exists(creds: Path, tmp_path: Path) -> None:
    with windows_files(tmp_path, pread=True) as winfs:
        CredentialsFile(creds).write_section("prod-session", VALUES)
    assert winfs.refused == []
    assert creds.read_bytes() == USER_FILE + block("prod-session")


def test_a_reader_in_another_process_is_waited_for(creds: Path, winfs: WindowsFiles) -> None:
    cf = CredentialsFile(creds)
    with hold_open(creds, 0.5):
        started = time.monotonic()
        cf.write_section("prod-session", VALUES)
        waited = time.monotonic() - started
    assert 0.3 < waited < 2.0
    assert winfs.refused and all(call == ("replace", str(creds)) for call in winfs.refused)
    assert creds.read_bytes() == USER_FILE + block("prod-session")
    assert leftovers(creds.parent) == []


def test_a_reader_that_never_lets_go_gets_one_sentence(creds: Path, winfs: WindowsFiles) -> None:
    cf = CredentialsFile(creds)
    with hold_open(creds, 5):
        started = time.monotonic()
        with pytest.raises(FileAccessError) as refused:
            cf.write_section("prod-session", VALUES)
        waited = time.monotonic() - started
    assert 1.8 < waited < 4.0
    assert str(refused.value) == (
        f"The credentials file {creds} can't be written: another program kept it open for more than 2 s; "
        "close that program, then try again."
    )
    assert creds.read_bytes() == USER_FILE
    assert leftovers(creds.parent) == []


def test_a_writer_that_held_the_file_is_not_overwritten(
    creds: Path, winfs: WindowsFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An editor has the file open, saves a change in place while trayapp waits, then closes it."""
    cf = CredentialsFile(creds)
    theirs = USER_FILE + b"[editor]\r\nx = 1\r\n"
    real_sleep = time.sleep

    def sleep_then_edit(seconds: float) -> None:
        if winfs.refused and creds.read_bytes() == USER_FILE:
            with open(creds, "r+b") as handle:
                handle.write(theirs)
        real_sleep(seconds)

    monkeypatch.setattr(cfmod.time, "sleep", sleep_then_edit)
    with hold_open(creds, 0.4):
        cf.write_section("prod-session", VALUES)
    assert creds.read_bytes() == theirs + block("prod-session")


# --- row: the file's own encoding, as botocore reads it ----------------------------------------


def botocore_reads(path: Path, encoding: str) -> dict[str, dict[str, str]]:
    """What botocore's RawConfigParser sees when the locale's encoding is *encoding*."""
    parser = configparser.RawConfigParser()
    with open(path, encoding=encoding) as handle:
        parser.read_file(handle)
    return {s: dict(parser.items(s)) for s in parser.sections()}


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("cp1252", "# Schlüssel von José — nicht löschen\r\n[default]\r\nregion = eu-west-1\r\n"),
        ("cp932", "# 山田の鍵\r\n[default]\r\nregion = ap-northeast-1\r\n# 髙橋 ①\r\n"),
    ],
)
def test_a_file_in_the_locale_encoding_is_read_and_written_back_in_it(creds: Path, encoding: str, text: str) -> None:
    original = text.encode(encoding)
    creds.write_bytes(original)
    cf = CredentialsFile(creds, encoding=encoding)
    assert cf.read_sections() == {"default": {"region": text.split("region = ")[1].split("\r")[0]}}
    cf.write_section("prod-session", VALUES)
    assert creds.read_bytes() == original + block("prod-session")
    assert botocore_reads(creds, encoding)["prod-session"]["aws_access_key_id"] == "ASIAEXAMPLEKEY"
    assert cf.remove_section("prod-session") is True
    assert creds.read_bytes() == original


def test_cp932_bytes_with_two_forms_are_kept_as_they_were(creds: Path) -> None:
    """0x8790 (NEC's row 13 "≒") decodes to a character cp932 encodes as 0x81E0."""
    original = b"# \x87\x90\r\n[default]\r\nregion = ap-northeast-1\r\n"
    assert original.decode("cp932").encode("cp932") != original
    creds.write_bytes(original)
    cf = CredentialsFile(creds, encoding="cp932")
    cf.write_section("prod-session", VALUES)
    assert creds.read_bytes() == original + block("prod-session")
    cf.remove_section("prod-session")
    assert creds.read_bytes() == original


AGREE = """
import sys, botocore.configloader
from trayapp.core.credentials_file import CredentialsFile
try:
    botocore.configloader.raw_config_parse(sys.argv[1])
    botocore_ok = True
except Exception:
    botocore_ok = False
try:
    CredentialsFile(sys.argv[1]).read_sections()
    ours_ok = True
except Exception:
    ours_ok = False
print(CredentialsFile(sys.argv[1]).encoding, botocore_ok, ours_ok)
"""


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"LC_ALL": "C.UTF-8"}, "utf-8 True True"),
        # no UTF-8 mode, no locale coercion: the locale's own encoding is ASCII
        ({"LC_ALL": "POSIX", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}, "ascii False False"),
    ],
)
def test_the_default_encoding_is_the_one_botocore_opens_the_file_with(
    creds: Path, environment: dict[str, str], expected: str
) -> None:
    creds.write_bytes("# José\n[default]\nregion = eu-west-1\n".encode())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "PYTHON"))}
    result = subprocess.run(
        [sys.executable, "-c", AGREE, str(creds)], env={**env, **environment}, capture_output=True, text=True
    )
    assert result.stdout.strip() == expected, result.stderr


def test_a_bom_is_still_refused_in_any_encoding(creds: Path) -> None:
    creds.write_bytes(codecs.BOM_UTF8 + USER_FILE)
    with pytest.raises(UnparsableFile, match="byte order mark"):
        CredentialsFile(creds, encoding="cp1252").write_section("prod-session", VALUES)
    assert creds.read_bytes() == codecs.BOM_UTF8 + USER_FILE


def test_bytes_the_encoding_does_not_have_are_refused_with_the_line(creds: Path) -> None:
    creds.write_bytes(USER_FILE + b"# \x81\r\n")  # 0x81 is unassigned in cp1252
    with pytest.raises(UnparsableFile) as refused:
        CredentialsFile(creds, encoding="cp1252").write_section("prod-session", VALUES)
    assert "line 5 is not text in this system's encoding (cp1252)" in str(refused.value)


def test_a_name_the_encoding_cannot_hold_is_refused(creds: Path) -> None:
    with pytest.raises(CredentialsFileError, match="can't be written in this system's encoding"):
        CredentialsFile(creds, encoding="cp1252").write_section("山田-session", VALUES)
    assert creds.read_bytes() == USER_FILE


# --- row: no 0600 note on Windows --------------------------------------------------------------


def test_no_permissions_note_on_windows(creds: Path, winfs: WindowsFiles) -> None:
    assert stat.S_IMODE(os.stat(creds).st_mode) == 0o666  # what Windows reports for every file
    cf = CredentialsFile(creds)
    assert cf.write_section("prod-session", VALUES) == []
    assert cf.write_section("prod-session", VALUES) == []


# --- row: paths resolved as botocore resolves them on each platform ------------------------------


WIN_ENV = {
    "HOME": "C:\\msys64\\home\\jose",
    "USERPROFILE": "C:\\Users\\José",
    "USERNAME": "José",
    "AppData": "C:\\Users\\José\\AppData\\Roaming",
    "aws_shared_credentials_file": "%APPDATA%\\aws\\credentials",
}


def test_windows_home_is_userprofile_not_home() -> None:
    env = {k: v for k, v in WIN_ENV.items() if k != "aws_shared_credentials_file"}
    assert str(credentials_path(env, "win32")) == "C:\\Users\\José/.aws/credentials"
    assert str(config_path(env, "win32")) == "C:\\Users\\José/.aws/config"
    assert str(credentials_path(env, "linux")) == "C:\\msys64\\home\\jose/.aws/credentials"


def test_windows_percent_variables_and_case_insensitive_names() -> None:
    assert str(credentials_path(WIN_ENV, "win32")) == "C:\\Users\\José\\AppData\\Roaming\\aws\\credentials"
    assert str(expand("${appdata}/x/'%APPDATA%'", WIN_ENV, "win32")) == (
        "C:\\Users\\José\\AppData\\Roaming/x/'%APPDATA%'"
    )
    assert str(expand("%APPDATA%/x", WIN_ENV, "linux")) == "%APPDATA%/x"


PATHS = st.text(alphabet="~$%{}'/\\abAB_.- \u00e9", max_size=24)
ENVS = st.dictionaries(
    st.sampled_from(["HOME", "USERPROFILE", "HOMEPATH", "HOMEDRIVE", "USERNAME", "a", "B"]),
    st.text(alphabet="/\\:abC \u00e9", max_size=8),
)


class WindowsEnviron(dict[str, str]):
    """``os.environ`` on Windows: names ignore case."""

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.upper())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.upper())

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.upper(), default)


@settings(max_examples=300, deadline=None)
@given(path=PATHS, env=ENVS, windows=st.booleans())
def test_expand_is_the_standard_library_on_each_platform(path: str, env: dict[str, str], windows: bool) -> None:
    module: Any = ntpath if windows else posixpath
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "environ", WindowsEnviron({k.upper(): v for k, v in env.items()}) if windows else dict(env))
        expected = module.expanduser(module.expandvars(path))
    assert str(expand(path, env, "win32" if windows else "linux")) == str(Path(expected))


# --- the real command line, with Windows file semantics ------------------------------------------

CONFIG = """\
[profile prod]
role_arn = arn:aws:iam::222222222222:role/Admin
source_profile = base
mfa_serial = arn:aws:iam::000000000000:mfa/alice
region = eu-central-1
"""
CREDENTIALS = (
    b"[base]\r\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\r\naws_secret_access_key = wJalrXUtnFEMIEXAMPLEKEY\r\n"
)


def test_the_cli_assumes_and_forgets_with_windows_file_semantics(
    moto_sts: Any, aws_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (aws_home / ".aws" / "config").write_text(CONFIG)
    creds = aws_home / ".aws" / "credentials"
    creds.write_bytes(CREDENTIALS)
    creds.chmod(0o644)  # reads 0666 under the imitation anyway
    run = aws_home / "run"
    run.mkdir(mode=0o700)
    env = aws_env(
        aws_home, moto_sts.url, XDG_RUNTIME_DIR=str(run), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring"
    )
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with windows_files(aws_home) as winfs:
        assert cli.main(["assume", "prod", "--code", "123456"]) == 0
        assumed = capsys.readouterr()
        text = creds.read_bytes()
        assert text.startswith(CREDENTIALS) and b"\r\n[prod-session]\r\n" in text
        with hold_until_refused(creds, winfs):  # the AWS CLI reading the file meanwhile
            assert cli.main(["forget", "prod"]) == 0
        forgot = capsys.readouterr()
        assert winfs.refused  # the reader was really in the way, and was waited for
    assert "Tightened" not in assumed.out + assumed.err
    assert "prod-session" in assumed.out
    assert forgot.err == ""
    assert creds.read_bytes() == CREDENTIALS
    assert leftovers(creds.parent) == []
    assert sys.platform != "win32"  # the imitation did not leak into the interpreter
