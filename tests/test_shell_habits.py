"""Issue 15 with real parts: `trayapp exec` running the real `aws` CLI against moto, completion in a
real bash, `--region`, aws-vault's source_identity/session_tags keys in STS's request log (the CLI
and the MFA-session path), and the console sign-in's SessionDuration against a stand-in of the
federation endpoint that answers as AWS documents."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
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

from tests.support.fixtures import aws_env
from trayapp.core.mfa import UsedCodes
from trayapp.core.prompts import MfaRequest
from trayapp.core.service import Service

AWS = str(Path(sys.executable).with_name("aws"))

CONFIG = """\
[default]
region = eu-west-1

[profile prod]
role_arn = arn:aws:iam::222222222222:role/Admin
source_profile = base
mfa_serial = arn:aws:iam::000000000000:mfa/alice
region = eu-central-1

[profile dev]
role_arn = arn:aws:iam::111111111111:role/Dev
source_profile = base
region = us-west-2

[profile partner]
role_arn = arn:aws:iam::333333333333:role/Partner
source_profile = base

[profile deep]
role_arn = arn:aws:iam::444444444444:role/Deep
source_profile = prod
mfa_serial = arn:aws:iam::000000000000:mfa/alice-deep
"""

CREDENTIALS = (
    "[base]\n"
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
)

TAGGED = (
    CONFIG
    + """
[profile tagged]
role_arn = arn:aws:iam::555555555555:role/Tagged
source_profile = base
mfa_serial = arn:aws:iam::000000000000:mfa/alice
source_identity = alice@example.com
session_tags = team=payments, cost-centre = 42 ,note=a=b
transitive_session_tags = team

[profile badtags]
role_arn = arn:aws:iam::555555555555:role/Tagged
source_profile = base
session_tags = team
"""
)


@pytest.fixture
def home(aws_home: Path) -> Path:
    (aws_home / ".aws" / "config").write_text(TAGGED)
    creds = aws_home / ".aws" / "credentials"
    creds.write_text(CREDENTIALS)
    creds.chmod(0o600)
    return aws_home


def env_for(home: Path, sts_url: str, **extra: str) -> dict[str, str]:
    """aws_env plus a private runtime dir, so the used-code memory is per test."""
    run = home / "run"
    run.mkdir(mode=0o700, exist_ok=True)
    return aws_env(home, sts_url, **{"XDG_RUNTIME_DIR": str(run), **extra})


def trayapp(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run(env, *args)


def run(env: dict[str, str], *args: str, stdin: str | None = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trayapp", *args],
        env=env,
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=True,
        timeout=60,
    )


# --- exec -------------------------------------------------------------------------------------


def test_exec_runs_the_real_aws_cli_as_the_assumed_role_in_the_region(moto_sts: Any, home: Path) -> None:
    # A stale profile and stale keys in the caller's shell: exec must not let the child see them.
    env = env_for(
        home,
        moto_sts.url,
        AWS_PROFILE="does-not-exist",
        AWS_DEFAULT_PROFILE="does-not-exist",
        AWS_ACCESS_KEY_ID="AKIASTALE0000EXAMPLE",
        AWS_SECRET_ACCESS_KEY="stale",
    )
    result = run(env, "exec", "prod", "--code-stdin", "--region", "eu-west-3", "--", AWS, "sts",
                 "get-caller-identity", "--output", "json", stdin="123456\n")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Arn"].startswith("arn:aws:sts::222222222222:assumed-role/Admin/")
    # The session was written as by assume, and is reused: no code needed the second time.
    listed = run(env, "exec", "prod", "--", AWS, "configure", "list", stdin=None)
    assert listed.returncode == 0, listed.stderr
    region_line = next(line for line in listed.stdout.splitlines() if line.split()[:1] == ["region"])
    assert "eu-central-1" in region_line and "env" in region_line  # the profile's region, from the environment
    child_env = run(env, "exec", "prod", "--region", "eu-west-3", "--", sys.executable, "-c",
                    "import json, os; print(json.dumps({k: v for k, v in os.environ.items() if k.startswith('AWS_')}))",
                    stdin=None)  # fmt: skip
    seen = json.loads(child_env.stdout)
    assert seen["AWS_REGION"] == seen["AWS_DEFAULT_REGION"] == "eu-west-3"
    assert "AWS_PROFILE" not in seen and "AWS_DEFAULT_PROFILE" not in seen
    assert seen["AWS_ACCESS_KEY_ID"] != "AKIASTALE0000EXAMPLE" and seen["AWS_SESSION_TOKEN"]
    assert seen["AWS_CREDENTIAL_EXPIRATION"].endswith("Z")


def test_exec_passes_on_the_exit_status_and_the_signal(moto_sts: Any, home: Path) -> None:
    env = env_for(home, moto_sts.url)
    assert run(env, "exec", "dev", "--", "sh", "-c", "exit 7").returncode == 7
    assert run(env, "exec", "dev", "--", "sh", "-c", "kill -TERM $$").returncode == -15
    missing = run(env, "exec", "dev", "--", "no-such-command-here")
    assert missing.returncode == 127
    assert missing.stderr == "trayapp: The command 'no-such-command-here' was not found on PATH.\n"


def test_exec_leaves_the_rest_of_stdin_to_the_command(moto_sts: Any, home: Path) -> None:
    env = env_for(home, moto_sts.url)
    result = run(env, "exec", "prod", "--code-stdin", "--", "cat", stdin="123456\nthe command's input\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "the command's input\n"


CMDLINE_SCAN = """
import os, sys
secrets = [os.environ["AWS_SECRET_ACCESS_KEY"], os.environ["AWS_SESSION_TOKEN"]]
hits = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        data = open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        continue
    hits += [pid for s in secrets if s.encode() in data]
print(len(hits))
"""


def test_exec_keys_are_on_no_command_line(moto_sts: Any, home: Path) -> None:
    result = run(env_for(home, moto_sts.url), "exec", "dev", "--", sys.executable, "-c", CMDLINE_SCAN)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "0\n"


def test_exec_inside_another_roles_session_says_so(moto_sts: Any, home: Path) -> None:
    env = env_for(home, moto_sts.url)
    inner = run(env, "exec", "dev", "--", sys.executable, "-m", "trayapp", "exec", "partner", "--", "true")
    assert inner.returncode == 2
    assert inner.stderr.startswith(
        "trayapp: AWS_SESSION_TOKEN is already set in this environment for another role's session (trayapp exec dev);"
    )
    # the same role's session inside itself changes nothing
    same = run(env, "exec", "dev", "--", sys.executable, "-m", "trayapp", "exec", "dev", "--", "true")
    assert same.returncode == 0, same.stderr


def test_exec_without_a_command_is_a_usage_error(home: Path) -> None:
    result = run(env_for(home, "http://127.0.0.1:9"), "exec", "dev")
    assert result.returncode == 2
    assert "Name the command to run after '--'" in result.stderr


def test_exec_of_an_empty_command_is_one_sentence(home: Path) -> None:
    result = run(env_for(home, "http://127.0.0.1:9"), "exec", "dev", "--", "")
    assert result.returncode == 2
    assert result.stderr == (
        "trayapp: The command to run is empty: name it after '--', e.g. trayapp exec prod -- aws s3 ls.\n"
    )


def test_exec_runs_a_command_whose_name_starts_with_a_dash(moto_sts: Any, home: Path) -> None:
    """Everything after '--' is the command, even a word that looks like an option."""
    bin_dir = home / "bin"
    bin_dir.mkdir()
    script = bin_dir / "-report"
    script.write_text('#!/bin/sh\necho "ran with $# args: $*"\n')
    script.chmod(0o755)
    env = env_for(home, moto_sts.url, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    for args in (["dev", "--", "-report", "-x"], ["dev", "--region", "eu-west-1", "--", "-report", "-x"]):
        result = run(env, "exec", *args)
        assert result.returncode == 0, (args, result.stderr)
        assert result.stdout == "ran with 1 args: -x\n", args
    # Without '--' a dash word is still an option of exec's, as before.
    assert run(env, "exec", "dev", "-report").returncode == 2


# --- --region ------------------------------------------------------------------------------------


def test_env_region_adds_the_region_lines_and_a_bad_region_is_refused(moto_sts: Any, home: Path) -> None:
    env = env_for(home, moto_sts.url, TRAYAPP_SHELL="posix")
    assert trayapp(env, "assume", "dev").returncode == 0
    lines = trayapp(env, "env", "dev", "--region", "ap-south-1").stdout.splitlines()
    assert lines[3:] == ["export AWS_REGION=ap-south-1", "export AWS_DEFAULT_REGION=ap-south-1"]
    assert len(trayapp(env, "env", "dev").stdout.splitlines()) == 3
    for command in (["env", "dev"], ["exec", "dev", "--", "true"], ["console", "dev", "--print-url"]):
        bad = trayapp(env, *command[:2], "--region", "eu west;1", *command[2:])
        assert bad.returncode == 2
        assert "the region 'eu west;1' is not a region name like eu-west-1" in bad.stderr


# --- completion in a real bash ----------------------------------------------------------------------

COMPLETE = """
source <("$TRAYAPP" completion bash)
complete -p trayapp
words() {{ COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=(); _trayapp; echo "${{COMPREPLY[*]}}"; }}
{calls}
"""


def bash_complete(env: dict[str, str], *calls: str) -> list[str]:
    script = COMPLETE.format(calls="\n".join(calls))
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60, check=True)
    return out.stdout.splitlines()


def test_bash_completes_commands_options_and_role_profiles(home: Path, tmp_path: Path) -> None:
    launcher = tmp_path / "trayapp"
    launcher.write_text(f'#!/bin/sh\nexec {sys.executable} -m trayapp "$@"\n')
    launcher.chmod(0o755)
    path = f"{tmp_path}:{Path(AWS).parent}:{os.environ['PATH']}"  # the venv's aws among the commands
    env = env_for(home, "http://127.0.0.1:9", TRAYAPP=str(launcher), PATH=path)
    out = bash_complete(
        env,
        "words trayapp ex",
        "words trayapp exec p",
        "words trayapp exec --re",
        "words trayapp env dev --shell f",
        "words trayapp completion z",
        "words trayapp exec prod -- aw",
        "words trayapp console --region eu-west-1 ''",
    )
    assert out[0] == "complete -F _trayapp trayapp"
    assert out[1] == "exec"
    assert out[2] == "partner prod"  # role profiles only (not base, not default)
    assert out[3] == "--region"
    assert out[4] == "fish"
    assert out[5] == "zsh"
    assert "aws" in out[6].split()  # after '--': commands on PATH
    assert out[7].split() == ["deep", "dev", "partner", "prod", "tagged"]  # not badtags: it can't be used
    # another config file, named by AWS_CONFIG_FILE
    other = tmp_path / "other-config"
    other.write_text("[profile only-this]\nrole_arn = arn:aws:iam::111111111111:role/X\nsource_profile = base\n")
    assert bash_complete({**env, "AWS_CONFIG_FILE": str(other)}, "words trayapp assume ''")[1] == "only-this"


HOSTILE_NAMES = ["$(touch${IFS}ran-dollar)", "`touch${IFS}ran-backtick`", "$(touch ran-quoted)", "*"]


def test_bash_completion_offers_profile_names_literally_and_runs_none(home: Path, tmp_path: Path) -> None:
    """Names that are shell syntax — ``$(…)``, backticks, ``*``, a quote — are offered as they are,
    quoted so the line means that name, and nothing runs on a Tab press.  (``compgen -W
    "$(_trayapp_profiles)"`` ran both commands and offered the folder's files for ``*``.)"""
    role = "role_arn = arn:aws:iam::111111111111:role/X\nsource_profile = base\n"
    config = tmp_path / "hostile-config"
    config.write_text("".join(f"[profile {json.dumps(n) if ' ' in n else n}]\n{role}" for n in HOSTILE_NAMES))
    folder = tmp_path / "cwd"
    folder.mkdir()
    (folder / "some-file").touch()
    script = (
        'source <("$TRAYAPP" completion bash)\n'
        'for w in "" "\\$" "\\"\\$(" "\\`" "*"; do\n'
        '  COMP_WORDS=(trayapp assume "$w"); COMP_CWORD=2; COMPREPLY=(); _trayapp\n'
        '  printf "%s\\n" "${#COMPREPLY[@]}" "${COMPREPLY[@]}"\n'
        "done\n"
    )
    env = env_for(home, "http://127.0.0.1:9", AWS_CONFIG_FILE=str(config), TRAYAPP=str(launcher(tmp_path)))
    done = subprocess.run(["bash", "-c", script], env=env, cwd=folder, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines, offered = done.stdout.splitlines(), []
    while lines:
        count = int(lines.pop(0))
        offered.append([shlex.split(word)[0] for word in lines[:count]])
        del lines[:count]
    assert sorted(folder.iterdir()) == [folder / "some-file"] and not list(home.glob("ran-*"))
    assert offered[0] == sorted(HOSTILE_NAMES)
    assert offered[1] == ["$(touch ran-quoted)", "$(touch${IFS}ran-dollar)"]  # what was typed: '$'
    assert offered[2] == offered[1]  # '"$(' — an open quote
    assert offered[3] == ["`touch${IFS}ran-backtick`"]
    assert offered[4] == ["*"]


def test_completion_offers_only_profiles_that_can_be_used_and_forget_only_sessions(home: Path, tmp_path: Path) -> None:
    env = env_for(home, "http://127.0.0.1:9", TRAYAPP=str(launcher(tmp_path)))
    listing = trayapp(env, "list")
    assert "badtags" in listing.stderr  # a role profile that can't be used…
    out = bash_complete(env, "words trayapp assume ''", "words trayapp forget ''")
    assert out[1].split() == ["deep", "dev", "partner", "prod", "tagged"]  # …is not offered
    assert out[2] == ""  # no session to forget yet
    creds = home / ".aws" / "credentials"
    creds.write_text(creds.read_text() + "\n[dev-session]\ntrayapp_managed = 1\naws_access_key_id = ASIAX\n")
    out = bash_complete(env, "words trayapp forget ''", "words trayapp forget x")
    assert out[1:] == ["dev", ""]  # the one session there is now (the remembered list was stale)


def launcher(folder: Path) -> Path:
    path = folder / "trayapp"
    path.write_text(f'#!/bin/sh\nexec {sys.executable} -m trayapp "$@"\n')
    path.chmod(0o755)
    return path


def test_zsh_and_fish_scripts_name_the_commands() -> None:
    zsh = subprocess.run([sys.executable, "-m", "trayapp", "completion", "zsh"], capture_output=True, text=True)
    fish = subprocess.run([sys.executable, "-m", "trayapp", "completion", "fish"], capture_output=True, text=True)
    assert "bashcompinit" in zsh.stdout and "complete -F _trayapp trayapp" in zsh.stdout
    assert "-a exec" in fish.stdout and "-l region" in fish.stdout and "profile_names.py" in fish.stdout


# --- source identity and session tags ----------------------------------------------------------------


def test_source_identity_and_tags_are_sent_and_listed(fault_sts: Any, home: Path) -> None:
    env = env_for(home, fault_sts.url)
    result = trayapp(env, "assume", "tagged", "--code", "123456")
    assert result.returncode == 0, result.stderr
    (request,) = fault_sts.requests_for("AssumeRole")
    assert request["SourceIdentity"] == "alice@example.com"
    sent = {request[f"Tags.member.{n}.Key"]: request[f"Tags.member.{n}.Value"] for n in (1, 2, 3)}
    assert sent == {"team": "payments", "cost-centre": "42", "note": "a=b"}
    assert request["TransitiveTagKeys.member.1"] == "team"
    assert "TransitiveTagKeys.member.2" not in request

    listed = trayapp(env, "list", "--json")
    rows = {row["profile"]: row for row in json.loads(listed.stdout)}
    assert rows["tagged"]["source_identity"] == "alice@example.com"
    assert rows["tagged"]["session_tags"] == {"team": "payments", "cost-centre": "42", "note": "a=b"}
    assert rows["tagged"]["transitive_session_tags"] == ["team"]
    assert rows["dev"]["session_tags"] == {} and rows["dev"]["source_identity"] is None
    assert "badtags" not in rows
    assert "profile 'badtags' can't be used: session_tags entry 'team' is not key=value" in listed.stderr


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        ("source_identity = a b", "source_identity 'a b' is not 2 to 64 letters"),
        ("session_tags = aws:x=1", "session_tags entry 'aws:x=1' is not key=value"),
        ("session_tags = a=1,A=2", "session_tags names the key 'A' twice"),
        ("session_tags = a=1\ntransitive_session_tags = b", "transitive_session_tags names 'b', which is not"),
        ("session_tags = a=x;y", "session_tags entry 'a=x;y' is not key=value"),
    ],
)
def test_bad_identity_or_tags_make_only_that_profile_unusable(home: Path, lines: str, reason: str) -> None:
    config = home / ".aws" / "config"
    config.write_text(CONFIG + f"\n[profile odd]\nrole_arn = arn:aws:iam::1:role/X\nsource_profile = base\n{lines}\n"
                      .replace("iam::1:", "iam::111111111111:"))  # fmt: skip
    env = env_for(home, "http://127.0.0.1:9")
    result = trayapp(env, "assume", "odd")
    assert result.returncode == 2
    assert f"Profile 'odd' can't be used: {reason}" in result.stderr
    assert "prod" in trayapp(env, "list").stdout


class OneCode:
    def __init__(self) -> None:
        self.shown = 0

    def ask(self, request: MfaRequest, error: str | None = None) -> str | None:
        self.shown += 1
        return "123456"

    def close(self) -> None:
        pass


@contextlib.contextmanager
def process_env(env: dict[str, str]) -> Iterator[None]:
    names = ("AWS_ENDPOINT_URL_STS", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")
    saved = {k: os.environ.get(k) for k in names}
    os.environ.update({k: env[k] for k in names})  # botocore reads these from the process environment
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_the_mfa_session_path_sends_them_too(fault_sts: Any, home: Path) -> None:
    env = env_for(home, fault_sts.url)
    service = Service(environ=env, mfa_sessions=True, used_codes=UsedCodes(time.time))
    prompt = OneCode()
    with process_env(env):
        service.assume("prod", prompt)  # the code opens the MFA session
        service.assume("tagged", prompt)  # signed by the MFA session: no code
    assert prompt.shown == 1
    assert [r.action for r in fault_sts.requests] == ["GetSessionToken", "AssumeRole", "AssumeRole"]
    tagged = fault_sts.requests[-1]
    assert "TokenCode" not in tagged
    assert tagged["SourceIdentity"] == "alice@example.com"
    assert tagged["Tags.member.1.Key"] == "team" and tagged["TransitiveTagKeys.member.1"] == "team"


# --- console: SessionDuration as AWS documents it ----------------------------------------------------


class Federation(BaseHTTPRequestHandler):
    """The federation endpoint as AWS documents it: ``SessionDuration`` (900-43200) is accepted only
    for role keys that an IAM user's long-term keys obtained; for keys of a role assumed with
    temporary keys (an MFA session's, or role chaining) a request with it is refused, HTTP 400."""

    server: Any

    def do_POST(self) -> None:
        fields = dict(urllib.parse.parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
        self.server.requests.append(fields)
        key = json.loads(fields["Session"])["sessionId"]
        duration = fields.get("SessionDuration")
        refused = duration is not None and (
            key in self.server.temporary_keys or not 900 <= int(duration) <= 43200 or self.server.refuse_all
        )
        body = b"Invalid credentials parameter" if refused else json.dumps({"SigninToken": "TOKEN-" + key}).encode()
        self.send_response(400 if refused else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def federation() -> Iterator[Any]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Federation)
    server.requests = []  # type: ignore[attr-defined]
    server.temporary_keys = set()  # type: ignore[attr-defined]
    server.refuse_all = False  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/federation"  # type: ignore[attr-defined]
    yield server
    server.shutdown()
    server.server_close()


def section_key(home: Path, section: str) -> str:
    text = (home / ".aws" / "credentials").read_text()
    part = text.split(f"[{section}]", 1)[1]
    return next(line.split("=", 1)[1].strip() for line in part.splitlines() if line.startswith("aws_access_key_id"))


def test_console_follows_the_session_duration_rules(fault_sts: Any, home: Path, federation: Any) -> None:
    env = env_for(home, fault_sts.url, TRAYAPP_SIGNIN_URL=federation.url)
    assert trayapp(env, "assume", "prod", "--code", "123456").returncode == 0  # long-term keys signed
    assert trayapp(env, "assume", "deep", "--code", "654321").returncode == 0  # chained from prod's session
    federation.temporary_keys.add(section_key(home, "deep-session"))

    url = trayapp(env, "console", "prod", "--print-url", "--region", "sa-east-1")
    assert url.returncode == 0, url.stderr
    assert "region%3Dsa-east-1" in url.stdout
    (first,) = federation.requests
    assert 900 <= int(first["SessionDuration"]) <= 3600  # as long as the session has left

    chained = trayapp(env, "console", "deep", "--print-url")
    assert chained.returncode == 0, chained.stderr
    assert "SessionDuration" not in federation.requests[-1]  # never asked: one request
    assert len(federation.requests) == 2

    federation.refuse_all = True  # refused anyway: asked again without it, as the documentation allows
    again = trayapp(env, "console", "prod", "--print-url")
    assert again.returncode == 0, again.stderr
    assert "SessionDuration" in federation.requests[-2] and "SessionDuration" not in federation.requests[-1]


def test_console_of_a_role_from_the_mfa_session_sends_no_session_duration(
    fault_sts: Any, home: Path, federation: Any
) -> None:
    env = env_for(home, fault_sts.url, TRAYAPP_SIGNIN_URL=federation.url)
    service = Service(environ=env, mfa_sessions=True, used_codes=UsedCodes(time.time))
    with process_env(env):
        service.assume("prod", OneCode())
        url = service.console_url("prod")
    assert url.startswith(federation.url + "?Action=login")
    (request,) = federation.requests
    assert "SessionDuration" not in request
