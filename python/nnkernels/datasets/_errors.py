"""The one exception type raised by :mod:`nnkernels.datasets`."""

__all__ = ["DatasetError"]


class DatasetError(OSError, ValueError):
    """A data set could not be found, downloaded, read or verified.

    It derives from both :class:`OSError` (the data are missing or could not be
    fetched) and :class:`ValueError` (a file exists but its content is wrong),
    like :class:`io.UnsupportedOperation`, so ``except OSError`` and
    ``except ValueError`` both catch it.  The message always names the file (or
    every place tried) and says what was expected and what was found.
    """

    def __init__(self, message):
        # A single argument keeps OSError from reading it as (errno, strerror).
        super().__init__(message)

    def __str__(self):
        return str(self.args[0]) if self.args else ""
