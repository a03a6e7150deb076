"""Time windows: `1h`, `1d`, ... aligned on the Unix epoch (UTC), and which ones are complete."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lakestack.errors import MonitoringError

__all__ = ["Window", "complete_windows", "parse_window"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_window(text: str) -> timedelta:
    """`1h` -> one hour. Units: s, m, h, d, w.

    Raises:
        MonitoringError: not of the form `<n><unit>`.
    """
    match = re.fullmatch(r"([1-9][0-9]*)([smhdw])", text.strip())
    if not match:
        raise MonitoringError(f"window {text!r} is not `<n>s|m|h|d|w`, e.g. `1h` or `1d`")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


@dataclass(frozen=True, order=True)
class Window:
    """A half-open time window `[start, end)`, in UTC."""

    start: datetime
    end: datetime

    def label(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M}"


def floor(moment: datetime, length: timedelta) -> datetime:
    """The start of the window holding `moment`."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    seconds = int(length.total_seconds())
    offset = int((moment - _EPOCH).total_seconds()) // seconds * seconds
    return _EPOCH + timedelta(seconds=offset)


def complete_windows(
    first: datetime, last: datetime, length: timedelta, now: datetime, after: datetime | None
) -> list[Window]:
    """The complete windows (end <= now) from the one holding `first` to the one holding `last`.

    Args:
        first: the earliest time in the data.
        last: the latest time in the data.
        length: the window length.
        now: windows ending after this are still open.
        after: only windows starting at or after this (the end of the last processed window).
    """
    start = floor(first, length)
    if after is not None and after > start:
        start = after
    windows = []
    while start + length <= now and start <= last:
        windows.append(Window(start, start + length))
        start += length
    return windows
