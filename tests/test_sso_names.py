"""Names for profiles made from a directory (core/sso_directory.py, core/sso_names.py), without a
server: whatever a directory holds, the plan appends only sections with safe names, under names
nothing in either file already has; one entry with no free name is skipped with a sentence."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from trayapp.core.profiles import AwsConfig
from trayapp.core.sso_config import SsoConfig, SsoSession
from trayapp.core.sso_directory import Assignment, Plan, missing_profiles

SESSION = SsoSession("corp", "https://corp.awsapps.com/start", "eu-west-1")
SAFE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


def plan(found: list[Assignment], sections: dict[str, dict[str, str]]) -> Plan:
    cfg = AwsConfig(Path("/nonexistent/config"), Path("/nonexistent/credentials"))
    return missing_profiles(cfg, SsoConfig(), SESSION, found, sections)


@settings(max_examples=300, deadline=None)
@given(
    names=st.lists(st.tuples(st.text(max_size=300), st.text(max_size=80)), min_size=1, max_size=8),
    existing=st.lists(st.text(min_size=1, max_size=40), max_size=6),
)
def test_any_directory_names_give_safe_names_no_existing_profile_has(
    names: list[tuple[str, str]], existing: list[str]
) -> None:
    sections = {f"profile {name}": {"region": "eu-west-1"} for name in existing}
    found = [Assignment(f"{n:012d}", account, role) for n, (account, role) in enumerate(names)]
    result = plan(found, sections)
    assert len(result.sections) + len(result.skipped) == len(found)
    taken = {name.casefold() for name in existing}
    for name in result.sections:
        assert SAFE.fullmatch(name) and len(name) <= 90, name
        assert name not in taken and f"{name}-session" not in taken


def test_an_entry_whose_every_name_is_taken_is_skipped_with_a_sentence() -> None:
    base = "prod-admin"
    tried = [base, f"{base}-111111111111", *(f"{base}-111111111111-{n}" for n in range(2, 21))]
    sections = {f"profile {name.upper()}": {"region": "eu-west-1"} for name in tried}
    result = plan([Assignment("111111111111", "Prod", "Admin"), Assignment("222222222222", "Prod", "Admin")], sections)
    assert list(result.sections) == ["prod-admin-222222222222"]
    assert result.skipped == [
        "Skipped account 111111111111, role Admin: every name tried for it ('prod-admin' and more) is taken."
    ]
