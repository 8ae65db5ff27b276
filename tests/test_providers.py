"""Issue 29 item 2: the engine's providers answer "does assuming P ask for a code now?" once, for
the dialog's early show and the tray's silent renewal alike; against moto's STS (a real MFA session)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.aws_files import CONFIG, CREDENTIALS, env_for
from trayapp.core.mfa import UsedCodes
from trayapp.core.prompts import MfaRequest
from trayapp.core.service import Service
from trayapp.tray.dialog_prompt import show_early

MORE = (
    CONFIG
    + """
[profile stage]
role_arn = arn:aws:iam::555555555555:role/Stage
source_profile = base
mfa_serial = arn:aws:iam::000000000000:mfa/alice

[profile long]
role_arn = arn:aws:iam::777777777777:role/Long
source_profile = base
mfa_serial = arn:aws:iam::000000000000:mfa/alice
duration_seconds = 7200

[profile generated]
role_arn = arn:aws:iam::777777777777:role/Generated
source_profile = base
mfa_serial = arn:aws:iam::000000000000:mfa/alice
mfa_process = otp-tool
"""
)


class OneCode:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def ask(self, request: MfaRequest, error: str | None = None) -> str | None:
        self.asked.append(request.profile)
        return "123456"

    def close(self) -> None:
        pass


class Dialog:
    """The dialog as show_early sees it: a window that can be shown before the first question."""

    def __init__(self) -> None:
        self.shown: list[str] = []

    def show(self, request: MfaRequest) -> None:
        self.shown.append(request.profile)


@pytest.fixture
def engine(moto_sts: Any, aws_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Service]:
    (aws_home / ".aws" / "config").write_text(MORE)
    creds = aws_home / ".aws" / "credentials"
    creds.write_text(CREDENTIALS)
    creds.chmod(0o600)
    env = env_for(aws_home, moto_sts.url)
    for key in ("AWS_ENDPOINT_URL_STS", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.setenv(key, env[key])  # botocore reads these from the process environment
    yield Service(environ=env, mfa_sessions=True, used_codes=UsedCodes(time.time))


def early(engine: Service, profile: str) -> bool:
    dialog = Dialog()
    return show_early(dialog, engine, profile) and dialog.shown == [profile]  # type: ignore[arg-type]


def test_the_engine_says_when_a_code_is_needed_and_the_dialogs_early_show_asks_it(engine: Service) -> None:
    assert engine.needs_code("prod") and engine.needs_code("stage") and early(engine, "stage")
    assert not engine.needs_code("dev")  # no MFA device
    assert not engine.needs_code("deep")  # chained from prod: prod is asked about first
    assert not engine.needs_code("generated") and not early(engine, "generated")  # mfa_process answers

    prompt = OneCode()
    engine.assume("prod", prompt)  # the code starts an MFA session
    assert prompt.asked == ["prod"]

    assert not engine.needs_code("stage") and not early(engine, "stage")  # the MFA session signs it
    assert engine.needs_code("long") and early(engine, "long")  # two hours: longer than it may sign
    assert not engine.needs_code("long", 3600)
    engine.assume("stage", prompt)
    assert prompt.asked == ["prod"]  # the engine was right: no code

    engine.end_mfa_sessions()  # "End MFA session" in the menu
    assert engine.needs_code("stage") and early(engine, "stage")


def test_a_renewal_is_decided_for_the_duration_its_session_keeps(engine: Service) -> None:
    """Issue 29: 'long' assumed for an hour on the MFA session was warned instead of renewed, because
    the decision took the profile's two hours while the renewal keeps the session's hour."""
    prompt = OneCode()
    engine.assume("long", prompt, duration=3600)
    assert prompt.asked == ["long"]  # the first code (GetSessionToken)
    held = engine.sessions()["long"]
    assert held.duration == 3600
    assert engine.can_renew_silently("long", held.duration)
    assert not engine.can_renew_silently("long")  # for its profile's two hours a code is needed
    engine.assume("long", prompt, duration=held.duration)
    assert prompt.asked == ["long"]  # renewed without a code
