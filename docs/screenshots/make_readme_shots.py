"""Capture the README's tray pictures from the real app under Xvfb.

    .venv/bin/python -m docs.screenshots.make_readme_shots [--backend xorg|gtk] [--only icons|notification]

writes, next to this file:

* ``icon-states.png``  — the four tray icon states a file makes (none, valid, expiring, expired) as
  docked in ``trayer``: the tray runs once per state on a private desktop
  (``tests.support.desktop.Desktop``), each time with a credentials file whose
  trayapp-managed ``[prod-session]`` puts it in that state; the docked icon is
  cropped from a screenshot and enlarged ×3.  A second, dark strip shows
  ``trayapp.icons.render(state, N)`` (N: the docked icon's height) composited
  on a dark panel, since trayer's panel colour can't be changed.
* ``notification.png`` — the "prod expires in 5 min" notification the tray sends at
  start, as the real ``dunst`` daemon draws it (``apt-get install dunst``; given a
  dunstrc of its own), with the docked tray icon beside it.

The default backend is gtk: trayer gives the icon a 32×30 window, which gtk fills
with the square icon; pystray's xorg backend stretches the image to the window.

Needs Xvfb, dbus-daemon, trayer, xdotool (packaging/test-packages.txt) and dunst.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from tests.support.desktop import Desktop  # noqa: E402
from tests.support.procs import wait_until  # noqa: E402
from tests.support.tray_desktop import (  # noqa: E402
    CREDENTIALS,
    aws_env,
    session_section,
    start_tray,
    write_aws_files,
)
from trayapp.icons import _COLOURS, STATES, IconState, render  # noqa: E402

HERE = Path(__file__).resolve().parent
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
UNUSED_STS = "http://127.0.0.1:9"  # nothing here talks to STS

#: state → minutes left on [prod-session] (None: no session section at all).
MINUTES_LEFT: dict[str, float | None] = {"none": None, "valid": 60, "expiring": 5, "expired": -60}
CAPTIONS = {"none": "no session", "valid": "all valid", "expiring": "expiring soon", "expired": "expired"}
#: The states a credentials file alone puts the tray in ("needs-mfa" needs an MFA session that ran out).
SHOWN = tuple(state for state in STATES if state in MINUTES_LEFT)

SCALE = 3
LIGHT_BG = (0xF4, 0xF5, 0xF7)
LIGHT_INK = (0x2A, 0x2F, 0x35)
DARK_PANEL = (0x2B, 0x2E, 0x33)
DARK_BG = (0x1E, 0x21, 0x25)
DARK_INK = (0xE4, 0xE7, 0xEB)
MUTED = (0x7A, 0x82, 0x8C)


def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONT, size)


# --- running the real tray ------------------------------------------------------------------


def write_files(desktop: Desktop, minutes_left: float | None) -> None:
    credentials = write_aws_files(desktop.home)
    if minutes_left is not None:
        # the tray rounds minutes up: 4 min 58 s left at its start reads "5 min"
        expires = datetime.now(UTC) + timedelta(minutes=minutes_left)
        credentials.write_text(CREDENTIALS + "\n" + session_section("prod", expires))


def tray_env(desktop: Desktop, backend: str) -> dict[str, str]:
    return aws_env(desktop, UNUSED_STS, PYSTRAY_BACKEND=backend, LANG="C.UTF-8", LANGUAGE="")


def close(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a[:3], b[:3], strict=False))


def run_tray_until_painted(
    desktop: Desktop, backend: str, state: IconState
) -> tuple[subprocess.Popen[bytes], tuple[int, int, int, int, int]]:
    """Start the tray; wait until its docked icon shows *state*'s tile colour."""
    tray = start_tray(desktop, tray_env(desktop, backend))
    wait_until("the icon to dock", desktop.find_tray_icons, 20, interval=0.1)

    def painted() -> tuple[int, int, int, int, int] | None:
        icons = desktop.find_tray_icons()
        if not icons:
            return None
        _, x, y, _w, h = icons[0]
        # a point on the tile, off every glyph: just inside the left rim, on the middle row
        probe = desktop.pixel(x + 3, y + h // 2)
        return icons[0] if close(probe, _COLOURS[state]) else None

    try:
        icon = wait_until(f"the icon to show {state}", painted, 15, interval=0.1)
    except Exception:
        print(desktop.log("tray"), file=sys.stderr)
        raise
    time.sleep(0.8)  # settled
    return tray, icon


def stop_tray(desktop: Desktop, tray: subprocess.Popen[bytes]) -> None:
    tray.terminate()
    tray.wait(timeout=10)
    wait_until("the icon to leave the tray", lambda: not desktop.find_tray_icons(), 10, interval=0.1)


# --- picture 1: the icon states -------------------------------------------------------------------


def panel_box(screen: Image.Image, icon: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """trayer's panel around *icon*: what is not Xvfb's black root in the icon's band of rows."""
    _, y, _, h = icon
    top, bottom = max(0, y - 8), min(screen.height, y + h + 8)
    band = screen.crop((0, top, screen.width, bottom)).convert("L").point(lambda v: 255 if v > 8 else 0)
    box = band.getbbox()
    assert box is not None, "no panel on the screen"
    return box[0], box[1] + top, box[2], box[3] + top


def docked(screen: Image.Image, icon: tuple[int, int, int, int], margin: int = 6) -> Image.Image:
    """The docked icon over the panel's full height, *margin* px of panel either side (1:1).

    The icon sits at the panel's left edge, so the margin is filled with the panel's own colour.
    """
    x, _, w, _ = icon
    _, top, right, bottom = panel_box(screen, icon)
    colour = screen.getpixel((right - 3, (top + bottom) // 2))
    tile = Image.new("RGB", (w + 2 * margin, bottom - top), colour)
    tile.paste(screen.crop((x, top, x + w, bottom)), (margin, 0))
    return tile


def capture_docked_icons(backend: str, scratch: Path) -> tuple[dict[str, Image.Image], int]:
    """state → the docked icon on trayer's panel (1:1); and the icon's height."""
    crops: dict[str, Image.Image] = {}
    height = 0
    with Desktop(notifications=False, tray=True) as desktop:
        for state in SHOWN:
            write_files(desktop, MINUTES_LEFT[state])
            tray, (_, x, y, w, h) = run_tray_until_painted(desktop, backend, state)
            with Image.open(desktop.screenshot(scratch / "full.png")) as full:
                crops[state] = docked(full.convert("RGB"), (x, y, w, h))
            height = h
            stop_tray(desktop, tray)
    return crops, height


def dark_icons(size: int, like: Image.Image) -> dict[str, Image.Image]:
    """render(state, size) on a dark panel tile of *like*'s size."""
    out: dict[str, Image.Image] = {}
    for state in SHOWN:
        tile = Image.new("RGB", like.size, DARK_PANEL)
        icon = render(state, size)
        off = ((tile.width - icon.width) // 2, (tile.height - icon.height) // 2)
        tile.paste(icon, off, icon)
        out[state] = tile
    return out


def strip(
    tiles: dict[str, Image.Image],
    bg: tuple[int, int, int],
    ink: tuple[int, int, int],
    note: str,
    note_ink: tuple[int, int, int],
) -> Image.Image:
    big = {s: t.resize((t.width * SCALE, t.height * SCALE), Image.Resampling.NEAREST) for s, t in tiles.items()}
    cap_font, note_font = font(15), font(12)
    col = max(max(b.width for b in big.values()), 130)
    gap, pad = 14, 22
    tile_h = max(b.height for b in big.values())
    width = pad * 2 + col * len(big) + gap * (len(big) - 1)
    height = pad + tile_h + 12 + 20 + 14 + 16 + pad - 6
    img = Image.new("RGB", (width, height), bg)
    draw = ImageDraw.Draw(img)
    for i, state in enumerate(SHOWN):
        cx = pad + i * (col + gap) + col // 2
        b = big[state]
        img.paste(b, (cx - b.width // 2, pad + (tile_h - b.height) // 2))
        draw.text((cx, pad + tile_h + 12), CAPTIONS[state], font=cap_font, fill=ink, anchor="mt")
    draw.text((width // 2, height - pad + 4), note, font=note_font, fill=note_ink, anchor="md")
    return img


def make_icon_states(backend: str, scratch: Path) -> Path:
    crops, size = capture_docked_icons(backend, scratch)
    light = strip(crops, LIGHT_BG, LIGHT_INK, f"docked in trayer (pystray {backend} backend), ×{SCALE}", MUTED)
    dark = strip(
        dark_icons(size, crops["none"]), DARK_BG, DARK_INK,
        f"dark panel: icons.render(state, {size}) composited (trayer's panel colour is fixed), ×{SCALE}",
        (0x9A, 0xA2, 0xAC),
    )  # fmt: skip
    out = Image.new("RGB", (max(light.width, dark.width), light.height + dark.height), LIGHT_BG)
    out.paste(light, (0, 0))
    out.paste(dark, (0, light.height))
    path = HERE / "icon-states.png"
    out.save(path, optimize=True)
    return path


# --- picture 2: the notification --------------------------------------------------------------------------

DUNSTRC = """\
[global]
    monitor = 0
    follow = none
    width = 380
    height = 160
    origin = top-right
    offset = 16x16
    notification_limit = 3
    padding = 12
    horizontal_padding = 14
    text_icon_padding = 14
    frame_width = 1
    frame_color = "#3b4048"
    separator_color = frame
    corner_radius = 6
    font = DejaVu Sans 11
    line_height = 2
    markup = full
    format = "<b>%s</b>\\n%b"
    alignment = left
    vertical_alignment = center
    word_wrap = yes
    ellipsize = end
    ignore_newline = no
    show_indicators = yes
    icon_position = left
    min_icon_size = 48
    max_icon_size = 48
    sticky_history = yes

[urgency_low]
    background = "#2b2e33"
    foreground = "#e4e7eb"
    timeout = 0

[urgency_normal]
    background = "#2b2e33"
    foreground = "#e4e7eb"
    timeout = 0

[urgency_critical]
    background = "#3a1f22"
    foreground = "#ffe9e9"
    frame_color = "#b71c1c"
    timeout = 0
"""


def notification_window(desktop: Desktop) -> tuple[int, int, int, int] | None:
    """(x, y, w, h) of dunst's visible popup window, or None."""
    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--classname", "Dunst"], env=desktop.env,
                           capture_output=True, text=True, timeout=10).stdout.split()  # fmt: skip
    return desktop.window_geometry(int(found[0])) if found else None


def make_notification(backend: str, scratch: Path) -> Path:
    # with a keyring, as on a real desktop: else the first notification is "no usable keyring"
    with Desktop(notifications=False, tray=True, keyring=True) as desktop:
        rc = desktop.tmp_dir / "dunstrc"
        rc.write_text(DUNSTRC)
        desktop.spawn(["dunst", "-config", str(rc)], name="dunst")
        desktop.wait_for_bus_name("org.freedesktop.Notifications", timeout=15)
        write_files(desktop, MINUTES_LEFT["expiring"])
        tray, icon = run_tray_until_painted(desktop, backend, "expiring")
        geo = wait_until("dunst to show the notification", lambda: notification_window(desktop), 15, interval=0.1)
        time.sleep(0.8)  # painted
        nx, ny, nw, nh = geo
        _, ix, iy, iw, ih = icon
        with Image.open(desktop.screenshot(scratch / "full.png")) as full:
            screen = full.convert("RGB")
        stop_tray(desktop, tray)
    return compose_notification(screen, (nx, ny, nw, nh), (ix, iy, iw, ih))


def compose_notification(screen: Image.Image, note: tuple[int, int, int, int], icon: tuple[int, int, int, int]) -> Path:
    """The notification as captured, and the docked icon beside it, on a light backdrop."""
    from PIL import ImageFilter

    nx, ny, nw, nh = note
    popup = screen.crop((nx, ny, nx + nw, ny + nh))
    tray = docked(screen, icon)
    tray = tray.resize((tray.width * 2, tray.height * 2), Image.Resampling.NEAREST)

    pad, gap, note_h = 24, 28, 26
    label_font = font(12)
    width = pad + popup.width + gap + max(tray.width, 90) + pad
    height = pad + max(popup.height, tray.height + 24) + note_h + pad - 6
    canvas = Image.new("RGB", (width, height), (0xE6, 0xE9, 0xED))
    shadow = Image.new("L", canvas.size, 0)
    shadow.paste(110, (pad, pad + 4, pad + popup.width, pad + popup.height + 4))
    canvas.paste((0x8E, 0x96, 0xA0), (0, 0), shadow.filter(ImageFilter.GaussianBlur(7)))
    canvas.paste(popup, (pad, pad))
    tx = pad + popup.width + gap + (max(tray.width, 90) - tray.width) // 2
    ty = pad + (popup.height - tray.height - 20) // 2
    canvas.paste(tray, (tx, ty))
    draw = ImageDraw.Draw(canvas)
    draw.text((tx + tray.width // 2, ty + tray.height + 6), "tray icon, ×2", font=label_font, fill=MUTED, anchor="mt")
    caption = "dunst, as sent by the tray at start; (A): the notification has an action (Renew)"
    draw.text((pad, pad + popup.height + 12), caption, font=label_font, fill=MUTED, anchor="lt")
    path = HERE / "notification.png"
    canvas.save(path, optimize=True)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="gtk", choices=("gtk", "xorg"), help="pystray backend (default gtk)")
    parser.add_argument("--only", choices=("icons", "notification"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="trayapp-shots-") as tmp:
        scratch = Path(tmp)
        if args.only in (None, "icons"):
            print(make_icon_states(args.backend, scratch))
        if args.only in (None, "notification"):
            print(make_notification(args.backend, scratch))
    return 0


if __name__ == "__main__":
    sys.exit(main())
