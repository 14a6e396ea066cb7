"""Skew of scanned pages: real invoices rendered by poppler, turned by known angles, found again and straightened."""

from __future__ import annotations

import io
import math
import random
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from printer_backend.skew import skew_angle, straighten
from tests.support.harness import CORPUS

# One invoice from each producer in the corpus (producer = the file name before "__").
PAGES = {
    "fnfe": "FNFE-factur-x-examples__Facture_FR_BASICWL.pdf",
    "gnuaccounting": "Mustangproject__MustangGnuaccountingBeispielRE-20201121_508.pdf",
    "intarsys": "intarsys__EN16931__zugferd_2p0_EN16931_Einfach.pdf",
    "mustang": "mustangproject__103767-Invoice-2026-03-24-1.pdf",
}
ANGLES = (-4.0, -2.0, -0.7, 0.0, 0.5, 2.0, 3.5)
TOLERANCE = 0.25  # degrees

Render = Callable[[str, int], Image.Image]


@pytest.fixture(scope="module")
def render(tmp_path_factory: pytest.TempPathFactory) -> Render:
    """Page 1 of a corpus invoice as poppler rasterises it in grey, rendered once per module."""
    folder = tmp_path_factory.mktemp("skew")
    cache: dict[tuple[str, int], Image.Image] = {}

    def page(name: str, dpi: int) -> Image.Image:
        if (name, dpi) not in cache:
            prefix = folder / f"{name}-{dpi}"
            subprocess.run(
                ["pdftoppm", "-r", str(dpi), "-gray", "-png", "-f", "1", "-l", "1", "-singlefile",
                 str(CORPUS / "printed" / PAGES[name]), str(prefix)],
                check=True, capture_output=True, timeout=60,
            )
            with Image.open(Path(f"{prefix}.png")) as png:
                cache[name, dpi] = png.convert("L")
        return cache[name, dpi]

    return page


def turned(page: Image.Image, degrees: float) -> Image.Image:
    """`page` skewed as a scanner would: turned about its centre, white where the paper was not."""
    return page.rotate(degrees, resample=Image.Resampling.BICUBIC, fillcolor=255)


def speckled(page: Image.Image, seed: int, fraction: float = 0.01) -> Image.Image:
    """`page` with `fraction` of its pixels set to black or white at random (salt and pepper)."""
    rng = random.Random(seed)
    noisy = page.copy()
    pixels = noisy.load()
    assert pixels is not None
    width, height = noisy.size
    for _ in range(int(width * height * fraction)):
        pixels[rng.randrange(width), rng.randrange(height)] = rng.choice((0, 255))
    return noisy


def jpeg(page: Image.Image, quality: int = 75) -> Image.Image:
    """`page` after a round trip through JPEG at `quality`."""
    buffer = io.BytesIO()
    page.save(buffer, "JPEG", quality=quality)
    with Image.open(io.BytesIO(buffer.getvalue())) as decoded:
        return decoded.convert("L")


def assert_found_and_straightened(skewed: Image.Image, degrees: float) -> None:
    found = skew_angle(skewed)
    assert isinstance(found, float)
    assert abs(found + degrees) <= TOLERANCE, f"turned by {degrees}°, found {found}°"
    straight = straighten(skewed, found)
    assert straight.mode == "L"
    assert straight.size == skewed.size
    assert abs(skew_angle(straight)) <= TOLERANCE


@pytest.mark.parametrize("degrees", ANGLES)
@pytest.mark.parametrize("name", PAGES)
def test_known_skew_is_found_and_undone(render: Render, name: str, degrees: float) -> None:
    assert_found_and_straightened(turned(render(name, 150), degrees), degrees)


@pytest.mark.parametrize("degrees", [-2.75, -0.35, 1.25, 4.15])
@pytest.mark.parametrize("name", ["fnfe", "mustang"])
def test_angles_between_search_steps_are_found_closely(render: Render, name: str, degrees: float) -> None:
    found = skew_angle(turned(render(name, 150), degrees))
    assert abs(found + degrees) <= 0.15, f"turned by {degrees}°, found {found}°"


@pytest.mark.parametrize("degrees", [-1.5, 2.5])
def test_known_skew_at_300_dpi(render: Render, degrees: float) -> None:
    assert_found_and_straightened(turned(render("intarsys", 300), degrees), degrees)


@pytest.mark.parametrize("degrees", [2.0, -2.0])
@pytest.mark.parametrize("name", PAGES)
def test_office_scan_with_speckle_and_jpeg(render: Render, name: str, degrees: float) -> None:
    """200 dpi, 2° skew, 1 % salt-and-pepper noise, JPEG at quality 75: what office scanners send."""
    scan = jpeg(speckled(turned(render(name, 200), degrees), seed=len(name) + int(degrees)))
    assert_found_and_straightened(scan, degrees)


def test_the_input_image_is_left_alone(render: Render) -> None:
    skewed = turned(render("fnfe", 150), 1.0)
    before = skewed.tobytes()
    assert skew_angle(skewed) == pytest.approx(-1.0, abs=TOLERANCE)
    assert skewed.tobytes() == before


@pytest.mark.parametrize("mode", ["RGB", "1"])
def test_colour_and_bilevel_pages(render: Render, mode: str) -> None:
    skewed = turned(render("gnuaccounting", 150), -2.0)
    converted = skewed.convert("RGB") if mode == "RGB" else skewed.convert("1", dither=Image.Dither.NONE)
    assert converted.mode == mode
    found = skew_angle(converted)
    assert abs(found - 2.0) <= TOLERANCE
    straight = straighten(converted, found)
    assert straight.mode == "L"
    assert straight.size == converted.size
    assert abs(skew_angle(straight)) <= TOLERANCE


def test_blank_page_is_not_skewed() -> None:
    assert skew_angle(Image.new("L", (1240, 1754), 255)) == 0.0


def test_blank_scan_with_speckle_is_not_skewed() -> None:
    scan = jpeg(speckled(Image.new("L", (1240, 1754), 235), seed=3))
    assert skew_angle(scan) == 0.0


@pytest.mark.parametrize("max_degrees", [5.0, 2.0])
def test_noise_photo_gives_an_angle_in_range(max_degrees: float) -> None:
    rng = random.Random(11)
    photo = Image.frombytes("L", (900, 700), rng.randbytes(900 * 700))
    found = skew_angle(photo, max_degrees=max_degrees)
    assert isinstance(found, float)
    assert math.isfinite(found)
    assert abs(found) <= max_degrees


@pytest.mark.parametrize("size", [(10, 10), (500, 1), (1, 500), (0, 0)])
def test_tiny_images_are_not_skewed(size: tuple[int, int]) -> None:
    assert skew_angle(Image.new("L", size, 255)) == 0.0
    if size[0] and size[1]:
        rng = random.Random(5)
        assert skew_angle(Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))) == 0.0


def test_search_stays_within_max_degrees(render: Render) -> None:
    skewed = turned(render("intarsys", 150), -3.0)
    assert abs(skew_angle(skewed, max_degrees=1.5)) <= 1.5
    assert skew_angle(skewed, max_degrees=0.0) == 0.0
    assert skew_angle(skewed, max_degrees=4.0) == pytest.approx(3.0, abs=TOLERANCE)


@pytest.mark.parametrize("max_degrees", [-1.0, 31.0, math.nan, math.inf])
def test_unreasonable_max_degrees_is_refused(max_degrees: float) -> None:
    with pytest.raises(ValueError):
        skew_angle(Image.new("L", (100, 100), 255), max_degrees=max_degrees)


def test_straighten_turns_counter_clockwise_with_white_fill() -> None:
    # A black bar along the top edge: turned counter-clockwise, its left end drops, its right end rises off the page.
    page = Image.new("L", (400, 300), 255)
    page.paste(0, (0, 20, 400, 40))
    straight = straighten(page, 10.0)
    assert straight.mode == "L"
    assert straight.size == page.size
    assert straight.getpixel((20, 30)) == 255  # the bar's left end has moved down ...
    assert straight.getpixel((20, 60)) == 0  # ... to here
    assert straight.getpixel((200, 30)) == 0  # the centre of the bar stays put
    assert straight.getpixel((380, 30)) == 255  # the right end has moved up, off the page
    assert straight.getpixel((0, 299)) == 255  # a corner the page no longer covers is white
    assert straight.tobytes() == page.rotate(10.0, resample=Image.Resampling.BICUBIC, fillcolor=255).tobytes()


def test_straighten_leaves_tiny_angles_alone() -> None:
    page = Image.new("L", (50, 40), 200)
    assert straighten(page, 0.04) is page
    assert straighten(page, -0.04) is page
    assert straighten(page, 0.0) is page
    colour = Image.new("RGB", (50, 40), (255, 0, 0))
    grey = straighten(colour, 0.01)
    assert grey.mode == "L"
    assert grey.tobytes() == colour.convert("L").tobytes()
    assert straighten(page, 0.06) is not page


def test_straighten_refuses_a_non_number() -> None:
    with pytest.raises(ValueError):
        straighten(Image.new("L", (10, 10), 255), math.nan)
