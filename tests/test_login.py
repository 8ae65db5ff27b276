"""`aws login` sessions (issue 31) end to end: `trayapp` as a user runs it against the sign-in service
stand-in over HTTP (DPoP checked, refresh tokens single-use), and botocore's own ``LoginProvider``
(botocore[crt], in the test environment only) reading the cache trayapp wrote.

- listed: ``list``/``status`` (``--json``: ``kind: login``), completion;
- kept alive ahead of the SDKs: refreshed at 7 minutes or less left, once for five processes at once,
  the cache rewritten as botocore writes it — and botocore then uses it without a refresh of its own;
- bridged: ``assume`` writes ``[dev-session]``, ``env``/``credential-process`` hand out fresh keys;
- the end told, nothing deleted, no second request; no refresh token or key in any output.
"""

from __future__ import annotations

import configparser
import json
import logging
import os
import re
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.fixtures import SigninServer, aws_env
from tests.support.signin import cache_path, write_cache
from trayapp.core import errors
from trayapp.core.service import Service

pytestmark = pytest.mark.integration  # the command line runs as processes

PYTHON = sys.executable
ARN = "arn:aws:iam::123456789012:user/alice"
OTHER = "arn:aws:iam::123456789012:user/bob"
CONFIG = f"""[profile dev]
login_session = {ARN}
region = eu-west-1

[profile ops]
login_session = {OTHER}

[profile broken]
login_session = not-an-arn

[profile plain]
region = us-east-1
"""
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.fixture
def home(aws_home: Path) -> Path:
    (aws_home / ".aws" / "config").write_text(CONFIG)
    return aws_home


@pytest.fixture
def env(home: Path, signin_server: SigninServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    runtime = home / "run"
    runtime.mkdir(mode=0o700)
    made = aws_env(home, "http://127.0.0.1:9", **signin_server.env(), XDG_RUNTIME_DIR=str(runtime))
    for name, value in made.items():  # botocore in this process (the Service's, and its own) reads them too
        monkeypatch.setenv(name, value)
    return made


def cache(home: Path) -> Path:
    return home / ".aws" / "login" / "cache"


def signed_in(server: SigninServer, home: Path, left: timedelta, arn: str = ARN, **kw: Any) -> dict[str, Any]:
    data = server.sign_in(arn, left=left, **kw)
    write_cache(cache(home), arn, data)
    return data


def trayapp(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "trayapp", *args], env=env, capture_output=True, text=True, timeout=120)


def secrets_of(*datas: dict[str, Any]) -> list[str]:
    found = []
    for data in datas:
        keys = data["accessToken"]
        found += [data["refreshToken"], keys["secretAccessKey"], keys["sessionToken"], data["dpopKey"][40:80]]
    return found


def test_five_processes_at_once_with_3_minutes_left_cause_one_refresh_and_all_are_served(
    home: Path, env: dict[str, str], signin_server: SigninServer
) -> None:
    old = signed_in(signin_server, home, timedelta(minutes=3))
    signin_server.delay = 1.0  # the first refresh is still under way when the others ask
    with ThreadPoolExecutor(5) as pool:
        runs = list(pool.map(lambda _i: trayapp(env, "credential-process", "dev"), range(5)))
    assert [r.returncode for r in runs] == [0] * 5, [r.stderr for r in runs]
    assert signin_server.refreshes == ["refreshed"]
    now = json.loads(cache_path(cache(home), ARN).read_text())
    handed = {json.loads(r.stdout)["AccessKeyId"] for r in runs}
    assert handed == {now["accessToken"]["accessKeyId"]} != {old["accessToken"]["accessKeyId"]}
    for run in runs:
        left = datetime.fromisoformat(json.loads(run.stdout)["Expiration"]) - datetime.now(UTC)
        assert left > timedelta(minutes=7)


def test_botocore_uses_the_file_trayapp_refreshed_without_refreshing_again(
    home: Path, env: dict[str, str], signin_server: SigninServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = signed_in(signin_server, home, timedelta(minutes=3))
    path = cache_path(cache(home), ARN)
    run = trayapp(env, "env", "dev", "--shell", "posix")
    assert run.returncode == 0, run.stderr
    assert signin_server.refreshes == ["refreshed"]
    # Written as botocore writes it: the same fields in the same order, its time format, 0600.
    data = json.loads(path.read_text())
    assert list(data) == list(old)
    assert list(data["accessToken"]) == ["accessKeyId", "secretAccessKey", "sessionToken", "accountId", "expiresAt"]
    assert TIME.fullmatch(data["accessToken"]["expiresAt"])
    assert data["refreshToken"] == signin_server.current_refresh_token(ARN) != old["refreshToken"]
    assert {k: data[k] for k in ("dpopKey", "clientId", "idToken")} == {
        k: old[k] for k in ("dpopKey", "clientId", "idToken")
    }
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == json.dumps(data)  # json.dumps of the token, as botocore's JSONFileCache
    assert f"AWS_ACCESS_KEY_ID={data['accessToken']['accessKeyId']}" in run.stdout.replace("'", "")

    import botocore.session

    frozen = botocore.session.Session(profile="dev").get_credentials().get_frozen_credentials()
    assert frozen.access_key == data["accessToken"]["accessKeyId"]
    assert signin_server.refreshes == ["refreshed"]  # botocore found more than 5 minutes: no refresh


def test_keys_with_more_than_7_minutes_are_handed_out_as_they_are_and_7_or_less_are_refreshed(
    home: Path, env: dict[str, str], signin_server: SigninServer
) -> None:
    service = Service(environ=env)
    kept = signed_in(signin_server, home, timedelta(minutes=8))
    keys, _expires = service.session_credentials("dev")
    assert keys.access_key_id == kept["accessToken"]["accessKeyId"]
    assert signin_server.refreshes == []
    signed_in(signin_server, home, timedelta(minutes=7))
    keys, expires = service.session_credentials("dev")
    assert signin_server.refreshes == ["refreshed"]
    assert expires - datetime.now(UTC) > timedelta(minutes=14)


def test_an_ended_sign_in_is_told_once_in_a_sentence_and_nothing_is_deleted(
    home: Path, env: dict[str, str], signin_server: SigninServer
) -> None:
    data = signed_in(signin_server, home, timedelta(minutes=2))
    signin_server.end(ARN, "TOKEN_EXPIRED")
    path = cache_path(cache(home), ARN)
    before = path.read_bytes()
    run = trayapp(env, "env", "dev")
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.strip() == (
        "trayapp: The aws login sign-in of 'dev' has ended; run 'aws login --profile dev' to sign in again."
    )
    assert path.read_bytes() == before
    service = Service(environ=env)
    for _ in range(3):  # every process, every look: that refresh token is never sent again
        with pytest.raises(errors.LoginEnded):
            service.session_credentials("dev")
    assert trayapp(env, "credential-process", "dev").returncode == 1
    assert signin_server.refreshes == ["TOKEN_EXPIRED"]
    listed = json.loads(trayapp(env, "list", "--json").stdout)
    (row,) = [r for r in listed if r["profile"] == "dev"]
    assert row["kind"] == "login" and row["state"] == "ended"
    assert path.read_bytes() == before
    for secret in secrets_of(data):
        assert secret not in run.stdout + run.stderr


def test_changed_credentials_end_the_sign_in_too(home: Path, env: dict[str, str], signin_server: SigninServer) -> None:
    signed_in(signin_server, home, timedelta(minutes=1))
    signin_server.end(ARN, "USER_CREDENTIALS_CHANGED")
    with pytest.raises(errors.LoginEnded, match=r"aws login --profile dev"):
        Service(environ=env).session_credentials("dev")


def test_insufficient_permissions_names_the_policy(
    home: Path, env: dict[str, str], signin_server: SigninServer
) -> None:
    signed_in(signin_server, home, timedelta(minutes=1))
    signin_server.end(ARN, "INSUFFICIENT_PERMISSIONS")
    run = trayapp(env, "credential-process", "dev")
    assert run.returncode == 1
    assert "SignInLocalDevelopmentAccess" in run.stderr and "Traceback" not in run.stderr


@pytest.mark.parametrize(
    "answer",
    [
        {"accessToken": {"accessKeyId": "ASIA\nXXXXXXXXXXXXXXX", "secretAccessKey": "s", "sessionToken": "t"},
         "tokenType": "aws_sigv4", "expiresIn": 900, "refreshToken": "rt"},
        {"accessToken": {"accessKeyId": "ASIAXXXXXXXXXXXXXXXX", "secretAccessKey": "s", "sessionToken": "t"},
         "tokenType": "aws_sigv4", "expiresIn": -5, "refreshToken": "rt"},
        {"tokenType": "aws_sigv4", "expiresIn": 900},
        [],
    ],
    ids=["newline-in-key", "negative-lifetime", "no-keys", "not-an-object"],
)  # fmt: skip
def test_a_nonsense_answer_writes_nothing(
    home: Path, env: dict[str, str], signin_server: SigninServer, answer: Any
) -> None:
    signed_in(signin_server, home, timedelta(minutes=2))
    path = cache_path(cache(home), ARN)
    before = path.read_bytes()
    signin_server.answer = answer
    with pytest.raises(errors.TrayappError, match="the sign-in service sent an answer trayapp can't use") as caught:
        Service(environ=env).session_credentials("dev")
    assert signin_server.refreshes == ["refreshed"]  # asked, and the answer refused
    assert path.read_bytes() == before
    assert "Traceback" not in str(caught.value) and "\n" not in str(caught.value)


def test_sign_in_region_is_the_refresh_clients_region(
    home: Path, env: dict[str, str], signin_server: SigninServer
) -> None:
    from trayapp.core.login_refresh import LoginSessions, SigninClients

    signed_in(signin_server, home, timedelta(minutes=2), region="ap-southeast-2")
    asked: list[str] = []
    real = SigninClients()

    def clients(region: str) -> Any:
        asked.append(region)
        return real(region)

    service = Service(environ=env)
    service.login_sessions = LoginSessions(environ=env, clients=clients)
    service.session_credentials("dev")
    assert asked == ["ap-southeast-2"]  # not the profile's eu-west-1
    assert service.session_region("dev") == "eu-west-1"  # the keys are used in the profile's


def test_listed_with_their_state_and_kind_login(home: Path, env: dict[str, str], signin_server: SigninServer) -> None:
    data = signed_in(signin_server, home, timedelta(minutes=12))
    until = datetime.fromisoformat(data["accessToken"]["expiresAt"].replace("Z", "+00:00")).astimezone()
    run = trayapp(env, "list")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert f"dev\t{ARN}\tkeys valid until {until:%H:%M}" in lines
    assert f"ops\t{OTHER}\tnot signed in: run aws login --profile ops" in lines
    assert "profile 'broken' can't be used: login_session must be the ARN 'aws login' wrote." in run.stderr
    rows = {r["profile"]: r for r in json.loads(trayapp(env, "list", "--json").stdout)}
    assert rows["dev"]["kind"] == "login" and rows["dev"]["state"] == "valid"
    assert rows["dev"]["login_session"] == ARN and rows["ops"]["state"] == "signed-out"
    status = json.loads(trayapp(env, "status", "--json").stdout)
    assert [(r["profile"], r["kind"], r["state"]) for r in status] == [
        ("dev", "login", "valid"),
        ("ops", "login", "signed-out"),
    ]
    names = subprocess.run(
        [PYTHON, "-m", "trayapp", "completion", "--profiles"], env=env, capture_output=True, text=True
    )
    assert {"dev", "ops"} <= set(names.stdout.split()) and "broken" not in names.stdout.split()
    for secret in secrets_of(data):
        assert secret not in run.stdout + run.stderr + json.dumps(rows) + json.dumps(status)


def test_a_login_cache_directory_elsewhere_is_honoured(
    home: Path, env: dict[str, str], signin_server: SigninServer
) -> None:
    elsewhere = home / "elsewhere"
    data = signin_server.sign_in(ARN, left=timedelta(minutes=2))
    write_cache(elsewhere, ARN, data)
    env = env | {"AWS_LOGIN_CACHE_DIRECTORY": "$HOME/elsewhere"}
    run = trayapp(env, "credential-process", "dev")
    assert run.returncode == 0, run.stderr
    assert json.loads(cache_path(elsewhere, ARN).read_text())["refreshToken"] == signin_server.current_refresh_token(
        ARN
    )
    assert not cache(home).exists()


def test_assume_bridges_the_keys_into_a_session_section_for_older_tools(
    home: Path, env: dict[str, str], signin_server: SigninServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = signed_in(signin_server, home, timedelta(minutes=4))
    run = trayapp(env, "assume", "dev")
    assert run.returncode == 0, run.stderr
    fresh = json.loads(cache_path(cache(home), ARN).read_text())
    parser = configparser.RawConfigParser()
    parser.read(home / ".aws" / "credentials")
    section = parser["dev-session"]
    assert section["aws_access_key_id"] == fresh["accessToken"]["accessKeyId"]
    assert section["region"] == "eu-west-1"
    import botocore.session

    frozen = botocore.session.Session(profile="dev-session").get_credentials().get_frozen_credentials()
    assert frozen.access_key == fresh["accessToken"]["accessKeyId"]
    for secret in secrets_of(data, fresh):
        assert secret not in run.stdout + run.stderr


def test_no_refresh_token_or_key_in_the_log(
    home: Path, env: dict[str, str], signin_server: SigninServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="trayapp")  # TRAYAPP_LOG=debug: trayapp's own log, not botocore's
    data = signed_in(signin_server, home, timedelta(minutes=2))
    service = Service(environ=env)
    service.session_credentials("dev")
    fresh = json.loads(cache_path(cache(home), ARN).read_text())
    signin_server.end(ARN)
    write_cache(cache(home), ARN, fresh | {"accessToken": fresh["accessToken"] | {"expiresAt": "2000-01-01T00:00:00Z"}})
    with pytest.raises(errors.LoginEnded):
        service.session_credentials("dev")
    run = trayapp(env | {"TRAYAPP_LOG": "debug"}, "env", "dev")
    assert run.returncode == 1
    logged = caplog.text + "".join(str(r.args) for r in caplog.records) + run.stderr
    for secret in secrets_of(data, fresh):
        assert secret not in logged
    assert "refreshed the aws login sign-in of dev" in caplog.text


def test_dpop_proof_is_an_es256_jwt_of_the_cache_key() -> None:
    import base64

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    from trayapp.core import dpop

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()
    assert pem.startswith("-----BEGIN EC PRIVATE KEY-----")

    def part(text: str) -> bytes:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    head, claims, signature = dpop.proof(pem, "https://signin.example/v1/token", now=1700000000, jti="j1").split(".")
    header = json.loads(part(head))
    numbers = key.public_key().public_numbers()
    assert header == {
        "typ": "dpop+jwt",
        "alg": "ES256",
        "jwk": {
            "kty": "EC",
            "x": base64.urlsafe_b64encode(numbers.x.to_bytes(32, "big")).rstrip(b"=").decode(),
            "y": base64.urlsafe_b64encode(numbers.y.to_bytes(32, "big")).rstrip(b"=").decode(),
            "crv": "P-256",
        },
    }
    assert json.loads(part(claims)) == {
        "htm": "POST",
        "htu": "https://signin.example/v1/token",
        "iat": 1700000000,
        "jti": "j1",
    }
    raw = part(signature)
    assert len(raw) == 64
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key.public_key().verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    with pytest.raises(dpop.BadKey):
        dpop.proof("-----BEGIN EC PRIVATE KEY-----\nnope\n-----END EC PRIVATE KEY-----\n", "https://x/")


def test_a_cache_file_others_can_change_is_refused(
    home: Path, env: dict[str, str], signin_server: SigninServer
) -> None:
    signed_in(signin_server, home, timedelta(minutes=2))
    os.chmod(cache_path(cache(home), ARN), 0o666)
    run = trayapp(env, "env", "dev")
    assert run.returncode == 1
    assert "other users can change it" in run.stderr and signin_server.refreshes == []


def test_no_network_is_one_sentence_and_the_file_is_kept(
    home: Path, env: dict[str, str], signin_server: SigninServer
) -> None:
    from tests.support.procs import refused_url

    signed_in(signin_server, home, timedelta(minutes=2))
    before = cache_path(cache(home), ARN).read_bytes()
    run = trayapp(env | {"AWS_ENDPOINT_URL_SIGNIN": refused_url()}, "env", "dev")
    assert run.returncode == 1
    assert run.stderr.strip() == (
        "trayapp: The aws login sign-in of 'dev' could not be refreshed: the sign-in service can't be reached."
    )
    assert cache_path(cache(home), ARN).read_bytes() == before


def test_a_role_whose_source_is_a_login_profile_is_assumed_with_its_fresh_keys(
    home: Path, signin_server: SigninServer, moto_sts: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (home / ".aws" / "config").write_text(
        CONFIG + "\n[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/Deploy\nsource_profile = dev\n"
    )
    env = aws_env(home, moto_sts.url, **signin_server.env(), XDG_RUNTIME_DIR=str(home))
    signed_in(signin_server, home, timedelta(minutes=6))  # botocore's own provider would not refresh yet
    run = trayapp(env, "assume", "deploy")
    assert run.returncode == 0, run.stderr
    assert signin_server.refreshes == ["refreshed"]  # the source's keys had less than 7 minutes
    assert "[deploy-session]" in (home / ".aws" / "credentials").read_text()


def test_status_through_a_running_trays_channel_lists_the_sign_ins_too(
    home: Path, env: dict[str, str], signin_server: SigninServer
) -> None:
    from trayapp.tray.channel import ChannelServer

    data = signed_in(signin_server, home, timedelta(minutes=12))
    server = ChannelServer(Service(environ=env), env)
    assert server.start()
    try:
        answer = trayapp(env, "status", "--json")
        text = trayapp(env, "status")
    finally:
        server.stop()
    assert server.served == 2  # the tray answered, not the command's own reading
    assert [(r["profile"], r["kind"], r["state"]) for r in json.loads(answer.stdout)] == [
        ("dev", "login", "valid"),
        ("ops", "login", "signed-out"),
    ]
    until = datetime.fromisoformat(data["accessToken"]["expiresAt"].replace("Z", "+00:00")).astimezone()
    assert f"dev\taws login\tvalid\tkeys valid until {until:%H:%M}" in text.stdout.splitlines()


def test_credential_process_through_a_running_tray_is_refreshed_by_the_tray(
    home: Path, env: dict[str, str], signin_server: SigninServer
) -> None:
    from trayapp.tray.channel import ChannelServer

    signed_in(signin_server, home, timedelta(minutes=3))
    server = ChannelServer(Service(environ=env), env)
    assert server.start()
    try:
        run = trayapp(env, "credential-process", "dev")
    finally:
        server.stop()
    assert run.returncode == 0, run.stderr
    assert server.served == 1 and signin_server.refreshes == ["refreshed"]
    fresh = json.loads(cache_path(cache(home), ARN).read_text())
    assert json.loads(run.stdout)["AccessKeyId"] == fresh["accessToken"]["accessKeyId"]
