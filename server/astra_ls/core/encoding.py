"""Stores written in UTF-16 or UTF-32 (what Windows PowerShell's `>` writes), told from their first bytes.

Read as UTF-8 such a file is noise on every line (NUL bytes, bare CRs, no final newline); one file-level
problem that names the encoding says what is wrong instead, and `astra.convertEncoding` mends it.
"""

from __future__ import annotations

from dataclasses import dataclass

from astra_ls.core.problems import Problem, make_problem

ENCODING_CODE = "ASTRA004"
HEAD_BYTES = 4096  # enough to judge by, read on every check
_BOMS = (  # longest first: UTF-32 LE's BOM starts like UTF-16 LE's
    (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32 LE"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32 BE"),
    (b"\xff\xfe", "utf-16-le", "UTF-16 LE"),
    (b"\xfe\xff", "utf-16-be", "UTF-16 BE"),
)
_UNITS = (("utf-32-le", "UTF-32 LE", 4, 0), ("utf-32-be", "UTF-32 BE", 4, 3),
          ("utf-16-le", "UTF-16 LE", 2, 0), ("utf-16-be", "UTF-16 BE", 2, 1))


@dataclass(frozen=True, slots=True)
class Encoding:
    codec: str  # Python's codec name, without BOM handling
    name: str  # as people say it
    bom: bool

    @property
    def label(self) -> str:
        return f"{self.name}{' with a byte-order mark' if self.bom else ''}"


def detect_encoding(head: bytes) -> Encoding | None:
    """The UTF-16/32 encoding the first bytes of a store are in; None for UTF-8 (or anything else)."""
    for bom, codec, name in _BOMS:
        if head.startswith(bom) and _decodes(head[len(bom):], codec):
            return Encoding(codec, name, True)
    sample = head[:512]
    if len(sample) < 4 or b"\x00" not in sample[:4]:
        return None  # JSON text starts with ASCII: these encodings put a NUL in its first unit
    for codec, name, width, at in _UNITS:
        units = [sample[i : i + width] for i in range(0, len(sample) - width + 1, width)]
        ascii_units = sum(1 for u in units if u[at] != 0 and u.count(0) == width - 1)
        if ascii_units >= 0.9 * len(units) and _decodes(sample, codec):
            return Encoding(codec, name, False)
    return None


def _decodes(data: bytes, codec: str) -> bool:
    width = 4 if "32" in codec else 2
    try:
        text = data[: len(data) - len(data) % width].decode(codec)
    except UnicodeDecodeError:
        if codec.startswith("utf-16"):  # a surrogate pair cut at the sample's end
            try:
                data[: len(data) - len(data) % 4 - 2].decode(codec)
            except UnicodeDecodeError:
                return False
            return True
        return False
    return "\x00" not in text


def encoding_problem(encoding: Encoding) -> Problem:
    """The one problem of a store in another encoding (its lines are not judged one by one)."""
    return make_problem(
        ENCODING_CODE, 0, 0, 1,
        f"the file is {encoding.label}, not UTF-8 (Windows PowerShell's `>` writes UTF-16): its lines cannot "
        "be read as events. Convert it to UTF-8 (quick fix, or `astra-ls convert STORE --to utf-8`; the "
        "original is kept in .astra/archive/)", data={"encoding": encoding.codec, "bom": encoding.bom})
