"""Shared helpers of :mod:`nnkernels.plots`: fonts, validation, atomic PNG writes."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageColor, ImageDraw, ImageFont

from nnkernels._checks import invalid, numeric_array
from nnkernels._io import atomic_output

WHITE, BLACK, GRAY = (255, 255, 255), (25, 25, 25), (110, 110, 110)
LIGHT, FRAME = (230, 230, 230), (80, 80, 80)
GREEN, RED = (26, 127, 55), (207, 34, 46)
PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))
_K = 2  # charts are drawn at twice the size and downsampled: anti-aliased lines


# --------------------------------------------------------------------- helpers
@lru_cache(maxsize=None)
def _font(size):
    return ImageFont.load_default(size=size)  # scalable font, Pillow >= 10.1


def _tw(text, size):
    return _font(size).getlength(text)


def _images(value, name):
    """Validate digit images and return them as float32 ``(n, 28, 28)`` in [0, 1]."""
    arr = numeric_array(None, name, value)
    if arr.ndim == 2 and arr.shape[1] == 784:
        arr = arr.reshape(-1, 28, 28)
    elif arr.ndim != 3 or arr.shape[1:] != (28, 28):
        invalid(None, name, "of shape (n, 784) or (n, 28, 28)", f"shape {arr.shape}")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if arr.dtype.kind != "f":
        invalid(None, name, "float in [0, 1] or of uint8 dtype", f"dtype {arr.dtype}")
    if arr.size and not (np.isfinite(arr).all() and arr.min() >= -1e-6 and arr.max() <= 1 + 1e-6):
        invalid(None, name, "finite and in [0, 1]", f"values from {arr.min():.4g} to {arr.max():.4g}")
    return np.clip(arr, 0.0, 1.0).astype(np.float32)


def _colors(values, name, n):
    if isinstance(values, str) or len(values) != n:
        invalid(None, name, f"a sequence of {n} colors", repr(values) if isinstance(values, str)
             else f"{len(values)} colors")
    out = []
    for c in values:
        try:
            out.append(ImageColor.getrgb(c) if isinstance(c, str) else tuple(int(v) for v in c[:3]))
        except (ValueError, TypeError, IndexError):
            invalid(None, name, "color names, '#rrggbb' strings or RGB tuples", repr(c))
    return out


def _save(img, path):
    """Write ``img`` as PNG to ``path`` atomically; return ``path``."""
    with atomic_output(path) as fh:
        img.save(fh, format="PNG")
    return path


def _vtext(img, center, text, size, fill=BLACK):
    """Draw ``text`` rotated 90 degrees counter-clockwise, centred on ``center``."""
    _, _, r, b = _font(size).getbbox(text)
    mask = Image.new("L", (int(r) + 2, int(b) + 2))
    ImageDraw.Draw(mask).text((0, 0), text, font=_font(size), fill=255)
    mask = mask.rotate(90, expand=True)
    x, y = int(center[0] - mask.width / 2), int(center[1] - mask.height / 2)
    img.paste(fill, (x, y, x + mask.width, y + mask.height), mask)
