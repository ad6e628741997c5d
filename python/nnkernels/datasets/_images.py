"""Decoding images for prediction: pictures (through Pillow) and IDX image files, as
28x28 float32 digits in [0, 1] (``nnkernels predict`` and Python users alike)."""
from pathlib import Path

import numpy as np

from ._errors import DatasetError
from ._idx import read_idx

__all__ = ["SIDE", "read_images"]

#: Images are SIDE x SIDE pixels (MNIST's 28).
SIDE = 28
_IDX_MAGICS = (b"\x00\x00\x08\x01", b"\x00\x00\x08\x03")


def _to_28x28(a):
    """A float (h, w) image in [0, 1] padded to a square and resized to 28x28."""
    from PIL import Image
    h, w = a.shape
    if h != w:
        side = max(h, w)
        square = np.zeros((side, side), np.float32)
        top, left = (side - h) // 2, (side - w) // 2
        square[top:top + h, left:left + w] = a
        a = square
    if a.shape != (SIDE, SIDE):
        img = Image.fromarray(np.ascontiguousarray(a, np.float32), mode="F")
        a = np.asarray(img.resize((SIDE, SIDE), Image.Resampling.LANCZOS))
    return np.clip(a, 0.0, 1.0).astype(np.float32)


def _picture_pixels(path):
    """Grayscale float pixels in [0, 1] of a picture file Pillow reads."""
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
                a = np.asarray(img, np.float64)
                return (a / (65535.0 if a.max() > 255 else 255.0)).clip(0, 1)
            if img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info:
                rgba = img.convert("RGBA")
                img = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
            return np.asarray(img.convert("L"), np.float64) / 255.0
    except UnidentifiedImageError:
        raise DatasetError(f"{path}: not an image Pillow can read, nor an IDX image file") \
            from None
    except OSError as error:
        raise DatasetError(f"{path}: cannot read the image: {error.strerror or error}") \
            from None


def read_images(path):
    """The digits in one image file, ready for an MNIST model.

    A picture Pillow reads (PNG, JPEG, ...; a dark digit on a light ground is
    inverted), or an IDX image file (raw or gzip), padded to a square and resized to
    28x28 (Lanczos).

    Parameters
    ----------
    path : pathlib.Path

    Returns
    -------
    list of (index or None, pixels, inverted): index within an IDX file (None for a
    picture), pixels of shape (784,) float32 in [0, 1], whether the picture was
    inverted.

    Raises
    ------
    DatasetError
        Naming the file: missing, unreadable, not an image, empty, or an IDX file that
        holds no images.
    """
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such image file")
    if not path.is_file():
        raise DatasetError(f"{path}: not a file")
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as error:
        raise DatasetError(f"{path}: cannot read the image: {error.strerror or error}") from None
    if head[:2] == b"\x1f\x8b" or head in _IDX_MAGICS:
        images = read_idx(path)  # DatasetError for a bad file
        if images.ndim != 3:
            raise DatasetError(f"{path}: an IDX file of {images.ndim} dimension(s) (labels?); "
                           "expected images (n, rows, cols)")
        if not len(images):
            raise DatasetError(f"{path}: the IDX file holds no images")
        out = []
        for i, img in enumerate(images):
            a = img.astype(np.float32) / np.float32(255.0)
            out.append((i, _to_28x28(a).reshape(-1), False))
        return out
    a = _picture_pixels(path)
    if a.size == 0:
        raise DatasetError(f"{path}: the image is empty")
    inverted = bool(a.mean() > 0.5)
    if inverted:
        a = 1.0 - a
    return [(None, _to_28x28(a.astype(np.float32)).reshape(-1), inverted)]
