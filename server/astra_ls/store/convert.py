"""Rewrite a store as UTF-8 with LF line endings, losing nothing: the original is archived first, byte for
byte, in `.astra/archive/`, and the store is replaced as quarantine and compaction replace it
(`atomic.rewrite_keeping_appends`: readers see the old or the new file).

Decoding is strict: a file that does not decode in the encoding it was found to be in is left as it is.
Only CR LF pairs become LF; a bare CR is data (or a problem of its own), never dropped.
"""

from __future__ import annotations

import codecs
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from astra_ls.core.encoding import HEAD_BYTES, Encoding, detect_encoding
from astra_ls.store.atomic import OpenStore, rewrite_keeping_appends, write_new_file
from astra_ls.store.paths import confine
from astra_ls.store.results import StoreError

CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Conversion:
    path: Path
    archive: Path | None  # None: nothing needed converting
    encoding: str  # what the file was in
    crlf: int  # CR LF pairs made LF

    def to_json(self) -> dict[str, Any]:
        return {"ok": True, "path": str(self.path), "changed": self.archive is not None,
                "archivePath": str(self.archive) if self.archive else None, "from": self.encoding,
                "to": "UTF-8", "crlfConverted": self.crlf}


def convert_store(root: Path, path: Path, name: str, lf: bool) -> Conversion:
    """Convert the store at `path` (callers hold its lock) to UTF-8, and its CR LF pairs to LF when `lf`.
    Bytes another program appends meanwhile would be in the old encoding: the swap is refused then
    (STORE_CHANGED), nothing changed."""
    with OpenStore(path) as opened:
        size = opened.size()
        encoding = detect_encoding(opened.read(0, HEAD_BYTES))
        label = encoding.label if encoding else "UTF-8"
        counted = [0]
        for _ in _lines_lf(_text_chunks(opened, size, encoding), lf, counted):  # it all decodes: nothing written
            pass
        if encoding is None and not counted[0]:
            return Conversion(path, None, label, 0)
        archive = _archive(root, opened, size, name, encoding)
        try:
            converted = (text.encode("utf-8") for text in _lines_lf(_text_chunks(opened, size, encoding), lf, [0])
                         if text)
            rewrite_keeping_appends(opened, converted, size, refuse_growth=True)
        except BaseException:
            if not opened.replaced():  # a store left as it was keeps no archive: it would be an orphan
                archive.unlink(missing_ok=True)
            raise
    return Conversion(path, archive, label, counted[0])


def _text_chunks(store: OpenStore, size: int, encoding: Encoding | None) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder(encoding.codec if encoding else "utf-8")("strict")
    first = True
    try:
        for at in range(0, size, CHUNK):
            text = decoder.decode(store.read(at, min(CHUNK, size - at)))
            if first and text and encoding is not None and encoding.bom:
                text = text.removeprefix("\ufeff")
            first = first and not text
            yield text
        yield decoder.decode(b"", final=True)
    except UnicodeDecodeError as error:
        raise StoreError("NOT_CONVERTIBLE", f"{store.path.name} does not decode as "
                         f"{encoding.name if encoding else 'UTF-8'} ({error.reason}): left as it is; fix or "
                         "quarantine the damaged part first") from None


def _lines_lf(chunks: Iterator[str], lf: bool, counted: list[int]) -> Iterator[str]:
    """The text with CR LF made LF (a CR at a chunk's end waits for the next chunk); `counted[0]` grows by
    the pairs made LF."""
    held = ""
    for text in chunks:
        text = held + text
        held = ""
        if lf:
            if text.endswith("\r"):
                text, held = text[:-1], "\r"
            counted[0] += text.count("\r\n")
            text = text.replace("\r\n", "\n")
        yield text
    if held:
        yield held


def _archive(root: Path, store: OpenStore, size: int, name: str, encoding: Encoding | None) -> Path:
    """The original bytes, as they were, under `.astra/archive/`, durably (before the swap)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    suffix = encoding.codec if encoding else "crlf"
    leaf = f"{name.replace('/', '--')}-{stamp}-{time.time_ns() % 10**9}.{suffix}.original"
    target = confine(root, root / ".astra" / "archive" / leaf)
    target.parent.mkdir(parents=True, exist_ok=True)

    def copy(handle: BinaryIO) -> None:
        for at in range(0, size, CHUNK):
            handle.write(store.read(at, min(CHUNK, size - at)))

    write_new_file(target, leaf, copy)
    return target
