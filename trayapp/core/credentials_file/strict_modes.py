"""Whether a credentials file's surroundings let another local user in, as ``ssh`` checks them (POSIX).

Like ``ssh``'s StrictModes: the file and every folder above it belong to the
user or root, a symbolic link on the way belongs to the user or root, and the
folder holding the file is not writable by group or others (its ancestors may
be, with the sticky bit, like ``/tmp``; a group that is the user's own private
group counts as the user).  Otherwise nothing is written and the sentence names
the fix.  Not on Windows: privacy there comes from the ACL of the user's profile
folder, and file modes and owners mean nothing to these checks.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from trayapp.i18n import _

__all__ = ["private_group", "unsafe_location"]


def unsafe_location(path: Path) -> str | None:
    """Why writing keys at *path* would let another local user in, or None (POSIX).

    The folder holding the file (and the one holding a symbolic link to it) is
    writable by nobody else; every folder above belongs to the user or root
    and, unless it has the sticky bit (``/tmp``), is not writable by others
    either; every symbolic link on the way, the file and its lock file belong
    to the user or root.
    """
    uid = os.geteuid()
    trusted = {uid, 0}
    path = Path(os.path.abspath(path))
    target = Path(os.path.realpath(path))
    for holder in dict.fromkeys([Path(os.path.realpath(path.parent)), target.parent]):
        reason = _unsafe_folders(holder, uid, trusted)
        if reason is not None:
            return reason
    # Symbolic links on the way (any of them could send the keys elsewhere).
    for part in [*reversed(path.parents), path]:
        try:
            st = os.lstat(part)
        except FileNotFoundError:
            break
        if stat.S_ISLNK(st.st_mode) and st.st_uid not in trusted:
            return _(
                "{link} is a symbolic link that belongs to another user (uid {uid}); remove it if you did not make it"
            ).format(link=part, uid=st.st_uid)
    for file in (target, Path(f"{target}.lock")):
        try:
            st = os.lstat(file)
        except FileNotFoundError:
            continue
        if st.st_uid not in trusted or stat.S_ISLNK(st.st_mode):
            return _("{file} belongs to another user (uid {uid}); remove it if you did not make it").format(
                file=file, uid=st.st_uid
            )
    return None


def _unsafe_folders(holder: Path, uid: int, trusted: set[int]) -> str | None:
    """The first folder from *holder* up to ``/`` that another user could write into."""
    first = True
    for folder in [holder, *holder.parents]:
        try:
            st = os.stat(folder)
        except FileNotFoundError:
            continue  # made 0700 by trayapp, then checked again
        if st.st_uid not in trusted:
            return _("the folder {folder} belongs to another user (uid {uid})").format(folder=folder, uid=st.st_uid)
        writable = st.st_mode & 0o002 or (st.st_mode & 0o020 and not private_group(st.st_gid, uid))
        sticky = st.st_mode & stat.S_ISVTX
        holds_file, first = first and folder == holder, False
        if not writable or (sticky and not holds_file):
            continue  # others can't replace what is in a sticky folder, only add to it
        if sticky:
            return _(
                "other users can create files in its folder {folder}; keep the credentials file in a folder of your own"
            ).format(folder=folder)
        return _("other users can write into the folder {folder}; run chmod go-w {folder}").format(folder=folder)
    return None


def private_group(gid: int, uid: int) -> bool:
    """The user's own group (named like the user, no other members), as Debian's ssh allows."""
    import grp
    import pwd

    try:
        user = pwd.getpwuid(uid)
        group = grp.getgrgid(gid)
    except KeyError:
        return False
    return user.pw_gid == gid and group.gr_name == user.pw_name and set(group.gr_mem) <= {user.pw_name}
