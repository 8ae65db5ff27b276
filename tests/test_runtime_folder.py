"""The private runtime folder can't be planted by another local user.

Row of the hostile-surroundings issue: another user pre-creates ``/tmp/runtime-<uid>`` (a 0777
folder, a symlink or a file) while ``XDG_RUNTIME_DIR`` is unset; ``list``, ``status``, ``assume`` and
``credential-process`` all failed with ``unexpected error (PermissionError)``.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

from tests.support.fixtures import aws_env
from trayapp.core.runtime import private_runtime_dir

ROOT = Path(__file__).resolve().parents[1]
OTHER = 65534


def test_xdg_runtime_dir_is_used_when_it_is_private(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    found = private_runtime_dir({"XDG_RUNTIME_DIR": str(run), "HOME": str(tmp_path)})
    assert found == run / "trayapp"
    assert stat.S_IMODE(found.stat().st_mode) == 0o700


@pytest.mark.parametrize("kind", ["world-writable", "symlink", "file", "foreign"])
def test_an_unusable_runtime_folder_falls_back_to_a_private_one(tmp_path: Path, kind: str) -> None:
    run = tmp_path / "run"
    if kind == "world-writable":
        run.mkdir()
        run.chmod(0o777)
    elif kind == "symlink":
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir(mode=0o700)
        run.symlink_to(elsewhere)
    elif kind == "file":
        run.write_text("")
    else:
        if os.geteuid() != 0:
            pytest.skip("needs root to make a folder another user's")
        run.mkdir(mode=0o700)
        os.chown(run, OTHER, OTHER)
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    found = private_runtime_dir({"XDG_RUNTIME_DIR": str(run), "HOME": str(home), "XDG_CACHE_HOME": ""})
    assert found is not None
    assert not str(found).startswith(str(run))
    assert found.owner() == Path.home().owner() or os.geteuid() == 0
    assert stat.S_IMODE(found.stat().st_mode) == 0o700


def test_our_own_folder_left_too_open_is_closed(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    (run / "trayapp").mkdir()
    (run / "trayapp").chmod(0o755)
    found = private_runtime_dir({"XDG_RUNTIME_DIR": str(run), "HOME": str(tmp_path)})
    assert found == run / "trayapp"
    assert stat.S_IMODE(found.stat().st_mode) == 0o700


CONFIG = """\
[profile dev]
role_arn = arn:aws:iam::111111111111:role/Dev
source_profile = base
region = us-west-2
"""
CREDENTIALS = "[base]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG\n"


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv")
@pytest.mark.parametrize("planted", ["0777 folder", "symlink", "file"])
def test_a_planted_tmp_runtime_path_does_not_break_another_users_commands(
    tmp_path: Path, moto_sts: object, planted: str
) -> None:
    """uid 65534 runs the real CLI with XDG_RUNTIME_DIR unset; root planted /tmp/runtime-65534."""
    python = shutil.which("python3", path="/usr/bin")
    probe = subprocess.run([python or "false", "-c", "import sys; print(sys.version_info[:2])"],
                           capture_output=True, text=True)  # fmt: skip
    if python is None or probe.stdout.strip() != str(sys.version_info[:2]):
        pytest.skip("needs /usr/bin/python3 of this Python version for the unprivileged child")
    top = Path(tempfile.mkdtemp(prefix="trayapp-uid-test-", dir="/tmp"))  # pytest's folder is root's 0700
    top.chmod(0o755)
    home = top / "home"
    (home / ".aws").mkdir(parents=True, mode=0o700)
    (home / ".aws" / "config").write_text(CONFIG)
    (home / ".aws" / "credentials").write_text(CREDENTIALS)
    (home / ".aws" / "credentials").chmod(0o600)
    for entry in [home, *home.rglob("*")]:
        os.lchown(entry, OTHER, OTHER)
    trap = Path(f"/tmp/runtime-{OTHER}")
    if trap.is_symlink() or trap.is_file():
        trap.unlink()
    elif trap.exists():
        shutil.rmtree(trap)
    decoy = top / "decoy"
    decoy.mkdir(mode=0o700)
    if planted == "0777 folder":
        trap.mkdir()
        trap.chmod(0o777)
    elif planted == "symlink":
        trap.symlink_to(decoy)
    else:
        trap.write_text("")
    try:
        env = aws_env(home, getattr(moto_sts, "url"))  # noqa: B009
        env.pop("XDG_RUNTIME_DIR", None)
        env.update(PATH="/usr/bin:/bin", LANGUAGE="en",
                   PYTHONPATH=os.pathsep.join([str(ROOT), sysconfig.get_paths()["purelib"]]))  # fmt: skip
        for command in (["list"], ["status"], ["assume", "dev"], ["credential-process", "dev"]):
            done = subprocess.run(
                ["setpriv", f"--reuid={OTHER}", f"--regid={OTHER}", "--clear-groups", python, "-m", "trayapp",
                 *command],
                env=env, capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            assert done.returncode == 0, (command, done.stderr)
            assert "unexpected error" not in done.stderr
        assert list(decoy.iterdir()) == []  # nothing written through the planted link
        private = (home / ".cache" / "trayapp-run").stat()  # the fallback in the user's own home
        assert (private.st_uid, stat.S_IMODE(private.st_mode)) == (OTHER, 0o700)
    finally:
        if trap.is_symlink() or trap.is_file():
            trap.unlink()
        elif trap.exists():
            shutil.rmtree(trap)
        shutil.rmtree(top)
