"""`astra-ls check`: which files a path means, and their problems, exactly as the server reports them."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from astra_ls.config import ConfigProblem, load_config
from astra_ls.core.analysis import BaseAnalysis, ReadRange
from astra_ls.core.problems import Problem
from astra_ls.store.check_scan import check_scan, file_reader
from astra_ls.store.discovery import Skipped, discover, judge_file, list_astra
from astra_ls.store.file_store import FileEventStore
from astra_ls.store.follow import FollowedFile
from astra_ls.store.index_cache import IndexCache
from astra_ls.store.paths import ASTRA_DIR, PathRefused, astra_dir, split_store_path


@dataclass(frozen=True, slots=True)
class FileReport:
    path: Path
    events: int
    problems: list[Problem]
    config: list[ConfigProblem] = field(default_factory=list)  # of the configuration it was checked with


def expand(paths: list[Path]) -> tuple[list[Path], list[Skipped]]:
    """The stores the paths mean, as the language server finds them: a directory means every `.astra/`
    in it and below (or itself, when it is one); a file is itself. Entries that are not stores (a FIFO,
    a folder or a link named `*.jsonl`, an unusable name) come back as skipped, with the reason."""
    files: list[Path] = []
    skipped: list[Skipped] = []
    for path in paths:
        if path.is_dir():
            if path.name == ASTRA_DIR:
                astra_dir(path.parent)  # a `.astra` that links out of its folder is refused
                streams, passed = list_astra(path)
                files.extend(path / f"{stream}.jsonl" for stream in streams)
            else:
                astra_dir(path)
                found = discover(path)
                files.extend(store.path for store in found.stores)
                passed = found.skipped
            skipped.extend(passed)
        elif path.exists() or path.is_symlink():
            reason = judge_file(path)
            if reason is None:
                files.append(path)
            else:
                skipped.append(Skipped(path, reason))
        else:
            raise FileNotFoundError(f"{path}: no such file or directory")
    return files, skipped


def check_file(path: Path, trusted: bool, progress: Callable[[int, int], None] | None,
               cache: IndexCache | None = None) -> FileReport:
    """The file's problems as the server reports them. Without the index cache, nothing is kept for
    later: the analysis is a lean one (`check_scan`)."""
    try:
        root, name = split_store_path(path)
    except PathRefused:  # a file outside any `.astra/`: checked with the defaults its name implies
        root, name = path.absolute().parent, path.stem
        store = FileEventStore(root, config=load_config(root), trusted=trusted)
        file = path
    else:
        store = FileEventStore(root, trusted=trusted)
        file = store.path_of(name)  # confined to the `.astra/` folder, as the server reads it
    setup = store.setup(name)
    analysis: BaseAnalysis | None
    read: ReadRange
    if cache is None:
        analysis, read = check_scan(file, setup.rules, progress), file_reader(file)
    else:
        followed = FollowedFile(file, setup.rules, cache)
        followed.on_progress = progress
        followed.refresh()
        analysis, read = followed.analysis, followed.read
    if analysis is None:
        raise FileNotFoundError(f"{path}: no such file or directory")
    problems = store.analyses.problems_of(name, analysis, analysis.problems(read), read)
    return FileReport(path, analysis.event_count(), problems, store.analyses.config_problems())


def config_problems(reports: list[FileReport]) -> list[ConfigProblem]:
    """The configuration problems of every checked store, each once."""
    seen: dict[tuple[str, int, int, str], ConfigProblem] = {}
    for report in reports:
        for found in report.config:
            p = found.problem
            seen.setdefault((str(found.file), p.line, p.start, p.message), found)
    return list(seen.values())


class ProgressBar:
    """A one-line bar on stderr, only when stderr is a terminal."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total < (16 << 20):
            return
        width = 30
        filled = int(width * done / max(total, 1))
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
                         f"{done / 1e6:,.0f}/{total / 1e6:,.0f} MB")
        if done >= total:
            sys.stderr.write("\r" + " " * (len(self.label) + width + 30) + "\r")
        sys.stderr.flush()
