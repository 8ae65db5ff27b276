"""The tray icon, drawn with Pillow: one image per overall session state.

The five states differ by *shape* as well as colour, so they can be told
apart in greyscale and by colour-blind users:

* ``none``     – slate tile, hollow ring (no session yet);
* ``valid``    – green tile, check mark;
* ``expiring`` – amber tile, dark hourglass;
* ``expired``  – red tile, cross;
* ``needs-mfa`` – sky-blue tile, dark padlock (sessions that renewed on the MFA session
  can't any more: the next assume asks for a code).

Every icon is a solid rounded tile with a dark rim, so it reads on light and
dark panels alike (and on pystray's xorg backend, which paints transparent
pixels black, pass ``opaque=True`` to get a tile with no transparent corners).
Shapes are drawn at 8× and scaled down for clean anti-aliasing at 16–24 px.

``python -m trayapp.icons --write assets/`` writes the PNGs kept in ``assets/``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw

from trayapp.core.sessions import OVERALL_STATES, OverallState

IconState = OverallState
STATES: tuple[IconState, ...] = OVERALL_STATES
SIZES = (16, 22, 24, 64)
#: ``Image.info`` key of the state a rendered icon shows.
STATE_KEY = "trayapp.state"
_SCALE = 8

RGB = tuple[int, int, int]

#: state → tile colour.  Tile luminances are spread apart
#: (about 75, 110, 125, 155, 180) so greyscale alone separates them too.
_COLOURS: dict[IconState, RGB] = {
    "none": (0x6B, 0x7F, 0x8E),
    "valid": (0x23, 0x9A, 0x4B),
    "expiring": (0xF6, 0xB2, 0x1B),
    "expired": (0xB7, 0x1C, 0x1C),
    "needs-mfa": (0x5A, 0xAE, 0xEB),
}
_GLYPH: dict[IconState, RGB] = {
    "none": (0xFF, 0xFF, 0xFF),
    "valid": (0xFF, 0xFF, 0xFF),
    "expiring": (0x2B, 0x21, 0x00),
    "expired": (0xFF, 0xFF, 0xFF),
    "needs-mfa": (0x0D, 0x1B, 0x2A),
}
_RIM: RGB = (0x1C, 0x22, 0x27)


def render(state: IconState, size: int = 64, *, opaque: bool = False) -> Image.Image:
    """The icon for *state* as an RGBA image of *size* × *size* pixels.

    With ``opaque=True`` the transparent corners are filled with the rim colour,
    for hosts that can't show transparency.
    """
    if state not in _COLOURS:
        raise ValueError(f"unknown icon state {state!r}; expected one of {', '.join(STATES)}")
    if size < 8:
        raise ValueError("icons smaller than 8 px are not legible")
    big = size * _SCALE
    img = Image.new("RGBA", (big, big), (*_RIM, 255) if opaque else (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    _tile(draw, big, _COLOURS[state])
    _GLYPHS[state](draw, big, (*_GLYPH[state], 255))
    icon = img.resize((size, size), Image.Resampling.LANCZOS)
    icon.info[STATE_KEY] = state  # a backend that wants other sizes draws them again (SNI)
    return icon


def _tile(draw: ImageDraw.ImageDraw, big: int, fill: RGB) -> None:
    # The rim is at least one output pixel wide at every size.
    rim = max(_SCALE, round(big * 0.07))
    radius = round(big * 0.22)
    draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=radius, fill=(*_RIM, 255))
    draw.rounded_rectangle((rim, rim, big - 1 - rim, big - 1 - rim), radius=max(1, radius - rim), fill=(*fill, 255))


def _stroke(big: int) -> int:
    return max(_SCALE * 2, round(big * 0.14))


def _ring(draw: ImageDraw.ImageDraw, big: int, ink: tuple[int, int, int, int]) -> None:
    m = round(big * 0.24)
    draw.ellipse((m, m, big - 1 - m, big - 1 - m), outline=ink, width=round(_stroke(big) * 0.85))


def _check(draw: ImageDraw.ImageDraw, big: int, ink: tuple[int, int, int, int]) -> None:
    w = _stroke(big)
    points = [(big * 0.24, big * 0.52), (big * 0.43, big * 0.71), (big * 0.77, big * 0.31)]
    draw.line(points, fill=ink, width=w, joint="curve")
    r = w / 2
    for x, y in (points[0], points[-1]):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=ink)


def _hourglass(draw: ImageDraw.ImageDraw, big: int, ink: tuple[int, int, int, int]) -> None:
    left, right = big * 0.27, big * 0.73
    top, bottom, mid = big * 0.22, big * 0.78, big * 0.5
    bar = max(_SCALE, round(big * 0.07))
    draw.rectangle((left - bar * 0.4, top - bar, right + bar * 0.4, top), fill=ink)
    draw.rectangle((left - bar * 0.4, bottom, right + bar * 0.4, bottom + bar), fill=ink)
    neck = big * 0.045
    draw.polygon([(left, top), (right, top), (mid + neck, mid), (mid - neck, mid)], fill=ink)
    draw.polygon([(mid - neck, mid), (mid + neck, mid), (right, bottom), (left, bottom)], fill=ink)


def _cross(draw: ImageDraw.ImageDraw, big: int, ink: tuple[int, int, int, int]) -> None:
    w = _stroke(big)
    a, b = big * 0.29, big * 0.71
    r = w / 2
    for p, q in (((a, a), (b, b)), ((a, b), (b, a))):
        draw.line([p, q], fill=ink, width=w)
        for x, y in (p, q):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=ink)


def _padlock(draw: ImageDraw.ImageDraw, big: int, ink: tuple[int, int, int, int]) -> None:
    w = round(_stroke(big) * 0.8)
    left, right = big * 0.25, big * 0.75
    body_top, bottom = big * 0.46, big * 0.79
    shackle = (big * 0.33, big * 0.2, big * 0.67, big * 0.62)
    draw.arc(shackle, start=180, end=360, fill=ink, width=w)
    for x in (shackle[0], shackle[2] - w):
        draw.rectangle((x, big * 0.4, x + w, body_top), fill=ink)
    draw.rounded_rectangle((left, body_top, right, bottom), radius=round(big * 0.05), fill=ink)


_GLYPHS = {"none": _ring, "valid": _check, "expiring": _hourglass, "expired": _cross, "needs-mfa": _padlock}


def write_assets(folder: Path, sizes: Sequence[int] = SIZES) -> list[Path]:
    """Write ``icon-<state>-<size>.png`` for every state and size into *folder*."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for state in STATES:
        for size in sizes:
            path = folder / f"icon-{state}-{size}.png"
            render(state, size).save(path, optimize=True)
            written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trayapp.icons", description=__doc__.split("\n")[0])
    parser.add_argument("--write", metavar="FOLDER", required=True, help="folder for the PNG files")
    args = parser.parse_args(argv)
    for path in write_assets(Path(args.write)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
