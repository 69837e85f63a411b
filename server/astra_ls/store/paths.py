"""Confinement: every store path resolves inside the workspace's `.astra/` folder, or is refused.

Containment is always decided on normalised paths (no `..`), and again on real paths (links followed),
never on the path as written. URIs are decoded strictly: an encoded separator, a NUL or a `.`/`..`
segment is refused before it can become a path.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

ASTRA_DIR = ".astra"
MAX_NAME = 200
# One segment of a stream name: any file name a user would give (spaces, accents, a leading underscore),
# but no separator, no `%` (it reads as URI encoding), nothing Windows cannot name, no control character;
# not hidden (a leading dot), not starting with a space or `-`, not ending with a space or a dot.
_BAD_CHARS = '\x00-\x1f\x7f/\\\\%:*?"<>|'
STREAM_NAME = re.compile(rf"[^{_BAD_CHARS} .\-](?:[^{_BAD_CHARS}]*[^{_BAD_CHARS} .])?")


class PathRefused(Exception):
    """A stream name or path that would leave `.astra/`; the message says why."""


def astra_dir(root: Path) -> Path:
    """The workspace's `.astra/` folder, refused when it is a link out of the workspace."""
    folder = root / ASTRA_DIR
    if folder.is_symlink() or folder.exists():
        real = folder.resolve()
        if not real.is_relative_to(root.resolve()):
            raise PathRefused(f"{folder} is a link to {real}, outside the workspace")
    return folder


def check_stream_name(name: str) -> str:
    """`name` without `.jsonl`, when it is one plain file name; else PathRefused saying why."""
    bare = name.removesuffix(".jsonl")
    if "\x00" in bare:
        raise PathRefused(f"stream name {name!r} contains a NUL character: no file has such a name")
    if "/" in bare or "\\" in bare or "%" in bare or bare in (".", ".."):
        raise PathRefused(f"stream name {name!r} contains a path separator, '..' or an encoded character: "
                          "a stream is a plain file name inside .astra/")
    if len(bare) > MAX_NAME:
        raise PathRefused(f"stream name {bare[:40]!r}... is longer than {MAX_NAME} characters")
    if not STREAM_NAME.fullmatch(bare):
        raise PathRefused(f"stream name {name!r} is not a plain file name (it must not start with '.', '-' or "
                          "a space, end with '.' or a space, or hold control characters or any of "
                          "/ \\ % : * ? \" < > |)")
    return bare


def check_stream_parts(stream: str) -> str:
    """A stream name that may name a sub-folder of `.astra/` (`sub/nested`), each part checked."""
    for part in stream.split("/"):
        check_stream_name(part)
    return stream


def stream_path(root: Path, name: str) -> Path:
    """`<root>/.astra/<name>.jsonl`, with the name and any links checked."""
    bare = check_stream_name(name)
    path = astra_dir(root) / f"{bare}.jsonl"
    confine(root, path)
    return path


def confine(root: Path, path: Path) -> Path:
    """`path` itself, when it (and whatever it links to) lies inside `<root>/.astra/`."""
    folder = astra_dir(root).resolve()
    real = path.resolve()
    if not real.is_relative_to(folder):
        raise PathRefused(f"{path} resolves to {real}, outside {folder}")
    return path


def normalised(path: Path) -> Path:
    """The absolute path with `.` and `..` folded away (links are not followed: see `confine`)."""
    text = os.fspath(path)
    if "\x00" in text:
        raise PathRefused(f"{text!r} contains a NUL character: no file has such a name")
    return Path(os.path.normpath(os.path.abspath(text)))


def path_from_uri(uri: str) -> Path:
    """The local path a `file:` URI names. Refused: other schemes, NUL (`%00`), encoded separators
    (`%2F`, `%5C`), and `.`/`..` segments, which no editor sends and which would climb out of a folder."""
    parsed = urlsplit(uri)
    if parsed.scheme != "file":
        raise PathRefused(f"{uri!r} is not a file URI")
    raw = parsed.path
    lowered = raw.lower()
    if "\x00" in uri or "%00" in lowered:
        raise PathRefused(f"{uri!r} contains a NUL character (%00): no file has such a name")
    if "%2f" in lowered or "%5c" in lowered or "\\" in raw:
        raise PathRefused(f"{uri!r} contains an encoded or back-slash path separator: a file URI separates "
                          "folders with '/' only")
    text = unquote(raw)
    if any(segment in (".", "..") for segment in text.split("/")):
        raise PathRefused(f"{uri!r} contains '.' or '..' segments: give the file's own path")
    return Path(local_path_text(uri, text, parsed.netloc, windows=os.name == "nt"))


def local_path_text(uri: str, text: str, host: str, windows: bool) -> str:
    """The path of a file URI's decoded path and host, as the platform writes it. On Windows a drive letter
    comes first (`file:///c%3A/x` and `file:///C:/x` -> `C:/x`) and a host is a UNC share
    (`file://server/share/x` -> `//server/share/x`); elsewhere a host other than this one is refused."""
    if windows:
        if re.match(r"/[A-Za-z]:", text):
            return text[1].upper() + text[2:]
        if host and host != "localhost":
            return f"//{host}{text}"
        return text
    if host not in ("", "localhost"):
        raise PathRefused(f"{uri!r} names a file on another host ({host})")
    return text


def split_store_path(path: Path) -> tuple[Path, str]:
    """(workspace root, stream name) of a file inside some `.astra/` folder (the innermost one)."""
    absolute = normalised(path)
    for parent in absolute.parents:
        if parent.name == ASTRA_DIR:
            relative = absolute.relative_to(parent).as_posix()
            return parent.parent, relative.removesuffix(".jsonl")
    raise PathRefused(f"{path} is not inside a .astra/ folder")


def within(path: Path, folder: Path) -> bool:
    """Whether `path` lies in `folder`, links followed on both sides."""
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))
