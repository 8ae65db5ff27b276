"""Login start: the XDG file for real (validated, parsed back by GLib), and the
macOS and Windows files generated into a temp dir with the platform injected."""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.planted import needs_second_uid, planted_folder
from tests.support.winreg_fake import FakeWinreg
from trayapp.core.launch import module_argv
from trayapp.tray import autostart
from trayapp.tray.autostart import Autostart, AutostartError, desktop_exec, launch_command

VALIDATE = shutil.which("desktop-file-validate")
needs_validator = pytest.mark.skipif(VALIDATE is None, reason="desktop-file-validate (desktop-file-utils) missing")

AWKWARD = ["/opt/my apps/trayapp", 'say "hi"', "back\\slash", "50%", "$HOME", "`id`", "plain"]


def validate(path: Path) -> None:
    assert VALIDATE is not None
    result = subprocess.run([VALIDATE, str(path)], capture_output=True, text=True)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def linux(home: Path, **environ: str) -> Autostart:
    return Autostart(platform="linux", home=home, environ=environ, command=["/usr/bin/trayapp"])


# --- Linux, for real --------------------------------------------------------------------


@pytest.mark.integration
@needs_validator
def test_linux_on_writes_a_valid_autostart_entry_and_off_removes_it(tmp_path: Path) -> None:
    a = linux(tmp_path)
    assert a.status() is False
    path = a.enable()
    assert path == tmp_path / ".config" / "autostart" / "trayapp.desktop"
    validate(path)
    text = path.read_text()
    assert "Exec=/usr/bin/trayapp\n" in text and "Type=Application\n" in text
    assert a.status() is True
    assert a.disable() is True
    assert not path.exists() and a.status() is False
    assert a.disable() is False


def test_xdg_config_home_is_honoured_when_absolute_and_ignored_when_relative(tmp_path: Path) -> None:
    cfg = tmp_path / "cfg"
    assert linux(tmp_path, XDG_CONFIG_HOME=str(cfg)).path == cfg / "autostart" / "trayapp.desktop"
    assert linux(tmp_path, XDG_CONFIG_HOME="relative/cfg").path == tmp_path / ".config/autostart/trayapp.desktop"


def test_on_twice_replaces_the_file_and_leaves_no_temp_files(tmp_path: Path) -> None:
    a = linux(tmp_path)
    a.enable()
    Autostart(platform="linux", home=tmp_path, environ={}, command=["/new/trayapp"]).enable()
    assert "Exec=/new/trayapp\n" in a.path.read_text()
    assert [p.name for p in a.path.parent.iterdir()] == ["trayapp.desktop"]
    assert oct(a.path.stat().st_mode & 0o777) == oct(0o644)


def test_status_is_off_when_the_desktop_hid_the_entry(tmp_path: Path) -> None:
    # GNOME Tweaks and KDE's settings switch an autostart entry off by adding Hidden=true.
    a = linux(tmp_path)
    a.enable()
    a.path.write_text(a.path.read_text() + "Hidden=true\n")
    assert a.status() is False
    a.enable()
    assert a.status() is True


@pytest.mark.integration
@needs_validator
def test_exec_line_with_awkward_arguments_validates_and_parses_back(tmp_path: Path) -> None:
    a = Autostart(platform="linux", home=tmp_path, environ={}, command=AWKWARD)
    validate(a.enable())
    glib = pytest.importorskip("gi.repository.GLib")
    keyfile = glib.KeyFile()
    keyfile.load_from_file(str(a.path), glib.KeyFileFlags.NONE)
    exec_line = keyfile.get_string("Desktop Entry", "Exec")
    ok, argv = glib.shell_parse_argv(exec_line.replace("%%", "%"))
    assert ok and argv == AWKWARD


@pytest.mark.integration
@needs_validator
@needs_second_uid
def test_login_start_of_a_pip_user_install_runs_trayapp_not_a_package_in_the_session_folder(tmp_path: Path) -> None:
    """No ``trayapp`` script beside Python (``pip install --user``): the Exec line, parsed back and run
    in a shared folder where another uid left a ``trayapp/`` package, still starts this trayapp.
    (It was ``python3 -m trayapp``: the planted package ran at login.)"""
    python = "/usr/bin/python3"
    if Path(python).with_name("trayapp").exists():
        pytest.skip("a trayapp script sits beside /usr/bin/python3")
    a = Autostart(platform="linux", home=tmp_path, environ={}, command=launch_command(python, frozen=False))
    validate(a.enable())
    glib = pytest.importorskip("gi.repository.GLib")
    keyfile = glib.KeyFile()
    keyfile.load_from_file(str(a.path), glib.KeyFileFlags.NONE)
    ok, argv = glib.shell_parse_argv(keyfile.get_string("Desktop Entry", "Exec").replace("%%", "%"))
    assert ok
    with planted_folder() as planted:
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(planted.folder)}
        done = subprocess.run([*argv, "--version"], cwd=planted.folder, env=env, capture_output=True, text=True)
        assert planted.ran() == []
    assert done.returncode == 0 and done.stdout.startswith("trayapp "), done.stderr


def test_desktop_exec_leaves_plain_words_alone() -> None:
    assert desktop_exec(["/usr/bin/python3", "-m", "trayapp"]) == "/usr/bin/python3 -m trayapp"


def test_write_failure_is_one_sentence_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / ".config").write_text("not a folder")
    with pytest.raises(AutostartError) as caught:
        linux(tmp_path).enable()
    message = str(caught.value)
    assert message.startswith("Starting trayapp at login could not be turned on") and ".config" in message


def test_the_default_autostart_follows_sys_platform_and_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    if sys.platform != "linux":
        pytest.skip("the module-level API is exercised on Linux")
    assert autostart.status() is False
    path = autostart.enable()
    assert path == tmp_path / "xdg" / "autostart" / "trayapp.desktop"
    assert autostart.status() is True
    assert autostart.disable() is True and autostart.status() is False


# --- the command that is started --------------------------------------------------------


def test_launch_command_prefers_the_entry_point_next_to_the_interpreter(tmp_path: Path) -> None:
    python = tmp_path / "bin" / "python"
    python.parent.mkdir()
    python.touch()
    assert launch_command(str(python), frozen=False, platform="linux") == module_argv("trayapp", str(python))
    script = python.with_name("trayapp")
    script.touch()
    script.chmod(0o755)
    assert launch_command(str(python), frozen=False, platform="linux") == [str(script)]


def test_launch_command_of_a_frozen_app_is_the_executable_itself() -> None:
    assert launch_command("/opt/trayapp/trayapp", frozen=True, platform="linux") == ["/opt/trayapp/trayapp"]


def test_launch_command_of_the_frozen_windows_cli_is_its_windowed_sibling(tmp_path: Path) -> None:
    cli, gui = tmp_path / "trayapp-cli.exe", tmp_path / "trayapp.exe"
    cli.touch()
    assert launch_command(str(cli), frozen=True, platform="win32") == [str(cli)]
    gui.touch()
    assert launch_command(str(cli), frozen=True, platform="win32") == [str(gui)]


def test_launch_command_on_windows_uses_pythonw_so_no_console_stays_open(tmp_path: Path) -> None:
    python = tmp_path / "python.exe"
    python.touch()
    assert launch_command(str(python), frozen=False, platform="win32") == module_argv("trayapp", str(python))
    (tmp_path / "pythonw.exe").touch()
    pythonw = str(tmp_path / "pythonw.exe")
    assert launch_command(str(python), frozen=False, platform="win32") == module_argv("trayapp", pythonw)


@pytest.mark.integration
def test_the_default_command_runs_this_trayapp(tmp_path: Path) -> None:
    argv = launch_command()
    result = subprocess.run(
        [*argv, "--version"], capture_output=True, text=True, timeout=60, cwd=Path(__file__).parent.parent
    )
    assert result.returncode == 0 and result.stdout.startswith("trayapp ")


# --- macOS and Windows: generated here, checked for shape ----------------------------------


def test_macos_launch_agent_is_a_plist_that_runs_at_load(tmp_path: Path) -> None:
    command = ["/Applications/trayapp.app/Contents/MacOS/trayapp"]
    a = Autostart(platform="darwin", home=tmp_path, environ={}, command=command)
    assert a.status() is False
    path = a.enable()
    assert path == tmp_path / "Library" / "LaunchAgents" / "com.trayapp.agent.plist"
    with path.open("rb") as f:
        plist = plistlib.load(f)
    assert plist["Label"] == "com.trayapp.agent"
    assert plist["ProgramArguments"] == command
    assert plist["RunAtLoad"] is True and plist["KeepAlive"] is False
    assert a.status() is True
    assert a.disable() is True and not path.exists()


def test_macos_launch_agent_of_a_pip_install_runs_python_m_trayapp(tmp_path: Path) -> None:
    command = ["/Users/me/.local/pipx/venvs/trayapp/bin/python", "-m", "trayapp"]
    a = Autostart(platform="darwin", home=tmp_path, environ={}, command=command)
    assert plistlib.loads(a.content())["ProgramArguments"] == command


def windows(tmp_path: Path, command: list[str], reg: FakeWinreg | None = None) -> Autostart:
    appdata = tmp_path / "AppData" / "Roaming"
    return Autostart(platform="win32", home=tmp_path, environ={"APPDATA": str(appdata)}, command=command, registry=reg)


JOSE = r"C:\Users\José 山田\AppData\Local\Programs\Python\Python311\pythonw.exe"


def test_windows_login_start_is_the_run_key_with_a_quoted_command(tmp_path: Path) -> None:
    reg = FakeWinreg()
    a = windows(tmp_path, [JOSE, "-m", "trayapp"], reg)
    assert a.status() is False
    where = a.enable()
    assert where == r"HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run\trayapp"
    # the registry keeps text as UTF-16: any user name arrives as it is, quoted as CreateProcess parses it
    assert reg.run_value() == f'"{JOSE}" -m trayapp'
    assert a.status() is True
    assert not a.path.parent.exists()  # nothing in the Startup folder, where cmd.exe would garble the name
    assert a.disable() is True and reg.run_value() is None and a.status() is False
    assert a.disable() is False


def test_the_default_windows_autostart_follows_sys_platform(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    reg = FakeWinreg()
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setitem(sys.modules, "winreg", reg)
    monkeypatch.setenv("APPDATA", str(tmp_path / "AppData" / "Roaming"))
    a = Autostart(command=[JOSE, "-m", "trayapp"])
    a.enable()
    assert reg.run_value() == f'"{JOSE}" -m trayapp'
    assert not list(tmp_path.rglob("*.cmd"))


def test_windows_command_quotes_as_the_c_runtime_parses() -> None:
    cmd = autostart.windows_command([r"C:\Program Files\trayapp\trayapp.exe", "a b", 'say "hi"', "tail\\"])
    assert cmd == r'"C:\Program Files\trayapp\trayapp.exe" "a b" "say \"hi\"" tail' + "\\"
    assert autostart.windows_command(["trayapp.exe"]) == '"trayapp.exe"'


def test_windows_status_honours_the_settings_switch(tmp_path: Path) -> None:
    reg = FakeWinreg()
    a = windows(tmp_path, ["trayapp.exe"], reg)
    a.enable()
    approved = reg.CreateKeyEx(reg.HKEY_CURRENT_USER, autostart.APPROVED_KEY)
    approved.values["trayapp"] = (b"\x03" + bytes(11), reg.REG_BINARY)  # switched off in Settings → Startup
    assert a.status() is False
    a.enable()  # "on" means on again
    assert a.status() is True


def test_a_startup_cmd_of_an_older_version_is_removed(tmp_path: Path) -> None:
    reg = FakeWinreg()
    a = windows(tmp_path, ["trayapp.exe"], reg)
    a.path.parent.mkdir(parents=True)
    a.path.write_bytes(b'@echo off\r\nrem X-Trayapp-Autostart: written by "trayapp autostart on"\r\n')
    a.enable()
    assert not a.path.exists() and reg.run_value() == '"trayapp.exe"'
    a.path.write_bytes(b"@echo off\r\nrem someone else's\r\n")
    assert a.disable() is True and a.path.exists()  # not ours: left alone


def test_windows_refusal_is_one_sentence_naming_the_key(tmp_path: Path) -> None:
    a = windows(tmp_path, ["trayapp.exe"], FakeWinreg(denied=True))
    with pytest.raises(AutostartError) as caught:
        a.enable()
    assert str(caught.value) == (
        "Starting trayapp at login could not be turned on "
        r"(HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run\trayapp: Access is denied)."
    )


def test_windows_startup_folder_of_older_versions_without_appdata_is_under_home(tmp_path: Path) -> None:
    a = Autostart(platform="win32", home=tmp_path, environ={}, command=["trayapp.exe"], registry=FakeWinreg())
    assert a.path == tmp_path / "AppData/Roaming/Microsoft/Windows/Start Menu/Programs/Startup/trayapp.cmd"


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_status_check_of_an_unreadable_file_is_an_error_not_a_guess(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    a = linux(tmp_path)
    a.enable().chmod(0)
    with pytest.raises(AutostartError):
        a.status()
