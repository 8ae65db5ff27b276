"""The use cases with injected fakes: prompt loop, reused-code guard, chains, refusals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.clock import Clock
from tests.support.service_fakes import CONFIG, NOW, FakeSts, ScriptedPrompt, sts_error
from trayapp.core import errors
from trayapp.core.mfa import UsedCodes
from trayapp.core.service import Service
from trayapp.core.sts import Credentials


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    aws = tmp_path / ".aws"
    aws.mkdir()
    (aws / "config").write_text(CONFIG)
    (aws / "credentials").write_text("[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s\n")
    return {"HOME": str(tmp_path)}


@pytest.fixture
def sts() -> FakeSts:
    return FakeSts()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(env: dict[str, str], sts: FakeSts, clock: Clock) -> Iterator[Service]:
    yield Service(
        environ=env,
        clock=lambda: NOW,
        sts_clients=sts.client,
        source_resolver=lambda role: Credentials("AKIABASE", "s"),
        used_codes=UsedCodes(clock.time),
    )


def test_a_wrong_code_is_shown_in_the_prompt_and_the_next_code_succeeds(service: Service, sts: FakeSts) -> None:
    sts.script = [sts_error("AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code.")]
    prompt = ScriptedPrompt("111111", "222 222")
    result = service.assume("prod", prompt)
    assert [c["TokenCode"] for c in sts.calls] == ["111111", "222222"]
    assert prompt.asked[0][1] is None
    assert prompt.asked[1][1] is not None and "rejected the MFA code" in prompt.asked[1][1]
    assert prompt.closed
    assert result.session.session_profile == "prod-session"
    assert service.status()[0].profile == "prod"


def test_a_reused_code_never_reaches_sts_and_says_how_long_to_wait(
    service: Service, sts: FakeSts, clock: Clock
) -> None:
    service.assume("prod", ScriptedPrompt("123456"))
    clock.now += timedelta(seconds=10)  # same 30-second window
    prompt = ScriptedPrompt("123456", "654321")
    service.assume("prod", prompt)
    assert [c["TokenCode"] for c in sts.calls] == ["123456", "654321"]
    error = prompt.asked[1][1]
    assert error is not None and "already used" in error
    assert f"wait {30 - int(clock.time()) % 30} s" in error


def test_letters_are_refused_without_echoing_them(service: Service, sts: FakeSts) -> None:
    prompt = ScriptedPrompt("12ab56", "123456")
    service.assume("prod", prompt)
    error = prompt.asked[1][1]
    assert error == "An MFA code is six digits; it contains characters other than digits."
    assert len(sts.calls) == 1


def test_cancel_writes_nothing(service: Service, sts: FakeSts, env: dict[str, str]) -> None:
    before = (Path(env["HOME"]) / ".aws" / "credentials").read_bytes()
    with pytest.raises(errors.Cancelled):
        service.assume("prod", ScriptedPrompt(None))
    assert sts.calls == []
    assert (Path(env["HOME"]) / ".aws" / "credentials").read_bytes() == before


def test_giving_up_after_a_failure_raises_that_failure(service: Service, sts: FakeSts) -> None:
    sts.script = [sts_error("AccessDenied", "User: x is not authorized to perform: sts:AssumeRole on resource: y")]
    with pytest.raises(errors.NotAuthorised):
        service.assume("prod", ScriptedPrompt("123456"))


def test_a_chain_asks_each_code_and_signs_with_the_parent_session(service: Service, sts: FakeSts) -> None:
    prompt = ScriptedPrompt("111111", "222222")
    result = service.assume("deep", prompt)
    assert [r.profile for r, _ in prompt.asked] == ["prod", "deep"]
    assert [c["RoleArn"].rsplit("/", 1)[-1] for c in sts.calls] == ["Admin", "Deep"]
    assert sts.signers == ["AKIABASE", "ASIAFAKE000000000001"]
    # STS caps role chaining at one hour: asking for the profile's 7200 s would only fail
    assert sts.calls[1]["DurationSeconds"] == 3600
    assert any("lasts 3600 s instead of 7200 s" in note for note in result.notes)
    assert {s.profile for s in service.status()} == {"prod", "deep"}


def test_a_chain_reuses_a_valid_parent_session(service: Service, sts: FakeSts) -> None:
    service.assume("prod", ScriptedPrompt("111111"))
    prompt = ScriptedPrompt("333333")
    service.assume("deep", prompt)
    assert [r.profile for r, _ in prompt.asked] == ["deep"]
    assert sts.signers[-1] == "ASIAFAKE000000000001"


def test_a_foreign_section_is_refused_before_asking_for_a_code(service: Service, env: dict[str, str]) -> None:
    creds = Path(env["HOME"]) / ".aws" / "credentials"
    creds.write_text(creds.read_text() + "[prod-session]\naws_access_key_id = MINE\n")
    prompt = ScriptedPrompt("123456")
    with pytest.raises(errors.ForeignSection):
        service.assume("prod", prompt)
    assert prompt.asked == []


def test_a_shadowing_config_profile_is_reported(service: Service) -> None:
    result = service.assume("dev", ScriptedPrompt())
    (shadow,) = [note for note in result.notes if "Config profile" in note]
    assert "'dev-session'" in shadow and "sets role_arn" in shadow


def test_messages_never_carry_secrets(service: Service, sts: FakeSts) -> None:
    sts.script = [sts_error("ExpiredToken", "The security token included in the request is expired")]
    with pytest.raises(errors.ExpiredSourceKeys) as info:
        service.assume("dev", ScriptedPrompt())
    assert "AKIABASE" not in str(info.value)
    assert str(info.value) == "The credentials of source profile 'base' have expired; refresh them, then try again."


@pytest.fixture
def resident(env: dict[str, str], sts: FakeSts, clock: Clock) -> Service:
    """A long-lived service, as in the tray: MFA sessions kept in memory."""
    return Service(
        environ=env,
        clock=lambda: NOW,
        sts_clients=sts.client,
        source_resolver=lambda role: Credentials("AKIABASE", "s"),
        used_codes=UsedCodes(clock.time),
        mfa_sessions=True,
    )


def test_one_code_unlocks_every_role_of_the_same_user(resident: Service, sts: FakeSts) -> None:
    prompt = ScriptedPrompt("123456")
    resident.assume("prod", prompt)
    assert not resident.can_renew_silently("long")
    assert resident.can_renew_silently("stage")
    silent = ScriptedPrompt()
    resident.assume("stage", silent)
    resident.assume("prod", silent)
    assert silent.asked == []
    assert [c.get("Action", "AssumeRole") for c in sts.calls] == [
        "GetSessionToken",
        "AssumeRole",
        "AssumeRole",
        "AssumeRole",
    ]
    assert sts.signers[1:] == ["ASIAMFASESSION000001"] * 3
    assert all("TokenCode" not in c for c in sts.calls[1:])
    (mfa,) = resident.mfa_sessions()
    assert mfa.expires_at == NOW + timedelta(hours=12)
    assert "mfa-secret" not in repr(mfa)


def test_a_role_longer_than_an_hour_still_asks_its_own_code(resident: Service, sts: FakeSts) -> None:
    resident.assume("prod", ScriptedPrompt("123456"))
    prompt = ScriptedPrompt("654321")
    resident.assume("long", prompt)
    assert [r.profile for r, _ in prompt.asked] == ["long"]
    assert sts.calls[-1]["TokenCode"] == "654321" and sts.calls[-1]["DurationSeconds"] == 14400


def test_the_preference_turns_mfa_sessions_off(env: dict[str, str], sts: FakeSts, clock: Clock) -> None:
    from trayapp.core.preferences import Preferences

    service = Service(
        environ=env,
        clock=lambda: NOW,
        sts_clients=sts.client,
        source_resolver=lambda role: Credentials("AKIABASE", "s"),
        used_codes=UsedCodes(clock.time),
        mfa_sessions=True,
        preferences=lambda: Preferences(mfa_session=False),
    )
    service.assume("prod", ScriptedPrompt("123456"))
    prompt = ScriptedPrompt("654321")
    service.assume("stage", prompt)
    assert len(prompt.asked) == 1
    assert all(c.get("Action") != "GetSessionToken" for c in sts.calls)
    assert service.mfa_sessions() == []
