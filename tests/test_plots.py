"""Tests of nnkernels.plots: valid PNGs, pixel content, atomic writes, input validation."""
import os
import re
import stat

import numpy as np
import pytest
from PIL import Image

from nnkernels import plots

WHITE_DIGIT = np.zeros((1, 28, 28))  # value 0 = background = white pixels
BLACK_DIGIT = np.ones((1, 28, 28))  # value 1 = ink = dark pixels


def load(path):
    with Image.open(path) as im:
        assert im.format == "PNG"
        assert im.mode == "RGB"
        return np.asarray(im.convert("RGB")).astype(int)


def dark(a):
    return a.sum(axis=2) < 150


def red(a):
    return (a[..., 0] > 150) & (a[..., 1] < 90) & (a[..., 2] < 90)


def green(a):
    return (a[..., 1] > 90) & (a[..., 0] < 80) & (a[..., 2] < 100)


def blue(a):  # PALETTE[0] = (31, 119, 180)
    return (a[..., 2] > 140) & (a[..., 0] < 90) & (a[..., 1] > 80) & (a[..., 1] < 160)


def digits(n=20, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 28, 28)).astype(np.float32) ** 4


# ------------------------------------------------------------------ digit_grid
def test_digit_grid_writes_png_and_returns_path(tmp_path):
    dest = tmp_path / "sub" / "grid.png"  # parent folder gets created
    out = plots.digit_grid(digits(23), dest, ncols=10, scale=3)
    assert out == dest and dest.is_file()
    a = load(dest)
    assert a.shape[1] >= 10 * 84 and a.shape[0] >= 3 * 84
    assert a.shape[1] < 1600 and a.shape[0] < 500
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o644


def test_digit_grid_black_and_white_cells_differ_where_expected(tmp_path):
    a = load(plots.digit_grid(np.concatenate([WHITE_DIGIT, BLACK_DIGIT]), tmp_path / "g.png",
                              ncols=2, scale=3))
    half = a.shape[1] // 2
    left, right = dark(a[:, :half]).sum(), dark(a[:, half:]).sum()
    assert left < 50  # white digit: only the light frame, no ink
    assert right >= 0.9 * 84 * 84  # black digit: a solid dark 84x84 block
    w = load(plots.digit_grid(WHITE_DIGIT, tmp_path / "w.png"))
    b = load(plots.digit_grid(BLACK_DIGIT, tmp_path / "b.png"))
    assert w.shape == b.shape and dark(w).sum() < 50 and dark(b).sum() >= 0.9 * 84 * 84


def test_digit_grid_accepts_flat_uint8_and_float_identically(tmp_path):
    x = digits(5)
    u8 = np.round(x * 255).astype(np.uint8)
    a = load(plots.digit_grid(x.reshape(5, 784), tmp_path / "a.png"))
    b = load(plots.digit_grid(x.astype(np.float64), tmp_path / "b.png"))
    c = load(plots.digit_grid(u8, tmp_path / "c.png"))
    assert np.array_equal(a, b)
    assert a.shape == c.shape and np.abs(a - c).max() <= 1


def test_digit_grid_scale_ncols_heading_change_size(tmp_path):
    x = digits(6)
    base = load(plots.digit_grid(x, tmp_path / "a.png", ncols=3, scale=2)).shape
    assert load(plots.digit_grid(x, tmp_path / "b.png", ncols=3, scale=4)).shape[1] > base[1]
    assert load(plots.digit_grid(x, tmp_path / "c.png", ncols=6, scale=2)).shape[0] < base[0]
    assert load(plots.digit_grid(x, tmp_path / "d.png", ncols=3, scale=2,
                                 heading="Some digits")).shape[0] > base[0]


def test_digit_grid_caption_colors(tmp_path):
    x = digits(2)
    titles = ["pred 1 / true 1", "pred 2 / true 7"]
    plain = load(plots.digit_grid(x, tmp_path / "a.png", titles=titles))
    colored = load(plots.digit_grid(x, tmp_path / "b.png", titles=titles,
                                    title_colors=["green", (207, 34, 46)]))
    assert not red(plain).any() and not green(plain).any()
    half = colored.shape[1] // 2
    assert red(colored[:, half:]).sum() > 50 and not red(colored[:, :half]).any()
    assert green(colored[:, :half]).sum() > 50 and not green(colored[:, half:]).any()
    captions = colored[-30:]  # bottom strip: caption text only, below the frames
    assert red(captions[:, half:]).sum() > 20 and green(captions[:, :half]).sum() > 20


def test_digit_grid_empty_still_writes(tmp_path):
    a = load(plots.digit_grid(np.zeros((0, 784)), tmp_path / "e.png", heading="Nothing"))
    assert a.shape[0] > 20 and dark(a).any()  # heading and "none" text


# -------------------------------------------------------- classification_grids
def test_classification_grids(tmp_path):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 10, 200)
    pred = y.copy()
    pred[:7] = (y[:7] + 1) % 10  # 7 wrong, 193 right
    c, w = plots.classification_grids(digits(200), y, pred, tmp_path / "out", n=30, seed=3)
    assert (c.name, w.name) == ("correct.png", "misclassified.png")
    assert c.parent == w.parent == tmp_path / "out"
    ca, wa = load(c), load(w)
    assert green(ca).sum() > 100 and red(ca).sum() == 0
    assert red(wa).sum() > 100 and green(wa).sum() == 0
    assert ca.shape[0] > wa.shape[0]  # 30 shown (3 rows) vs 7 shown (1 row)
    again = plots.classification_grids(digits(200), y, pred, tmp_path / "again", n=30, seed=3)
    assert np.array_equal(load(again[0]), ca)  # reproducible sample
    other = plots.classification_grids(digits(200), y, pred, tmp_path / "other", n=30, seed=4)
    assert not np.array_equal(load(other[0]), ca)


def test_classification_grids_without_mistakes(tmp_path):
    y = np.arange(12) % 10
    c, w = plots.classification_grids(digits(12), y, y.astype(np.uint8), tmp_path)
    wa = load(w)
    assert w.is_file() and not red(wa).any() and dark(wa).any()
    assert wa.shape[0] < 150  # heading and "none" only
    assert green(load(c)).sum() > 100


# ----------------------------------------------------- confusion_matrix_image
def cells(a, k):
    """Sample each cell's shade near its top-left corner (away from the count)."""
    ys, xs = np.nonzero(a[..., 2] - a[..., 0] >= 5)  # all blue-ish shades of the map
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    ch, cw = (y1 - y0) / k, (x1 - x0) / k
    return np.array([[a[int(y0 + i * ch + 4), int(x0 + j * cw + 4)].sum() for j in range(k)]
                     for i in range(k)])


def test_confusion_matrix_shading_increases_with_count(tmp_path):
    cm = np.array([[1, 2, 3], [5, 8, 13], [40, 100, 1000]])
    a = load(plots.confusion_matrix_image(cm, tmp_path / "cm.png",
                                          class_names=["cat", "dog", "bird"]))
    brightness = cells(a, 3).ravel()
    assert np.all(np.diff(brightness) < 0)  # darker as the count grows
    swapped = load(plots.confusion_matrix_image(cm.T, tmp_path / "cmt.png"))
    assert np.array_equal(cells(swapped, 3), cells(a, 3).T)


def test_confusion_matrix_sizes_and_counts_drawn(tmp_path):
    rng = np.random.default_rng(0)
    cm10 = rng.integers(0, 20, (10, 10)) + np.diag(rng.integers(900, 1100, 10))
    a10 = load(plots.confusion_matrix_image(cm10, tmp_path / "a.png"))
    a2 = load(plots.confusion_matrix_image([[50, 3], [4, 60]], tmp_path / "b.png"))
    assert 400 < a10.shape[1] < 1000 and 300 < a10.shape[0] < 800
    assert 100 < a2.shape[1] < a10.shape[1] and 100 < a2.shape[0] < a10.shape[0]
    # the counts are written in the cells: dark cells contain white text, light cells dark text
    blank = load(plots.confusion_matrix_image(np.zeros((2, 2)), tmp_path / "z.png"))
    assert blank.shape == a2.shape
    assert plots.confusion_matrix_image(np.full((3, 3), 1 / 3), tmp_path / "f.png").is_file()


def test_confusion_matrix_cell_text_present(tmp_path):
    a = load(plots.confusion_matrix_image([[100, 0], [0, 100]], tmp_path / "a.png"))
    ys, xs = np.nonzero(a[..., 2] - a[..., 0] >= 5)
    y0, x0, y1, x1 = ys.min(), xs.min(), ys.max(), xs.max()
    cy, cx = (y0 + (y1 - y0) // 4), (x0 + (x1 - x0) // 4)  # centre of the top-left cell
    patch = a[cy - 8:cy + 8, cx - 15:cx + 15]
    assert (patch.sum(axis=2) > 600).sum() > 10  # white digits of "100" on the dark cell


# ------------------------------------------------------------------ line_plot
def pixel_trend(a, mask):
    ys, xs = np.nonzero(mask)
    assert len(xs) > 100
    return np.corrcoef(xs, ys)[0, 1]  # image y grows downwards


def test_line_plot_increasing_goes_lower_left_to_upper_right(tmp_path):
    up = load(plots.line_plot({"up": np.arange(50.0) ** 1.5}, tmp_path / "u.png",
                              title="t", xlabel="x", ylabel="y"))
    down = load(plots.line_plot({"down": -np.arange(50.0)}, tmp_path / "d.png",
                                title="t", xlabel="x", ylabel="y"))
    assert 300 < up.shape[1] < 1200 and 200 < up.shape[0] < 800
    assert pixel_trend(up, blue(up)) < -0.8
    assert pixel_trend(down, blue(down)) > 0.8


def test_line_plot_two_series_distinct_colors_and_xy_pairs(tmp_path):
    orange = (lambda a: (a[..., 0] > 200) & (a[..., 1] > 90) & (a[..., 1] < 160)
              & (a[..., 2] < 60))
    a = load(plots.line_plot({"train loss": [3, 2, 1.5, 1.2], "val loss": ([1, 2, 4], [3, 2.5, 2])},
                             tmp_path / "l.png", title="Loss", xlabel="epoch", ylabel="loss"))
    assert blue(a).sum() > 100 and orange(a).sum() > 100


@pytest.mark.parametrize("values", [
    [1.0, np.nan, 3.0, np.inf, 5.0, -np.inf, 2.0],
    [np.nan, np.nan],
    [None, 1.0, None],
    [0.5],
    [2.0, 2.0, 2.0],
    [],
    [1e-12, 1e12],
])
@pytest.mark.parametrize("logy", [False, True])
def test_line_plot_edge_cases_do_not_crash(tmp_path, values, logy):
    a = load(plots.line_plot({"s": values, "t": [0.0, -1.0, 4.0]}, tmp_path / "p.png",
                             title="edge", xlabel="x", ylabel="y", logy=logy))
    assert a.shape[0] > 200 and dark(a).any()


def test_line_plot_single_point_is_visible(tmp_path):
    a = load(plots.line_plot({"acc": [0.9]}, tmp_path / "p.png", title="t", xlabel="x",
                             ylabel="y"))
    assert blue(a).sum() > 20  # dot plus legend sample


def test_line_plot_logy_changes_picture(tmp_path):
    s = {"loss": np.exp(-np.arange(100) / 10.0)}
    a = load(plots.line_plot(s, tmp_path / "a.png", title="t", xlabel="x", ylabel="y"))
    b = load(plots.line_plot(s, tmp_path / "b.png", title="t", xlabel="x", ylabel="y", logy=True))
    box = slice(0, int(a.shape[1] * 0.75))  # leave out the legend on the right
    straight, curved = pixel_trend(b[:, box], blue(b[:, box])), pixel_trend(a[:, box], blue(a[:, box]))
    assert straight > 0.97 and straight > curved + 0.05  # exp decay: straight on a log axis


# ------------------------------------------------------- scatter / ROC curves
def test_scatter_with_line(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 60)
    y = 2 * x + rng.normal(0, 1, 60)
    fit_red = (lambda a: (a[..., 0] > 170) & (a[..., 1] < 90) & (a[..., 2] < 90))
    a = load(plots.scatter_with_line(x, y, tmp_path / "s.png", line_x=[10, 0], line_y=[20, 0],
                                     title="fit", xlabel="x", ylabel="y"))
    assert blue(a).sum() > 200 and fit_red(a).sum() > 200
    assert pixel_trend(a, fit_red(a)) < -0.8
    b = load(plots.scatter_with_line(x, y, tmp_path / "n.png", title="t", xlabel="x", ylabel="y"))
    assert fit_red(b).sum() == 0
    assert plots.scatter_with_line([1.0, np.nan], [np.inf, 2.0], tmp_path / "z.png",
                                   title="t", xlabel="x", ylabel="y").is_file()


def test_roc_curve_image(tmp_path):
    fpr = np.linspace(0, 1, 40)
    tpr = np.sqrt(fpr)
    a = load(plots.roc_curve_image(fpr, tpr, tmp_path / "r.png", auc=0.667))
    b = load(plots.roc_curve_image(fpr, tpr, tmp_path / "q.png"))
    assert abs(a.shape[0] - a.shape[1]) < 0.4 * a.shape[1]
    assert pixel_trend(a, blue(a)) < -0.8
    gray = (np.abs(a[..., 0] - a[..., 2]) < 8) & (a[..., 0] > 70) & (a[..., 0] < 150)
    assert gray.sum() > 100  # the dashed chance diagonal
    assert not np.array_equal(a, b)  # the AUC is in the title
    assert plots.roc_curve_image([0.0], [0.0], tmp_path / "one.png").is_file()


# ---------------------------------------------------------- reconstruction_grid
def test_reconstruction_grid_originals_above_reconstructions(tmp_path):
    a = load(plots.reconstruction_grid(np.zeros((12, 784)), np.ones((12, 28, 28)),
                                       tmp_path / "r.png", n=4))
    ys, xs = np.nonzero(dark(a))
    assert len(ys) > 4 * 0.9 * 84 * 84
    assert ys.min() > a.shape[0] * 0.4  # all the ink is in the lower (reconstructed) row
    b = load(plots.reconstruction_grid(np.ones((12, 784)), np.zeros((12, 28, 28)),
                                       tmp_path / "s.png", n=4))
    assert np.nonzero(dark(b))[0].max() < b.shape[0] * 0.6
    headed = load(plots.reconstruction_grid(np.ones((12, 784)), np.zeros((12, 28, 28)),
                                            tmp_path / "h.png", n=4, heading="Autoencoder"))
    assert headed.shape[0] > b.shape[0] + 15
    wide = load(plots.reconstruction_grid(digits(12), digits(12, 1), tmp_path / "w.png", n=10))
    assert wide.shape[1] > a.shape[1] + 5 * 84
    many = load(plots.reconstruction_grid(digits(30), digits(30, 1), tmp_path / "m.png", n=25))
    assert many.shape[0] > 2.5 * wide.shape[0] and abs(many.shape[1] - wide.shape[1]) < 5


# ------------------------------------------------------------------ atomicity
def make_calls(tmp_path):
    x = digits(4)
    y = np.array([0, 1, 2, 3])
    return {
        "digit_grid": lambda p: plots.digit_grid(x, p),
        "classification_grids": lambda p: plots.classification_grids(x, y, y[::-1], p.parent),
        "confusion_matrix_image": lambda p: plots.confusion_matrix_image(np.eye(3), p),
        "line_plot": lambda p: plots.line_plot({"a": [1, 2]}, p, title="t", xlabel="x",
                                               ylabel="y"),
        "scatter_with_line": lambda p: plots.scatter_with_line([1, 2], [2, 3], p, title="t",
                                                               xlabel="x", ylabel="y"),
        "roc_curve_image": lambda p: plots.roc_curve_image([0, 1], [0, 1], p),
        "reconstruction_grid": lambda p: plots.reconstruction_grid(x, x, p),
    }


@pytest.mark.parametrize("name", sorted(make_calls(None)))
def test_atomic_write_leaves_nothing_on_failure(tmp_path, monkeypatch, name):
    call = make_calls(tmp_path)[name]
    folder = tmp_path / "out"
    folder.mkdir()
    keep = folder / "keep.png"  # an existing destination survives a failed rewrite
    keep.write_bytes(b"old")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        call(folder / ("keep.png" if name != "classification_grids" else "x.png"))
    assert sorted(os.listdir(folder)) == ["keep.png"] and keep.read_bytes() == b"old"
    monkeypatch.undo()
    out = call(folder / "keep.png")
    out = out[0] if isinstance(out, tuple) else out
    assert load(out).size and not [f for f in os.listdir(folder) if f.startswith(".")]


def test_atomic_write_cleans_up_when_encoding_fails(tmp_path, monkeypatch):
    def broken(self, fp, *args, **kwargs):
        fp.write(b"partial")
        raise RuntimeError("encoder broke")

    monkeypatch.setattr(Image.Image, "save", broken)
    with pytest.raises(RuntimeError, match="encoder broke"):
        plots.digit_grid(digits(2), tmp_path / "g.png")
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------ validation
X4, Y4 = digits(4), np.array([0, 1, 2, 3])
KW = dict(title="t", xlabel="x", ylabel="y")
BAD = [
    ("images", lambda p: plots.digit_grid(np.zeros((3, 10, 10)), p)),
    ("images", lambda p: plots.digit_grid(np.zeros(784), p)),
    ("images", lambda p: plots.digit_grid(np.zeros((2, 784), dtype=np.int64), p)),
    ("images", lambda p: plots.digit_grid(np.full((2, 784), 255.0), p)),
    ("images", lambda p: plots.digit_grid(np.full((2, 784), np.nan), p)),
    ("images", lambda p: plots.digit_grid(np.array([["a"] * 784]), p)),
    ("titles", lambda p: plots.digit_grid(X4, p, titles=["a", "b"])),
    ("titles", lambda p: plots.digit_grid(X4, p, titles="abcd")),
    ("title_colors", lambda p: plots.digit_grid(X4, p, title_colors=["red"] * 3)),
    ("title_colors", lambda p: plots.digit_grid(X4, p, title_colors=["red"] * 3 + ["nocolor"])),
    ("ncols", lambda p: plots.digit_grid(X4, p, ncols=0)),
    ("ncols", lambda p: plots.digit_grid(X4, p, ncols=2.5)),
    ("scale", lambda p: plots.digit_grid(X4, p, scale=0)),
    ("scale", lambda p: plots.digit_grid(X4, p, scale=100)),
    ("path", lambda p: plots.digit_grid(X4, None)),
    ("path", lambda p: plots.digit_grid(X4, "")),
    ("y_true", lambda p: plots.classification_grids(X4, Y4[:3], Y4, p.parent)),
    ("y_pred", lambda p: plots.classification_grids(X4, Y4, Y4 + 0.5, p.parent)),
    ("y_pred", lambda p: plots.classification_grids(X4, Y4, np.eye(4), p.parent)),
    ("n", lambda p: plots.classification_grids(X4, Y4, Y4, p.parent, n=0)),
    ("seed", lambda p: plots.classification_grids(X4, Y4, Y4, p.parent, seed=-1)),
    ("out_dir", lambda p: plots.classification_grids(X4, Y4, Y4, 3)),
    ("cm", lambda p: plots.confusion_matrix_image(np.zeros((2, 3)), p)),
    ("cm", lambda p: plots.confusion_matrix_image(np.zeros((0, 0)), p)),
    ("cm", lambda p: plots.confusion_matrix_image([[1, -1], [0, 1]], p)),
    ("cm", lambda p: plots.confusion_matrix_image([[1, np.nan], [0, 1]], p)),
    ("cm", lambda p: plots.confusion_matrix_image([["a", "b"], ["c", "d"]], p)),
    ("class_names", lambda p: plots.confusion_matrix_image(np.eye(3), p, class_names=["a"])),
    ("series", lambda p: plots.line_plot({}, p, **KW)),
    ("series", lambda p: plots.line_plot([1, 2, 3], p, **KW)),
    ("series['loss']", lambda p: plots.line_plot({"loss": [[1, 2, 3]] * 3}, p, **KW)),
    ("series['loss']", lambda p: plots.line_plot({"loss": ["a", "b"]}, p, **KW)),
    ("series['loss']", lambda p: plots.line_plot({"loss": [[1, 2], [1, 2, 3]]}, p, **KW)),
    ("y", lambda p: plots.scatter_with_line([1, 2, 3], [1, 2], p, **KW)),
    ("x", lambda p: plots.scatter_with_line(np.zeros((3, 1)), [1, 2, 3], p, **KW)),
    ("line_y", lambda p: plots.scatter_with_line([1], [1], p, line_x=[0, 1], **KW)),
    ("line_x", lambda p: plots.scatter_with_line([1], [1], p, line_y=[0, 1], **KW)),
    ("line_y", lambda p: plots.scatter_with_line([1], [1], p, line_x=[0, 1], line_y=[1], **KW)),
    ("tpr", lambda p: plots.roc_curve_image([0, 0.5, 1], [0, 1], p)),
    ("fpr", lambda p: plots.roc_curve_image([0, 1.5], [0, 1], p)),
    ("fpr", lambda p: plots.roc_curve_image([], [], p)),
    ("tpr", lambda p: plots.roc_curve_image([0, 1], [np.nan, 1], p)),
    ("auc", lambda p: plots.roc_curve_image([0, 1], [0, 1], p, auc=1.5)),
    ("auc", lambda p: plots.roc_curve_image([0, 1], [0, 1], p, auc="0.9")),
    ("reconstructions", lambda p: plots.reconstruction_grid(X4, X4[:3], p)),
    ("reconstructions", lambda p: plots.reconstruction_grid(X4, np.zeros((4, 27, 28)), p)),
    ("originals", lambda p: plots.reconstruction_grid(X4[:0], X4[:0], p)),
    ("n", lambda p: plots.reconstruction_grid(X4, X4, p, n=-2)),
]


@pytest.mark.parametrize("arg, call", BAD, ids=[f"{i}-{a}" for i, (a, _) in enumerate(BAD)])
def test_bad_input_raises_value_error_naming_argument(tmp_path, arg, call):
    with pytest.raises(ValueError) as info:
        call(tmp_path / "bad.png")
    msg = str(info.value)
    assert msg.startswith(f"'{arg}' must be "), msg
    assert re.search(r"must be .+; got .+", msg), msg
    assert os.listdir(tmp_path) == []  # nothing written
