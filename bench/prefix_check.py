"""What proving the analysed bytes unchanged costs a followed store (issue 13.3), on a copy of a log.

    python bench/prefix_check.py bench/data/logs/conversation-1000000.jsonl

Prints one JSON line: the file's size, a full scan by the follower (what a change to analysed bytes
costs), the complete hash of those bytes read back (what every other program's change costs before its
tail is read), and a refresh after one event appended by another program (median of 5, each >= 60 ms
after the last, so the stamp is trusted).
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from astra_ls.store.file_store import FileEventStore
from astra_ls.store.prefix_hash import hash_file

EVENT = b'{"id":"bench-%d","type":"UserMessageSent","timestamp":1900000000000,"content":"x"}\n'


def main(log: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        workspace = Path(folder)
        path = workspace / ".astra" / "conversation.jsonl"
        path.parent.mkdir()
        shutil.copyfile(log, path)
        store = FileEventStore(workspace)
        started = time.perf_counter()
        store.refresh("conversation")
        scan = time.perf_counter() - started
        with path.open("rb", buffering=0) as handle:
            started = time.perf_counter()
            hash_file(handle, path.stat().st_size)
            hashed = time.perf_counter() - started
        refreshes = []
        for n in range(5):
            time.sleep(0.1)
            with path.open("ab") as handle:  # another program's append: no lock
                handle.write(EVENT % n)
            started = time.perf_counter()
            store.refresh("conversation")
            refreshes.append(time.perf_counter() - started)
        return {"megabytes": round(path.stat().st_size / 1e6, 1), "fullScanS": round(scan, 2),
                "prefixHashMs": round(hashed * 1000, 1),
                "refreshAfterAppendMs": round(statistics.median(refreshes) * 1000, 1)}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
