"""Column arithmetic: bytes, code points and UTF-16 code units (what LSP and editors count)."""

from __future__ import annotations

import encodings.utf_16_le  # noqa: F401 - the codec `utf16_len` uses, looked up before any scan forks


def utf16_len(text: str) -> int:
    """Number of UTF-16 code units: astral characters (emoji) count twice."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def utf16_col_of_char(text: str, char_index: int) -> int:
    return utf16_len(text[:char_index])


def utf16_col_of_byte(line: bytes, byte_index: int) -> int:
    """Column of a byte offset; undecodable bytes count as one unit each (as editors show U+FFFD)."""
    return utf16_len(line[:byte_index].decode("utf-8", "replace"))


def char_of_utf16_col(text: str, col: int) -> int:
    """Inverse of utf16_col_of_char, clamped to the text."""
    if text.isascii():
        return min(max(col, 0), len(text))
    units = 0
    for index, char in enumerate(text):
        if units >= col:
            return index
        units += 2 if ord(char) > 0xFFFF else 1
    return len(text)
