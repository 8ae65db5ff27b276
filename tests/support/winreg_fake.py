"""A stand-in for ``winreg`` (Windows only) that behaves like it, for login start on Windows."""

from __future__ import annotations

from trayapp.tray import autostart


class FakeWinreg:
    """The part of ``winreg`` login start uses, with its behaviour: keys are handles used as
    context managers, a missing key or value raises FileNotFoundError, values keep their type."""

    HKEY_CURRENT_USER = 0x80000001
    KEY_QUERY_VALUE, KEY_SET_VALUE = 0x0001, 0x0002
    REG_SZ, REG_BINARY = 1, 3

    def __init__(self, *, denied: bool = False) -> None:
        self.keys: dict[tuple[int, str], dict[str, tuple[object, int]]] = {}
        self.denied = denied

    class _Handle:
        def __init__(self, values: dict[str, tuple[object, int]], access: int) -> None:
            self.values, self.access = values, access

        def __enter__(self) -> FakeWinreg._Handle:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

    def _check(self, access: int) -> None:
        if self.denied and access & self.KEY_SET_VALUE:
            raise PermissionError(13, "Access is denied")

    def OpenKey(self, root: int, sub: str, reserved: int = 0, access: int = 1) -> FakeWinreg._Handle:
        self._check(access)
        if (root, sub.lower()) not in self.keys:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return self._Handle(self.keys[(root, sub.lower())], access)

    def CreateKeyEx(self, root: int, sub: str, reserved: int = 0, access: int = 2) -> FakeWinreg._Handle:
        self._check(access)
        return self._Handle(self.keys.setdefault((root, sub.lower()), {}), access)

    def QueryValueEx(self, key: FakeWinreg._Handle, name: str) -> tuple[object, int]:
        if name.lower() not in key.values:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return key.values[name.lower()]

    def SetValueEx(self, key: FakeWinreg._Handle, name: str, reserved: int, kind: int, value: object) -> None:
        assert key.access & self.KEY_SET_VALUE, "opened read-only"
        assert kind == self.REG_SZ and isinstance(value, str)
        key.values[name.lower()] = (value, kind)

    def DeleteValue(self, key: FakeWinreg._Handle, name: str) -> None:
        assert key.access & self.KEY_SET_VALUE, "opened read-only"
        if name.lower() not in key.values:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        del key.values[name.lower()]

    def run_value(self) -> object:
        values = self.keys.get((self.HKEY_CURRENT_USER, autostart.RUN_KEY.lower()), {})
        return values.get("trayapp", (None, 0))[0]
