"""English and Japanese: messages chosen from the locale, catalogues kept complete and compiled."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.fixtures import aws_env
from trayapp import i18n
from trayapp.core.errors import ReusedCode, UnknownProfile, WrongCode
from trayapp.core.profiles import RoleProfile
from trayapp.core.results import RoleEntry
from trayapp.core.sessions import SessionInfo, time_left
from trayapp.tray import menu_model

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "packaging" / "i18n"
JA_PO = ROOT / "trayapp" / "locale" / "ja" / "LC_MESSAGES" / "trayapp.po"
JA_MO = JA_PO.with_suffix(".mo")

sys.path.insert(0, str(TOOLS))
import compile_mo  # noqa: E402
import extract  # noqa: E402

CONFIG = """\
[profile prod]
role_arn = arn:aws:iam::222222222222:role/Admin
source_profile = base
mfa_serial = arn:aws:iam::000000000000:mfa/alice

[profile legacy]
role_arn = arn:aws:iam::222222222222:role/Legacy
"""

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
WARN = timedelta(minutes=10)
PROD = RoleProfile("prod", "arn:aws:iam::123456789012:role/Admin", "base", mfa_serial="arn:aws:iam::1:mfa/a")
DEV = RoleProfile("dev", "arn:aws:iam::123456789012:role/Dev", "base")


@pytest.fixture
def japanese() -> Iterator[None]:
    i18n.load(["ja"])
    try:
        yield
    finally:
        i18n.load()


def run_cli(home: Path, *args: str, **lang: str) -> subprocess.CompletedProcess[str]:
    env = aws_env(home, "http://127.0.0.1:9")
    for key in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        env.pop(key, None)
    env.update(lang)
    return subprocess.run(
        [sys.executable, "-m", "trayapp", *args],
        env=env, capture_output=True, text=True, encoding="utf-8", timeout=60, check=False,
    )  # fmt: skip


@pytest.fixture
def home(aws_home: Path) -> Path:
    (aws_home / ".aws" / "config").write_text(CONFIG)
    keys = "[base]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = x\n"
    (aws_home / ".aws" / "credentials").write_text(keys)
    return aws_home


# --- the command line in both languages ----------------------------------------------------


def test_a_cli_error_comes_out_in_japanese(home: Path) -> None:
    done = run_cli(home, "env", "nosuch", LANGUAGE="ja", LANG="ja_JP.UTF-8")
    assert done.returncode == 2
    config = home / ".aws" / "config"
    assert done.stderr == f"trayapp: {config} に 'nosuch' という名前のロールプロファイルはありません。\n"


def test_lang_alone_chooses_japanese(home: Path) -> None:
    done = run_cli(home, "env", "nosuch", LANG="ja_JP.UTF-8")
    assert done.returncode == 2 and "ロールプロファイルはありません" in done.stderr


@pytest.mark.parametrize("lang", [{"LANGUAGE": "en", "LANG": "ja_JP.UTF-8"}, {"LANG": "C"}, {"LC_ALL": "C.UTF-8"}, {}])
def test_the_same_error_is_the_english_sentence_otherwise(home: Path, lang: dict[str, str]) -> None:
    done = run_cli(home, "env", "nosuch", **lang)
    assert done.returncode == 2
    assert done.stderr == f"trayapp: There is no role profile named 'nosuch' in {home / '.aws' / 'config'}.\n"


def test_list_and_help_in_japanese(home: Path) -> None:
    listed = run_cli(home, "list", LANGUAGE="ja")
    assert listed.returncode == 0
    assert listed.stdout == "prod\tarn:aws:iam::222222222222:role/Admin\tMFA が必要\n"
    assert listed.stderr == (
        "trayapp: プロファイル 'legacy' は使用できません: "
        "role_arn はありますが、source_profile も credential_source もありません。\n"
    )
    assert "ロールプロファイルとそのセッションを一覧表示する" in run_cli(home, "--help", LANGUAGE="ja").stdout


# --- in process: the menu, errors, the dialog's countdown -----------------------------------


def test_menu_labels_in_japanese(japanese: None) -> None:
    menu = menu_model.build_menu(
        [RoleEntry(PROD, SessionInfo("prod", "arn", NOW + timedelta(minutes=42))), RoleEntry(DEV, None)],
        {"legacy": "bad ARN"}, NOW, WARN,
    )  # fmt: skip
    labels = [n.label for n in menu if not n.separator]
    assert labels == ["prod — 残り 42 分", "dev", "legacy — 使用できません: bad ARN", "設定…", "終了"]
    prod = [n.label for n in menu[0].children or () if not n.separator]
    assert prod == [
        "セッションを更新", "AWS コンソールを開く", "export AWS_PROFILE=prod-session をコピー",
        "export AWS_EB_PROFILE=prod-session をコピー", "セッションを削除"]  # fmt: skip
    assert (menu[1].children or ())[0].label == "ロールを引き受ける"
    assert time_left(timedelta(minutes=185)) == "残り 3 時間 5 分"
    assert time_left(timedelta(0)) == "期限切れ"


def test_english_is_the_text_in_the_code() -> None:
    i18n.load(["en"])
    try:
        assert i18n.language() == "en"
        assert time_left(timedelta(minutes=42)) == "42 min left"
        assert str(UnknownProfile(profile="p", path="/c")) == "There is no role profile named 'p' in /c."
    finally:
        i18n.load()


def test_errors_are_translated_when_built_and_the_dialog_still_counts_down(japanese: None) -> None:
    from trayapp.tk.prefs_window import duration_label
    from trayapp.tray.dialog_prompt import countdown_for

    reused = str(ReusedCode(seconds=12))
    assert reused == "この MFA コードは使用済みです。次のコードまで 12秒待ってから、そのコードを入力してください。"
    assert countdown_for(reused, 0.0) is not None
    assert countdown_for(str(WrongCode()), 0.0) is not None
    assert countdown_for("何か別のエラー", 0.0) is None
    assert ReusedCode.template.startswith("This MFA code was already used")  # the code keeps English
    assert duration_label(5400) == "1 時間 30 分"


def test_window_titles_translate_only_after_the_dash(japanese: None) -> None:
    from trayapp.tk import dialog, prefs_window

    assert dialog.window_title() == "trayapp — MFA コード"
    assert prefs_window.window_title() == "trayapp — 設定"
    i18n.load(["en"])
    assert dialog.window_title() == dialog.TITLE == "trayapp — MFA code"
    assert prefs_window.window_title() == prefs_window.TITLE == "trayapp — Preferences"


# --- the catalogues ------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"\{[^{}]*\}|%\(\w+\)[sd]|%[sd%]")


def ja_entries() -> list[compile_mo.Entry]:
    return [e for e in compile_mo.parse_po(JA_PO.read_text(encoding="utf-8"), str(JA_PO)) if e.msgid]


def test_every_translation_has_the_same_placeholders() -> None:
    wrong = []
    for e in ja_entries():
        wanted = sorted(set(PLACEHOLDER.findall(e.msgid + (e.msgid_plural or ""))))
        for text in e.msgstr:
            if sorted(set(PLACEHOLDER.findall(text))) != wanted:
                wrong.append((e.msgid, text))
    assert wrong == []


def test_the_template_is_current_and_every_message_has_japanese() -> None:
    messages = extract.collect()
    pot = (ROOT / "trayapp" / "locale" / "trayapp.pot").read_text(encoding="utf-8")
    assert pot == extract.pot_text(messages), "run python packaging/i18n/extract.py --merge, then translate"
    translated = {e.msgid for e in ja_entries() if e.translated}
    assert [m.msgid for m in messages if m.msgid not in translated] == []


def test_the_mo_is_compiled_from_the_po(tmp_path: Path) -> None:
    fresh = tmp_path / "trayapp.mo"
    compile_mo.compile_file(JA_PO, fresh)
    assert fresh.read_bytes() == JA_MO.read_bytes(), "run python packaging/i18n/compile_mo.py"


def test_the_compiled_catalogue_reads_back_with_gettext(tmp_path: Path) -> None:
    import gettext

    with JA_MO.open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)
    assert catalogue.info()["language"] == "ja"
    for e in ja_entries():
        if e.msgid_plural is None:
            assert catalogue.gettext(e.msgid) == e.msgstr[0]
        else:  # a plural entry is read through ngettext (gettext() finds it only from Python 3.11.4 on)
            assert catalogue.ngettext(e.msgid, e.msgid_plural, 1) == e.msgstr[0]


# --- the OS's language when the environment says nothing (Windows, apps started from Finder) ----

LOCALE_VARS = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
APPLE_LANGUAGES = '(\n    "ja-JP",\n    "en-US"\n)\n'


class FakeKernel32:
    def __init__(self, langid: int) -> None:
        self.langid = langid

    def GetUserDefaultUILanguage(self) -> int:
        return self.langid


class FakeWindll:
    def __init__(self, langid: int) -> None:
        self.kernel32 = FakeKernel32(langid)


@pytest.fixture
def bare_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in LOCALE_VARS:
        monkeypatch.delenv(name, raising=False)
    try:
        yield monkeypatch
    finally:
        monkeypatch.undo()
        i18n.load()


def fake_defaults(folder: Path, output: str, status: int = 0) -> Path:
    """A ``defaults`` program (macOS's preferences tool) that prints *output* for ``read -g AppleLanguages``."""
    folder.mkdir(exist_ok=True)
    script = folder / "defaults"
    script.write_text(
        f"#!/bin/sh\n[ \"$*\" = 'read -g AppleLanguages' ] || exit 9\nprintf '%s' '{output}'\nexit {status}\n"
    )
    script.chmod(0o755)
    return folder


def test_windows_without_lang_speaks_the_display_language(bare_environment: pytest.MonkeyPatch) -> None:
    import ctypes

    bare_environment.setattr(sys, "platform", "win32")
    bare_environment.setattr(ctypes, "windll", FakeWindll(0x0411), raising=False)  # ja-JP
    i18n.load()
    assert i18n.language() == "ja"
    assert time_left(timedelta(minutes=42)) == "残り 42 分"


def test_windows_in_english_stays_english(bare_environment: pytest.MonkeyPatch) -> None:
    bare_environment.setattr(sys, "platform", "win32")
    i18n.load(windll=FakeWindll(0x0409))  # en-US
    assert i18n.language() == "en"
    i18n.load(windll=object())  # no kernel32 at all: English, no error
    assert i18n.language() == "en"


def test_the_environment_beats_the_os(bare_environment: pytest.MonkeyPatch) -> None:
    bare_environment.setattr(sys, "platform", "win32")
    bare_environment.setenv("LANG", "C")
    i18n.load(windll=FakeWindll(0x0411))
    assert i18n.language() == "en"
    assert i18n.system_languages({"LC_ALL": "ja_JP.UTF-8"}, "win32", windll=FakeWindll(0x0409)) is None


def test_a_mac_app_started_from_finder_speaks_the_system_language(
    bare_environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bare_environment.setattr(sys, "platform", "darwin")
    bare_environment.setenv("PATH", f"{fake_defaults(tmp_path / 'bin', APPLE_LANGUAGES)}:/usr/bin:/bin")
    i18n.load()
    assert i18n.language() == "ja"


def test_the_mac_language_list_is_read_as_locale_names(tmp_path: Path) -> None:
    def run(output: str) -> list[str]:
        return i18n.macos_ui_languages(lambda argv: output)

    assert run(APPLE_LANGUAGES) == ["ja_JP", "en_US"]
    assert run('(\n    "zh-Hans-CN",\n    en\n)\n') == ["zh_CN", "en"]
    assert run("") == [] and run("garbage") == []
    assert i18n.macos_ui_languages(lambda argv: (_ for _ in ()).throw(OSError("no defaults"))) == []


def test_a_mac_cli_run_from_launchd_answers_in_japanese(home: Path, tmp_path: Path) -> None:
    env = aws_env(home, "http://127.0.0.1:9")
    for name in LOCALE_VARS:
        env.pop(name, None)
    env["PATH"] = f"{fake_defaults(tmp_path / 'bin', APPLE_LANGUAGES)}:{env.get('PATH', '/usr/bin:/bin')}"
    code = "import sys; sys.platform = 'darwin'; from trayapp.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", code, "env", "nosuch"],
        env=env, capture_output=True, text=True, encoding="utf-8", timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "ロールプロファイルはありません" in done.stderr


def test_linux_with_nothing_set_asks_no_one(bare_environment: pytest.MonkeyPatch) -> None:
    asked: list[object] = []
    assert i18n.system_languages({}, "linux", run=asked.append) is None
    assert asked == []
