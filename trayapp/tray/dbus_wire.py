"""A dbusmenu layout written straight to D-Bus's wire format.

``GetLayout`` of a menu with 10,000 roles is a reply of about a megabyte: jeepney's general
marshaller takes ~140 ms for it, this one, which knows the one shape it writes —
``u(ia{sv}av)`` with ``s``, ``b``, ``i`` and ``as`` values —, a fraction of that.  The bytes are
the same (tests/test_tray_dbusmenu.py compares them with jeepney's).  Little-endian, as jeepney
writes every header.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterable
from typing import Any

from jeepney import Message

_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_ZERO4 = b"\0\0\0\0"
LAYOUT_SIGNATURE = "(ia{sv}av)"
_LAYOUT_SIG = bytes([len(LAYOUT_SIGNATURE)]) + LAYOUT_SIGNATURE.encode() + b"\0"


class Marshalled(bytes):
    """A reply body already in wire format (little-endian)."""


def _pad(buf: bytearray, align: int) -> None:
    gap = -len(buf) % align
    if gap:
        buf.extend(b"\0" * gap)


def _string(buf: bytearray, text: str) -> None:
    data = text.encode()
    _pad(buf, 4)
    buf += _U32.pack(len(data))
    buf += data
    buf.append(0)


def _value(buf: bytearray, signature: str, value: Any) -> None:
    buf.append(len(signature))
    buf += signature.encode()
    buf.append(0)
    if signature == "s":
        _string(buf, value)
    elif signature == "b":
        _pad(buf, 4)
        buf += _U32.pack(1 if value else 0)
    elif signature == "i":
        _pad(buf, 4)
        buf += _I32.pack(value)
    elif signature == "as":
        _pad(buf, 4)
        at = len(buf)
        buf += _ZERO4
        for text in value:
            _string(buf, text)
        _U32.pack_into(buf, at, len(buf) - at - 4)
    else:
        raise ValueError(f"a menu property of type {signature!r} can't be written")


def _entry(key: str, signature: str, value: Any) -> bytes:
    """One ``{sv}`` dict entry as written from an 8-aligned place (which every entry starts at)."""
    buf = bytearray()
    _string(buf, key)
    _value(buf, signature, value)
    return bytes(buf)


_constant_entry = functools.lru_cache(maxsize=512)(_entry)  # "children-display": "submenu", "enabled": False…
#: ``label`` and the signature ``s``, up to where the label's length goes.
_LABEL = _entry("label", "s", "")[:-5]


def _layout(buf: bytearray, ident: int, props: dict[str, tuple[str, Any]], children: Iterable[Any]) -> None:
    gap = -len(buf) % 8
    if gap:
        buf += b"\0" * gap
    buf += _I32.pack(ident)
    at = len(buf)  # a{sv}: its length, then the entries (8-aligned here already)
    buf += _ZERO4
    for key, (signature, value) in props.items():
        gap = -len(buf) % 8
        if gap:
            buf += b"\0" * gap
        if key == "label" and signature == "s":  # the one entry that differs from item to item
            data = value.encode()
            buf += _LABEL
            buf += _U32.pack(len(data))
            buf += data
            buf.append(0)
        else:
            try:
                buf += _constant_entry(key, signature, value)
            except TypeError:  # a list value: not cached
                buf += _entry(key, signature, value)
    _U32.pack_into(buf, at, len(buf) - at - 4 - (-(at + 4) % 8))
    gap = -len(buf) % 4  # av: variants align to 1, no padding after the length
    if gap:
        buf += b"\0" * gap
    at = len(buf)
    buf += _ZERO4
    for signature, child in children:
        if signature != LAYOUT_SIGNATURE:
            raise ValueError(f"a menu child of type {signature!r} can't be written")
        buf += _LAYOUT_SIG
        _layout(buf, *child)
    _U32.pack_into(buf, at, len(buf) - at - 4)


def layout_reply_body(revision: int, layout: tuple[int, dict[str, tuple[str, Any]], Iterable[Any]]) -> Marshalled:
    """``GetLayout``'s reply body, ``u(ia{sv}av)``."""
    buf = bytearray(_U32.pack(revision))
    _layout(buf, *layout)
    return Marshalled(buf)


class MarshalledMessage(Message):  # type: ignore[misc]
    """A jeepney message whose body is already written (see :class:`Marshalled`)."""

    def __init__(self, header: Any, body: Marshalled) -> None:
        super().__init__(header, ())
        self.raw_body = body

    def serialise(self, serial: int | None = None, fds: Any = None) -> bytes:
        self.header.body_length = len(self.raw_body)
        head: bytes = self.header.serialise(serial=serial)
        return head + b"\0" * (-len(head) % 8) + self.raw_body
