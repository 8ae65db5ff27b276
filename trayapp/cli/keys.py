"""`trayapp keys`: long-term keys of source profiles in the OS keyring (import, list, export, remove,
rotate), and `keys serve`, the credential_process other tools run to get them."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from trayapp.cli.common import Subparsers
from trayapp.core import errors
from trayapp.i18n import _

if TYPE_CHECKING:
    from trayapp.core.keys import Keys
    from trayapp.core.service import Service


def register(sub: Subparsers) -> None:
    p = sub.add_parser("keys", help=_("keep source profiles' long-term keys in the OS keyring, and rotate them"))
    actions = p.add_subparsers(title=_("actions"), metavar="ACTION", dest="keys_action")
    actions.required = True

    a = actions.add_parser("list", help=_("each source profile: where its keys live, the key id, its age"))
    a.add_argument("--json", action="store_true", help=_("print JSON"))
    a.set_defaults(func=cmd_list)

    for name, helptext, func in (
        ("import", _("move SOURCE's keys from the AWS files into the keyring"), cmd_import),
        ("export", _("put SOURCE's keys back into the credentials file (the way out)"), cmd_export),
        ("rotate", _("replace SOURCE's key with a new one in IAM, without a moment of lock-out"), cmd_rotate),
        ("serve", _("print SOURCE's keys as process credentials (for credential_process)"), cmd_serve),
    ):
        a = actions.add_parser(name, help=helptext)
        a.add_argument("source", metavar="SOURCE")
        a.set_defaults(func=func)

    a = actions.add_parser("remove", help=_("forget SOURCE's keys (the key itself stays valid in IAM)"))
    a.add_argument("source", metavar="SOURCE")
    a.add_argument("--yes", action="store_true", help=_("yes, the keyring's copy is the one to drop"))
    a.set_defaults(func=cmd_remove)


def _keys() -> Keys:
    from trayapp.core.keys import Keys, KeyStore

    def waiting() -> None:
        print("trayapp: " + _("waiting for the keyring (it may be asking to be unlocked)…"), file=sys.stderr)

    return Keys(store=KeyStore(on_wait=waiting))


def cmd_list(service: Service, args: argparse.Namespace) -> int:
    from trayapp.core.keys import short_id

    rows = _keys().sources()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "source": row.name,
                        "where": row.where,
                        "access_key_id": short_id(row.access_key_id) if row.access_key_id else None,
                        "created": row.created,
                        "age_days": row.age_days(),
                    }
                    for row in rows
                ],
                ensure_ascii=False,
            )
        )
        return 0
    if not rows:
        print(_("No source profile holds long-term keys."))
    where = {"file": _("credentials file"), "config": _("config file"), "keyring": _("keyring")}
    for row in rows:
        age = row.age_days()
        shown_age = _("age unknown") if age is None else _("{days} days old").format(days=age)
        key = short_id(row.access_key_id) if row.access_key_id else _("(missing)")
        print(f"{row.name}\t{where[row.where]}\t{key}\t{shown_age}")
    return 0


def cmd_import(service: Service, args: argparse.Namespace) -> int:
    from trayapp.core.keys import short_id

    key = _keys().import_keys(args.source)
    print(
        _(
            "The keys of '{source}' ({key}) are in the keyring now and no longer in the AWS files; "
            "other tools get them through credential_process."
        ).format(source=args.source, key=short_id(key.access_key_id))
    )
    return 0


def cmd_export(service: Service, args: argparse.Namespace) -> int:
    from trayapp.core.keys import short_id

    key = _keys().export_keys(args.source)
    print(
        _("The keys of '{source}' ({key}) are back in the credentials file and out of the keyring.").format(
            source=args.source, key=short_id(key.access_key_id)
        )
    )
    return 0


def cmd_remove(service: Service, args: argparse.Namespace) -> int:
    from trayapp.core.keys import short_id

    if not args.yes:
        raise errors.UsageError(
            reason=_(
                "This drops the only copy trayapp has of the keys of '{source}'; run 'trayapp keys export {source}' "
                "to keep them, or add --yes."
            ).format(source=args.source)
        )
    key = _keys().remove(args.source)
    print(
        _("Removed the keys of '{source}' from the keyring; {key} is still valid in IAM until you delete it.").format(
            source=args.source, key=short_id(key.access_key_id)
        )
    )
    return 0


def cmd_rotate(service: Service, args: argparse.Namespace) -> int:
    from trayapp.core.keys import short_id

    keys = _keys()
    old = keys.store.get(args.source)
    new = keys.rotate(args.source)
    if old is not None and old.access_key_id == new.access_key_id:
        print(
            _("Finished an interrupted rotation of '{source}': {new} is stored.").format(
                source=args.source, new=short_id(new.access_key_id)
            )
        )
        return 0
    print(
        _("Rotated the key of '{source}': {new} is stored, {old} is deleted.").format(
            source=args.source,
            new=short_id(new.access_key_id),
            old=short_id(old.access_key_id) if old else "?",
        )
    )
    return 0


def cmd_serve(service: Service, args: argparse.Namespace) -> int:
    print(json.dumps(_keys().serve(args.source)))
    return 0


#: None of these needs the service: `keys serve` runs for every AWS call of other tools.
NO_SERVICE = (cmd_list, cmd_import, cmd_export, cmd_remove, cmd_rotate, cmd_serve)
