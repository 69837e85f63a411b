"""The portable file operations (`store/fileio.py`, `store/locking.py`): each POSIX-only call's portable
path beside it, taken here by removing the POSIX call, and the portable test mode reaching the
processes the tests start."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from astra_ls.store import fileio, locking
from astra_ls.store.paths import PathRefused
from astra_ls.store.results import StoreError

PORTABLE = os.environ.get("ASTRA_PORTABLE_TEST") == "1"
POSIX_ONLY = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs and symbolic links")


@pytest.fixture(params=["native", "portable"])
def paths(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test twice: with the system's calls, and with O_NOFOLLOW, O_NONBLOCK and pread taken away."""
    if request.param == "portable":
        monkeypatch.setattr(fileio, "NO_FOLLOW", 0)
        monkeypatch.setattr(fileio, "NON_BLOCK", 0)
        monkeypatch.setattr(fileio, "_PREAD", None)
    return str(request.param)


def test_positioned_reads(tmp_path: Path, paths: str) -> None:
    target = tmp_path / "f"
    target.write_bytes(bytes(range(256)) * 100)
    fd = fileio.open_file(target, os.O_RDONLY)
    try:
        assert fileio.pread(fd, 10, 300) == bytes(range(44, 54))
        assert fileio.pread(fd, 100, 25_550) == bytes(range(206, 256))  # short only at the end
        assert fileio.pread(fd, 5, 99_999) == b""
        results: list[bool] = []

        def reader(offset: int) -> None:
            results.extend(fileio.pread(fd, 256, offset) == bytes(range(256)) for _ in range(200))

        threads = [threading.Thread(target=reader, args=(256 * n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert all(results) and len(results) == 1600  # seek+read pairs never interleave
    finally:
        os.close(fd)


@POSIX_ONLY
def test_links_refused_when_not_following(tmp_path: Path, paths: str) -> None:
    outside = tmp_path / "outside"
    outside.write_bytes(b"precious")
    link = tmp_path / "link"
    link.symlink_to(outside)
    with pytest.raises(PathRefused, match="symbolic link"):
        fileio.open_file(link, os.O_WRONLY | os.O_APPEND | os.O_CREAT, follow=False)
    assert outside.read_bytes() == b"precious"
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "would-be-created")
    with pytest.raises(PathRefused):
        fileio.open_file(dangling, os.O_WRONLY | os.O_CREAT, follow=False)
    assert not (tmp_path / "would-be-created").exists()


@POSIX_ONLY
def test_fifo_refused_without_blocking(tmp_path: Path, paths: str) -> None:
    fifo = tmp_path / "x.jsonl"
    os.mkfifo(fifo)
    for follow in (True, False):
        with pytest.raises(StoreError, match="FIFO") as refused:
            fileio.open_file(fifo, os.O_RDONLY, follow=follow)
        assert refused.value.refused.code == "NOT_A_FILE"


def test_directory_refused(tmp_path: Path, paths: str) -> None:
    with pytest.raises((StoreError, IsADirectoryError, PermissionError)):
        fileio.open_file(tmp_path, os.O_RDONLY)


@POSIX_ONLY
def test_exclusive_temp_never_opens_a_planted_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   paths: str) -> None:
    outside = tmp_path / "outside"
    outside.write_bytes(b"precious")
    names = iter(["planted", "planted", "fresh"])
    monkeypatch.setattr(fileio.secrets, "token_hex", lambda n: next(names))
    (tmp_path / ".s.planted.tmp").symlink_to(outside)
    fd, temp = fileio.create_exclusive(tmp_path, ".s.", ".tmp")
    os.close(fd)
    assert temp.name == ".s.fresh.tmp" and outside.read_bytes() == b"precious"


def test_replace_retries_while_the_target_is_held_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows answers PermissionError while another process holds the target open: retried, then a
    message that says what to do."""
    source, target = tmp_path / "new", tmp_path / "old"
    source.write_bytes(b"new")
    target.write_bytes(b"old")
    real = os.replace
    refusals = iter([PermissionError(13, "held"), PermissionError(13, "held")])

    def held_twice(a: os.PathLike[str], b: os.PathLike[str]) -> None:
        error = next(refusals, None)
        if error:
            raise error
        real(a, b)

    monkeypatch.setattr(fileio.os, "replace", held_twice)
    fileio.replace(source, target)
    assert target.read_bytes() == b"new"

    def always_held(a: os.PathLike[str], b: os.PathLike[str]) -> None:
        raise PermissionError(13, "held")

    monkeypatch.setattr(fileio.os, "replace", always_held)
    started = time.monotonic()
    with pytest.raises(PermissionError, match="another program keeps it open"):
        fileio.replace(target, source, retry_s=0.2)
    assert 0.2 <= time.monotonic() - started < 2


def test_directory_fsync_is_skipped_where_folders_cannot_be_opened(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def no_folders(path: object, flags: int, mode: int = 0o777) -> int:
        raise PermissionError(13, "Windows cannot open a folder")

    monkeypatch.setattr(fileio.os, "open", no_folders)
    fileio.fsync_dir(tmp_path)  # no error


def test_lock_excludes_other_processes(tmp_path: Path) -> None:
    """The stream lock (flock, or msvcrt.locking in the portable mode) excludes another process."""
    store = tmp_path / ".astra" / "s.jsonl"
    store.parent.mkdir()
    holder = ("import sys, time; from pathlib import Path; from astra_ls.store.locking import stream_lock\n"
              "with stream_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(1.0)\n")
    process = subprocess.Popen([sys.executable, "-c", holder, str(store)], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline() == "held\n"
        started = time.monotonic()
        with locking.stream_lock(store):
            waited = time.monotonic() - started
    finally:
        process.wait(timeout=30)
    assert waited > 0.3


@pytest.mark.skipif(not PORTABLE, reason="only in the portable test mode (ASTRA_PORTABLE_TEST=1)")
def test_portable_mode_reaches_child_processes() -> None:
    """The CLIs and servers the tests start take the Windows paths too."""
    probe = ("import os, multiprocessing; from astra_ls.store import fileio, locking\n"
             "print(hasattr(os, 'fork'), hasattr(os, 'pread'), fileio.NO_FOLLOW, locking._FCNTL is None,\n"
             "      locking._MSVCRT is not None, multiprocessing.get_start_method())")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False", "0", "True", "True", "spawn"]
