"""The tray's Keys part (issue 12): what reading the keys and building their menu cost on the worker.

Figures (milliseconds, medians of ``--runs``) with ``--sources`` source profiles, half with keys in the
credentials file and half in a keyring (in memory here: the figure is trayapp's own work), and 200 role
profiles beside them:

``first``    the first read (the AWS files and each keyring entry once);
``reload``   a read after a file changed (the files again; the keyring's entries are held);
``menu``     building the Keys submenu from what was read (every menu refresh).

Run: ``.venv/bin/python -m bench.tray_keys [--sources 50] [--runs 21]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from trayapp.tray import menu_model
from trayapp.tray.key_info import KeyInfo, held_store


class MemoryKeyring:
    def __init__(self) -> None:
        self.values: dict[tuple[str, str], str] = {}
        self.reads = 0

    def get_password(self, service: str, user: str) -> str | None:
        self.reads += 1
        return self.values.get((service, user))

    def set_password(self, service: str, user: str, value: str) -> None:
        self.values[(service, user)] = value

    def delete_password(self, service: str, user: str) -> None:
        del self.values[(service, user)]


def setup(folder: Path, sources: int, keyring: MemoryKeyring, now: datetime) -> dict[str, str]:
    aws = folder / ".aws"
    aws.mkdir(parents=True)
    credentials, config = [], []
    for n in range(sources // 2):
        credentials.append(f"[file{n}]\naws_access_key_id = AKIAFILE{n:012d}\naws_secret_access_key = s{n}\n")
        config.append(f"[profile ring{n}]\ncredential_process = /usr/bin/trayapp keys serve ring{n}\n")
        created = (now - timedelta(days=7 * n)).isoformat(timespec="seconds")
        entry = {"access_key_id": f"AKIARING{n:012d}", "secret_access_key": "x", "created": created}
        keyring.values[("trayapp", f"keys/ring{n}")] = json.dumps(entry)
    for n in range(200):
        config.append(f"[profile role{n}]\nrole_arn = arn:aws:iam::123456789012:role/r{n}\nsource_profile = file0\n")
    (aws / "credentials").write_text("".join(credentials))
    (aws / "config").write_text("".join(config))
    return {
        "HOME": str(folder),
        "AWS_CONFIG_FILE": str(aws / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(aws / "credentials"),
    }


def ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sources", type=int, default=50)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    now = datetime.now(UTC)
    firsts, reads = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            keyring = MemoryKeyring()
            env = setup(Path(tmp) / str(run), args.sources, keyring, now)
            keys = KeyInfo(held_store(keyring), environ=env)
            start = time.perf_counter()
            keys.load()
            firsts.append((time.perf_counter() - start) * 1000)
        reload = ms(keys.load, args.runs)
        reads = keyring.reads
        menu = ms(lambda: menu_model.keys_menu(keys.rows(), now, 90), args.runs)
    print(
        json.dumps(
            {
                "sources": args.sources,
                "first_ms": round(statistics.median(firsts), 2),
                "reload_ms": round(reload, 2),
                "menu_ms": round(menu, 3),
                "keyring_reads": reads,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
