"""Silent renewal in the tray, with an injected clock and the scheduler's one timer under test control.

While the MFA session lasts, a session nearing expiry is renewed without a prompt and without a
warning; once the MFA session has ended, the warning notification (with Renew) appears instead.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.clock import Clock
from tests.support.service_fakes import CONFIG, ScriptedPrompt
from tests.support.tray_timers import Recorder, Timers, wait
from trayapp.core.mfa import UsedCodes
from trayapp.core.preferences import Preferences
from trayapp.core.service import Service
from trayapp.core.sts import Credentials
from trayapp.tray.app import TrayApp
from trayapp.tray.prefs import PrefsHolder


class Sts:
    """STS answering from the injected clock (moto's expirations follow the real one)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.calls: list[dict[str, Any]] = []

    def client(self, credentials: Credentials, region: str) -> Any:
        sts = self

        class Client:
            def _creds(self, seconds: int, n: int) -> dict[str, Any]:
                return {"AccessKeyId": f"ASIA{n:016d}", "SecretAccessKey": f"s{n}", "SessionToken": f"t{n}",
                        "Expiration": sts.clock() + timedelta(seconds=seconds)}  # fmt: skip

            def get_session_token(self, **params: Any) -> dict[str, Any]:
                sts.calls.append({"Action": "GetSessionToken", **params})
                return {"Credentials": self._creds(params["DurationSeconds"], len(sts.calls))}

            def assume_role(self, **params: Any) -> dict[str, Any]:
                sts.calls.append({"Action": "AssumeRole", "signer": credentials.access_key_id, **params})
                return {"Credentials": self._creds(params["DurationSeconds"], len(sts.calls)),
                        "AssumedRoleUser": {"Arn": "arn:aws:sts::222222222222:assumed-role/Admin/x"}}  # fmt: skip

        return Client()


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    aws = tmp_path / ".aws"
    aws.mkdir()
    (aws / "config").write_text(CONFIG)
    (aws / "credentials").write_text("[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s\n")
    return {"HOME": str(tmp_path)}


def test_renewed_silently_while_the_mfa_session_lasts_then_warned(home: dict[str, str]) -> None:
    clock, timers, sts, notes = Clock(), Timers(), None, Recorder()
    sts = Sts(clock)
    prefs = PrefsHolder()
    prefs.set(Preferences())
    service = Service(environ=home, clock=clock, sts_clients=sts.client, preferences=prefs,
                      source_resolver=lambda role: Credentials("AKIABASE", "s"),
                      used_codes=UsedCodes(lambda: clock().timestamp()), mfa_sessions=True)  # fmt: skip
    prompts: list[ScriptedPrompt] = []

    def prompt() -> ScriptedPrompt:
        prompts.append(ScriptedPrompt("123456"))
        return prompts[-1]

    app = TrayApp(service, notifier=notes, timer_factory=timers, monotonic=clock.monotonic, watch=False, prefs=prefs,
                  prompt_factory=prompt, copy=lambda text: None, popup=lambda menu: None)  # fmt: skip
    app._start_services()
    app.perform("assume:prod")
    wait(app)
    first = service.sessions()["prod"].expires_at
    assert first == clock() + timedelta(hours=1)
    assert [c["Action"] for c in sts.calls] == ["GetSessionToken", "AssumeRole"]
    assert len(timers.pending()) == 1

    # 51 minutes on: inside the 10-minute warning window → renewed with no prompt, no warning
    clock.now += timedelta(minutes=51)
    timers.fire()
    wait(app)
    renewed = service.sessions()["prod"].expires_at
    assert renewed == clock() + timedelta(hours=1) and renewed > first
    assert [len(p.asked) for p in prompts] == [1]
    assert sts.calls[-1]["Action"] == "AssumeRole" and "TokenCode" not in sts.calls[-1]
    assert not [n for n in notes.sent if "expires" in n.title]
    assert len(timers.pending()) == 1

    # the MFA session ends (here: the user ends it from the menu) → the next warning is a notification
    app.perform("end-mfa")
    wait(app)
    clock.now = renewed - timedelta(minutes=9)
    while not [n for n in notes.sent if "expires" in n.title]:
        timers.fire()
        wait(app)
    (warning,) = [n for n in notes.sent if "expires" in n.title]
    assert warning.title == "prod expires in 9 min" and warning.actions == (("renew", "Renew"),)
    assert service.sessions()["prod"].expires_at == renewed  # not renewed behind the user's back
    assert len(timers.pending()) == 1
    clock.now = renewed + timedelta(seconds=1)
    timers.fire()
    wait(app)
    assert [n.title for n in notes.sent if "expire" in n.title] == ["prod expires in 9 min", "prod expired"]


def test_a_working_day_with_three_roles_takes_one_code(home: dict[str, str]) -> None:
    """08:00 to 17:00 with prod, stage and audit open all day: one code in the morning."""
    config = Path(home["HOME"]) / ".aws" / "config"
    config.write_text(config.read_text() + "\n[profile audit]\nrole_arn = arn:aws:iam::777777777777:role/Audit\n"
                      "source_profile = base\nmfa_serial = arn:aws:iam::000000000000:mfa/alice\n")  # fmt: skip
    clock, timers, notes = Clock(), Timers(), Recorder()
    clock.now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    sts = Sts(clock)
    prefs = PrefsHolder()
    prefs.set(Preferences())
    service = Service(environ=home, clock=clock, sts_clients=sts.client, preferences=prefs,
                      source_resolver=lambda role: Credentials("AKIABASE", "s"),
                      used_codes=UsedCodes(lambda: clock().timestamp()), mfa_sessions=True)  # fmt: skip
    prompts: list[ScriptedPrompt] = []

    def prompt() -> ScriptedPrompt:
        prompts.append(ScriptedPrompt(f"{len(prompts) + 1:06d}"))
        return prompts[-1]

    app = TrayApp(service, notifier=notes, timer_factory=timers, monotonic=clock.monotonic, watch=False, prefs=prefs,
                  prompt_factory=prompt, copy=lambda text: None, popup=lambda menu: None)  # fmt: skip
    app._start_services()
    for name in ("prod", "stage", "audit"):
        app.perform(f"assume:{name}")
        wait(app)
    end = clock.now + timedelta(hours=9)
    while clock.now < end:  # run the day: jump to each armed timer, as the real one would fire
        ((delay, _, _),) = timers.pending()
        clock.now += timedelta(seconds=max(delay, 1e-6))
        timers.fire()
        wait(app)
    codes = sum(len(p.asked) for p in prompts)
    renewals = sum(1 for c in sts.calls if c["Action"] == "AssumeRole") - 3
    assert codes == 1
    assert renewals >= 3 * 8  # each role renewed about hourly, silently
    assert all(s.state(clock(), timedelta(minutes=10)) == "active" for s in service.sessions().values())
    assert not [n for n in notes.sent if "expire" in n.title]
    print(f"codes typed: {codes}; silent renewals: {renewals}; (without trayapp's MFA session: {3 + renewals} codes)")
