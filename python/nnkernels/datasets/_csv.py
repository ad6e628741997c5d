"""A small strict reader for numeric CSV files (the workshop data)."""

import array
import csv
import io
import math
from pathlib import Path

import numpy as np

from ._errors import DatasetError
from ._files import read_at_most

__all__ = ["MAX_CSV_BYTES", "MAX_CSV_ROWS", "MAX_CSV_COLUMNS", "MAX_CSV_FIELD_CHARS",
           "read_csv"]

#: Default limits of :func:`read_csv` (each can be raised by its keyword argument).
#: The workshop's largest file has 2,500 rows; these leave room for real tables while
#: keeping a hostile file from costing more than a few hundred MB or a few seconds.
MAX_CSV_BYTES = 64 * 2**20
MAX_CSV_ROWS = 1_000_000
MAX_CSV_COLUMNS = 1_000
MAX_CSV_FIELD_CHARS = 100


def read_csv(path, *, columns=None, converters=None, max_bytes=MAX_CSV_BYTES,
             max_rows=MAX_CSV_ROWS, max_columns=MAX_CSV_COLUMNS,
             max_field_chars=MAX_CSV_FIELD_CHARS):
    """Read a CSV file with a header row and numeric cells into a float64 array.

    Blank lines are skipped.  Every other row must have as many cells as the
    header, and every cell must be a finite number (or be accepted by its
    converter).

    Parameters
    ----------
    path : path-like
        A UTF-8 text file (an optional byte-order mark is ignored).
    columns : sequence of str, optional
        The header the file must have, in order.
    converters : dict of str to callable, optional
        For the named columns, a function from the cell's text to a float;
        it raises :class:`ValueError` on bad text.  Other columns use
        :class:`float`.
    max_bytes : int, default :data:`MAX_CSV_BYTES` (64 MiB)
        Larger files are refused before they are read.
    max_rows : int, default :data:`MAX_CSV_ROWS` (1,000,000)
        Most lines (the header and blank lines included).
    max_columns : int, default :data:`MAX_CSV_COLUMNS` (1,000)
        Most cells in the header.
    max_field_chars : int, default :data:`MAX_CSV_FIELD_CHARS` (100)
        Longest cell, in characters.

    Returns
    -------
    names : tuple of str
        The header, shape ``(k,)``.
    data : numpy.ndarray
        float64, shape ``(n, k)``, C-contiguous.

    Raises
    ------
    DatasetError
        The file is unreadable, empty or over a limit, has no data rows, has an
        unexpected header, or a row with the wrong number of cells or a bad cell;
        the message names the file, the line number and the column.
    """
    path = Path(path)
    text = _read_text(path, max_bytes)
    if not text.strip():
        raise DatasetError(f"{path}: the file is empty, expected a header row and data rows")
    reader = csv.reader(io.StringIO(text, newline=""))
    del text
    header = None
    values = array.array("d")
    n_rows = 0
    converters = dict(converters or {})
    try:
        for row in reader:
            line = reader.line_num
            if line > max_rows:
                raise DatasetError(f"{path}: more than {max_rows} lines (pass a larger "
                                   "max_rows= to read it)")
            if not row or all(not cell.strip() for cell in row):
                continue
            if header is None:
                header = _header(path, line, row, columns, max_columns, max_field_chars)
                funcs = [converters.get(name, float) for name in header]
                continue
            if len(row) != len(header):
                raise DatasetError(f"{path}: line {line}: {len(row)} columns, expected "
                                   f"{len(header)} ({', '.join(header)})")
            for col, (name, func, cell) in enumerate(zip(header, funcs, row), 1):
                values.append(_cell(path, line, col, name, func, cell, max_field_chars))
            n_rows += 1
    except csv.Error as exc:
        raise DatasetError(f"{path}: line {reader.line_num}: {exc}") from exc
    if not n_rows:
        raise DatasetError(f"{path}: no data rows after the header")
    return header, np.frombuffer(values, np.float64).reshape(n_rows, len(header)).copy()


def _read_text(path, max_bytes):
    """The file's text, refusing files larger than `max_bytes` before reading them."""
    try:
        data, complete = read_at_most(path, max_bytes)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read file: {exc.strerror or exc}") from exc
    if not complete:
        raise DatasetError(f"{path}: the file is larger than {max_bytes} bytes (pass a "
                           "larger max_bytes= to read it)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 text: {exc}") from exc


def _header(path, line, row, columns, max_columns, max_field_chars):
    if len(row) > max_columns:
        raise DatasetError(f"{path}: line {line}: the header has {len(row)} columns, more "
                           f"than {max_columns} (pass a larger max_columns= to read it)")
    for col, cell in enumerate(row, 1):
        if len(cell) > max_field_chars:
            raise DatasetError(f"{path}: line {line}, column {col}: a header cell of "
                               f"{len(cell)} characters, more than {max_field_chars}")
    header = tuple(cell.strip() for cell in row)
    if columns is not None and header != tuple(columns):
        raise DatasetError(f"{path}: line {line}: header is {list(header)}, "
                           f"expected {list(columns)}")
    return header


def _cell(path, line, col, name, func, cell, max_field_chars):
    """The cell's value as a finite float, else a DatasetError naming line and column."""
    where = f"{path}: line {line}, column {col} ({name!r})"
    if len(cell) > max_field_chars:
        raise DatasetError(f"{where}: a cell of {len(cell)} characters, more than "
                           f"{max_field_chars}")
    try:
        value = float(func(cell.strip()))
        if not math.isfinite(value):
            raise ValueError("not a finite number")
    except (ValueError, OverflowError) as exc:
        raise DatasetError(f"{where}: cannot read {cell!r}: {exc}") from None
    return value
