"""Which files are stores: the one walk the CLI's `check DIR`, the server's discovery and listings share.

A store is a regular file `<root>/.astra/[sub/]<name>.jsonl` whose name parts are plain file names
(`store.paths.check_stream_name`). Every entry is judged on its own: a directory, FIFO, socket, device or
symbolic link named `*.jsonl`, or a name astra-ls cannot use, is reported as skipped with the reason and
never opened. Links are never followed while walking, so no walk leaves the folder it started in. The
walk is iterative: no folder depth can exhaust a stack.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from astra_ls.store.paths import ASTRA_DIR, PathRefused, check_stream_name

SKIPPED_DIRS = ("quarantine", "archive", ".locks")  # astra-ls's own folders inside `.astra/`
PRUNED_DIRS = ("node_modules",)  # never holds a workspace's stores; can be huge


@dataclass(frozen=True, slots=True)
class Found:
    """A store file: `root/.astra/<stream>.jsonl`, and the name the workspace folder gives it."""

    root: Path
    stream: str
    path: Path
    name: str


@dataclass(frozen=True, slots=True)
class Skipped:
    """An entry that looks like a store but is not one, and why."""

    path: Path
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"path": str(self.path), "reason": self.reason}


@dataclass
class Discovery:
    stores: list[Found]
    skipped: list[Skipped]


def workspace_name(top: Path, root: Path, stream: str) -> str:
    """The name a workspace folder gives a store: `stream` for its own `.astra/`, and
    `<sub/folder>/.astra/<stream>` for a `.astra/` nested deeper (what `store_ref` reads back)."""
    if root == top:
        return stream
    return f"{root.relative_to(top).as_posix()}/{ASTRA_DIR}/{stream}"


def split_workspace_name(name: str) -> tuple[str, str] | None:
    """(sub-folder, stream) of a nested store's name `pkg/a/.astra/x[.jsonl]`; None for anything else
    (a plain name, a path, a URI: every part must be a plain file name)."""
    head, sep, stream = name.rpartition(f"/{ASTRA_DIR}/")
    if not sep or not head or not stream or any(_bad_name(part) for part in head.split("/")):
        return None
    return head, stream.removesuffix(".jsonl")


def discover(top: Path) -> Discovery:
    """Every store under `top` (paths as `top` is written): the `.astra/` folders in it and below (hidden
    folders and node_modules pruned, links not followed), each listed with `list_astra`."""
    result = Discovery([], [])
    pending = [top]
    while pending:
        folder = pending.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as error:
            if folder != top:
                result.skipped.append(Skipped(Path(folder), f"cannot be read: {error.strerror or error}"))
            continue
        subfolders = []
        for entry in entries:
            if entry.name == ASTRA_DIR:
                _add_astra(top, Path(folder), entry, result)
            elif entry.name.startswith(".") or entry.name in PRUNED_DIRS:
                continue
            elif entry.is_dir(follow_symlinks=False):
                subfolders.append(Path(entry.path))
        pending.extend(reversed(subfolders))
    result.stores.sort(key=lambda f: (f.root != top, f.name))
    return result


def _add_astra(top: Path, root: Path, entry: os.DirEntry[str], result: Discovery) -> None:
    if entry.is_symlink():
        target = os.path.realpath(entry.path)
        if not Path(target).is_relative_to(os.path.realpath(top)):
            result.skipped.append(Skipped(Path(entry.path), f"is a link to {target}, outside the workspace"))
            return
    if not entry.is_dir():
        return
    streams, skipped = list_astra(Path(entry.path))
    result.skipped.extend(skipped)
    result.stores.extend(Found(root, s, Path(entry.path) / f"{s}.jsonl", workspace_name(top, root, s))
                         for s in streams)


def list_astra(folder: Path) -> tuple[list[str], list[Skipped]]:
    """The stream names in one `.astra/` folder (sub-folders give `sub/name`), sorted, and what was
    skipped. astra-ls's own folders (quarantine, archive, .locks) and hidden entries are not looked at."""
    streams: list[str] = []
    skipped: list[Skipped] = []
    pending: list[tuple[Path, str]] = [(folder, "")]
    while pending:
        current, prefix = pending.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError as error:
            skipped.append(Skipped(current, f"cannot be read: {error.strerror or error}"))
            continue
        for entry in entries:
            name = entry.name
            if name.startswith(".") or (not prefix and name in SKIPPED_DIRS):
                continue
            reason = _not_a_store(entry)
            if name.endswith(".jsonl"):
                if reason == "a folder":
                    reason = "a folder, not a regular file"
                if reason is None:
                    reason = _bad_name(name)
                if reason is None:
                    streams.append(prefix + name.removesuffix(".jsonl"))
                else:
                    skipped.append(Skipped(Path(entry.path), reason))
            elif reason == "a folder":
                if _bad_name(name) is None:
                    pending.append((Path(entry.path), f"{prefix}{name}/"))
                else:
                    skipped.append(Skipped(Path(entry.path), f"a folder: {_bad_name(name)}"))
            elif reason is not None and reason.startswith("a symbolic link") and _is_dir(entry):
                skipped.append(Skipped(Path(entry.path), "a symbolic link to a folder: not followed"))
    streams.sort()
    return streams, skipped


def _not_a_store(entry: os.DirEntry[str]) -> str | None:
    """None for a regular file; else what the entry is."""
    try:
        mode = entry.stat(follow_symlinks=False).st_mode
    except OSError as error:
        return f"cannot be read: {error.strerror or error}"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return f"a symbolic link (to {os.readlink(entry.path)}): only regular files are stores"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe), not a regular file: not read"
    if stat.S_ISSOCK(mode):
        return "a socket, not a regular file: not read"
    return "a device or other special file, not a regular file: not read"


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _bad_name(name: str) -> str | None:
    try:
        check_stream_name(name)
    except PathRefused as error:
        return str(error)
    return None


def judge_file(path: Path) -> str | None:
    """Why a file named on the command line cannot be checked as a store (None when it can)."""
    try:
        mode = os.lstat(path).st_mode
    except OSError as error:
        return f"cannot be read: {error.strerror or error}"
    if stat.S_ISLNK(mode):
        try:
            mode = os.stat(path).st_mode
        except OSError as error:
            return f"a symbolic link that cannot be followed: {error.strerror or error}"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe), not a regular file: not read"
    return "not a regular file: not read"


def matching(found: Iterable[Found], top: Path, globs: tuple[str, ...]) -> list[Found]:
    """The stores whose path relative to `top` matches one of the (VS Code style) globs."""
    patterns = [_glob_regex(g) for g in globs]
    return [f for f in found if any(p.fullmatch(f.path.relative_to(top).as_posix()) for p in patterns)]


@lru_cache(maxsize=32)
def _glob_regex(glob: str) -> re.Pattern[str]:
    """`**` any number of folders, `*` and `?` within one, `{a,b}` alternatives."""
    out, index = [], 0
    while index < len(glob):
        char = glob[index]
        if glob.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
            continue
        if glob.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "{" and "}" in glob[index:]:
            end = glob.index("}", index)
            out.append("(?:" + "|".join(re.escape(a) for a in glob[index + 1:end].split(",")) + ")")
            index = end + 1
            continue
        else:
            out.append(re.escape(char))
        index += 1
    return re.compile("".join(out))
