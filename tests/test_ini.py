"""The fast reading of the AWS files gives exactly botocore's reading, and large files stay intact.

Every figure about speed comes from bench/ (bench/scale.py); these tests check results only.
"""

from __future__ import annotations

import configparser
import io
import os
import random
from pathlib import Path

import pytest
from botocore import configloader
from botocore.exceptions import InvalidRegionError
from botocore.utils import validate_region_name

from trayapp.core import ini, profiles
from trayapp.core.credentials_file import MANAGED_KEY, CredentialsFile

_LINES = [
    "[a]",
    "[b]",
    "[profile x]",
    "[default]",
    "[DEFAULT]",
    "[ spaced ]",
    "[a] trailing words",
    "[]",
    "[unclosed",
    "key = value",
    "key=value",
    "KEY = Upper",
    "other: colon value",
    "empty =",
    "= no key",
    "just words",
    "aws_access_key_id = AKIA0000",
    "region = eu-west-1",
    "  indented = nested",
    "\tcontinued line",
    "  # indented comment",
    "# comment",
    "; comment",
    "",
    "   ",
    "\x0c",
    "value with # hash = inside",
    "ünïcode = välue",
    "key = trailing spaces   ",
    "s3 =",
    "    max_concurrent_requests = 10",
]


def _configparser_reading(text: str) -> dict[str, dict[str, str]] | None:
    parser = configparser.RawConfigParser()
    try:
        parser.read_file(io.StringIO(text, newline=None))
    except configparser.Error:
        return None
    return {name: dict(parser.items(name)) for name in parser.sections()}


def _random_text(rng: random.Random) -> str:
    count = rng.randint(0, 12)
    lines = [rng.choice(_LINES) for _ in range(count)]
    if lines and rng.random() < 0.7 and not lines[0].startswith("["):
        lines.insert(0, "[start]")
    newline = rng.choice(["\n", "\n", "\r\n", "\r"])
    text = newline.join(lines)
    return text + newline if rng.random() < 0.7 else text


def test_plain_reading_is_configparsers_on_thousands_of_generated_files() -> None:
    rng = random.Random(1414)
    plain_seen = 0
    for _ in range(5000):
        text = _random_text(rng)
        fast = ini.parse_plain(text)
        if fast is None:
            continue  # the caller asks configparser: nothing to compare
        plain_seen += 1
        assert fast == _configparser_reading(text), repr(text)
        assert [list(v) for v in fast.values()] == [list(v) for v in (_configparser_reading(text) or {}).values()]
    assert plain_seen > 500  # the generator does reach the fast path


@pytest.mark.parametrize(
    "text",
    [
        "key = before any header\n[a]\n",
        "[a]\nx = 1\n[a]\ny = 2\n",
        "[a]\nx = 1\nX = 2\n",
        "[a]\nnot a key\n",
        "[a]\n= 1\n",
        "[DEFAULT]\nregion = us-east-1\n[a]\nx = 1\n",
        "[a]\nx =\n  nested = 1\n",
        "[a]\nx = 1\n  continued\n",
    ],
)
def test_texts_configparser_must_judge_are_left_to_it(text: str) -> None:
    assert ini.parse_plain(text) is None


def test_botocores_reading_is_the_same_through_the_fast_path(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("[default]\nregion = eu-west-1\n\n# c\n[profile dev]\nrole_arn = arn\r\nsource_profile = default\n")
    assert ini.raw_config_parse(str(path)) == configloader.raw_config_parse(str(path))
    nested = "[profile dev]\ns3 =\n  max_concurrent_requests = 10\n"
    path.write_text(nested)
    assert ini.raw_config_parse(str(path)) == configloader.raw_config_parse(str(path))
    assert ini.raw_config_parse(str(path))["profile dev"]["s3"] == {"max_concurrent_requests": "10"}
    path.write_text("[a]\n[a]\n")
    with pytest.raises(Exception) as fast_error:
        ini.raw_config_parse(str(path))
    with pytest.raises(Exception) as botocore_error:
        configloader.raw_config_parse(str(path))
    assert type(fast_error.value) is type(botocore_error.value)


def test_a_file_changed_after_a_reading_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text("[src]\naws_access_key_id = AKIAFIRST\n")
    assert ini.raw_config_parse(str(path))["src"]["aws_access_key_id"] == "AKIAFIRST"
    path.write_text("[src]\naws_access_key_id = AKIASECOND\n")  # same size
    os.utime(path, ns=(1, 1))
    assert ini.raw_config_parse(str(path))["src"]["aws_access_key_id"] == "AKIASECOND"
    # A reader that changes what it got does not change what the next reader gets.
    first = ini.raw_config_parse(str(path))
    first.pop("src")
    assert "src" in ini.raw_config_parse(str(path))


def test_the_region_check_is_botocores() -> None:
    samples = ["eu-west-1", "us-gov-west-1", "local", "1", "123", "a1", "-eu", "eu-", "eu_west", "x" * 63, "x" * 64]
    samples += ["eu west", "eu.west", "", "ü", "eu-west-1\n"]
    for region in samples:
        try:
            validate_region_name(region)
            botocore_ok = True
        except InvalidRegionError:
            botocore_ok = False
        assert (profiles.region_problem(region) is None) == botocore_ok, region


def _session(i: int) -> str:
    return f"[role{i}-session]\naws_access_key_id = ASIA{i:012d}\n{MANAGED_KEY} = 1\n"


def _values(tag: str) -> dict[str, str]:
    return {"aws_access_key_id": f"ASIA{tag}", "aws_secret_access_key": "s" * 40, "aws_session_token": "t" * 80}


def _block(i: int, tag: str, newline: str = "\n") -> str:
    rows = [f"[role{i}-session]", f"{MANAGED_KEY} = 1", *(f"{k} = {v}" for k, v in _values(tag).items())]
    return newline.join(rows) + newline


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_one_update_in_a_100000_section_file_keeps_every_other_byte(tmp_path: Path, newline: str) -> None:
    count = 100_000
    path = tmp_path / "credentials"
    head = f"# my keys{newline}[src]{newline}aws_access_key_id = AKIA0000{newline}{newline}"
    sections = [_session(i).replace("\n", newline) for i in range(count)]
    path.write_bytes((head + newline.join(sections)).encode())
    path.chmod(0o600)
    file = CredentialsFile(path)
    assert len(file.read_sections()) == count + 1  # as a Service reads it before an update
    middle = count // 2
    file.write_section(f"role{middle}-session", _values("MIDDLE"))
    expected = head + newline.join([*sections[:middle], _block(middle, "MIDDLE", newline), *sections[middle + 1 :]])
    assert path.read_bytes() == expected.encode()
    # The last section (no header after it), then a new one appended.
    file.write_section(f"role{count - 1}-session", _values("LAST"))
    expected = expected[: expected.rindex(f"[role{count - 1}-session]")] + _block(count - 1, "LAST", newline)
    assert path.read_bytes() == expected.encode()
    file.write_section("new-session", _values("NEW"))
    rows = ["[new-session]", f"{MANAGED_KEY} = 1", *(f"{k} = {v}" for k, v in _values("NEW").items())]
    assert path.read_bytes() == (expected + newline.join(rows) + newline).encode()


def test_the_quick_path_and_the_full_path_write_the_same_bytes(tmp_path: Path) -> None:
    rng = random.Random(14)
    for case in range(60):
        newline = rng.choice(["\n", "\r\n"])
        parts = ["[src]", "aws_access_key_id = AKIA0000"]
        for i in range(rng.randint(0, 6)):
            parts += [f"[role{i}-session]", f"{MANAGED_KEY} = 1", f"aws_access_key_id = ASIA{i}"]
            parts += rng.choice([[], [""], ["# note"], ["", "; x", ""]])
        text = newline.join(parts) + (newline if rng.random() < 0.7 else "")
        target = f"role{rng.randint(0, 7)}-session"
        results = []
        for trusted in (True, False):
            path = tmp_path / f"{case}-{trusted}"
            path.write_bytes(text.encode())
            path.chmod(0o600)
            file = CredentialsFile(path)
            if trusted:
                file.read_sections()  # known-good bytes: the quick path
            file.write_section(target, _values(str(case)))
            results.append(path.read_bytes())
        assert results[0] == results[1], (text, target)
