"""One alias move at a time per model: a PostgreSQL advisory lock, else a file lock.

With a PostgreSQL tracking store the lock lives in the same database as the registry, so it
serialises promotions from every machine that uses it; with SQLite (one machine) an exclusive
`flock` on a file next to the database does.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import re
import time
from collections.abc import Iterator
from pathlib import Path

from lakestack.errors import RegistryError

__all__ = ["model_lock"]


def _key(model: str) -> int:
    digest = hashlib.sha256(f"lakestack.model:{model}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _libpq(uri: str) -> str:
    """`postgresql+psycopg://u:p@h/db` (SQLAlchemy) -> `postgresql://u:p@h/db` (libpq)."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", uri)


@contextlib.contextmanager
def model_lock(
    tracking_uri: str, lock_dir: Path, model: str, *, timeout: float = 600.0
) -> Iterator[None]:
    """Hold the lock of `model` in this registry for the duration of the block.

    Raises:
        RegistryError: the lock was not acquired within `timeout` seconds.
    """
    if tracking_uri.startswith("postgresql"):
        with _advisory_lock(_libpq(tracking_uri), model, timeout):
            yield
        return
    lock_dir.mkdir(parents=True, exist_ok=True)
    path = lock_dir / f"model-{hashlib.sha256(model.encode()).hexdigest()[:16]}.lock"
    with path.open("a+") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RegistryError(
                        f"another process has held the promotion lock of model {model!r} for "
                        f"over {timeout:.0f} s ({path}); retry when it is done"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _advisory_lock(dsn: str, model: str, timeout: float) -> Iterator[None]:
    import psycopg

    try:
        conn = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise RegistryError(f"cannot connect to PostgreSQL to lock model {model!r}: {exc}") from exc
    with conn:
        conn.execute(f"SET lock_timeout = '{int(timeout * 1000)}ms'")
        try:
            conn.execute("SELECT pg_advisory_lock(%s)", (_key(model),))
        except psycopg.errors.LockNotAvailable:
            raise RegistryError(
                f"another process has held the promotion lock of model {model!r} for over "
                f"{timeout:.0f} s; retry when it is done"
            ) from None
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_key(model),))
