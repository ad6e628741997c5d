"""Bounded reading of a file that may be gzip-compressed.

:class:`ContentStream` hands out a file's content (gunzipped when it starts with
``1f 8b``) a few bytes at a time, so a reader can parse a header, check the sizes it
declares, and only then ask for the body: decompression never runs ahead of what the
caller asked for, and the compressed input read is capped too.  Every problem is a
:class:`DatasetError` naming the file.
"""
import os
import stat
import zlib

from ._errors import DatasetError

__all__ = ["GZIP_MAGIC", "ContentStream"]

GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip header and trailer around a deflate stream


class ContentStream:
    """The content of the open binary file `f` (named `name` in errors), raw or gunzipped.

    Concatenated gzip members are read one after the other, and zero bytes after the
    last one are ignored, as :func:`gzip.decompress` does.  Each member's CRC-32 and
    length are checked by zlib when its end is reached.

    Attributes
    ----------
    compressed : bool
        Whether the file starts with the gzip magic bytes.
    max_input : int or None
        Refuse to read more than this many bytes of the file (compressed side);
        set it once the header has told how large the content should be.
    """

    def __init__(self, f, name):
        self._f = f
        self._name = name
        self._file_done = False
        self._read_in = 0
        self._pending = self._read_file(2)
        self._file_done = len(self._pending) < 2
        self.compressed = self._pending == GZIP_MAGIC
        self._member = zlib.decompressobj(_GZIP_WBITS) if self.compressed else None
        self.max_input = None

    def file_size(self):
        """The size of a regular file in bytes, else None (pipes, devices)."""
        try:
            st = os.fstat(self._f.fileno())
        except (OSError, AttributeError, ValueError):
            return None
        return st.st_size if stat.S_ISREG(st.st_mode) else None

    def _read_file(self, n):
        try:
            return self._f.read(n)
        except OSError as exc:
            raise DatasetError(f"{self._name}: cannot read file: {exc.strerror or exc}") \
                from exc

    def _more_input(self):
        """The next chunk of the file (b"" at its end), within :attr:`max_input`."""
        if self._file_done:
            return b""
        data = self._read_file(_CHUNK)
        self._read_in += len(data)
        if self.max_input is not None and self._read_in > self.max_input:
            raise DatasetError(
                f"{self._name}: the compressed file is larger than {self.max_input} bytes, "
                "more than its content can need (corrupt or padded gzip data)")
        if not data:
            self._file_done = True
        return data

    def read(self, n):
        """Up to `n` bytes of content; fewer only at its end."""
        return b"".join(self.read_chunks(n))

    def read_chunks(self, n):
        """:meth:`read` as a list of pieces, for a caller that joins them with others."""
        if not self.compressed:
            return self._read_raw(n)
        out, have = [], 0
        while have < n:
            if self._member is None and not self._next_member():
                break
            if not self._pending:
                self._pending = self._more_input()
            try:
                chunk = self._member.decompress(self._pending, n - have)
            except zlib.error as exc:
                raise DatasetError(f"{self._name}: corrupt gzip data: {exc}") from None
            out.append(chunk)
            have += len(chunk)
            if self._member.eof:
                self._pending = self._member.unused_data
                self._member = None
            else:
                self._pending = self._member.unconsumed_tail
                if not chunk and not self._pending and self._file_done:
                    raise DatasetError(f"{self._name}: corrupt gzip data: the compressed "
                                       "stream ends before its end marker (truncated file)")
        return out

    def _read_raw(self, n):
        parts = [self._pending[:n]]
        self._pending = self._pending[n:]
        have = len(parts[0])
        while have < n and not self._file_done:
            data = self._read_file(min(n - have, _CHUNK))
            if not data:
                self._file_done = True
            parts.append(data)
            have += len(data)
        return parts

    def _next_member(self):
        """Start the next gzip member; False at the end of the file (zero padding ignored)."""
        while True:
            self._pending = self._pending.lstrip(b"\0")
            if len(self._pending) < 2:
                data = self._more_input()
                if not data:
                    if self._pending:
                        break
                    return False
                self._pending += data
                continue
            if self._pending[:2] != GZIP_MAGIC:
                break
            self._member = zlib.decompressobj(_GZIP_WBITS)
            return True
        raise DatasetError(f"{self._name}: corrupt gzip data: trailing bytes after the "
                           "compressed stream are neither zeros nor another gzip member")

    def skip(self, limit):
        """Read and discard up to `limit` bytes of content; return how many there were."""
        total = 0
        while total < limit:
            got = len(self.read(min(_CHUNK, limit - total)))
            if not got:
                break
            total += got
        return total

