"""Every private name of another library that trayapp relies on (trayapp/compat/) still exists in
the installed versions, so an upgrade that renames one fails here, not on a user's machine.

pystray's backends are read from their source (importing them needs a display, and win32/darwin
can't be imported here at all); botocore and the standard library are imported.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
from pathlib import Path
from typing import NoReturn

import pytest

from trayapp import compat
from trayapp.compat import Private

ENTRIES = compat.registry()


def source_file(module: str) -> Path:
    """The installed source of *module*, found without importing it (nor its package)."""
    top, *rest = module.split(".")
    spec = importlib.util.find_spec(top)
    assert spec is not None and spec.origin, f"{top} is not installed"
    if not rest:
        return Path(spec.origin)
    folder = Path(spec.origin).parent.joinpath(*rest)
    return folder / "__init__.py" if folder.is_dir() else folder.with_suffix(".py")


def class_members(module: str, class_name: str) -> dict[str, list[str] | None]:
    """The methods (name → parameters after ``self``) and ``self.x`` attributes (name → None)
    the class defines in *module*'s source."""
    tree = ast.parse(source_file(module).read_text(encoding="utf-8"))
    found = next((n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == class_name), None)
    assert found is not None, f"{module} defines no class {class_name}"
    members: dict[str, list[str] | None] = {}
    for node in ast.walk(found):
        if isinstance(node, ast.FunctionDef) and node in found.body:
            members[node.name] = [a.arg for a in node.args.args[1:]]
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
        ):
            members.setdefault(node.attr, None)
    return members


def check(entry: Private) -> None:
    if entry.kind == "module":
        assert source_file(entry.module).is_file(), f"{entry.module} is gone"
    elif entry.kind == "attr":
        target: object = importlib.import_module(entry.module)
        for part in entry.name.split("."):
            assert hasattr(target, part), f"{entry.module}.{entry.name} is gone"
            target = getattr(target, part)
    elif entry.kind == "self":
        class_name, member = entry.name.split(".")
        members = class_members(entry.module, class_name)
        assert member in members, f"{entry.module}.{entry.name} is gone"
        if members[member] is not None and entry.detail is not None:
            assert tuple(members[member] or ()) == entry.detail, f"{entry.module}.{entry.name} takes other arguments"
    elif entry.kind == "reads":
        function = getattr(importlib.import_module(entry.module), entry.name)
        missing = set(entry.detail or ()) - set(function.__code__.co_names)
        assert not missing, f"{entry.module}.{entry.name} no longer reads the global(s) {sorted(missing)}"
    elif entry.kind == "uses":
        text = source_file(entry.module).read_text(encoding="utf-8")
        owner, _dot, name = entry.name.rpartition(".")
        assert re.search(re.escape(entry.name) + r"\b", text), f"{entry.module} no longer uses {entry.name}"
        bound = re.search(rf"from\s+{re.escape(owner)}\s+import\s[^\n]*\b{name}\b", text)
        assert not bound, f"{entry.module} binds {entry.name} at import: a replacement is not seen"
    else:
        pytest.fail(f"unknown kind {entry.kind!r}")


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e.module}:{e.name or 'module'}")
def test_each_private_name_still_exists(entry: Private) -> None:
    assert entry.kind in compat.KINDS
    assert entry.why and entry.upstream  # each says why, and which upstream issue (or none found)
    check(entry)


def test_every_library_whose_insides_are_touched_has_entries() -> None:
    owners = {e.module.split(".")[0] for e in ENTRIES}
    assert {"pystray", "botocore", "argparse", "posixpath", "ntpath"} <= owners


@pytest.mark.parametrize(
    "entry",
    [
        Private("pystray._xorg", "Icon._show_later", "self", "x", "none"),
        Private("pystray._win32", "Icon._on_notify", "self", "x", "none", ("lparam",)),
        Private("botocore.configloader", "raw_config_reader", "attr", "x", "none"),
        Private("botocore.session", "botocore.configloader.read_config", "uses", "x", "none"),
        Private("posixpath", "expandvars", "reads", "x", "none", ("environment",)),
        Private("pystray._wayland", "", "module", "x", "none"),
    ],
    ids=lambda e: e.kind,
)
def test_a_renamed_name_fails_the_check(entry: Private) -> None:
    """What an upgrade that renames or changes one would look like: the check says which."""
    with pytest.raises(AssertionError, match=re.escape(entry.module)):
        check(entry)


def _interrupted() -> NoReturn:
    raise KeyboardInterrupt


def test_the_command_line_gives_botocore_the_fast_reader_once_as_it_starts(capsys: pytest.CaptureFixture[str]) -> None:
    """Installed on purpose as ``trayapp`` starts (the tray and every command that may build a
    botocore session), once; not for ``completion``, which never reads the AWS files."""
    from botocore import configloader

    from trayapp.cli import main
    from trayapp.compat import botocore as compat_botocore
    from trayapp.core import ini

    compat_botocore.restore_config_reader()
    botocores_own = configloader.raw_config_parse
    try:
        assert main(["completion", "bash"]) == 0
        assert configloader.raw_config_parse is botocores_own
        assert main(["list"], service_factory=_interrupted) == 130  # before any service is built
        assert configloader.raw_config_parse is ini.raw_config_parse
        assert main(["list"], service_factory=_interrupted) == 130
        assert compat_botocore.original_config_reader() is botocores_own  # replaced once, not wrapped twice
    finally:
        compat_botocore.restore_config_reader()
    assert configloader.raw_config_parse is botocores_own
    capsys.readouterr()


def test_pyproject_bounds_each_library_whose_insides_are_touched_to_what_is_checked_here() -> None:
    """A release that would rename a private name is never installed by pip before this test has
    seen it: each library in the registry (and boto3, which pins botocore) has an upper bound in
    pyproject.toml, and the installed version, the one checked above, is inside it."""
    import tomllib
    from importlib.metadata import version

    from packaging.requirements import Requirement

    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    requirements = {
        r.name: r.specifier
        for r in map(Requirement, tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"])
    }
    libraries = {e.module.split(".")[0] for e in ENTRIES} - {"argparse", "posixpath", "ntpath"}
    for name in sorted(libraries | {"boto3"}):
        specifier = requirements.get(name)
        assert specifier is not None, f"pyproject.toml does not require {name}"
        assert any(s.operator in ("<", "<=", "==", "~=") for s in specifier), f"{name} has no upper bound"
        assert version(name) in specifier, f"{name} {version(name)} is installed, outside {specifier}"
