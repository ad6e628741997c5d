"""A small strict reader for numeric CSV files (the workshop data)."""

import csv
import io
import math
from pathlib import Path

import numpy as np

from ._errors import DatasetError

__all__ = ["read_csv"]


def read_csv(path, *, columns=None, converters=None):
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

    Returns
    -------
    names : tuple of str
        The header, shape ``(k,)``.
    data : numpy.ndarray
        float64, shape ``(n, k)``, C-contiguous.

    Raises
    ------
    DatasetError
        The file is unreadable or empty, has no data rows, has an unexpected
        header, or a row with the wrong number of cells or a bad cell; the
        message names the file, the line number and the column.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 text: {exc}") from exc
    if not text.strip():
        raise DatasetError(f"{path}: the file is empty, expected a header row and data rows")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = None
    rows = []
    converters = dict(converters or {})
    try:
        for row in reader:
            if not row or all(not cell.strip() for cell in row):
                continue
            line = reader.line_num
            if header is None:
                header = tuple(cell.strip() for cell in row)
                if columns is not None and header != tuple(columns):
                    raise DatasetError(f"{path}: line {line}: header is {list(header)}, "
                                       f"expected {list(columns)}")
                funcs = [converters.get(name, float) for name in header]
                continue
            if len(row) != len(header):
                raise DatasetError(f"{path}: line {line}: {len(row)} columns, expected "
                                   f"{len(header)} ({', '.join(header)})")
            values = []
            for col, (name, func, cell) in enumerate(zip(header, funcs, row), 1):
                try:
                    value = float(func(cell.strip()))
                    if not math.isfinite(value):
                        raise ValueError("not a finite number")
                except ValueError as exc:
                    raise DatasetError(f"{path}: line {line}, column {col} ({name!r}): "
                                       f"cannot read {cell!r}: {exc}") from None
                values.append(value)
            rows.append(values)
    except csv.Error as exc:
        raise DatasetError(f"{path}: line {reader.line_num}: {exc}") from exc
    if not rows:
        raise DatasetError(f"{path}: no data rows after the header")
    return header, np.array(rows, dtype=np.float64).reshape(len(rows), len(header))
