"""The credentials file's text edits, as pure functions from text to text: no file is read or
written here (the fixture makes every file system call fail), so each rule about the bytes a
user keeps is checked on its own, in microseconds.  The whole file round trip, with the lock
and the atomic replace, is tests/test_credentials_file.py's."""

from __future__ import annotations

import builtins
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from trayapp.core.credentials_file import edits
from trayapp.core.credentials_file.document import scan, section_names
from trayapp.core.errors import CredentialsFileError, ForeignSection, UnparsableFile
from trayapp.core.ini_scan import scan_plain

PATH = Path("credentials")  # only named in messages
VALUES = {"aws_access_key_id": "ASIAEXAMPLE", "aws_session_token": "token"}
USER = "# my keys\r\n[default]\r\naws_access_key_id = AKIAUSER\r\n\r\n; other tools\r\n[work]\r\nregion = eu-west-1\r\n"


@pytest.fixture(autouse=True)
def no_file_system(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a pure text edit touched the file system: {args!r}")

    for name in ("open", "replace", "listdir", "mkdir", "unlink"):
        monkeypatch.setattr(os, name, refuse)
    monkeypatch.setattr(builtins, "open", refuse)
    yield


def put(text: str, section: str = "s", values: dict[str, str] = VALUES) -> str:
    return edits.with_section(scan(text, section), section, values, PATH)[0]


def drop(text: str, section: str = "s") -> str | None:
    return edits.without_section(scan(text, section), section, PATH)


def test_a_new_section_uses_the_files_line_endings_and_forgetting_it_gives_the_bytes_back() -> None:
    added = put(USER)
    assert (
        added == USER + "[s]\r\ntrayapp_managed = 1\r\naws_access_key_id = ASIAEXAMPLE\r\naws_session_token = token\r\n"
    )
    assert drop(added) == USER


def test_a_file_without_a_final_line_break_keeps_that_shape() -> None:
    text = "[default]\nregion = us-east-1"
    added = put(text)
    assert added == text + "\n[s]\ntrayapp_managed = 1\naws_access_key_id = ASIAEXAMPLE\naws_session_token = token"
    assert drop(added) == text


def test_an_empty_file_gets_a_terminated_section_and_is_empty_again_after() -> None:
    added = put("")
    assert added.endswith("token\n")
    assert drop(added) == ""


def test_replacing_keeps_everything_around_the_section_and_indents_like_the_next_header() -> None:
    before = "[a]\nx = 1\n[s]\n  trayapp_managed = 1\n  old = 1\n\n# after\n  [b]\ny = 2\n"
    assert (
        put(before, values={"k": "v"}) == "[a]\nx = 1\n[s]\n  trayapp_managed = 1\n  k = v\n\n# after\n  [b]\ny = 2\n"
    )


def test_the_plain_path_gives_the_same_text_as_the_full_one() -> None:
    text = "[a]\nx = 1\n\n[s]\ntrayapp_managed = 1\nold = 1\n[b]\ny = 2\n"
    assert edits.with_section_plain(text, "s", VALUES, PATH) == put(text)
    new = "[a]\nx = 1"
    assert edits.with_section_plain(new, "s", VALUES, PATH) == put(new)
    assert edits.with_section_plain("[a]\rx = 1\r", "s", VALUES, PATH) is None  # CR only: not plain


def test_a_users_own_section_is_never_replaced_or_removed() -> None:
    with pytest.raises(ForeignSection):
        put(USER, "work")
    with pytest.raises(ForeignSection):
        drop(USER, "work")


def test_a_repeated_section_is_refused_naming_both_lines() -> None:
    text = "[s]\ntrayapp_managed = 1\n[s]\ntrayapp_managed = 1\n"
    with pytest.raises(UnparsableFile, match="lines 1 and 3"):
        put(text)


def test_removing_what_is_not_there_changes_nothing() -> None:
    assert drop(USER) is None


def test_keys_move_out_of_and_into_a_users_section_line_by_line() -> None:
    moved = edits.with_keys_edited(scan(USER, "default"), "default", {"aws_access_key_id"}, {}, False, PATH)
    assert moved == USER.replace("aws_access_key_id = AKIAUSER\r\n", "")
    assert moved is not None
    back = edits.with_keys_edited(scan(moved, "default"), "default", (), {"aws_access_key_id": "AKIAUSER"}, False, PATH)
    assert back == USER


def test_a_key_spanning_several_lines_is_left_to_the_user() -> None:
    text = "[p]\ncredential_process = run\n  --flag\nregion = x\n"
    with pytest.raises(CredentialsFileError, match="spans several lines"):
        edits.with_keys_edited(scan(text, "p"), "p", {"credential_process"}, {}, False, PATH)
    # The line after the continuation goes alone.
    edited = edits.with_keys_edited(scan(text, "p"), "p", {"region"}, {}, False, PATH)
    assert edited == "[p]\ncredential_process = run\n  --flag\n"


def test_keys_are_not_edited_in_a_section_trayapp_wrote() -> None:
    text = "[s]\ntrayapp_managed = 1\nx = 1\n"
    with pytest.raises(CredentialsFileError, match="session trayapp wrote"):
        edits.with_keys_edited(scan(text, "s"), "s", {"x"}, {}, False, PATH)


def test_unusable_names_and_values_are_refused_before_any_text_is_made() -> None:
    for name in ("", " s", "DEFAULT", "a\nb"):
        with pytest.raises(ValueError, match="section name"):
            edits.check_section_name(name)
    with pytest.raises(ValueError, match="usable key"):
        edits.check_values({"trayapp_managed": "1"})
    with pytest.raises(ValueError, match="line breaks"):
        edits.check_values({"k": "a\nb"})


def test_one_scanner_reads_both_ways() -> None:
    text = "[a]\nk = 1\n  more\n\n[b]\nx: 2\n"
    doc = scan(text, "a")
    assert section_names(doc) == ["a", "b"]
    a = doc.sections[0]
    assert (a.header, a.end, a.own, a.spans) == (0, 3, {"k": "1\nmore"}, [("k", 1, 3)])
    assert scan_plain(text.split("\n")) is None  # an indented line is configparser's to judge
    assert scan_plain(["[a]", "k = 1", "[b]", "x: 2"]) == {"a": {"k": "1"}, "b": {"x": "2"}}
    assert scan_plain(["[a]", "k = 1", "K = 2"]) is None  # a repeated key
