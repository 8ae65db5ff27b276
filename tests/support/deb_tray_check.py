"""Start the installed /usr/bin/trayapp against a StatusNotifierItem panel and read its menu.

Run inside the Debian root the .deb was installed into (tests/test_deb.py), by the package's own
Python (``/opt/aws-session-tray/bin/python3``, which has jeepney), with this repository's ``tests``
folder on ``PYTHONPATH``; needs ``dbus-daemon`` and ``Xvfb`` there.  A private session bus, a
StatusNotifierWatcher on it (tests/support/sni_host.py), a fresh HOME with one role profile: the tray
must register its item, show the profile in its menu and quit from its menu.  Prints one line per
step; exit status 0 when all held.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.sni_host import Host, Watcher

CONFIG = """\
[profile prod]
role_arn = arn:aws:iam::123456789012:role/Admin
source_profile = base
mfa_serial = arn:aws:iam::123456789012:mfa/alice
region = eu-west-1
"""
CREDENTIALS = "[base]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/EXAMPLEKEY\n"
BUS_CONF = """<busconfig><type>session</type><listen>unix:dir={dir}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/>
<allow own="*"/><allow user="*"/></policy></busconfig>"""


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="deb-tray-"))
    (tmp / "run").mkdir(mode=0o700)
    (tmp / "home").mkdir()
    (tmp / "bus.conf").write_text(BUS_CONF.format(dir=tmp))
    started: list[subprocess.Popen[bytes]] = []
    try:
        bus = subprocess.Popen(["dbus-daemon", f"--config-file={tmp / 'bus.conf'}", "--nofork", "--print-address"],
                               stdout=subprocess.PIPE)  # fmt: skip
        started.append(bus)
        assert bus.stdout is not None
        address = bus.stdout.readline().decode().strip()
        display = subprocess.Popen(["Xvfb", ":77", "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                                   stderr=subprocess.DEVNULL)  # fmt: skip
        started.append(display)
        watcher = Watcher(address).start()
        aws = tmp / "home" / ".aws"
        aws.mkdir(mode=0o700)
        (aws / "config").write_text(CONFIG)
        (aws / "credentials").write_text(CREDENTIALS)
        (aws / "credentials").chmod(0o600)
        env = {
            "PATH": "/usr/bin:/bin", "HOME": str(tmp / "home"), "XDG_RUNTIME_DIR": str(tmp / "run"),
            "DBUS_SESSION_BUS_ADDRESS": address, "DISPLAY": ":77", "LANG": "C.UTF-8", "NO_AT_BRIDGE": "1",
        }  # fmt: skip
        tray = subprocess.Popen(["/usr/bin/trayapp"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        started.append(tray)
        name, path = watcher.wait_for_item(timeout=60)
        print(f"registered: {name} {path}")
        host = Host(address, name, path)
        labels = [item.label for item in host.layout(0)[1].children if not item.separator]
        print(f"menu: {labels}")
        assert any(label.startswith("prod") for label in labels), labels
        host.click(host.find("Quit"))
        status = tray.wait(timeout=30)
        print(f"tray exit status: {status}")
        output = tray.stdout.read().decode() if tray.stdout else ""
        print(f"tray output: {output!r}")
        host.close()
        watcher.stop()
        return 0 if status == 0 else 1
    finally:
        for proc in reversed(started):
            if proc.poll() is None:
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    os.umask(0o022)
    sys.exit(main())
