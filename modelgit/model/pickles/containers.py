"""The pickle streams inside a file: raw, compressed the ways joblib compresses, or zipped.

Every way a loader could read the file is scanned: a raw pickle, joblib's compressed forms
(zlib, gzip, bz2, lzma/xz, lz4 when installed), a zip archive's pickle members (torch's
`data.pkl`, `constants.pkl`, any nested pickle, zip or compressed member). A file that begins
with a pickle and also ends with a zip directory is scanned both ways, since `pickle.load`
and `zipfile` would each read their half. torch's `data/` storages are raw tensor bytes and
are never read.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import IO, Any, BinaryIO

PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".pt", ".pth", ".ckpt", ".sav")
_ZIP_MAGIC = b"PK\x03\x04"
_MAX_DEPTH = 3
_CHUNK = 256 * 1024


class _ZlibFile:
    """A forward-only reader of one zlib stream (joblib's `compress=('zlib', n)`)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._inflate = zlib.decompressobj()
        self._pending = b""

    def seekable(self) -> bool:
        """Never: going back would mean inflating again from the start."""
        return False

    def read(self, size: int) -> bytes:
        """Up to `size` inflated bytes; b"" at the end of the stream."""
        while not self._pending:
            if self._inflate.eof:
                return b""
            data = self._inflate.unconsumed_tail or self._raw.read(_CHUNK)
            if not data:
                return b""
            self._pending = self._inflate.decompress(data, max(size, _CHUNK))
        out, self._pending = self._pending[:size], self._pending[size:]
        return out


def _lz4_open(raw: BinaryIO) -> IO[bytes]:
    try:
        import lz4.frame  # type: ignore[import-not-found]
    except ImportError as exc:
        raise OSError("lz4-compressed, and the lz4 package is not installed") from exc
    return lz4.frame.open(raw, "rb")  # type: ignore[no-any-return]


def _forward_only(stream: Any) -> Any:
    """Compressed readers seek by decompressing again from the start: never let them."""
    stream.seekable = lambda: False
    return stream


def _decompressor(head: bytes) -> Any:
    if head.startswith(b"\x78"):
        return _ZlibFile
    if head.startswith(b"\x1f\x8b"):
        return lambda raw: _forward_only(gzip.GzipFile(fileobj=raw, mode="rb"))
    if head.startswith(b"BZh"):
        return lambda raw: _forward_only(bz2.BZ2File(raw, "rb"))
    if head.startswith((b"\xfd7zXZ\x00", b"\x5d\x00")):
        return lambda raw: _forward_only(lzma.LZMAFile(raw, "rb"))
    if head.startswith(b"\x04\x22\x4d\x18"):
        return lambda raw: _forward_only(_lz4_open(raw))
    return None


def sniff(head: bytes, name: str) -> bool:
    """True when a file's first bytes or its name say a loader would unpickle it."""
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return True
    return name.lower().endswith(PICKLE_SUFFIXES)


def streams(
    stream: BinaryIO, location: str, depth: int = 0
) -> Iterator[tuple[str, BinaryIO | str]]:
    """(location, pickle stream) for each pickle a loader could read from `stream`.

    A stream that cannot be opened comes as (location, reason) instead.
    """
    if depth > _MAX_DEPTH:
        yield location, "archives nested deeper than the scan follows"
        return
    head = stream.read(8)
    stream.seek(0)
    if head.startswith(_ZIP_MAGIC):
        yield from _zip_members(stream, location, depth)
        return
    opener = _decompressor(head)
    if opener is not None:
        try:
            inner = opener(stream)
        except OSError as exc:
            yield location, str(exc)
            return
        yield location, inner
        return
    yield location, stream
    if zipfile.is_zipfile(stream):  # a pickle with a zip directory at its end: both halves
        stream.seek(0)
        yield from _zip_members(stream, location, depth)


def _zip_members(
    stream: BinaryIO, location: str, depth: int
) -> Iterator[tuple[str, BinaryIO | str]]:
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError) as exc:
        yield location, f"not a readable zip archive ({exc})"
        return
    with archive:
        names = archive.namelist()
        torch_roots = {str(PurePosixPath(n).parent) for n in names if n.endswith("/data.pkl")}
        for info in archive.infolist():
            name = info.filename
            if info.is_dir() or any(name.startswith(f"{root}/data/") for root in torch_roots):
                continue  # torch storages: raw tensor bytes, never unpickled
            member = f"{location}:{name}"
            if any(name.startswith(f"{root}/code/") for root in torch_roots):
                yield member, "TorchScript code, which torch.load runs"
                continue
            with archive.open(info) as handle:
                head = handle.read(8)
            if not (sniff(head, name) or head.startswith(_ZIP_MAGIC)):
                continue
            with archive.open(info) as handle:
                yield from streams(handle, member, depth + 1)  # type: ignore[arg-type]
