"""Write the .deb's copyright file (Debian's machine-readable format) to stdout.

    <venv>/bin/python deb_copyright.py VENV_DIR LICENSE_FILE INSTALLED_PREFIX

Run by the private environment's Python, so importlib.metadata lists exactly the distributions the
package ships: trayapp's own under the MIT licence, then one paragraph per third-party distribution
with the licence its metadata declares and where its licence files sit in the installed package.
"""

from __future__ import annotations

import sys
from importlib.metadata import Distribution, distributions
from pathlib import Path

FORMAT = "https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
#: Licences Debian ships in /usr/share/common-licenses, by the names used here.
COMMON = {"Apache-2.0": "Apache-2.0", "LGPL-2.1": "LGPL-2.1", "MPL-2.0": "MPL-2.0"}


def licence_of(dist: Distribution) -> str:
    meta = dist.metadata
    expression = meta.get("License-Expression")
    if expression:
        return str(expression).strip()
    for classifier in meta.get_all("Classifier") or []:
        if classifier.startswith("License :: OSI Approved :: "):
            name = classifier.rsplit(" :: ", 1)[1]
            return {
                "Apache Software License": "Apache-2.0",
                "MIT License": "MIT",
                "BSD License": "BSD-3-Clause",
                "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
                "Python Software Foundation License": "PSF-2.0",
                "GNU Lesser General Public License v2 or later (LGPLv2+)": "LGPL-2.1+",
            }.get(name, name.replace(" ", "-"))
    licence = (meta.get("License") or "").strip()
    return licence.splitlines()[0] if licence and len(licence) < 60 else "other"


def main(venv: Path, licence_file: Path, prefix: str) -> None:
    site = next(venv.glob("lib/python3*/site-packages"))
    installed = prefix.lstrip("/") + "/" + str(site.relative_to(venv))
    print(f"Format: {FORMAT}\nUpstream-Name: trayapp\n")
    print("Files: *\nCopyright: 2026 the trayapp developers\nLicense: MIT\n")
    used: set[str] = {"MIT"}
    for dist in sorted(distributions(path=[str(site)]), key=lambda d: d.metadata["Name"].lower()):
        name, version = dist.metadata["Name"], dist.version
        if name.lower() in {"aws-session-tray", "trayapp"}:
            continue
        files = sorted({Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")})
        licence = licence_of(dist)
        used.update(part.strip("()+ ") for part in licence.replace(" OR ", " AND ").split(" AND "))
        info = next((f for f in files if f.endswith(".dist-info")), "")
        print("Files: " + "\n ".join(f"{installed}/{f}{'/*' if '.' not in f or f.endswith('-info') else ''}"
                                     for f in files))  # fmt: skip
        print(f"Copyright: the authors of {name} {version}; see {prefix}/{site.relative_to(venv)}/{info}/")
        print(f"License: {licence}\n")
    text = licence_file.read_text().splitlines()
    print("License: MIT\n" + "\n".join(f" {line}" if line.strip() else " ." for line in text))
    for licence in sorted(used - {"MIT", ""}):
        common = COMMON.get(licence)
        where = f"/usr/share/common-licenses/{common}" if common else "the licence files named in its Files paragraph"
        print(f"\nLicense: {licence}\n On Debian systems the full text is in {where}.")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
