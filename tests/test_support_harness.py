"""The test harness (tests/support) proves itself: real Xvfb, bus, tray, STS servers."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from botocore.parsers import ResponseParserError
from jeepney import DBusAddress, HeaderFields, MatchRule, MessageType, new_method_call
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection

from tests.support.desktop import Desktop
from tests.support.fixtures import SigninServer, aws_env
from tests.support.procs import HarnessError, refused_url
from tests.support.sts import PRESETS, FaultSts, MotoServer, run_aws

# tests/conftest.py star-imports the fixtures; import them here only when it does not,
# so this module also runs on its own without registering every fixture twice.
_CONFTEST = Path(__file__).with_name("conftest.py")
if not _CONFTEST.exists() or "tests.support.fixtures" not in _CONFTEST.read_text():
    from tests.support.fixtures import *  # noqa: F403

NOTIFY_ADDR = DBusAddress(
    "/org/freedesktop/Notifications",
    bus_name="org.freedesktop.Notifications",
    interface="org.freedesktop.Notifications",
)
ROLE_ARN = "arn:aws:iam::111122223333:role/admin/deploy-role"
MFA_SERIAL = "arn:aws:iam::123456789012:mfa/test-user"


def sts_client(url: str, **config: Any) -> Any:
    return boto3.client(
        "sts",
        endpoint_url=url,
        region_name="eu-west-1",
        aws_access_key_id="AKIAHARNESSTEST00001",
        aws_secret_access_key="harness-secret",
        config=Config(retries={"total_max_attempts": 1}, **config),
    )


# --------------------------------------------------------------------------- desktop
@pytest.mark.desktop
def test_desktop_env_is_private_and_clean(desktop: Desktop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "leaked")
    env = desktop.env
    assert not [k for k in env if k.startswith("AWS_")]
    assert env["DISPLAY"] == desktop.display and env["NO_AT_BRIDGE"] == "1"
    assert env["DBUS_SESSION_BUS_ADDRESS"].startswith("unix:")
    for key in ("HOME", "XDG_RUNTIME_DIR", "TMPDIR"):
        assert Path(env[key]).is_dir()
    assert stat.S_IMODE(os.stat(env["XDG_RUNTIME_DIR"]).st_mode) == 0o700
    assert "PATH" in env
    assert desktop.timings["total"] < 5


@pytest.mark.desktop
def test_notify_send_reaches_the_recorder(desktop: Desktop) -> None:
    subprocess.run(
        ["notify-send", "-a", "trayapp", "-u", "critical", "prod expires soon", "5 min left"],
        env=desktop.env,
        check=True,
        timeout=10,
    )
    n = desktop.wait_for_notification(lambda n: n["summary"] == "prod expires soon")
    assert n["app_name"] == "trayapp"
    assert n["body"] == "5 min left"
    assert n["hints"]["urgency"] == 2
    assert n["id"] >= 1
    json.dumps(n)  # plain JSON all the way down


@pytest.mark.desktop
def test_action_invoked_reaches_a_jeepney_client(desktop: Desktop) -> None:
    with open_dbus_connection(bus=desktop.bus_address) as conn:
        rule = MatchRule(
            type="signal", interface="org.freedesktop.Notifications", path="/org/freedesktop/Notifications"
        )
        conn.send_and_get_reply(message_bus.AddMatch(rule), timeout=2)
        reply = conn.send_and_get_reply(
            new_method_call(
                NOTIFY_ADDR,
                "Notify",
                "susssasa{sv}i",
                ("trayapp", 0, "", "Expiring", "renew?", ["renew", "Renew"], {"urgency": ("y", 1)}, -1),
            ),
            timeout=2,
        )
        assert reply.header.message_type == MessageType.method_return
        (nid,) = reply.body
        assert desktop.notifications()[-1]["actions"] == ["renew", "Renew"]

        with conn.filter(rule, bufsize=10) as signals:
            desktop.invoke_action(nid, "renew")
            first = conn.recv_until_filtered(signals, timeout=2)
            second = conn.recv_until_filtered(signals, timeout=2)
    assert first.header.fields[HeaderFields.member] == "ActionInvoked"
    assert first.body == (nid, "renew")
    assert second.header.fields[HeaderFields.member] == "NotificationClosed"
    assert second.body == (nid, 2)


@pytest.mark.desktop
def test_notify_send_wait_sees_the_invoked_action(desktop: Desktop) -> None:
    proc = desktop.spawn(["notify-send", "--wait", "-A", "renew=Renew", "Expiring", "x"], name="notify-send-wait")
    n = desktop.wait_for_notification(lambda n: n["summary"] == "Expiring")
    desktop.invoke_action(n["id"], "renew")
    assert proc.wait(5) == 0
    assert desktop.log("notify-send-wait").strip() == "renew"


@pytest.mark.desktop
def test_pystray_xorg_icon_docks_in_trayer(desktop: Desktop, tmp_path: Path) -> None:
    script = tmp_path / "icon.py"
    script.write_text(
        textwrap.dedent("""
        import pystray
        from PIL import Image
        from trayapp.tray.xorg_clicks import keep_docked

        import time

        def setup(icon):
            icon.visible = True
            keep_docked(icon)  # trayer now and then drops a first dock request: ask again, as the tray does
            # pystray's xorg backend paints only on Expose and on a new image; under load its one paint
            # can land before trayer maps the window (seen: docked, never red).  The tray sets its icon
            # again after start-up; this stand-in does it twice a second for a while (pacing, not a wait).
            for _ in range(60):
                time.sleep(0.5)
                icon.icon = icon.icon

        pystray.Icon("harness", Image.new("RGB", (32, 32), (200, 30, 30)), "harness").run(setup)
    """)
    )
    desktop.spawn([sys.executable, str(script)], name="pystray", extra_env={"PYSTRAY_BACKEND": "xorg"})
    wid, x, y, w, h = desktop.wait_for_tray_icon(timeout=10)
    assert w > 0 and h > 0
    assert y >= 800 - 32 - h  # trayer sits on the bottom edge
    assert desktop.window_geometry(wid) == (x, y, w, h)
    desktop.wait_for_pixel(x + w // 2, y + h // 2, lambda p: p[0] > 150 and p[1] < 80 and p[2] < 80)
    shot = desktop.screenshot(tmp_path / "screen.png")
    from PIL import Image

    with Image.open(shot) as img:
        assert img.size == (1280, 800)


TK_DIALOG = """
import tkinter as tk
root = tk.Tk()
root.title("Harness MFA (test)")
entry = tk.Entry(root)
entry.pack()
entry.focus_set()
root.bind("<Return>", lambda e: (print(entry.get(), flush=True), root.destroy()))
root.mainloop()
"""


@pytest.mark.desktop
def test_type_into_and_key_drive_a_tk_dialog(desktop: Desktop) -> None:
    proc = desktop.spawn([sys.executable, "-c", TK_DIALOG], name="tk-dialog")
    wid = desktop.wait_for_window("Harness MFA (test)")
    assert desktop.window_geometry(wid)[2] > 0
    desktop.type_into("Harness MFA (test)", "123 456")
    desktop.key("Harness MFA (test)", "Return")
    assert proc.wait(5) == 0
    assert desktop.log("tk-dialog").strip() == "123 456"


@pytest.mark.desktop
def test_wait_for_window_times_out_clearly(desktop: Desktop) -> None:
    t0 = time.monotonic()
    with pytest.raises(HarnessError, match="timed out"):
        desktop.wait_for_window("no such window", timeout=0.3)
    assert time.monotonic() - t0 < 2


# ------------------------------------------------------------------------------- STS
def test_aws_cli_assumes_a_role_profile_on_moto(moto_sts: MotoServer, aws_home: Path) -> None:
    (aws_home / ".aws" / "credentials").write_text(
        "[base]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
    )
    (aws_home / ".aws" / "config").write_text(
        "[profile base]\nregion = eu-west-1\n"
        "[profile dev]\nrole_arn = arn:aws:iam::123456789012:role/dev-role\n"
        "source_profile = base\nrole_session_name = harness\n"
        "mfa_serial = arn:aws:iam::123456789012:mfa/me\n"
    )
    env = aws_env(aws_home, moto_sts.url, AWS_PROFILE="base")
    res = run_aws(["sts", "get-caller-identity", "--output", "json"], env)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["Account"] == "123456789012"

    res = run_aws(
        [
            "sts",
            "assume-role",
            "--role-arn",
            "arn:aws:iam::123456789012:role/dev-role",
            "--role-session-name",
            "harness",
            "--serial-number",
            MFA_SERIAL,
            "--token-code",
            "123456",
            "--output",
            "json",
        ],
        env,
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["AssumedRoleUser"]["Arn"] == ("arn:aws:sts::123456789012:assumed-role/dev-role/harness")


def test_fault_sts_wrong_code_is_access_denied(fault_sts: FaultSts) -> None:
    fault_sts.push("wrong_code")
    client = sts_client(fault_sts.url)
    with pytest.raises(ClientError) as info:
        client.assume_role(
            RoleArn=ROLE_ARN,
            RoleSessionName="me",
            SerialNumber=MFA_SERIAL,
            TokenCode="123456",
            DurationSeconds=900,
            ExternalId="ext-1",
        )
    err = info.value.response
    assert err["Error"]["Code"] == "AccessDenied"
    assert err["Error"]["Message"] == ("MultiFactorAuthentication failed with invalid MFA one time pass code.")
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 403
    req = fault_sts.requests[-1]
    assert req["Action"] == "AssumeRole"
    assert (req["TokenCode"], req["SerialNumber"], req["ExternalId"]) == ("123456", MFA_SERIAL, "ext-1")
    assert (req["DurationSeconds"], req["RoleSessionName"]) == ("900", "me")
    assert req.access_key == "AKIAHARNESSTEST00001"


@pytest.mark.parametrize(
    ("preset", "code", "status"),
    [
        ("reused_code", "AccessDenied", 403),
        ("wrong_serial", "AccessDenied", 403),
        ("not_authorised", "AccessDenied", 403),
        ("expired_token", "ExpiredToken", 403),
        ("invalid_token", "InvalidClientTokenId", 403),
        ("duration_too_long", "ValidationError", 400),
        ("duration_chained", "ValidationError", 400),
        ("throttling", "Throttling", 400),
    ],
)
def test_fault_sts_presets(fault_sts: FaultSts, preset: str, code: str, status: int) -> None:
    fault_sts.push(preset)
    with pytest.raises(ClientError) as info:
        sts_client(fault_sts.url).assume_role(RoleArn=ROLE_ARN, RoleSessionName="me")
    err = info.value.response
    assert err["Error"]["Code"] == code
    assert err["ResponseMetadata"]["HTTPStatusCode"] == status
    message = err["Error"]["Message"]
    if preset == "not_authorised":
        assert message == (
            "User: arn:aws:iam::123456789012:user/test-user is not authorized to perform: "
            f"sts:AssumeRole on resource: {ROLE_ARN}"
        )
    else:
        expected = PRESETS[preset]
        assert message == expected.message  # type: ignore[union-attr]


def test_fault_sts_success_then_caller_identity(fault_sts: FaultSts) -> None:
    out = sts_client(fault_sts.url).assume_role(RoleArn=ROLE_ARN, RoleSessionName="alice", DurationSeconds=1800)
    assert out["AssumedRoleUser"]["Arn"] == ("arn:aws:sts::111122223333:assumed-role/deploy-role/alice")
    creds = out["Credentials"]
    left = creds["Expiration"].timestamp() - time.time()
    assert 1790 < left <= 1800
    me = boto3.client(
        "sts",
        endpoint_url=fault_sts.url,
        region_name="eu-west-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    ).get_caller_identity()
    assert me["Arn"] == out["AssumedRoleUser"]["Arn"]
    assert [r.action for r in fault_sts.requests] == ["AssumeRole", "GetCallerIdentity"]


def test_fault_sts_hang_malformed_and_refused(fault_sts: FaultSts) -> None:
    fault_sts.push("hang")
    t0 = time.monotonic()
    with pytest.raises(ReadTimeoutError):
        sts_client(fault_sts.url, read_timeout=0.3).get_session_token()
    assert time.monotonic() - t0 < 2

    fault_sts.push("malformed")
    with pytest.raises(ResponseParserError, match="invalid XML"):
        sts_client(fault_sts.url).get_session_token()

    with pytest.raises(EndpointConnectionError):
        sts_client(refused_url()).get_caller_identity()
    assert fault_sts.pending == 0


def test_visible_windows_lists_every_window_while_others_come_and_go(desktop: Desktop) -> None:
    """The harness tells a new menu by the windows that were not there before: a listing that
    misses windows because another one vanished meanwhile (xdotool's BadWindow) makes the panel and
    the root look new, and the click meant for a menu entry lands elsewhere."""
    import threading

    from Xlib.display import Display

    from tests.support.tray_desktop import visible_windows

    display = Display(desktop.env["DISPLAY"])
    screen = display.screen()
    kept = screen.root.create_window(0, 0, 40, 40, 0, screen.root_depth)
    kept.map()
    display.sync()
    stop = threading.Event()

    def churn() -> None:  # menus opening and closing, as fast as the server allows
        while not stop.is_set():
            windows = [screen.root.create_window(5, 5, 20, 20, 0, screen.root_depth, override_redirect=True)
                       for _ in range(20)]  # fmt: skip
            for window in windows:
                window.map()
            display.sync()
            for window in windows:
                window.destroy()
            display.sync()

    thread = threading.Thread(target=churn, daemon=True)
    thread.start()
    try:
        listings = [visible_windows(desktop) for _ in range(40)]
    finally:
        stop.set()
        thread.join(10)
        display.close()
    assert all(kept.id in listing for listing in listings)


def test_the_signin_stand_in_refreshes_for_botocores_own_login_provider(
    aws_home: Path, signin_server: SigninServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The `aws login` stand-in speaks what botocore speaks: botocore's LoginProvider (botocore[crt])
    refreshes a sign-in with 3 minutes left through it, its DPoP proof verified, the token rotated."""
    import botocore.session

    from tests.support.signin import cache_path, write_cache

    arn = "arn:aws:iam::123456789012:user/alice"
    (aws_home / ".aws" / "config").write_text(f"[profile dev]\nlogin_session = {arn}\nregion = eu-west-1\n")
    for name, value in aws_env(aws_home, "http://127.0.0.1:9", **signin_server.env()).items():
        monkeypatch.setenv(name, value)
    folder = aws_home / ".aws" / "login" / "cache"
    old = signin_server.sign_in(arn, left=timedelta(minutes=3))
    write_cache(folder, arn, old)
    frozen = botocore.session.Session(profile="dev").get_credentials().get_frozen_credentials()
    data = json.loads(cache_path(folder, arn).read_text())
    assert signin_server.refreshes == ["refreshed"]
    assert frozen.access_key == data["accessToken"]["accessKeyId"] != old["accessToken"]["accessKeyId"]
    assert data["refreshToken"] == signin_server.current_refresh_token(arn) != old["refreshToken"]
