"""Packaging: wheel and sdist as a user gets them, the Linux desktop files, the PyInstaller
recipes (the macOS and Windows ones checked for shape only), and the single-file Linux build."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops

from tests.support.checkout import fresh_checkout
from tests.support.desktop import Desktop
from tests.support.fixtures import aws_env, require_tools
from trayapp import __version__

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
LINUX = PACKAGING / "linux"
HICOLOR_SIZES = (16, 22, 24, 32, 48, 64, 128, 256)
VALIDATE = shutil.which("desktop-file-validate")
needs_validator = pytest.mark.skipif(VALIDATE is None, reason="desktop-file-validate (desktop-file-utils) missing")


def has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def run(*argv: str | Path, env: dict[str, str] | None = None, timeout: float = 120, **kw: Any) -> str:
    result = subprocess.run([str(a) for a in argv], env=env, capture_output=True, text=True, timeout=timeout, **kw)
    assert result.returncode == 0, f"{argv}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def validate(path: Path) -> None:
    assert VALIDATE is not None
    out = subprocess.run([VALIDATE, str(path)], capture_output=True, text=True)
    assert out.returncode == 0 and not out.stdout.strip(), out.stdout + out.stderr


def user_env(home: Path) -> dict[str, str]:
    """Only what a login shell would have: no AWS_*, no PYTHONPATH, HOME in a temp dir."""
    return {"HOME": str(home), "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


# --- wheel and sdist -------------------------------------------------------------------


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (has_module("build") and has_module("twine")):
        pytest.skip("build and twine are not installed (pip install build twine)")
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--outdir", out, ROOT, timeout=300)
    return out


def test_wheel_and_sdist_build_and_pass_twine_check(dist: Path) -> None:
    wheels, sdists = list(dist.glob("*.whl")), list(dist.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1
    out = run(sys.executable, "-m", "twine", "check", "--strict", *wheels, *sdists)
    assert out.count("PASSED") == 2


def test_wheel_holds_the_package_and_its_entry_point_only(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        entry_points = z.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "trayapp/cli/__init__.py" in names and "trayapp/py.typed" in names and "trayapp/tray/autostart.py" in names
    assert "trayapp/tk/dialog.py" in names and "trayapp/core/service.py" in names
    assert all(n.startswith(("trayapp/", "aws_session_tray-")) for n in names), "only the package goes into the wheel"
    assert "trayapp = trayapp.cli:main" in entry_points


def test_the_distribution_is_aws_session_tray_not_the_unrelated_trayapp(dist: Path) -> None:
    """``trayapp`` on the package index is someone else's project: ours has a name of its own, while
    the command and the import package stay ``trayapp``; the wheel carries the compiled translations
    (the tray's icons are drawn by trayapp/icons.py at run time and need no file)."""
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    assert wheel.name == f"aws_session_tray-{__version__}-py3-none-any.whl"
    assert sdist.name == f"aws_session_tray-{__version__}.tar.gz"
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        metadata = z.read(f"aws_session_tray-{__version__}.dist-info/METADATA").decode()
    assert "Name: aws-session-tray\n" in metadata and f"Version: {__version__}\n" in metadata
    assert "trayapp/locale/ja/LC_MESSAGES/trayapp.mo" in names
    with tarfile.open(sdist) as t:
        members = {m.split("/", 1)[1] for m in t.getnames() if "/" in m}
    assert {
        "trayapp/locale/ja/LC_MESSAGES/trayapp.mo",
        "packaging/release.sh",
        "packaging/linux/build-deb.sh",
    } <= members


def test_every_install_hint_names_aws_session_tray() -> None:
    """README, docs/ and the program's own hints: an install of ``trayapp`` from the index would
    install the unrelated project of that name."""
    wrong = re.compile(r"(pipx? install|pipx inject|pip install)[^\n`]*?(?<![\w./-])['\"]?trayapp(\[|['\"\s]|$)")
    sources = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "trayapp").rglob("*.py"),
               *(ROOT / "packaging").rglob("*.sh")]  # fmt: skip
    found = [f"{path.relative_to(ROOT)}: {line.strip()}" for path in sources
             for line in path.read_text(encoding="utf-8").splitlines() if wrong.search(line)]  # fmt: skip
    assert not found, "\n".join(found)


def test_demo_without_moto_says_to_install_aws_session_tray_with_the_demo_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from trayapp.cli import demo

    monkeypatch.setattr(demo, "moto_available", lambda: False)
    with pytest.raises(demo.DemoUnavailable) as refused:
        demo.start_sts()
    assert "pipx install 'aws-session-tray[demo]'" in str(refused.value)


def test_wheel_installed_into_a_fresh_venv_runs_for_a_new_user(dist: Path, tmp_path: Path) -> None:
    """What `pipx install trayapp-*.whl` does: its own venv, the wheel, its dependencies."""
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    (wheel,) = dist.glob("*.whl")
    run(venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel, timeout=600)
    home = tmp_path / "home"
    home.mkdir()
    trayapp = venv / "bin" / "trayapp"
    env = user_env(home)
    assert run(trayapp, "--version", env=env, cwd=home).strip() == f"trayapp {__version__}"
    out = run(trayapp, "list", env=env, cwd=home)
    assert out.startswith(f"No role profiles in {home}/.aws/config")
    # The installed wheel's own translations and icons: a Japanese sentence, every state drawn.
    ja = run(trayapp, "list", env={**env, "LANGUAGE": "ja"}, cwd=home)
    assert ja != out and not ja.isascii()
    icons = run(venv / "bin" / "python", "-I", "-m", "trayapp.icons", "--write", home / "icons", env=env, cwd=home)
    assert len(icons.split()) >= 20
    # Login start points at the installed entry point.
    code = "from trayapp.tray.autostart import launch_command; print(launch_command()[0])"
    assert run(venv / "bin" / "python", "-c", code, env=env, cwd=home).strip() == str(trayapp)


# --- the README's run command -------------------------------------------------------------

TEST_ONLY = {"gcc", "pkg-config", "xvfb", "xdotool", "trayer", "xfce4-panel", "faketime", "pipx", "libcairo2-dev"}


def package_list(name: str) -> set[str]:
    lines = (PACKAGING / name).read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def test_run_sh_installs_no_compiler_and_no_test_tools_but_python_venv_and_tk() -> None:
    """A fresh Debian 12's python3 has no venv and no tkinter; the test tools and PyGObject's build
    needs (two minutes before the icon) belong to test.sh alone."""
    run_list = package_list("system-packages.txt")
    assert {"python3-venv", "python3-tk"} <= run_list and not run_list & TEST_ONLY
    assert package_list("test-packages.txt") >= TEST_ONLY
    assert "test-packages.txt" not in (PACKAGING / "run.sh").read_text()


def test_run_sh_sets_up_without_pygobject_and_a_second_run_starts_without_pip(tmp_path: Path) -> None:
    """The first run installs the package alone (no gtk extra: no PyGObject build); the second runs
    no pip (a stamp of pyproject.toml) and prints only what trayapp prints."""
    require_tools("git")
    checkout = fresh_checkout(tmp_path / "trayapp")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    first = subprocess.run(["bash", "packaging/run.sh", "--version"], cwd=checkout, env=env, capture_output=True,
                           text=True, timeout=900)  # fmt: skip
    assert first.returncode == 0 and first.stdout == f"trayapp {__version__}\n", first.stdout + first.stderr
    no_gi = subprocess.run([checkout / ".venv/bin/python", "-c", "import gi"], capture_output=True, text=True)
    assert "No module named 'gi'" in no_gi.stderr, "run.sh built PyGObject"
    second = subprocess.run(["bash", "packaging/run.sh", "--version"], cwd=checkout, env=env, capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert (second.returncode, second.stdout, second.stderr) == (0, f"trayapp {__version__}\n", "")


# --- Linux desktop files ---------------------------------------------------------------


@needs_validator
def test_desktop_entry_is_valid() -> None:
    validate(LINUX / "trayapp.desktop")


def test_hicolor_icons_are_the_rendered_tray_icon_at_every_size() -> None:
    from trayapp.icons import render

    for size in HICOLOR_SIZES:
        path = LINUX / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "trayapp.png"
        with Image.open(path) as img:
            assert img.size == (size, size) and img.mode == "RGBA"
            diff = ImageChops.difference(img, render("none", size)).getextrema()
            assert max(high for _, high in diff) <= 8, f"{path} is out of date: run packaging/linux/make_icons.py"


@needs_validator
def test_install_desktop_script_installs_for_the_user_and_uninstalls(tmp_path: Path) -> None:
    home = tmp_path / "home"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    fake = bin_dir / "trayapp"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    env = {**user_env(home), "PATH": f"{bin_dir}:/usr/bin:/bin"}
    home.mkdir()
    run(LINUX / "install-desktop.sh", env=env)
    entry = home / ".local/share/applications/trayapp.desktop"
    validate(entry)
    assert f"Exec={fake}\n" in entry.read_text()
    for size in HICOLOR_SIZES:
        assert (home / f".local/share/icons/hicolor/{size}x{size}/apps/trayapp.png").is_file()
    assert not (home / ".local/share/icons/hicolor/icon-theme.cache").exists()

    run(LINUX / "install-desktop.sh", "--uninstall", env=env)
    assert not entry.exists()
    assert not list((home / ".local/share/icons").rglob("*.png"))


def test_install_desktop_script_refuses_without_a_trayapp(tmp_path: Path) -> None:
    result = subprocess.run(
        [LINUX / "install-desktop.sh"], env=user_env(tmp_path), capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 1 and "trayapp is not on PATH" in result.stderr
    assert not (tmp_path / ".local").exists()


# --- PyInstaller recipes, read on paper --------------------------------------------------


class Recorder:
    def __init__(self, kind: str, calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]]) -> None:
        self.kind, self.calls = kind, calls

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((self.kind, args, kwargs))
        return Stub()


class Stub:
    datas: list[tuple[str, str, str]] = []  # noqa: RUF012
    pure: list[Any] = []  # noqa: RUF012
    scripts: list[Any] = []  # noqa: RUF012
    binaries: list[Any] = []  # noqa: RUF012


def read_spec(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Run a .spec with PyInstaller's build steps recorded instead of performed."""
    pytest.importorskip("PyInstaller")
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
    names = ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")
    scope: dict[str, Any] = {n: Recorder(n, calls) for n in names}
    scope |= {"SPECPATH": str(path.parent), "__file__": str(path)}
    exec(compile(path.read_text(), str(path), "exec"), scope)
    out: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    for kind, args, kwargs in calls:
        out[kind].append({"args": args, **kwargs})
    return out


def test_macos_recipe_builds_an_agent_app_without_a_dock_icon() -> None:
    spec = read_spec(PACKAGING / "macos" / "trayapp.spec")
    (bundle,) = spec["BUNDLE"]
    assert bundle["name"] == "trayapp.app"
    assert bundle["info_plist"]["LSUIElement"] is True
    assert bundle["bundle_identifier"] == "com.trayapp.app"
    assert Path(bundle["icon"]).is_file()
    (exe,) = spec["EXE"]
    assert exe["console"] is False and exe["argv_emulation"] is False
    (analysis,) = spec["Analysis"]
    assert analysis["args"][0] == [str(PACKAGING / "frozen_entry.py")]
    assert {"trayapp.tk.dialog", "trayapp.tk.popup_menu", "trayapp.tk.clipboard"} <= set(analysis["hiddenimports"])


def test_windows_recipe_builds_a_windowed_tray_and_a_console_cli() -> None:
    spec = read_spec(PACKAGING / "windows" / "trayapp.spec")
    exes = {e["name"]: e for e in spec["EXE"]}
    assert exes["trayapp"]["console"] is False
    assert exes["trayapp-cli"]["console"] is True
    assert {"trayapp.tk.dialog", "trayapp.tk.popup_menu", "trayapp.tk.clipboard"} <= set(
        spec["Analysis"][0]["hiddenimports"]
    )
    assert "trayapp.cli.demo" not in spec["Analysis"][0]["hiddenimports"]


def test_frozen_entry_runs_only_trayapps_own_modules(tmp_path: Path) -> None:
    entry = PACKAGING / "frozen_entry.py"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = run(sys.executable, entry, "-m", "trayapp.icons", "--write", tmp_path, env=env)
    assert str(tmp_path / "icon-none-16.png") in out
    refused = subprocess.run([sys.executable, entry, "-m", "os"], env=env, capture_output=True, text=True)
    assert refused.returncode == 2 and "trayapp's own modules only" in refused.stderr
    assert run(sys.executable, entry, "--version", env=env).strip() == f"trayapp {__version__}"


# --- the single-file Linux build ------------------------------------------------------------

DEMO_CONFIG = """\
[profile admin]
role_arn = arn:aws:iam::123456789012:role/Admin
source_profile = base
mfa_serial = arn:aws:iam::123456789012:mfa/newcomer
region = eu-west-1
"""
DEMO_CREDENTIALS = (
    "[base]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/EXAMPLEKEY\n"
)


@pytest.fixture(scope="module")
def onefile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if not has_module("PyInstaller"):
        pytest.skip("PyInstaller is not installed (pip install pyinstaller)")
    out = tmp_path_factory.mktemp("onefile")
    env = {**os.environ, "PYTHON": sys.executable, "TRAYAPP_BUILD_DIR": str(out / "build")}
    started = time.monotonic()
    run(LINUX / "build-onefile.sh", "--distpath", out / "dist", env=env, timeout=900)
    binary = out / "dist" / "trayapp"
    print(f"\nonefile build: {time.monotonic() - started:.0f} s, {binary.stat().st_size / 1e6:.1f} MB")
    yield binary


@pytest.mark.slow
def test_onefile_binary_runs_the_command_line_for_a_new_user(onefile: Path, tmp_path: Path) -> None:
    env = user_env(tmp_path)
    assert run(onefile, "--version", env=env, cwd=tmp_path).strip() == f"trayapp {__version__}"
    out = run(onefile, "list", env=env, cwd=tmp_path)
    assert out.startswith(f"No role profiles in {tmp_path}/.aws/config")


@pytest.mark.slow
def test_onefile_binary_assumes_a_role_against_sts(onefile: Path, aws_home: Path, moto_sts: Any) -> None:
    """botocore's STS model made it into the trimmed binary."""
    (aws_home / ".aws" / "config").write_text(DEMO_CONFIG)
    (aws_home / ".aws" / "credentials").write_text(DEMO_CREDENTIALS)
    env = aws_env(aws_home, moto_sts.url, base=user_env(aws_home))
    out = run(onefile, "assume", "admin", "--code", "123456", env=env, cwd=aws_home)
    assert "session profile 'admin-session'" in out
    assert "[admin-session]" in (aws_home / ".aws" / "credentials").read_text()


@pytest.mark.slow
@pytest.mark.desktop
def test_onefile_binary_opens_its_mfa_dialog_as_a_child_of_itself(
    onefile: Path, aws_home: Path, moto_sts: Any, desktop: Desktop
) -> None:
    """`assume` without a code on a display: the frozen app starts itself with -m trayapp.tk.dialog."""
    (aws_home / ".aws" / "config").write_text(DEMO_CONFIG)
    (aws_home / ".aws" / "credentials").write_text(DEMO_CREDENTIALS)
    env = aws_env(aws_home, moto_sts.url, base=desktop.env)
    proc = subprocess.Popen(
        [onefile, "assume", "admin"], env=env, cwd=aws_home, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        desktop.wait_for_window("MFA code", timeout=30)
        desktop.type_into("MFA code", "123456")
        desktop.key("MFA code", "Return")
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "session profile 'admin-session'" in out
