"""``trayapp doctor``'s look at the files: the AWS config and credentials files (owner, mode, the
folders above them, as ``ssh`` checks its own), the IAM Identity Center token cache folder, and
botocore's version against the bounds trayapp was tested with.

The rules: a file or folder another user can write blocks use (they could plant a role or keys);
a credentials file others can read is a warning (it holds keys); a config file readable by others
(0644, as ``aws configure`` leaves it) is told, nothing more.  POSIX only: on Windows the profile
folder's ACL keeps these private.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from trayapp.cli.doctor_desktop import FAIL, NOTE, OK, WARN, Finding
from trayapp.i18n import _

#: ``trayapp.core.sso_cache.CACHE_DIR``, written again: that module loads botocore's config reader
#: (24 ms), which doctor never needs.
SSO_CACHE = "~/.aws/sso/cache"


def aws_files(environ: Mapping[str, str]) -> list[Finding]:
    from trayapp.core import aws_paths

    return [
        _aws_file(_("AWS config file"), aws_paths.config_path(environ), secret=False),
        _aws_file(_("AWS credentials file"), aws_paths.credentials_path(environ), secret=True),
    ]


def _others_can_write(st: os.stat_result) -> bool:
    from trayapp.core.credentials_file.strict_modes import private_group

    return bool(st.st_mode & 0o002 or (st.st_mode & 0o020 and not private_group(st.st_gid, os.geteuid())))


def _foreign(st: os.stat_result) -> bool:
    return st.st_uid not in (os.geteuid(), 0)


def _me() -> str:
    import pwd

    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def _mode(st: os.stat_result) -> str:
    return f"{stat.S_IMODE(st.st_mode):04o}"


def _aws_file(name: str, path: Path, *, secret: bool) -> Finding:
    if os.name == "nt":
        return Finding(name, OK, str(path) if path.exists() else _("{path} (not there yet)").format(path=path))
    try:
        link, st = os.lstat(path), os.stat(path)
    except FileNotFoundError:
        if secret:
            return Finding(name, OK, _("{path} (not there yet: trayapp makes it, 0600)").format(path=path))
        return Finding(
            name, NOTE, _("{path} is not there: no profiles yet").format(path=path), _("make one with: aws configure")
        )
    except OSError as exc:
        return Finding(name, FAIL, f"{path}: {exc.strerror}", _("make it a file you can read"))
    if stat.S_ISLNK(link.st_mode) and _foreign(link):
        text = _("{path} is a symbolic link that belongs to another user (uid {uid})").format(
            path=path, uid=link.st_uid
        )
        return Finding(name, FAIL, text, _("remove it if you did not make it"))
    if not stat.S_ISREG(st.st_mode):
        return Finding(name, FAIL, _("{path} is not a regular file").format(path=path), _("make it a file"))
    if _foreign(st):
        text = _("{path} belongs to another user (uid {uid}), who can change it").format(path=path, uid=st.st_uid)
        return Finding(name, FAIL, text, f"sudo chown {_me()} {path}; chmod 600 {path}")
    if _others_can_write(st):
        text = _("other users can write {path} (mode {mode})").format(path=path, mode=_mode(st))
        return Finding(name, FAIL, text, f"chmod go-w {path}")
    from trayapp.core.credentials_file.strict_modes import unsafe_location

    folder = unsafe_location(path)
    if folder is not None:
        return Finding(name, FAIL, folder, _("keep the AWS files in a folder only you can write"))
    if secret and st.st_mode & 0o044:
        text = _("other users can read the keys in {path} (mode {mode})").format(path=path, mode=_mode(st))
        return Finding(name, WARN, text, f"chmod 600 {path}")
    if st.st_mode & 0o044:
        text = _("{path}: yours, mode {mode} (readable by others, as aws configure leaves it; no keys in it)")
        return Finding(name, NOTE, text.format(path=path, mode=_mode(st)))
    return Finding(name, OK, _("{path}: yours, mode {mode}").format(path=path, mode=_mode(st)))


def sso_cache(environ: Mapping[str, str]) -> list[Finding]:
    """``~/.aws/sso/cache``: the IAM Identity Center tokens botocore and the AWS CLI share."""
    from trayapp.core.aws_paths import expand

    name = _("SSO cache folder")
    folder = expand(SSO_CACHE, environ)
    if os.name == "nt":
        return [Finding(name, OK, str(folder))]
    try:
        link = os.lstat(folder)
        st = os.stat(folder)
    except FileNotFoundError:
        return [Finding(name, OK, _("{folder} (not there yet: made 0700 at the first sign-in)").format(folder=folder))]
    except OSError as exc:
        return [Finding(name, FAIL, f"{folder}: {exc.strerror}", f"rm -r {folder}")]
    linked = stat.S_ISLNK(link.st_mode)
    if linked and _foreign(link):
        text = _("{folder} is a symbolic link that belongs to another user (uid {uid})")
        return [Finding(name, FAIL, text.format(folder=folder, uid=link.st_uid), _("remove it if you did not make it"))]
    if not stat.S_ISDIR(st.st_mode):
        return [Finding(name, FAIL, _("{folder} is not a folder").format(folder=folder), f"rm {folder}")]
    if st.st_uid != os.geteuid():
        text = _("{folder} belongs to another user (uid {uid})").format(folder=folder, uid=st.st_uid)
        return [Finding(name, FAIL, text, _("remove it if you did not make it"))]
    if _others_can_write(st):
        text = _("other users can write into {folder} (mode {mode})").format(folder=folder, mode=_mode(st))
        return [Finding(name, FAIL, text, f"chmod 700 {folder}")]
    where = _(" (a symbolic link to {target})").format(target=os.path.realpath(folder)) if linked else ""
    if st.st_mode & 0o077:
        text = _("other users can look into {folder}{where} (mode {mode})")
        return [Finding(name, WARN, text.format(folder=folder, where=where, mode=_mode(st)), f"chmod 700 {folder}")]
    text = _("{folder}{where}: yours, mode {mode}").format(folder=folder, where=where, mode=_mode(st))
    return [Finding(name, NOTE if linked else OK, text)]


# --- botocore -------------------------------------------------------------------------------------


def botocore(environ: Mapping[str, str]) -> list[Finding]:
    """botocore's installed version (read from its metadata: botocore itself is not imported)
    against the bounds in trayapp's own requirements."""
    from importlib import metadata

    from packaging.requirements import Requirement

    name = "botocore"
    try:
        version = metadata.version("botocore")
    except metadata.PackageNotFoundError:
        return [
            Finding(
                name,
                FAIL,
                _("botocore is not installed"),
                _("reinstall it with its dependencies: pipx reinstall aws-session-tray"),
            )
        ]
    bound = next((r for r in map(Requirement, _requirements()) if r.name == "botocore"), None)
    if bound is None:
        return [Finding(name, OK, version)]
    bounds = ", ".join(sorted((str(s) for s in bound.specifier), reverse=True))  # >=1.34, <1.45
    if bound.specifier.contains(version, prereleases=True):
        return [Finding(name, OK, _("{version} (tested: {bounds})").format(version=version, bounds=bounds))]
    text = _("{version} is outside the versions trayapp was tested with ({bounds})")
    fix = _("reinstall it so that a botocore {bounds} is picked: pipx reinstall aws-session-tray")
    return [Finding(name, WARN, text.format(version=version, bounds=bounds), fix.format(bounds=bounds))]


def _requirements() -> list[str]:
    """trayapp's requirements: from the distribution that installed the package, else (a source
    checkout) from its pyproject.toml."""
    from importlib import metadata

    for dist in metadata.packages_distributions().get("trayapp", []):
        requires = metadata.requires(dist)
        if requires:
            return [r for r in requires if "extra ==" not in r]
    from trayapp.core.launch import package_parent

    pyproject = Path(package_parent()) / "pyproject.toml"
    try:
        import tomllib

        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [str(r) for r in data.get("project", {}).get("dependencies", [])]
