"""Digit pictures: sample grids, classification grids, autoencoder reconstructions."""
from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from nnkernels._checks import invalid, path_arg, positive_int, vector

from ._common import (BLACK, GRAY, GREEN, LIGHT, RED, WHITE, _colors, _font, _images, _save,
                      _tw)


def _sheet(imgs, *, ncols, scale=3, captions=None, colors=None, row_labels=None,
           heading=None, empty="none"):
    """Lay out float ``(28, 28)`` images (or None: blank cell) row-major on a white sheet.

    ``row_labels`` cycle over the rows (pairs of rows are grouped with a gap);
    ``colors`` tint the caption and frame of each tile.
    """
    n = len(imgs)
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    tile, pad, fs, hfs, m = 28 * scale, 6, 12, 16, 14
    cw = int(max([tile] + [_tw(c, fs) for c in captions or []])) + 2 * pad
    ch = tile + 2 * pad + (fs + 6 if captions else 0)
    lab_w = int(max(_tw(s, 13) for s in row_labels)) + 12 if row_labels else 0
    group = len(row_labels) if row_labels else 1
    gap = 10 if group > 1 else 0
    head_h = hfs + 16 if heading else 0
    grid_w = lab_w + ncols * cw
    grid_h = nrows * ch + (nrows - 1) // group * gap if n else 40
    width = int(max(grid_w, _tw(heading or "", hfs))) + 2 * m
    img = Image.new("RGB", (width, head_h + grid_h + 2 * m), WHITE)
    d = ImageDraw.Draw(img)
    if heading:
        d.text((width / 2, m), heading, font=_font(hfs), fill=BLACK, anchor="ma")
    x0, y0 = (width - grid_w) // 2, m + head_h
    if not n:
        d.text((width / 2, y0 + 20), empty, font=_font(14), fill=GRAY, anchor="mm")
    for r in range(nrows if row_labels else 0):
        y = y0 + r * ch + r // group * gap + pad + tile / 2
        d.text((x0 + lab_w - 10, y), row_labels[r % group], font=_font(13), fill=GRAY,
               anchor="rm")
    for i in range(n):
        if imgs[i] is None:  # blank cell
            continue
        r, c = divmod(i, ncols)
        x = x0 + lab_w + c * cw + (cw - tile) // 2
        y = y0 + r * ch + r // group * gap + pad
        pixels = np.round(255.0 * (1.0 - imgs[i])).astype(np.uint8)
        img.paste(Image.fromarray(pixels).resize((tile, tile), Image.Resampling.NEAREST), (x, y))
        color, w = (colors[i], 2) if colors else (LIGHT, 1)
        d.rectangle([x - w, y - w, x + tile - 1 + w, y + tile - 1 + w], outline=color, width=w)
        if captions:
            d.text((x + tile / 2, y + tile + 5), captions[i], font=_font(fs),
                   fill=colors[i] if colors else BLACK, anchor="ma")
    return img


def digit_grid(images, path, *, titles=None, title_colors=None, ncols=10, scale=3, heading=None):
    """Write a grid of digit images, each with an optional caption, as PNG.

    Parameters
    ----------
    images : ndarray, shape (n, 784) or (n, 28, 28), float in [0, 1] or uint8
        The digits, drawn dark-on-white, enlarged ``scale`` times.  ``n`` may
        be 0 (the picture then says "none").
    path : str or os.PathLike
        Destination PNG file.
    titles : sequence of n str, optional
        Caption under each digit, e.g. ``"pred 7 / true 7"``.
    title_colors : sequence of n colors, optional
        Color names, ``"#rrggbb"`` strings or RGB tuples for the captions and
        the frames of the digits (e.g. green correct, red wrong).
    ncols : int
        Digits per row.
    scale : int
        Enlargement factor (each digit is ``28 * scale`` pixels square).
    heading : str, optional
        Line of text above the grid.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    imgs, dest = _images(images, "images"), path_arg(None, "path", path)
    ncols, scale = positive_int(None, "ncols", ncols), positive_int(None, "scale", scale)
    if scale > 32:
        invalid(None, "scale", "an integer from 1 to 32", scale)
    if titles is not None:
        if isinstance(titles, str) or len(titles) != len(imgs):
            invalid(None, "titles", f"a sequence of {len(imgs)} strings",
                 repr(titles) if isinstance(titles, str) else f"{len(titles)} items")
        titles = [str(t) for t in titles]
    colors = None if title_colors is None else _colors(title_colors, "title_colors", len(imgs))
    img = _sheet(imgs, ncols=ncols, scale=scale, captions=titles, colors=colors,
                 heading=None if heading is None else str(heading))
    return _save(img, dest)


def classification_grids(images, y_true, y_pred, out_dir, *, n=50, seed=0):
    """Write ``correct.png`` and ``misclassified.png`` sample grids into ``out_dir``.

    Up to ``n`` correctly and ``n`` wrongly classified examples are drawn at
    random (reproducibly, from ``seed``), shown in their original order with a
    green or red "pred P / true T" caption.  With no example of a kind the
    picture still gets written and says "none".

    Parameters
    ----------
    images : ndarray, shape (m, 784) or (m, 28, 28), float in [0, 1] or uint8
    y_true, y_pred : ndarray, shape (m,), integer dtype
        True and predicted class of each image.
    out_dir : str or os.PathLike
        Folder for the two PNG files (created if missing).
    n : int
        Maximum number of examples per picture.
    seed : int
        Seed of the random sample.

    Returns
    -------
    (pathlib.Path, pathlib.Path)
        Paths of ``correct.png`` and ``misclassified.png``.
    """
    imgs, out = _images(images, "images"), path_arg(None, "out_dir", out_dir)
    yt = vector(None, "y_true", y_true, len(imgs), kinds="iu").astype(np.int64)
    yp = vector(None, "y_pred", y_pred, len(imgs), kinds="iu").astype(np.int64)
    n, rng = positive_int(None, "n", n), np.random.default_rng(positive_int(None, "seed", seed, 0))
    paths = []
    for name, mask, what in (("correct.png", yt == yp, "Correctly classified"),
                             ("misclassified.png", yt != yp, "Misclassified")):
        idx = np.flatnonzero(mask)
        total = len(idx)
        if total > n:
            idx = np.sort(rng.choice(idx, n, replace=False))
        shown = f", {len(idx)} shown" if len(idx) < total else ""
        heading = f"{what} digits ({total} of {len(imgs)}{shown})"
        img = _sheet(imgs[idx], ncols=10, captions=[f"pred {yp[i]} / true {yt[i]}" for i in idx],
                     colors=[GREEN if yt[i] == yp[i] else RED for i in idx], heading=heading)
        paths.append(_save(img, out / name))
    return tuple(paths)


def reconstruction_grid(originals, reconstructions, path, *, n=10, heading=None):
    """Write autoencoder originals above their reconstructions as PNG.

    The first ``n`` pairs are drawn in columns (10 per row block), the row
    labelled "original" above the row labelled "reconstructed".

    Parameters
    ----------
    originals, reconstructions : ndarray, shape (m, 784) or (m, 28, 28)
        Float in [0, 1] or uint8, the same number ``m >= 1`` of images each
        (clip a decoder's output to [0, 1] first).
    path : str or os.PathLike
        Destination PNG file.
    n : int
        Number of pairs to show (at most ``m``).
    heading : str, optional
        Line of text above the pictures.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    orig, rec = _images(originals, "originals"), _images(reconstructions, "reconstructions")
    dest, n = path_arg(None, "path", path), positive_int(None, "n", n)
    if not len(orig):
        invalid(None, "originals", "at least 1 image", "0 images")
    if len(rec) != len(orig):
        invalid(None, "reconstructions", f"{len(orig)} images (as many as originals)", f"{len(rec)} images")
    m = min(n, len(orig))
    cells = []  # blocks of 10 pairs: a row of originals above a row of reconstructions
    for i in range(0, m, 10):
        block = range(i, min(i + 10, m))
        blank = [None] * (10 - len(block)) if m > 10 else []
        cells += [orig[j] for j in block] + blank + [rec[j] for j in block] + blank
    img = _sheet(cells, ncols=min(m, 10), row_labels=("original", "reconstructed"),
                 heading=None if heading is None else str(heading))
    return _save(img, dest)
