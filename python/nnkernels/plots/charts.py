"""Charts on one shared axes helper (:func:`_chart`), and the confusion-matrix table."""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from PIL import Image, ImageDraw

from nnkernels._checks import invalid, numeric_array, path_arg, vector

from ._common import _K, BLACK, FRAME, GRAY, LIGHT, PALETTE, WHITE, _font, _save, _tw, _vtext


def _ticks(lo, hi, integer=False, log=False):
    """Return ``(value, label)`` ticks inside [lo, hi] (log10 values if ``log``)."""
    if log and math.floor(hi) - math.ceil(lo) >= 1:  # at least two powers of ten
        exps = range(math.ceil(lo), math.floor(hi) + 1)
        return [(float(e), f"{10.0 ** e:g}") for e in exps[:: math.ceil(len(exps) / 7)]]
    if log:
        return [(math.log10(v), s) for v, s in _ticks(10.0 ** lo, 10.0 ** hi) if v > 0]
    raw = (hi - lo) / 6
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(f * mag for f in (1, 2, 5, 10) if f * mag >= raw * (1 - 1e-9))
    step = max(step, 1.0) if integer else step
    dec = max(0, -math.floor(math.log10(step) + 1e-9))
    out = []
    for i in range(math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9) + 1):
        v = i * step
        out.append((v, f"{v:.3g}" if abs(v) >= 1e5 or 0 < abs(v) < 1e-3 else f"{v:.{dec}f}"))
    return out


def _dashed(d, pts, fill, width, on, off):
    for (ax, ay), (bx, by) in zip(pts, pts[1:]):
        length, t = math.hypot(bx - ax, by - ay), 0.0
        while t < length:
            u, v = t / length, min(t + on, length) / length
            d.line([(ax + (bx - ax) * u, ay + (by - ay) * u),
                    (ax + (bx - ax) * v, ay + (by - ay) * v)], fill=fill, width=width)
            t += on + off


def _chart(path, series, *, title, xlabel, ylabel, logy=False, xlim=None, ylim=None,
           box=(480, 300)):
    """Draw ``series`` on one set of axes and save the chart as PNG at ``path``.

    ``series`` holds ``(label, x, y, color, style)``; style is "line" (dots
    too when there are few points), "plain" (no dots), "dash" or "dots".
    Non-finite points, |v| >= 1e300 and, with ``logy``, y <= 0 are skipped:
    lines break there.
    """
    k, fs = _K, 12
    data = []
    for label, x, y, color, style in series:
        x, y = np.asarray(x, float), np.asarray(y, float)
        with np.errstate(invalid="ignore"):  # |v| >= 1e300 counts as non-finite
            ok = (np.abs(x) < 1e300) & (np.abs(y) < 1e300) & ((y > 0) if logy else True)
        x, y = np.where(ok, x, 0.0), np.log10(np.where(ok, y, 1.0)) if logy else np.where(ok, y, 0.0)
        data.append((str(label), x, y, ok, color, style))

    def limits(lim, values, log=False):
        v = np.concatenate(values)
        if lim is not None or not v.size:
            return lim or (0.0, 1.0)
        lo, hi = float(v.min()), float(v.max())
        pad = (hi - lo) * 0.04 or (0.5 if log else max(abs(lo) * 0.1, 0.5))
        return lo - pad, hi + pad

    xs = [x[ok] for _, x, _, ok, _, _ in data]
    (x0, x1), (y0, y1) = limits(xlim, xs), limits(ylim, [y[ok] for _, _, y, ok, _, _ in data], logy)
    xt = _ticks(x0, x1, integer=xlim is None and all(np.all(v == np.round(v)) for v in xs))
    yt = _ticks(y0, y1, log=logy)
    (pw, ph), lab_w = box, max([_tw(s, fs) for _, s in yt] + [0])
    left, top, bottom = 16 + 14 + 10 + lab_w + 8, 44, 52
    right = max(_tw(s[0], fs) for s in data) + 64
    width = max(left + pw + right, _tw(title, 16) + 24)
    height = max(top + ph + bottom, top + 20 * len(data) + 10)  # room for a long legend
    img = Image.new("RGB", (int(width * k), int(height * k)), WHITE)
    d, font = ImageDraw.Draw(img), _font(fs * k)

    def px(v):
        return (left + (v - x0) / (x1 - x0) * pw) * k

    def py(v):
        return (top + ph - (v - y0) / (y1 - y0) * ph) * k

    bx0, by0, bx1, by1 = left * k, top * k, (left + pw) * k, (top + ph) * k
    for v, s in xt:
        d.line([(px(v), by0), (px(v), by1)], fill=LIGHT, width=k)
        d.line([(px(v), by1), (px(v), by1 + 5 * k)], fill=FRAME, width=k)
        d.text((px(v), by1 + 8 * k), s, font=font, fill=BLACK, anchor="ma")
    for v, s in yt:
        d.line([(bx0, py(v)), (bx1, py(v))], fill=LIGHT, width=k)
        d.line([(bx0 - 5 * k, py(v)), (bx0, py(v))], fill=FRAME, width=k)
        d.text((bx0 - 8 * k, py(v)), s, font=font, fill=BLACK, anchor="rm")
    for label, x, y, ok, color, style in data:
        pts, r = [(px(a), py(b)) for a, b in zip(x, y)], 3 * k
        dots = style == "dots" or (style == "line" and ok.sum() <= 30)
        for i in np.flatnonzero(ok) if style != "dash" else ():
            # dots for "dots" style, short series and points isolated by non-finite neighbours
            if dots or not (i > 0 and ok[i - 1] or i + 1 < len(ok) and ok[i + 1]):
                d.ellipse([pts[i][0] - r, pts[i][1] - r, pts[i][0] + r, pts[i][1] + r], fill=color)
        if style == "dots":
            continue
        edges = np.flatnonzero(np.diff(ok.astype(np.int8))) + 1
        for run in np.split(np.arange(len(ok)), edges) if len(ok) else ():
            seg = [pts[i] for i in run]
            if ok[run[0]] and len(seg) > 1 and style == "dash":
                _dashed(d, seg, color, 2 * k, 8 * k, 6 * k)
            elif ok[run[0]] and len(seg) > 1:
                d.line(seg, fill=color, width=2 * k, joint="curve")
    d.rectangle([bx0, by0, bx1, by1], outline=FRAME, width=k)
    d.text((width * k / 2, 14 * k), title, font=_font(16 * k), fill=BLACK, anchor="ma")
    d.text(((bx0 + bx1) / 2, by1 + 30 * k), xlabel, font=_font(13 * k), fill=BLACK, anchor="ma")
    _vtext(img, (18 * k, (by0 + by1) / 2), ylabel, 13 * k)
    for i, (label, _, _, _, color, style) in enumerate(data):
        x, y = bx1 + 16 * k, by0 + (10 + 20 * i) * k
        if style == "dots":
            d.ellipse([x + 12 * k - 3 * k, y - 3 * k, x + 12 * k + 3 * k, y + 3 * k], fill=color)
        elif style == "dash":
            _dashed(d, [(x, y), (x + 24 * k, y)], color, 2 * k, 6 * k, 4 * k)
        else:
            d.line([(x, y), (x + 24 * k, y)], fill=color, width=2 * k)
        d.text((x + 32 * k, y), label, font=font, fill=BLACK, anchor="lm")
    return _save(img.reduce(k), path)


def line_plot(series, path, *, title, xlabel, ylabel, logy=False):
    """Write a line chart of one or more named series as PNG.

    Parameters
    ----------
    series : dict of str -> array_like
        Each value is either a 1-D sequence of y values, plotted at
        x = 1, 2, ..., len (e.g. epochs), or an ``(x, y)`` pair of equal-length
        1-D sequences.  Any real dtype; None, NaN and inf values are skipped
        (the line breaks there).  Colors follow a 10-color palette in order.
    path : str or os.PathLike
        Destination PNG file.
    title, xlabel, ylabel : str
        Chart title and axis labels.
    logy : bool
        Logarithmic y axis (non-positive values are then skipped).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    dest = path_arg(None, "path", path)
    if not isinstance(series, Mapping) or not series:
        invalid(None, "series", "a non-empty dict of name -> 1-D sequence", repr(series)[:80])
    lines = []
    for i, (name, values) in enumerate(series.items()):
        arg = f"series[{name!r}]"
        try:
            a = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            invalid(None, arg, "numbers", repr(values)[:80])
        if a.ndim == 1:
            x, y = np.arange(1, len(a) + 1), a
        elif a.ndim == 2 and len(a) == 2:
            x, y = a
        else:
            invalid(None, arg, "a 1-D sequence or an (x, y) pair of equal-length 1-D sequences",
                 f"shape {a.shape}")
        lines.append((name, x, y, PALETTE[i % len(PALETTE)], "line"))
    return _chart(dest, lines, title=str(title), xlabel=str(xlabel), ylabel=str(ylabel),
                  logy=bool(logy))


def scatter_with_line(x, y, path, *, line_x=None, line_y=None, title, xlabel, ylabel):
    """Write a scatter plot of data points with an optional fitted line as PNG.

    Parameters
    ----------
    x, y : array_like, shape (n,), real dtype
        The data points; non-finite ones are skipped.
    path : str or os.PathLike
        Destination PNG file.
    line_x, line_y : array_like, shape (m,), real dtype, optional
        Points of the fitted line (given together; drawn in order of x).
    title, xlabel, ylabel : str
        Chart title and axis labels.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    x = vector(None, "x", x)
    y, dest = vector(None, "y", y, len(x)), path_arg(None, "path", path)
    series = [("data", x, y, PALETTE[0], "dots")]
    if (line_x is None) != (line_y is None):
        invalid(None, "line_y" if line_y is None else "line_x", "to be given together with "
             + ("line_x" if line_y is None else "line_y"), "None")
    if line_x is not None:
        lx = vector(None, "line_x", line_x)
        ly = vector(None, "line_y", line_y, len(lx))
        order = np.argsort(lx, kind="stable")
        series.append(("fit", lx[order], ly[order], PALETTE[3], "plain"))
    return _chart(dest, series, title=str(title), xlabel=str(xlabel), ylabel=str(ylabel))


def roc_curve_image(fpr, tpr, path, *, auc=None):
    """Write a ROC curve with the chance diagonal as PNG.

    Parameters
    ----------
    fpr, tpr : array_like, shape (n,), real dtype, values in [0, 1]
        False and true positive rates at decreasing thresholds, n >= 1.
    path : str or os.PathLike
        Destination PNG file.
    auc : float, optional
        Area under the curve, shown in the title.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    dest, fpr = path_arg(None, "path", path), vector(None, "fpr", fpr)
    tpr = vector(None, "tpr", tpr, len(fpr))
    for name, a in (("fpr", fpr), ("tpr", tpr)):
        if not len(a) or not (np.isfinite(a).all() and a.min() >= 0 and a.max() <= 1):
            invalid(None, name, "at least one finite rate, all in [0, 1]",
                 f"{len(a)} values" + (f" from {a.min():.4g} to {a.max():.4g}" if len(a) else ""))
    if auc is not None and (isinstance(auc, bool) or not isinstance(auc, (int, float, np.number))
                            or not 0 <= auc <= 1):
        invalid(None, "auc", "None or a number in [0, 1]", repr(auc))
    title = "ROC curve" if auc is None else f"ROC curve (AUC = {float(auc):.3f})"
    series = [("chance", [0, 1], [0, 1], GRAY, "dash"), ("model", fpr, tpr, PALETTE[0], "plain")]
    return _chart(dest, series, title=title, xlabel="false positive rate",
                  ylabel="true positive rate", xlim=(-0.02, 1.02), ylim=(-0.02, 1.02),
                  box=(340, 340))


# ------------------------------------------------------------ confusion matrix
def confusion_matrix_image(cm, path, *, class_names=None, title="Confusion matrix"):
    """Write a confusion matrix as a shaded table with the count in each cell.

    Rows are true classes, columns predicted classes; the shade of a cell
    grows with log(1 + count) relative to the largest count, so that small
    confusions stay visible next to a heavy diagonal.

    Parameters
    ----------
    cm : array_like, shape (k, k), integer or float dtype, non-negative
        ``cm[i, j]`` = number of examples of true class i predicted as j
        (non-integral values, e.g. a normalized matrix, print with 2 decimals).
    path : str or os.PathLike
        Destination PNG file.
    class_names : sequence of k str, optional
        Defaults to "0" .. "k-1".
    title : str
        Line above the table.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    a, dest = numeric_array(None, "cm", cm), path_arg(None, "path", path)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or not a.size:
        invalid(None, "cm", "a square 2-D array of shape (k, k), k >= 1", f"shape {a.shape}")
    a = a.astype(float)
    if not np.isfinite(a).all() or a.min() < 0:
        invalid(None, "cm", "finite non-negative counts", f"values from {a.min():.4g} to {a.max():.4g}")
    k = len(a)
    names = [str(i) for i in range(k)] if class_names is None else class_names
    if isinstance(names, str) or len(names) != k:
        invalid(None, "class_names", f"a sequence of {k} names",
             repr(names) if isinstance(names, str) else f"{len(names)} names")
    names, title = [str(s) for s in names], str(title)
    text = [[f"{v:.0f}" if np.all(a == np.round(a)) else f"{v:.2f}" for v in row] for row in a]
    fs, m = 13, 14
    cw = int(max([44 if k > 5 else 72] + [_tw(s, fs) + 14 for r in text for s in r]
                 + [_tw(s, fs) + 10 for s in names]))
    ch = 34 if k > 5 else 60
    left = m + 22 + int(max(_tw(s, fs) for s in names)) + 10
    top = m + 30 + 22 + 22
    width = int(max(left + k * cw + m, _tw(title, 16) + 2 * m))
    img = Image.new("RGB", (width, top + k * ch + m), WHITE)
    d, font = ImageDraw.Draw(img), _font(fs)
    d.text((width / 2, m), title, font=_font(16), fill=BLACK, anchor="ma")
    d.text((left + k * cw / 2, m + 30), "predicted", font=font, fill=GRAY, anchor="ma")
    _vtext(img, (m + 8, top + k * ch / 2), "true", fs, GRAY)
    shade = np.log1p(a) / np.log1p(a.max()) if a.max() > 0 else np.zeros_like(a)
    stops = np.array([(247, 251, 255), (107, 174, 214), (8, 48, 107)], float)
    for j in range(k):
        d.text((left + (j + 0.5) * cw, top - 6), names[j], font=font, fill=BLACK, anchor="md")
    for i in range(k):
        d.text((left - 10, top + (i + 0.5) * ch), names[i], font=font, fill=BLACK, anchor="rm")
        for j in range(k):
            t = shade[i, j]
            fill = tuple(int(np.interp(t, (0, 0.5, 1), stops[:, c])) for c in range(3))
            x, y = left + j * cw, top + i * ch
            d.rectangle([x, y, x + cw - 1, y + ch - 1], fill=fill, outline=WHITE)
            ink = WHITE if t > 0.6 else (BLACK if a[i, j] else (170, 170, 170))
            d.text((x + cw / 2, y + ch / 2), text[i][j], font=font, fill=ink, anchor="mm")
    d.rectangle([left - 1, top - 1, left + k * cw, top + k * ch], outline=LIGHT)
    return _save(img, dest)
