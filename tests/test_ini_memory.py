"""The memory of botocore's reading (core/ini.py) never answers with something the file does not say.

Issue 20, item 9: readers shared the remembered sections (one that changed its copy changed every
later botocore Session's view), a file rewritten in place with its size and mtime kept was read
stale, and a file made unreadable was still served.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import botocore.session
import pytest
from botocore import configloader

from tests.support.other_user import OTHER, needs_root
from trayapp.compat import botocore as compat_botocore
from trayapp.core import ini
from trayapp.core.credentials_file import CredentialsFile

KEYS = "[base]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMIEXAMPLEKEY\n"


@pytest.fixture
def botocore_reads_through_the_memory(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """botocore's sessions read through ``ini.raw_config_parse`` (as in trayapp), undone afterwards."""
    compat_botocore.restore_config_reader()
    ini.install_in_botocore()
    yield
    compat_botocore.restore_config_reader()


def _session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> botocore.session.Session:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return botocore.session.Session(profile="base")


def test_a_reader_that_changes_its_sections_changes_no_later_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, botocore_reads_through_the_memory: None
) -> None:
    (tmp_path / "config").write_text("[profile base]\nregion = eu-west-1\n")
    (tmp_path / "credentials").write_text(KEYS)
    first = _session(tmp_path, monkeypatch)
    assert first.get_credentials().secret_key == "wJalrXUtnFEMIEXAMPLEKEY"
    # A caller changes what it was handed: a scoped config, a reading of the credentials file.
    first.get_scoped_config().clear()
    ini.raw_config_parse(str(tmp_path / "credentials"))["base"].pop("aws_secret_access_key")
    ini.raw_config_parse(str(tmp_path / "config"))["profile base"]["region"] = "xx-nowhere-1"
    later = _session(tmp_path, monkeypatch)
    credentials = later.get_credentials()  # was PartialCredentialsError: missing aws_secret_access_key
    assert credentials.secret_key == "wJalrXUtnFEMIEXAMPLEKEY"
    assert later.get_scoped_config()["region"] == "eu-west-1"


def test_sections_handed_out_by_the_credentials_file_are_not_the_remembered_ones(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text(KEYS)
    path.chmod(0o600)
    read = CredentialsFile(path).read_sections()  # remembers botocore's reading as it goes
    read["base"].clear()
    assert ini.raw_config_parse(str(path)) == configloader.raw_config_parse(str(path))
    assert ini.raw_config_parse(str(path))["base"]["aws_access_key_id"] == "AKIAIOSFODNN7EXAMPLE"


@pytest.mark.integration
@pytest.mark.parametrize("tool", ["cp -p", "rsync -t -I --inplace"])
def test_a_file_rewritten_in_place_with_size_and_mtime_kept_is_read_again(tmp_path: Path, tool: str) -> None:
    if shutil.which(tool.split()[0]) is None:
        pytest.skip(f"{tool.split()[0]} is not installed")
    path = tmp_path / "credentials"
    path.write_text("[src]\naws_access_key_id = AKIAFIRST0\n")
    fresh = tmp_path / "fresh"
    fresh.write_text("[src]\naws_access_key_id = AKIASECOND\n")  # the same size
    stamp = path.stat()
    os.utime(fresh, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # and the same mtime
    assert ini.raw_config_parse(str(path))["src"]["aws_access_key_id"] == "AKIAFIRST0"
    subprocess.run([*tool.split(), str(fresh), str(path)], check=True, timeout=30)
    after = path.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (stamp.st_ino, stamp.st_size, stamp.st_mtime_ns)
    assert ini.raw_config_parse(str(path))["src"]["aws_access_key_id"] == "AKIASECOND"


_READ_TWICE = """
import json, os, sys
from tests.support.other_user import OTHER, as_other, needs_root
from trayapp.core import ini
path = sys.argv[1]
first = ini.raw_config_parse(path)
os.chmod(path, 0)
try:
    second = ini.raw_config_parse(path)
except Exception as exc:
    second = type(exc).__name__
from botocore import configloader
try:
    botocore = configloader.raw_config_parse(path)
except Exception as exc:
    botocore = type(exc).__name__
print(json.dumps([first, second, botocore]))
"""


@pytest.mark.integration
@needs_root  # root reads a file of mode 0 anyway, so another uid owns it
def test_a_file_made_unreadable_is_no_longer_served() -> None:
    import json

    top = Path(tempfile.mkdtemp(prefix="trayapp-ini-"))
    try:
        top.chmod(0o755)
        path = top / "credentials"
        path.write_text(KEYS)
        os.chown(path, OTHER, OTHER)
        result = subprocess.run(
            [
                "setpriv",
                f"--reuid={OTHER}",
                f"--regid={OTHER}",
                "--clear-groups",
                sys.executable,
                "-c",
                _READ_TWICE,
                str(path),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "HOME": str(top)},
        )
        assert result.returncode == 0, result.stderr
        first, second, botocore_reading = json.loads(result.stdout)
        assert first["base"]["aws_access_key_id"] == "AKIAIOSFODNN7EXAMPLE"
        assert second == botocore_reading  # botocore reads a file it can't open as empty
        assert "base" not in second
    finally:
        shutil.rmtree(top)


@pytest.mark.integration
def test_a_resident_service_sees_a_config_copied_over_with_size_and_mtime_kept(tmp_path: Path) -> None:
    # The tray's Service re-reads the files only when their stamp changes: ctime is in it too.
    from trayapp.core.service import Service

    aws = tmp_path / ".aws"
    aws.mkdir()
    (aws / "credentials").write_text(KEYS)
    path = aws / "config"
    path.write_text("[profile prod]\nrole_arn = arn:aws:iam::111111111111:role/Admin\nsource_profile = base\n")
    fresh = tmp_path / "fresh"
    fresh.write_text("[profile prod]\nrole_arn = arn:aws:iam::999999999999:role/Admin\nsource_profile = base\n")
    stamp = path.stat()
    os.utime(fresh, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    service = Service(environ={"HOME": str(tmp_path)})
    assert service.config().role("prod").role_arn == "arn:aws:iam::111111111111:role/Admin"
    subprocess.run(["cp", "-p", str(fresh), str(path)], check=True, timeout=30)
    assert service.config().role("prod").role_arn == "arn:aws:iam::999999999999:role/Admin"
