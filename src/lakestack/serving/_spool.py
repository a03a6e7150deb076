"""An append-only local spool of inference records: durable before a response is sent.

Each serving process owns one spool folder, held with an exclusive `flock` for its lifetime
(the kernel releases it when the process dies, even on `kill -9`). A folder holds segment files
of JSON lines and a `committed` checkpoint (segment and byte offset) of what is in Delta. A
folder whose lock nobody holds belongs to a dead process: its records after the checkpoint are
replayed, then the folder is removed.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["Spool", "lines_after_checkpoint", "orphans"]

_SEGMENT = "segment-{:06d}.jsonl"


class Spool:
    """This process's spool folder.

    Args:
        root: the endpoint's spool root (one sub-folder per serving process).
        segment_bytes: start a new segment file past this size.
        fsync: `fsync` every record (survives power loss; a written record already survives
            the process being killed).
    """

    def __init__(self, root: Path, *, segment_bytes: int = 64 << 20, fsync: bool = False) -> None:
        root.mkdir(parents=True, exist_ok=True)
        name = uuid.uuid4().hex
        staging = root / f".new-{name}"
        staging.mkdir()
        self._lock_fd = os.open(staging / "lock", os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # renamed only once locked, so that no other process mistakes it for an orphan
        self.path = root / name
        staging.rename(self.path)
        self.segment_bytes = segment_bytes
        self.fsync = fsync
        self._lock = threading.Lock()
        self._segment = 1
        self._fd = self._open(self._segment)
        self._size = 0

    def _open(self, segment: int) -> int:
        return os.open(
            self.path / _SEGMENT.format(segment), os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644
        )

    def write_line(self, line: bytes) -> tuple[int, int]:
        """Append one serialized record ending in a newline; its (segment, end offset)."""
        with self._lock:
            if self._size and self._size + len(line) > self.segment_bytes:
                os.close(self._fd)
                self._segment += 1
                self._fd = self._open(self._segment)
                self._size = 0
            os.write(self._fd, line)
            if self.fsync:
                os.fsync(self._fd)
            self._size += len(line)
            return self._segment, self._size

    def commit(self, segment: int, offset: int) -> None:
        """Record that everything up to (segment, offset) is in Delta; drop older segments."""
        tmp = self.path / "committed.tmp"
        tmp.write_text(f"{segment} {offset}", encoding="ascii")
        os.replace(tmp, self.path / "committed")
        for old in range(segment - 1, 0, -1):
            file = self.path / _SEGMENT.format(old)
            if not file.exists():
                break
            file.unlink()

    def close(self, *, remove: bool = False) -> None:
        """Close the spool; `remove` deletes it (everything was committed)."""
        with self._lock:
            os.close(self._fd)
            if remove:
                shutil.rmtree(self.path, ignore_errors=True)
            os.close(self._lock_fd)


def orphans(root: Path) -> Iterator[tuple[Path, int]]:
    """Spool folders of dead processes, each yielded locked (the lock fd is the second item).

    The caller replays the folder, removes it, then closes the fd.
    """
    if not root.is_dir():
        return
    for folder in sorted(root.iterdir()):
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        try:
            fd = os.open(folder / "lock", os.O_CREAT | os.O_RDWR, 0o644)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)  # a live process holds it
            continue
        if not folder.exists():  # replayed and removed by another process meanwhile
            os.close(fd)
            continue
        yield folder, fd


def lines_after_checkpoint(folder: Path) -> list[bytes]:
    """The records of a spool folder after its `committed` checkpoint, as spooled lines.

    A torn last line (the machine died inside `write`, so no newline ends it) was never
    acknowledged and is skipped; every complete line is kept, even one that does not parse,
    so that the replay can set it aside intact.
    """
    segment, offset = 0, 0
    checkpoint = folder / "committed"
    if checkpoint.is_file():
        first, second = checkpoint.read_text(encoding="ascii").split()
        segment, offset = int(first), int(second)
    lines = []
    for file in sorted(folder.glob("segment-*.jsonl")):
        number = int(file.stem.split("-")[1])
        if number < segment:
            continue
        data = file.read_bytes()
        if number == segment:
            data = data[offset:]
        complete, _, _torn = data.rpartition(b"\n")
        lines += [line + b"\n" for line in complete.split(b"\n") if line.strip()]
    return lines
