"""Entry point of the frozen (PyInstaller) trayapp, shared by the Linux, macOS and Windows specs.

``trayapp ARGS``            the command line, as the pip-installed ``trayapp``;
``trayapp -m trayapp.MOD``  run one of trayapp's own modules as ``python -m`` would.

A frozen program has no interpreter to run ``python -m trayapp.tk.dialog`` with: its
``sys.executable`` is the program itself.  ``trayapp.core.launch.module_argv`` starts every Tk
helper (MFA dialog, popup menu, clipboard) of a frozen build as ``[sys.executable, "-m",
"trayapp.tk.<program>", ...]`` (an interpreter gets ``-I`` and trayapp's absolute folder instead),
so understanding that one form here is all the frozen app needs.  Only trayapp's modules are run,
from the bundle: the current folder is never on a frozen program's path.
"""

from __future__ import annotations

import runpy
import sys


def main() -> int:
    if len(sys.argv) >= 2 and sys.argv[1] == "-m":
        module = sys.argv[2] if len(sys.argv) >= 3 else ""
        if module != "trayapp" and not module.startswith("trayapp."):
            print(f"trayapp: -m runs trayapp's own modules only, not {module!r}.", file=sys.stderr)
            return 2
        sys.argv = [sys.argv[0], *sys.argv[3:]]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0
    from trayapp.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
