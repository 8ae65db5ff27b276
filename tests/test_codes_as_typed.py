"""Codes as people really type them (full-width digits from a Japanese IME, pastes with
separators), and a used-code record that no content and no other user can break."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.fixtures import aws_env
from trayapp.core.errors import InvalidCode, ReusedCode
from trayapp.core.mfa import REMEMBER, UsedCodes, normalise

SERIAL = "arn:aws:iam::000000000000:mfa/alice"


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("１２３４５６", "123456"),  # an IME in kana mode
        ("１２３　４５６", "123456"),  # with an ideographic space
        ("１２３ー４５６", "123456"),  # the kana-mode "-" key gives a long-vowel mark
        ("１２３－４５６", "123456"),  # full-width hyphen-minus
        ("٦٥٤٣٢١", "654321"),  # Arabic-Indic
        ("۱۲۳۴۵۶", "123456"),  # Extended Arabic-Indic (Persian)
        ("१२३४५६", "123456"),  # Devanagari
        ("12３4５6", "123456"),  # mixed scripts
        (" 123 456\n", "123456"),
        ("123-456", "123456"),
        ("123\u00a0456", "123456"),  # a no-break space from a web page
        ("123\u200b456", "123456"),  # a zero-width space from a web page
        ("\t123456\r\n", "123456"),
    ],
)
def test_codes_are_sent_as_six_ascii_digits(typed: str, sent: str) -> None:
    code = normalise(typed)
    assert code == sent
    assert code.isascii()


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "nothing was entered"),
        ("　 - ", "nothing was entered"),
        ("12345", "5 digits were entered"),
        ("１２３４５６７", "7 digits were entered"),
        ("12345a", "characters other than digits"),
        ("12345Ⅵ", "characters other than digits"),  # a Roman numeral is not a digit
        ("123,456", "characters other than digits"),
    ],
)
def test_a_bad_code_gets_one_sentence_that_says_what_is_wrong(typed: str, says: str) -> None:
    with pytest.raises(InvalidCode) as caught:
        normalise(typed)
    message = str(caught.value)
    assert message.startswith("An MFA code is six digits; ") and message.endswith(".")
    assert says in message
    assert typed.strip() not in message or not typed.strip()  # the code itself is never echoed


def test_the_guard_remembers_the_ascii_form_so_a_full_width_repeat_is_refused(tmp_path: Path) -> None:
    used = UsedCodes(lambda: 1000.0, tmp_path / "used-codes.json")
    used.remember(SERIAL, normalise("123456"))
    with pytest.raises(ReusedCode):
        used.check(SERIAL, normalise("１２３４５６"))


# --- the used-code record -------------------------------------------------------------


def _record(tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder / "used-codes.json"


@pytest.mark.parametrize(
    "content",
    [
        '{"x": null}',
        '{"x": "y"}',
        "[1, 2, 3]",
        "null",
        "[" * 100_000 + "]" * 100_000,  # deeply nested: a RecursionError in json
        '{"' + "a" * 64 + '": [1]}',
        "not json at all",
        "\x00\xff",
    ],
)
def test_any_content_in_the_record_leaves_assume_working(tmp_path: Path, content: str) -> None:
    path = _record(tmp_path)
    path.write_text(content, errors="surrogateescape")
    path.chmod(0o600)
    used = UsedCodes(lambda: 1000.0, path)
    used.check(SERIAL, "123456")  # no TypeError, no RecursionError
    used.remember(SERIAL, "123456")
    with pytest.raises(ReusedCode):
        UsedCodes(lambda: 1010.0, path).check(SERIAL, "123456")
    assert isinstance(json.loads(path.read_text()), dict)


def test_the_record_is_pruned_on_every_read(tmp_path: Path) -> None:
    path = _record(tmp_path)
    now = [1000.0]
    used = UsedCodes(lambda: now[0], path)
    used.remember(SERIAL, "111111")
    assert len(json.loads(path.read_text())) == 1
    now[0] += REMEMBER + 1
    UsedCodes(lambda: now[0], path).check(SERIAL, "222222")  # a read, by another process
    assert json.loads(path.read_text()) == {}


def test_the_record_holds_keyed_hashes_that_a_reader_cannot_reverse(tmp_path: Path) -> None:
    path = _record(tmp_path)
    UsedCodes(lambda: 1000.0, path).remember(SERIAL, "123456")
    stored = json.loads(path.read_text())
    plain = {hashlib.sha256(f"trayapp\0{SERIAL}\0{c:06d}".encode()).hexdigest() for c in (123456,)}
    assert not plain & set(stored)
    # Brute force without the key finds nothing: no unsalted SHA-256 of any code is stored.
    assert hashlib.sha256(f"{SERIAL}\0123456".encode()).hexdigest() not in stored
    key = path.with_suffix(".key")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_fifo_as_the_record_does_not_hang(tmp_path: Path) -> None:
    path = _record(tmp_path)
    os.mkfifo(path, 0o600)
    code = (
        "import sys; from pathlib import Path; from trayapp.core.mfa import UsedCodes;"
        "u = UsedCodes(lambda: 1000.0, Path(sys.argv[1])); u.check('s', '123456'); u.remember('s', '123456');"
        "print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=20)
    assert done.stdout.strip() == "ok", done.stderr
    assert path.is_file()  # replaced by a regular record


def test_a_symlinked_record_is_not_followed(tmp_path: Path) -> None:
    path = _record(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    path.symlink_to(victim)
    used = UsedCodes(lambda: 1000.0, path)
    used.remember(SERIAL, "123456")
    assert victim.read_text() == "keep me\n"
    assert not path.is_symlink()


def test_a_record_planted_by_another_user_is_not_trusted(tmp_path: Path) -> None:
    """A second local user can't make the guard refuse (or accept) codes: their file is ignored."""
    path = _record(tmp_path)
    UsedCodes(lambda: 1000.0, path).remember(SERIAL, "123456")
    os.chown(path, 65534, 65534)  # now "someone else's" file, same content
    if os.geteuid() != 0:
        pytest.skip("needs root to give a file to another user")
    used = UsedCodes(lambda: 1001.0, path)
    used.check(SERIAL, "654321")  # a read: the foreign file is replaced by our own
    assert path.stat().st_uid == os.geteuid()


# --- end to end: the real CLI, a recording STS ----------------------------------------

CONFIG = """\
[profile prod]
role_arn = arn:aws:iam::222222222222:role/Admin
source_profile = base
mfa_serial = arn:aws:iam::000000000000:mfa/alice
region = eu-central-1
"""
CREDENTIALS = "[base]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG\n"


def _cli_env(home: Path, url: str) -> dict[str, str]:
    (home / ".aws" / "config").write_text(CONFIG)
    creds = home / ".aws" / "credentials"
    creds.write_text(CREDENTIALS)
    creds.chmod(0o600)
    run = home / "run"
    run.mkdir(mode=0o700, exist_ok=True)
    return aws_env(home, url, XDG_RUNTIME_DIR=str(run))


@pytest.mark.parametrize("typed", ["１２３４５６\n", "１２３　４５６\n", "123-456\n"])
def test_cli_sends_ascii_to_sts_for_a_full_width_code(aws_home: Path, fault_sts, typed: str) -> None:  # type: ignore[no-untyped-def]
    env = _cli_env(aws_home, fault_sts.url)
    done = subprocess.run(
        [sys.executable, "-m", "trayapp", "assume", "prod", "--code-stdin"],
        input=typed,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    [request] = fault_sts.requests_for("AssumeRole")
    assert request["TokenCode"] == "123456"
    assert "[prod-session]" in (aws_home / ".aws" / "credentials").read_text()


def test_cli_refuses_a_short_code_before_sts(aws_home: Path, fault_sts) -> None:  # type: ignore[no-untyped-def]
    env = _cli_env(aws_home, fault_sts.url)
    done = subprocess.run(
        [sys.executable, "-m", "trayapp", "assume", "prod", "--code", "１２３４５"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "An MFA code is six digits; 5 digits were entered." in done.stderr
    assert fault_sts.requests_for("AssumeRole") == []
