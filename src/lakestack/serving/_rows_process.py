"""The inference table's rows built in a child process, off the serving process's GIL.

Every round, the inference log's writer turns the spooled JSON lines into an Arrow table
(`inference_rows`: about 20 us of Python per record). In the serving process that work held
the GIL the event loop needs, in one piece per round, and requests waited behind it
(benchmarks/serving.md, "The log writer in a child process"). `RowsProcess` hands the lines
to a child process that runs `main` below (the same Python, the same lakestack) and reads the
table back as an Arrow IPC stream; meanwhile the writer thread waits in system calls, which
let go of the GIL.

The child is stateless: it converts, and writes nowhere else (not Delta, not the spool), so the
log's exactly-once rules do not depend on it. It exits at EOF on its stdin, which the kernel
brings when the serving process dies (`kill -9` too), or once its parent is gone. A child
that dies or does not answer within `timeout_s` is killed, that batch is converted in the
writer thread, and another child starts; after `_GIVE_UP` failures in a row the log converts
in its thread for good.

Frames: a request is 16 bytes (the lengths of its header and body, little-endian), the header
(JSON: the endpoint and the typed columns' type names) and the body (the records as one JSON
array). An answer is 9 bytes (the length of its payload, and what it is) and the payload:
`T` an Arrow IPC stream, `V` the message of the `ValueError` the data raised, `E` an error of
another kind (the writer then converts the batch itself, to raise that very exception).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from lakestack.serving._inference_rows import inference_rows
from lakestack.serving._types import CONTEXT_TYPES, MLFLOW_TYPES, ValueType

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["RowsProcess", "convert"]

log = logging.getLogger("lakestack.serving")

_REQUEST = struct.Struct("<QQ")
_ANSWER = struct.Struct("<Qc")
_TYPES = {kind.name: kind for kind in (*MLFLOW_TYPES.values(), *CONTEXT_TYPES.values())}
_GIVE_UP = 3
_CHILD = "from lakestack.serving._rows_process import main; main()"


def convert(document: bytes | bytearray, endpoint: str, types: Mapping[str, ValueType]) -> pa.Table:
    """The inference table's rows of spooled records joined as one JSON array.

    Raises:
        ValueError: a record that is not JSON, or whose data does not fit (`inference_rows`).
    """
    try:
        records = orjson.loads(document)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"a spooled record is not JSON: {exc}") from None
    return inference_rows(records, endpoint, types)


class RowsProcess:
    """Converts spooled records to the inference table's rows in a child process.

    Args:
        endpoint: the endpoint's name (a column of every row).
        timeout_s: the longest wait for one answer before the child is replaced.

    Attributes:
        failures: the child's deaths and timeouts so far (each batch then converted here).
    """

    def __init__(self, endpoint: str, *, timeout_s: float = 60.0) -> None:
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        self.failures = 0
        self._failed_in_a_row = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        """The child's process id (None: none runs)."""
        return None if self._process is None else self._process.pid

    def start(self) -> None:
        """Start the child (it imports while the endpoint gets ready); a child that cannot
        start is reported, and the rows are then built in this process."""
        with self._lock:
            self._spawn()

    def rows(self, lines: list[bytes], types: Mapping[str, ValueType]) -> pa.Table:
        """The inference table's rows of spooled lines, built by the child.

        Args:
            types: the columns logged typed, by name.

        Raises:
            ValueError: the data does not fit, with the message `convert` gives.
        """
        document = b"[" + b",".join(lines) + b"]"
        if any(_TYPES.get(kind.name) is not kind for kind in types.values()):
            return convert(document, self.endpoint, types)  # a type the child cannot name
        names = {name: kind.name for name, kind in types.items()}
        header = orjson.dumps({"endpoint": self.endpoint, "types": names})
        with self._lock:
            answer = self._call(header, document)
        if answer is None:
            return convert(document, self.endpoint, types)
        kind, payload = answer
        if kind == b"T":
            import pyarrow as pa

            return pa.ipc.open_stream(pa.py_buffer(payload)).read_all()
        if kind == b"V":
            raise ValueError(payload.decode())
        return convert(document, self.endpoint, types)  # raises what the child met

    def close(self) -> None:
        """Stop the child: EOF on its stdin, then SIGKILL if it lingers."""
        with self._lock:
            self._stop(wait_s=10.0)

    def _spawn(self) -> None:
        if self._failed_in_a_row >= _GIVE_UP:
            return
        # the same lakestack as this process, wherever it was imported from
        paths = [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths))}
        command = [sys.executable, "-c", _CHILD, str(os.getpid())]
        try:
            self._process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0, env=env
            )
        except OSError as exc:
            self._failed(f"could not be started: {exc}")
            return
        assert self._process.stdin is not None
        os.set_blocking(self._process.stdin.fileno(), False)

    def _call(self, header: bytes, document: bytes) -> tuple[bytes, bytearray] | None:
        """Send one request and read its answer; None when the child failed (or there is
        none)."""
        if self._process is not None and self._process.poll() is not None:
            self._failed(f"exited with {self._process.returncode}")
        if self._process is None:
            self._spawn()
        process = self._process
        if process is None:
            return None
        assert process.stdin is not None and process.stdout is not None
        deadline = time.monotonic() + self.timeout_s
        try:
            request = _REQUEST.pack(len(header), len(document))
            _send(process.stdin.fileno(), request + header + document, deadline)
            answer = process.stdout.fileno()
            size, kind = _ANSWER.unpack(_receive(answer, _ANSWER.size, deadline=deadline))
            payload = _receive(answer, size, deadline=deadline)
        except (OSError, EOFError, TimeoutError) as exc:
            self._failed(f"failed ({type(exc).__name__}: {exc})")
            self._spawn()  # now: its imports run before the next batch comes
            return None
        self._failed_in_a_row = 0
        return kind, payload

    def _failed(self, what: str) -> None:
        """Count a failure of the child and stop it."""
        self.failures += 1
        self._failed_in_a_row += 1
        self._stop(wait_s=0.0)
        then = (
            "the rows are built in the writer thread from now on"
            if self._failed_in_a_row >= _GIVE_UP
            else "this batch's rows are built in the writer thread, and another child starts"
        )
        log.warning("the inference log's rows process %s: %s", what, then)

    def _stop(self, *, wait_s: float) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None and process.stdout is not None
        process.stdin.close()
        try:
            process.wait(wait_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


def _send(fd: int, data: bytes, deadline: float) -> None:
    view = memoryview(data)
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    while view:
        if not poller.poll(_remaining_ms(deadline)):
            raise TimeoutError("no room to write within the time allowed")
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            continue


def _receive(
    fd: int, size: int, *, deadline: float | None = None, parent: int | None = None
) -> bytearray:
    """Exactly `size` bytes of `fd`.

    Raises:
        EOFError: the pipe ended first, or `parent` is no longer this process's parent.
        TimeoutError: `deadline` (a `time.monotonic()`) passed first.
    """
    buffer = bytearray(size)
    view = memoryview(buffer)
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    done = 0
    while done < size:
        if not poller.poll(1000 if deadline is None else _remaining_ms(deadline)):
            if deadline is not None:
                raise TimeoutError("no answer within the time allowed")
            if parent is not None and os.getppid() != parent:
                raise EOFError("the parent is gone")
            continue
        count = os.readv(fd, [view[done:]])
        if not count:
            raise EOFError("the pipe was closed")
        done += count
    return buffer


def _remaining_ms(deadline: float) -> int:
    return max(0, int((deadline - time.monotonic()) * 1000))


# -- the child ----------------------------------------------------------------------------------


def _answer(out: int, kind: bytes, payload: Any) -> None:
    view = memoryview(payload)
    data = memoryview(_ANSWER.pack(view.nbytes, kind))
    for part in (data, view.cast("B")):
        while part:
            part = part[os.write(out, part) :]


def _serve(source: int, out: int, parent: int) -> None:
    """Answer requests until EOF, or until `parent` is gone."""
    import pyarrow as pa

    while True:
        try:
            sizes = _receive(source, _REQUEST.size, parent=parent)
            header_size, body_size = _REQUEST.unpack(sizes)
            header = orjson.loads(_receive(source, header_size, parent=parent))
            document = _receive(source, body_size, parent=parent)
        except EOFError:
            return
        types = {name: _TYPES[kind] for name, kind in header["types"].items()}
        try:
            table = convert(document, header["endpoint"], types)
        except ValueError as exc:
            _answer(out, b"V", str(exc).encode())
            continue
        except Exception as exc:  # the writer converts this batch itself and raises it
            _answer(out, b"E", f"{type(exc).__name__}: {exc}".encode())
            continue
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        _answer(out, b"T", sink.getvalue())


def main() -> None:
    """The child (its argument: the serving process's id): requests on stdin, answers on
    stdout; stray prints go to stderr."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the serving process's to handle
    out = os.dup(1)
    os.dup2(2, 1)
    with contextlib.suppress(BrokenPipeError):  # the parent is gone
        _serve(0, out, int(sys.argv[1]))
