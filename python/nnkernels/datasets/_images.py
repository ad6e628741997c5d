"""Decoding images for prediction: pictures (through Pillow) and IDX image files, as
28x28 float32 digits in [0, 1] (``nnkernels predict`` and Python users alike)."""
import io
import struct
import zlib
from pathlib import Path

import numpy as np

from ._errors import DatasetError
from ._files import read_at_most
from ._idx import read_idx

__all__ = ["SIDE", "MAX_IMAGE_SIDE", "MAX_IDX_IMAGES", "PICTURE_FORMATS", "decode_picture",
           "read_images"]

#: Images are SIDE x SIDE pixels (MNIST's 28).
SIDE = 28
#: Longest side, in pixels, of a picture or of the images in an IDX file, by default.
#: A picture is padded to a square before it is resized, so this bounds the memory a
#: picture can take (4096: at most ~0.4 GB while decoding). Pass ``max_side=`` to
#: read larger pictures.
MAX_IMAGE_SIDE = 4096
#: Most images an IDX file may hold, by default (MNIST's training set has 60,000);
#: each becomes 784 float32 pixels. Pass ``max_images=`` to read more.
MAX_IDX_IMAGES = 100_000
#: The picture formats read (Pillow's names). Others are refused without being
#: decoded: Pillow's EPS plugin, for one, runs Ghostscript on the file.
PICTURE_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP", "PPM")
_IDX_MAGICS = (b"\x00\x00\x08\x01", b"\x00\x00\x08\x03")
#: What Pillow raises on a malformed picture (tests/test_fuzz_datasets.py checks that
#: nothing else escapes).
_PILLOW_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error)


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


def _picture_bytes(path, max_side):
    """The file's bytes, at most 8 bytes a pixel of the largest picture allowed plus 1 MiB.

    Pillow reads from these bytes in memory: a chunk that declares more bytes than
    the file holds (PNG's IDAT, for one) then costs what the file holds, not what it
    declares.
    """
    limit = 8 * max_side * max_side + 2**20
    try:
        data, complete = read_at_most(path, limit)
    except OSError as error:
        raise DatasetError(f"{path}: cannot read the image: {error.strerror or error}") \
            from None
    if not complete:
        raise DatasetError(f"{path}: the file is larger than {limit} bytes, more than a "
                           f"picture of at most {max_side} pixels a side can need (pass a "
                           "larger max_side= to read it)")
    return data


def _picture_pixels(path, max_side, data=None):
    """Grayscale float pixels in [0, 1] of a picture file Pillow reads (or of its bytes,
    `data`, already read; errors name `path`)."""
    from PIL import Image, UnidentifiedImageError
    kind = "picture"
    data = io.BytesIO(_picture_bytes(path, max_side) if data is None else data)
    try:
        with Image.open(data, formats=PICTURE_FORMATS) as img:
            kind = f"{img.format} picture"
            width, height = img.size
            if width < 1 or height < 1:
                raise DatasetError(f"{path}: the image is empty ({width}x{height} pixels)")
            if max(width, height) > max_side:
                raise DatasetError(
                    f"{path}: the {kind} is {width}x{height} pixels, larger than the limit "
                    f"of {max_side} pixels a side (pass a larger max_side= to read it)")
            img.load()
            if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
                a = np.asarray(img, np.float64)
                return (a / (65535.0 if a.max() > 255 else 255.0)).clip(0, 1)
            if img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info:
                rgba = img.convert("RGBA")
                img = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
            return np.asarray(img.convert("L"), np.float64) / 255.0
    except DatasetError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # Pillow's own limit, checked in open() (the warning is raised under -W error)
        raise DatasetError(f"{path}: the picture is too large: {error}") from None
    except UnidentifiedImageError:
        raise DatasetError(f"{path}: not a picture of a supported format "
                           f"({', '.join(PICTURE_FORMATS)}), nor an IDX image file") from None
    except _PILLOW_ERRORS as error:
        raise DatasetError(f"{path}: cannot decode the {kind}: "
                           f"{getattr(error, 'strerror', None) or error}") from None


def _idx_images(path, max_side, max_images):
    """The uint8 images (n, rows, cols) of an IDX file, within the limits."""
    images = read_idx(path)  # at most MAX_IDX_BYTES; DatasetError for a bad file
    if images.ndim != 3:
        raise DatasetError(f"{path}: an IDX file of {images.ndim} dimension(s) (labels?); "
                           "expected images (n, rows, cols)")
    n, rows, cols = images.shape
    if not n:
        raise DatasetError(f"{path}: the IDX file holds no images")
    if n > max_images:
        raise DatasetError(f"{path}: the IDX file holds {n} images, more than the limit of "
                           f"{max_images} (pass a larger max_images= to read it)")
    if not rows or not cols or max(rows, cols) > max_side:
        raise DatasetError(f"{path}: the IDX images are {rows}x{cols} pixels; expected "
                           f"1 to {max_side} pixels a side")
    return images


def read_images(path, *, max_side=MAX_IMAGE_SIDE, max_images=MAX_IDX_IMAGES):
    """The digits in one image file, ready for an MNIST model.

    A picture (PNG, JPEG, BMP, GIF, TIFF, WebP or PPM, read by Pillow; a dark digit
    on a light ground is inverted), or an IDX image file (raw or gzip), padded to a
    square and resized to 28x28 (Lanczos).  Sizes are checked before pixels are
    decoded.

    Parameters
    ----------
    path : pathlib.Path
    max_side : int, default :data:`MAX_IMAGE_SIDE` (4096)
        Longest side in pixels of a picture or of an IDX file's images.
    max_images : int, default :data:`MAX_IDX_IMAGES` (100,000)
        Most images in an IDX file.

    Returns
    -------
    list of (index or None, pixels, inverted): index within an IDX file (None for a
    picture), pixels of shape (784,) float32 in [0, 1], whether the picture was
    inverted.

    Raises
    ------
    DatasetError
        Naming the file: missing, unreadable, not an image, empty, over a limit,
        corrupt, or an IDX file that holds no images.
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
        out = []
        for i, img in enumerate(_idx_images(path, max_side, max_images)):
            a = img.astype(np.float32) / np.float32(255.0)
            out.append((i, _to_28x28(a).reshape(-1), False))
        return out
    return [(None, *_digit(_picture_pixels(path, max_side)))]


def _digit(a):
    """(pixels (784,) float32, inverted) of a picture's grayscale pixels in [0, 1]."""
    inverted = bool(a.mean() > 0.5)
    if inverted:
        a = 1.0 - a
    return _to_28x28(a.astype(np.float32)).reshape(-1), inverted


def decode_picture(data, name="picture", *, max_side=MAX_IMAGE_SIDE):
    """The digit in a picture given as bytes (an upload, say), read as
    :func:`read_images` reads a picture file (the same formats, limits and inversion).

    Parameters
    ----------
    data : bytes
    name : str
        What error messages call the picture.
    max_side : int, default :data:`MAX_IMAGE_SIDE` (4096)

    Returns
    -------
    (pixels, inverted): pixels of shape (784,) float32 in [0, 1]; whether the picture
    was inverted.

    Raises
    ------
    DatasetError
        Naming `name`: more bytes than such a picture can need, not a picture of a
        supported format, empty, over the size limit, or corrupt.
    """
    limit = 8 * max_side * max_side + 2**20
    if len(data) > limit:
        raise DatasetError(f"{name}: {len(data)} bytes, more than a picture of at most "
                           f"{max_side} pixels a side can need ({limit})")
    return _digit(_picture_pixels(name, max_side, bytes(data)))
