"""The tree is the architecture: which process each package runs in and what it may import
(docs/ARCHITECTURE.md); the core loads no GUI toolkit, and the start path does not pay for boto3."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import trayapp.core


def loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(out.split())


@pytest.mark.integration
def test_the_core_loads_no_gui_toolkit() -> None:
    names = [f"trayapp.core.{m.name}" for m in pkgutil.iter_modules(trayapp.core.__path__)]
    assert "trayapp.core.service" in names
    modules = loaded_after("\n".join(f"import {n}" for n in names))
    assert {"tkinter", "_tkinter", "pystray", "PIL"} & modules == set()


@pytest.mark.integration
def test_listing_roles_does_not_import_boto3_or_keyring() -> None:
    modules = loaded_after(
        "from trayapp.core.service import Service\nService(environ={'HOME': '/nonexistent'}).roles()"
    )
    assert "boto3" not in modules
    assert "botocore.client" not in modules
    assert "keyring" not in modules


# --- the tree says which process each file runs in (docs/ARCHITECTURE.md) ----------------------

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "trayapp"
GUI = {"tkinter", "_tkinter", "pystray", "PIL", "gi", "Xlib", "AppKit", "objc", "PyObjCTools"}
#: Other libraries' insides (trayapp/compat/): pystray's for the tray process only, botocore's and
#: the standard library's for every part that may import the core.
COMPAT_CORE = {"trayapp.compat.botocore", "trayapp.compat.stdlib"}
COMPAT_TRAY = {"trayapp.compat.pystray"}
#: What each part may import of trayapp itself (the shared top-level modules are i18n, icons, protocol).
ALLOWED = {
    "core": {"trayapp.core", "trayapp.i18n", *COMPAT_CORE},
    "tray": {
        "trayapp.core",
        "trayapp.tray",
        "trayapp.i18n",
        "trayapp.icons",
        "trayapp.protocol",
        *COMPAT_CORE,
        *COMPAT_TRAY,
    },
    "tk": {"trayapp.core", "trayapp.tk", "trayapp.i18n", "trayapp.icons", "trayapp.protocol", *COMPAT_CORE},
    "cli": {
        "trayapp.core",
        "trayapp.cli",
        "trayapp.tray",
        "trayapp.i18n",
        "trayapp.protocol",
        "trayapp.__version__",
        *COMPAT_CORE,
    },
    "shared": {"trayapp.core", "trayapp.i18n", "trayapp.__version__", *COMPAT_CORE},
    "compat": {"trayapp.compat"},  # nothing of trayapp outside itself
}


def part_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE).parts
    return relative[0] if len(relative) > 1 else "shared"


def _without_type_checking_blocks(tree: ast.Module) -> ast.Module:
    """*tree* less its ``if TYPE_CHECKING:`` blocks (imports for annotations only, never run)."""

    class Drop(ast.NodeTransformer):
        def visit_If(self, node: ast.If) -> ast.AST | None:
            test = node.test
            if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
                isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
            ):
                return None
            return self.generic_visit(node)

    return Drop().visit(tree)  # type: ignore[no-any-return]


def imports_of(path: Path, *, runtime_only: bool = False) -> set[str]:
    """Every module *path* imports, at any depth of its code (lazy imports in functions too);
    *runtime_only*: not those under ``if TYPE_CHECKING:``."""
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(_without_type_checking_blocks(tree) if runtime_only else tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module == "trayapp" and node.level == 0:
            found |= {f"trayapp.{alias.name}" for alias in node.names}  # a module, or __version__
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            folder = PACKAGE.joinpath(*node.module.split(".")[1:]) if _top(node.module) == "trayapp" else None
            submodules = {a.name for a in node.names if folder and (folder / f"{a.name}.py").exists()}
            found |= {f"{node.module}.{name}" for name in submodules}  # from trayapp.compat import pystray
            if len(submodules) < len(node.names):
                found.add(node.module)
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__main__.py" or p.parent != PACKAGE)


def _top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_each_module_imports_only_what_its_process_may(path: Path) -> None:
    part = part_of(path)
    imported = imports_of(path)
    toolkits = {name for name in imported if _top(name) in GUI}
    if part == "tk":
        toolkits -= {n for n in toolkits if _top(n) in {"tkinter", "_tkinter", "PIL", "Xlib"}}
    elif part == "tray":
        toolkits -= {
            n for n in toolkits if _top(n) in {"pystray", "PIL", "gi", "Xlib", "PyObjCTools", "objc", "AppKit"}
        }
    elif part == "compat" and path.name == "pystray.py":  # runs in the tray process
        toolkits -= {n for n in toolkits if _top(n) in {"pystray", "gi", "Xlib"}}
    elif part == "shared" and path.name == "icons.py":
        toolkits -= {n for n in toolkits if _top(n) == "PIL"}
    assert not toolkits, f"{path.name} ({part}) imports {sorted(toolkits)}"
    own = {name for name in imported if _top(name) == "trayapp" and name != "trayapp"}  # the root: __file__
    allowed = ALLOWED[part]
    stray = {name for name in own if not any(name == a or name.startswith(a + ".") for a in allowed)}
    if part == "shared" and path.name in ("__init__.py", "__main__.py"):
        stray -= {"trayapp.cli"}  # `python -m trayapp` is the command line
    assert not stray, f"{path.name} ({part}) imports {sorted(stray)}"


def test_tkinter_lives_only_in_the_tk_package_and_pystray_only_in_the_tray() -> None:
    users = {
        top: sorted(str(p.relative_to(PACKAGE)) for p in MODULES if any(_top(n) == top for n in imports_of(p)))
        for top in ("tkinter", "pystray")
    }
    assert users["tkinter"] and all(u.startswith("tk/") for u in users["tkinter"]), users["tkinter"]
    assert users["pystray"] and all(u.startswith("tray/") for u in users["pystray"]), users["pystray"]


#: Private attributes of trayapp's own objects, reached from another of its modules: allowed (each
#: as ``name.attribute``).  Every private name of another library goes through trayapp/compat/.
OWN_PRIVATE = {"os._exit", "credentials_file._unsafe_location", "credentials_file._private_group"}
OWN_PRIVATE_OBJECTS = {"self", "cls", "listing"}  # listing: code_sources' own Running
#: Module attributes Python documents as there to be replaced.
SETTABLE = {"sys.stdin", "sys.stdout", "sys.stderr", "sys.excepthook", "threading.excepthook"}
CODE_ATTRIBUTES = {"__code__", "__globals__", "__closure__", "__defaults__"}


def _private(name: str) -> bool:
    return name in CODE_ATTRIBUTES or (name.startswith("_") and not name.startswith("__"))


def private_reaches(path: Path) -> list[str]:
    """Each ``x._name`` (or ``getattr(x, "_name")``, ``f.__code__``) in *path* whose owner is not
    trayapp's own object, and each attribute of another library's module assigned to (a module
    patched for the whole process): ``line: expression``."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules = {  # names bound to another library's module (or an object imported from one)
        alias.asname or alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom) and _top(getattr(node, "module", None) or "x") != "trayapp"
        for alias in node.names
        if isinstance(node, ast.ImportFrom) or _top(alias.name) != "trayapp"
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and ast.unparse(node) not in SETTABLE
        ):
            found.append(f"{node.lineno}: {ast.unparse(node)} = … (another library's module changed)")
            continue
        if isinstance(node, ast.Attribute) and _private(node.attr):
            owner, name = node.value, node.attr
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "hasattr", "setattr", "delattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and _private(node.args[1].value)
        ):
            owner, name = node.args[0], node.args[1].value
        else:
            continue
        if isinstance(owner, ast.Name) and (owner.id in OWN_PRIVATE_OBJECTS or f"{owner.id}.{name}" in OWN_PRIVATE):
            continue
        found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_other_libraries_insides_are_reached_only_through_compat() -> None:
    """A private attribute of another library's object, a function's ``__code__``, a module of
    another library changed: only in trayapp/compat/, where each is listed and checked against the
    installed library."""
    offenders = {str(p.relative_to(ROOT)): private_reaches(p) for p in MODULES if part_of(p) != "compat"}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_tests_share_code_only_through_tests_support() -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(n for n in imports_of(p) if n.startswith(("tests.test_", "docs.")))
        for p in (ROOT / "tests").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_configparsers_line_rules_are_copied_once() -> None:
    """One INI scanner: ``ini.parse_plain`` and the credentials file both read through ``core/ini_scan.py``,
    the only module that copies ``RawConfigParser``'s line rules (a second copy drifts from the first)."""
    rules = ("OPTCRE", "NONSPACECRE", "empty_lines_in_values")
    users = sorted(
        str(p.relative_to(PACKAGE)) for p in MODULES if any(r in p.read_text(encoding="utf-8") for r in rules)
    )
    assert users == ["core/ini_scan.py"]


def test_one_d_bus_client_matches_replies_to_calls() -> None:
    """The tray's own D-Bus calls (the StatusNotifierItem's and the notifications') go through one
    client, ``tray/dbus_service.py``: the only module that reads replies off a connection by serial
    (notify.py had a second copy of that reader, and copies drift)."""
    users = sorted(str(p.relative_to(PACKAGE)) for p in MODULES if "reply_serial" in p.read_text(encoding="utf-8"))
    assert users == ["tray/dbus_service.py"]


def test_no_script_outside_tests_imports_a_test_module() -> None:
    """bench/ and docs/ may use the harness in tests/support/, never a test module (its fixtures and
    constants move when the test does)."""
    scripts = [p for folder in ("bench", "docs", "packaging") for p in (ROOT / folder).rglob("*.py")]
    offenders = {
        str(p.relative_to(ROOT)): sorted(n for n in imports_of(p) if n.startswith("tests.test_")) for p in scripts
    }
    assert scripts
    assert {k: v for k, v in offenders.items() if v} == {}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_two_modules_import_each_other() -> None:
    """Import cycles (lazy imports in functions count) make a module's meaning depend on which side is
    loaded first; ``keys`` and ``sts`` had one.  A package's ``__init__`` and its own modules may."""
    modules = {_module_name(p): p for p in MODULES}
    graph = {
        name: {
            dep
            for dep in imports_of(path, runtime_only=True)
            if dep in modules and dep != name and not name.startswith(dep + ".")
        }
        for name, path in modules.items()
    }
    cycles = []
    for start in graph:  # a depth-first walk from each module back to itself
        stack, seen = [(start, (start,))], set()
        while stack:
            node, trail = stack.pop()
            for dep in graph[node]:
                if dep == start:
                    cycles.append(" → ".join((*trail, start)))
                elif dep not in seen:
                    seen.add(dep)
                    stack.append((dep, (*trail, dep)))
    assert cycles == []


#: Modules over the line ceiling, kept whole on purpose; each leaves this list when it is split
#: (an exempted module that shrinks under the ceiling fails the test too, so the list stays true).
OVER_THE_CEILING: set[str] = set()
MAX_MODULE_LINES = 500
#: The tray's coordinator and the rooms it hands work to (issue 22).
TRAY_ROOMS = ("app", "view", "actions", "renewer", "signals", "startup")


def test_no_module_is_over_500_lines() -> None:
    """A module a maintainer can read in one sitting; the exceptions are named above."""
    sizes = {p.relative_to(ROOT).as_posix(): len(p.read_text(encoding="utf-8").splitlines()) for p in MODULES}
    over = {name for name, lines in sizes.items() if lines > MAX_MODULE_LINES}
    assert over == OVER_THE_CEILING, {name: sizes.get(name) for name in over ^ OVER_THE_CEILING}


def _class(path: Path, name: str) -> ast.ClassDef:
    return next(
        n for n in ast.parse(path.read_text(encoding="utf-8")).body if isinstance(n, ast.ClassDef) and n.name == name
    )


def test_the_trays_coordinator_stays_a_coordinator() -> None:
    """TrayApp wires the rooms (view, actions, renewer, signals, start-up) and owns the worker: it
    was 940 lines and 46 methods, and chose behaviour by comparing injected functions with defaults."""
    tray_app = _class(PACKAGE / "tray" / "app.py", "TrayApp")
    assert tray_app.end_lineno is not None
    assert tray_app.end_lineno - tray_app.lineno + 1 <= 250
    for room in TRAY_ROOMS:
        text = (PACKAGE / "tray" / f"{room}.py").read_text(encoding="utf-8")
        assert "is desktop_prompt" not in text and "is show_popup" not in text, room
        assert "getattr(self, " not in text, room  # an attribute that may not be there yet


@pytest.mark.parametrize("room", TRAY_ROOMS)
def test_the_tray_rooms_set_every_attribute_in_init(room: str) -> None:
    """An attribute first set by some later method is one a reader can't find, and one that may not
    exist yet when another thread reads it."""
    for cls in (n for n in ast.parse((PACKAGE / "tray" / f"{room}.py").read_text(encoding="utf-8")).body):
        if not isinstance(cls, ast.ClassDef):
            continue
        by_method: dict[str, set[str]] = {}
        for method in (n for n in cls.body if isinstance(n, ast.FunctionDef)):
            by_method[method.name] = {
                target.attr
                for node in ast.walk(method)
                for target in (node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)])
                if isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == "self"
            }
        in_init = by_method.pop("__init__", set())
        later = {(name, attr) for name, attrs in by_method.items() for attr in attrs - in_init}
        setters = {n.name for n in cls.body if isinstance(n, ast.FunctionDef) and any(
            isinstance(d, ast.Attribute) and d.attr == "setter" for d in n.decorator_list)}  # fmt: skip
        assert {(name, attr) for name, attr in later if name not in setters} == set(), (room, cls.name)
