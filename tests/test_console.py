"""The console sign-in: the token never on a command line, keys only over https (or loopback),
and the federation endpoint's answer checked — against a real local stand-in of the endpoint,
a real ``trayapp console`` process and a fake browser (``BROWSER=``) that records what it got."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.aws_files import CONFIG, CREDENTIALS, env_for
from tests.support.procs import wait_until
from trayapp.core import console
from trayapp.core.errors import SigninFailed
from trayapp.core.sts import Credentials

KEYS = Credentials("ASIAEXAMPLEKEY000001", "secretKeyExample/abc+def", "sessionTokenExample==")
ROLE = "arn:aws:iam::111111111111:role/Dev"


class Federation(BaseHTTPRequestHandler):
    """The federation endpoint: answers every POST with ``server.answer`` (status, headers, body)."""

    server: Any

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.server.bodies.append(self.rfile.read(length).decode())
        status, headers, body = self.server.answer
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client stopped reading (the size limit)
            self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, *args: Any) -> None:
        pass


class Endpoint:
    def __init__(self, token: str) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Federation)
        self.server.bodies = []  # type: ignore[attr-defined]
        self.answer(json.dumps({"SigninToken": token}).encode())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/federation"

    def answer(self, body: bytes, status: int = 200, **headers: str) -> None:
        self.server.answer = (status, {"Content-Type": "application/json", **headers}, body)  # type: ignore[attr-defined]

    @property
    def bodies(self) -> list[str]:
        return list(self.server.bodies)  # type: ignore[attr-defined]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def token() -> str:
    return "SIGNIN-" + secrets.token_urlsafe(48)


@pytest.fixture
def endpoint(token: str) -> Iterator[Endpoint]:
    server = Endpoint(token)
    yield server
    server.close()


# --- the browser never sees the token on its command line -----------------------------------

FAKE_BROWSER = r'''#!{python}
"""A browser: records its argv and environment, the page it was given, and every process
command line and environment on this machine that holds the token while it runs."""
import json, os, sys, urllib.parse, urllib.request
token = os.environ["FAKE_TOKEN_TO_LOOK_FOR"]
url = sys.argv[-1]
record = {{"argv": sys.argv, "environ": {{k: v for k, v in os.environ.items() if k != "FAKE_TOKEN_TO_LOOK_FOR"}}}}
path = urllib.request.url2pathname(urllib.parse.urlsplit(url).path) if url.startswith("file:") else None
if path:
    st, parent = os.stat(path), os.stat(os.path.dirname(path))
    record.update(path=path, page=open(path, encoding="utf-8").read(),
                  mode=st.st_mode & 0o777, folder_mode=parent.st_mode & 0o777)
hits = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    for what in ("cmdline", "environ"):
        try:
            data = open(f"/proc/{{pid}}/{{what}}", "rb").read()
        except OSError:
            continue
        if token.encode() in data and what == "cmdline" or (what == "environ" and
                token.encode() in data.replace(b"FAKE_TOKEN_TO_LOOK_FOR=" + token.encode(), b"")):
            hits.append(f"{{pid}}/{{what}}")
record["hits"] = hits
with open(os.environ["FAKE_BROWSER_LOG"], "w") as f:
    json.dump(record, f)
'''


def fake_browser(tmp_path: Path) -> Path:
    script = tmp_path / "fake-browser"
    script.write_text(FAKE_BROWSER.format(python=sys.executable))
    script.chmod(0o755)
    return script


@pytest.fixture
def home(aws_home: Path) -> Path:
    (aws_home / ".aws" / "config").write_text(CONFIG)
    creds = aws_home / ".aws" / "credentials"
    creds.write_text(CREDENTIALS)
    creds.chmod(0o600)
    return aws_home


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trayapp", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_browser_gets_a_private_page_and_never_the_token(
    moto_sts: Any, home: Path, endpoint: Endpoint, token: str, tmp_path: Path
) -> None:
    log = tmp_path / "browser.json"
    env = env_for(
        home, moto_sts.url, TRAYAPP_SIGNIN_URL=endpoint.url, BROWSER=str(fake_browser(tmp_path)),
        FAKE_BROWSER_LOG=str(log), TRAYAPP_CONSOLE_PAGE_SECONDS="4",
    )  # fmt: skip
    assert run(env, "assume", "dev").returncode == 0
    env_with_token = {**env, "FAKE_TOKEN_TO_LOOK_FOR": token}  # only the fake browser reads it
    started = time.monotonic()
    done = run(env_with_token, "console", "dev")
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Opened the AWS console for dev.\n"
    assert token not in done.stdout + done.stderr
    record = json.loads(log.read_text())
    # nobody could read the token off a command line or an environment while the browser ran
    assert not any(token in arg for arg in record["argv"])
    assert not any(token in value for value in record["environ"].values())
    assert record["hits"] == []
    # what the browser got: a file:// page only this user can read, in a folder only this user can enter
    assert record["argv"][-1].startswith("file://")
    assert record["mode"] == 0o600 and record["folder_mode"] == 0o700
    page = Path(record["path"])
    assert page.is_relative_to(home / "run")  # trayapp's private runtime folder, not a shared /tmp
    assert urllib.parse.quote_plus(token) in record["page"] or token in record["page"]
    assert 'http-equiv="refresh"' in record["page"] and "location.replace" in record["page"]
    # the CLI did not wait for the page's removal, and the page is gone afterwards
    assert took < 4 + 20
    wait_until("the page to be removed", lambda: not page.parent.exists(), 30, interval=0.2)
    assert list((home / "run" / "trayapp").glob("trayapp-console-*")) == []


def test_print_url_still_prints_the_url(moto_sts: Any, home: Path, endpoint: Endpoint, token: str) -> None:
    env = env_for(home, moto_sts.url, TRAYAPP_SIGNIN_URL=endpoint.url)
    assert run(env, "assume", "dev").returncode == 0
    done = run(env, "console", "dev", "--print-url")
    assert done.returncode == 0, done.stderr
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(done.stdout.strip()).query)["SigninToken"] == [token]


def test_no_browser_leaves_no_page(tmp_path: Path) -> None:
    assert (
        console.open_signin_page("https://example.com/?SigninToken=x", browser=lambda url: False, parent=tmp_path)
        is False
    )
    assert list(tmp_path.iterdir()) == []


def test_a_page_left_by_a_killed_sweeper_is_removed_at_the_next_open(tmp_path: Path) -> None:
    old = tmp_path / "trayapp-console-old"
    old.mkdir(mode=0o700)
    (old / "signin.html").write_text("SigninToken=stale")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    other = tmp_path / "not-ours"
    other.mkdir()
    opened: list[str] = []
    assert console.open_signin_page("https://x/?SigninToken=abc", browser=lambda url: opened.append(url) or True,
                            parent=tmp_path, environ={console.PAGE_SECONDS_ENV: "0"})  # fmt: skip
    assert not old.exists() and other.exists()
    (page,) = opened
    assert page.startswith("file://") and "SigninToken" not in page


def test_the_page_escapes_the_url() -> None:
    url = 'https://signin.example/federation?a=1&Destination=x"><script>alert(1)</script>'
    page = console.forwarding_page(url)
    assert "<script>alert(1)</script>" not in page
    assert '"><script>' not in page


# --- keys only over https, except to this computer ------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["http://signin.example.com/federation", "http://10.1.2.3/federation", "ftp://127.0.0.1/x",
     "http://127.0.0.1.example.com/", "https:///nohost", "not a url", "http://[::ffff:10.0.0.1]/"],
)  # fmt: skip
def test_keys_are_not_sent_over_plain_http_to_another_machine(url: str) -> None:
    sent: list[Any] = []
    with pytest.raises(console.InsecureSigninEndpoint) as caught:
        console.signin_url(
            "dev", KEYS, ROLE, None, opener=lambda *a, **k: sent.append(a), environ={console.ENDPOINT_ENV: url}
        )
    assert sent == []
    message = str(caught.value)
    assert "https" in message and "TRAYAPP_SIGNIN_URL" in message and message.count(".") >= 1
    assert KEYS.secret_access_key not in message


@pytest.mark.parametrize(
    "url", ["https://signin.example.com/federation", "http://127.0.0.1:8/f", "http://127.9.9.9/f",
            "http://[::1]:8/f", "http://localhost:8/f", "HTTP://LOCALHOST/f"],
)  # fmt: skip
def test_https_and_loopback_are_accepted(url: str) -> None:
    assert console.checked_endpoint(url) == url


def test_the_cli_refuses_a_plain_http_endpoint_in_one_sentence(moto_sts: Any, home: Path) -> None:
    env = env_for(home, moto_sts.url, TRAYAPP_SIGNIN_URL="http://signin.example.com/federation")
    assert run(env, "assume", "dev").returncode == 0
    done = run(env, "console", "dev", "--print-url")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        "trayapp: The sign-in endpoint http://signin.example.com is refused: session keys are sent only to "
        "an https address (plain http only to this computer); fix TRAYAPP_SIGNIN_URL.\n"
    )


# --- the answer is checked --------------------------------------------------------------------


def ask(endpoint: Endpoint) -> str:
    return console.signin_url("dev", KEYS, ROLE, "us-west-2", environ={console.ENDPOINT_ENV: endpoint.url})


def test_a_good_answer_gives_the_console_url(endpoint: Endpoint, token: str) -> None:
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(ask(endpoint)).query)
    assert query["SigninToken"] == [token]
    (body,) = endpoint.bodies
    assert json.loads(urllib.parse.parse_qs(body)["Session"][0])["sessionKey"] == KEYS.secret_access_key


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"SigninToken": "x" * (10 * 1024 * 1024)}).encode(),  # 10 MB
        b"[" * 100_000,
        json.dumps({"SigninToken": "abc\r\nSet-Cookie: x=1"}).encode(),
        json.dumps({"SigninToken": "<script>alert(1)</script>"}).encode(),
        json.dumps({"SigninToken": 12345678901}).encode(),
        json.dumps({"SigninToken": ""}).encode(),
        json.dumps(["SigninToken"]).encode(),
        b"\xff\xfe not utf-8",
        b"",
    ],
    ids=["10MB", "nested", "crlf", "markup", "number", "empty", "list", "bytes", "nothing"],
)
def test_a_bad_answer_is_one_sentence(endpoint: Endpoint, body: bytes) -> None:
    endpoint.answer(body)
    started = time.monotonic()
    with pytest.raises(SigninFailed) as caught:
        ask(endpoint)
    assert time.monotonic() - started < 5
    assert str(caught.value) == (
        "The AWS console sign-in for 'dev' failed: the sign-in service sent an answer trayapp could not read."
    )


def test_a_redirect_is_not_followed(endpoint: Endpoint, token: str) -> None:
    elsewhere = Endpoint(token)
    try:
        endpoint.answer(b"", status=307, Location=elsewhere.url)
        with pytest.raises(SigninFailed, match="answered HTTP 307"):
            ask(endpoint)
        endpoint.answer(b"", status=302, Location=elsewhere.url)
        with pytest.raises(SigninFailed, match="answered HTTP 302"):
            ask(endpoint)
        assert elsewhere.bodies == []
    finally:
        elsewhere.close()


def test_page_seconds_come_from_the_environment_within_bounds() -> None:
    assert console.page_seconds({}) == console.PAGE_SECONDS
    assert console.page_seconds({console.PAGE_SECONDS_ENV: "2.5"}) == 2.5
    assert console.page_seconds({console.PAGE_SECONDS_ENV: "-1"}) == console.PAGE_SECONDS
    assert console.page_seconds({console.PAGE_SECONDS_ENV: "soon"}) == console.PAGE_SECONDS


def test_the_page_is_0600_in_a_0700_folder(tmp_path: Path) -> None:
    page = console.write_page("https://x/?SigninToken=abc", tmp_path)
    assert stat.S_IMODE(page.stat().st_mode) == 0o600
    assert stat.S_IMODE(page.parent.stat().st_mode) == 0o700
