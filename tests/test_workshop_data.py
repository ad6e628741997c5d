"""Tests of the workshop data loaders (advertising, loan, iris) in nnkernels.datasets.

All offline: the real files are read from ``$NNKERNELS_DATA/workshop`` (via
``NNKERNELS_DATA``; skipped when absent) and downloads go to an HTTP server on
127.0.0.1 started by the test.
"""

import functools
import http.server
import threading

import numpy as np
import pytest

from nnkernels.datasets import (DatasetError, Table, fetch, load_advertising, load_iris,
                                load_loan_data, parse_fico_range, parse_percent, read_csv)
from nnkernels.datasets import _files, _workshop
from nnkernels.datasets._files import sha256_hex

from conftest import DATA_ROOT  # noqa: E402

SHARED = DATA_ROOT
DEAD_URL = "http://127.0.0.1:1/"  # nothing listens on port 1: refused at once

ADVERTISING = (b"tv,radio,newspaper,sales\n"
               b"0.5,0.25,0.125,0.75\n"
               b"0.1,0.2,0.3,0.4\n"
               b"1.0,0.0,1.0,0.0\n")
LOAN = b"FICO.Range,Interest.Rate\n735-739,8.90%\n715-719,12.12%\n640-644,12.00%\n830-834,7%\n"
IRIS = (b"sepal_length,sepal_width,petal_length,petal_width,setosa,virginica,versicolor\n"
        b"0.1,0.2,0.3,0.4,1.0,0.0,0.0\n"
        b"0.5,0.6,0.7,0.8,0.0,1.0,0.0\n"
        b"0.9,1.0,0.0,0.1,0.0,0.0,1.0\n")


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No real cache, no proxies, and downloads only to a dead local address."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in ("XDG_CACHE_HOME", "NNKERNELS_DATA", "http_proxy", "HTTP_PROXY", "https_proxy",
                "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NNKERNELS_WORKSHOP_URLS", DEAD_URL)
    monkeypatch.setattr(_files, "SYSTEM_DIRS", ())


def use_files(monkeypatch, files):
    """Make the digest table match the synthetic ``files`` (name -> bytes)."""
    table = dict(_workshop.WORKSHOP_FILES)
    for name, content in files.items():
        table[name] = (table[name][0], sha256_hex(content))
    monkeypatch.setattr(_workshop, "WORKSHOP_FILES", table)


def write(folder, files):
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return folder


def cache(tmp_path):
    return tmp_path / "home" / ".cache" / "nnkernels" / "workshop"


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    """A threaded HTTP server on 127.0.0.1 serving ``tmp_path / "www"``."""
    root = tmp_path / "www"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    httpd.daemon_threads = True
    httpd.requests = []
    httpd.root = root
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def serve(root, files):
    """Lay out ``files`` as in the gc-ml repository under ``root``."""
    for name, content in files.items():
        dest = root / _workshop.WORKSHOP_FILES[name][0]
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(content)


# --------------------------------------------------------------------------- real data

@pytest.fixture
def real(monkeypatch):
    if not (SHARED / "workshop").is_dir():
        pytest.skip(f"workshop files not present in {SHARED / 'workshop'}")
    monkeypatch.setenv("NNKERNELS_DATA", str(SHARED))
    return SHARED / "workshop"


def test_real_advertising(real):
    table = load_advertising(download=False)
    assert table.columns == ("tv", "radio", "newspaper", "sales")
    assert table.data.shape == (200, 4) and table.data.dtype == np.float64 and len(table) == 200
    np.testing.assert_allclose(table.data[0], [0.7757862698681096, 0.7620967741935483,
                                               0.605980650835532, 0.8070866141732284], rtol=0)
    assert table["sales"][-1] == 0.46456692913385833
    assert table.data.min() >= 0.0 and table.data.max() <= 1.0
    train, test = table.split()
    assert len(train) == 160 and len(test) == 40
    np.testing.assert_array_equal(test.data[-1], table.data[-1])


def test_real_loan_data(real):
    table = load_loan_data(download=False)
    assert table.columns == ("fico_score", "class")
    assert table.data.shape == (2500, 2) and table.data.dtype == np.float64
    # 735-739,8.90% ; 715-719,12.12% ; 690-694,21.98%
    np.testing.assert_allclose(table.data[:3], [[95 / 190, 1.0], [75 / 190, 0.0],
                                                [50 / 190, 0.0]], rtol=0, atol=1e-15)
    assert set(np.unique(table["class"])) == {0.0, 1.0}
    assert int(table["class"].sum()) == 992
    train, test = table.split(0.8)
    assert len(train) == 2000 and len(test) == 500


def test_real_iris(real):
    (x_train, y_train), (x_test, y_test), classes = load_iris(download=False)
    assert classes == ("setosa", "virginica", "versicolor")
    assert x_train.shape == (120, 4) and x_test.shape == (30, 4)
    assert x_train.dtype == np.float64 and x_train.flags.c_contiguous
    assert y_train.shape == (120,) and y_test.shape == (30,) and y_train.dtype == np.int64
    np.testing.assert_allclose(x_train[0], [0.0833333333333, 0.666666666667, 0.0, 0.0416666666667])
    assert list(y_train[:3]) == [0, 1, 2]  # setosa, virginica, versicolor
    assert list(y_test[:3]) == [1, 0, 0]
    np.testing.assert_array_equal(np.bincount(y_train), [39, 43, 38])
    np.testing.assert_array_equal(np.bincount(y_test), [11, 7, 12])


def test_real_fetch_workshop(real):
    assert fetch("workshop") == real


# --------------------------------------------------------------------------- cleaning

@pytest.mark.parametrize("text, value", [("735-739", 735.0), ("640-644", 640.0),
                                         (" 830 - 834 ", 830.0)])
def test_parse_fico_range(text, value):
    assert parse_fico_range(text) == value


@pytest.mark.parametrize("text", ["735", "abc-def", "739-735", "73-79", ""])
def test_parse_fico_range_rejects(text):
    with pytest.raises(ValueError, match="FICO range"):
        parse_fico_range(text)


@pytest.mark.parametrize("text, value", [("8.90%", 8.9), ("12.00%", 12.0), ("7%", 7.0),
                                         (" 21.98% ", 21.98)])
def test_parse_percent(text, value):
    assert parse_percent(text) == value


@pytest.mark.parametrize("text", ["8.90", "x%", "%", "nan%", ""])
def test_parse_percent_rejects(text):
    with pytest.raises(ValueError, match="percentage"):
        parse_percent(text)


def test_loan_cleaning_boundaries(tmp_path):
    folder = write(tmp_path / "d", {"loan_data.csv": LOAN})
    table = load_loan_data(folder, download=False, verify=False)
    np.testing.assert_array_equal(table["class"], [1.0, 0.0, 1.0, 1.0])  # 12.00% counts as low
    np.testing.assert_allclose(table["fico_score"], [95 / 190, 75 / 190, 0.0, 1.0])


# --------------------------------------------------------------------------- malformed files

def load_error(tmp_path, loader, files):
    folder = write(tmp_path / "d", files)
    with pytest.raises(DatasetError) as info:
        loader(folder, download=False, verify=False)
    return str(info.value), folder


def test_text_where_number_belongs(tmp_path):
    bad = ADVERTISING.replace(b"0.1,0.2,", b"0.1,lots,")
    msg, folder = load_error(tmp_path, load_advertising, {"advertising.csv": bad})
    assert f"{folder / 'advertising.csv'}: line 3, column 2 ('radio'): cannot read 'lots'" in msg


def test_wrong_column_count(tmp_path):
    bad = ADVERTISING.replace(b"1.0,0.0,1.0,0.0", b"1.0,0.0,1.0")
    msg, folder = load_error(tmp_path, load_advertising, {"advertising.csv": bad})
    assert f"{folder / 'advertising.csv'}: line 4: 3 columns, expected 4" in msg


def test_bad_fico_text(tmp_path):
    msg, folder = load_error(tmp_path, load_loan_data,
                             {"loan_data.csv": LOAN.replace(b"715-719", b"715 to 719")})
    assert f"{folder / 'loan_data.csv'}: line 3, column 1 ('FICO.Range')" in msg
    assert "'715 to 719'" in msg


def test_bad_percent_text(tmp_path):
    msg, _ = load_error(tmp_path, load_loan_data,
                        {"loan_data.csv": LOAN.replace(b"8.90%", b"8.90")})
    assert "line 2, column 2 ('Interest.Rate')" in msg


def test_non_finite_value(tmp_path):
    msg, _ = load_error(tmp_path, load_advertising,
                        {"advertising.csv": ADVERTISING.replace(b"0.4\n", b"inf\n")})
    assert "line 3, column 4 ('sales')" in msg and "not a finite number" in msg


def test_empty_file(tmp_path):
    msg, folder = load_error(tmp_path, load_advertising, {"advertising.csv": b""})
    assert f"{folder / 'advertising.csv'}: the file is empty" in msg


def test_header_only(tmp_path):
    msg, _ = load_error(tmp_path, load_advertising,
                        {"advertising.csv": b"tv,radio,newspaper,sales\n"})
    assert "no data rows" in msg


def test_wrong_header(tmp_path):
    msg, _ = load_error(tmp_path, load_advertising,
                        {"advertising.csv": ADVERTISING.replace(b"tv,", b"TV,", 1)})
    assert "line 1: header is ['TV', 'radio', 'newspaper', 'sales']" in msg


def test_iris_bad_one_hot(tmp_path):
    files = {"iris_train.csv": IRIS.replace(b"0.5,0.6,0.7,0.8,0.0,1.0,0.0",
                                            b"0.5,0.6,0.7,0.8,1.0,1.0,0.0"),
             "iris_test.csv": IRIS}
    msg, folder = load_error(tmp_path, load_iris, files)
    assert f"{folder / 'iris_train.csv'}: line 3: species columns" in msg


def test_read_csv_generic(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"\xef\xbb\xbfa,b\r\n1,2\r\n\r\n3,4.5\r\n")  # BOM, CRLF, blank line
    names, data = read_csv(path)
    assert names == ("a", "b")
    np.testing.assert_array_equal(data, [[1.0, 2.0], [3.0, 4.5]])
    assert data.dtype == np.float64


def test_table_column_lookup():
    table = Table(("a", "b"), np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(table["b"], [1.0, 3.0, 5.0])
    with pytest.raises(KeyError, match="no column 'c'"):
        table["c"]


# --------------------------------------------------------------------------- search & download

def test_digest_checked_by_default_and_search_order(monkeypatch, tmp_path):
    use_files(monkeypatch, {"advertising.csv": ADVERTISING})
    modified = ADVERTISING.replace(b"0.5,", b"0.6,", 1)
    explicit = write(tmp_path / "explicit", {"advertising.csv": modified})
    write(tmp_path / "env" / "workshop", {"advertising.csv": ADVERTISING})
    monkeypatch.setenv("NNKERNELS_DATA", str(tmp_path / "env"))
    # a modified file does not count: the env folder is used
    assert load_advertising(explicit).data[0, 0] == 0.5
    assert load_advertising(explicit, verify=False).data[0, 0] == 0.6  # path beats env
    write(cache(tmp_path), {"advertising.csv": modified})
    assert load_advertising(verify=False).data[0, 0] == 0.5  # env beats cache
    monkeypatch.delenv("NNKERNELS_DATA")
    assert load_advertising(verify=False).data[0, 0] == 0.6
    with pytest.raises(DatasetError) as info:
        load_advertising(explicit, download=False)
    msg = str(info.value)
    assert f"path argument {explicit}: advertising.csv: SHA-256 is" in msg
    assert f"user cache {cache(tmp_path)}: advertising.csv: SHA-256 is" in msg


def test_download_verified_and_cached(monkeypatch, tmp_path, server, capsys):
    files = {"iris_train.csv": IRIS, "iris_test.csv": IRIS.replace(b"0.1,0.2", b"0.2,0.1")}
    use_files(monkeypatch, files)
    serve(server.root / "repo", files)
    (x_train, y_train), (x_test, _), _ = load_iris(urls=[server.url + "repo/"])
    assert x_train.shape == (3, 4) and list(y_train) == [0, 1, 2] and x_test[0, 0] == 0.2
    assert sorted(server.requests) == ["/repo/neural_networks/data/test.csv",
                                       "/repo/neural_networks/data/train.csv"]
    assert sorted(p.name for p in cache(tmp_path).iterdir()) == ["iris_test.csv",
                                                                 "iris_train.csv"]
    assert "downloading" in capsys.readouterr().err
    server.requests.clear()
    load_iris(urls=[server.url + "repo/"])  # from the cache
    assert server.requests == []


def test_corrupt_download_rejected(monkeypatch, tmp_path, server):
    use_files(monkeypatch, {"loan_data.csv": LOAN})
    serve(server.root / "bad", {"loan_data.csv": LOAN.replace(b"8.90%", b"9.90%")})
    serve(server.root / "good", {"loan_data.csv": LOAN})
    with pytest.raises(DatasetError) as info:
        load_loan_data(urls=[server.url + "bad/"])
    msg = str(info.value)
    expected = _workshop.WORKSHOP_FILES["loan_data.csv"][1]
    assert f"{server.url}bad/logistic_regression/data/loan_data.csv: rejected" in msg
    assert expected in msg and "SHA-256" in msg
    assert not cache(tmp_path).exists() or list(cache(tmp_path).iterdir()) == []
    # the next URL is tried after a corrupt one
    table = load_loan_data(urls=[server.url + "bad/", server.url + "good/"])
    assert len(table) == 4
    assert [p.name for p in cache(tmp_path).iterdir()] == ["loan_data.csv"]


def test_all_fail_lists_every_place(monkeypatch, tmp_path, server):
    monkeypatch.setenv("NNKERNELS_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("NNKERNELS_WORKSHOP_URLS", f"{server.url}none/ {DEAD_URL}")
    with pytest.raises(DatasetError) as info:
        load_advertising(tmp_path / "explicit")
    msg = str(info.value)
    assert f"path argument {tmp_path / 'explicit'}: no such folder" in msg
    assert f"$NNKERNELS_DATA/workshop {tmp_path / 'env' / 'workshop'}: no such folder" in msg
    assert f"user cache {cache(tmp_path)}: no such folder" in msg
    assert f"{server.url}none/linear_regression/data/advertising.csv: HTTP 404" in msg
    assert f"{DEAD_URL}linear_regression/data/advertising.csv: cannot connect" in msg
    assert "path=" in msg and "NNKERNELS_DATA" in msg and "dwhitena/gc-ml" in msg
