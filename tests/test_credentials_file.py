"""The credentials file keeps every byte that isn't trayapp's (issue 4 items 1, 4, 5, 7)."""

from __future__ import annotations

import configparser
import io
import re
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Mapping
from pathlib import Path

import botocore.configloader
import filelock
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from trayapp.core.credentials_file import MANAGED_KEY, CredentialsFile, document
from trayapp.core.credentials_file import transaction as cfmod
from trayapp.core.errors import CredentialsFileError, FileAccessError, ForeignSection, UnparsableFile
from trayapp.core.shadowing import shadowing_profiles

ROOT = Path(__file__).resolve().parents[1]
VALUES = {
    "aws_access_key_id": "ASIAEXAMPLEKEY",
    "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "aws_session_token": "FwoGZXIvYXdzEXAMPLE%token==",
    "region": "eu-west-1",
    "trayapp_expires": "2030-01-01T00:00:00+00:00",
}
SECRET_LINE = "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"


def make(tmp_path: Path, content: bytes | None) -> tuple[Path, CredentialsFile]:
    path = tmp_path / ".aws" / "credentials"
    if content is not None:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        path.write_bytes(content)
        path.chmod(0o600)
    return path, CredentialsFile(path)


def block(section: str, values: Mapping[str, str], nl: str = "\n", final: bool = True) -> bytes:
    rows = [f"[{section}]", f"{MANAGED_KEY} = 1", *(f"{k} = {v}" for k, v in values.items())]
    return (nl.join(rows) + (nl if final else "")).encode()


def botocore_view(path: Path) -> dict[str, dict[str, str]]:
    return botocore.configloader.raw_config_parse(str(path))  # type: ignore[no-any-return]


def leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".trayapp-tmp")]


USER_FILE = (
    b"# my keys \xe2\x80\x94 do not lose\n"
    b"[default]\n"
    b"aws_access_key_id = AKIAUSER\n"
    b"aws_secret_access_key: user%secret\n"
    b"\n"
    b"; other tool\n"
    b"[Prod-Session]\n"
    b"AWS_ACCESS_KEY_ID=AKIAOTHER\n"
)


# --- adding, renewing, forgetting ------------------------------------------------


def test_missing_file_and_folder_are_created_private(tmp_path: Path) -> None:
    path, cf = make(tmp_path, None)
    assert cf.write_section("prod-session", VALUES) == []
    assert path.read_bytes() == block("prod-session", VALUES)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert cf.remove_section("prod-session") is True
    assert path.read_bytes() == b""  # documented: the file stays, empty
    assert leftovers(path.parent) == []


def test_read_managed(tmp_path: Path) -> None:
    _, cf = make(tmp_path, USER_FILE)
    assert CredentialsFile(tmp_path / "nothing").read_managed() == {}
    assert cf.read_managed() == {}
    cf.write_section("prod-session", VALUES)
    assert cf.read_managed() == {"prod-session": {MANAGED_KEY: "1", **VALUES}}


def test_add_appends_and_forget_restores(tmp_path: Path) -> None:
    path, cf = make(tmp_path, USER_FILE)
    cf.write_section("prod-session", VALUES)
    assert path.read_bytes() == USER_FILE + block("prod-session", VALUES)
    view = botocore_view(path)
    assert view["prod-session"] == {MANAGED_KEY: "1", **VALUES}
    assert view["Prod-Session"] == {"aws_access_key_id": "AKIAOTHER"}  # case-sensitive names
    assert cf.remove_section("prod-session") is True
    assert path.read_bytes() == USER_FILE
    assert cf.remove_section("prod-session") is False
    assert path.read_bytes() == USER_FILE


def test_renew_keeps_position_and_neighbours(tmp_path: Path) -> None:
    before = b"# head\n[a]\nx = 1\n"
    after = b"\n# about b\n[b]\ny = 2\n"
    middle = block("prod-session", {"aws_access_key_id": "OLD"})
    path, cf = make(tmp_path, before + middle + after)
    cf.write_section("prod-session", VALUES)
    assert path.read_bytes() == before + block("prod-session", VALUES) + after
    cf.remove_section("prod-session")
    assert path.read_bytes() == before + after


def test_values_are_written_exactly_in_order(tmp_path: Path) -> None:
    path, cf = make(tmp_path, None)
    values = {"region": "us-east-1", "aws_access_key_id": "A", "x": "50% off: =;#"}
    cf.write_section("s", values)
    assert path.read_bytes() == block("s", values)
    assert botocore_view(path)["s"] == {MANAGED_KEY: "1", **values}


def test_stale_security_token_is_dropped(tmp_path: Path) -> None:
    stale = b"[prod-session]\ntrayapp_managed = 1\naws_security_token = OLDTOKEN\naws_session_token = OLD\n"
    path, cf = make(tmp_path, stale)
    cf.write_section("prod-session", VALUES)
    assert botocore_view(path)["prod-session"] == {MANAGED_KEY: "1", **VALUES}
    assert b"OLDTOKEN" not in path.read_bytes()


@pytest.mark.parametrize("nl", ["\r\n", "\n"])
def test_line_endings_follow_the_file(tmp_path: Path, nl: str) -> None:
    original = f"[a]{nl}x = 1{nl}{nl}# c{nl}".encode()
    path, cf = make(tmp_path, original)
    cf.write_section("s", VALUES)
    assert path.read_bytes() == original + block("s", VALUES, nl)
    cf.write_section("s", {"region": "x"})
    assert path.read_bytes() == original + block("s", {"region": "x"}, nl)
    cf.remove_section("s")
    assert path.read_bytes() == original


def test_crlf_dominates_a_mixed_file(tmp_path: Path) -> None:
    original = b"[a]\r\nx = 1\r\ny = 2\n"
    path, cf = make(tmp_path, original)
    cf.write_section("s", {"k": "v"})
    assert path.read_bytes() == original + block("s", {"k": "v"}, "\r\n")


@pytest.mark.parametrize("original", [b"[a]\nx = 1", b"[a]\r\nx = 1", b"# only a comment", b"   "])
def test_no_final_newline_round_trip(tmp_path: Path, original: bytes) -> None:
    path, cf = make(tmp_path, original)
    nl = "\r\n" if b"\r\n" in original else "\n"
    cf.write_section("s", VALUES)
    assert path.read_bytes() == original + nl.encode() + block("s", VALUES, nl, final=False)
    cf.write_section("s", {"k": "renewed"})
    assert path.read_bytes() == original + nl.encode() + block("s", {"k": "renewed"}, nl, final=False)
    assert cf.remove_section("s")
    assert path.read_bytes() == original


def test_empty_file_round_trip(tmp_path: Path) -> None:
    path, cf = make(tmp_path, b"")
    cf.write_section("s", VALUES)
    assert path.read_bytes() == block("s", VALUES)
    cf.remove_section("s")
    assert path.read_bytes() == b""


def test_forget_last_section_without_final_newline_written_by_hand(tmp_path: Path) -> None:
    path, cf = make(tmp_path, b"[a]\nx = 1\n\n[s]\ntrayapp_managed = 1\nk = v")
    cf.remove_section("s")
    assert path.read_bytes() == b"[a]\nx = 1\n"


def test_comments_after_our_section_stay(tmp_path: Path) -> None:
    original = b"[s]\ntrayapp_managed = 1\nk = v\n\n# belongs to b\n; too\n[b]\ny = 1\n"
    path, cf = make(tmp_path, original)
    cf.write_section("s", {"k": "w"})
    assert path.read_bytes() == original.replace(b"k = v", b"k = w")
    cf.remove_section("s")
    assert path.read_bytes() == b"\n# belongs to b\n; too\n[b]\ny = 1\n"


def test_indented_next_header_stays_a_header(tmp_path: Path) -> None:
    # "  [b]" is a header only because the line before it is indented as much.
    original = b"[s]\n  trayapp_managed = 1\n  k = v\n  [b]\ny = 1\n"
    path, cf = make(tmp_path, original)
    assert botocore_view(path).keys() == {"s", "b"}
    cf.write_section("s", {"k": "w"})
    assert path.read_bytes() == b"[s]\n  trayapp_managed = 1\n  k = w\n  [b]\ny = 1\n"
    assert botocore_view(path)["b"] == {"y": "1"}


def test_forget_refuses_when_the_next_header_would_become_a_value(tmp_path: Path) -> None:
    original = b"[a]\nk = 1\n[s]\n  trayapp_managed = 1\n  [b]\ny = 1\n"
    path, cf = make(tmp_path, original)
    with pytest.raises(CredentialsFileError, match="neighbouring section"):
        cf.remove_section("s")
    assert path.read_bytes() == original


def test_indented_header_after_a_value_is_a_continuation(tmp_path: Path) -> None:
    # botocore reads "  [s]" as part of x's value, so there is no [s] to refuse.
    original = b"[a]\nx = 1\n  [s]\n"
    path, cf = make(tmp_path, original)
    cf.write_section("s", {"k": "v"})
    assert path.read_bytes() == original + block("s", {"k": "v"})
    assert botocore_view(path)["a"] == {"x": "1\n[s]"}


def test_default_section_is_not_inherited_and_does_not_mark(tmp_path: Path) -> None:
    original = b"[DEFAULT]\ntrayapp_managed = 1\nregion = eu\n[a]\nx = 1\n"
    path, cf = make(tmp_path, original)
    assert cf.read_managed() == {}
    with pytest.raises(ForeignSection):
        cf.write_section("a", {"k": "v"})
    cf.write_section("s", {"k": "v"})
    assert cf.read_managed() == {"s": {MANAGED_KEY: "1", "k": "v"}}
    cf.remove_section("s")
    assert path.read_bytes() == original


def test_resident_fast_path_still_verifies(tmp_path: Path) -> None:
    path, cf = make(tmp_path, USER_FILE)
    cf.read_managed()  # the file is now known to parse
    for i in range(3):
        cf.write_section("prod-session", {"n": str(i)})
        assert botocore_view(path)["prod-session"] == {MANAGED_KEY: "1", "n": str(i)}
    cf.remove_section("prod-session")
    assert path.read_bytes() == USER_FILE


# --- refusals ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "original",
    [
        b"[prod-session]\naws_access_key_id = HANDWRITTEN\n",
        b"[prod-session]\ntrayapp_managed = 0\n",
        b"[a]\n[prod-session]\nTRAYAPP_MANAGED = yes\n",
    ],
)
def test_foreign_section_is_refused(tmp_path: Path, original: bytes) -> None:
    path, cf = make(tmp_path, original)
    with pytest.raises(ForeignSection) as info:
        cf.write_section("prod-session", VALUES)
    assert "[prod-session]" in str(info.value)
    with pytest.raises(ForeignSection):
        cf.remove_section("prod-session")
    assert path.read_bytes() == original
    assert leftovers(path.parent) == []


def test_upper_case_marker_key_counts_like_botocore_reads_it(tmp_path: Path) -> None:
    path, cf = make(tmp_path, b"[s]\nTRAYAPP_MANAGED = 1\nK = v\n")
    assert cf.read_managed() == {"s": {MANAGED_KEY: "1", "k": "v"}}
    cf.write_section("s", {"k": "w"})
    assert path.read_bytes() == block("s", {"k": "w"})


BROKEN = {
    "duplicate section": b"[a]\nx = 1\n[a]\n" + SECRET_LINE.encode() + b"\n",
    "duplicate own section": b"[s]\ntrayapp_managed = 1\n[s]\ntrayapp_managed = 1\n" + SECRET_LINE.encode() + b"\n",
    "duplicate key": b"[a]\n" + SECRET_LINE.encode() + b"\n" + SECRET_LINE.encode() + b"\n",
    "bom": b"\xef\xbb\xbf[a]\n" + SECRET_LINE.encode() + b"\n",
    "latin-1": b"[a]\n# caf\xe9\n" + SECRET_LINE.encode() + b"\n",
    "no header": SECRET_LINE.encode() + b"\n[a]\nx = 1\n",
    "bad line": b"[a]\n" + SECRET_LINE.replace("=", "").encode() + b"\n",
    "bad line in our section": b"[s]\ntrayapp_managed = 1\n" + SECRET_LINE.replace("=", "").encode() + b"\n",
    "nested without =": b"[a]\ns3 =\n  " + SECRET_LINE.replace("=", "").encode() + b"\n",
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_unparsable_file_is_refused_without_echo(tmp_path: Path, name: str) -> None:
    original = BROKEN[name]
    path, cf = make(tmp_path, original)
    with pytest.raises(botocore.exceptions.ConfigParseError):
        botocore_view(path)
    messages = []
    for call in (cf.read_managed, lambda: cf.write_section("s", VALUES), lambda: cf.write_section("a", {})):
        with pytest.raises(UnparsableFile) as info:
            call()
        messages.append(str(info.value))
    assert path.read_bytes() == original
    assert leftovers(path.parent) == []
    for message in messages:
        assert "SECRET" not in message and "wJalr" not in message
        for line in original.decode("utf-8", "replace").splitlines():
            if len(line.strip()) > 3:
                assert line.strip() not in message, (line, message)


def test_unparsable_reason_names_the_line(tmp_path: Path) -> None:
    _, cf = make(tmp_path, BROKEN["no header"])
    with pytest.raises(UnparsableFile, match=r"line 1 comes before any \[section\] header"):
        cf.read_managed()
    _, cf = make(tmp_path, BROKEN["latin-1"])
    with pytest.raises(UnparsableFile, match="line 2 is not UTF-8"):
        cf.write_section("s", {})


@pytest.mark.parametrize("section", ["", " s", "s ", "DEFAULT", "a\nb", "a\rb", "x]y[", "[x"])
def test_unusable_section_names(tmp_path: Path, section: str) -> None:
    _, cf = make(tmp_path, None)
    if section in ("x]y[", "[x"):
        # "[x]y[]" and "[[x]" still read as headers named so: allowed.
        cf.write_section(section, {})
        return
    with pytest.raises(ValueError):
        cf.write_section(section, {})


@pytest.mark.parametrize(
    "values",
    [{"Key": "v"}, {"a b": "v"}, {"a=b": "v"}, {"#a": "v"}, {MANAGED_KEY: "1"}, {"k": " v"}, {"k": "a\nb"}],
)
def test_unusable_values(tmp_path: Path, values: dict[str, str]) -> None:
    path, cf = make(tmp_path, None)
    with pytest.raises(ValueError):
        cf.write_section("s", values)
    assert not path.exists()


# --- paths, permissions, failures -------------------------------------------------


def test_symlinked_file_updates_target_and_keeps_link(tmp_path: Path) -> None:
    target = tmp_path / "real" / "creds"
    target.parent.mkdir()
    target.write_bytes(USER_FILE)
    link = tmp_path / "link"
    link.symlink_to(target)
    cf = CredentialsFile(link)
    cf.write_section("s", VALUES)
    assert link.is_symlink()
    assert target.read_bytes() == USER_FILE + block("s", VALUES)
    cf.remove_section("s")
    assert link.is_symlink() and target.read_bytes() == USER_FILE


def test_dangling_symlink_creates_target(tmp_path: Path) -> None:
    link = tmp_path / "link"
    target = tmp_path / "new" / "creds"
    link.symlink_to(target)
    assert CredentialsFile(link).remove_section("s") is False
    CredentialsFile(link).write_section("s", VALUES)
    assert link.is_symlink() and target.read_bytes() == block("s", VALUES)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_directory_at_path(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.mkdir()
    cf = CredentialsFile(path)
    for call in (cf.read_managed, lambda: cf.write_section("s", VALUES), lambda: cf.remove_section("s")):
        with pytest.raises(FileAccessError, match="folder, not a file"):
            call()
    assert list(path.iterdir()) == []


def test_read_only_file(tmp_path: Path) -> None:
    path, cf = make(tmp_path, USER_FILE)
    path.chmod(0o400)
    with pytest.raises(FileAccessError, match="read-only"):
        cf.write_section("s", VALUES)
    assert path.read_bytes() == USER_FILE and stat.S_IMODE(path.stat().st_mode) == 0o400
    assert leftovers(path.parent) == []


def test_read_only_folder(tmp_path: Path) -> None:
    path, cf = make(tmp_path, USER_FILE)
    path.parent.chmod(0o500)
    try:
        with pytest.raises(FileAccessError, match="read-only"):
            cf.write_section("s", VALUES)
        assert path.read_bytes() == USER_FILE
        assert sorted(p.name for p in path.parent.iterdir()) == ["credentials"]
    finally:
        path.parent.chmod(0o700)


def test_loose_permissions_are_tightened_and_reported(tmp_path: Path) -> None:
    path, cf = make(tmp_path, USER_FILE)
    path.chmod(0o644)
    notes = cf.write_section("s", VALUES)
    assert notes == [f"Tightened permissions of {path} from 0644 to 0600, so other users can't read your keys."]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert cf.write_section("s", VALUES) == []


@pytest.mark.integration
def test_full_disk_leaves_file_and_no_temp(tmp_path: Path) -> None:
    big = USER_FILE + b"# padding\n" * 40
    path, _ = make(tmp_path, big)
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({len(big) + 10}, resource.RLIM_INFINITY))
        from trayapp.core.credentials_file import CredentialsFile
        from trayapp.core.errors import FileAccessError
        try:
            CredentialsFile({str(path)!r}).write_section("s", {{"k": "v" * 200}})
        except FileAccessError as exc:
            print(exc)
            sys.exit(3)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done.stderr
    assert "disk is full" in done.stdout
    assert path.read_bytes() == big
    assert leftovers(path.parent) == []


def test_lock_timeout(tmp_path: Path) -> None:
    path, _ = make(tmp_path, USER_FILE)
    cf = CredentialsFile(path, lock_timeout=0.2)
    with filelock.FileLock(f"{path}.lock"), pytest.raises(FileAccessError, match="held its lock"):
        cf.write_section("s", VALUES)
    assert path.read_bytes() == USER_FILE


def test_change_just_before_replace_is_redone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``aws configure set`` appends a section while trayapp prepares its update."""
    path, cf = make(tmp_path, USER_FILE)
    original = cfmod._Transaction._replace
    calls = []

    def replace(self: cfmod._Transaction, target: Path, base: bytes | None, new: bytes) -> bool:
        calls.append(base)
        if len(calls) == 1:
            with open(target, "ab") as f:
                f.write(b"[from-aws]\naws_access_key_id = X\n")
        return original(self, target, base, new)

    monkeypatch.setattr(cfmod._Transaction, "_replace", replace)
    cf.write_section("s", VALUES)
    assert len(calls) == 2
    assert path.read_bytes() == USER_FILE + b"[from-aws]\naws_access_key_id = X\n" + block("s", VALUES)
    assert leftovers(path.parent) == []


def test_file_that_never_settles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, cf = make(tmp_path, USER_FILE)
    original = cfmod._Transaction._replace
    counter = iter(range(1000))

    def replace(self: cfmod._Transaction, target: Path, base: bytes | None, new: bytes) -> bool:
        with open(target, "ab") as f:
            f.write(f"# {next(counter)}\n".encode())
        return original(self, target, base, new)

    monkeypatch.setattr(cfmod._Transaction, "_replace", replace)
    with pytest.raises(FileAccessError, match="kept changing"):
        cf.write_section("s", VALUES)
    assert b"[s]" not in path.read_bytes()
    assert leftovers(path.parent) == []


def test_stale_temp_files_are_cleaned_under_the_lock(tmp_path: Path) -> None:
    path, cf = make(tmp_path, USER_FILE)
    stale = path.parent / ".credentials.abc123.trayapp-tmp"
    stale.write_bytes(b"half")
    unrelated = path.parent / "config"
    unrelated.write_bytes(b"[default]\n")
    cf.write_section("s", VALUES)
    assert not stale.exists() and unrelated.exists()


@pytest.mark.integration
def test_core_module_imports_no_gui_and_no_boto3() -> None:
    code = (
        "import sys, trayapp.core.credentials_file\n"
        "bad = {'boto3', 'tkinter', 'pystray', 'PIL', 'gi'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_shadowing_profiles() -> None:
    sections = ["default", "profile prod", "profile prod-session", "prod-session", "profile  'prod-session'"]
    assert shadowing_profiles(sections, "prod-session") == ["profile prod-session", "profile  'prod-session'"]
    assert shadowing_profiles(sections, "dev-session") == []


# --- property tests (issue 4 item 1) ------------------------------------------------

NAMES = ["a", "prod-session", "Prod-Session", "PROD-SESSION", "profile x", "default", "dev-session", "ü-session"]
TARGET = "prod-session"
USER_KEYS = ["aws_access_key_id", "AWS_SECRET_ACCESS_KEY", "Region", "aws_security_token", "output", "x.y"]
value_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=12)
comment_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=10)
space = st.sampled_from(["", " ", "  ", "\t"])


@st.composite
def body_line(draw: st.DrawFn, after_option: bool, used: set[str]) -> tuple[str, bool]:
    """One line inside a section and whether it leaves an option open."""
    kinds = ["option", "option", "comment", "blank"] + (["continuation"] if after_option else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "option":
        fresh = [k for k in USER_KEYS if k.lower() not in used]
        # Now and then a repeated key: botocore rejects that file.
        key = draw(st.sampled_from(fresh)) if fresh and draw(st.integers(0, 19)) else draw(st.sampled_from(USER_KEYS))
        used.add(key.lower())
        sep = draw(st.sampled_from(["=", ":", " = ", " : ", "  =\t"]))
        return f"{draw(space)}{key}{sep}{draw(value_text)}", True
    if kind == "comment":
        return f"{draw(space)}{draw(st.sampled_from(['#', ';']))}{draw(comment_text)}", after_option
    if kind == "continuation":
        return f"{draw(st.sampled_from(['    ', chr(9) * 2]))}{draw(value_text)}x", True
    return draw(st.sampled_from(["", " ", "\t"])), after_option


@st.composite
def credentials_files(draw: st.DrawFn) -> tuple[bytes, str]:
    """A credentials file (often valid, sometimes not) and the state of the target section."""
    lines: list[str] = []
    if draw(st.booleans()):
        lines.append(f"# {draw(comment_text)}")
    names = draw(st.lists(st.sampled_from(NAMES), max_size=6, unique=True))
    state = draw(st.sampled_from(["absent", "ours", "foreign"]))
    if state != "absent":
        names.insert(draw(st.integers(0, len(names))), TARGET)
    for name in names:
        indent = draw(st.sampled_from(["", "", "", " ", "  "]))
        trailer = draw(st.sampled_from(["", "", " ", " ; note"]))
        lines.append(f"{indent}[{name}]{trailer}")
        open_option = False
        used = {MANAGED_KEY}
        if name == TARGET and state == "ours":
            lines.append(
                f"{draw(st.sampled_from(['', indent]))}{draw(st.sampled_from([MANAGED_KEY, 'TRAYAPP_MANAGED']))} = 1"
            )
            open_option = True
        for _ in range(draw(st.integers(0, 5))):
            line, open_option = draw(body_line(open_option, used))
            lines.append(line)
        if name == TARGET and "aws_security_token" not in used and draw(st.booleans()):
            lines.append("aws_security_token = STALE")
    style = draw(st.sampled_from(["\n", "\r\n", "mixed"]))
    out = []
    for line in lines:
        nl = draw(st.sampled_from(["\n", "\r\n"])) if style == "mixed" else style
        out.append(line + nl)
    text = "".join(out)
    if draw(st.booleans()):
        text = text.rstrip("\r\n")
    return text.encode("utf-8"), state


new_values = st.dictionaries(
    st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True).filter(lambda k: k != MANAGED_KEY),
    st.text(st.characters(blacklist_categories=("Cs", "Zs", "Cc", "Zl", "Zp")), max_size=10),
    max_size=5,
)


def ref_lines(text: str) -> list[str]:
    return list(io.StringIO(text, newline=""))  # universal newlines, endings kept


def ref_parse(text: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()
    parser.read_file(io.StringIO(text, newline=None))
    return parser


def ref_region(text: str, section: str) -> tuple[int, int] | None:
    """Line span of [section] (header to last key line), found with configparser itself."""
    lines = ref_lines(text)
    headers: dict[int, str] = {}
    count = 0
    for i in range(len(lines)):
        names = ref_parse("".join(lines[: i + 1])).sections()
        if len(names) > count:
            headers[i], count = names[-1], len(names)
    starts = [i for i, name in headers.items() if name == section]
    if not starts:
        return None
    start = starts[0]
    later = [i for i in headers if i > start]
    stop = later[0] if later else len(lines)
    end = start + 1
    for i in range(start + 1, stop):
        content = lines[i].strip()
        if content and not content.startswith(("#", ";")):
            end = i + 1
    return start, end


def botocore_ok(data: bytes, directory: Path) -> dict[str, dict[str, str]] | None:
    probe = directory / "probe"
    probe.write_bytes(data)
    try:
        return botocore_view(probe)
    except botocore.exceptions.ConfigParseError:
        return None


def check_round_trip(original: bytes, state: str, first: dict[str, str], second: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        path = directory / "credentials"
        path.write_bytes(original)
        cf = CredentialsFile(path)
        before = botocore_ok(original, directory)
        event(f"target {state}" + (", file unparsable" if before is None else ""))
        if before is None:
            with pytest.raises(UnparsableFile) as info:
                cf.write_section(TARGET, first)
            assert path.read_bytes() == original
            for line in original.decode().splitlines():
                if "=" in line and len(line.strip()) > 6:
                    assert line.strip() not in str(info.value)
            return
        text = original.decode()
        region = ref_region(text, TARGET)
        assert (region is None) == (TARGET not in before)
        managed = TARGET in before and before[TARGET].get(MANAGED_KEY) == "1"
        if TARGET in before and not managed:
            with pytest.raises(ForeignSection):
                cf.write_section(TARGET, first)
            with pytest.raises(ForeignSection):
                cf.remove_section(TARGET)
            assert path.read_bytes() == original
            return
        outside = ref_outside(text, region)
        for values in (first, second):
            try:
                cf.write_section(TARGET, values)
            except CredentialsFileError as exc:
                # Only refusal allowed: the new section would swallow an indented header.
                assert "neighbouring" in str(exc)
                assert path.read_bytes() == original
                event("refused: would swallow the next header")
                return
            now = path.read_bytes()
            view = botocore_view(path)
            assert view[TARGET] == {MANAGED_KEY: "1", **values}
            assert {k: v for k, v in view.items() if k != TARGET} == {k: v for k, v in before.items() if k != TARGET}
            new_region = ref_region(now.decode(), TARGET)
            assert new_region is not None
            if region is None:
                # Appended after the original (plus one line break if it lacked one).
                prefix, suffix = ref_outside(now.decode(), new_region)
                assert suffix == ""
                lacks_break = bool(text) and not text.endswith(("\n", "\r"))
                assert prefix == text or (lacks_break and prefix[len(text) :] in ("\n", "\r\n", "\r"))
                assert prefix.startswith(text)
                assert now.endswith((b"\n", b"\r")) == (not lacks_break)
            else:
                assert ref_outside(now.decode(), new_region) == outside
                assert now.endswith((b"\n", b"\r")) == original.endswith((b"\n", b"\r"))
        try:
            removed = cf.remove_section(TARGET)
        except CredentialsFileError as exc:
            assert "neighbouring" in str(exc)
            return
        assert removed is True
        after = path.read_bytes()
        assert botocore_ok(after, directory) is not None
        if region is None:
            assert after == original  # add-then-forget gives the original back
        else:
            lines = ref_lines(text)
            start, end = region
            expected = "".join(lines[:start]) + "".join(lines[end:])
            if end == len(lines) and not lines[-1].endswith(("\n", "\r")) and start > 0:
                expected = "".join(lines[: start - 1]) + lines[start - 1].rstrip("\r\n")
            assert after == expected.encode()
        assert cf.remove_section(TARGET) is False
        assert leftovers(directory) == []


def ref_outside(text: str, region: tuple[int, int] | None) -> tuple[str, str]:
    lines = ref_lines(text)
    if region is None:
        return text, ""
    start, end = region
    return "".join(lines[:start]), "".join(lines[end:])


PROPERTY_SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


@pytest.mark.integration
@settings(max_examples=300, **PROPERTY_SETTINGS)  # type: ignore[arg-type]
@given(credentials_files(), new_values, new_values)
def test_round_trip_property(case: tuple[bytes, str], first: dict[str, str], second: dict[str, str]) -> None:
    check_round_trip(case[0], case[1], first, second)


@pytest.mark.slow
@settings(max_examples=10_000, **PROPERTY_SETTINGS)  # type: ignore[arg-type]
@given(credentials_files(), new_values, new_values)
def test_round_trip_property_10k(case: tuple[bytes, str], first: dict[str, str], second: dict[str, str]) -> None:
    check_round_trip(case[0], case[1], first, second)


@pytest.mark.integration
@settings(max_examples=300, **PROPERTY_SETTINGS)  # type: ignore[arg-type]
@given(credentials_files())
def test_scanner_agrees_with_configparser(case: tuple[bytes, str]) -> None:
    text = case[0].decode()
    try:
        parser = ref_parse(text)
    except configparser.Error:
        assume(False)
        return
    doc = document.scan(text, None)
    names = [s.name for s in doc.sections if s.name != "DEFAULT"]
    assert names == parser.sections()
    assert "".join(doc.lines) == text
    for section in doc.sections:
        assert section.own == {k: re.sub(r"\n+", "\n", v) for k, v in parser.items(section.name)}


def test_file_caught_truncated_by_another_tool_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``aws configure set`` truncates, then writes: an empty read is looked at again."""
    path, cf = make(tmp_path, b"")
    slept = []

    def sleep(seconds: float) -> None:  # the other tool finishes writing meanwhile
        slept.append(seconds)
        if len(slept) == 1:
            path.write_bytes(USER_FILE)

    monkeypatch.setattr(cfmod.time, "sleep", sleep)
    cf.write_section("s", VALUES)
    assert slept and path.read_bytes() == USER_FILE + block("s", VALUES)


def test_file_caught_half_written_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    half = USER_FILE[: USER_FILE.index(b"AKIAOTHER")] + b"AKIA\n[Prod-Ses"  # cut mid-header
    path, cf = make(tmp_path, half + b"\n")

    slept = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 1:
            path.write_bytes(USER_FILE)

    monkeypatch.setattr(cfmod.time, "sleep", sleep)
    cf.write_section("s", VALUES)
    assert path.read_bytes() == USER_FILE + block("s", VALUES)


def test_remove_on_broken_file(tmp_path: Path) -> None:
    path, cf = make(tmp_path, BROKEN["duplicate own section"])
    with pytest.raises(UnparsableFile, match="appears twice"):
        cf.remove_section("s")
    path.write_bytes(BROKEN["bad line"])
    assert cf.remove_section("s") is False  # nothing of ours to remove, nothing written
    assert path.read_bytes() == BROKEN["bad line"]


def test_nested_value_botocore_rejects_inside_our_section(tmp_path: Path) -> None:
    """Found by the 10,000-example run: the only fault was inside our own section."""
    original = b"[a]\n[prod-session]\ntrayapp_managed = 1\naws_access_key_id=\n [PROD-SESSION]\n"
    path, cf = make(tmp_path, original)
    with pytest.raises(UnparsableFile):
        cf.write_section("prod-session", {})
    with pytest.raises(UnparsableFile):
        cf.remove_section("prod-session")
    assert path.read_bytes() == original


def test_late_write_into_the_replaced_file_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``aws configure set`` opened the file just before the replace and writes into the old inode."""
    path, cf = make(tmp_path, USER_FILE)
    appended = b"[from-aws]\naws_access_key_id = LATE\n"
    late = open(path, "ab")  # noqa: SIM115 - held across the update on purpose
    real_sleep = cfmod.time.sleep
    calls = []

    def sleep(seconds: float) -> None:
        calls.append(seconds)
        if seconds == cfmod._LATE_WRITER and len(calls) == 1:
            late.write(appended)
            late.close()
        real_sleep(0)

    monkeypatch.setattr(cfmod.time, "sleep", sleep)
    cf.write_section("s", VALUES)
    assert path.read_bytes() == USER_FILE + appended + block("s", VALUES)


def test_a_late_writer_slow_between_truncating_and_writing_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``aws configure set`` truncated the old file just before the replace, and wrote its whole new
    text into it only a moment later (a busy machine): that text is kept, not the empty file seen in
    between.  (A clean-clone CI run lost one of 16 ``aws configure set`` updates this way.)"""
    path, cf = make(tmp_path, USER_FILE)
    theirs = USER_FILE + b"[from-aws]\naws_access_key_id = LATE\n"
    late = open(path, "r+b")  # noqa: SIM115 - held across the update on purpose
    real_sleep = cfmod.time.sleep
    calls: list[float] = []

    def sleep(seconds: float) -> None:
        calls.append(seconds)
        if seconds == cfmod._LATE_WRITER and not late.closed and late.tell() == 0:
            late.truncate(0)  # opened with O_TRUNC: the old file is empty now
            late.flush()
        elif len(calls) == 3 and not late.closed:  # two looks later, the text arrives
            late.write(theirs)
            late.close()
        real_sleep(0)

    monkeypatch.setattr(cfmod.time, "sleep", sleep)
    cf.write_section("s", VALUES)
    assert path.read_bytes() == theirs + block("s", VALUES)


def test_a_late_writer_that_truncated_and_never_wrote_costs_the_user_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old file emptied by a late writer that never finishes: what stands at the path (the user's
    file with trayapp's section) is kept; the old code built on the empty file and wrote ``[s]`` alone."""
    path, cf = make(tmp_path, USER_FILE)
    late = open(path, "r+b")  # noqa: SIM115 - held across the update on purpose
    real_sleep = cfmod.time.sleep

    def sleep(seconds: float) -> None:
        if seconds == cfmod._LATE_WRITER and not late.closed:
            late.truncate(0)
            late.close()
        real_sleep(0)

    monkeypatch.setattr(cfmod.time, "sleep", sleep)
    monkeypatch.setattr(cfmod, "_LATE_WRITER_WAIT", 0.05)
    cf.write_section("s", VALUES)
    assert path.read_bytes() == USER_FILE + block("s", VALUES)


def test_stale_rewrite_right_after_the_replace_is_repaired(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tool that read the file before the replace writes its stale copy back over ours."""
    path, cf = make(tmp_path, USER_FILE)
    theirs = USER_FILE + b"[theirs]\nx = 1\n"
    stale = [theirs]
    calls = []

    def sleep(seconds: float) -> None:
        calls.append(seconds)
        if len(calls) == 1:
            path.write_bytes(stale[0])  # in place, like aws configure set

    monkeypatch.setattr(cfmod.time, "sleep", sleep)
    assert cf.write_section("s", VALUES) == []
    assert path.read_bytes() == theirs + block("s", VALUES)
    calls.clear()
    more = b"[more]\ny = 2\n"
    stale[0] = theirs + block("s", VALUES) + more  # their copy still has our section
    assert cf.remove_section("s") is True
    assert path.read_bytes() == theirs + more
