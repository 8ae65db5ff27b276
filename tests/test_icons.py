"""Icon images: every state at tray sizes, pairwise distinct even in greyscale."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from trayapp.icons import STATES, render

TRAY_SIZES = (16, 22, 24)
#: Mean absolute greyscale difference (0–255) two states must at least have.
MIN_GREY_DIFFERENCE = 12.0


def _on(background: tuple[int, int, int], image: Image.Image) -> Image.Image:
    canvas = Image.new("RGB", image.size, background)
    canvas.paste(image, (0, 0), image)
    return canvas


def _grey_difference(a: Image.Image, b: Image.Image) -> float:
    diff = ImageChops.difference(a.convert("L"), b.convert("L"))
    return float(ImageStat.Stat(diff).mean[0])


@pytest.mark.parametrize("size", TRAY_SIZES)
@pytest.mark.parametrize("state", STATES)
def test_each_state_renders_at_tray_sizes(state: str, size: int) -> None:
    image = render(state, size)  # type: ignore[arg-type]
    assert image.size == (size, size)
    assert image.mode == "RGBA"
    # A solid tile: the centre is fully opaque, whatever the panel colour.
    assert image.getpixel((size // 2, size // 2))[3] == 255  # type: ignore[index]
    opaque = render(state, size, opaque=True)  # type: ignore[arg-type]
    assert opaque.getextrema()[3] == (255, 255)


@pytest.mark.parametrize("background", [(255, 255, 255), (32, 32, 32)], ids=["light", "dark"])
@pytest.mark.parametrize("size", TRAY_SIZES)
def test_states_pairwise_different_in_greyscale(size: int, background: tuple[int, int, int]) -> None:
    images = {s: _on(background, render(s, size)) for s in STATES}
    for a, b in itertools.combinations(STATES, 2):
        difference = _grey_difference(images[a], images[b])
        assert difference > MIN_GREY_DIFFERENCE, f"{a} vs {b} at {size}px: {difference:.1f}"


@pytest.mark.parametrize("background", [(255, 255, 255), (32, 32, 32)], ids=["light", "dark"])
def test_icon_stands_out_from_light_and_dark_panels(background: tuple[int, int, int]) -> None:
    for state in STATES:
        image = _on(background, render(state, 22))
        panel = Image.new("RGB", image.size, background)
        assert _grey_difference(image, panel) > 40, state


def test_unknown_state_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown icon state"):
        render("bogus", 16)  # type: ignore[arg-type]


@pytest.mark.integration
def test_write_assets_script(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "trayapp.icons", "--write", str(tmp_path)], check=True,
                   capture_output=True, cwd=Path(__file__).resolve().parents[1])  # fmt: skip
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 4 * len(STATES) == 20  # none, valid, expiring, expired, needs-mfa at 4 sizes
    assert "icon-expiring-22.png" in names
    with Image.open(tmp_path / "icon-valid-64.png") as png:
        assert png.size == (64, 64)


def test_committed_assets_match_the_drawing() -> None:
    assets = Path(__file__).resolve().parents[1] / "assets"
    for state in STATES:
        for size in (16, 22, 24, 64):
            with Image.open(assets / f"icon-{state}-{size}.png") as png:
                stored = png.convert("RGBA")
            assert _grey_difference(stored, render(state, size)) < 1.0, (state, size)
