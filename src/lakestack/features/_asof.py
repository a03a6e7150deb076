"""The point-in-time join kernel: for each label row, the index of its feature row.

For each label with keys k and time t, the matching feature row is the one with the same keys
and the greatest event time <= t (and >= t - max_age when a maximum age is given); without
event times it is the row with the same keys. Null keys and null times never match. When the
feature rows repeat a key and time, the one that comes last in the feature table wins.

How: the keys are coded as small integers (strings through a categorical, integers by offset)
and packed with the event time into one int64 per row, `key << time_bits | time`. A stable sort
of those codes puts each key's rows together in time order (equal codes in table order, so the
last row of a repeated key and time comes last), and one `searchsorted` of the (sorted) label
codes finds every label's row: two integer sorts and a binary search, no hash join and no
reordering of the labels (benchmarks/RESULTS.md compares it with DuckDB, Polars and pandas).

When the key and the time span do not fit 62 bits together (a million keys and a year of
microseconds need 65), the times are shifted right until they do: the code then orders rows
by key and time bucket. The rows sharing a bucket are put in exact time order afterwards, and
the few labels whose code equals a feature row's are settled by a binary search on exact times
within their bucket. That costs a pass over the rows rather than a sort of both sides' times.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

__all__ = ["match_rows"]

_BITS = 62
_RANGE_LIMIT = 1 << 40


def _stringy(s: pl.Series) -> bool:
    import polars as pl

    return s.dtype in (pl.String, pl.Categorical) or isinstance(s.dtype, pl.Enum)


def _codes(a: pl.Series, b: pl.Series) -> tuple[np.ndarray, np.ndarray, int]:
    """Integer codes of two compatible key columns (-1 for null) and the number of codes."""
    import numpy as np
    import polars as pl

    if _stringy(a) and _stringy(b):  # one categorical over both sides: one shared dictionary
        both = pl.concat([a.cast(pl.String).rename("k"), b.cast(pl.String).rename("k")])
        codes = both.cast(pl.Categorical).to_physical().cast(pl.Int64)
        a, b = codes.slice(0, len(a)), codes.slice(len(a))
    elif a.dtype == b.dtype and a.dtype.is_temporal():
        a, b = a.to_physical().cast(pl.Int64), b.to_physical().cast(pl.Int64)
    else:  # integers and booleans of any width
        a, b = a.cast(pl.Int64), b.cast(pl.Int64)
    ends = [v for v in (a.min(), b.min(), a.max(), b.max()) if isinstance(v, int)]
    if not ends:
        return np.full(len(a), -1), np.full(len(b), -1), 1
    lo, hi = min(ends), max(ends)
    if hi - lo >= _RANGE_LIMIT:  # sparse values: their dense ranks over both sides
        ranked = pl.concat([a, b]).rank("dense").cast(pl.Int64)
        a, b = ranked.slice(0, len(a)), ranked.slice(len(a))
        top = ranked.max()
        lo, hi = 1, top if isinstance(top, int) else 1
    return _offset(a, lo), _offset(b, lo), int(hi - lo + 1)


def _offset(values: pl.Series, lo: int) -> np.ndarray:
    shifted = values - lo
    if shifted.null_count():
        shifted = shifted.fill_null(-1)
    return shifted.to_numpy()


def _dense(codes: np.ndarray) -> tuple[np.ndarray, int]:
    """Replace non-negative codes by their rank (keeps -1); returns the codes and their count."""
    import numpy as np

    valid = codes >= 0
    unique, inverse = np.unique(codes[valid], return_inverse=True)
    out = np.full(len(codes), -1, dtype=np.int64)
    out[valid] = inverse
    return out, max(len(unique), 1)


def _key_codes(
    label_keys: list[pl.Series], feature_keys: list[pl.Series]
) -> tuple[np.ndarray, np.ndarray, int]:
    """One code per row for several key columns; -1 where any key is null."""
    import numpy as np

    n = len(label_keys[0])
    codes: tuple[np.ndarray, np.ndarray] | None = None
    card = 1
    for a, b in zip(label_keys, feature_keys, strict=True):
        la, fb, size = _codes(a, b)
        if codes is None:
            codes, card = (la, fb), size
            continue
        if card * size >= 1 << _BITS:  # too many combinations: number those that occur
            both, card = _dense(np.concatenate(codes))
            codes = (both[:n], both[n:])
        if card * size >= 1 << _BITS:
            both, size = _dense(np.concatenate([la, fb]))
            la, fb = both[:n], both[n:]
        codes = tuple(  # type: ignore[assignment]
            np.where((acc < 0) | (col < 0), -1, acc * size + col)
            for acc, col in zip(codes, (la, fb), strict=True)
        )
        card *= size
    assert codes is not None
    return codes[0], codes[1], card


class _Times:
    """The two sides' event times as int64, and how they enter the codes.

    Attributes:
        feature, label: the exact times (0 where null).
        shift: how many low bits of `time - start` the codes drop (0: codes are exact).
        bits: how many bits the time takes in a code.
    """

    def __init__(self, feature_time: pl.Series, label_time: pl.Series) -> None:
        self.feature = _ints(feature_time)
        self.label = _ints(label_time)
        self.feature_null = _nulls(feature_time)
        self.label_null = _nulls(label_time)
        self.start = self.end = 0
        self.shift = self.bits = 0

    def fit(self, fvalid: np.ndarray, key_bits: int) -> None:
        """Choose the codes' time bits for the valid feature rows' times."""
        valid = self.feature[fvalid]
        self.start, self.end = int(valid.min()), int(valid.max())
        span_bits = max(self.end - self.start, 1).bit_length()
        self.shift = min(max(key_bits + span_bits - _BITS, 0), span_bits)
        self.bits = span_bits - self.shift

    def feature_codes(self) -> np.ndarray:
        result: np.ndarray = (self.feature - self.start) >> self.shift
        return result

    def label_codes(self) -> np.ndarray:
        import numpy as np

        result: np.ndarray = (np.minimum(self.label, self.end) - self.start) >> self.shift
        return result


def match_rows(
    label_keys: list[pl.Series],
    feature_keys: list[pl.Series],
    label_time: pl.Series | None = None,
    feature_time: pl.Series | None = None,
    max_age: int | None = None,
) -> np.ndarray:
    """The feature row of each label, or -1 where none qualifies.

    Args:
        label_keys: the labels' key columns, in the order of `feature_keys`, of compatible types.
        feature_keys: the feature table's key columns.
        label_time: the labels' times, of the same type and unit as `feature_time`.
        feature_time: the feature rows' event times (None: a plain key lookup).
        max_age: the greatest age `label time - event time` allowed, in the times' unit.

    Returns:
        An int64 array with one feature row index per label (-1: no match).
    """
    import numpy as np

    n = len(label_keys[0])
    lkey, fkey, card = _key_codes(label_keys, feature_keys)
    fvalid, lvalid = fkey >= 0, lkey >= 0
    times = None
    if feature_time is not None and label_time is not None:
        times = _Times(feature_time, label_time)
        fvalid &= ~times.feature_null
        if not fvalid.any():
            return np.full(n, -1, dtype=np.int64)
        times.fit(fvalid, (card - 1).bit_length())
        lvalid &= ~times.label_null & (times.label >= times.start)
        fcode = (fkey << times.bits) | times.feature_codes()
        lcode = (lkey << times.bits) | times.label_codes()
    else:
        fcode, lcode = fkey, lkey

    fsorted, frows = _sort_with(fcode, _valid_rows(fvalid))
    lsorted, lrows = _sort_with(lcode, _valid_rows(lvalid))
    if not len(fsorted):
        return np.full(n, -1, dtype=np.int64)
    if times is not None and times.shift:
        frows = _order_buckets(fsorted, frows, times.feature)
    pos = np.searchsorted(fsorted, lsorted, side="right") - 1  # sorted queries: cache-friendly
    found = pos >= 0
    pos[~found] = 0
    if times is not None and times.shift:
        late, before = _settle_buckets(fsorted, frows, lsorted, times, lrows, pos, found)
        pos[late] = np.maximum(before, 0)
        found[late] = before >= 0
    bits = 0 if times is None else times.bits
    found &= (fsorted[pos] >> bits) == (lsorted >> bits)
    matched = np.where(found, frows[pos], -1)
    if max_age is not None and times is not None:
        age = times.label[lrows] - times.feature[np.where(found, matched, 0)]
        matched[age > max_age] = -1
    out = np.full(n, -1, dtype=np.int64)
    out[lrows] = matched
    return out


def _order_buckets(fsorted: np.ndarray, frows: np.ndarray, ftime: np.ndarray) -> np.ndarray:
    """The rows with those that share a code (a key and time bucket) in exact time order,
    keeping the table's order among equal times."""
    import numpy as np

    same = fsorted[1:] == fsorted[:-1]
    if not same.any():
        return frows
    frows = frows.copy()
    shared = np.zeros(len(fsorted), dtype=bool)
    shared[1:] |= same
    shared[:-1] |= same
    at = np.flatnonzero(shared)
    rows = frows[at]
    order = np.lexsort((ftime[rows], fsorted[at]))  # stable: equal times keep the table's order
    frows[at] = rows[order]
    return frows


def _settle_buckets(
    fsorted: np.ndarray,
    frows: np.ndarray,
    lsorted: np.ndarray,
    times: _Times,
    lrows: np.ndarray,
    pos: np.ndarray,
    found: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Where a label's code equals its found row's (same key and time bucket), the bucket's last
    row may be later than the label. For those labels (by position in `lsorted`), the position
    of the bucket's last row at or before the label's exact time, or else of the row before the
    bucket (an earlier bucket of the same key, another key, or -1 for none).
    """
    import numpy as np

    tied = np.flatnonzero(found & (fsorted[pos] == lsorted))
    target = times.label[lrows[tied]]
    late = times.feature[frows[pos[tied]]] > target
    tied, target = tied[late], target[late]
    lo = np.searchsorted(fsorted, lsorted[tied], side="left") - 1  # before the bucket
    hi = pos[tied] - 1  # the answer is in [lo, hi]; lo is a fit or the bucket's start - 1
    while True:
        open_ = lo < hi
        if not open_.any():
            return tied, lo
        mid = np.where(open_, (lo + hi + 1) // 2, lo)
        fits = open_ & (times.feature[frows[np.maximum(mid, 0)]] <= target)
        lo = np.where(fits, mid, lo)
        hi = np.where(open_ & ~fits, mid - 1, hi)


def _valid_rows(valid: np.ndarray) -> np.ndarray | None:
    """The indices of the valid rows, or None when every row is (no copy needed)."""
    import numpy as np

    return None if bool(valid.all()) else np.flatnonzero(valid)


def _sort_with(codes: np.ndarray, rows: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The codes of the given rows (all when None) in a stable order, and the row of each:
    one parallel Polars sort carrying the rows (an argsort and two random gathers cost as much
    again on 10M rows)."""
    import numpy as np
    import polars as pl

    index = np.arange(len(codes)) if rows is None else rows
    values = codes if rows is None else codes[rows]
    frame = pl.DataFrame([pl.Series("c", values), pl.Series("r", index)])
    ordered = frame.sort("c", maintain_order=True)
    return ordered.get_column("c").to_numpy(), ordered.get_column("r").to_numpy()


def _ints(series: pl.Series) -> np.ndarray:
    import polars as pl

    values = series.to_physical().cast(pl.Int64)
    return (values.fill_null(0) if values.null_count() else values).to_numpy()


def _nulls(series: pl.Series) -> np.ndarray:
    return series.is_null().to_numpy()
