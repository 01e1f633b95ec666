import io

import numpy as np
from PIL import Image

from service.heatmap import encode_png

# viridis starts dark purple and ends yellow (matplotlib's table, rounded to bytes).
VIRIDIS_FIRST = (68, 1, 84)
VIRIDIS_LAST = (253, 231, 37)


def _decode(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def test_png_has_one_pixel_per_grid_point():
    values = np.random.default_rng(0).normal(size=(3, 5)).astype(np.float32)

    png, _, _ = encode_png(values)
    image = _decode(png)

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert image.format == "PNG"
    assert image.size == (5, 3)


def test_scale_is_grid_min_max():
    values = np.array([[-2.0, 0.0], [1.0, 3.5]], dtype=np.float32)

    _, low, high = encode_png(values)

    assert (low, high) == (-2.0, 3.5)


def test_png_orientation_and_colours():
    # Row 0 (the lowest x1) contains the minimum, the last row the maximum.
    values = np.array([[0.0, 0.0], [0.5, 0.5], [1.0, 1.0]], dtype=np.float32)

    rgb = _decode(encode_png(values)[0]).convert("RGB")

    assert rgb.getpixel((0, 2)) == VIRIDIS_FIRST
    assert rgb.getpixel((1, 0)) == VIRIDIS_LAST


def test_flat_grid_is_one_colour():
    rgb = _decode(encode_png(np.full((2, 3), 7.0, dtype=np.float32))[0]).convert("RGB")

    assert {rgb.getpixel((x, y)) for x in range(3) for y in range(2)} == {VIRIDIS_FIRST}
