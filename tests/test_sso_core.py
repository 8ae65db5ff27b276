"""The sign-in engine in one process, against the SSO stand-in through botocore's real clients: the
loopback callback (state, address, time limit), refresh and sign-out, the cache file's rules."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import stat
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.fixtures import SsoServer
from trayapp.core import errors, sso_cache, sso_registration, sso_signin
from trayapp.core.profiles import AwsConfig
from trayapp.core.sso import SsoSignIns, SsoState
from trayapp.core.sso_cache import SsoToken
from trayapp.core.sso_config import SsoSession, load
from trayapp.core.sso_signin import SsoClients
from trayapp.tray.menu_model import build_menu, parse_action, sso_menu

CORP = SsoSession("corp", "https://corp.awsapps.com/start", "eu-west-1")


@pytest.fixture
def home(tmp_path: Path, sso_server: SsoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for key, value in sso_server.env().items():
        monkeypatch.setenv(key, value)  # botocore reads the endpoints from the process environment
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield tmp_path


def follow(url: str) -> None:
    """What a browser does with the authorize page: follow it to the loopback callback."""
    with urllib.request.urlopen(url, timeout=10) as page:
        page.read()


def signins(home: Path, opener: sso_signin.Opener = follow) -> SsoSignIns:
    return SsoSignIns(
        environ={"HOME": str(home), "XDG_RUNTIME_DIR": str(home), "BROWSER": "the opener"},
        clients=SsoClients(),
        opener=opener,
    )


def test_a_callback_without_the_right_state_is_refused_and_the_sign_in_goes_on(
    home: Path, sso_server: SsoServer
) -> None:
    seen: list[int] = []

    def hostile_then_real(url: str) -> None:
        redirect = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))["redirect_uri"]
        # Another local program that found the port sends its own code (no or a guessed state).
        for query in ("code=evil", "code=evil&state=guess"):
            try:
                urllib.request.urlopen(f"{redirect}?{query}", timeout=5)
            except urllib.error.HTTPError as exc:
                seen.append(exc.code)
        follow(url)

    token, outcome = signins(home, hostile_then_real).ensure(CORP, interactive=True)
    assert seen == [400, 400]
    assert outcome == "signed-in" and token.access_token in sso_server.access
    [create] = sso_server.operations("CreateToken")
    assert create.fields["code"] != "evil"


def test_the_callback_listens_on_127_0_0_1_only(home: Path) -> None:
    refused: list[bool] = []

    def probe(url: str) -> None:
        port = urllib.parse.urlsplit(
            dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))["redirect_uri"]
        ).port
        assert port is not None
        with socket.socket() as other:  # another loopback address: reached only if bound to all of them
            refused.append(other.connect_ex(("127.0.0.2", port)) != 0)
        follow(url)

    signins(home, probe).ensure(CORP, interactive=True)
    assert refused == [True]


def test_a_browser_that_never_answers_ends_the_sign_in(home: Path, sso_server: SsoServer) -> None:
    oidc = SsoClients()("sso-oidc", "eu-west-1")
    client = sso_registration.register(oidc, CORP, "pkce", issuer_url=CORP.start_url, now=datetime.now(UTC)).as_client()
    with pytest.raises(errors.SsoSignInFailed, match="no answer came from the browser"):
        sso_signin.authorization_code(oidc, CORP, client, opener=lambda url: None, limit=0.5)
    assert sso_server.grants() == []


def test_a_refresh_token_sso_refuses_signs_the_session_out_once_the_token_ends(
    home: Path, sso_server: SsoServer
) -> None:
    engine = signins(home)
    engine.ensure(CORP, interactive=True)
    _expire(engine)
    sso_server.refuse_refresh = True
    with pytest.raises(errors.SsoSignedOut, match="run 'trayapp sso login corp'"):
        engine.ensure(CORP, interactive=False)
    assert "refreshToken" not in json.loads(engine.path(CORP).read_text())  # never tried again
    with pytest.raises(errors.SsoSignedOut):
        engine.ensure(CORP, interactive=False)
    assert sso_server.grants() == ["authorization_code", "refresh_token"]


def _expire(engine: SsoSignIns) -> None:
    path = engine.path(CORP)
    data = json.loads(path.read_text())
    data["expiresAt"] = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    path.write_text(json.dumps(data))


def test_a_valid_token_that_cannot_be_refreshed_is_used_without_a_new_sign_in(
    home: Path, sso_server: SsoServer
) -> None:
    engine = signins(home, opener=lambda url: pytest.fail("no browser tab while the token is valid"))
    token = SsoToken(
        CORP.start_url, CORP.region, "at-old", datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=10)
    )
    sso_cache.write(engine.path(CORP), token)
    told: list[tuple[str, datetime]] = []
    engine.ending = lambda name, at: told.append((name, at))
    assert engine.ensure(CORP, interactive=True) == (token, "ending")
    assert told == [("corp", token.expires_at)]  # "sign in again before HH:MM"
    assert sso_server.requests == []


def test_the_cache_file_has_botocores_fields_and_replaces_atomically(tmp_path: Path) -> None:
    path = tmp_path / "sso" / "cache" / "x.json"
    expires = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    token = SsoToken("https://a/start", "eu-west-1", "SECRET-at", expires, "cid", "SECRET-cs", expires, "SECRET-rt")
    sso_cache.write(path, token)
    assert json.loads(path.read_text()) == {
        "startUrl": "https://a/start",
        "region": "eu-west-1",
        "accessToken": "SECRET-at",
        "expiresAt": "2030-01-02T03:04:05Z",
        "clientId": "cid",
        "clientSecret": "SECRET-cs",
        "registrationExpiresAt": "2030-01-02T03:04:05Z",
        "refreshToken": "SECRET-rt",
    }
    assert sso_cache.read(path) == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert os.listdir(path.parent) == ["x.json"]  # no temporary file left behind
    assert "SECRET" not in repr(token)


def test_a_cache_folder_another_user_owns_is_not_written_into(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    token = SsoToken("https://a/start", "eu-west-1", "at", datetime(2030, 1, 1, tzinfo=UTC))
    with pytest.raises(errors.SsoCacheRefused, match="belongs to another user"):
        sso_cache.write(folder / "x.json", token)


def test_profiles_read_as_botocore_reads_them() -> None:
    cfg = AwsConfig(
        Path("c"),
        Path("k"),
        profiles={
            "a": {"sso_session": "corp", "sso_account_id": "111111111111", "sso_role_name": "Admin"},
            "legacy": {
                "sso_start_url": "https://l.awsapps.com/start",
                "sso_region": "us-east-1",
                "sso_account_id": "222222222222",
                "sso_role_name": "Dev",
            },
            "bad-account": {"sso_session": "corp", "sso_account_id": "12", "sso_role_name": "Admin"},
            "missing": {"sso_session": "nope", "sso_account_id": "111111111111", "sso_role_name": "Admin"},
        },
        sso_sessions={"corp": {"sso_start_url": "https://corp.awsapps.com/start", "sso_region": "eu-west-1"}},
    )
    config = load(cfg)
    assert config.profiles["a"].session.cache_key == "ee0bfd2552fbd840c02cc48b6e823320543c450f"  # sha1("corp")
    legacy = config.profiles["legacy"].session
    assert legacy.legacy and legacy.cache_key == hashlib.sha1(legacy.start_url.encode()).hexdigest()
    assert config.problems == {
        "bad-account": "sso_account_id must be a 12-digit account number",
        "missing": "its sso-session 'nope' does not exist in the config file",
    }


def test_the_menu_says_how_long_each_sign_in_has_left_and_offers_sign_in_and_out() -> None:
    now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    states = [
        SsoState("corp", True, now + timedelta(hours=7, minutes=12, seconds=30), True),
        SsoState("lab", False, now - timedelta(hours=1), False),
        SsoState("new", False, None, False),
    ]
    items = build_menu([], {}, now, timedelta(minutes=10), sso=sso_menu(states, now))
    shown = [(i.label, [(c.label, c.id, c.enabled) for c in i.children or ()]) for i in items[:3]]
    assert shown == [
        (
            "corp — signed in, 7 h 12 min left",
            [("Sign in…", "sso-login:corp", False), ("Sign out", "sso-logout:corp", True)],
        ),
        ("lab — signed out", [("Sign in…", "sso-login:lab", True), ("Sign out", "sso-logout:lab", True)]),
        ("new — signed out", [("Sign in…", "sso-login:new", True), ("Sign out", "sso-logout:new", False)]),
    ]
    assert parse_action("sso-login:https://legacy.awsapps.com/start") == (
        "sso-login",
        "https://legacy.awsapps.com/start",
    )


def test_silent_renewal_never_opens_a_browser_and_renews_once_signed_in(home: Path, sso_server: SsoServer) -> None:
    from trayapp.core.prompts import SilentPrompt
    from trayapp.core.service import Service

    (home / "config").write_text(
        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n\n"
        "[profile corp-admin]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = Admin\n"
    )
    environ = {
        "HOME": str(home),
        "XDG_RUNTIME_DIR": str(home),
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
    }
    service = Service(environ=environ)
    opened: list[str] = []
    service.sso_signins = SsoSignIns(environ=environ, clients=SsoClients(), opener=opened.append)
    assert not service.can_renew_silently("corp-admin")
    with pytest.raises(errors.SsoSignedOut):
        service.assume("corp-admin", SilentPrompt())
    assert opened == [] and sso_server.requests == []
    service.sso_signins.opener = follow
    service.sso_signins.ensure(CORP, interactive=True, asked=True)  # `trayapp sso login`
    assert service.can_renew_silently("corp-admin")
    result = service.assume("corp-admin", SilentPrompt())
    assert result.session.session_profile == "corp-admin-session"
    assert "corp-admin-session" in (home / "credentials").read_text()


def test_a_cache_file_an_older_aws_cli_wrote_is_read(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    data = {"startUrl": "https://a/start", "region": "eu-west-1", "accessToken": "t"}
    path.write_text(json.dumps(data | {"expiresAt": "2030-01-02T03:04:05UTC"}))
    path.chmod(0o600)
    token = sso_cache.read(path)
    assert token is not None and token.expires_at == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
