"""What a command that names a line expects there: a short hash of the line.

Line numbers go stale (a quick fix made from diagnostics outlives the quarantine of an earlier line,
another writer rewrites the file): a command naming a line also names its fingerprint, and is refused
when the line no longer holds it.
"""

from __future__ import annotations

import xxhash


def line_fingerprint(raw: bytes) -> str:
    """16 hex digits of the line's text (without its line break). Invalid UTF-8 is replaced as an editor
    shows it, so the open buffer and the file on disk give the same fingerprint."""
    return xxhash.xxh3_64_hexdigest(raw.decode("utf-8", "replace").encode())
