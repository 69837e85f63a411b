"""Confinement: every store path resolves inside the workspace's `.astra/` folder, or is refused."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlparse

ASTRA_DIR = ".astra"
STREAM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


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
    bare = name.removesuffix(".jsonl")
    if "/" in bare or "\\" in bare or "%" in bare or ".." in bare:
        raise PathRefused(f"stream name {name!r} contains a path separator, '..' or an encoded character: "
                          "a stream is a plain file name inside .astra/")
    if not STREAM_NAME.fullmatch(bare):
        raise PathRefused(f"stream name {name!r} is not a plain name (letters, digits, '.', '_', '-')")
    return bare


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


def path_from_uri(uri: str) -> Path:
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        raise PathRefused(f"{uri!r} is not a file URI")
    return Path(unquote(parsed.path))


def split_store_path(path: Path) -> tuple[Path, str]:
    """(workspace root, stream name) of a file inside some `.astra/` folder."""
    absolute = path.absolute()
    for parent in absolute.parents:
        if parent.name == ASTRA_DIR:
            relative = absolute.relative_to(parent).as_posix()
            return parent.parent, relative.removesuffix(".jsonl")
    raise PathRefused(f"{path} is not inside a .astra/ folder")
