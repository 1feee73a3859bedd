"""The monitor on a payload table in any engine narwhals reads (Spark, Polars, DuckDB, pandas).

:class:`PayloadLog` keeps requests in an embedded DuckDB file; a team's real
decision log may instead be a Spark table or Parquet read lazily by Polars.
:class:`TableLog` gives such a table the part of :class:`PayloadLog`'s
interface the monitor reads, and counts in the table's own engine: the
per-window counts in one aggregation over every request, and only the rows of
the windows that short windows borrow from come back (``min_records``
back-fill, ranked here as DuckDB ranks them). The windows equal the DuckDB
path's on the same rows.

The table needs the payload columns ``request_id``, ``scoring_timestamp``
(naive UTC; for Spark, a session whose time zone is UTC) and ``prediction``,
and the attribute column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fairaudit.monitor._config import FairnessConfig, value_text
from fairaudit.monitor._payload import PAYLOAD_COLUMNS

__all__ = ["TableLog"]

_NEEDED = ("request_id", "scoring_timestamp", "prediction")


def _naive_us(values: pd.Series) -> pd.Series:
    """Timestamps as naive UTC microseconds, as the DuckDB log keeps them (Spark gives zoned)."""
    stamps = pd.to_datetime(values)
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps.astype("datetime64[us]")


class TableLog:
    """A payload table in any engine, read by the monitor where it lives.

    Parameters
    ----------
    table : table
        Anything :func:`narwhals.from_native` reads, eager or lazy (a PySpark
        or Polars LazyFrame, a DuckDB relation, pandas, PyArrow).

    Raises
    ------
    TypeError
        If ``table`` is not a table narwhals reads.
    ValueError
        If a payload column is missing.
    """

    def __init__(self, table):
        import narwhals as nw

        try:
            frame = nw.from_native(table)
        except TypeError:
            raise TypeError(
                f"table must be a payload table narwhals reads, got {type(table).__name__}."
            ) from None
        self.frame = frame.lazy() if isinstance(frame, nw.DataFrame) else frame
        self.columns = self.frame.collect_schema().names()
        missing = [c for c in _NEEDED if c not in self.columns]
        if missing:
            raise ValueError(
                f"The payload table lacks {missing}; it needs {list(_NEEDED)} and the attribute "
                f"column (it has {self.columns})."
            )
        self.features = [c for c in self.columns if c not in PAYLOAD_COLUMNS]
        self.attributes = []

    def values(self, column: str) -> list:
        """Distinct values of a column (sorted; missing values left out).

        Parameters
        ----------
        column : str

        Returns
        -------
        list
        """
        import narwhals as nw

        if column not in self.columns:
            raise ValueError(f"{column!r} is not a column of the payload table: {self.columns}.")
        found = self.frame.group_by(column).agg(nw.len().alias("_n")).collect().to_pandas()
        values = [v.item() if isinstance(v, np.generic) else v for v in found[column].dropna()]
        return sorted(values, key=lambda v: (str(type(v)), v))

    def _micros_since(self, origin: pd.Timestamp):
        """Microseconds from ``origin`` to each request, in the engine's own arithmetic."""
        import narwhals as nw

        ts = nw.col("scoring_timestamp")
        if self.frame.implementation.is_spark_like():
            # Spark casts a timestamp to whole seconds since 1970 (UTC); add the microseconds
            origin_us = (origin - pd.Timestamp("1970-01-01")) // pd.Timedelta("1us")
            return ts.cast(nw.Int64) * 1_000_000 + ts.dt.microsecond() - origin_us
        return (ts - nw.lit(origin.to_pydatetime())).dt.total_microseconds()

    def _rows(self, config: FairnessConfig, origin: pd.Timestamp, width: pd.Timedelta, end):
        """Every request with its window start (µs since the origin), group and outcome."""
        import narwhals as nw

        frame = self.frame
        if end is not None:
            frame = frame.filter(nw.col("scoring_timestamp") < end.to_pydatetime())
        since = self._micros_since(origin)
        w_us = width.value // 1000
        text = nw.col(config.attribute).cast(nw.String)
        grp = (
            nw.when(text.is_in([value_text(v) for v in config.monitored]))
            .then(nw.lit(1, nw.Int64))
            .otherwise(
                nw.when(text.is_in([value_text(v) for v in config.reference]))
                .then(nw.lit(2, nw.Int64))
                .otherwise(nw.lit(0, nw.Int64))
            )
        )
        fav = nw.col("prediction").cast(nw.String).is_in([value_text(v) for v in config.favourable])
        return frame.select(
            nw.col("request_id"),
            nw.col("scoring_timestamp").alias("ts"),
            ((since // w_us) * w_us).alias("bucket_us"),
            grp.alias("grp"),
            fav.cast(nw.Int64).alias("fav"),
        )

    def bucket_counts(self, config, origin, end) -> pd.DataFrame:
        """Per-window counts, as the DuckDB path's ``_bucket_counts`` returns them."""
        import narwhals as nw

        rows = self._rows(config, origin, config.window, end).with_columns(
            m_tot=(nw.col("grp") == 1).cast(nw.Int64),
            m_fav=((nw.col("grp") == 1) & (nw.col("fav") == 1)).cast(nw.Int64),
            r_tot=(nw.col("grp") == 2).cast(nw.Int64),
            r_fav=((nw.col("grp") == 2) & (nw.col("fav") == 1)).cast(nw.Int64),
            _one=nw.lit(1, nw.Int64),
            # timestamps of group records only (min and max skip the nulls)
            gts=nw.when(nw.col("grp") > 0).then(nw.col("ts")),
        )
        counts = (
            rows.group_by("bucket_us")
            .agg(
                nw.col("_one").sum().alias("n"),
                nw.col("gts").min().alias("oldest"),
                nw.col("gts").max().alias("newest"),
                *(nw.col(c).sum() for c in ("m_tot", "m_fav", "r_tot", "r_fav")),
            )
            .collect()
            .to_pandas()
        )
        counts["bucket"] = origin + pd.to_timedelta(counts.pop("bucket_us"), unit="us")
        for col in ("n", "m_tot", "m_fav", "r_tot", "r_fav"):
            counts[col] = counts[col].astype(np.int64)
        for col in ("oldest", "newest"):
            counts[col] = _naive_us(counts[col])
        return counts.sort_values("bucket").reset_index(drop=True)[
            ["bucket", "n", "oldest", "newest", "m_tot", "m_fav", "r_tot", "r_fav"]
        ]

    def used_records(self, config, plan, end, origin) -> pd.DataFrame:
        """The records each short window uses: ``target, request_id, ts, bucket, grp, fav``.

        Only the windows that can supply records are read back; they are ranked
        by timestamp, then request id, as the DuckDB path ranks them.
        """
        import narwhals as nw

        short, filled = plan
        needed = filled[
            [bool(((f.cum - f.n < short["hi"]) & (f.cum > short["lo"])).any())
             for f in filled.itertuples()]
        ]  # fmt: skip
        before = dict(zip(needed["bucket"], needed["cum"] - needed["n"], strict=True))
        wanted = [int((pd.Timestamp(b) - origin) // pd.Timedelta("1us")) for b in needed["bucket"]]
        rows = (
            self._rows(config, origin, config.window, end)
            .filter(nw.col("bucket_us").is_in(wanted), nw.col("grp") > 0)
            .collect()
            .to_pandas()
        )
        rows["bucket"] = (origin + pd.to_timedelta(rows.pop("bucket_us"), unit="us")).astype(
            "datetime64[us]"
        )
        rows["ts"] = _naive_us(rows["ts"])
        rows = rows.sort_values(["bucket", "ts", "request_id"], kind="stable")
        rows["pos"] = rows["bucket"].map(before).astype(np.int64) + (
            rows.groupby("bucket").cumcount().to_numpy() + 1
        )
        parts = []
        for target, lo, hi in short[["bucket", "lo", "hi"]].itertuples(index=False):
            used = rows[(rows["pos"] > lo) & (rows["pos"] <= hi)]
            parts.append(used.assign(target=target))
        columns = ["target", "request_id", "ts", "bucket", "grp", "fav"]
        if not parts:
            return pd.DataFrame(columns=columns)
        out = pd.concat(parts, ignore_index=True)[columns]
        out["fav"] = out["fav"].astype(bool)
        return out
