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

from trayapp import autostart
from trayapp.autostart import Autostart, AutostartError, desktop_exec, launch_command

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
    assert launch_command(str(python), frozen=False, platform="linux") == [str(python), "-m", "trayapp"]
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
    assert launch_command(str(python), frozen=False, platform="win32") == [str(python), "-m", "trayapp"]
    (tmp_path / "pythonw.exe").touch()
    assert launch_command(str(python), frozen=False, platform="win32") == [
        str(tmp_path / "pythonw.exe"),
        "-m",
        "trayapp",
    ]


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


def test_windows_startup_cmd_starts_pythonw_detached(tmp_path: Path) -> None:
    appdata = tmp_path / "AppData" / "Roaming"
    pythonw = r"C:\Users\Me Too\AppData\Local\Programs\Python\Python311\pythonw.exe"
    a = Autostart(
        platform="win32", home=tmp_path, environ={"APPDATA": str(appdata)}, command=[pythonw, "-m", "trayapp"]
    )
    path = a.enable()
    assert path == appdata / "Microsoft" / "Windows" / "Start Menu" / "Programs" / "Startup" / "trayapp.cmd"
    data = path.read_bytes()
    assert data.startswith(b"@echo off\r\n") and data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
    last = data.decode().splitlines()[-1]
    assert last == f'start "" "{pythonw}" -m trayapp'
    assert a.status() is True and a.disable() is True and a.status() is False


def test_windows_startup_folder_without_appdata_is_under_home(tmp_path: Path) -> None:
    a = Autostart(platform="win32", home=tmp_path, environ={}, command=["trayapp.exe"])
    assert a.path == tmp_path / "AppData/Roaming/Microsoft/Windows/Start Menu/Programs/Startup/trayapp.cmd"


def test_windows_refuses_a_command_a_batch_file_would_mangle(tmp_path: Path) -> None:
    a = Autostart(platform="win32", home=tmp_path, environ={}, command=[r"C:\100%\pythonw.exe", "-m", "trayapp"])
    with pytest.raises(AutostartError):
        a.enable()
    assert not a.path.exists()


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_status_check_of_an_unreadable_file_is_an_error_not_a_guess(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    a = linux(tmp_path)
    a.enable().chmod(0)
    with pytest.raises(AutostartError):
        a.status()
