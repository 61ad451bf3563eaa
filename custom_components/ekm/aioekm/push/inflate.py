"""Decompress an HTTP body without ever holding more than a bound of it.

aiohttp's own decompression expands each network chunk whole before the caller
sees it: a few MB of gzip can become hundreds of MB before a size cap applies.
The Push clients ask for gzip or deflate only, read the body as sent
(`auto_decompress=False`) and expand it here, at most `room` bytes at a time.
"""

from __future__ import annotations

import zlib

# What the clients send as Accept-Encoding: exactly what Inflater decodes.
ACCEPT_ENCODING = "gzip, deflate"
_GZIP = 16 + zlib.MAX_WBITS
_ZLIB = zlib.MAX_WBITS
_RAW_DEFLATE = -zlib.MAX_WBITS
_GZIP_MAGIC = b"\x1f\x8b"


class UnsupportedEncodingError(ValueError):
    """The body is in an encoding that was not asked for."""


class CorruptBodyError(ValueError):
    """The compressed body cannot be decoded, or ends before its end."""


class Inflater:
    """Incremental gzip/deflate decoder whose output per call is bounded."""

    def __init__(self, encoding: str) -> None:
        name = encoding.strip().lower()
        if name in ("gzip", "x-gzip"):
            self._wbits = _GZIP
        elif name == "deflate":
            # HTTP deflate is zlib-wrapped; some servers send raw deflate (tried on a zlib error).
            self._wbits = _ZLIB
        else:
            raise UnsupportedEncodingError(f"answer encoded as {encoding[:40]!r}, which was not asked for")
        self._decoder = zlib.decompressobj(self._wbits)
        self._started = False
        self._after = b""  # bytes after the end of a gzip member, not yet told apart

    def feed(self, data: bytes, room: int) -> bytes:
        """What `data` expands to, stopping once more than `room` bytes came out.

        Input not yet expanded is kept; `pending` tells whether some is left. A gzip body
        may hold several members (RFC 1952), read one after the other; other bytes after
        the end are an error, never dropped silently.
        """
        if self._decoder.eof:
            self._after += data
            if len(self._after) < len(_GZIP_MAGIC) and _GZIP_MAGIC.startswith(self._after):
                return b""  # too few bytes yet to tell a next member from trailing data
            if self._wbits != _GZIP or not self._after.startswith(_GZIP_MAGIC):
                raise CorruptBodyError("compressed answer has data after its end")
            data, self._after = self._after, b""
            self._decoder = zlib.decompressobj(self._wbits)
        try:
            out = self._decoder.decompress(self._decoder.unconsumed_tail + data, room + 1)
        except zlib.error:
            if self._wbits != _ZLIB or self._started:
                raise CorruptBodyError("compressed answer is corrupt") from None
            self._wbits = _RAW_DEFLATE
            self._decoder = zlib.decompressobj(self._wbits)
            return self.feed(data, room)
        self._started = True
        if self._decoder.eof:
            self._after += self._decoder.unused_data
        return out

    @property
    def pending(self) -> bool:
        """Input is left to expand now (not just bytes waiting for more to be told apart)."""
        return bool(self._decoder.unconsumed_tail) or len(self._after) >= len(_GZIP_MAGIC)

    def finish(self) -> bytes:
        """The last output once all input is in and expanded (a few bytes); an error if cut short."""
        out = self._decoder.flush()
        if not self._decoder.eof:
            raise CorruptBodyError("compressed answer ends before its end")
        if self._after:
            raise CorruptBodyError("compressed answer has data after its end")
        return out
