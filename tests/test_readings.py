"""The tray's reading after a change — which reads again only what changed — is a first reading's.

The tray (``Service(resident=True)``) keeps what its last reading found: each file's sections by their
text (``ini.Recall``), each role profile's own check, each role's entry and menu line.  Over generated
configs and a long run of changes (profiles edited, added, removed, overridden from the credentials
file as botocore merges them, sessions written, roles hidden, SSO profiles, broken and chained roles,
texts configparser must judge), the resident reading must give what a fresh reading of the same
files gives — roles, problems, merged profiles, SSO profiles and the whole menu a user opens, every
submenu included — and the roles botocore itself resolves.  Timing is bench/sni_bench.py's.
"""

from __future__ import annotations

import os
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from trayapp.core import ini
from trayapp.core.errors import TrayappError
from trayapp.core.preferences import Preferences
from trayapp.core.service import Service
from trayapp.core.sts import Credentials
from trayapp.tray.dbus_wire import Marshalled
from trayapp.tray.dbusmenu import DbusMenu
from trayapp.tray.view import Snapshot, take_snapshot

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NAMES = [f"p{i}" for i in range(10)]
KEYS = "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
MANAGED = "trayapp_managed = 1\n"
#: Lines of the files, plain and not (a header, keys, comments, a "[" line that is no header, nested values…).
LINES = ["[a]", "[b]", "[profile x]", "[a] trailing", "[unclosed", "[DEFAULT]", "key = value", "KEY: v", "x =",
         "= no key", "just words", "# c", "; c", "", "  indented = nested", "\tcontinued", "  # indented comment",
         "region = eu-west-1", "ünï = välue"]  # fmt: skip
CHANGES = ["edit", "edit", "add", "remove", "override", "unoverride", "session", "session", "session",
           "unsession", "shuffle", "odd"]  # fmt: skip
PLAIN = ["key = value", "other: v", "x =", "# c", "; c", "", "region = eu-west-1", "ünï = välue", "y = [z]"]


class Panel:
    """The tray's dbusmenu object called as a panel calls it (AboutToShow, then GetLayout a level)."""

    def __init__(self) -> None:
        self.menu = DbusMenu(lambda _action: None, lambda _member, _sig, _body: None)

    def open(self, ident: int = 0) -> list[tuple[int, dict[str, Any]]]:
        from jeepney.low_level import Endianness, parse_signature

        methods = self.menu.methods()
        methods["AboutToShow"]((ident,))
        signature, body = methods["GetLayout"]((ident, 1, []))
        assert isinstance(body, Marshalled)
        (_rev, (_id, _props, children)), _end = parse_signature(list(f"({signature})")).parse_data(
            body, 0, Endianness.little
        )
        return [(cid, {k: v for k, (_s, v) in props.items()}) for _sig, (cid, props, _c) in children]


def _profile_lines(rng: random.Random, name: str) -> list[str]:
    """One profile's keys: a role (plain, MFA, chained, broken), an SSO profile, or a plain one."""
    kind = rng.choice(["role", "role", "role", "mfa", "chain", "sso", "plain", "broken"])
    if kind == "sso":
        return ["sso_session = corp", "sso_account_id = 123456789012", f"sso_role_name = Set{rng.randint(0, 2)}"]
    if kind == "plain":
        return [f"region = {rng.choice(['eu-west-1', 'us-east-1'])}"]
    account = rng.choice(["111111111111", "222222222222"])
    arn = "not-an-arn" if kind == "broken" else f"arn:aws:iam::{account}:role/R{rng.randint(0, 3)}"
    lines = [f"role_arn = {arn}"]
    source = rng.choice(NAMES) if kind == "chain" else ("nowhere" if rng.random() < 0.05 else "base")
    lines.append(f"source_profile = {source}")
    if kind == "mfa" or rng.random() < 0.3:
        lines.append("mfa_serial = arn:aws:iam::000000000000:mfa/alice")
    if rng.random() < 0.3:
        lines.append(f"region = {rng.choice(['eu-west-1', 'ap-south-1', 'ap-south-1', 'bad region'])}")
    if rng.random() < 0.2:
        lines.append(f"duration_seconds = {rng.choice(['1800', '3600', '3600', '7'])}")
    return lines


class Files:
    """The config and credentials files as a user and trayapp change them, written as editors do
    (a new file moved over the old one)."""

    def __init__(self, root: Path, rng: random.Random) -> None:
        self.rng = rng
        self.config_path = root / "config"
        self.credentials_path = root / "credentials"
        self.config: dict[str, list[str]] = {"sso-session corp": ["sso_start_url = https://corp.example.com/start"]}
        self.config["sso-session corp"].append("sso_region = eu-west-1")
        self.credentials: dict[str, list[str]] = {"base": KEYS.splitlines()}
        self.odd = ""  # a line that makes the text configparser's to judge
        for name in rng.sample(NAMES, 6):
            self.config[f"profile {name}"] = _profile_lines(rng, name)

    def write(self) -> None:
        sections = list(self.config.items())
        text = "".join(f"[{header}]\n" + "".join(line + "\n" for line in lines) + "\n" for header, lines in sections)
        _replace(self.config_path, text + self.odd)
        text = "".join(
            f"[{header}]\n" + "".join(line + "\n" for line in lines) for header, lines in self.credentials.items()
        )
        _replace(self.credentials_path, text)

    def change(self) -> str:
        """One change a user or a tool makes; what it was."""
        rng = self.rng
        name = rng.choice(NAMES)
        header = f"profile {name}"
        what = rng.choice(CHANGES)
        if (what == "edit" and header in self.config) or what == "add":
            self.config[header] = _profile_lines(rng, name)
        elif what == "remove":
            self.config.pop(header, None)
        elif what == "override":  # botocore's merge: the credentials file's [name] wins
            self.credentials[name] = rng.choice(
                [
                    [f"role_arn = arn:aws:iam::999999999999:role/Over{rng.randint(0, 2)}", "source_profile = base"],
                    ["mfa_serial = arn:aws:iam::000000000000:mfa/from-credentials"],
                    ["region = sa-east-1"],
                    KEYS.splitlines(),
                ]
            )
        elif what == "unoverride":
            self.credentials.pop(name, None)
        elif what == "session":  # mostly for a profile of the config
            name = rng.choice([h.removeprefix("profile ") for h in self.config if h.startswith("profile ")] or NAMES)
            minutes = rng.choice([-5, 3, 42, 300])
            expires = (NOW + timedelta(minutes=minutes)).isoformat()
            self.credentials[f"{name}-session"] = [
                *KEYS.replace("AKIA", "ASIA").splitlines(),
                "aws_session_token = token",
                f"trayapp_profile = {name}",
                f"trayapp_expiration = {expires}",
                MANAGED.strip(),
            ]
        elif what == "unsession":
            self.credentials.pop(f"{name}-session", None)
        elif what == "shuffle":
            items = list(self.config.items())
            rng.shuffle(items)
            self.config = dict(items)
        elif what == "odd":
            self.odd = rng.choice(["", "", "[unclosed = line\n", "  indented = nested\n", "[DEFAULT]\nregion = x\n"])
        self.write()
        return what


def _replace(path: Path, text: str) -> None:
    if path.exists() and path.read_text() == text:
        return  # a file nobody changed keeps its stamp
    temporary = path.with_name(path.name + ".new")
    temporary.write_text(text)
    os.replace(temporary, path)


def _reading(service: Service, shown: list[Snapshot]) -> Any:
    """What a user sees of *service*'s reading: roles, problems, merged profiles, SSO profiles,
    and the menu as the tray shows it with every submenu opened; or the error shown instead.
    *shown*: the snapshots shown so far; the last one's role lines are reused, as the tray does."""
    snapshot = take_snapshot(service, previous=shown[-1] if shown else None)
    shown.append(snapshot)
    try:
        cfg = service.config()
        sso = service.sso()
        return {
            "roles": service.roles(),
            "all_roles": service.roles(include_hidden=True),
            "problems": list(service.problems().items()),
            "merged": {name: dict(values) for name, values in cfg.merged.items()},
            "profiles": {name: dict(values) for name, values in cfg.profiles.items()},
            "sso": (sso.profiles, sso.problems),
            "sessions": service.sessions(),
            "menu": [node.to_json() for node in snapshot.menu],  # every submenu built
            "state": snapshot.state,
        }
    except TrayappError as exc:
        return str(exc)


def _botocore_roles(files: Files) -> dict[str, tuple[Any, ...]]:
    """Each profile botocore itself resolves with a role_arn: its role, source and MFA device."""
    session = botocore.session.Session(
        session_vars={
            "config_file": (None, None, str(files.config_path), None),
            "credentials_file": (None, None, str(files.credentials_path), None),
        }
    )
    return {
        name: (values.get("role_arn"), values.get("source_profile"), values.get("mfa_serial"))
        for name, values in session.full_config["profiles"].items()
        if "role_arn" in values
    }


@pytest.mark.parametrize("seed", range(6))
def test_the_resident_reading_after_each_change_is_a_first_reading(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    files = Files(tmp_path, rng)
    files.write()
    environ = {
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(files.config_path),
        "AWS_SHARED_CREDENTIALS_FILE": str(files.credentials_path),
    }
    prefs = Preferences()

    now = NOW

    def service(resident: bool) -> Service:
        return Service(environ=environ, clock=lambda: now, preferences=lambda: prefs, resident=resident)

    tray = service(resident=True)  # the tray's, for the whole run
    snapshots: list[Snapshot] = []  # what it showed
    seen: set[str] = set()
    for step in range(40):
        what = files.change() if step else "first"
        now += timedelta(seconds=rng.choice([0, 20, 61, 150]))  # the labels count the minutes down
        if rng.random() < 0.15:
            prefs = replace(prefs, hidden=frozenset(rng.sample(NAMES, 2)))
        expected = _reading(service(resident=False), [])  # read from nothing
        assert _reading(tray, snapshots) == expected, f"seed {seed}, step {step}: after '{what}'"
        if isinstance(expected, dict):
            seen.add("read")
            resolved = _botocore_roles(files)
            for entry in expected["all_roles"]:
                role = entry.role
                assert resolved[role.name] == (role.role_arn, role.source_profile, role.mfa_serial)
        else:
            seen.add("error")
    assert "read" in seen


def test_a_role_submenu_opened_after_a_change_shows_the_new_values(tmp_path: Path) -> None:
    config, credentials = tmp_path / "config", tmp_path / "credentials"
    mfa = "mfa_serial = arn:aws:iam::000000000000:mfa/alice\n"
    roles = "".join(
        f"[profile r{i:03}]\nrole_arn = arn:aws:iam::111111111111:role/R{i}\nsource_profile = base\n{mfa}\n"
        for i in range(200)
    )
    _replace(config, roles)
    _replace(credentials, "[base]\n" + KEYS)
    environ = {"HOME": str(tmp_path), "AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(credentials)}
    tray = Service(environ=environ, clock=lambda: NOW, preferences=Preferences, resident=True)
    panel = Panel()

    shown: list[Snapshot] = []

    def refresh() -> dict[str, int]:
        shown.append(take_snapshot(tray, previous=shown[-1] if shown else None))
        panel.menu.set_menu(shown[-1].menu)
        return {str(props.get("label")): ident for ident, props in panel.open()}

    def submenu(line: str) -> list[tuple[str, bool]]:
        return [(str(p.get("label", "---")), bool(p.get("enabled", True))) for _i, p in panel.open(refresh()[line])]

    assert submenu("r100 — needs MFA")[:2] == [("Assume role", True), ("Open AWS console", False)]
    other = submenu("r101 — needs MFA")
    # The user renames r100 in the config and drops its MFA device; a session is written for r101.
    _replace(
        config,
        roles.replace("[profile r100]\n", "[profile renamed]\n").replace(
            f"R100\nsource_profile = base\n{mfa}", "R100\nsource_profile = base\n"
        ),
    )
    tray.write_session(
        "r101",
        "arn:aws:iam::111111111111:role/R101",
        Credentials("ASIA" + "A" * 16, "s" * 40, "t"),
        NOW + timedelta(minutes=42),
        "eu-west-1",
    )
    lines = refresh()
    assert "r100 — needs MFA" not in lines and "renamed" in lines
    renamed = submenu("renamed")
    assert renamed[0] == ("Assume role", True)
    assert any("AWS__PROFILE=renamed-session" in label for label, _on in renamed)
    assert submenu("r101 — 42 min left") != other
    assert submenu("r101 — 42 min left")[:2] == [("Renew session", True), ("Open AWS console", True)]
    assert submenu("r101 — 42 min left")[-1] == ("Forget session", True)
    # The credentials file overrides r102's role as botocore merges it: its line is read again.
    _replace(credentials, credentials.read_text() + "\n[r102]\nmfa_serial = arn:aws:iam::000000000000:mfa/bob\n")
    assert tray.config().role("r102").mfa_serial == "arn:aws:iam::000000000000:mfa/bob"
    assert submenu("r102 — needs MFA")[0] == ("Assume role", True)


@pytest.mark.parametrize("seed", range(4))
def test_the_recall_reads_changed_texts_as_the_whole_reading_does(seed: int) -> None:
    rng = random.Random(seed)
    recall = ini.Recall()
    sections: list[list[str]] = [["# preamble"]] + [[f"[s{k}]", "key = value"] for k in range(8)]
    plain_seen = 0
    for _ in range(300):
        at = rng.randrange(len(sections))
        change = rng.random()
        if change < 0.5:  # a section's lines edited
            header, pool = (sections[at][:1], PLAIN) if at else ([], ["# c", "; c", ""])  # 0: before any header
            odd = [rng.choice(LINES)] if rng.random() < 0.1 else []
            sections[at] = header + rng.sample(pool, rng.randint(0, 3)) + odd
        elif change < 0.75:
            odd = rng.random() < 0.1  # a repeated name, a "[" line that is no header, a nested value…
            repeated = rng.choice([section[0] for section in sections[1:]] or ["[s0]"])
            sections.insert(
                at + 1, [rng.choice([*LINES, repeated, repeated]) if odd else f"[n{rng.random()}]", "x = 1"]
            )
        elif len(sections) > 1:  # a section removed (an odd one as likely as any)
            del sections[max(at, 1)]
        text = "\n".join(line for section in sections for line in section) + rng.choice(["", "\n", "\r\n"])
        expected = ini.parse_plain(text)
        plain_seen += expected is not None
        assert ini.parse_plain(text, recall) == expected, repr(text)
    assert plain_seen > 30  # the generator does reach the plain shape, and leaves it again
