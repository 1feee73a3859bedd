"""The payload table read where it lives: any engine narwhals reads (DuckDB, Spark, Polars...).

:class:`PayloadLog` keeps requests in an embedded DuckDB file; a team's real
decision log may instead be a Spark table or Parquet read lazily by Polars.
:class:`TableLog` reads either through narwhals, so the engine holding the
table does the counting and only counts come back: per window and model
version in one aggregation over every request, and the ranked records of the
few windows in which a back-filled window's borrowing starts.

The table needs ``request_id``, ``scoring_timestamp`` and ``prediction`` and
the sensitive-feature column; ``model_version`` is read when present.
Timestamps are instants: naive ones are taken as UTC, time-zone-aware ones (and
Spark's) are converted, and windows are aligned in UTC.
"""

from __future__ import annotations

import narwhals as nw
import numpy as np
import pandas as pd

from fairaudit.monitor._config import PAYLOAD_COLUMNS, FairnessConfig, value_text

__all__ = ["TableLog"]

_NEEDED = ("request_id", "scoring_timestamp", "prediction")
_NO_VERSION = "\x00"  # the version of requests logged without one
_MISSING_TIME = "scoring_timestamp has missing values; every request needs the time it was scored."


class TableLog:
    """A payload table in any engine, read by the monitor where it lives.

    Parameters
    ----------
    table : table
        Anything :func:`narwhals.from_native` reads, eager or lazy (a PySpark
        or Polars LazyFrame, a DuckDB relation, pandas, PyArrow).
    features, attributes : list of str, optional
        The logged model inputs and the other logged columns (default: every
        column that is not a payload column is a feature).

    Raises
    ------
    TypeError
        If ``table`` is not a table narwhals reads.
    ValueError
        If a payload column is missing, or ``scoring_timestamp`` is not a timestamp.
    """

    def __init__(self, table, *, features=None, attributes=()):
        try:
            frame = nw.from_native(table)
        except TypeError:
            raise TypeError(
                f"table must be a payload table narwhals reads, got {type(table).__name__}."
            ) from None
        self.frame = frame.lazy() if isinstance(frame, nw.DataFrame) else frame
        schema = self.frame.collect_schema()
        self.columns = schema.names()
        missing = [c for c in _NEEDED if c not in self.columns]
        if missing:
            raise ValueError(
                f"The payload table lacks {missing}; it needs {list(_NEEDED)} and the "
                f"sensitive-feature column (it has {self.columns})."
            )
        stamp = schema["scoring_timestamp"]
        self._zone, self._unit = getattr(stamp, "time_zone", None), getattr(stamp, "time_unit", "")
        if self.frame.implementation.is_pandas_like():
            native = self.frame.to_native()["scoring_timestamp"]
            if isinstance(native.dtype, pd.DatetimeTZDtype):  # narwhals reads America/New_York
                stamp, self._zone, self._unit = nw.Datetime(), str(native.dt.tz), native.dt.unit
            if native.isna().any():
                raise ValueError(_MISSING_TIME)
        if not isinstance(stamp, nw.Datetime):
            raise ValueError(
                f"scoring_timestamp must hold timestamps, it holds {stamp}; convert it "
                "first, e.g. pd.to_datetime(values, unit='s') for seconds since 1970."
            )
        self.attributes = list(attributes)
        others = [c for c in self.columns if c not in PAYLOAD_COLUMNS]
        self.features = (
            [c for c in others if c not in self.attributes] if features is None else list(features)
        )
        self._values = {}

    def values(self, column: str) -> list:
        """Distinct values of a column (sorted; missing values left out).

        Parameters
        ----------
        column : str

        Returns
        -------
        list
        """
        if column not in self.columns:
            raise ValueError(f"{column!r} is not a column of the payload table: {self.columns}.")
        if column not in self._values:
            # group_by, not unique(): narwhals' DuckDB unique() holds every row (1 GB at 20M)
            groups = self.frame.group_by(column).agg(nw.len().alias("_n")).collect()
            found = groups.get_column(column).to_list()
            found = {value_text(v): v for v in found if value_text(v) is not None}
            self._values[column] = sorted(found.values(), key=lambda v: (str(type(v)), v))
        return self._values[column]

    def matching(self, column: str, values) -> list:
        """The column's own values that :func:`value_text` writes as one of ``values``."""
        wanted = {value_text(v) for v in values}
        return [v for v in self.values(column) if value_text(v) in wanted]

    def micros(self, origin: pd.Timestamp):
        """Microseconds from ``origin`` (naive UTC) to each request, in exact integer arithmetic."""
        ts = nw.col("scoring_timestamp")
        since_epoch = (origin - pd.Timestamp("1970-01-01")) // pd.Timedelta("1us")
        implementation = self.frame.implementation
        if implementation.is_spark_like():
            if self._zone is None:
                raise ValueError(
                    "scoring_timestamp is a Spark TIMESTAMP_NTZ; cast it to TIMESTAMP (an "
                    "instant) first, e.g. col('scoring_timestamp').cast('timestamp') in a UTC "
                    "session."
                )
            # Spark casts an instant to whole seconds since 1970; add the microseconds
            return ts.cast(nw.Int64) * 1_000_000 + ts.dt.microsecond() - since_epoch
        if implementation.is_pandas_like():
            # pandas keeps instants as integers since 1970 (UTC); narwhals' total_microseconds
            # goes through float seconds and can be a microsecond off
            scale = {"ns": (1, 1000), "us": (1, 1), "ms": (1000, 1), "s": (1_000_000, 1)}
            times, per = scale[self._unit]
            return ts.cast(nw.Int64) * times // per - since_epoch
        start = origin if self._zone is None else origin.tz_localize("UTC").tz_convert(self._zone)
        return (ts - nw.lit(start.to_pydatetime())).dt.total_microseconds()

    def requests(self, config: FairnessConfig, origin: pd.Timestamp, end_us=None):
        """Every request: ``request_id, us`` (since origin), ``bucket`` (its window's start in
        µs), ``grp`` (1 monitored, 2 reference, 0 neither), ``fav`` (1 or 0) and ``version``."""
        column = config.sensitive_features

        def flag(name, values):
            return nw.col(name).is_in(self.matching(name, values)).fill_null(False)

        width = int(config.window / pd.Timedelta("1us"))
        version = (
            nw.col("model_version").cast(nw.String).fill_null(_NO_VERSION)
            if "model_version" in self.columns
            else nw.lit(_NO_VERSION)
        )
        rows = self.frame.select(
            nw.col("request_id"),
            self.micros(origin).alias("us"),
            nw.when(flag(column, config.monitored)).then(nw.lit(1, nw.Int64))
            .otherwise(nw.when(flag(column, config.reference)).then(nw.lit(2, nw.Int64))
                       .otherwise(nw.lit(0, nw.Int64))).alias("grp"),
            nw.when(flag("prediction", config.favourable_label)).then(nw.lit(1, nw.Int64))
            .otherwise(nw.lit(0, nw.Int64)).alias("fav"),
            version.alias("version"),
        )  # fmt: skip
        if end_us is not None:
            rows = rows.filter(nw.col("us") < end_us)
        return rows.with_columns(bucket=(nw.col("us") // width) * width)

    def window_counts(self, config, origin, end_us=None) -> pd.DataFrame:
        """Per window and model version: requests ``n``, the four group counts, and the first
        and last group record's time (µs): one aggregation over every request."""
        one = nw.lit(1, nw.Int64)
        rows = self.requests(config, origin, end_us).with_columns(
            m_tot=nw.when(nw.col("grp") == 1).then(one).otherwise(0),
            m_fav=nw.when((nw.col("grp") == 1) & (nw.col("fav") == 1)).then(one).otherwise(0),
            r_tot=nw.when(nw.col("grp") == 2).then(one).otherwise(0),
            r_fav=nw.when((nw.col("grp") == 2) & (nw.col("fav") == 1)).then(one).otherwise(0),
            gus=nw.when(nw.col("grp") > 0).then(nw.col("us")),
        )
        counts = (
            rows.group_by("bucket", "version")
            .agg(
                nw.len().alias("n"),
                *(nw.col(c).sum() for c in ("m_tot", "m_fav", "r_tot", "r_fav")),
                nw.col("gus").min().alias("first_us"),
                nw.col("gus").max().alias("last_us"),
            )
            .collect()
            .to_pandas()
        )
        if counts["bucket"].isna().any():
            raise ValueError(_MISSING_TIME)
        return counts.astype({c: np.int64 for c in ("bucket", "n", "m_tot", "m_fav", "r_tot",
                                                   "r_fav")})  # fmt: skip

    def group_records(self, config, origin, buckets, end_us=None) -> pd.DataFrame:
        """The monitored and reference records of the given windows (µs starts), ranked by
        time, then request id: ``bucket, rank, us, request_id, grp, fav``."""
        rows = (
            self.requests(config, origin, end_us)
            .filter(nw.col("bucket").is_in([int(b) for b in buckets]), nw.col("grp") > 0)
            .select("bucket", "us", "request_id", "grp", "fav")
            .collect()
            .to_pandas()
        )
        rows = rows.sort_values(["bucket", "us", "request_id"], kind="stable", ignore_index=True)
        rows["rank"] = rows.groupby("bucket").cumcount() + 1
        return rows.astype({"bucket": np.int64, "us": np.int64, "grp": np.int64, "fav": np.int64})
