"""A forward reader over a binary stream that skips payloads without holding them.

The scanner reads opcodes a few bytes at a time and jumps over array and bytes payloads. Reads
go through one window of at most 64 KiB past what the caller asked to keep, so memory stays
flat whatever the file's size; jumping back to a kept offset never touches the file again.
"""

from __future__ import annotations

from typing import BinaryIO

_CHUNK = 64 * 1024
_DISCARD = 1024 * 1024
KEEP_LIMIT = 16 * 1024 * 1024  # what a forward-only stream may hold for a jump back


class Truncated(Exception):
    """The stream ended inside an opcode or a payload, or cannot go back as far as asked."""


class KeepLimit(Truncated):
    """A forward-only stream would have to hold too much to jump back."""


class Reader:
    """Reads, peeks and skips over `raw`, remembering only the bytes it must."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._window = b""
        self._start = 0  # stream offset of the window's first byte
        self._at = 0  # position inside the window
        self.keep_from: int | None = None  # an offset a forward-only stream must keep
        try:
            self.seekable = bool(raw.seekable())
        except (AttributeError, OSError, ValueError):
            self.seekable = False

    def tell(self) -> int:
        """The stream offset of the next byte."""
        return self._start + self._at

    def _fill(self) -> bool:
        """Read one more chunk after the unread bytes; False at the end of the stream."""
        chunk = self._raw.read(_CHUNK)
        if not chunk:
            return False
        drop = self._at
        if self.keep_from is not None and not self.seekable:
            drop = min(drop, max(self.keep_from - self._start, 0))
        self._window = self._window[drop:] + chunk
        self._start += drop
        self._at -= drop
        if len(self._window) > KEEP_LIMIT + _CHUNK:
            raise KeepLimit("a forward-only stream would have to hold more than 16 MiB")
        return True

    def read(self, size: int) -> bytes:
        """Exactly `size` bytes (callers only ask for small fields)."""
        while len(self._window) - self._at < size:
            if not self._fill():
                raise Truncated(f"the stream ends inside a {size}-byte field")
        data = self._window[self._at : self._at + size]
        self._at += size
        return data

    def byte(self) -> int | None:
        """The next byte, or None at the end of the stream."""
        if self._at >= len(self._window) and not self._fill():
            return None
        value = self._window[self._at]
        self._at += 1
        return value

    def line(self, limit: int) -> bytes | None:
        """The next line without its newline; None when longer than `limit` (then skipped)."""
        searched = self._at
        while True:
            newline = self._window.find(b"\n", searched)
            if newline != -1:
                text = self._window[self._at : newline]
                self._at = newline + 1
                return text if len(text) <= limit else None
            if len(self._window) - self._at > limit:  # too long to keep: drop it, find its end
                self._at = len(self._window)
                self.skip_line()
                return None
            searched = len(self._window)
            before = self._at
            if not self._fill():
                raise Truncated("the stream ends inside a text line")
            searched -= before - self._at

    def skip_line(self) -> None:
        """Move past the next newline without keeping the line."""
        while True:
            newline = self._window.find(b"\n", self._at)
            if newline != -1:
                self._at = newline + 1
                return
            self._at = len(self._window)
            if not self._fill():
                raise Truncated("the stream ends inside a text line")

    def skip(self, size: int) -> None:
        """Move `size` bytes forward without keeping them."""
        self.seek(self.tell() + size)

    def seek(self, offset: int) -> None:
        """Move to stream `offset`: inside the window for free, else by seeking or discarding."""
        if self._start <= offset <= self._start + len(self._window):
            self._at = offset - self._start
            return
        if self.seekable:
            self._raw.seek(offset)
            self._start, self._window, self._at = offset, b"", 0
            return
        if offset < self._start:
            raise Truncated("cannot go back in a stream that only reads forward")
        remaining = offset - (self._start + len(self._window))
        while remaining > 0:
            chunk = self._raw.read(min(remaining, _DISCARD))
            if not chunk:
                raise Truncated("the stream ends inside a payload")
            remaining -= len(chunk)
        self._start, self._window, self._at = offset, b"", 0
